package dispatch

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
)

// capTolerance absorbs float rounding when units exactly fill the cap.
const capTolerance energy.Power = 1e-6

// cand is a unit, or a deferrable AI load, that may run this interval.
type cand struct {
	unit    int // index in Inputs.Units; -1 for an AI load
	ai      int // index in frame.ai when unit == -1
	id      string
	held    bool         // held running by MinRun: admitted whatever the price (the cap still applies)
	value   energy.Price // what a MWh earns at nominal (a unit's breakeven, an AI load's value): the merit key, highest first
	running bool
}

// choice is a chooser's answer for one candidate.
type choice struct {
	run    bool
	sp     miner.Setpoint
	delta  energy.Power // power over SleepPower at sp
	reason string
}

// chooser decides one candidate given the average price it would pay for
// delta watts on top of the draw admitted before it.
type chooser func(c cand, u *Unit, priceFor pricer) choice

// pricer is the average price of delta more watts at the curve's position
// pos (a value, not a closure, so asking allocates nothing).
type pricer struct {
	curve []Segment
	pos   energy.Power
}

func (p pricer) at(delta energy.Power) energy.Price { return costAt(p.curve, p.pos, delta) }

// alloc is the outcome of one allocation pass, for the plan's reason.
type alloc struct {
	offline, mustRun, heldRun, heldSleep int
	curtailed, partial, floorRun, ramped int
	reserved, base, power                energy.Power
}

// allocator holds what is common to every per-interval policy: minimum
// run and sleep times, and the order of constraints. Constraints bind in
// this order: the cap (site import cap, deployments) is hard; the site
// ramp limit beats the commitment floor and economics; the floor beats
// economics; min run beats economics but not the cap; min sleep holds a
// unit asleep whatever the floor.
type allocator struct {
	minRun, minSleep time.Duration
	net              bitcoin.Hashprice // hashprice net of the pool fee
	always           bool              // run whatever the price (always-on)
	r                *reasons
}

// run plans every unit and AI load of in within fr, asking choose about
// each candidate in merit order.
func (a *allocator) run(in Inputs, fr frame, plan *Plan, choose chooser) alloc {
	var st alloc
	cands := make([]cand, 0, len(in.Units)+len(fr.ai))
	plan.Units = make([]UnitPlan, len(in.Units))
	for i, u := range in.Units {
		up := &plan.Units[i]
		up.ID = u.ID
		if w, fixed := fixedDraw(u); fixed {
			st.base += w
			up.Setpoint, up.Reason = miner.Sleep(), reasonOffline
			switch {
			case u.State != miner.StateOffline:
				st.mustRun++
				st.reserved += w
				up.Setpoint, up.Reason = miner.Run(0), reasonCannotSleep
				continue
			case u.Running:
				st.reserved += w
				up.Reason = reasonOfflineReserved
			}
			st.offline++
			continue
		}
		st.base += u.Caps.SleepPower
		if !u.Running && held(in.Now, u.Since, a.minSleep) {
			st.heldSleep++
			up.Setpoint = miner.Sleep()
			up.Reason = a.r.fixed(kindHeldSleep, a.minSleep)
			continue
		}
		cands = append(cands, cand{unit: i, id: u.ID, held: u.Running && held(in.Now, u.Since, a.minRun), value: bitcoin.Breakeven(a.net, u.Caps.NominalEfficiency()), running: u.Running})
	}
	for k, l := range fr.ai {
		if l.firm {
			plan.AI = append(plan.AI, AIPlan{Name: l.name, Run: true, Power: l.power, Firm: true, Reason: "firm load"})
			continue
		}
		plan.AI = append(plan.AI, AIPlan{Name: l.name})
		cands = append(cands, cand{unit: -1, ai: k, id: "ai:" + l.name, value: l.value})
	}
	slices.SortFunc(cands, func(x, y cand) int {
		if x.held != y.held {
			if x.held {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(y.value, x.value); c != 0 {
			return c
		}
		return strings.Compare(x.id, y.id)
	})

	pos := st.base
	headroom := func() energy.Power { return fr.cap - pos }
	// admitted power per candidate (0 = sleeping), and why a candidate is
	// asleep: economics (re-admissible for the floor and the ramp) or cap.
	type outcome struct {
		delta    energy.Power
		economic bool
	}
	out := make([]outcome, len(cands))
	setAI := func(c cand, run bool, p energy.Power, reason string) {
		ap := &plan.AI[aiIndex(plan.AI, fr.ai[c.ai].name)]
		ap.Run, ap.Power, ap.Reason = run, p, reason
	}
	for j, c := range cands {
		if c.unit < 0 {
			l := fr.ai[c.ai]
			price := costAt(fr.curve, pos, l.power)
			switch {
			case price > l.value:
				setAI(c, false, 0, fmt.Sprintf("value %s < power %s", l.value, price))
				out[j].economic = true
			case l.power > headroom()+capTolerance:
				setAI(c, false, 0, "site cap: no headroom")
			default:
				setAI(c, true, l.power, fmt.Sprintf("value %s >= power %s", l.value, price))
				out[j].delta = l.power
				pos += l.power
			}
			continue
		}
		u := &in.Units[c.unit]
		up := &plan.Units[c.unit]
		ch := choose(c, u, pricer{fr.curve, pos})
		if !ch.run && c.held {
			st.heldRun++
			ch = choice{run: true, sp: miner.Run(0), delta: u.Caps.NominalPower - u.Caps.SleepPower, reason: a.r.fixed(kindHeldRun, a.minRun) + "; " + ch.reason}
		}
		if !ch.run {
			up.Setpoint, up.Reason = miner.Sleep(), ch.reason
			out[j].economic = true
			continue
		}
		if ch.delta <= headroom()+capTolerance {
			up.Setpoint, up.Reason = ch.sp, ch.reason
			out[j].delta = ch.delta
			pos += ch.delta
			continue
		}
		// Over the cap: the highest power step that fits, if it still pays.
		if step, ok := u.Caps.StepFor(headroom() + u.Caps.SleepPower + capTolerance); ok && step.Power > u.Caps.SleepPower {
			d := step.Power - u.Caps.SleepPower
			if c.held || a.always || costAt(fr.curve, pos, d) <= bitcoin.Breakeven(a.net, energy.EfficiencyOf(step.Power, step.Hashrate)) {
				st.partial++
				up.Setpoint, up.Reason = miner.Run(step.Power), a.r.capStep(step)
				out[j].delta = d
				pos += d
				continue
			}
		}
		st.curtailed++
		if c.held {
			st.heldRun--
		}
		up.Setpoint, up.Reason = miner.Sleep(), a.r.capNoRoom(ch.delta)
	}

	// The commitment floor: keep enough droppable load running.
	var droppable energy.Power
	for _, o := range out {
		droppable += o.delta
	}
	// set plans candidate j running at nominal (d watts over sleep) or
	// asleep, with reason.
	set := func(j int, run bool, d energy.Power, reason string) {
		c := cands[j]
		pos += d - out[j].delta
		droppable += d - out[j].delta
		out[j] = outcome{delta: d, economic: !run}
		switch {
		case c.unit < 0:
			setAI(c, run, d, reason)
		case run:
			plan.Units[c.unit].Setpoint, plan.Units[c.unit].Reason = miner.Run(0), reason
		default:
			plan.Units[c.unit].Setpoint, plan.Units[c.unit].Reason = miner.Sleep(), reason
		}
	}
	// readmit runs candidates that priced out, in merit order, while more
	// is wanted and they fit under the cap; only those running now when
	// onlyRunning is set.
	readmit := func(wanted func() bool, onlyRunning bool, reason string) int {
		n := 0
		for j, c := range cands {
			if !wanted() {
				break
			}
			if !out[j].economic || out[j].delta != 0 || (onlyRunning && !c.running) {
				continue
			}
			if d := candPower(in, fr, c); d <= headroom()+capTolerance {
				set(j, true, d, reason)
				n++
			}
		}
		return n
	}
	if fr.floor > 0 {
		st.floorRun += readmit(func() bool { return droppable < fr.floor }, false,
			fmt.Sprintf("commitment: keep %s running, ready to drop", fr.floor))
	}

	// The site ramp limit, counted from the previous interval's draw.
	if fr.hasPrev && fr.rampW > 0 {
		if pos > fr.prev+fr.rampW+capTolerance {
			starts := 0
			for j, c := range cands {
				if out[j].delta > 0 && !c.running {
					starts++
				}
			}
			// Least efficient starts wait first; one start always goes
			// ahead, so a unit larger than the limit still starts alone.
			for j := len(cands) - 1; j >= 0 && starts > 1 && pos > fr.prev+fr.rampW+capTolerance; j-- {
				c := cands[j]
				if out[j].delta == 0 || c.held || c.running {
					continue
				}
				starts--
				st.ramped++
				set(j, false, 0, fmt.Sprintf("site ramp: up by at most %s per interval", fr.rampW))
			}
		}
		if pos < fr.prev-fr.rampW-capTolerance {
			st.ramped += readmit(func() bool { return pos < fr.prev-fr.rampW-capTolerance }, true,
				fmt.Sprintf("site ramp: down by at most %s per interval", fr.rampW))
		}
	}
	st.power = pos
	for _, up := range plan.Units {
		if up.Setpoint.Mode == miner.ModeRun {
			plan.Running++
		} else {
			plan.Sleeping++
		}
	}
	plan.Power = pos
	plan.Floor, plan.Cap = fr.floor, fr.cap
	return st
}

// fixedDraw reports whether dispatch cannot move u, and what it is taken
// to draw: an offline unit at NominalPower if it was last running (it may
// still be) or SleepPower, a unit that cannot sleep at NominalPower.
func fixedDraw(u Unit) (energy.Power, bool) {
	switch {
	case u.State == miner.StateOffline && !u.Running:
		return u.Caps.SleepPower, true
	case u.State == miner.StateOffline, !u.Caps.CanSleep:
		return u.Caps.NominalPower, true
	}
	return 0, false
}

// candPower is what a candidate adds running at nominal.
func candPower(in Inputs, fr frame, c cand) energy.Power {
	if c.unit < 0 {
		return fr.ai[c.ai].power
	}
	u := in.Units[c.unit]
	return u.Caps.NominalPower - u.Caps.SleepPower
}

func aiIndex(ps []AIPlan, name string) int {
	for i, p := range ps {
		if p.Name == name {
			return i
		}
	}
	return -1
}

// held reports whether less than d has passed since since. A zero since
// (unknown) never holds; a since after now (clock skew) holds.
func held(now, since time.Time, d time.Duration) bool {
	return d > 0 && !since.IsZero() && now.Sub(since) < d
}
