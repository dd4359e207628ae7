package avalon

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
)

// Estats is what the driver reads from the bracketed "MM ID<n>" string of
// an Avalon estats reply. Fields absent from the string are zero with
// their Has flag false. Raw holds every Key[value] pair as found (the
// first occurrence of a key wins).
type Estats struct {
	Ver string
	// WorkState is SYSTEMSTATU's "Work:" part ("In Work", "In Idle").
	WorkState  string
	HashBoards int // SYSTEMSTATU's "Hash Board:" count

	SoftOff    bool // SoftOFF[1]
	HasSoftOff bool

	// PS is [err vctrl vhash I_A P_W vset]; BoardWatts is its P_W: watts
	// the PSU delivers to the hash boards (not the control board or fans).
	PS         []int64
	BoardWatts float64
	HasPS      bool
	// WallPower is WALLPOWER (newer firmware): input power in watts.
	WallPower    float64
	HasWallPower bool
	// MPO is the power the current work mode aims at, watts.
	MPO      float64
	WorkMode int
	HasMode  bool

	GHSspd, GHSmm, GHSavg float64
	TMax, TAvg, Temp      float64
	Fans                  []int // Fan1, Fan2, ... in order
	FanPct                int   // FanR
	MGHS                  []float64
	Elapsed               int64

	Raw map[string]string
}

// ParseEstats parses an "MM ID" string:
//
//	Ver[1366-...] DNA[...] SYSTEMSTATU[Work: In Work, Hash Board: 3 ] ... PS[0 1196 1284 230 2953 1284] ...
//
// It is tolerant: unknown keys are kept in Raw, malformed values are
// skipped, a key without a closing bracket ends the scan. It never fails.
func ParseEstats(s string) Estats {
	e := Estats{Raw: map[string]string{}}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t\r\n")
		open := strings.IndexByte(s, '[')
		if open < 0 {
			break
		}
		key := s[:open]
		if sp := strings.LastIndexAny(key, " \t"); sp >= 0 {
			key = key[sp+1:] // stray words before the key
		}
		end := strings.IndexByte(s[open+1:], ']')
		if end < 0 {
			break
		}
		val := s[open+1 : open+1+end]
		s = s[open+1+end+1:]
		if key == "" {
			continue
		}
		if _, dup := e.Raw[key]; !dup {
			e.Raw[key] = val
		}
	}
	e.Ver = e.Raw["Ver"]
	if v, ok := e.Raw["SYSTEMSTATU"]; ok {
		for _, part := range strings.Split(v, ",") {
			k, val, _ := strings.Cut(part, ":")
			switch strings.TrimSpace(k) {
			case "Work":
				e.WorkState = strings.TrimSpace(val)
			case "Hash Board":
				e.HashBoards, _ = strconv.Atoi(strings.TrimSpace(val))
			}
		}
	}
	if v, ok := e.Raw["SoftOFF"]; ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			e.SoftOff, e.HasSoftOff = n != 0, true
		}
	}
	if v, ok := e.Raw["PS"]; ok {
		for _, w := range strings.Fields(v) {
			n, err := strconv.ParseInt(w, 10, 64)
			if err != nil {
				e.PS = nil
				break
			}
			e.PS = append(e.PS, n)
		}
		if len(e.PS) >= 5 && e.PS[4] >= 0 {
			e.BoardWatts, e.HasPS = float64(e.PS[4]), true
		}
	}
	e.WallPower, e.HasWallPower = num(e.Raw, "WALLPOWER")
	e.MPO, _ = num(e.Raw, "MPO")
	if v, ok := num(e.Raw, "WORKMODE"); ok && v < 1e6 {
		e.WorkMode, e.HasMode = int(v), true
	}
	e.GHSspd, _ = num(e.Raw, "GHSspd")
	e.GHSmm, _ = num(e.Raw, "GHSmm")
	e.GHSavg, _ = num(e.Raw, "GHSavg")
	e.TMax, _ = num(e.Raw, "TMax")
	e.TAvg, _ = num(e.Raw, "TAvg")
	e.Temp, _ = num(e.Raw, "Temp")
	if v, ok := num(e.Raw, "Elapsed"); ok && v < 1e12 {
		e.Elapsed = int64(v)
	}
	if v, ok := e.Raw["FanR"]; ok {
		if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), "%")); err == nil && n >= 0 {
			e.FanPct = n
		}
	}
	for n := 1; ; n++ {
		v, ok := num(e.Raw, "Fan"+strconv.Itoa(n))
		if !ok || v > 1e6 {
			break
		}
		e.Fans = append(e.Fans, int(v))
	}
	if v, ok := e.Raw["MGHS"]; ok {
		for _, w := range strings.Fields(v) {
			x, err := strconv.ParseFloat(w, 64)
			if err != nil || !finite(x) || x < 0 {
				e.MGHS = nil
				break
			}
			e.MGHS = append(e.MGHS, x)
		}
	}
	return e
}

// num parses Raw[k] as a finite non-negative number.
func num(raw map[string]string, k string) (float64, bool) {
	v, ok := raw[k]
	if !ok {
		return 0, false
	}
	return numVal(v)
}

// numVal parses v as a finite non-negative number.
func numVal(v string) (float64, bool) {
	x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || !finite(x) || x < 0 {
		return 0, false
	}
	return x, true
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// reading is one parsed summary+estats reply.
type reading struct {
	when int64 // the miner's clock (STATUS When), unix seconds
	e    Estats

	mhs30s, mhsAv float64 // MH/s from summary
	hasMHS        bool
	elapsed       int64
	accepted      uint64
	rejected      uint64
}

// summaryWire is the part of SUMMARY the driver reads.
type summaryWire struct {
	Elapsed  *float64 `json:"Elapsed"`
	MHSav    *float64 `json:"MHS av"`
	MHS30s   *float64 `json:"MHS 30s"`
	MHS5s    *float64 `json:"MHS 5s"`
	MHS1m    *float64 `json:"MHS 1m"`
	Accepted *float64 `json:"Accepted"`
	Rejected *float64 `json:"Rejected"`
}

// versionWire is the part of VERSION the driver reads.
type versionWire struct {
	CGMiner string `json:"CGMiner"`
	PROD    string `json:"PROD"`
	MODEL   string `json:"MODEL"`
	SWTYPE  string `json:"SWTYPE"`
	VERSION string `json:"VERSION"`
}

// decodeEstats joins the "MM ID<n>" strings of a STATS section (several
// modules are joined with a space, in key order) and parses them.
func decodeEstats(r cgminer.Reply) (Estats, int64, error) {
	var stats []map[string]json.RawMessage
	if err := r.Decode("STATS", &stats); err != nil {
		return Estats{}, 0, err
	}
	var keys []string
	var elapsed int64
	mm := map[string]string{}
	for _, st := range stats {
		for k, v := range st {
			if !strings.HasPrefix(k, "MM ID") {
				continue
			}
			var str string
			if err := json.Unmarshal(v, &str); err != nil {
				continue
			}
			if _, dup := mm[k]; !dup {
				keys = append(keys, k)
			}
			mm[k] = str
		}
		if raw, ok := st["Elapsed"]; ok && elapsed == 0 {
			var f float64
			if json.Unmarshal(raw, &f) == nil && finite(f) && f >= 0 && f < 1e12 {
				elapsed = int64(f)
			}
		}
	}
	if len(keys) == 0 {
		return Estats{}, 0, fmt.Errorf("estats: no MM ID string: %w", miner.ErrProtocol)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for n, k := range keys {
		parts[n] = mm[k]
	}
	return ParseEstats(strings.Join(parts, " ")), elapsed, nil
}

// parseReading parses the JSON reply to "summary+estats": the fast path
// (fastparse.go) when it handles the reply, else the reference.
func parseReading(body []byte) (reading, error) {
	if rd, ok := parseReadingFast(body); ok {
		return rd, nil
	}
	return parseReadingReference(body)
}

// parseReadingReference parses the JSON reply to "summary+estats" with
// encoding/json; it defines what a reply means.
func parseReadingReference(body []byte) (reading, error) {
	rs, err := cgminer.ParseJoined(body)
	if err != nil {
		return reading{}, err
	}
	sr, ok1 := rs["summary"]
	er, ok2 := rs["estats"]
	if !ok1 || !ok2 {
		return reading{}, fmt.Errorf("joined reply lacks summary or estats: %w", miner.ErrProtocol)
	}
	for _, r := range []cgminer.Reply{sr, er} {
		if err := r.Err(); err != nil {
			return reading{}, err
		}
	}
	var rd reading
	rd.when = er.Status[0].When
	var e Estats
	if e, rd.elapsed, err = decodeEstats(er); err != nil {
		return reading{}, err
	}
	rd.e = e
	var sum []summaryWire
	if err := sr.Decode("SUMMARY", &sum); err != nil {
		return reading{}, err
	}
	if len(sum) == 0 {
		return reading{}, fmt.Errorf("SUMMARY section empty: %w", miner.ErrProtocol)
	}
	w := sum[0]
	get := func(p *float64) (float64, bool) {
		if p == nil || !finite(*p) || *p < 0 {
			return 0, false
		}
		return *p, true
	}
	for _, p := range []*float64{w.MHS30s, w.MHS5s, w.MHS1m} {
		if v, ok := get(p); ok {
			rd.mhs30s, rd.hasMHS = v, true
			break
		}
	}
	rd.mhsAv, _ = get(w.MHSav)
	if v, ok := get(w.Elapsed); ok && v < 1e12 {
		rd.elapsed = int64(v)
	}
	if v, ok := get(w.Accepted); ok && v < 1e19 {
		rd.accepted = uint64(v)
	}
	if v, ok := get(w.Rejected); ok && v < 1e19 {
		rd.rejected = uint64(v)
	}
	return rd, nil
}

// parseCaps parses the JSON reply to "version+estats" into Capabilities.
func parseCaps(body []byte) (miner.Capabilities, error) {
	rs, err := cgminer.ParseJoined(body)
	if err != nil {
		return miner.Capabilities{}, err
	}
	vr, ok1 := rs["version"]
	er, ok2 := rs["estats"]
	if !ok1 || !ok2 {
		return miner.Capabilities{}, fmt.Errorf("joined reply lacks version or estats: %w", miner.ErrProtocol)
	}
	for _, r := range []cgminer.Reply{vr, er} {
		if err := r.Err(); err != nil {
			return miner.Capabilities{}, err
		}
	}
	var vs []versionWire
	if err := vr.Decode("VERSION", &vs); err != nil {
		return miner.Capabilities{}, err
	}
	if len(vs) == 0 {
		return miner.Capabilities{}, fmt.Errorf("VERSION section empty: %w", miner.ErrProtocol)
	}
	v := vs[0]
	e, _, err := decodeEstats(er)
	if err != nil {
		return miner.Capabilities{}, err
	}
	c := miner.Capabilities{
		Driver:        DriverName,
		Model:         v.PROD,
		CanSleep:      true,
		SleepPower:    DefaultSleepPower,
		RampDown:      DefaultRampDown,
		RampUp:        DefaultRampUp,
		PowerMeasured: e.HasWallPower || e.HasPS,
	}
	if c.Model == "" && v.MODEL != "" {
		c.Model = "Avalon " + v.MODEL
	}
	fw := []string{}
	if v.CGMiner != "" {
		fw = append(fw, "cgminer "+v.CGMiner)
	}
	for _, x := range []string{v.SWTYPE, v.VERSION} {
		if x != "" {
			fw = append(fw, x)
		}
	}
	c.Firmware = strings.Join(fw, " ")
	if c.Model == "" || c.Firmware == "" {
		return miner.Capabilities{}, fmt.Errorf("version: no model or firmware: %w", miner.ErrProtocol)
	}
	nomP := e.MPO
	if nomP <= 0 && e.HasWallPower && !e.SoftOff {
		nomP = e.WallPower
	}
	nomH := e.GHSmm / 1000
	if nomH <= 0 {
		nomH = e.GHSavg / 1000
	}
	if nomP <= 0 || nomH <= 0 {
		return miner.Capabilities{}, fmt.Errorf("estats: no nominal power (MPO %v) or hashrate (GHSmm %v): %w", e.MPO, e.GHSmm, miner.ErrProtocol)
	}
	c.NominalPower, c.NominalHashrate = energy.Power(nomP), energy.Hashrate(nomH)
	return c, nil
}

// parseAscsetReply checks the text reply to an ascset write. Avalon
// answers a scheduled softoff/softon with an info status (Code 118,
// "ASC 0 set info: success softoff:<ts>"); older firmware says "ASC 0 set
// OK" (Code 119). An info status without "success" is a refusal.
func parseAscsetReply(body []byte) (cgminer.StatusEntry, error) {
	r, err := cgminer.ParseText(body)
	if err != nil {
		return cgminer.StatusEntry{}, err
	}
	if err := r.Err(); err != nil {
		return cgminer.StatusEntry{}, err
	}
	st := r.Status[0]
	switch {
	case st.Code == codeASCSetOK:
	case st.Code == codeASCSetInfo && strings.Contains(strings.ToLower(st.Msg), "success"):
	default:
		return st, fmt.Errorf("status %s code %d: %s: %w", st.Status, st.Code, st.Msg, miner.ErrRejected)
	}
	return st, nil
}

// cgminer ascset codes (api.c MSG_ASCSETINFO, MSG_ASCSETOK).
const (
	codeASCSetInfo = 118
	codeASCSetOK   = 119
)
