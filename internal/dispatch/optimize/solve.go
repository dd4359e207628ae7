package optimize

import (
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Method names, as in Options.Method and Solution.Method.
const (
	MethodSeparable  = "separable"
	MethodJoint      = "joint"
	MethodLagrangian = "lagrangian"
)

// Defaults for the zero fields of Options.
const (
	DefaultJointLimit = 50_000
	DefaultJointWork  = 300_000_000
	DefaultIterations = 60
	DefaultTolerance  = 1e-6
	// DefaultNeighbourhoodWork is about five seconds of joint re-solves
	// on one core; the search often ends sooner on horizons of days.
	DefaultNeighbourhoodWork = 1_000_000_000
)

// jointMemory bounds T × joint states: the joint DP keeps one 2-byte
// back-pointer per interval and state.
const jointMemory = 64 << 20

// Options tune Solve. The zero value picks the method automatically with
// the defaults above.
type Options struct {
	// Method forces a method: MethodSeparable (an error wrapping ErrMethod
	// if the problem is coupled), MethodJoint (an error wrapping ErrMethod
	// beyond the limits below) or MethodLagrangian; "" chooses separable,
	// then joint, then lagrangian.
	Method string
	// JointLimit is the most joint DP states (the product of the classes'
	// state counts) the joint DP accepts; 0 means DefaultJointLimit.
	JointLimit int
	// JointWork is the most joint DP work (T × Σ over joint states of
	// their joint moves) the joint DP accepts; 0 means DefaultJointWork
	// (about a second on one core). T × joint states is also held under
	// 64 Mi (a 2-byte back-pointer each), and the level combinations
	// under 65,536.
	JointWork int64
	// Iterations is the most Lagrangian (subgradient) iterations; 0 means
	// DefaultIterations.
	Iterations int
	// Tolerance is the relative gap, (Bound − Objective) / max(1,
	// |Objective|), at which the Lagrangian method stops and reports an
	// exact result; 0 means DefaultTolerance.
	Tolerance float64
	// NeighbourhoodWork is the Lagrangian method's budget, in joint DP
	// moves (intervals × joint moves, as JointWork), for re-solving
	// subsets of two to four classes jointly over day-long windows once
	// block-coordinate ascent is stuck (only subsets within JointLimit);
	// 0 means DefaultNeighbourhoodWork, negative means none. It trades
	// time for a better schedule: it never changes Bound.
	NeighbourhoodWork int64
	// Workers is the most goroutines solving per-class DPs at once (the
	// separable method and the Lagrangian dual); 0 means
	// runtime.GOMAXPROCS(0), 1 runs everything on the caller's goroutine.
	// The result does not depend on it.
	Workers int
}

func (o Options) withDefaults() Options {
	if o.JointLimit <= 0 {
		o.JointLimit = DefaultJointLimit
	}
	if o.JointWork <= 0 {
		o.JointWork = DefaultJointWork
	}
	if o.NeighbourhoodWork == 0 {
		o.NeighbourhoodWork = DefaultNeighbourhoodWork
	}
	if o.Iterations <= 0 {
		o.Iterations = DefaultIterations
	}
	if !(o.Tolerance > 0) {
		o.Tolerance = DefaultTolerance
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// Solution is Solve's answer.
type Solution struct {
	Levels    [][]int // [class][t]: 0 = asleep, k = Levels[k-1]
	Objective float64 // the objective of Levels, as Evaluate computes it
	// Bound is a proven upper bound on the optimum. It equals Objective
	// for the separable and joint methods; for the Lagrangian method it is
	// the best dual value (never below Objective).
	Bound float64
	// Exact says Levels is optimal: always for separable and joint, and
	// for lagrangian when Gap() ≤ Options.Tolerance.
	Exact  bool
	Method string // MethodSeparable, MethodJoint or MethodLagrangian
	// Iterations is the number of Lagrangian iterations run (0 for the
	// exact DPs).
	Iterations int
}

// Gap is the relative optimality gap, (Bound − Objective) / max(1,
// |Objective|); 0 for exact methods.
func (s Solution) Gap() float64 {
	return (s.Bound - s.Objective) / math.Max(1, math.Abs(s.Objective))
}

// Solve finds the schedule with the largest objective, exactly with the
// separable or joint method, or with a proven bound with the Lagrangian
// method (see the package documentation). The problem is validated first.
// The same problem and options always give the same solution.
func Solve(p *Problem, opt Options) (Solution, error) {
	if err := p.Validate(); err != nil {
		return Solution{}, err
	}
	opt = opt.withDefaults()
	s := newSolver(p, opt)
	slope, separable := s.separable()
	method := opt.Method
	if method == "" {
		switch {
		case separable:
			method = MethodSeparable
		case s.jointFits() == nil:
			method = MethodJoint
		default:
			method = MethodLagrangian
		}
	}
	var sol Solution
	var err error
	switch method {
	case MethodSeparable:
		if !separable {
			return Solution{}, fmt.Errorf("optimize: separable method: the classes are coupled by the site cost, soft bounds or site ramp: %w", ErrMethod)
		}
		sol, err = s.finish(s.solveSeparable(slope))
	case MethodJoint:
		if err := s.jointFits(); err != nil {
			return Solution{}, fmt.Errorf("optimize: joint method: %w: %w", err, ErrMethod)
		}
		sol, err = s.finish(s.solveJoint())
	case MethodLagrangian:
		sol = s.solveLagrangian()
	default:
		return Solution{}, fmt.Errorf("optimize: unknown method %q: %w", opt.Method, ErrMethod)
	}
	if err != nil {
		return Solution{}, err
	}
	sol.Method = method
	return sol, nil
}

// solver holds what every method shares.
type solver struct {
	p      *Problem
	opt    Options
	models []*classModel
	minD   float64
	maxD   float64
	initD  float64
}

func newSolver(p *Problem, opt Options) *solver {
	s := &solver{p: p, opt: opt, minD: p.minDraw(), maxD: p.maxDraw(), initD: p.initDraw()}
	s.models = make([]*classModel, len(p.Classes))
	for i := range p.Classes {
		s.models[i] = newClassModel(&p.Classes[i])
	}
	return s
}

// forEachClass runs fn for every class, on up to opt.Workers goroutines.
// fn must touch only its class's data.
func (s *solver) forEachClass(fn func(c int)) {
	n := len(s.models)
	w := min(s.opt.Workers, n)
	if w <= 1 {
		for c := range n {
			fn(c)
		}
		return
	}
	var wg sync.WaitGroup
	for g := range w {
		wg.Go(func() {
			for c := g; c < n; c += w {
				fn(c)
			}
		})
	}
	wg.Wait()
}

// separable reports whether nothing couples the classes, and then the
// per-interval price of a watt: no soft bound can bind, the site ramp
// cannot bind and the cost is affine over [minDraw, maxDraw].
func (s *solver) separable() (slope []float64, ok bool) {
	p := s.p
	if len(p.Classes) == 0 {
		return make([]float64, p.T), true // nothing to couple
	}
	if p.SiteRamp > 0 && p.SiteRamp < s.maxD-s.minD {
		return nil, false
	}
	slope = make([]float64, p.T)
	for t := 0; t < p.T; t++ {
		if p.Min != nil && p.UnderPenalty > 0 && p.Min[t] > s.minD {
			return nil, false
		}
		if p.Max != nil && p.OverPenalty > 0 && p.Max[t] < s.maxD {
			return nil, false
		}
		set := false
		start := 0.0
		for _, g := range p.Cost[t] {
			end := start + g.Width
			if start < s.maxD && end > s.minD { // the segment holds possible draws
				if set && g.Cost != slope[t] {
					return nil, false
				}
				slope[t], set = g.Cost, true
			}
			start = end
		}
	}
	return slope, true
}

// solveSeparable solves each class alone at the given watt prices.
func (s *solver) solveSeparable(slope []float64) [][]uint8 {
	p := s.p
	out := make([][]uint8, len(s.models))
	s.forEachClass(func(c int) {
		m := s.models[c]
		d := m.scratch(p.T, false)
		for t := 0; t < p.T; t++ {
			for k := 0; k < m.nl; k++ {
				d.val[t*m.nl+k] = m.c.gain(k, p.HashValue[t]) - slope[t]*m.draw[k]
			}
		}
		out[c] = make([]uint8, p.T)
		m.solve(p.T, d, out[c])
	})
	return out
}

// objective evaluates an internal schedule; it must be feasible.
func (s *solver) objective(levels [][]uint8) (float64, error) {
	return evaluate(s.p, func(c, t int) int { return int(levels[c][t]) })
}

// pricePerWatt is a typical price of a watt for one interval: the mean
// absolute cost of the first segment.
func (s *solver) pricePerWatt() float64 {
	sum := 0.0
	for t := 0; t < s.p.T; t++ {
		sum += math.Abs(s.p.Cost[t][0].Cost)
	}
	return math.Max(sum/math.Max(1, float64(s.p.T)), 1e-9)
}

// terms writes each interval's share of a schedule's objective to ft.
func (s *solver) terms(levels [][]uint8, ft []float64) {
	p := s.p
	for t := 0; t < p.T; t++ {
		d, g := 0.0, 0.0
		for c, m := range s.models {
			k := levels[c][t]
			d += m.draw[k]
			g += m.c.gain(int(k), p.HashValue[t])
		}
		ft[t] = g - p.site(t, d)
	}
}

// finish turns an exact method's schedule into a Solution.
func (s *solver) finish(levels [][]uint8) (Solution, error) {
	obj, err := s.objective(levels)
	if err != nil { // a bug: the DPs only make feasible schedules
		return Solution{}, fmt.Errorf("optimize: internal error: %w", err)
	}
	return Solution{Levels: widen(levels), Objective: obj, Bound: obj, Exact: true}, nil
}

func widen(levels [][]uint8) [][]int {
	out := make([][]int, len(levels))
	for c, row := range levels {
		out[c] = make([]int, len(row))
		for t, k := range row {
			out[c][t] = int(k)
		}
	}
	return out
}
