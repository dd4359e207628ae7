package avalon

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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

func TestParseEstats(t *testing.T) {
	ignoreRaw := cmpopts.IgnoreFields(Estats{}, "Raw")
	tests := []struct {
		name string
		in   string
		want Estats
	}{
		{"working", string(fixture(t, "mm-work.txt")), Estats{
			Ver: "1366-116-23042501_6d4cd98_d3a493a", WorkState: "In Work", HashBoards: 3,
			HasSoftOff: true, PS: []int64{0, 1214, 1290, 252, 3251, 1290}, BoardWatts: 3251, HasPS: true,
			MPO: 3250, HasMode: true,
			GHSspd: 130214.88, GHSmm: 130550.40, GHSavg: 129874.21,
			TMax: 81, TAvg: 69, Temp: 24, Fans: []int{4380, 4410}, FanPct: 73,
			MGHS: []float64{43371.09, 43217.65, 43285.47}, Elapsed: 86412,
		}},
		{"asleep", string(fixture(t, "mm-sleep.txt")), Estats{
			Ver: "1366-116-23042501_6d4cd98_d3a493a", WorkState: "In Idle", HashBoards: 3,
			SoftOff: true, HasSoftOff: true, PS: []int64{0, 1214, 0, 0, 0, 1290}, HasPS: true,
			MPO: 3250, HasMode: true,
			GHSmm: 130550.40, GHSavg: 129874.21,
			TMax: 31, TAvg: 29, Temp: 24, Fans: []int{1200, 1230}, FanPct: 20,
			MGHS: []float64{0, 0, 0}, Elapsed: 86412,
		}},
		{"wallpower and workmode 1", "SoftOFF[0] WORKMODE[1] WALLPOWER[3412] PS[0 1200]", Estats{
			HasSoftOff: true, WorkMode: 1, HasMode: true, WallPower: 3412, HasWallPower: true, PS: []int64{0, 1200},
		}},
		{"garbage values skipped", "PS[a b] MGHS[1 x] Fan1[-3] TMax[NaN] SoftOFF[yes] Elapsed[1e99]", Estats{}},
		{"unterminated", "Ver[abc] TMax[70", Estats{Ver: "abc"}},
		{"empty", "", Estats{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseEstats(tt.in)
			if diff := cmp.Diff(tt.want, got, ignoreRaw, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseEstats mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEstatsRaw(t *testing.T) {
	e := ParseEstats(string(fixture(t, "mm-work.txt")))
	for k, want := range map[string]string{
		"SYSTEMSTATU": "Work: In Work, Hash Board: 3 ",
		"ATAOPTS0":    "--avalon10-freq 482:502:522:542 --avalon10-voltage-level 1290 --hash-asic 120",
		"PVT_T0":      " 62  63  64",
		"MW0":         "",
		"DH":          "1.124%",
	} {
		if got := e.Raw[k]; got != want {
			t.Errorf("Raw[%q] = %q, want %q", k, got, want)
		}
	}
}

func TestParseReading(t *testing.T) {
	tests := []struct {
		file string
		want reading
	}{
		{"status-joined.json", reading{when: 1718020800, mhs30s: 130214880.12, mhsAv: 129912345.67, hasMHS: true, elapsed: 86412, accepted: 25506, rejected: 51}},
		{"status-joined-sleep.json", reading{when: 1718021400, mhs30s: 0, mhsAv: 128930111.02, hasMHS: true, elapsed: 86412, accepted: 25510, rejected: 51}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseReading(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(reading{}), cmpopts.IgnoreFields(reading{}, "e")); diff != "" {
				t.Errorf("parseReading mismatch (-want +got):\n%s", diff)
			}
			if got.e.MPO != 3250 || got.e.Ver == "" {
				t.Errorf("estats not decoded: MPO %v Ver %q", got.e.MPO, got.e.Ver)
			}
		})
	}
}

func TestParseCaps(t *testing.T) {
	got, err := parseCaps(fixture(t, "caps-joined.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := miner.Capabilities{
		Driver: "avalon", Model: "AvalonMiner 1366", Firmware: "cgminer 4.11.1 MM314 23042501_6d4cd98_d3a493a",
		NominalPower: 3250, NominalHashrate: 130.5504,
		CanSleep: true, SleepPower: DefaultSleepPower, RampDown: DefaultRampDown, RampUp: DefaultRampUp,
		PowerMeasured: true,
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("parseCaps mismatch (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		f    func([]byte) error
		want error
	}{
		{"reading: single reply, not joined", fixture(t, "estats.json"), func(b []byte) error { _, err := parseReading(b); return err }, miner.ErrProtocol},
		{"reading: truncated", fixture(t, "status-joined.json")[:700], func(b []byte) error { _, err := parseReading(b); return err }, miner.ErrUnreachable},
		{"reading: denied sub-reply", []byte(`{"summary":[{"STATUS":[{"STATUS":"E","When":1,"Code":45,"Msg":"Access denied to 'summary' command","Description":"cgminer 4.11.1"}],"id":1}],"estats":[{"STATUS":[{"STATUS":"S","When":1,"Code":70,"Msg":"CGMiner stats"}],"STATS":[{"MM ID0":"SoftOFF[0]"}],"id":1}],"id":1}`), func(b []byte) error { _, err := parseReading(b); return err }, miner.ErrDenied},
		{"reading: no MM string", []byte(`{"summary":[{"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"Summary"}],"SUMMARY":[{"Elapsed":1}],"id":1}],"estats":[{"STATUS":[{"STATUS":"S","When":1,"Code":70,"Msg":"CGMiner stats"}],"STATS":[{"ID":"POOL0"}],"id":1}],"id":1}`), func(b []byte) error { _, err := parseReading(b); return err }, miner.ErrProtocol},
		{"caps: no MPO", []byte(`{"version":[{"STATUS":[{"STATUS":"S","When":1,"Code":22,"Msg":"CGMiner versions"}],"VERSION":[{"CGMiner":"4.11.1","PROD":"AvalonMiner 1366"}],"id":1}],"estats":[{"STATUS":[{"STATUS":"S","When":1,"Code":70,"Msg":"CGMiner stats"}],"STATS":[{"MM ID0":"SoftOFF[1]"}],"id":1}],"id":1}`), func(b []byte) error { _, err := parseCaps(b); return err }, miner.ErrProtocol},
		{"ascset: failed", fixture(t, "ascset-failed.txt"), func(b []byte) error { _, err := parseAscsetReply(b); return err }, miner.ErrRejected},
		{"ascset: info without success", fixture(t, "workmode.txt"), func(b []byte) error { _, err := parseAscsetReply(b); return err }, miner.ErrRejected},
		{"ascset: garbage", []byte("\x17\x03garbage"), func(b []byte) error { _, err := parseAscsetReply(b); return err }, miner.ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.f(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseAscsetReplyOK(t *testing.T) {
	for _, f := range []string{"softoff.txt", "softon.txt", "softoff-setok.txt"} {
		if _, err := parseAscsetReply(fixture(t, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestStatusOf(t *testing.T) {
	caps, err := parseCaps(fixture(t, "caps-joined.json"))
	if err != nil {
		t.Fatal(err)
	}
	work, err := parseReading(fixture(t, "status-joined.json"))
	if err != nil {
		t.Fatal(err)
	}
	sleep, err := parseReading(fixture(t, "status-joined-sleep.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := statusOf(work, caps, command{})
	want := miner.Status{
		State: miner.StateMining, Power: 3251, PowerTarget: 3250, Profile: "workmode 0",
		Hashrate: 130.21488012, HashrateAvg: 129.91234567, TempMaxC: 81, FanRPM: []int{4380, 4410},
		Boards: 3, BoardsActive: 3, Uptime: 86412 * time.Second, Accepted: 25506, Rejected: 51,
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("statusOf mismatch (-want +got):\n%s", diff)
	}

	rampDown := sleep
	rampDown.e.BoardWatts, rampDown.mhs30s = 1500, 60e6
	waking := work
	waking.e.BoardWatts = 900
	tests := []struct {
		name string
		rd   reading
		last command
		want miner.State
	}{
		{"mining", work, command{}, miner.StateMining},
		{"asleep", sleep, command{}, miner.StateSleeping},
		{"soft-off, still drawing", rampDown, command{"softoff", 1718020800}, miner.StateRampingDown},
		{"softoff scheduled, not due", work, command{"softoff", 1718020805}, miner.StateRampingDown},
		{"softon scheduled, not due", sleep, command{"softon", 1718021405}, miner.StateWaking},
		{"after our softon, below target", waking, command{"softon", 1718020790}, miner.StateWaking},
		{"low power without our softon", waking, command{}, miner.StateMining},
		{"long after our softon", waking, command{"softon", 1718020800 - 3600}, miner.StateMining},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stateOf(tt.rd, caps, tt.last); got != tt.want {
				t.Errorf("state %s, want %s", got, tt.want)
			}
		})
	}
}

func FuzzParseEstats(f *testing.F) {
	f.Add(string(fixture(f, "mm-work.txt")))
	f.Add(string(fixture(f, "mm-sleep.txt")))
	f.Add("SYSTEMSTATU[Work: , Hash Board: x ] PS[] Fan1[1] Fan2[] [x] ]][[")
	f.Fuzz(func(t *testing.T, s string) {
		e := ParseEstats(s)
		if e.BoardWatts < 0 || e.MPO < 0 || e.WallPower < 0 {
			t.Errorf("negative power from %q: %+v", s, e)
		}
	})
}

func FuzzParseReading(f *testing.F) {
	for _, name := range []string{"status-joined.json", "status-joined-sleep.json", "caps-joined.json", "estats.json"} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if rd, err := parseReading(b); err == nil {
			_ = statusOf(rd, miner.Capabilities{NominalPower: 3000, NominalHashrate: 100}, command{})
		}
		_, _ = parseCaps(b)
		_, _ = parseAscsetReply(b)
	})
}

// TestTextEstatsNeedsJSON documents why the driver reads estats in the
// JSON form: the text form carries the MM string unescaped, and its
// "SYSTEMSTATU[Work: In Work, Hash Board: 3 ]" comma splits the field.
func TestTextEstatsNeedsJSON(t *testing.T) {
	if _, err := cgminer.ParseText(fixture(t, "estats.txt")); !errors.Is(err, miner.ErrProtocol) {
		t.Errorf("ParseText of text-form estats: %v, want ErrProtocol", err)
	}
	r, err := cgminer.Parse(fixture(t, "estats.json"))
	if err != nil {
		t.Fatal(err)
	}
	e, elapsed, err := decodeEstats(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := ParseEstats(string(fixture(t, "mm-work.txt"))); !cmp.Equal(e, want) || elapsed != 86412 {
		t.Errorf("JSON estats decoded differently from mm-work.txt (elapsed %d)", elapsed)
	}
}
