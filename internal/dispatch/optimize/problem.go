package optimize

import (
	"errors"
	"fmt"
	"math"
)

// Level is one running operating point of a class: every machine of the
// class at one power step.
type Level struct {
	Name  string
	Power float64 // W the whole class draws at this level (> 0)
	Hash  float64 // TH/s the whole class produces at this level (>= 0)
	// Value is extra $ per interval earned at this level regardless of
	// the hashprice (for example AI compute); finite, may be 0 or negative.
	Value float64
}

// Class is a group of machines dispatched together as one unit.
type Class struct {
	ID     string
	Sleep  float64 // W drawn asleep (level 0), >= 0, below every Level.Power
	Levels []Level // running levels 1..len(Levels), strictly ascending Power, at least one
	// MinRun: once started, the class stays running (at any level) for at
	// least this many intervals; 0 or 1 means no constraint.
	MinRun int
	// MinSleep: once stopped, the class stays asleep for at least this
	// many intervals; 0 or 1 means no constraint.
	MinSleep int
	// Ramp is the largest change of the class draw between consecutive
	// intervals, W; 0 means unlimited. Staying at a level is always allowed.
	Ramp float64
	Init State // the state before interval 0
}

// State is a class's state before interval 0. Level 0 is asleep, k >= 1 is
// Levels[k-1]. Age (>= 1) is how many consecutive intervals the class has
// spent in its current mode (running or asleep); an Age of at least
// max(MinRun, MinSleep) leaves the class free to switch.
type State struct {
	Level, Age int
}

// Segment is one piece of the site's convex piecewise-linear power cost.
type Segment struct {
	Width float64 // W; +Inf allowed only on the last segment
	Cost  float64 // $ per W for the interval ($/MWh × hours / 1e6); may be negative
}

// Problem is one scheduling problem over T intervals. See the package
// documentation for the objective and constraints.
type Problem struct {
	T         int
	HashValue []float64 // len T: $ per TH/s earned in interval t
	// Cost has len T: the cost curve of the site draw D_t in interval t.
	// Segments are filled in order; their costs must be non-decreasing
	// (convex) and their total width must be +Inf or cover the largest
	// possible draw.
	Cost [][]Segment
	// Min and Max are nil or len T: soft bounds on D_t in W (Max may be
	// +Inf); a draw below Min_t costs UnderPenalty per W, above Max_t
	// OverPenalty per W.
	Min, Max                  []float64
	UnderPenalty, OverPenalty float64 // $ per W per interval, >= 0
	// SiteRamp is the largest |D_t − D_{t−1}| in W (hard); 0 = unlimited.
	// D_{−1} is the sum of the classes' initial draws.
	SiteRamp float64
	Classes  []Class
}

// Sentinel errors callers can branch on with errors.Is.
var (
	// ErrInvalid is wrapped by every error of Validate.
	ErrInvalid = errors.New("invalid problem")
	// ErrInfeasible is wrapped by every Evaluate error about a schedule
	// that breaks a hard constraint or does not fit the problem.
	ErrInfeasible = errors.New("infeasible schedule")
	// ErrMethod is wrapped when a forced method cannot solve the problem
	// (separable on a coupled problem, joint beyond its limits) or is
	// unknown.
	ErrMethod = errors.New("method not applicable")
)

// maxLevels bounds len(Class.Levels) so a level fits a byte; maxStates
// bounds a class's DP states so a state fits 16 bits.
const (
	maxLevels = 254
	maxStates = 1 << 16
)

// Validate checks the problem: lengths, finite numbers, ascending levels,
// the initial state, convex cost curves wide enough for the largest draw,
// and non-negative penalties and ramps. Errors name the class or interval
// and wrap ErrInvalid.
func (p *Problem) Validate() error {
	if p == nil {
		return fmt.Errorf("optimize: nil problem: %w", ErrInvalid)
	}
	if p.T < 0 {
		return fmt.Errorf("optimize: t %d is negative: %w", p.T, ErrInvalid)
	}
	if len(p.HashValue) != p.T {
		return fmt.Errorf("optimize: hash value has %d intervals, want %d: %w", len(p.HashValue), p.T, ErrInvalid)
	}
	if len(p.Cost) != p.T {
		return fmt.Errorf("optimize: cost has %d intervals, want %d: %w", len(p.Cost), p.T, ErrInvalid)
	}
	if p.Min != nil && len(p.Min) != p.T {
		return fmt.Errorf("optimize: min has %d intervals, want %d: %w", len(p.Min), p.T, ErrInvalid)
	}
	if p.Max != nil && len(p.Max) != p.T {
		return fmt.Errorf("optimize: max has %d intervals, want %d: %w", len(p.Max), p.T, ErrInvalid)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"under penalty", p.UnderPenalty}, {"over penalty", p.OverPenalty}, {"site ramp", p.SiteRamp}} {
		if !finite(f.v) || f.v < 0 {
			return fmt.Errorf("optimize: %s %v must be finite and non-negative: %w", f.name, f.v, ErrInvalid)
		}
	}
	seen := make(map[string]int, len(p.Classes))
	for i := range p.Classes {
		c := &p.Classes[i]
		if c.ID == "" {
			return fmt.Errorf("optimize: class #%d: empty id: %w", i, ErrInvalid)
		}
		if j, dup := seen[c.ID]; dup {
			return fmt.Errorf("optimize: class %q: duplicate id at #%d and #%d: %w", c.ID, j, i, ErrInvalid)
		}
		seen[c.ID] = i
		if err := c.validate(); err != nil {
			return fmt.Errorf("optimize: class %q: %w: %w", c.ID, err, ErrInvalid)
		}
	}
	maxDraw := p.maxDraw()
	for t := 0; t < p.T; t++ {
		if err := p.validateInterval(t, maxDraw); err != nil {
			return fmt.Errorf("optimize: interval %d: %w: %w", t, err, ErrInvalid)
		}
	}
	return nil
}

func (c *Class) validate() error {
	switch {
	case !finite(c.Sleep) || c.Sleep < 0:
		return fmt.Errorf("sleep power %v must be finite and non-negative", c.Sleep)
	case len(c.Levels) == 0:
		return errors.New("no running levels")
	case len(c.Levels) > maxLevels:
		return fmt.Errorf("%d running levels, at most %d", len(c.Levels), maxLevels)
	case c.MinRun < 0 || c.MinSleep < 0:
		return fmt.Errorf("min run %d and min sleep %d must be non-negative", c.MinRun, c.MinSleep)
	case !finite(c.Ramp) || c.Ramp < 0:
		return fmt.Errorf("ramp %v must be finite and non-negative", c.Ramp)
	case c.Init.Level < 0 || c.Init.Level > len(c.Levels):
		return fmt.Errorf("initial level %d out of range [0, %d]", c.Init.Level, len(c.Levels))
	case c.Init.Age < 1:
		return fmt.Errorf("initial age %d must be at least 1", c.Init.Age)
	}
	if n := len(c.Levels)*max(c.MinRun, 1) + max(c.MinSleep, 1); n > maxStates || c.MinRun > maxStates || c.MinSleep > maxStates {
		return fmt.Errorf("min run %d and min sleep %d with %d levels give too many states (at most %d)", c.MinRun, c.MinSleep, len(c.Levels), maxStates)
	}
	prev := c.Sleep
	for k, l := range c.Levels {
		switch {
		case !finite(l.Power) || l.Power <= prev:
			if k == 0 {
				return fmt.Errorf("level 1 (%q): power %v must be finite and above sleep power %v", l.Name, l.Power, c.Sleep)
			}
			return fmt.Errorf("level %d (%q): power %v must be finite and above level %d power %v", k+1, l.Name, l.Power, k, prev)
		case !finite(l.Hash) || l.Hash < 0:
			return fmt.Errorf("level %d (%q): hash %v must be finite and non-negative", k+1, l.Name, l.Hash)
		case !finite(l.Value):
			return fmt.Errorf("level %d (%q): value %v must be finite", k+1, l.Name, l.Value)
		}
		prev = l.Power
	}
	return nil
}

func (p *Problem) validateInterval(t int, maxDraw float64) error {
	if !finite(p.HashValue[t]) {
		return fmt.Errorf("hash value %v must be finite", p.HashValue[t])
	}
	segs := p.Cost[t]
	if len(segs) == 0 {
		return errors.New("no cost segments")
	}
	width := 0.0
	for s, g := range segs {
		switch {
		case !finite(g.Cost):
			return fmt.Errorf("segment %d cost %v must be finite", s, g.Cost)
		case math.IsNaN(g.Width) || g.Width <= 0:
			return fmt.Errorf("segment %d width %v must be positive", s, g.Width)
		case math.IsInf(g.Width, 1) && s != len(segs)-1:
			return fmt.Errorf("segment %d has infinite width but is not the last", s)
		case s > 0 && g.Cost < segs[s-1].Cost:
			return fmt.Errorf("segment %d cost %v below segment %d cost %v (non-convex)", s, g.Cost, s-1, segs[s-1].Cost)
		}
		width += g.Width
	}
	if width < maxDraw {
		return fmt.Errorf("cost segments cover %v W, below the largest possible draw %v W", width, maxDraw)
	}
	if p.Min != nil && !finite(p.Min[t]) {
		return fmt.Errorf("min %v must be finite", p.Min[t])
	}
	if p.Max != nil && (math.IsNaN(p.Max[t]) || math.IsInf(p.Max[t], -1)) {
		return fmt.Errorf("max %v must be a number or +Inf", p.Max[t])
	}
	if p.Min != nil && p.Max != nil && p.Min[t] > p.Max[t] {
		return fmt.Errorf("min %v above max %v", p.Min[t], p.Max[t])
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// draw is the class draw at level k (0 = asleep).
func (c *Class) draw(k int) float64 {
	if k == 0 {
		return c.Sleep
	}
	return c.Levels[k-1].Power
}

// gain is the class's revenue at level k in an interval with hash value hv.
func (c *Class) gain(k int, hv float64) float64 {
	if k == 0 {
		return 0
	}
	l := &c.Levels[k-1]
	return l.Hash*hv + l.Value
}

// minDraw and maxDraw are the smallest and largest possible site draws,
// summed in class order like every site draw.
func (p *Problem) minDraw() float64 {
	d := 0.0
	for i := range p.Classes {
		d += p.Classes[i].Sleep
	}
	return d
}

func (p *Problem) maxDraw() float64 {
	d := 0.0
	for i := range p.Classes {
		c := &p.Classes[i]
		d += c.Levels[len(c.Levels)-1].Power
	}
	return d
}

// initDraw is D_{-1}, the sum of the classes' initial draws.
func (p *Problem) initDraw() float64 {
	d := 0.0
	for i := range p.Classes {
		d += p.Classes[i].draw(p.Classes[i].Init.Level)
	}
	return d
}

// site is the site's cost and penalties for draw d in interval t: the
// convex function subtracted from the objective.
func (p *Problem) site(t int, d float64) float64 {
	segs := p.Cost[t]
	cost, rem := 0.0, d
	for s, g := range segs {
		w := rem
		if s < len(segs)-1 && g.Width < w {
			w = g.Width // the last segment takes any rounding remainder
		}
		if w > 0 {
			cost += w * g.Cost
		}
		rem -= w
		if rem <= 0 {
			break
		}
	}
	if p.Min != nil && p.UnderPenalty > 0 && d < p.Min[t] {
		cost += p.UnderPenalty * (p.Min[t] - d)
	}
	if p.Max != nil && p.OverPenalty > 0 && d > p.Max[t] {
		cost += p.OverPenalty * (d - p.Max[t])
	}
	return cost
}

// Evaluate returns the objective of a schedule, levels[class][t] (0 =
// asleep), after checking it against every hard constraint. Errors say
// which constraint breaks where and wrap ErrInfeasible; an invalid problem
// gives Validate's error.
func Evaluate(p *Problem, levels [][]int) (float64, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	if len(levels) != len(p.Classes) {
		return 0, fmt.Errorf("optimize: schedule has %d classes, want %d: %w", len(levels), len(p.Classes), ErrInfeasible)
	}
	for i, row := range levels {
		c := &p.Classes[i]
		if len(row) != p.T {
			return 0, fmt.Errorf("optimize: class %q: schedule has %d intervals, want %d: %w", c.ID, len(row), p.T, ErrInfeasible)
		}
		for t, k := range row {
			if k < 0 || k > len(c.Levels) {
				return 0, fmt.Errorf("optimize: class %q: interval %d: level %d out of range [0, %d]: %w", c.ID, t, k, len(c.Levels), ErrInfeasible)
			}
		}
	}
	return evaluate(p, func(c, t int) int { return levels[c][t] })
}

// evaluate checks and scores a schedule given as a level function whose
// levels are in range.
func evaluate(p *Problem, level func(c, t int) int) (float64, error) {
	for i := range p.Classes {
		if err := checkClass(&p.Classes[i], p.T, func(t int) int { return level(i, t) }); err != nil {
			return 0, fmt.Errorf("optimize: class %q: %w: %w", p.Classes[i].ID, err, ErrInfeasible)
		}
	}
	total, prev := 0.0, p.initDraw()
	for t := 0; t < p.T; t++ {
		d, g := 0.0, 0.0
		for i := range p.Classes {
			c := &p.Classes[i]
			k := level(i, t)
			d += c.draw(k)
			g += c.gain(k, p.HashValue[t])
		}
		if p.SiteRamp > 0 && math.Abs(d-prev) > p.SiteRamp {
			return 0, fmt.Errorf("optimize: interval %d: site draw changes by %v W from %v W to %v W, above the site ramp %v W: %w",
				t, d-prev, prev, d, p.SiteRamp, ErrInfeasible)
		}
		total += g - p.site(t, d)
		prev = d
	}
	return total, nil
}

// checkClass checks one class's schedule against its min run, min sleep
// and ramp.
func checkClass(c *Class, T int, level func(t int) int) error {
	prev, age := c.Init.Level, c.Init.Age
	for t := 0; t < T; t++ {
		k := level(t)
		if c.Ramp > 0 && math.Abs(c.draw(k)-c.draw(prev)) > c.Ramp {
			return fmt.Errorf("interval %d: level %d to %d changes the draw by %v W, above the ramp %v W",
				t, prev, k, c.draw(k)-c.draw(prev), c.Ramp)
		}
		switch {
		case (k == 0) == (prev == 0):
			age = min(age+1, math.MaxInt32)
		case k == 0 && age < c.MinRun:
			return fmt.Errorf("interval %d: stops after running %d intervals, min run %d", t, age, c.MinRun)
		case k != 0 && age < c.MinSleep:
			return fmt.Errorf("interval %d: starts after sleeping %d intervals, min sleep %d", t, age, c.MinSleep)
		default:
			age = 1
		}
		prev = k
	}
	return nil
}
