package stratum

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func h32(t testing.TB, s string) [32]byte { return [32]byte(mustHex(t, s)) }

// TestWireFixtures decodes each byte-exact fixture into its typed value and
// encodes the typed value back to the same bytes.
func TestWireFixtures(t *testing.T) {
	tests := []struct {
		file string
		// parse turns the decoded message into a typed value; build turns
		// the typed value back into a message with the given id.
		want  any
		parse func(*Message) (any, error)
		build func(id json.RawMessage, v any) (*Message, error)
	}{
		{"subscribe.jsonl", Subscribe{UserAgent: "cpuminer/2.5.1"},
			func(m *Message) (any, error) { return ParseSubscribe(m.Params) },
			func(id json.RawMessage, v any) (*Message, error) {
				return req(id, MethodSubscribe, v.(Subscribe).Params())
			}},
		{"subscribe-resume.jsonl", Subscribe{UserAgent: "cpuminer/2.5.1", SessionID: "79e4056b"},
			func(m *Message) (any, error) { return ParseSubscribe(m.Params) },
			func(id json.RawMessage, v any) (*Message, error) {
				return req(id, MethodSubscribe, v.(Subscribe).Params())
			}},
		{"subscribe-result.jsonl", SubscribeResult{Subscriptions: [][2]string{{"mining.notify", "6b05e479"}}, Extranonce1: mustHex(t, "79e4056b"), Extranonce2Size: 8},
			func(m *Message) (any, error) { return ParseSubscribeResult(m.Result) },
			func(id json.RawMessage, v any) (*Message, error) {
				return NewResponse(id, v.(SubscribeResult).Result(), nil)
			}},
		{"authorize.jsonl", Authorize{User: "bcrt1qworker.cpu", Password: "x"},
			func(m *Message) (any, error) { return ParseAuthorize(m.Params) },
			func(id json.RawMessage, v any) (*Message, error) {
				return req(id, MethodAuthorize, v.(Authorize).Params())
			}},
		{"notify.jsonl", vectorNotify(t),
			func(m *Message) (any, error) { return ParseNotify(m.Params) },
			func(id json.RawMessage, v any) (*Message, error) { return req(id, MethodNotify, v.(Notify).Params()) }},
		{"submit.jsonl", Submit{Worker: "mqpUCv28byWv6HMPKf99gpeQw8hgXSHvxq.cpu", JobID: "6b05e47700000003", Extranonce2: make([]byte, 8), NTime: 0x6b05e4b3, Nonce: 0x3a17e5a9},
			func(m *Message) (any, error) { return ParseSubmit(m.Params) },
			func(id json.RawMessage, v any) (*Message, error) { return req(id, MethodSubmit, v.(Submit).Params()) }},
		{"submit-version.jsonl", Submit{Worker: "w.1", JobID: "bf", Extranonce2: mustHex(t, "08000002"), NTime: 0x504e86ed, Nonce: 0xb2957c02, VersionBits: 0x2000, HasVersionBits: true},
			func(m *Message) (any, error) { return ParseSubmit(m.Params) },
			func(id json.RawMessage, v any) (*Message, error) { return req(id, MethodSubmit, v.(Submit).Params()) }},
		{"set-difficulty.jsonl", SetDifficulty{Difficulty: 0.1},
			func(m *Message) (any, error) { return ParseSetDifficulty(m.Params) },
			func(id json.RawMessage, v any) (*Message, error) {
				return req(id, MethodSetDifficulty, v.(SetDifficulty).Params())
			}},
		{"configure.jsonl", Configure{Extensions: []string{"version-rolling"}, VersionRolling: true, Mask: BIP320Mask, MinBitCount: 2},
			func(m *Message) (any, error) { return ParseConfigure(m.Params) },
			func(id json.RawMessage, v any) (*Message, error) {
				return req(id, MethodConfigure, v.(Configure).Params())
			}},
		{"configure-result.jsonl", ConfigureResult{VersionRolling: true, Mask: BIP320Mask},
			func(m *Message) (any, error) { return ParseConfigureResult(m.Result) },
			func(id json.RawMessage, v any) (*Message, error) {
				return NewResponse(id, v.(ConfigureResult).Result(), nil)
			}},
		{"set-version-mask.jsonl", SetVersionMask{Mask: BIP320Mask},
			func(m *Message) (any, error) { return ParseSetVersionMask(m.Params) },
			func(id json.RawMessage, v any) (*Message, error) {
				return req(id, MethodSetVersionMask, v.(SetVersionMask).Params())
			}},
		{"suggest-difficulty.jsonl", SuggestDifficulty{Difficulty: 0.001},
			func(m *Message) (any, error) { return ParseSuggestDifficulty(m.Params) },
			func(id json.RawMessage, v any) (*Message, error) {
				return req(id, MethodSuggestDifficulty, v.(SuggestDifficulty).Params())
			}},
		{"extranonce-subscribe.jsonl", MethodExtranonceSubscribe,
			func(m *Message) (any, error) { return m.Method, nil },
			func(id json.RawMessage, v any) (*Message, error) { return req(id, v.(string), []any{}) }},
		{"set-extranonce.jsonl", SetExtranonce{Extranonce1: mustHex(t, "08000002"), Extranonce2Size: 4},
			func(m *Message) (any, error) { return ParseSetExtranonce(m.Params) },
			func(id json.RawMessage, v any) (*Message, error) {
				return req(id, MethodSetExtranonce, v.(SetExtranonce).Params())
			}},
		{"ping.jsonl", MethodPing,
			func(m *Message) (any, error) { return m.Method, nil },
			func(id json.RawMessage, v any) (*Message, error) { return req(id, v.(string), []any{}) }},
		{"pong.jsonl", "pong",
			func(m *Message) (any, error) {
				var s string
				err := json.Unmarshal(m.Result, &s)
				return s, err
			},
			func(id json.RawMessage, v any) (*Message, error) { return NewResponse(id, v, nil) }},
		{"error-stale.jsonl", &Error{Code: 21, Message: "Stale"},
			func(m *Message) (any, error) { return m.Error, nil },
			func(id json.RawMessage, v any) (*Message, error) { return NewResponse(id, nil, v.(*Error)) }},
		{"reject-reason.jsonl", &RejectError{Reason: "Above target"},
			func(m *Message) (any, error) { return m.Err(), nil },
			func(id json.RawMessage, v any) (*Message, error) {
				m, err := NewResponse(id, false, nil)
				if err == nil {
					m.RejectReason = v.(*RejectError).Reason
				}
				return m, err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			wire, err := os.ReadFile(filepath.Join("testdata", "wire", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewDecoder(bytes.NewReader(wire), 0).Decode()
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got, err := tt.parse(m)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("parsed value (-want +got):\n%s", d)
			}
			out, err := tt.build(m.ID, got)
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			var buf bytes.Buffer
			if err := NewEncoder(&buf).Encode(out); err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if buf.String() != string(wire) {
				t.Errorf("encoded\n got %s\nwant %s", buf.String(), wire)
			}
		})
	}
}

func req(id json.RawMessage, method string, params any) (*Message, error) {
	m, err := NewNotification(method, params)
	if err != nil {
		return nil, err
	}
	if !isNull(id) {
		m.ID = id
	}
	return m, nil
}

func TestDecodeQuirksAndErrors(t *testing.T) {
	input := strings.Join([]string{
		`{"id":1,"result":"Initialising","error":null}`,
		``,
		`{"params":[],"id":42,"method":"mining.ping"}`,
		`{"id":2,"result":true,"error":null,"agent":"ckpool\/0.9.9"}`,
		`not json`,
		`{"id":5,"result":null,"error":[24,"Unauthorized worker",null]}`,
		`{"id":6,"result":null,"error":{"code":23,"message":"Low difficulty share"}}`,
		`{"id":{},"method":"x","params":[]}`,
		`{"id":7}`,
		`{"id":8,"result":false,"error":null,"reject-reason":"Invalid JobID"}` + "\r",
		`{"id":9,"result":true}`,
	}, "\n") + "\n"
	d := NewDecoder(strings.NewReader(input), 0)
	m, err := d.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseSubscribeResult(m.Result); !errors.Is(err, ErrMalformed) {
		t.Errorf("Initialising subscribe result: err %v, want ErrMalformed", err)
	}
	m, _ = d.Decode()
	if !m.IsRequest() || m.Method != MethodPing {
		t.Errorf("ping: %+v, want a request", m)
	}
	m, _ = d.Decode()
	if !m.IsResponse() || !m.ResultBool() || m.Err() != nil {
		t.Errorf("escaped slash line: %+v", m)
	}
	if _, err := d.Decode(); !errors.Is(err, ErrMalformed) {
		t.Errorf("not json: %v, want ErrMalformed", err)
	}
	m, _ = d.Decode()
	if err := m.Err(); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("code 24: %v, want ErrUnauthorized", err)
	}
	m, _ = d.Decode()
	if err := m.Err(); !errors.Is(err, ErrLowDifficulty) {
		t.Errorf("object error: %v, want ErrLowDifficulty", err)
	}
	if _, err := d.Decode(); !errors.Is(err, ErrMalformed) {
		t.Errorf("object id: %v, want ErrMalformed", err)
	}
	if _, err := d.Decode(); !errors.Is(err, ErrMalformed) {
		t.Errorf("no method, no result: %v, want ErrMalformed", err)
	}
	m, _ = d.Decode()
	if err := m.Err(); !errors.Is(err, ErrRejected) || m.ResultBool() {
		t.Errorf("reject-reason: %v, want ErrRejected", err)
	}
	if m, _ := d.Decode(); m == nil || !m.ResultBool() {
		t.Errorf("response without error field: %+v", m)
	}
	if _, err := d.Decode(); err != io.EOF {
		t.Errorf("end: %v, want io.EOF", err)
	}
}

func TestDecodeLimits(t *testing.T) {
	long := `{"id":1,"result":"` + strings.Repeat("a", 200) + `","error":null}` + "\n"
	if _, err := NewDecoder(strings.NewReader(long), 100).Decode(); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("long line: %v, want ErrLineTooLong", err)
	}
	if _, err := NewDecoder(strings.NewReader(long), 10000).Decode(); err != nil {
		t.Errorf("long line under a large limit: %v", err)
	}
	if _, err := NewDecoder(strings.NewReader(`{"id":1,"result":true}`), 0).Decode(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("no newline: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestParamErrors(t *testing.T) {
	tests := []struct {
		name  string
		parse func(json.RawMessage) error
		raw   string
	}{
		{"notify short", func(r json.RawMessage) error { _, err := ParseNotify(r); return err }, `["a","b"]`},
		{"notify bad prevhash", func(r json.RawMessage) error { _, err := ParseNotify(r); return err }, `["j","00",  "", "", [], "1", "2", "3", true]`},
		{"submit bad nonce", func(r json.RawMessage) error { _, err := ParseSubmit(r); return err }, `["w","j","00","00000000","xyz"]`},
		{"submit long ntime", func(r json.RawMessage) error { _, err := ParseSubmit(r); return err }, `["w","j","00","000000000","00"]`},
		{"difficulty zero", func(r json.RawMessage) error { _, err := ParseSetDifficulty(r); return err }, `[0]`},
		{"difficulty negative", func(r json.RawMessage) error { _, err := ParseSetDifficulty(r); return err }, `[-1]`},
		{"difficulty not array", func(r json.RawMessage) error { _, err := ParseSetDifficulty(r); return err }, `{"d":1}`},
		{"extranonce size", func(r json.RawMessage) error { _, err := ParseSetExtranonce(r); return err }, `["00",99]`},
		{"configure mask", func(r json.RawMessage) error { _, err := ParseConfigure(r); return err }, `[["version-rolling"],{"version-rolling.mask":"zz"}]`},
	}
	for _, tt := range tests {
		if err := tt.parse(json.RawMessage(tt.raw)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", tt.name, err)
		}
	}
	// A difficulty sent as a string is tolerated.
	if d, err := ParseSetDifficulty(json.RawMessage(`["16384"]`)); err != nil || d.Difficulty != 16384 {
		t.Errorf("string difficulty: %v %v", d, err)
	}
}

func TestNegotiateMask(t *testing.T) {
	tests := []struct {
		server, miner uint32
		min           int
		want          uint32
		ok            bool
	}{
		{BIP320Mask, 0xffffffff, 2, BIP320Mask, true},
		{BIP320Mask, 0x00006000, 2, 0x00006000, true},
		{BIP320Mask, 0x00002000, 2, 0x00002000, false},
		{0, BIP320Mask, 0, 0, true},
	}
	for _, tt := range tests {
		got, ok := NegotiateMask(tt.server, tt.miner, tt.min)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NegotiateMask(%08x, %08x, %d) = %08x %v, want %08x %v", tt.server, tt.miner, tt.min, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzDecode(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join("testdata", "wire"))
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join("testdata", "wire", e.Name()))
		f.Add(b)
	}
	f.Add([]byte(`{"id":1,"result":"Initialising","error":null}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data), 1024)
		for range 50 {
			m, err := d.Decode()
			if err != nil {
				if errors.Is(err, ErrMalformed) {
					continue
				}
				return
			}
			// Every typed parser must not panic on whatever params arrive.
			_, _ = ParseSubscribe(m.Params)
			_, _ = ParseSubscribeResult(m.Result)
			_, _ = ParseAuthorize(m.Params)
			n, nerr := ParseNotify(m.Params)
			_, _ = ParseSubmit(m.Params)
			_, _ = ParseSetDifficulty(m.Params)
			_, _ = ParseConfigure(m.Params)
			_, _ = ParseConfigureResult(m.Result)
			_, _ = ParseSetVersionMask(m.Params)
			_, _ = ParseSetExtranonce(m.Params)
			_, _ = ParseSuggestDifficulty(m.Params)
			_ = m.Err()
			// Whatever decodes re-encodes to something that decodes.
			var buf bytes.Buffer
			if err := NewEncoder(&buf).Encode(m); err != nil {
				t.Fatalf("re-encode %+v: %v", m, err)
			}
			if _, err := NewDecoder(&buf, 0).Decode(); err != nil {
				t.Fatalf("re-decode %q: %v", buf.String(), err)
			}
			if nerr == nil {
				// A parsed notify round-trips through its params.
				p, err := NewNotification(MethodNotify, n.Params())
				if err != nil {
					t.Fatal(err)
				}
				n2, err := ParseNotify(p.Params)
				if err != nil {
					t.Fatalf("notify round trip: %v", err)
				}
				if d := cmp.Diff(n, n2); d != "" && !(len(n.MerkleBranch) == 0 && len(n2.MerkleBranch) == 0) {
					t.Errorf("notify round trip (-first +second):\n%s", d)
				}
			}
		}
	})
}
