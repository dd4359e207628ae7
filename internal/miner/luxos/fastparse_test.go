package luxos

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
	"github.com/gridminer/gridminer/internal/minersim"
)

// checkFast compares the fast path with the reference on b and reports
// whether the fast path handled it. parseStatus must agree with the
// reference on the result and on failing or not.
func checkFast(t testing.TB, b []byte, caps miner.Capabilities) bool {
	t.Helper()
	want, werr := parseStatusReference(b, caps)
	fast, handled := parseStatusFast(b, caps)
	if handled {
		if werr != nil {
			t.Fatalf("fast path handled %q, reference fails: %v", b, werr)
		}
		if diff := cmp.Diff(want, fast); diff != "" {
			t.Fatalf("fast path on %q (-reference +fast):\n%s", b, diff)
		}
	}
	got, gerr := parseStatus(b, caps)
	if (gerr != nil) != (werr != nil) {
		t.Fatalf("parseStatus(%q) error %v, reference %v", b, gerr, werr)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("parseStatus(%q) (-reference +got):\n%s", b, diff)
	}
	return handled
}

func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

func TestFastParseStatusFixtures(t *testing.T) {
	caps := miner.Capabilities{PowerSteps: wantSteps}
	for name, b := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			handled := checkFast(t, b, caps)
			checkFast(t, b, miner.Capabilities{}) // profile not among the steps
			// The fast path must carry the real replies, or it is dead code.
			if got, want := handled, strings.HasPrefix(name, "status-joined"); got != want {
				t.Errorf("handled = %v, want %v", got, want)
			}
		})
	}
}

// replace returns the joined fixture with each old replaced by new.
func replace(t *testing.T, b []byte, oldnew ...string) []byte {
	t.Helper()
	s := string(b)
	for i := 0; i < len(oldnew); i += 2 {
		if !strings.Contains(s, oldnew[i]) {
			t.Fatalf("fixture has no %q", oldnew[i])
		}
		s = strings.ReplaceAll(s, oldnew[i], oldnew[i+1])
	}
	return []byte(s)
}

// mini is a small joined reply in an unusual key order, with unknown keys
// and sections and whitespace.
const mini = ` { "id" : 7, "extra": {"a": [1, -2.5e-3, true, false, null, "x\"y\\z\u00e9"], "b": {}},
  "config": [{"CONFIG": [{"Profile": "520MHz", "Hostname": "h", "CurtailMode": "None", "IsPowerSupplyOn": null}],
              "STATUS": [{"STATUS": "S", "When": 1, "Code": 33, "Msg": "CGMiner config", "Description": ""}]}],
  "fans": [{"STATUS": [{"STATUS": "I"}], "FANS": []}],
  "devs": [{"DEVS": [{"Temperature": -1E+1, "MHS 5s": 1e6, "Status": "Alive", "IsRamping": true},
                     {"Status": "Dead"}, null], "STATUS": [{"STATUS": "W"}]},
           {"DEVS": [{"MHS 5s": 5}], "STATUS": [{"STATUS": "E"}]}],
  "power": [{"STATUS": [{"STATUS": "S"}], "POWER": [{"Watts": 2840.0}, {"Watts": "x"}]}],
  "summary": [{"STATUS": [{"STATUS": "S"}], "SUMMARY": [{"GHS 5s": 99200.5, "GHS av": 0.0, "Elapsed": 12, "Accepted": 1.5e3, "Rejected": -3, "Unknown": [[[]]]}]}]
}` + "\r\n\x00\x00"

func TestFastParseStatusVariants(t *testing.T) {
	caps := miner.Capabilities{PowerSteps: wantSteps}
	base := fixture(t, "status-joined.json")
	sleep := fixture(t, "status-joined-sleep.json")
	var indented bytes.Buffer
	if err := json.Indent(&indented, base, "\t", "  "); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		b       []byte
		handled bool
	}{
		{"indented", indented.Bytes(), true},
		{"trailing NUL and newline", append(append([]byte(nil), base...), "\n\x00"...), true},
		{"mini", []byte(mini), false}, // power[0].POWER[1] is a string: type error
		{"mini fixed", []byte(strings.Replace(mini, `{"Watts": "x"}`, `{"Watts": 1}`, 1)), true},
		{"mini unknown curtail", []byte(strings.NewReplacer(`{"Watts": "x"}`, `{}`, `"None"`, `"Maybe"`).Replace(mini)), true},
		{"mini sleep", []byte(strings.NewReplacer(`{"Watts": "x"}`, `{}`, `"None"`, `"Sleep"`).Replace(mini)), true},
		{"mini sleep idle", []byte(strings.NewReplacer(`{"Watts": "x"}`, `{}`, `"None"`, `"Sleep"`, `1e6`, `0`, `99200.5`, `0`).Replace(mini)), true},
		{"sleep", sleep, true},
		{"ramping", replace(t, base, `"IsRamping":false,"IsUserShutdown":false,"Last Share Time":1715699991`, `"IsRamping":true,"IsUserShutdown":false,"Last Share Time":1715699991`), true},
		{"exponents", replace(t, base, `"GHS 5s":104123.41`, `"GHS 5s":1.0412341E+5`, `"Watts":3068`, `"Watts":3.068e3`, `"RPM":4320`, `"RPM":43.20e2`), true},
		{"long numbers", replace(t, base, `"GHS av":103987.12`, `"GHS av":103987.1200000000000000000001`, `"Elapsed":86400`, `"Elapsed":0.000000000000000000000000000864e32`), true},
		{"negative zero", replace(t, base, `"Watts":3068`, `"Watts":-0.0`), true},
		{"escapes", replace(t, base, `"Status":"Alive","Temperature":62.0`, `"St\u0061tus":"\u0041live","Temperature":62.0`, `"Profile":"default","ProfileStep"`, `"Profile":"d\u0065fault\/","ProfileStep"`, `"Hostname":"luxos-s19jpro"`, `"Hostname":"\ud83d\ude00\n\"\\"`), true},
		{"surrogate pair profile", replace(t, base, `"Profile":"default","ProfileStep"`, `"Profile":"\ud83d\ude00","ProfileStep"`), true},
		{"utf8 profile", replace(t, base, `"Profile":"default","ProfileStep"`, `"Profile":"défaut","ProfileStep"`), true},
		{"no fans no devs", replace(t, base, `"FANS":[{"ID":0,"RPM":4320,"Speed":70},{"ID":1,"RPM":4290,"Speed":70},{"ID":2,"RPM":4350,"Speed":70},{"ID":3,"RPM":4305,"Speed":70}]`, `"FANS":[]`, `"DEVS":[{`, `"DEVS":null,"X":[{`), true},
		{"extra sections", replace(t, base, `"fans":[`, `"pools":[{"POOLS":[{"URL":"stratum+tcp://x"}],"STATUS":[{"STATUS":"S"}]}],"fans":[`), true},
		{"second sub-reply", replace(t, base, `,"id":1}],"fans"`, `,"id":1},{"DEVS":[{"MHS 5s":1}],"STATUS":[]}],"fans"`), true},
		{"top-level STATUS S", replace(t, base, `{"summary"`, `{"STATUS":[{"STATUS":"S","Code":1}],"summary"`), true},

		// Refused: the reference decides (and usually fails).
		{"top-level STATUS E", replace(t, base, `{"summary"`, `{"STATUS":[{"STATUS":"E","Code":45,"Msg":"Access denied"}],"summary"`), false},
		{"E status", replace(t, base, `"Msg":"Power usage","STATUS":"S"`, `"Msg":"Power usage","STATUS":"E"`), false},
		{"escaped E status", replace(t, base, `"Msg":"Power usage","STATUS":"S"`, `"Msg":"Power usage","STATUS":"\u0045"`), false},
		{"no fans STATUS", replace(t, base, `"STATUS":[{"Code":202,"Description":"LUXminer 2024.5.1.155747-f6ec4c08","Msg":"4 Fan(s)","STATUS":"S","When":1715700000}]`, `"STATUS":[]`), false},
		{"no config section", replace(t, base, `"config":[`, `"xconfig":[`), false},
		{"negative watts", replace(t, base, `"Watts":3068`, `"Watts":-1`), false},
		{"inf", replace(t, base, `"Watts":3068`, `"Watts":inf`), false},
		{"quoted nan", replace(t, base, `"Temperature":62.0`, `"Temperature":"nan"`), false},
		{"missing comma between objects", replace(t, base, `"Speed":70},{"ID":1`, `"Speed":70}{"ID":1`), false},
		{"trailing comma", replace(t, base, `"Speed":70}]`, `"Speed":70},]`), false},
		{"duplicate key", replace(t, base, `"Watts":3068`, `"Watts":3068,"Watts":1`), false},
		{"folded key", replace(t, base, `"Watts":3068`, `"watts":3068`), false},
		{"folded escaped key", replace(t, base, `"Watts":3068`, `"\u0077atts":3068`), false},
		{"unicode folded key", replace(t, base, `"Watts":3068`, `"Wattſ":3068`), false},
		{"fraction in Code", replace(t, base, `"Code":311`, `"Code":311.0`), false},
		{"huge float", replace(t, base, `"RPM":4320`, `"RPM":1e400`), false},
		{"bool as string", replace(t, base, `"IsAtmEnabled":true`, `"IsAtmEnabled":"true"`), false},
		{"lone surrogate", replace(t, base, `"Profile":"default","ProfileStep"`, `"Profile":"\ud83d","ProfileStep"`), false},
		{"invalid utf8 profile", replace(t, base, `"Profile":"default","ProfileStep"`, "\"Profile\":\"d\xffefault\",\"ProfileStep\""), false},
		{"control character", replace(t, base, `"Hostname":"luxos-s19jpro"`, "\"Hostname\":\"a\tb\""), false},
		{"leading NUL", append([]byte{0}, base...), false},
		{"two values", append(append([]byte(nil), base...), " {}"...), false},
		{"deep unknown", replace(t, base, `"id":1}`, `"id":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`), false},
		{"top-level array", []byte(`[` + string(base) + `]`), false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := checkFast(t, tt.b, caps), tt.handled; got != want {
				t.Errorf("handled = %v, want %v", got, want)
			}
		})
	}
}

func TestFastParseStatusTruncated(t *testing.T) {
	caps := miner.Capabilities{PowerSteps: wantSteps}
	base := fixture(t, "status-joined.json")
	for n := range len(base) {
		if checkFast(t, base[:n], caps) {
			t.Fatalf("fast path handled a reply cut at %d of %d bytes", n, len(base))
		}
	}
}

// TestFastParseStatusSimulator checks the fast path on the simulator's
// replies: awake, waking, asleep, across its models.
func TestFastParseStatusSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulated fleet")
	}
	t0 := time.Date(2024, 5, 14, 12, 0, 0, 0, time.UTC)
	for _, asleep := range []bool{false, true} {
		clk, err := clock.NewScaled(t0, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		f, err := minersim.New(minersim.Config{Miners: minersim.DefaultMix(8), Clock: clk, StartAsleep: asleep})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- f.Run(ctx) }()
		<-f.Ready()
		for round := range 3 {
			for _, addr := range f.Addrs() {
				c := cgminer.NewClient(addr, cgminer.WithTimeout(5*time.Second))
				b, err := c.Raw(ctx, cgminer.EncodeJSON(statusRequest))
				if err != nil {
					t.Fatalf("%s: %v", addr, err)
				}
				if !checkFast(t, b, miner.Capabilities{PowerSteps: wantSteps}) {
					t.Errorf("round %d asleep %v %s: fast path refused the simulator's reply %s", round, asleep, addr, b)
				}
			}
			time.Sleep(time.Millisecond) // 10 s of simulated time
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// FuzzFastParseStatus checks that whenever the fast path handles a reply,
// it returns what the reference returns.
func FuzzFastParseStatus(f *testing.F) {
	for _, b := range fixtures(f) {
		f.Add(b)
	}
	f.Add([]byte(mini))
	f.Add([]byte(strings.Replace(mini, `{"Watts": "x"}`, `{"Watts": 1}`, 1)))
	caps := miner.Capabilities{PowerSteps: wantSteps}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFast(t, b, caps)
	})
}

func BenchmarkParseStatusReference(b *testing.B) {
	data := fixture(b, "status-joined.json")
	caps := miner.Capabilities{PowerSteps: wantSteps}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseStatusReference(data, caps); err != nil {
			b.Fatal(err)
		}
	}
}
