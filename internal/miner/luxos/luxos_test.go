package luxos

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                                   { return c.t }
func (c fixedClock) Sleep(ctx context.Context, d time.Duration) error { return ctx.Err() }
func (c fixedClock) WallDuration(d time.Duration) time.Duration       { return d }

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeLux replays the fixtures and enforces LuxOS session rules.
type fakeLux struct {
	t        testing.TB
	mu       sync.Mutex
	sid      string // live session ("" none)
	nextSID  int
	curtail  string // "None" or "Sleep"
	profile  string
	atm      bool
	denyAll  bool   // answer every write with code 45
	raw      []byte // when set, answer everything with these bytes
	log      []string
	atmTrail []bool // ATM state seen by each profileset
}

func (f *fakeLux) start() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var req struct {
					Command   string `json:"command"`
					Parameter string `json:"parameter"`
				}
				if err := json.NewDecoder(c).Decode(&req); err != nil {
					return
				}
				c.Write(append(f.handle(req.Command, req.Parameter), 0))
			}()
		}
	}()
	return ln.Addr().String()
}

func status(code int, st, msg string) string {
	return `{"STATUS":[{"Code":` + itoa(code) + `,"Description":"LUXminer test","Msg":"` + msg + `","STATUS":"` + st + `","When":1715700000}],"id":1}`
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (f *fakeLux) handle(cmd, param string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, strings.TrimSpace(cmd+" "+param))
	if f.raw != nil {
		return f.raw
	}
	if strings.Contains(cmd, "+") {
		parts := []string{}
		for _, c := range strings.Split(cmd, "+") {
			parts = append(parts, `"`+c+`":[`+string(f.reply(c, ""))+`]`)
		}
		return []byte("{" + strings.Join(parts, ",") + `,"id":1}`)
	}
	return f.reply(cmd, param)
}

func (f *fakeLux) reply(cmd, param string) []byte {
	args := strings.Split(param, ",")
	switch cmd {
	case "version", "summary", "power", "profiles", "devs", "fans", "temps", "pools", "stats":
		return fixture(f.t, cmd+".json")
	case "config":
		var m map[string]any
		json.Unmarshal(fixture(f.t, "config.json"), &m)
		c := m["CONFIG"].([]any)[0].(map[string]any)
		c["CurtailMode"], c["Profile"], c["IsAtmEnabled"] = f.curtail, f.profile, f.atm
		b, _ := json.Marshal(m)
		return b
	case "atm":
		return []byte(strings.Replace(string(fixture(f.t, "atm.json")), `"Enabled":true`, `"Enabled":`+map[bool]string{true: "true", false: "false"}[f.atm], 1))
	case "logon":
		if f.sid != "" {
			return fixture(f.t, "logon-exists.json")
		}
		f.nextSID++
		f.sid = "sid" + itoa(f.nextSID)
		return []byte(strings.Replace(string(fixture(f.t, "logon.json")), "yJN2nlj1", f.sid, 1))
	case "session":
		return []byte(strings.Replace(string(fixture(f.t, "session.json")), "yJN2nlj1", f.sid, 1))
	case "curtail", "profileset", "atmset":
		if f.denyAll {
			return []byte(status(45, "E", "Access denied to '"+cmd+"' command"))
		}
		if f.sid == "" || args[0] != f.sid {
			return fixture(f.t, "session-invalid.json")
		}
		if len(args) < 2 {
			return []byte(status(14, "E", "Missing parameter"))
		}
		switch cmd {
		case "curtail":
			if args[1] == "sleep" {
				f.curtail = "Sleep"
				return fixture(f.t, "curtail-sleep.json")
			}
			f.curtail = "None"
			return fixture(f.t, "curtail-wakeup.json")
		case "profileset":
			f.atmTrail = append(f.atmTrail, f.atm)
			if args[1] == "bad" {
				return []byte(status(322, "E", "Invalid profile"))
			}
			f.profile = args[1]
			return fixture(f.t, "profileset.json")
		case "atmset":
			f.atm = args[1] == "enabled=true"
			return fixture(f.t, "atmset.json")
		}
	}
	return []byte(status(14, "E", "Invalid command"))
}

func (f *fakeLux) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		switch strings.Fields(l)[0] {
		case "logon", "session", "curtail", "profileset", "atmset", "atm":
			out = append(out, l)
		}
	}
	f.log = nil
	return out
}

func newFake(t *testing.T) (*fakeLux, *Miner) {
	t.Helper()
	f := &fakeLux{t: t, curtail: "None", profile: "default", atm: true}
	addr := f.start()
	m, err := New(context.Background(), Config{Addr: addr, Timeout: 5 * time.Second}, Deps{Clock: fixedClock{t0}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.writes()
	return f, m
}

var wantSteps = []miner.PowerStep{
	{Name: "470MHz", Power: 2410, Hashrate: 89.7},
	{Name: "495MHz", Power: 2620, Hashrate: 94.4},
	{Name: "520MHz", Power: 2840, Hashrate: 99.2},
	{Name: "default", Power: 3068, Hashrate: 104},
	{Name: "570MHz", Power: 3310, Hashrate: 108.8},
}

func TestParseCapsFixture(t *testing.T) {
	var parts []string
	for _, c := range []string{"version", "profiles", "config"} {
		parts = append(parts, `"`+c+`":[`+string(fixture(t, c+".json"))+`]`)
	}
	caps, def, err := parseCaps([]byte("{" + strings.Join(parts, ",") + `,"id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	want := miner.Capabilities{
		Driver: "luxos", Model: "Antminer S19j Pro", Firmware: "LUXminer 2024.5.1.155747-f6ec4c08",
		NominalPower: 3068, NominalHashrate: 104, CanSleep: true, SleepPower: 25,
		MinPower: 2410, MaxPower: 3310, PowerSteps: wantSteps,
		RampDown: 5 * time.Second, RampUp: 10 * time.Second, PowerMeasured: true,
	}
	if diff := cmp.Diff(want, caps); diff != "" {
		t.Errorf("caps (-want +got):\n%s", diff)
	}
	if def != "default" {
		t.Errorf("default profile = %q, want %q", def, "default")
	}
}

func TestParseStatusFixtures(t *testing.T) {
	caps := miner.Capabilities{PowerSteps: wantSteps}
	tests := []struct {
		file string
		want miner.Status
	}{
		{"status-joined.json", miner.Status{
			State: miner.StateMining, Power: 3068, PowerTarget: 3068, Profile: "default",
			Hashrate: 104.12341, HashrateAvg: 103.98712, TempMaxC: 64.5, FanRPM: []int{4320, 4290, 4350, 4305},
			Boards: 3, BoardsActive: 3, Uptime: 24 * time.Hour, Accepted: 5230, Rejected: 4,
		}},
		{"status-joined-sleep.json", miner.Status{
			State: miner.StateSleeping, Power: 25, PowerTarget: 3068, Profile: "default",
			Hashrate: 0, HashrateAvg: 103.98712, TempMaxC: 64.5, FanRPM: []int{4320, 4290, 4350, 4305},
			Boards: 3, BoardsActive: 0, Uptime: 24 * time.Hour, Accepted: 5230, Rejected: 4,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseStatus(fixture(t, tt.file), caps)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b energy.Hashrate) bool { return a-b < 1e-9 && b-a < 1e-9 })); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatusOverTCP(t *testing.T) {
	f, m := newFake(t)
	st, err := m.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Time, t0; !got.Equal(want) {
		t.Errorf("Time = %v, want %v", got, want)
	}
	if got, want := st.State, miner.StateMining; got != want {
		t.Errorf("State = %v, want %v", got, want)
	}
	f.mu.Lock()
	f.curtail = "Sleep"
	f.mu.Unlock()
	st, err = m.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The fixtures still hash, so a "Sleep" miner is ramping down.
	if got, want := st.State, miner.StateRampingDown; got != want {
		t.Errorf("State = %v, want %v", got, want)
	}
	if got, want := f.log[len(f.log)-1], statusRequest; got != want {
		t.Errorf("request = %q, want one joined %q", got, want)
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(f *fakeLux)
		sp       miner.Setpoint
		want     []string
		wantProf string
		wantCurt string
		wantATM  bool
		atmTrail []bool
		wantErr  error
	}{
		{name: "sleep", sp: miner.Sleep(),
			want:     []string{"logon", "curtail sid1,sleep"},
			wantProf: "default", wantCurt: "Sleep", wantATM: true},
		{name: "wake", setup: func(f *fakeLux) { f.curtail = "Sleep" }, sp: miner.Run(0),
			want:     []string{"logon", "curtail sid1,wakeup"},
			wantProf: "default", wantCurt: "None", wantATM: true},
		{name: "partial power holds ATM off", sp: miner.Run(2700),
			want:     []string{"atm", "logon", "atmset sid1,enabled=false", "profileset sid1,495MHz", "atmset sid1,enabled=true"},
			wantProf: "495MHz", wantCurt: "None", wantATM: true, atmTrail: []bool{false}},
		{name: "partial power, ATM already off", setup: func(f *fakeLux) { f.atm = false }, sp: miner.Run(2410),
			want:     []string{"atm", "logon", "profileset sid1,470MHz"},
			wantProf: "470MHz", wantCurt: "None", wantATM: false, atmTrail: []bool{false}},
		{name: "wake and back to default", setup: func(f *fakeLux) { f.curtail, f.profile = "Sleep", "470MHz" }, sp: miner.Run(0),
			want:     []string{"logon", "curtail sid1,wakeup", "atm", "atmset sid1,enabled=false", "profileset sid1,default", "atmset sid1,enabled=true"},
			wantProf: "default", wantCurt: "None", wantATM: true, atmTrail: []bool{false}},
		{name: "same profile is a no-op", sp: miner.Run(3100), want: nil, wantProf: "default", wantCurt: "None", wantATM: true},
		{name: "below lowest profile", sp: miner.Run(1000), wantErr: miner.ErrUnsupported, wantProf: "default", wantCurt: "None", wantATM: true},
		{name: "reuse live session when logon refuses", setup: func(f *fakeLux) { f.sid = "other" }, sp: miner.Sleep(),
			want:     []string{"logon", "session", "curtail other,sleep"},
			wantProf: "default", wantCurt: "Sleep", wantATM: true},
		{name: "access denied", setup: func(f *fakeLux) { f.denyAll = true }, sp: miner.Sleep(),
			want: []string{"logon", "curtail sid1,sleep"}, wantErr: miner.ErrDenied, wantProf: "default", wantCurt: "None", wantATM: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, m := newFake(t)
			if tt.setup != nil {
				f.mu.Lock()
				tt.setup(f)
				f.mu.Unlock()
			}
			err := m.Apply(context.Background(), tt.sp)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Apply error = %v, want wrapping %v", err, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "luxos "+m.Addr()+": ") {
				t.Errorf("error %q does not name the device", err)
			}
			got := f.writes()
			// Apply(Run) reads config first; drop it from the comparison.
			if diff := cmp.Diff(tt.want, got); diff != "" && tt.wantErr != miner.ErrUnsupported {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
			if f.profile != tt.wantProf || f.curtail != tt.wantCurt || f.atm != tt.wantATM {
				t.Errorf("miner state profile=%q curtail=%q atm=%v, want %q %q %v", f.profile, f.curtail, f.atm, tt.wantProf, tt.wantCurt, tt.wantATM)
			}
			if diff := cmp.Diff(tt.atmTrail, f.atmTrail); diff != "" {
				t.Errorf("ATM state during profileset (-want +got):\n%s", diff)
			}
		})
	}
}

func TestATMRestoredWhenProfilesetFails(t *testing.T) {
	f, m := newFake(t)
	m.caps.PowerSteps = append([]miner.PowerStep{{Name: "bad", Power: 100}}, m.caps.PowerSteps...)
	err := m.Apply(context.Background(), miner.Run(200))
	if !errors.Is(err, miner.ErrRejected) {
		t.Fatalf("Apply error = %v, want ErrRejected", err)
	}
	if !f.atm {
		t.Errorf("ATM left disabled after a failed profileset")
	}
}

func TestSessionExpiryRelogon(t *testing.T) {
	f, m := newFake(t)
	ctx := context.Background()
	if err := m.Logon(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(ctx, miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"logon", "curtail sid1,sleep"}, f.writes()); diff != "" {
		t.Errorf("first commands (-want +got):\n%s", diff)
	}
	f.mu.Lock()
	f.sid = "" // the 60 s idle timeout passed
	f.mu.Unlock()
	if err := m.Apply(ctx, miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"curtail sid1,sleep", "logon", "curtail sid2,sleep"}, f.writes()); diff != "" {
		t.Errorf("after expiry (-want +got):\n%s", diff)
	}
	// The session is cached: no logon the third time.
	if err := m.Apply(ctx, miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"curtail sid2,sleep"}, f.writes()); diff != "" {
		t.Errorf("cached session (-want +got):\n%s", diff)
	}
}

func TestBadReplies(t *testing.T) {
	full := fixture(t, "status-joined.json")
	tests := []struct {
		name string
		raw  []byte
		want error
	}{
		{"garbage", []byte("<html>nope</html>"), miner.ErrProtocol},
		{"truncated", full[:len(full)/2], miner.ErrUnreachable},
		{"whole request denied", []byte(`{"STATUS":[{"STATUS":"E","When":1,"Code":45,"Msg":"Access denied","Description":"x"}],"id":1}`), miner.ErrDenied},
		{"nan power", []byte(strings.Replace(string(full), `"Watts":3068`, `"Watts":nan`, 1)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, m := newFake(t)
			f.mu.Lock()
			f.raw = tt.raw
			f.mu.Unlock()
			_, err := m.Status(context.Background())
			if tt.want == nil {
				if err != nil {
					t.Errorf("Status: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Status error = %v, want wrapping %v", err, tt.want)
			}
		})
	}
}

func TestUnreachableAndDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	caps := miner.Capabilities{PowerSteps: wantSteps, NominalPower: 3068}
	m, err := NewWithCapabilities(Config{Addr: closed}, Deps{Clock: fixedClock{t0}}, caps)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Status(context.Background()); !errors.Is(err, miner.ErrUnreachable) {
		t.Errorf("refused: got %v, want ErrUnreachable", err)
	}
	if _, err := New(context.Background(), Config{Addr: closed}, Deps{Clock: fixedClock{t0}}); !errors.Is(err, miner.ErrUnreachable) {
		t.Errorf("New refused: got %v, want ErrUnreachable", err)
	}

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }()
		}
	}()
	m, err = NewWithCapabilities(Config{Addr: silent.Addr().String(), Timeout: time.Hour}, Deps{Clock: fixedClock{t0}}, caps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := m.Apply(ctx, miner.Sleep()); !errors.Is(err, miner.ErrUnreachable) {
		t.Errorf("deadline: got %v, want ErrUnreachable", err)
	}
}

func TestNewWithCapabilitiesNoIO(t *testing.T) {
	caps := miner.Capabilities{Driver: "luxos", PowerSteps: wantSteps, NominalPower: 3068}
	m, err := NewWithCapabilities(Config{Addr: "192.0.2.1"}, Deps{Clock: fixedClock{t0}}, caps)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Addr(), "192.0.2.1:4028"; got != want {
		t.Errorf("Addr = %q, want %q", got, want)
	}
	if got, want := m.defaultP, "default"; got != want {
		t.Errorf("default profile = %q, want %q", got, want)
	}
	if _, err := NewWithCapabilities(Config{}, Deps{Clock: fixedClock{t0}}, caps); err == nil {
		t.Errorf("empty addr accepted")
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add(fixture(f, "status-joined.json"))
	f.Add(fixture(f, "status-joined-sleep.json"))
	f.Add(fixture(f, "config.json"))
	caps := miner.Capabilities{PowerSteps: wantSteps}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseStatus(b, caps)
		if err == nil && (st.Power < 0 || st.Hashrate < 0) {
			t.Errorf("negative reading accepted: %+v", st)
		}
		_, _, _ = parseCaps(b)
	})
}

func BenchmarkStatus(b *testing.B) {
	f := &fakeLux{t: b, curtail: "None", profile: "default", atm: true}
	m, err := NewWithCapabilities(Config{Addr: f.start()}, Deps{Clock: fixedClock{t0}}, miner.Capabilities{PowerSteps: wantSteps})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := m.Status(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseStatus(b *testing.B) {
	data := fixture(b, "status-joined.json")
	caps := miner.Capabilities{PowerSteps: wantSteps}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseStatus(data, caps); err != nil {
			b.Fatal(err)
		}
	}
}

// allCalls returns every command the fake saw since the last call and resets the log.
func (f *fakeLux) allCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.log))
	for _, l := range f.log {
		out = append(out, strings.Fields(l)[0])
	}
	f.log = nil
	return out
}

func TestApplyUsesFreshKnownStateInsteadOfReadingConfig(t *testing.T) {
	f, m := newFake(t)
	ctx := context.Background()
	if _, err := m.Status(ctx); err != nil {
		t.Fatal(err)
	}
	f.allCalls()
	// The miner just reported itself awake on the default profile: a
	// sleep, then a wake, need no config read in between.
	if err := m.Apply(ctx, miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(ctx, miner.Run(0)); err != nil {
		t.Fatal(err)
	}
	want := []string{"logon", "curtail", "curtail"}
	if diff := cmp.Diff(want, f.allCalls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if f.curtail != "None" {
		t.Errorf("miner curtail mode %q after wake, want None", f.curtail)
	}
	// A driver that knows nothing reads config first.
	m2, err := NewWithCapabilities(Config{Addr: m.Addr(), Timeout: 5 * time.Second}, Deps{Clock: fixedClock{t0}}, m.Capabilities())
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Apply(ctx, miner.Run(0)); err != nil {
		t.Fatal(err)
	}
	if got := f.allCalls(); len(got) == 0 || got[0] != "config" {
		t.Errorf("calls of a driver with no known state = %v, want config first", got)
	}
}

// wallClock is a wall clock the test moves by hand.
type wallClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *wallClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *wallClock) Sleep(ctx context.Context, d time.Duration) error { return ctx.Err() }
func (c *wallClock) WallDuration(d time.Duration) time.Duration       { return d }
func (c *wallClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestIdleSessionAndStaleStateUseTheWallClock(t *testing.T) {
	f := &fakeLux{t: t, curtail: "None", profile: "default", atm: true}
	addr := f.start()
	wall := &wallClock{t: t0}
	m, err := New(context.Background(), Config{Addr: addr, Timeout: 5 * time.Second}, Deps{Clock: fixedClock{t0}, Wall: wall})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Apply(ctx, miner.Sleep()); err != nil { // logs on
		t.Fatal(err)
	}
	f.allCalls()
	// A minute later the miner has expired the session (LuxOS: 60 s idle).
	// The driver logs on first instead of spending a write to find out,
	// and the known state is too old to trust, so it reads config.
	wall.advance(61 * time.Second)
	f.mu.Lock()
	f.sid = "" // what the miner did on its own clock
	f.mu.Unlock()
	if err := m.Apply(ctx, miner.Run(0)); err != nil {
		t.Fatal(err)
	}
	want := []string{"config", "logon", "curtail"}
	if diff := cmp.Diff(want, f.allCalls()); diff != "" {
		t.Errorf("calls after a minute idle (-want +got):\n%s", diff)
	}
	// Within the idle window the session is reused with no logon.
	wall.advance(30 * time.Second)
	if err := m.Apply(ctx, miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"curtail"}, f.allCalls()); diff != "" {
		t.Errorf("calls within the idle window (-want +got):\n%s", diff)
	}
}
