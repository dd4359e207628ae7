package antminer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testCaps(t testing.TB) miner.Capabilities {
	t.Helper()
	c, err := capsFor(versionInfo{Type: "Antminer S19j Pro", BMMiner: "1.0.0"}, telemetry{}, Config{LowPowerRatio: DefaultLowPowerRatio})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseCapsReply(t *testing.T) {
	v, tel, err := parseCapsReply(fixture(t, "caps-joined.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := versionInfo{Type: "Antminer S19j Pro", BMMiner: "1.0.0", Compiled: "Thu Apr 20 11:43:54 CST 2023"}
	if diff := cmp.Diff(want, v, cmp.AllowUnexported(versionInfo{})); diff != "" {
		t.Errorf("version (-want +got):\n%s", diff)
	}
	if tel.IdealGHS != 104000 || tel.Boards != 3 || tel.FreqMHz != 545 {
		t.Errorf("telemetry %+v: want ideal 104000 GH, 3 boards, 545 MHz", tel)
	}
	caps, err := capsFor(v, tel, Config{LowPowerRatio: DefaultLowPowerRatio})
	if err != nil {
		t.Fatal(err)
	}
	wantCaps := miner.Capabilities{
		Driver: "antminer", Model: "Antminer S19j Pro", Firmware: "bmminer 1.0.0 (Thu Apr 20 11:43:54 CST 2023)",
		NominalPower: 3068, NominalHashrate: 104, CanSleep: true, SleepPower: SleepPower,
		MinPower: 2301, MaxPower: 3068,
		PowerSteps: []miner.PowerStep{{Name: "low", Power: 2301, Hashrate: 78}, {Name: "normal", Power: 3068, Hashrate: 104}},
		RampDown:   RampDown, RampUp: RampUp,
	}
	if diff := cmp.Diff(wantCaps, caps); diff != "" {
		t.Errorf("capabilities (-want +got):\n%s", diff)
	}
}

func TestCapsFor(t *testing.T) {
	tests := []struct {
		name      string
		model     string
		ideal     float64
		cfg       Config
		wantP     energy.Power
		wantH     energy.Hashrate
		wantSteps int
		wantErr   error
	}{
		{"known", "Antminer S21", 0, Config{}, 3500, 200, 2, nil},
		{"spelling", "ANTMINER s19-xp", 0, Config{}, 3010, 140, 2, nil},
		{"override", "Antminer S21", 0, Config{NominalPower: 3400}, 3400, 200, 2, nil},
		{"unknown needs config", "Antminer T21", 190000, Config{}, 0, 0, 0, miner.ErrUnsupported},
		{"unknown with power", "Antminer T21", 190000, Config{NominalPower: 3610}, 3610, 190, 2, nil},
		{"no low power", "Antminer S21", 0, Config{NoLowPower: true}, 3500, 200, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.LowPowerRatio = DefaultLowPowerRatio
			c, err := capsFor(versionInfo{Type: tt.model}, telemetry{IdealGHS: tt.ideal}, tt.cfg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if c.NominalPower != tt.wantP || c.NominalHashrate != tt.wantH || len(c.PowerSteps) != tt.wantSteps {
				t.Errorf("got %v %v %d steps, want %v %v %d", c.NominalPower, c.NominalHashrate, len(c.PowerSteps), tt.wantP, tt.wantH, tt.wantSteps)
			}
			if got, want := c.Partial(), tt.wantSteps > 1; got != want {
				t.Errorf("partial %v, want %v", got, want)
			}
		})
	}
}

func TestParseStatusReply(t *testing.T) {
	caps := testCaps(t)
	tests := []struct {
		file  string
		mode  int
		known bool
		want  miner.Status
	}{
		{"status-joined.json", modeNormal, true, miner.Status{
			State: miner.StateMining, Power: 3068, PowerEstimated: true, PowerTarget: 3068, Profile: "normal",
			Hashrate: 103.91247, HashrateAvg: 103.98712, TempMaxC: 73, FanRPM: []int{5850, 5910, 5880, 5820},
			Boards: 3, BoardsActive: 3, Uptime: 24 * time.Hour, Accepted: 20911, Rejected: 52,
		}},
		{"status-joined-sleep.json", modeSleep, true, miner.Status{
			State: miner.StateSleeping, Power: SleepPower, PowerEstimated: true, Profile: "sleep",
			TempMaxC: 29, FanRPM: []int{0, 0, 0, 0}, Boards: 3, Uptime: 10 * time.Minute,
		}},
		{"status-joined.json", modeSleep, true, miner.Status{
			State: miner.StateRampingDown, Power: 3068, PowerEstimated: true, Profile: "sleep",
			Hashrate: 103.91247, HashrateAvg: 103.98712, TempMaxC: 73, FanRPM: []int{5850, 5910, 5880, 5820},
			Boards: 3, BoardsActive: 3, Uptime: 24 * time.Hour, Accepted: 20911, Rejected: 52,
		}},
		{"status-joined-sleep.json", modeNormal, true, miner.Status{
			State: miner.StateWaking, Power: SleepPower, PowerEstimated: true, PowerTarget: 3068, Profile: "normal",
			TempMaxC: 29, FanRPM: []int{0, 0, 0, 0}, Boards: 3, Uptime: 10 * time.Minute,
		}},
		{"status-joined-deadboard.json", modeNormal, true, miner.Status{
			// Two boards of three hash: mining, at about two thirds of the power.
			State: miner.StateMining, Power: SleepPower + (3068-SleepPower)*energy.Power(69274.98/104000), PowerEstimated: true,
			PowerTarget: 3068, Profile: "normal", Hashrate: 69.27498, HashrateAvg: 103.98712, TempMaxC: 73,
			FanRPM: []int{5850, 5910, 5880, 5820}, Boards: 3, BoardsActive: 2, Uptime: 24 * time.Hour, Accepted: 20911, Rejected: 52,
		}},
		{"status-joined.json", 7, false, miner.Status{
			State: miner.StateMining, Power: 3068, PowerEstimated: true,
			Hashrate: 103.91247, HashrateAvg: 103.98712, TempMaxC: 73, FanRPM: []int{5850, 5910, 5880, 5820},
			Boards: 3, BoardsActive: 3, Uptime: 24 * time.Hour, Accepted: 20911, Rejected: 52,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			tel, err := parseStatusReply(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := statusOf(tel, tt.mode, tt.known, caps)
			if diff := cmp.Diff(tt.want, got, approx()); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

// approx compares quantities to 1e-6 relative.
func approx() cmp.Option {
	eq := func(a, b float64) bool {
		d := a - b
		if d < 0 {
			d = -d
		}
		return d <= 1e-6*max(1, a, -a)
	}
	return cmp.Options{
		cmp.Comparer(eq),
		cmp.Comparer(func(a, b energy.Power) bool { return eq(float64(a), float64(b)) }),
		cmp.Comparer(func(a, b energy.Hashrate) bool { return eq(float64(a), float64(b)) }),
	}
}

func TestLowPowerStatus(t *testing.T) {
	caps := testCaps(t)
	tel := telemetry{GHS5s: 78000, IdealGHS: 78000, Boards: 3, BoardsActive: 3}
	got := statusOf(tel, modeLowPower, true, caps)
	if got.State != miner.StateMining || got.Profile != "low" || got.Power != 2301 || got.PowerTarget != 2301 {
		t.Errorf("low power: %+v, want mining at 2301 W, profile low", got)
	}
}

func TestParseSummaryStringRates(t *testing.T) {
	r, err := cgminer.Parse(fixture(t, "summary-ghs-string.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tel telemetry
	if err := parseSummary(r, &tel); err != nil {
		t.Fatal(err)
	}
	if got, want := tel.GHS5s, 103912.47; got != want {
		t.Errorf("GHS 5s %v, want %v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want error
	}{
		{"not json", "garbage", miner.ErrProtocol},
		{"truncated", string(fixture(t, "status-joined.json")[:300]), miner.ErrUnreachable},
		{"no stats", `{"summary":[{"STATUS":[{"STATUS":"S","Code":11}],"SUMMARY":[{"GHS 5s":1}],"id":1}],"id":1}`, miner.ErrProtocol},
		{"denied", `{"STATUS":[{"STATUS":"E","Code":45,"Msg":"Access denied to 'summary+stats' command"}],"id":1}`, miner.ErrDenied},
		{"negative rate", `{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"GHS 5s":-1}],"id":1}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"GHS 5s":1}],"id":1}],"id":1}`, miner.ErrProtocol},
		{"bad chain rate", `{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"GHS 5s":1}],"id":1}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"GHS 5s":1,"chain_rate1":"x"}],"id":1}],"id":1}`, miner.ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseStatusReply([]byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTempValues(t *testing.T) {
	tests := []struct {
		raw  string
		want []float64
	}{
		{`"63-59-56-61"`, []float64{63, 59, 56, 61}},
		{`"0-0-0-0"`, nil},
		{`71`, []float64{71}},
		{`"x-5"`, []float64{5}},
		{`null`, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tempValues([]byte(tt.raw))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.raw, diff)
		}
	}
}

func TestModeFor(t *testing.T) {
	m, err := NewWithCapabilities(Config{Addr: "10.0.0.7"}, Deps{Clock: clock.NewManual(time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC))}, testCaps(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sp      miner.Setpoint
		want    int
		wantErr error
	}{
		{miner.Sleep(), modeSleep, nil},
		{miner.Run(0), modeNormal, nil},
		{miner.Run(5000), modeNormal, nil},
		{miner.Run(3068), modeNormal, nil},
		{miner.Run(3067), modeLowPower, nil},
		{miner.Run(2301), modeLowPower, nil},
		{miner.Run(2300), 0, miner.ErrUnsupported},
		{miner.Run(-1), 0, miner.ErrUnsupported},
		{miner.Setpoint{Mode: "dance"}, 0, miner.ErrUnsupported},
	}
	for _, tt := range tests {
		got, err := m.modeFor(tt.sp)
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("%s: mode %d err %v, want %d %v", tt.sp, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestWebAddress(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "10.0.0.7:80"},
		{Config{WebPort: 8080}, "10.0.0.7:8080"},
		{Config{WebAddr: "127.0.0.1:9"}, "127.0.0.1:9"},
	}
	for _, tt := range tests {
		got, err := webAddress("10.0.0.7:4028", tt.cfg)
		if err != nil || got != tt.want {
			t.Errorf("%+v: %q %v, want %q", tt.cfg, got, err, tt.want)
		}
	}
	if _, err := webAddress("10.0.0.7:4028", Config{WebPort: 70000}); err == nil {
		t.Error("port 70000 accepted")
	}
}
