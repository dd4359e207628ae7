package antminer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
)

// RPC requests (joined report commands; bmminer's api is cgminer's, so it
// answers "a+b" with one sub-reply per command).
const (
	capsRequest   = "version+stats"
	statusRequest = "summary+stats"
)

// maxChains bounds the chain_rateN / temp_chipN keys scanned.
const maxChains = 16

// versionInfo is what `version` says.
type versionInfo struct {
	Type     string // "Antminer S19j Pro"
	BMMiner  string // "1.0.0"
	Compiled string // CompileTime
}

// telemetry is what summary and stats say.
type telemetry struct {
	GHS5s, GHSAv float64 // GH/s
	Elapsed      float64 // s
	Accepted     uint64
	Rejected     uint64
	IdealGHS     float64 // total_rateideal, GH/s; 0 if not reported
	Boards       int
	BoardsActive int
	TempMaxC     float64
	FanRPM       []int
	FreqMHz      float64
}

// num reads a JSON number, or a number written as a string (bmminer
// writes chain rates, and on older firmware GHS 5s, as strings). Empty
// strings, null and non-finite values are not numbers.
func num(raw json.RawMessage) (float64, bool) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return 0, false
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return f, !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, false
	}
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// field reads key of an object as a number; ok is false if absent or not
// a number.
func field(o map[string]json.RawMessage, key string) (float64, bool) {
	raw, found := o[key]
	if !found {
		return 0, false
	}
	return num(raw)
}

// nonNeg reads a number that must be finite and non-negative when present.
func nonNeg(o map[string]json.RawMessage, key string) (float64, error) {
	raw, found := o[key]
	if !found {
		return 0, nil
	}
	f, ok := num(raw)
	if !ok || f < 0 {
		return 0, fmt.Errorf("%s = %s: %w", key, truncate(string(raw)), miner.ErrProtocol)
	}
	return f, nil
}

// subReply returns the checked sub-reply of cmd.
func subReply(rs map[string]cgminer.Reply, cmd string) (cgminer.Reply, error) {
	r, ok := rs[cmd]
	if !ok {
		return cgminer.Reply{}, fmt.Errorf("no %s sub-reply: %w", cmd, miner.ErrProtocol)
	}
	if err := r.Err(); err != nil {
		return cgminer.Reply{}, fmt.Errorf("%s: %w", cmd, err)
	}
	return r, nil
}

// objects decodes a section into its objects.
func objects(r cgminer.Reply, section string) ([]map[string]json.RawMessage, error) {
	var out []map[string]json.RawMessage
	if err := r.Decode(section, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// parseVersion reads the version sub-reply.
func parseVersion(r cgminer.Reply) (versionInfo, error) {
	objs, err := objects(r, "VERSION")
	if err != nil {
		return versionInfo{}, err
	}
	if len(objs) == 0 {
		return versionInfo{}, fmt.Errorf("VERSION section empty: %w", miner.ErrProtocol)
	}
	var v versionInfo
	str := func(k string) string {
		var s string
		json.Unmarshal(objs[0][k], &s)
		return s
	}
	v.Type, v.BMMiner, v.Compiled = str("Type"), str("BMMiner"), str("CompileTime")
	if v.Type == "" {
		return versionInfo{}, fmt.Errorf("VERSION without Type: %w", miner.ErrProtocol)
	}
	return v, nil
}

// statsObject returns the STATS object holding the miner's figures: the
// one with "GHS 5s" or chain keys (STATS[1] on bmminer; STATS[0] is the
// version block).
func statsObject(r cgminer.Reply) (map[string]json.RawMessage, error) {
	objs, err := objects(r, "STATS")
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if _, ok := o["GHS 5s"]; ok {
			return o, nil
		}
		if _, ok := o["miner_count"]; ok {
			return o, nil
		}
	}
	return nil, fmt.Errorf("STATS has no miner object (%d objects): %w", len(objs), miner.ErrProtocol)
}

// parseStats fills t from the stats object.
func parseStats(o map[string]json.RawMessage, t *telemetry) error {
	var err error
	if t.IdealGHS, err = nonNeg(o, "total_rateideal"); err != nil {
		return err
	}
	if unit, ok := o["rate_unit"]; ok {
		var u string
		json.Unmarshal(unit, &u)
		switch strings.ToUpper(strings.TrimSuffix(u, "/s")) {
		case "", "GH":
		case "TH":
			t.IdealGHS *= 1000
		case "MH":
			t.IdealGHS /= 1000
		default:
			return fmt.Errorf("rate_unit %q: %w", u, miner.ErrProtocol)
		}
	}
	if t.FreqMHz, err = nonNeg(o, "frequency"); err != nil {
		return err
	}
	count, err := nonNeg(o, "miner_count")
	if err != nil {
		return err
	}
	present, active := 0, 0
	for i := 1; i <= maxChains; i++ {
		raw, ok := o["chain_rate"+strconv.Itoa(i)]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil && strings.TrimSpace(s) == "" {
			continue // an empty connector
		}
		r, ok := num(raw)
		if !ok || r < 0 {
			return fmt.Errorf("chain_rate%d = %s: %w", i, truncate(string(raw)), miner.ErrProtocol)
		}
		present++
		if r > 0 {
			active++
		}
	}
	t.Boards = present
	if c := int(min(count, maxChains)); c > present {
		t.Boards = c
	}
	t.BoardsActive = min(active, t.Boards)
	t.TempMaxC = 0
	for i := 1; i <= maxChains; i++ {
		for _, k := range []string{"temp_chip", "temp2_"} {
			raw, ok := o[k+strconv.Itoa(i)]
			if !ok {
				continue
			}
			for _, v := range tempValues(raw) {
				t.TempMaxC = max(t.TempMaxC, v)
			}
		}
	}
	fans := 0
	if f, ok := field(o, "fan_num"); ok && f > 0 {
		fans = int(min(f, maxChains))
	}
	for i := 1; i <= fans; i++ {
		f, ok := field(o, "fan"+strconv.Itoa(i))
		if !ok || f < 0 {
			f = 0
		}
		t.FanRPM = append(t.FanRPM, int(min(f, 1e6)))
	}
	return nil
}

// tempValues reads a temperature: a number, or bmminer's "a-b-c-d" string
// of the four sensor readings (zeros mean no sensor).
func tempValues(raw json.RawMessage) []float64 {
	if f, ok := num(raw); ok {
		return []float64{f}
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	var out []float64
	for part := range strings.SplitSeq(s, "-") {
		f, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err == nil && f > 0 && f < 200 {
			out = append(out, f)
		}
	}
	return out
}

// parseSummary fills t from the SUMMARY object.
func parseSummary(r cgminer.Reply, t *telemetry) error {
	objs, err := objects(r, "SUMMARY")
	if err != nil {
		return err
	}
	if len(objs) == 0 {
		return fmt.Errorf("SUMMARY section empty: %w", miner.ErrProtocol)
	}
	o := objs[0]
	for _, f := range []struct {
		key string
		dst *float64
	}{{"GHS 5s", &t.GHS5s}, {"GHS av", &t.GHSAv}, {"Elapsed", &t.Elapsed}} {
		if *f.dst, err = nonNeg(o, f.key); err != nil {
			return err
		}
	}
	acc, err := nonNeg(o, "Accepted")
	if err != nil {
		return err
	}
	rej, err := nonNeg(o, "Rejected")
	if err != nil {
		return err
	}
	t.Accepted, t.Rejected = uint64(min(acc, 1e18)), uint64(min(rej, 1e18))
	return nil
}

// parseCapsReply reads the version+stats reply.
func parseCapsReply(b []byte) (versionInfo, telemetry, error) {
	rs, err := cgminer.ParseJoined(b)
	if err != nil {
		return versionInfo{}, telemetry{}, err
	}
	vr, err := subReply(rs, "version")
	if err != nil {
		return versionInfo{}, telemetry{}, err
	}
	v, err := parseVersion(vr)
	if err != nil {
		return versionInfo{}, telemetry{}, err
	}
	var t telemetry
	sr, err := subReply(rs, "stats")
	if err != nil {
		return versionInfo{}, telemetry{}, err
	}
	o, err := statsObject(sr)
	if err != nil {
		return versionInfo{}, telemetry{}, err
	}
	if err := parseStats(o, &t); err != nil {
		return versionInfo{}, telemetry{}, err
	}
	return v, t, nil
}

// parseStatusReply reads the summary+stats reply: the fast path when it
// handles the reply, else the reference.
func parseStatusReply(b []byte) (telemetry, error) {
	if t, ok := parseStatusFast(b); ok {
		return t, nil
	}
	return parseStatusReference(b)
}

// parseStatusReference reads the summary+stats reply with encoding/json;
// it defines what a reply means (see fastparse.go).
func parseStatusReference(b []byte) (telemetry, error) {
	rs, err := cgminer.ParseJoined(b)
	if err != nil {
		return telemetry{}, err
	}
	var t telemetry
	sm, err := subReply(rs, "summary")
	if err != nil {
		return telemetry{}, err
	}
	if err := parseSummary(sm, &t); err != nil {
		return telemetry{}, err
	}
	sr, err := subReply(rs, "stats")
	if err != nil {
		return telemetry{}, err
	}
	o, err := statsObject(sr)
	if err != nil {
		return telemetry{}, err
	}
	if err := parseStats(o, &t); err != nil {
		return telemetry{}, err
	}
	if t.Elapsed == 0 {
		t.Elapsed, _ = field(o, "Elapsed")
		t.Elapsed = max(t.Elapsed, 0)
	}
	return t, nil
}

// fullFraction is the share of the ideal hashrate from which a miner
// counts as at full power: a running miner's 5 s rate wanders a few per
// cent around its ideal while its power does not.
const fullFraction = 0.95

// statusOf turns telemetry and the work mode into a Status (Time unset).
func statusOf(t telemetry, mode int, modeKnown bool, caps miner.Capabilities) miner.Status {
	st := miner.Status{
		PowerEstimated: true,
		Hashrate:       ghsToTHs(t.GHS5s),
		HashrateAvg:    ghsToTHs(t.GHSAv),
		TempMaxC:       t.TempMaxC,
		FanRPM:         t.FanRPM,
		Boards:         t.Boards,
		BoardsActive:   t.BoardsActive,
		Uptime:         time.Duration(min(t.Elapsed, 1e9) * float64(time.Second)),
		Accepted:       t.Accepted,
		Rejected:       t.Rejected,
	}
	level := caps.NominalPower // the power of the mode when hashing fully
	idealTHs := float64(caps.NominalHashrate)
	switch {
	case !modeKnown:
		st.Profile = ""
	case mode == modeSleep:
		st.Profile = "sleep"
	case mode == modeLowPower:
		st.Profile = "low"
		if s, ok := stepNamed(caps, "low"); ok {
			level, idealTHs = s.Power, float64(s.Hashrate)
		}
		st.PowerTarget = level
	default:
		st.Profile = "normal"
		st.PowerTarget = level
	}
	if t.IdealGHS > 0 {
		idealTHs = t.IdealGHS / 1000
	}
	frac := 0.0
	if idealTHs > 0 {
		frac = math.Min(float64(st.Hashrate)/idealTHs, 1)
	}
	if frac >= fullFraction {
		frac = 1
	}
	// Per working board: a dead board lowers power and hashrate together
	// but does not mean the miner is still ramping.
	boardFrac := frac
	if t.Boards > 0 && t.BoardsActive > 0 {
		boardFrac = math.Min(frac*float64(t.Boards)/float64(t.BoardsActive), 1)
	}
	hashing := st.Hashrate > 0
	sleepW := caps.SleepPower
	st.Power = sleepW + (level-sleepW)*energy.Power(frac)
	switch {
	case modeKnown && mode == modeSleep && hashing:
		st.State = miner.StateRampingDown
	case modeKnown && mode == modeSleep:
		st.State = miner.StateSleeping
		st.Power = sleepW
	case !modeKnown && !hashing:
		st.State = miner.StateUnknown
	case !modeKnown:
		st.State = miner.StateMining
	case !hashing || boardFrac < fullFraction:
		st.State = miner.StateWaking
	default:
		st.State = miner.StateMining
	}
	return st
}
