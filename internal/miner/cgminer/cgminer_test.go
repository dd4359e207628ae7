package cgminer

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/miner"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type summaryWire struct {
	Elapsed  int64   `json:"Elapsed"`
	MHSav    float64 `json:"MHS av"`
	Accepted uint64  `json:"Accepted"`
	Rejected uint64  `json:"Rejected"`
}

func TestParseFixtures(t *testing.T) {
	okStatus := func(code int, msg, desc string) []StatusEntry {
		return []StatusEntry{{Status: "S", When: 1719163185, Code: code, Msg: msg, Description: desc}}
	}
	tests := []struct {
		file     string
		status   []StatusEntry
		sections []string
		wantErr  error
	}{
		{"summary.json", okStatus(11, "Summary", "cgminer 4.11.1"), []string{"SUMMARY"}, nil},
		{"malformed-brace.json", okStatus(70, "CGMiner stats", "bmminer 1.0.0"), []string{"STATS"}, nil},
		{"malformed-infnan.json", okStatus(70, "CGMiner stats", "cgminer 4.11.1"), []string{"STATS"}, nil},
		{"malformed-trailing-comma.json", okStatus(11, "Summary", "btminer"), []string{"SUMMARY"}, nil},
		{"malformed-bracket-comma.json", okStatus(9, "1 ASC(s)", "cgminer 4.11.1"), []string{"DEVS"}, nil},
		{"malformed-leading-comma.json", okStatus(9, "1 ASC(s)", "cgminer 4.11.1"), []string{"DEVS"}, nil},
		{"access-denied.json", []StatusEntry{{Status: "E", When: 1719163185, Code: 45, Msg: "Access denied to 'addpool' command", Description: "cgminer 4.11.1"}}, nil, miner.ErrDenied},
		{"invalid-command.json", []StatusEntry{{Status: "E", When: 1719163185, Code: 14, Msg: "Invalid command", Description: "cgminer 4.11.1"}}, nil, miner.ErrRejected},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := Parse(fixture(t, tt.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.status, r.Status); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			for _, s := range tt.sections {
				if _, ok := r.Sections[s]; !ok {
					t.Errorf("section %s missing; got %v", s, r.Sections)
				}
			}
			err = r.Err()
			if tt.wantErr == nil && err != nil {
				t.Errorf("Err() = %v, want nil", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Err() = %v, want wrapping %v", err, tt.wantErr)
			}
			if r.ID != 1 {
				t.Errorf("ID = %d, want 1", r.ID)
			}
		})
	}
}

func TestDecodeRepairedValues(t *testing.T) {
	r, err := Parse(fixture(t, "malformed-infnan.json"))
	if err != nil {
		t.Fatal(err)
	}
	var stats []struct {
		Elapsed int64    `json:"Elapsed"`
		Min     *float64 `json:"Min"`
		Wait    *float64 `json:"Wait"`
		Avg     *float64 `json:"Avg"`
	}
	if err := r.Decode("STATS", &stats); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got, want := len(stats), 1; got != want {
		t.Fatalf("got %d stats, want %d", got, want)
	}
	if got, want := stats[0].Elapsed, int64(24930); got != want {
		t.Errorf("Elapsed = %d, want %d", got, want)
	}
	if stats[0].Min != nil || stats[0].Wait != nil || stats[0].Avg != nil {
		t.Errorf("inf/nan not turned into null: %+v", stats[0])
	}

	r, err = Parse(fixture(t, "malformed-brace.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bm []map[string]any
	if err := r.Decode("STATS", &bm); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got, want := len(bm), 2; got != want {
		t.Errorf("got %d STATS objects, want %d", got, want)
	}
	var sum []summaryWire
	r, err = Parse(fixture(t, "malformed-trailing-comma.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Decode("SUMMARY", &sum); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]summaryWire{{Elapsed: 24930, MHSav: 13567234.56, Accepted: 1787}}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"truncated", fixture(t, "truncated.json"), miner.ErrUnreachable},
		{"unterminated string", []byte(`{"STATUS":[{"STATUS":"S`), miner.ErrUnreachable},
		{"empty", []byte("\x00"), miner.ErrProtocol},
		{"garbage", []byte("HTTP/1.1 400 Bad Request\r\n"), miner.ErrProtocol},
		{"mismatched", []byte(`{"a":[1}`), miner.ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if !errors.Is(err, tt.want) {
				t.Errorf("Parse error = %v, want wrapping %v", err, tt.want)
			}
		})
	}
	if _, err := Parse(fixture(t, "truncated.json")); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated: got %v, want ErrTruncated", err)
	}
}

func TestParseJoined(t *testing.T) {
	rs, err := ParseJoined(fixture(t, "joined.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"summary", "pools", "stats"} {
		r, ok := rs[cmd]
		if !ok {
			t.Fatalf("no %s sub-reply", cmd)
		}
		if err := r.Err(); err != nil {
			t.Errorf("%s: %v", cmd, err)
		}
	}
	var sum []summaryWire
	if err := rs["summary"].Decode("SUMMARY", &sum); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]summaryWire{{Elapsed: 24930, MHSav: 13567234.56, Accepted: 1787, Rejected: 3}}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	_, err = ParseJoined(fixture(t, "access-denied.json"))
	if !errors.Is(err, miner.ErrDenied) {
		t.Errorf("joined access denied: got %v, want ErrDenied", err)
	}
}

func TestParseText(t *testing.T) {
	r, err := ParseText(fixture(t, "summary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]StatusEntry{{Status: "S", When: 1719163185, Code: 11, Msg: "Summary", Description: "cgminer 4.11.1"}}, r.Status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	var sum []summaryWire
	if err := r.Decode("SUMMARY", &sum); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]summaryWire{{Elapsed: 24930, MHSav: 13567234.56, Accepted: 1787, Rejected: 3}}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}

	r, err = ParseText(fixture(t, "devs.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var devs []struct {
		ASC         int     `json:"ASC"`
		Name        string  `json:"Name"`
		Temperature float64 `json:"Temperature"`
	}
	if err := r.Decode("ASC", &devs); err != nil {
		t.Fatal(err)
	}
	if got, want := len(devs), 2; got != want {
		t.Fatalf("got %d devs, want %d", got, want)
	}
	if got, want := devs[1].Temperature, 73.0; got != want {
		t.Errorf("devs[1].Temperature = %v, want %v", got, want)
	}

	r, err = ParseText([]byte(`STATUS=E,When=1,Code=45,Msg=Access denied to 'quit' command,Description=x|`))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Err(); !errors.Is(err, miner.ErrDenied) {
		t.Errorf("text access denied: got %v, want ErrDenied", err)
	}
	if _, err := ParseText([]byte("SUMMARY,Elapsed=1|")); !errors.Is(err, miner.ErrProtocol) {
		t.Errorf("no STATUS: got %v, want ErrProtocol", err)
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name      string
		cmd       string
		params    []string
		json, txt string
	}{
		{"bare", "summary", nil, `{"command":"summary"}`, "summary"},
		{"joined", "summary+pools+stats", nil, `{"command":"summary+pools+stats"}`, "summary+pools+stats"},
		{"one param", "switchpool", []string{"1"}, `{"command":"switchpool","parameter":"1"}`, "switchpool|1"},
		{"escaped", "addpool", []string{"stratum+tcp://p:3333", `u,1`, `p\w`}, `{"command":"addpool","parameter":"stratum+tcp://p:3333,u\\,1,p\\\\w"}`, `addpool|stratum+tcp://p:3333,u\,1,p\\w`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(EncodeJSON(tt.cmd, tt.params...)); got != tt.json {
				t.Errorf("EncodeJSON = %s, want %s", got, tt.json)
			}
			if got := string(EncodePlain(tt.cmd, tt.params...)); got != tt.txt {
				t.Errorf("EncodePlain = %s, want %s", got, tt.txt)
			}
		})
	}
}

// server is a tiny cgminer-style server: one request per connection, it
// answers with reply(req) and closes.
func server(t testing.TB, reply func(req string) []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				n, _ := c.Read(buf)
				out := reply(string(buf[:n]))
				if out != nil {
					c.Write(out)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestClient(t *testing.T) {
	var gotReq string
	addr := server(t, func(req string) []byte {
		gotReq = req
		switch req {
		case `{"command":"summary"}`:
			return fixture(t, "summary.json")
		case `{"command":"summary+pools+stats"}`:
			return fixture(t, "joined.json")
		case `{"command":"addpool","parameter":"a,b,c"}`:
			return fixture(t, "access-denied.json")
		case "summary":
			return fixture(t, "summary.txt")
		case `{"command":"cut"}`:
			return fixture(t, "truncated.json")
		}
		return fixture(t, "invalid-command.json")
	})
	c := NewClient(addr, WithTimeout(5*time.Second))
	ctx := context.Background()

	r, err := c.Call(ctx, "summary")
	if err != nil {
		t.Fatalf("Call summary: %v", err)
	}
	if got, want := r.Status[0].Code, 11; got != want {
		t.Errorf("code = %d, want %d", got, want)
	}
	rs, err := c.Joined(ctx, "summary", "pools", "stats")
	if err != nil {
		t.Fatalf("Joined: %v", err)
	}
	if got, want := len(rs), 3; got != want {
		t.Errorf("got %d sub-replies, want %d", got, want)
	}
	_, err = c.Call(ctx, "addpool", "a", "b", "c")
	if !errors.Is(err, miner.ErrDenied) {
		t.Errorf("addpool: got %v, want ErrDenied", err)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.Entry.Code != 45 {
		t.Errorf("addpool: got %v, want *StatusError code 45", err)
	}
	if _, err := c.Call(ctx, "nosuch"); !errors.Is(err, miner.ErrRejected) {
		t.Errorf("nosuch: got %v, want ErrRejected", err)
	}
	tr, err := c.CallText(ctx, "summary")
	if err != nil {
		t.Fatalf("CallText: %v", err)
	}
	if gotReq != "summary" {
		t.Errorf("text request = %q, want %q", gotReq, "summary")
	}
	if _, ok := tr.Sections["SUMMARY"]; !ok {
		t.Errorf("text reply has no SUMMARY: %v", tr.Sections)
	}
	if _, err := c.Call(ctx, "cut"); !errors.Is(err, miner.ErrUnreachable) {
		t.Errorf("truncated reply: got %v, want ErrUnreachable", err)
	}
	if _, err := c.Call(ctx, `bad"cmd`); !errors.Is(err, miner.ErrUnsupported) {
		t.Errorf("bad command: got %v, want ErrUnsupported", err)
	}
}

func TestClientUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = NewClient(addr).Call(context.Background(), "summary")
	if !errors.Is(err, miner.ErrUnreachable) {
		t.Errorf("refused: got %v, want ErrUnreachable", err)
	}
}

func TestClientDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }() // never answers
		}
	}()
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		opts []Option
	}{
		{"ctx deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, []Option{WithTimeout(time.Hour)}},
		{"client timeout", func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, []Option{WithTimeout(50 * time.Millisecond)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			_, err := NewClient(ln.Addr().String(), tt.opts...).Call(ctx, "summary")
			if !errors.Is(err, miner.ErrUnreachable) {
				t.Errorf("got %v, want ErrUnreachable", err)
			}
		})
	}
}

func TestWithDefaultPort(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.0.0.7", "10.0.0.7:4028"},
		{"10.0.0.7:4029", "10.0.0.7:4029"},
		{"miner.local", "miner.local:4028"},
		{"::1", "[::1]:4028"},
		{"[::1]:4028", "[::1]:4028"},
	}
	for _, tt := range tests {
		if got := WithDefaultPort(tt.in); got != tt.want {
			t.Errorf("WithDefaultPort(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"summary.json", "joined.json", "access-denied.json", "invalid-command.json",
		"malformed-brace.json", "malformed-infnan.json", "malformed-trailing-comma.json",
		"malformed-bracket-comma.json", "malformed-leading-comma.json", "truncated.json", "summary.txt", "devs.txt"} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := Parse(b); err == nil {
			_ = r.Err()
			for k := range r.Sections {
				var v any
				_ = r.Decode(k, &v)
			}
		}
		_, _ = ParseJoined(b)
		_, _ = ParseText(b)
		if out, err := Sanitize(b); err == nil && len(out) > len(b)*2+16 {
			t.Errorf("Sanitize grew %d bytes to %d", len(b), len(out))
		}
	})
}

func BenchmarkParseSummary(b *testing.B) {
	data := fixture(b, "summary.json")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		var s []summaryWire
		if err := r.Decode("SUMMARY", &s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseJoined(b *testing.B) {
	data := fixture(b, "joined.json")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJoined(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSanitize(b *testing.B) {
	data := fixture(b, "malformed-brace.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sanitize(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallLoopback(b *testing.B) {
	reply := fixture(b, "joined.json")
	addr := server(b, func(string) []byte { return reply })
	c := NewClient(addr)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Joined(ctx, "summary", "pools", "stats"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseJoinedErrorIsDeterministic(t *testing.T) {
	// Several malformed sub-replies: the error must name the same one
	// every time (the first in key order), not whichever a map yields.
	in := []byte(`{"zeta":1,"alpha":"x","mid":true,"id":1}`)
	_, first := ParseJoined(in)
	if first == nil || !strings.Contains(first.Error(), `"alpha"`) {
		t.Fatalf("error %v, want it to name sub-reply \"alpha\"", first)
	}
	for range 50 {
		if _, err := ParseJoined(in); err == nil || err.Error() != first.Error() {
			t.Fatalf("error %v, then %v", first, err)
		}
	}
}
