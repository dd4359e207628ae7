package site

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
)

// signal wakes the loop to re-plan now.
func (s *Site) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// tripTargets is the running machines the trip may drop (apply keeps it).
func (s *Site) tripTargets() []TripTarget {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.targets)
}

// onTrip records a trip or reset and wakes the loop, which plans the
// tripped machines asleep until the reset.
func (s *Site) onTrip(ev TripEvent) {
	s.mu.Lock()
	s.snap.Trip = ev
	if ev.Reset {
		s.clearLocked(AlertTrip)
	} else {
		s.raiseLocked(AlertTrip, fmt.Sprintf("under-frequency trip at %.2f Hz: %d machines held asleep until frequency recovers", ev.Frequency, ev.Machines), ev.At)
	}
	s.mu.Unlock()
	if b, err := json.Marshal(ev); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.deps.Store.PutObject(ctx, "grid.trips", ev.At.UTC().Format(time.RFC3339Nano), b, ev.At); err != nil {
			s.log.Error("store the under-frequency trip", "err", err)
		}
		cancel()
	}
	if s.deps.OnTrip != nil {
		s.deps.OnTrip(ev)
	}
	s.signal()
}

// gridConstraint is what the grid's events in force at now ask.
func (s *Site) gridConstraint(now time.Time) demand.Constraint {
	if s.deps.Demand == nil {
		return demand.Constraint{}
	}
	tiers := s.cfg.Tiers
	if tiers == nil {
		full := s.cfg.SiteCap
		if full <= 0 {
			for _, u := range s.units {
				full += withOverhead(u.caps, s.cfg.Overhead).NominalPower
			}
		}
		tiers = demand.DefaultTiers(full)
	}
	return demand.Resolve(s.deps.Demand.Events(), now, tiers)
}

// capPlan keeps a fail-safe plan under in.SiteCap: running machines are
// put to sleep, least efficient first, until the planned draw fits.
func (s *Site) capPlan(in dispatch.Inputs, plan dispatch.Plan) dispatch.Plan {
	type run struct {
		i   int
		w   energy.Power
		eff energy.Efficiency
	}
	var total energy.Power
	var runs []run
	for i, up := range plan.Units {
		c := in.Units[i].Caps
		w := powerOf(c, up.Setpoint)
		total += w
		if up.Setpoint.Mode == miner.ModeRun {
			runs = append(runs, run{i, w - c.SleepPower, c.NominalEfficiency()})
		}
	}
	slices.SortStableFunc(runs, func(a, b run) int { return cmp.Compare(b.eff, a.eff) })
	for _, r := range runs {
		if total <= in.SiteCap {
			break
		}
		plan.Units[r.i].Setpoint, plan.Units[r.i].Reason = miner.Sleep(), fmt.Sprintf("grid cap %s", in.SiteCap)
		total -= r.w
	}
	plan.Reason += fmt.Sprintf("; kept under the grid cap %s", in.SiteCap)
	return plan
}
