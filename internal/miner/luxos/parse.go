package luxos

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
)

// Commands of the joined requests.
const (
	capsRequest   = "version+profiles+config"
	statusRequest = "summary+power+devs+fans+config"
)

// Capability defaults the firmware does not report.
const (
	sleepPower = energy.Power(25)
	rampDown   = 5 * time.Second
	rampUp     = 10 * time.Second
)

// sub checks one sub-reply of a joined reply: present and not E/F.
func sub(cmd string, n int, st func() []cgminer.StatusEntry) error {
	if n == 0 {
		return fmt.Errorf("no %s sub-reply: %w", cmd, miner.ErrProtocol)
	}
	if err := cgminer.CheckStatus(st()); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	return nil
}

// parseCaps turns the version+profiles+config reply into Capabilities and
// the default profile's name.
func parseCaps(b []byte) (miner.Capabilities, string, error) {
	var r capsReply
	if err := cgminer.Unmarshal(b, &r); err != nil {
		return miner.Capabilities{}, "", err
	}
	if len(r.Status) > 0 {
		if err := cgminer.CheckStatus(r.Status); err != nil {
			return miner.Capabilities{}, "", err
		}
	}
	if err := sub("version", len(r.Version), func() []cgminer.StatusEntry { return r.Version[0].Status }); err != nil {
		return miner.Capabilities{}, "", err
	}
	if err := sub("profiles", len(r.Profiles), func() []cgminer.StatusEntry { return r.Profiles[0].Status }); err != nil {
		return miner.Capabilities{}, "", err
	}
	if err := sub("config", len(r.Config), func() []cgminer.StatusEntry { return r.Config[0].Status }); err != nil {
		return miner.Capabilities{}, "", err
	}
	caps := miner.Capabilities{
		Driver:        "luxos",
		CanSleep:      true,
		SleepPower:    sleepPower,
		RampDown:      rampDown,
		RampUp:        rampUp,
		PowerMeasured: true,
	}
	if v := r.Version[0].Version; len(v) > 0 {
		caps.Model = v[0].Type
		caps.Firmware = "LUXminer " + v[0].LUXminer
	}
	if c := r.Config[0].Config; len(c) > 0 && caps.Model == "" {
		caps.Model = cmp.Or(c[0].Type, c[0].Model)
	}
	profiles := r.Profiles[0].Profiles
	if len(profiles) == 0 {
		return miner.Capabilities{}, "", fmt.Errorf("profiles: empty list: %w", miner.ErrProtocol)
	}
	def := ""
	for i, p := range profiles {
		if p.Name == "" {
			return miner.Capabilities{}, "", fmt.Errorf("profiles[%d]: no name: %w", i, miner.ErrProtocol)
		}
		w, err := energy.NewPower(fmt.Sprintf("profiles[%d] Watts", i), p.Watts)
		if err != nil || w <= 0 {
			return miner.Capabilities{}, "", fmt.Errorf("profiles[%d] %q: watts %v: %w", i, p.Name, p.Watts, miner.ErrProtocol)
		}
		h, err := energy.NewHashrate(fmt.Sprintf("profiles[%d] Hashrate", i), p.Hashrate)
		if err != nil || h < 0 {
			return miner.Capabilities{}, "", fmt.Errorf("profiles[%d] %q: hashrate %v: %w", i, p.Name, p.Hashrate, miner.ErrProtocol)
		}
		caps.PowerSteps = append(caps.PowerSteps, miner.PowerStep{Name: p.Name, Power: w, Hashrate: h})
		if p.Name == "default" || (def == "" && (p.Step == "0" || p.Step == "+0")) {
			def = p.Name
		}
	}
	slices.SortStableFunc(caps.PowerSteps, func(a, b miner.PowerStep) int { return cmp.Compare(a.Power, b.Power) })
	caps.MinPower = caps.PowerSteps[0].Power
	caps.MaxPower = caps.PowerSteps[len(caps.PowerSteps)-1].Power
	if def == "" {
		def = caps.PowerSteps[len(caps.PowerSteps)-1].Name
	}
	for _, s := range caps.PowerSteps {
		if s.Name == def {
			caps.NominalPower, caps.NominalHashrate = s.Power, s.Hashrate
		}
	}
	return caps, def, nil
}

// defaultProfile picks the default profile from known capabilities: the
// step named "default", else the one at NominalPower, else the highest.
func defaultProfile(caps miner.Capabilities) string {
	for _, s := range caps.PowerSteps {
		if s.Name == "default" {
			return s.Name
		}
	}
	for _, s := range caps.PowerSteps {
		if s.Power == caps.NominalPower {
			return s.Name
		}
	}
	if n := len(caps.PowerSteps); n > 0 {
		return caps.PowerSteps[n-1].Name
	}
	return ""
}

// parseStatus maps the status reply onto miner.Status (Time not set). It
// tries the allocation-light scanner (parseStatusFast) first and falls
// back to parseStatusReference, which defines the result, on anything the
// scanner does not handle, including every error.
func parseStatus(b []byte, caps miner.Capabilities) (miner.Status, error) {
	if st, ok := parseStatusFast(b, caps); ok {
		return st, nil
	}
	return parseStatusReference(b, caps)
}

// parseStatusReference is the tolerant reference decoder of the status
// reply: cgminer.Unmarshal (which repairs firmware quirks) into the wire
// structs.
func parseStatusReference(b []byte, caps miner.Capabilities) (miner.Status, error) {
	var r statusReply
	if err := cgminer.Unmarshal(b, &r); err != nil {
		return miner.Status{}, err
	}
	if len(r.Status) > 0 {
		if err := cgminer.CheckStatus(r.Status); err != nil {
			return miner.Status{}, err
		}
	}
	checks := []struct {
		cmd string
		n   int
		st  func() []cgminer.StatusEntry
	}{
		{"summary", len(r.Summary), func() []cgminer.StatusEntry { return r.Summary[0].Status }},
		{"power", len(r.Power), func() []cgminer.StatusEntry { return r.Power[0].Status }},
		{"devs", len(r.Devs), func() []cgminer.StatusEntry { return r.Devs[0].Status }},
		{"fans", len(r.Fans), func() []cgminer.StatusEntry { return r.Fans[0].Status }},
		{"config", len(r.Config), func() []cgminer.StatusEntry { return r.Config[0].Status }},
	}
	for _, c := range checks {
		if err := sub(c.cmd, c.n, c.st); err != nil {
			return miner.Status{}, err
		}
	}
	if len(r.Summary[0].Summary) == 0 || len(r.Power[0].Power) == 0 || len(r.Config[0].Config) == 0 {
		return miner.Status{}, fmt.Errorf("SUMMARY, POWER or CONFIG section empty: %w", miner.ErrProtocol)
	}
	sm, pw, cf := r.Summary[0].Summary[0], r.Power[0].Power[0], r.Config[0].Config[0]
	for _, v := range []struct {
		what string
		v    float64
	}{{"power Watts", pw.Watts}, {"summary GHS 5s", sm.GHS5s}, {"summary GHS av", sm.GHSav}, {"summary Elapsed", sm.Elapsed}} {
		if err := energy.Check(v.what, v.v); err != nil || v.v < 0 {
			return miner.Status{}, fmt.Errorf("%s = %v: %w", v.what, v.v, miner.ErrProtocol)
		}
	}
	st := miner.Status{
		Power:       energy.Power(pw.Watts),
		Profile:     cf.Profile,
		Hashrate:    energy.Hashrate(sm.GHS5s / 1000),
		HashrateAvg: energy.Hashrate(sm.GHSav / 1000),
		Uptime:      time.Duration(sm.Elapsed * float64(time.Second)),
		Accepted:    uint64(max(sm.Accepted, 0)),
		Rejected:    uint64(max(sm.Rejected, 0)),
	}
	for _, s := range caps.PowerSteps {
		if s.Name == cf.Profile {
			st.PowerTarget = s.Power
		}
	}
	ramping, hashing := false, false
	st.TempMaxC = math.Inf(-1)
	for _, d := range r.Devs[0].Devs {
		st.Boards++
		if d.Status == "Alive" && d.MHS5s > 0 {
			st.BoardsActive++
		}
		hashing = hashing || d.MHS5s > 0
		ramping = ramping || d.IsRamping
		if !math.IsNaN(d.Temperature) && d.Temperature > st.TempMaxC {
			st.TempMaxC = d.Temperature
		}
	}
	if st.Boards == 0 {
		st.TempMaxC = 0
	}
	for _, f := range r.Fans[0].Fans {
		st.FanRPM = append(st.FanRPM, int(max(f.RPM, 0)))
	}
	hashing = hashing || st.Hashrate > 0
	switch {
	case cf.CurtailMode == "Sleep" && hashing:
		st.State = miner.StateRampingDown
	case cf.CurtailMode == "Sleep":
		st.State = miner.StateSleeping
	case cf.CurtailMode != "" && cf.CurtailMode != "None":
		st.State = miner.StateUnknown
	case ramping || !hashing:
		st.State = miner.StateWaking
	default:
		st.State = miner.StateMining
	}
	return st, nil
}
