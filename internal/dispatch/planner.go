package dispatch

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/dispatch/optimize"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
)

// PlannerConfig tunes the look-ahead planner and the oracle.
type PlannerConfig struct {
	// Breakeven supplies the pool fee, min run and sleep, the ramp limit,
	// the adder (without a contract) and FourCP; the planner also falls
	// back to this breakeven policy when it has no forecast.
	Breakeven BreakevenConfig
	// Horizon is how far ahead the planner looks (default 24h); it stops
	// earlier where the forecast ends.
	Horizon time.Duration
	// Options tunes the solver. The planner runs it on one goroutine with
	// a small search budget unless set; the oracle (PerUnit) uses the
	// solver's defaults, which may run per-class programmes on several
	// goroutines inside the call (joined before it returns; the result
	// does not depend on their number).
	Options optimize.Options
	// PerUnit plans every unit as its own class instead of grouping units
	// with the same capabilities and state. The oracle sets it so its
	// choices include everything a per-unit policy can do; it suits
	// fleets of blocks (tens of units), not thousands of machines.
	PerUnit bool
}

// Planner is the look-ahead policy: every interval it solves, over the
// price forecast it knows (Inputs.Forecast: day-ahead prices or a live
// curve), the schedule that earns the most under min run and sleep, the
// site ramp limit, the cap and commitments, and applies the schedule's
// first interval. Units with the same capabilities and state are planned
// together as one class. Without a forecast for the interval it falls
// back to its breakeven policy and says so.
type Planner struct {
	cfg      PlannerConfig
	fallback *Breakeven
	name     string
}

// NewPlanner validates cfg and returns the planner.
func NewPlanner(cfg PlannerConfig) (*Planner, error) {
	if cfg.Horizon == 0 {
		cfg.Horizon = 24 * time.Hour
	}
	if cfg.Horizon < 0 {
		return nil, fmt.Errorf("planner policy: horizon %v must be positive", cfg.Horizon)
	}
	bc := cfg.Breakeven
	bc.Partial, bc.AlwaysOn = false, false
	fb, err := NewBreakeven(bc)
	if err != nil {
		return nil, fmt.Errorf("planner policy: %w", err)
	}
	name := PolicyPlanner
	if bc.FourCP {
		name += "+" + PolicyFourCP
	}
	return &Planner{cfg: cfg, fallback: fb, name: name}, nil
}

// Name returns "planner" (or "planner+fourcp").
func (p *Planner) Name() string { return p.name }

// Step is what is known of one interval of a planning horizon.
type Step struct {
	Interval   energy.Interval
	Price      energy.Price
	Hashprice  bitcoin.Hashprice
	Generation energy.Power
	PeakRisk   float64
}

// Plan solves the horizon from in and plans in.Interval.
func (p *Planner) Plan(in Inputs) (Plan, error) {
	if err := in.Validate(); err != nil {
		return Plan{}, fmt.Errorf("%s policy: %w", p.name, err)
	}
	steps := p.horizon(in)
	if len(steps) < 2 {
		plan, err := p.fallback.Plan(in)
		if err != nil {
			return Plan{}, err
		}
		plan.Policy = p.name
		plan.Reason = "planner: no forecast beyond this interval; breakeven: " + plan.Reason
		return plan, nil
	}
	sched, err := Solve(p.cfg, in, steps)
	if err != nil {
		return Plan{}, fmt.Errorf("%s policy: %w", p.name, err)
	}
	plan := sched.Plans[0]
	plan.Policy = p.name
	plan.Reason = fmt.Sprintf("planner over %d intervals to %s (%s, gap %.2g): %s", len(steps),
		steps[len(steps)-1].Interval.End.Format(time.RFC3339), sched.Method, sched.Gap, plan.Reason)
	return plan, nil
}

// horizon lists the steps the planner optimises: in.Interval at in.Price,
// then every later interval the forecast covers, up to the horizon.
func (p *Planner) horizon(in Inputs) []Step {
	d := in.Interval.Duration()
	steps := []Step{{Interval: in.Interval, Price: in.Price, Hashprice: in.Hashprice, Generation: in.Generation, PeakRisk: in.PeakRisk}}
	end := in.Interval.Start.Add(p.cfg.Horizon)
	for t := in.Interval.End; t.Before(end); t = t.Add(d) {
		pt, ok := in.Forecast.At(t)
		if !ok {
			break
		}
		steps = append(steps, Step{Interval: energy.Interval{Start: t, End: t.Add(d)}, Price: pt.Price, Hashprice: in.Hashprice, Generation: in.Generation})
	}
	return steps
}

// Schedule is a solved horizon: one plan per step.
type Schedule struct {
	Plans     []Plan
	Objective float64 // $ the model earns over the horizon
	Bound     float64 // proven upper bound of the model's optimum
	Gap       float64 // relative optimality gap (0 when proven optimal)
	Exact     bool
	Method    string
	// NonConvex counts intervals whose contract cost curve was not convex
	// and was planned cheapest-source-first (see Solve).
	NonConvex int
}

// Solve builds the scheduling model of steps for the units of in (their
// state at in.Now) and solves it. The oracle calls it with the actual
// prices of a whole period (and PeakRisk 1 in the known 4CP peak hours);
// the planner with its forecast. in.Price, Generation and PeakRisk are
// ignored in favour of each step's.
func Solve(cfg PlannerConfig, in Inputs, steps []Step) (Schedule, error) {
	if len(steps) == 0 {
		return Schedule{}, fmt.Errorf("solve: no intervals")
	}
	bc := cfg.Breakeven
	d := steps[0].Interval.Duration()
	hours := d.Hours()
	net := func(h bitcoin.Hashprice) float64 { return float64(h) * (1 - bc.PoolFee) }

	// Units planned as classes; the rest are fixed draw.
	var fixed energy.Power
	classes := []*classOf{}
	byKey := map[string]*classOf{}
	for i, u := range in.Units {
		if w, ok := fixedDraw(u); ok {
			fixed += w
			continue
		}
		age := ageOf(in.Now, u.Since, d)
		key := capsKey(u.Caps, u.Running)
		if cfg.PerUnit {
			key = u.ID
		}
		c := byKey[key]
		if c == nil {
			c = &classOf{caps: u.Caps, running: u.Running, age: age}
			byKey[key] = c
			classes = append(classes, c)
		}
		c.units = append(c.units, i)
		c.age = min(c.age, age)
	}
	minRun, minSleep := intervalsIn(bc.MinRun, d), intervalsIn(bc.MinSleep, d)
	free := max(minRun, minSleep, 1)

	prob := &optimize.Problem{T: len(steps), HashValue: make([]float64, len(steps)), Cost: make([][]optimize.Segment, len(steps)),
		Min: make([]float64, len(steps)), Max: make([]float64, len(steps))}
	if bc.RampPerMinute > 0 {
		prob.SiteRamp = float64(bc.RampPerMinute) * d.Minutes()
	}
	prob.OverPenalty = 1e3 // $ per W per interval: far above any value, so the cap is hard in practice
	if in.Contract != nil {
		for _, c := range in.Contract.Commitments {
			prob.UnderPenalty = max(prob.UnderPenalty, c.PenaltyUSDPerMWh*hours/1e6)
		}
	}
	var sleepW energy.Power // the classes' draw asleep: the floor counts running load above it
	for _, c := range classes {
		sleepW += c.caps.SleepPower * energy.Power(len(c.units))
	}
	frames := make([]frame, len(steps))
	nonConvex := 0
	for t, s := range steps {
		sin := in
		sin.Interval, sin.Price, sin.Generation, sin.PeakRisk, sin.Hashprice = s.Interval, s.Price, s.Generation, s.PeakRisk, s.Hashprice
		sin.HasPrevious = false
		fr, err := frameFor(sin, bc.PowerAdder, 0, bc.FourCP)
		if err != nil {
			return Schedule{}, fmt.Errorf("solve: %s: %w", s.Interval, err)
		}
		if !convex(fr.curve) {
			// Behind-the-meter generation at a negative import price, or a
			// fixed export price above it: the model takes the cheapest
			// power first, as a site choosing its source would (settlement
			// still charges the contract's order).
			fr.curve = slices.Clone(fr.curve)
			slices.SortStableFunc(fr.curve, func(a, b Segment) int { return cmp.Compare(a.Price, b.Price) })
			nonConvex++
		}
		frames[t] = fr
		prob.HashValue[t] = net(s.Hashprice) * hours / 24
		prob.Cost[t] = shiftCurve(fr.curve, fixed, hours)
		prob.Max[t] = float64(fr.cap - fixed)
		if fr.floor > 0 {
			prob.Min[t] = float64(fr.floor + sleepW)
		}
	}
	for ci, c := range classes {
		n := float64(len(c.units))
		id := fmt.Sprintf("%s×%d#%d", c.caps.Model, len(c.units), ci)
		if len(c.units) == 1 {
			id = in.Units[c.units[0]].ID
		}
		oc := optimize.Class{ID: id, Sleep: n * float64(c.caps.SleepPower), MinRun: minRun, MinSleep: minSleep}
		for _, s := range c.caps.PowerSteps {
			if s.Power < c.caps.NominalPower && s.Hashrate > 0 {
				oc.Levels = append(oc.Levels, optimize.Level{Name: s.Name, Power: n * float64(s.Power), Hash: n * float64(s.Hashrate)})
				c.steps = append(c.steps, miner.Run(s.Power))
			}
		}
		oc.Levels = append(oc.Levels, optimize.Level{Name: "nominal", Power: n * float64(c.caps.NominalPower), Hash: n * float64(c.caps.NominalHashrate)})
		c.steps = append(c.steps, miner.Run(0))
		oc.Init = optimize.State{Level: 0, Age: min(c.age, free)}
		if c.running {
			oc.Init.Level = len(oc.Levels)
		}
		prob.Classes = append(prob.Classes, oc)
	}
	// Deferrable AI loads are classes without hashrate.
	var aiClasses []aiLoad
	for _, l := range frames[0].ai {
		if l.firm {
			continue
		}
		aiClasses = append(aiClasses, l)
		prob.Classes = append(prob.Classes, optimize.Class{ID: "ai:" + l.name, Levels: []optimize.Level{{Name: "on", Power: float64(l.power), Value: float64(l.value) * float64(l.power) * hours / 1e6}}, Init: optimize.State{Age: free}})
	}
	opt := cfg.Options
	if !cfg.PerUnit {
		// The live planner solves every interval: one goroutine (the
		// house rule for dispatch) and a small schedule-search budget.
		if opt.Workers == 0 {
			opt.Workers = 1
		}
		if opt.NeighbourhoodWork == 0 {
			opt.NeighbourhoodWork = 20_000_000
		}
	}
	sol, err := optimize.Solve(prob, opt)
	if err != nil {
		return Schedule{}, fmt.Errorf("solve: %w", err)
	}
	out := Schedule{Objective: sol.Objective, Bound: sol.Bound, Gap: sol.Gap(), Exact: sol.Exact, Method: sol.Method, Plans: make([]Plan, len(steps)), NonConvex: nonConvex}
	// The reasons and labels of each class level, formatted once.
	reasons, labels := make([][]string, len(classes)), make([][]string, len(classes))
	for ci := range classes {
		oc := prob.Classes[ci]
		for _, l := range oc.Levels {
			reasons[ci] = append(reasons[ci], "planned running at "+l.Name)
			labels[ci] = append(labels[ci], oc.ID+"@"+l.Name)
		}
	}
	for t, s := range steps {
		pl := Plan{Interval: s.Interval, Price: s.Price, Units: make([]UnitPlan, len(in.Units)), Floor: frames[t].floor, Cap: frames[t].cap, Ramp: bc.RampPerMinute}
		power := fixed
		for i, u := range in.Units {
			pl.Units[i] = UnitPlan{ID: u.ID, Setpoint: miner.Sleep(), Reason: reasonOffline}
			if u.State != miner.StateOffline && !u.Caps.CanSleep {
				pl.Units[i] = UnitPlan{ID: u.ID, Setpoint: miner.Run(0), Reason: reasonCannotSleep}
			}
		}
		var running []string
		for ci, c := range classes {
			lv := sol.Levels[ci][t]
			oc := prob.Classes[ci]
			sp, reason := miner.Sleep(), "planned asleep"
			if lv > 0 {
				sp = c.steps[lv-1]
				reason = reasons[ci][lv-1]
				power += energy.Power(oc.Levels[lv-1].Power)
				running = append(running, labels[ci][lv-1])
			} else {
				power += energy.Power(oc.Sleep)
			}
			for _, i := range c.units {
				pl.Units[i].Setpoint, pl.Units[i].Reason = sp, reason
			}
		}
		for _, l := range frames[t].ai {
			if l.firm {
				pl.AI = append(pl.AI, AIPlan{Name: l.name, Run: true, Power: l.power, Firm: true, Reason: "firm load"})
				continue
			}
			ci := len(classes) + slices.IndexFunc(aiClasses, func(a aiLoad) bool { return a.name == l.name })
			on := sol.Levels[ci][t] > 0
			ap := AIPlan{Name: l.name, Run: on, Reason: "planned off"}
			if on {
				ap.Power, ap.Reason = l.power, "planned on"
				power += l.power
			}
			pl.AI = append(pl.AI, ap)
		}
		for _, up := range pl.Units {
			if up.Setpoint.Mode == miner.ModeRun {
				pl.Running++
			} else {
				pl.Sleeping++
			}
		}
		pl.Power = power
		pl.Breakeven = fleetBreakeven(in.Units, bitcoin.Hashprice(net(s.Hashprice)), frames[t].curve[0].Price-s.Price)
		pl.Reason = fmt.Sprintf("%d of %d units run", pl.Running, len(in.Units))
		if len(running) > 0 {
			pl.Reason += " (" + strings.Join(running, ", ") + ")"
		}
		pl.Reason += fmt.Sprintf("; planned %s", pl.Power)
		out.Plans[t] = pl
	}
	return out, nil
}

// classOf is a group of units with the same capabilities and state.
type classOf struct {
	caps    miner.Capabilities
	running bool
	age     int
	units   []int
	steps   []miner.Setpoint // setpoint of each running level
}

func capsKey(c miner.Capabilities, running bool) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s|%g|%g|%g|%t", c.Model, float64(c.NominalPower), float64(c.NominalHashrate), float64(c.SleepPower), running)
	for _, s := range c.PowerSteps {
		fmt.Fprintf(&sb, "|%g:%g", float64(s.Power), float64(s.Hashrate))
	}
	return sb.String()
}

// ageOf is how many whole intervals have passed since since; unknown
// counts as long ago.
func ageOf(now, since time.Time, d time.Duration) int {
	if since.IsZero() || d <= 0 {
		return math.MaxInt32
	}
	n := int(now.Sub(since) / d)
	return max(n, 1)
}

// shiftCurve drops the first w watts of c (taken by fixed draw) and
// converts prices to $ per W over an interval of hours.
func shiftCurve(c []Segment, w energy.Power, hours float64) []optimize.Segment {
	var out []optimize.Segment
	var pos energy.Power
	for _, s := range c {
		end := pos + s.Width
		if end > w {
			width := end - max(pos, w)
			out = append(out, optimize.Segment{Width: float64(width), Cost: float64(s.Price) * hours / 1e6})
		}
		pos = end
	}
	if len(out) == 0 {
		last := c[len(c)-1]
		out = append(out, optimize.Segment{Width: math.Inf(1), Cost: float64(last.Price) * hours / 1e6})
	}
	out[len(out)-1].Width = math.Inf(1)
	return out
}
