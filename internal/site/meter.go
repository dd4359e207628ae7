package site

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/fleet"
	"github.com/gridminer/gridminer/internal/miner"
)

// MeterSample is one reading of the site meter (internal/meter over
// Modbus, or a simulated one).
type MeterSample struct {
	Time time.Time
	// Import is the site's grid import in watts.
	Import energy.Power
	// Frequency is the grid frequency in Hz when HasFrequency.
	Frequency    float64
	HasFrequency bool
}

// MeterState is what the meter loop last saw, for the snapshot.
type MeterState struct {
	Sample MeterSample
	OK     bool   // the last read succeeded
	Err    string // why the last read failed
	// Expected is the draw the plan expects at the meter (plan power plus
	// Config.MeterBase); Excess the measured import above it.
	Expected, Excess energy.Power
	// Unaccounted is the import no machine reports (measured − base −
	// the machines' own reports): a miner that ignored a command or a
	// driver that lies. Plans under a cap leave it out of the cap.
	Unaccounted energy.Power
	// Shed counts machines the meter loop put to sleep this interval.
	Shed int
}

// meterTolerance is the excess the meter loop tolerates: Config's, or 1%
// of the fleet's power plus 5 kW (meter accuracy and driver estimates).
func (s *Site) meterTolerance() energy.Power {
	if s.cfg.MeterTolerance > 0 {
		return s.cfg.MeterTolerance
	}
	var full energy.Power
	for _, u := range s.units {
		full += withOverhead(u.caps, s.cfg.Overhead).NominalPower
	}
	return full/100 + 5e3
}

// checkMeter closes the loop on the site meter: when the measured import
// exceeds what the plan expects by more than the tolerance (a miner
// ignored a command, a driver lied), it puts more machines to sleep, least
// efficient first, until the meter agrees. It waits for the machines it
// shed to finish ramping before it sheds again.
func (s *Site) checkMeter(ctx context.Context) {
	if s.deps.Meter == nil {
		return
	}
	sample, err := s.deps.Meter(ctx)
	now := s.deps.Clock.Now()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("site meter unreadable", "err", err)
		s.mu.Lock()
		s.snap.Meter.OK, s.snap.Meter.Err = false, err.Error()
		s.raiseLocked(AlertMeter, "site meter unreadable: "+err.Error(), now)
		s.mu.Unlock()
		return
	}
	var reported energy.Power
	for _, u := range s.units {
		if u.lastOK.IsZero() {
			continue
		}
		reported += u.okState.Power
		if u.okState.State.Active() {
			reported += s.cfg.Overhead
		}
	}
	s.mu.RLock()
	planned := s.plan.Power
	s.mu.RUnlock()
	expected := planned + s.cfg.MeterBase
	excess := sample.Import - expected
	st := MeterState{Sample: sample, OK: true, Expected: expected, Excess: excess,
		Unaccounted: max(0, sample.Import-s.cfg.MeterBase-reported), Shed: s.meterShed}
	s.unaccounted = st.Unaccounted
	tol := s.meterTolerance()
	if excess > tol && !now.Before(s.shedSettle) {
		n, settle := s.shed(ctx, excess, fmt.Sprintf("meter: site imports %s, %s over the plan", sample.Import, excess))
		s.meterShed += n
		st.Shed = s.meterShed
		s.shedSettle = now.Add(settle)
	}
	s.mu.Lock()
	s.snap.Meter = st
	s.clearLocked(AlertMeter)
	if st.Unaccounted > tol {
		s.raiseLocked(AlertUnaccounted, fmt.Sprintf("the meter sees %s no machine reports (a miner ignoring commands or a driver misreporting)", st.Unaccounted), now)
	} else {
		s.clearLocked(AlertUnaccounted)
	}
	s.mu.Unlock()
}

// shed puts running machines to sleep, least efficient first, until their
// draw covers w, and returns how many and the longest ramp among them.
func (s *Site) shed(ctx context.Context, w energy.Power, why string) (int, time.Duration) {
	type cand struct {
		i   int
		w   energy.Power
		eff energy.Efficiency
	}
	var cands []cand
	for i, u := range s.units {
		if !u.hasDesire || u.desired.Mode != miner.ModeRun || !u.caps.CanSleep {
			continue
		}
		c := withOverhead(u.caps, s.cfg.Overhead)
		cands = append(cands, cand{i, powerOf(c, u.desired) - c.SleepPower, c.NominalEfficiency()})
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return cmp.Compare(b.eff, a.eff) })
	var cmds []fleet.Command
	var covered energy.Power
	var ramp time.Duration
	members := s.deps.Fleet.Members()
	now := s.deps.Clock.Now()
	for _, c := range cands {
		if covered >= w {
			break
		}
		u := s.units[c.i]
		u.desired, u.running, u.since = miner.Sleep(), false, now
		cmds = append(cmds, fleet.Command{ID: members[c.i].ID, Setpoint: miner.Sleep()})
		covered += c.w
		ramp = max(ramp, u.caps.RampDown)
	}
	if len(cmds) == 0 {
		s.log.Error("the site imports more than planned and nothing is left to shed", "excess", w.String())
		return 0, 0
	}
	s.log.Warn("shedding load the meter says is over the plan", "why", why, "machines", len(cmds), "covers", covered.String())
	s.execute(ctx, cmds, why)
	// Wait one ramp (and a poll, so the readings catch up) before
	// judging again.
	return len(cmds), ramp + s.cfg.PollEvery
}
