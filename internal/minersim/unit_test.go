package minersim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/miner"
)

func testUnit(t *testing.T, model string, asleep bool) (*Miner, *fakeClock) {
	t.Helper()
	m, err := ModelByName(model)
	if err != nil {
		t.Fatal(err)
	}
	clk := newFakeClock()
	return newMiner(0, MinerSpec{Model: model, Seed: 1}, m, clk, DefaultWakeRamp, DefaultSleepRamp, asleep), clk
}

// call serves one JSON request in process and decodes the reply.
func call(t *testing.T, u *Miner, command, param string) map[string]any {
	t.Helper()
	req, _ := json.Marshal(map[string]string{"command": command, "parameter": param})
	out := u.serve(nil, req)
	if len(out) == 0 || out[len(out)-1] != 0 {
		t.Fatalf("%s: reply not NUL-terminated: %q", command, out)
	}
	var v map[string]any
	if err := json.Unmarshal(out[:len(out)-1], &v); err != nil {
		t.Fatalf("%s: reply is not JSON: %v\n%s", command, err, out)
	}
	return v
}

func status(v map[string]any) (string, int) {
	st := v["STATUS"].([]any)[0].(map[string]any)
	return st["STATUS"].(string), int(st["Code"].(float64))
}

func logon(t *testing.T, u *Miner) string {
	t.Helper()
	v := call(t, u, "logon", "")
	if s, code := status(v); s != "S" || code != codeSessionCreated {
		t.Fatalf("logon: %s %d", s, code)
	}
	return v["SESSION"].([]any)[0].(map[string]any)["SessionID"].(string)
}

func TestSleepRampAndWake(t *testing.T) {
	u, clk := testUnit(t, "S19j Pro", false)
	full := u.Snapshot()
	if full.State != miner.StateMining || full.Power < 2800 || full.Hashrate < 95 {
		t.Fatalf("start: %+v", full)
	}
	sid := logon(t, u)
	if s, code := status(call(t, u, "curtail", sid+",sleep")); s != "S" || code != codeCurtail {
		t.Fatalf("curtail sleep: %s %d", s, code)
	}
	steps := []struct {
		after     time.Duration
		state     miner.State
		minW      float64
		maxW      float64
		hashAbove float64
	}{
		{0, miner.StateRampingDown, 2800, 3300, 90},
		{2500 * time.Millisecond, miner.StateRampingDown, 1300, 1800, 40},
		{2500 * time.Millisecond, miner.StateSleeping, 24, 26, -1},
		{time.Hour, miner.StateSleeping, 24, 26, -1},
	}
	for i, st := range steps {
		clk.Advance(st.after)
		got := u.Snapshot()
		if got.State != st.state || float64(got.Power) < st.minW || float64(got.Power) > st.maxW {
			t.Errorf("sleep step %d: got %s %.0f W, want %s in [%v, %v]", i, got.State, got.Power, st.state, st.minW, st.maxW)
		}
		if st.hashAbove < 0 && got.Hashrate != 0 {
			t.Errorf("sleep step %d: hashrate %v, want 0", i, got.Hashrate)
		}
	}
	if s := u.Snapshot(); s.FanRPM[0] != 0 || s.ChipTempC > 26 {
		t.Errorf("asleep for an hour: fans %v chip %.1f °C, want 0 rpm and ambient", s.FanRPM, s.ChipTempC)
	}
	// Sleep is visible in read replies where LuxOS puts it.
	cfg := call(t, u, "config", "")["CONFIG"].([]any)[0].(map[string]any)
	if cfg["CurtailMode"] != "Sleep" || cfg["IsPowerSupplyOn"] != false {
		t.Errorf("config asleep: CurtailMode %v IsPowerSupplyOn %v", cfg["CurtailMode"], cfg["IsPowerSupplyOn"])
	}
	pw := call(t, u, "power", "")["POWER"].([]any)[0].(map[string]any)
	if pw["Watts"] != 25.0 {
		t.Errorf("power asleep: %v W, want 25", pw["Watts"])
	}

	clk.Advance(30 * time.Second) // session expired: need a new one
	sid = logon(t, u)
	call(t, u, "curtail", sid+",wakeup")
	var prev float64
	for i := range 5 {
		got := u.Snapshot()
		if got.State != miner.StateWaking || float64(got.Power) <= prev {
			t.Errorf("wake step %d: %s %.0f W, want waking and rising above %.0f", i, got.State, got.Power, prev)
		}
		prev = float64(got.Power)
		clk.Advance(2 * time.Second)
	}
	got := u.Snapshot()
	if got.State != miner.StateMining || got.Power != full.Power || got.Hashrate != full.Hashrate {
		t.Errorf("after wake ramp: %s %.0f W %.1f TH/s, want mining %.0f W %.1f TH/s", got.State, got.Power, got.Hashrate, full.Power, full.Hashrate)
	}
	d := call(t, u, "devs", "")["DEVS"].([]any)[0].(map[string]any)
	if d["Status"] != "Alive" {
		t.Errorf("devs after wake: Status %v", d["Status"])
	}
}

func TestProfileSet(t *testing.T) {
	tests := []struct {
		sel     string
		want    string
		wantErr bool
	}{
		{"495MHz", "495MHz", false},
		{"-2", "495MHz", false},
		{"+1", "570MHz", false},
		{"default", "default", false},
		{"2000W", "", false}, // resolved below: highest profile under 2 kW
		{"90THs", "", false},
		{"nonsense", "", true},
		{"+40", "", true},
		{"1W", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			u, clk := testUnit(t, "S19j Pro", false)
			before := u.Snapshot()
			sid := logon(t, u)
			v := call(t, u, "profileset", sid+","+tt.sel)
			s, code := status(v)
			if tt.wantErr {
				if s != "E" || code != codeProfileInvalid {
					t.Fatalf("profileset %s: %s %d, want E %d", tt.sel, s, code, codeProfileInvalid)
				}
				return
			}
			if s != "S" || code != codeProfileSet {
				t.Fatalf("profileset %s: %s %d", tt.sel, s, code)
			}
			name := v["PROFILE"].([]any)[0].(map[string]any)["Profile"].(string)
			if tt.want != "" && name != tt.want {
				t.Errorf("profile %q, want %q", name, tt.want)
			}
			clk.Advance(time.Minute)
			got := u.Snapshot()
			if got.Profile != name || got.Power != got.ProfilePower || got.Hashrate != got.ProfileHashrate {
				t.Errorf("after ramp: %+v", got)
			}
			switch tt.sel {
			case "2000W":
				if got.Power > 2000 || got.Power < 1700 {
					t.Errorf("2000W selector: runs at %v", got.Power)
				}
			case "90THs":
				if got.Hashrate > 90 || got.Hashrate < 84 {
					t.Errorf("90THs selector: runs at %v", got.Hashrate)
				}
			case "-2":
				if got.Power >= before.Power || got.Hashrate >= before.Hashrate {
					t.Errorf("-2: %v %v not below %v %v", got.Power, got.Hashrate, before.Power, before.Hashrate)
				}
			}
			cfg := call(t, u, "config", "")["CONFIG"].([]any)[0].(map[string]any)
			if cfg["Profile"] != name {
				t.Errorf("config Profile %v, want %s", cfg["Profile"], name)
			}
		})
	}
}

func TestSessionRules(t *testing.T) {
	u, clk := testUnit(t, "S21", false)
	if v := call(t, u, "session", ""); v["SESSION"].([]any)[0].(map[string]any)["SessionID"] != "" {
		t.Errorf("no session yet: %v", v)
	}
	if s, code := status(call(t, u, "curtail", "nosuchid,sleep")); s != "E" || code != codeSessionInvalid {
		t.Errorf("write without session: %s %d, want E %d", s, code, codeSessionInvalid)
	}
	if s, code := status(call(t, u, "curtail", "")); s != "E" || code != codeSessionInvalid {
		t.Errorf("write without parameter: %s %d", s, code)
	}
	if got := u.Snapshot().State; got != miner.StateMining {
		t.Fatalf("refused write changed state to %s", got)
	}
	sid := logon(t, u)
	if len(sid) != 8 {
		t.Errorf("session id %q: want 8 characters", sid)
	}
	if s, code := status(call(t, u, "logon", "")); s != "E" || code != codeSessionExists {
		t.Errorf("second logon: %s %d, want E %d", s, code, codeSessionExists)
	}
	// A second client reuses the live session through `session`.
	got := call(t, u, "session", "")["SESSION"].([]any)[0].(map[string]any)["SessionID"]
	if got != sid {
		t.Errorf("session = %v, want %s", got, sid)
	}
	// Use refreshes: 50 s + 50 s with a write in between stays live.
	clk.Advance(50 * time.Second)
	if s, _ := status(call(t, u, "atmset", sid+",enabled=false")); s != "S" {
		t.Errorf("atmset within ttl: %s", s)
	}
	if u.Snapshot().ATM {
		t.Error("atmset enabled=false did not disable ATM")
	}
	clk.Advance(50 * time.Second)
	if s, _ := status(call(t, u, "atmset", sid+",enabled=true")); s != "S" {
		t.Errorf("atmset after refresh: %s", s)
	}
	// 60 s idle expires it.
	clk.Advance(60 * time.Second)
	if s, code := status(call(t, u, "curtail", sid+",sleep")); s != "E" || code != codeSessionInvalid {
		t.Errorf("write after expiry: %s %d, want E %d", s, code, codeSessionInvalid)
	}
	if v := call(t, u, "session", ""); v["SESSION"].([]any)[0].(map[string]any)["SessionID"] != "" {
		t.Errorf("expired session still reported: %v", v)
	}
	sid2 := logon(t, u)
	if s, _ := status(call(t, u, "logoff", sid2)); s != "S" {
		t.Errorf("logoff: %s", s)
	}
	if s, code := status(call(t, u, "profileset", sid2+",default")); code != codeSessionInvalid {
		t.Errorf("write after logoff: %s %d", s, code)
	}
	logon(t, u) // logon works again after logoff
}

func TestDeadBoard(t *testing.T) {
	u, _ := testUnit(t, "S19 XP", false)
	before := u.Snapshot()
	u.SetFault(FaultDeadBoard)
	got := u.Snapshot()
	sleepW := float64(u.model.SleepPower)
	wantP := sleepW + (float64(before.Power)-sleepW)*2/3
	if d := float64(got.Power) - wantP; d > 1 || d < -1 {
		t.Errorf("dead board power %v, want %.0f", got.Power, wantP)
	}
	if d := float64(got.Hashrate) - float64(before.Hashrate)*2/3; d > 0.01 || d < -0.01 {
		t.Errorf("dead board hashrate %v, want 2/3 of %v", got.Hashrate, before.Hashrate)
	}
	if got.BoardsActive != 2 {
		t.Errorf("boards active %d, want 2", got.BoardsActive)
	}
	devs := call(t, u, "devs", "")["DEVS"].([]any)
	var dead int
	for _, d := range devs {
		if d.(map[string]any)["Status"] == "Dead" {
			dead++
		}
	}
	if dead != 1 {
		t.Errorf("devs reports %d dead boards, want 1", dead)
	}
}

func TestSharesAndTemperaturesFollowHashrate(t *testing.T) {
	u, clk := testUnit(t, "S19j Pro", false)
	clk.Advance(time.Hour)
	s := u.Snapshot()
	// 1 h at ~104 TH/s at difficulty 65536: hashes / (2^32 · 65536).
	want := float64(s.Hashrate) * 3600 * 1e12 / (twoTo32 * shareDiff)
	if d := float64(s.Accepted) - want; d > want*0.01 || d < -want*0.01 {
		t.Errorf("accepted %d after 1 h, want ≈%.0f", s.Accepted, want)
	}
	if s.ChipTempC < 55 || s.ChipTempC > 80 || s.FanRPM[0] < minFanRPM {
		t.Errorf("mining: chip %.1f °C fans %v", s.ChipTempC, s.FanRPM)
	}
	sum := call(t, u, "summary", "")["SUMMARY"].([]any)[0].(map[string]any)
	if int(sum["Accepted"].(float64)) != int(s.Accepted) || sum["Elapsed"].(float64) != 3600 {
		t.Errorf("summary Accepted %v Elapsed %v, want %d and 3600", sum["Accepted"], sum["Elapsed"], s.Accepted)
	}
	if ghs := sum["GHS 5s"].(float64); ghs < float64(s.Hashrate)*999 || ghs > float64(s.Hashrate)*1001 {
		t.Errorf("GHS 5s %v, want %v TH/s in GH/s", ghs, s.Hashrate)
	}
	hot := s.ChipTempC
	sid := logon(t, u)
	call(t, u, "curtail", sid+",sleep")
	clk.Advance(2 * time.Minute)
	cool := u.Snapshot()
	if cool.ChipTempC >= hot-10 || cool.Accepted < s.Accepted {
		t.Errorf("asleep 2 min: chip %.1f (was %.1f), accepted %d (was %d)", cool.ChipTempC, hot, cool.Accepted, s.Accepted)
	}
	clk.Advance(time.Hour)
	if got := u.Snapshot().Accepted; got != cool.Accepted {
		t.Errorf("shares grew while asleep: %d -> %d", cool.Accepted, got)
	}
}

func TestTextForm(t *testing.T) {
	u, _ := testUnit(t, "S21", false)
	out := string(u.serve(nil, []byte("power")))
	if !strings.HasPrefix(out, "STATUS=S,When=") || !strings.Contains(out, ",Code=311,Msg=Power usage,Description=LUXminer ") ||
		!strings.Contains(out, "|POWER,PSU=false,Watts=") || !strings.HasSuffix(out, "|\x00") {
		t.Errorf("text power reply: %q", out)
	}
	out = string(u.serve(nil, []byte("nosuch|1")))
	if !strings.HasPrefix(out, "STATUS=E,") || !strings.Contains(out, "Code=14,Msg=Invalid command") {
		t.Errorf("text unknown command: %q", out)
	}
	out = string(u.serve(nil, []byte("summary+power")))
	if !strings.HasPrefix(out, "CMD=summary|STATUS=S,") || !strings.Contains(out, "|CMD=power|STATUS=S,") {
		t.Errorf("text joined: %q", out)
	}
}

func TestRampVisibleInReplies(t *testing.T) {
	u, clk := testUnit(t, "S21", false)
	sid := logon(t, u)
	call(t, u, "curtail", sid+",sleep")
	var prevW, prevGHS = 1e9, 1e9
	for i := range 3 {
		clk.Advance(time.Second)
		w := call(t, u, "power", "")["POWER"].([]any)[0].(map[string]any)["Watts"].(float64)
		ghs := call(t, u, "summary", "")["SUMMARY"].([]any)[0].(map[string]any)["GHS 5s"].(float64)
		d := call(t, u, "devs", "")["DEVS"].([]any)[0].(map[string]any)
		cfg := call(t, u, "config", "")["CONFIG"].([]any)[0].(map[string]any)
		if !(w < prevW && ghs < prevGHS && w > 25 && ghs > 0) {
			t.Errorf("ramp step %d: %v W, %v GH/s; want both falling from %v, %v and above sleep", i, w, ghs, prevW, prevGHS)
		}
		if d["IsRamping"] != true || d["Status"] != "Alive" || cfg["CurtailMode"] != "Sleep" || cfg["IsPowerSupplyOn"] != true {
			t.Errorf("ramp step %d: IsRamping %v Status %v CurtailMode %v PSU %v", i, d["IsRamping"], d["Status"], cfg["CurtailMode"], cfg["IsPowerSupplyOn"])
		}
		prevW, prevGHS = w, ghs
	}
}

// TestIgnoreSleepLies: a miner with FaultIgnoreSleep reports itself asleep
// at sleep power once the ramp is over, while a meter (ActualPower) still
// sees its mining draw; a wake clears the lie.
func TestIgnoreSleepLies(t *testing.T) {
	u, clk := testUnit(t, "S19 XP", false)
	mining := u.ActualPower()
	u.SetFault(FaultIgnoreSleep)
	u.mu.Lock()
	u.sleep(u.now())
	u.mu.Unlock()
	clk.Advance(DefaultSleepRamp + time.Second)
	snap := u.Snapshot()
	if snap.State != miner.StateSleeping || snap.Power > u.model.SleepPower+1 {
		t.Errorf("reported %s at %v, want sleeping at sleep power", snap.State, snap.Power)
	}
	if got := u.ActualPower(); got < mining-1 {
		t.Errorf("actual draw %v, want still about %v", got, mining)
	}
	u.mu.Lock()
	u.wake(u.now())
	u.mu.Unlock()
	clk.Advance(DefaultWakeRamp + time.Second)
	if got := u.ActualPower(); got > mining+1 || got < mining-1 || u.Snapshot().Power < mining-1 {
		t.Errorf("after wake: actual %v reported %v, want both %v", got, u.Snapshot().Power, mining)
	}
}
