package minersim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/miner"
)

func TestProtocolForms(t *testing.T) {
	f := startFleet(t, Config{Miners: DefaultMix(2), Clock: newFakeClock()})
	addr := f.Addrs()[0]
	tests := []struct {
		name, req  string
		wantPrefix string
		wantHas    []string
	}{
		{"plain", "summary", "STATUS=S,When=", []string{",Code=11,Msg=Summary,", "|SUMMARY,Accepted="}},
		{"plain newline", "version\n", "STATUS=S,", []string{"Code=22", "API=3.7"}},
		{"json", `{"command":"summary"}`, `{"STATUS":[{"Code":11,`, []string{`"SUMMARY":[{"Accepted":`, `,"id":1}`}},
		{"json with parameter", `{"command":"power","parameter":""}`, `{"POWER":[{"PSU":false,"Watts":`, []string{`"STATUS":[{"Code":311,`}},
		{"joined", `{"command":"summary+power+stats"}`, `{"summary":[{"STATUS":[{"Code":11,`, []string{`],"power":[{"POWER":[{`, `],"stats":[{"STATS":[{"BMMiner"`, `"id":1}],"id":1}`}},
		{"joined duplicate", `{"command":"power+power"}`, `{"power":[{"POWER"`, nil},
		{"joined write", `{"command":"summary+curtail"}`, `{"summary":[`, []string{`"curtail":[{"STATUS":[{"Code":45,"Description":"LUXminer`, `"Msg":"Access denied to 'curtail' command","STATUS":"E"`}},
		{"unknown json", `{"command":"frobnicate"}`, `{"STATUS":[{"Code":14,`, []string{`"Msg":"Invalid command","STATUS":"E"`}},
		{"unknown plain", "frobnicate|1,2", "STATUS=E,", []string{"Code=14,Msg=Invalid command"}},
		{"invalid json", `{"command":`, `{"STATUS":[{"Code":23,`, []string{`"STATUS":"E"`}},
		{"missing command", `{"parameter":"1"}`, `{"STATUS":[{"Code":24,`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := query(t, addr, tt.req)
			if !strings.HasPrefix(got, tt.wantPrefix) {
				t.Errorf("reply %q\nwant prefix %q", got, tt.wantPrefix)
			}
			for _, s := range tt.wantHas {
				if !strings.Contains(got, s) {
					t.Errorf("reply %q\nwant it to contain %q", got, s)
				}
			}
			if strings.HasPrefix(tt.req, "{") {
				var v any
				if err := json.Unmarshal([]byte(got), &v); err != nil {
					t.Errorf("JSON request got a non-JSON reply: %v\n%s", err, got)
				}
			}
			if strings.Count(got, "\x00") != 0 {
				t.Errorf("NUL inside the reply: %q", got)
			}
		})
	}
	// A client that never half-closes still gets its reply: the server
	// answers a complete request and closes.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, `{"command":"version"}`)
	b, err := io.ReadAll(c)
	if err != nil || len(b) == 0 || b[len(b)-1] != 0 {
		t.Errorf("open-ended client: %q, %v", b, err)
	}
}

func TestOneListenerServesManyAddresses(t *testing.T) {
	f := startFleet(t, Config{Miners: []MinerSpec{{Model: "S19j Pro", Seed: 1}, {Model: "S21", Seed: 2}}, Clock: newFakeClock()})
	addrs := f.Addrs()
	if !strings.HasPrefix(addrs[0], "127.1.0.1:") || !strings.HasPrefix(addrs[1], "127.1.0.2:") {
		t.Fatalf("addresses %v", addrs)
	}
	_, p0, _ := net.SplitHostPort(addrs[0])
	_, p1, _ := net.SplitHostPort(addrs[1])
	if p0 != p1 {
		t.Fatalf("ports %s and %s differ: want one shared listener", p0, p1)
	}
	for i, want := range []string{"Antminer S19j Pro", "Antminer S21"} {
		got := query(t, addrs[i], `{"command":"version"}`)
		if !strings.Contains(got, `"Type":"`+want+`"`) {
			t.Errorf("%s: %s, want type %s", addrs[i], got, want)
		}
		if m, ok := f.Miner(addrs[i]); !ok || m.Model().Type != want {
			t.Errorf("Miner(%s) = %v, %v", addrs[i], m, ok)
		}
	}
	// An address with no miner behind it gets no reply.
	b, _ := rawQuery(t, "127.1.0.9:"+p0, "summary")
	if len(b) != 0 {
		t.Errorf("empty address answered %q", b)
	}
}

func TestPerPort(t *testing.T) {
	f := startFleet(t, Config{Miners: DefaultMix(3), PerPort: true, Clock: newFakeClock()})
	seen := map[string]bool{}
	for _, a := range f.Addrs() {
		host, port, _ := net.SplitHostPort(a)
		if host != "127.0.0.1" || seen[port] {
			t.Errorf("per-port address %s (seen %v)", a, seen)
		}
		seen[port] = true
		if got := query(t, a, "power"); !strings.Contains(got, "Watts=") {
			t.Errorf("%s: %q", a, got)
		}
	}
}

func TestCurtailOverTCP(t *testing.T) {
	clk := newFakeClock()
	f := startFleet(t, Config{Miners: DefaultMix(2), Clock: clk})
	addr := f.Addrs()[1]
	m, _ := f.Miner(addr)
	before := f.TotalPower()
	v := decode(t, query(t, addr, `{"command":"logon"}`))
	sid := v["SESSION"].([]any)[0].(map[string]any)["SessionID"].(string)
	got := query(t, addr, fmt.Sprintf(`{"command":"curtail","parameter":"%s,sleep"}`, sid))
	if !strings.Contains(got, `"CURTAIL":[{"Action":"sleep mode"}]`) {
		t.Fatalf("curtail: %s", got)
	}
	clk.Advance(DefaultSleepRamp)
	if s := m.Snapshot(); s.State != miner.StateSleeping || s.Power != 25 {
		t.Errorf("after sleep ramp: %s %v W", s.State, s.Power)
	}
	if after := f.TotalPower(); after > before-2000 {
		t.Errorf("fleet power %v after sleeping one miner, was %v", after, before)
	}
	got = query(t, addr, `{"command":"summary+power+devs+fans+config"}`)
	for _, s := range []string{`"POWER":[{"PSU":false,"Watts":25}]`, `"CurtailMode":"Sleep"`, `"IsPowerSupplyOn":false`, `"Status":"Dead"`, `"GHS 5s":0,`} {
		if !strings.Contains(got, s) {
			t.Errorf("joined reply asleep lacks %s", s)
		}
	}
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}

func TestFaults(t *testing.T) {
	f := startFleet(t, Config{Miners: DefaultMix(1), Clock: newFakeClock()})
	addr := f.Addrs()[0]
	m, _ := f.Miner(addr)
	tests := []struct {
		name  string
		fault Fault
		check func(t *testing.T, b []byte, err error)
	}{
		{"refuse", FaultRefuse, func(t *testing.T, b []byte, err error) {
			if len(b) != 0 {
				t.Errorf("refused connection sent %q", b)
			}
		}},
		{"garbage", FaultGarbage, func(t *testing.T, b []byte, err error) {
			if len(b) == 0 || json.Valid(b[:len(b)-1]) || strings.HasPrefix(string(b), "STATUS=") {
				t.Errorf("garbage reply looks valid: %q", b)
			}
		}},
		{"truncate", FaultTruncate, func(t *testing.T, b []byte, err error) {
			if len(b) == 0 || b[len(b)-1] == 0 || json.Valid(b) || !strings.HasPrefix(string(b), `{"STATUS":[{"Code":11`) {
				t.Errorf("truncated reply: %q", b)
			}
		}},
		{"slow", FaultSlow(300 * time.Millisecond), func(t *testing.T, b []byte, err error) {
			if err != nil || len(b) == 0 || b[len(b)-1] != 0 {
				t.Errorf("slow reply: %q, %v", b, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.SetFault(tt.fault)
			b, err := rawQuery(t, addr, `{"command":"summary"}`)
			tt.check(t, b, err)
		})
	}
	t.Run("slow waits", func(t *testing.T) {
		// The client gives up before the slow reply: it must see a timeout.
		m.SetFault(FaultSlow(5 * time.Second))
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "summary")
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err = c.Read(make([]byte, 10))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("slow fault: read err %v, want timeout", err)
		}
	})
	t.Run("no answer", func(t *testing.T) {
		m.SetFault(FaultNoAnswer)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, `{"command":"summary"}`)
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err = c.Read(make([]byte, 10))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("no-answer fault: read err %v, want timeout", err)
		}
	})
	m.SetFault(FaultNone)
	if got := query(t, addr, "summary"); !strings.Contains(got, "Code=11") {
		t.Errorf("after clearing faults: %q", got)
	}
}

func TestFleetOf2000(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	f := startFleet(t, Config{Miners: DefaultMix(2000), Clock: newFakeClock()})
	addrs := f.Addrs()
	if len(addrs) != 2000 || addrs[1999] == addrs[0] {
		t.Fatalf("%d addresses", len(addrs))
	}
	if !strings.HasPrefix(addrs[254], "127.1.1.1:") {
		t.Errorf("address 254 = %s, want 127.1.1.1 (last octets 0 and 255 skipped)", addrs[254])
	}
	var total float64
	for _, a := range addrs {
		v := decode(t, query(t, a, `{"command":"power"}`))
		total += v["POWER"].([]any)[0].(map[string]any)["Watts"].(float64)
	}
	if d := total - float64(f.TotalPower()); d > 2000 || d < -2000 {
		t.Errorf("sum of reported watts %.0f, ground truth %v", total, f.TotalPower())
	}
}

// TestMatchesLuxOSFixtures checks each reply against the LuxOS driver's
// byte-exact fixtures: the same sections, keys in the same order, the same
// JSON types and the same STATUS.
func TestMatchesLuxOSFixtures(t *testing.T) {
	dir := filepath.Join("..", "miner", "luxos", "testdata")
	if _, err := os.Stat(filepath.Join(dir, "summary.json")); err != nil {
		t.Skipf("LuxOS fixtures not found in %s", dir)
	}
	clk := newFakeClock()
	f := startFleet(t, Config{Miners: []MinerSpec{{Model: "S19j Pro", Seed: 5}}, Clock: clk})
	addr := f.Addrs()[0]
	sid := ""
	steps := []struct {
		fixture, req string
		advance      time.Duration
	}{
		{"version.json", `{"command":"version"}`, 0},
		{"summary.json", `{"command":"summary"}`, time.Hour},
		{"stats.json", `{"command":"stats"}`, 0},
		{"pools.json", `{"command":"pools"}`, 0},
		{"power.json", `{"command":"power"}`, 0},
		{"profiles.json", `{"command":"profiles"}`, 0},
		{"config.json", `{"command":"config"}`, 0},
		{"devs.json", `{"command":"devs"}`, 0},
		{"temps.json", `{"command":"temps"}`, 0},
		{"fans.json", `{"command":"fans"}`, 0},
		{"atm.json", `{"command":"atm"}`, 0},
		{"status-joined.json", `{"command":"summary+power+devs+fans+config"}`, 0},
		{"session-none.json", `{"command":"session"}`, 0},
		{"session-invalid.json", `{"command":"curtail","parameter":"zzzzzzzz,sleep"}`, 0},
		{"logon.json", `{"command":"logon"}`, 0},
		{"logon-exists.json", `{"command":"logon"}`, 0},
		{"session.json", `{"command":"session"}`, 0},
		{"atmset.json", `{"command":"atmset","parameter":"SID,enabled=true"}`, 0},
		{"profileset.json", `{"command":"profileset","parameter":"SID,495MHz"}`, 0},
		{"curtail-sleep.json", `{"command":"curtail","parameter":"SID,sleep"}`, 0},
		{"config-sleep.json", `{"command":"config"}`, 40 * time.Second},
		{"status-joined-sleep.json", `{"command":"summary+power+devs+fans+config"}`, 0},
		{"curtail-wakeup.json", `{"command":"curtail","parameter":"SID,wakeup"}`, 10 * time.Second},
	}
	for _, st := range steps {
		clk.Advance(st.advance)
		want, err := os.ReadFile(filepath.Join(dir, st.fixture))
		if err != nil {
			t.Errorf("%s: %v", st.fixture, err)
			continue
		}
		got := query(t, addr, strings.Replace(st.req, "SID", sid, 1))
		if st.fixture == "logon.json" {
			sid = decode(t, got)["SESSION"].([]any)[0].(map[string]any)["SessionID"].(string)
		}
		if diff := cmp.Diff(shape(t, want), shape(t, []byte(got))); diff != "" {
			t.Errorf("%s: shape differs (-fixture +sim):\n%s\nsim: %s", st.fixture, diff, got)
		}
	}
}

// shape lists a JSON document's paths with their types and, for STATUS,
// values (Code, Msg, STATUS), in document order; array elements after the
// first of the same shape are folded.
func shape(t *testing.T, b []byte) []string {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(strings.TrimRight(string(b), "\x00\n")))
	dec.UseNumber()
	// Keys in document order need the token stream.
	var out []string
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch x := tok.(type) {
		case json.Delim:
			if x == '{' {
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					if err := walk(path + "." + k.(string)); err != nil {
						return err
					}
				}
			} else {
				seen := map[string]bool{}
				for i := 0; dec.More(); i++ {
					n := len(out)
					if err := walk(path + "[]"); err != nil {
						return err
					}
					key := strings.Join(out[n:], "\n")
					if seen[key] {
						out = out[:n]
					}
					seen[key] = true
				}
			}
			_, err = dec.Token() // closing delimiter
			return err
		case string:
			if strings.HasSuffix(path, ".STATUS[].Msg") || strings.HasSuffix(path, ".STATUS[].STATUS") {
				out = append(out, path+"="+x)
			} else {
				out = append(out, path+":string")
			}
		case json.Number:
			if strings.HasSuffix(path, ".STATUS[].Code") {
				out = append(out, path+"="+x.String())
			} else {
				out = append(out, path+":number")
			}
		case bool:
			out = append(out, path+":bool")
		case nil:
			out = append(out, path+":null")
		}
		return nil
	}
	if err := walk(""); err != nil {
		t.Fatalf("shape of %q: %v", b, err)
	}
	_ = v
	return out
}
