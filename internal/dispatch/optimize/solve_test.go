package optimize

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var methods = []string{MethodSeparable, MethodJoint, MethodLagrangian}

// checkSolution checks what every solution promises: its levels are
// feasible, Objective is their Evaluate value and Bound is not below it.
func checkSolution(t *testing.T, p *Problem, sol Solution) {
	t.Helper()
	got, err := Evaluate(p, sol.Levels)
	if err != nil {
		t.Fatalf("%s: Evaluate(solution) = %v", sol.Method, err)
	}
	if got != sol.Objective {
		t.Errorf("%s: Evaluate(solution) = %v, want Objective %v", sol.Method, got, sol.Objective)
	}
	if sol.Bound < sol.Objective {
		t.Errorf("%s: Bound %v below Objective %v", sol.Method, sol.Bound, sol.Objective)
	}
	if sol.Exact && sol.Gap() > DefaultTolerance {
		t.Errorf("%s: exact with gap %v", sol.Method, sol.Gap())
	}
}

// oneClass is a single class with two levels and no sleep draw, at hash
// value 1 $/TH/s over three intervals priced 0.004, 0.012, 0.004 $/W.
// Per interval: level 1 (1000 W, 10 TH/s) earns 6, −2, 6; level 2 (2000
// W, 18 TH/s) earns 10, −6, 10; asleep earns 0.
func oneClass() *Problem {
	cost := func(c float64) []Segment { return []Segment{{Width: math.Inf(1), Cost: c}} }
	return &Problem{
		T:         3,
		HashValue: []float64{1, 1, 1},
		Cost:      [][]Segment{cost(0.004), cost(0.012), cost(0.004)},
		Classes: []Class{{ID: "a", Levels: []Level{{Power: 1000, Hash: 10}, {Power: 2000, Hash: 18}},
			Init: State{Level: 0, Age: 5}}},
	}
}

func TestSolveByHand(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Class)
		want   []int
		obj    float64
	}{
		{"free", func(c *Class) {}, []int{2, 0, 2}, 20},
		{"min run 2", func(c *Class) { c.MinRun = 2 }, []int{2, 1, 2}, 18},
		{"min sleep 2", func(c *Class) { c.MinSleep = 2 }, []int{2, 1, 2}, 18},
		{"min run 3 from a fresh start", func(c *Class) { c.MinRun, c.Init = 3, State{Level: 1, Age: 1} }, []int{2, 1, 2}, 18},
		{"min run 3 from a fresh start, ramp 1000", func(c *Class) { c.MinRun, c.Ramp, c.Init = 3, 1000, State{Level: 1, Age: 1} }, []int{2, 1, 2}, 18},
		{"ramp 1000", func(c *Class) { c.Ramp = 1000 }, []int{1, 1, 2}, 14},
		{"ramp 500 cannot move", func(c *Class) { c.Ramp = 500 }, []int{0, 0, 0}, 0},
		{"asleep with min sleep 3", func(c *Class) { c.MinSleep, c.Init = 3, State{Level: 0, Age: 1} }, []int{0, 0, 2}, 10},
	}
	for _, tt := range tests {
		for _, method := range methods {
			t.Run(tt.name+"/"+method, func(t *testing.T) {
				p := oneClass()
				tt.modify(&p.Classes[0])
				sol, err := Solve(p, Options{Method: method})
				if err != nil {
					t.Fatal(err)
				}
				checkSolution(t, p, sol)
				if diff := cmp.Diff([][]int{tt.want}, sol.Levels); diff != "" {
					t.Errorf("levels (-want +got):\n%s", diff)
				}
				if !near(sol.Objective, tt.obj, 1e-12) || !sol.Exact {
					t.Errorf("objective %v exact %v, want %v exact", sol.Objective, sol.Exact, tt.obj)
				}
			})
		}
	}
}

// TestSolveCoupledByHand: two 1000 W classes (10 and 8 TH/s) at 0.002 $/W
// under a 1500 W cap. Both running earn 18 − 4 − 500·penalty; a alone 8.
func TestSolveCoupledByHand(t *testing.T) {
	for _, tt := range []struct {
		penalty float64
		want    [][]int
		obj     float64
	}{
		{0.01, [][]int{{1}, {1}}, 9},
		{0.02, [][]int{{1}, {0}}, 8},
	} {
		for _, method := range []string{"", MethodJoint, MethodLagrangian} {
			t.Run(fmt.Sprintf("%v/%s", tt.penalty, method), func(t *testing.T) {
				p := &Problem{
					T: 1, HashValue: []float64{1}, Cost: [][]Segment{{{Width: math.Inf(1), Cost: 0.002}}},
					Max: []float64{1500}, OverPenalty: tt.penalty,
					Classes: []Class{
						{ID: "a", Levels: []Level{{Power: 1000, Hash: 10}}, Init: State{Age: 1}},
						{ID: "b", Levels: []Level{{Power: 1000, Hash: 8}}, Init: State{Age: 1}},
					},
				}
				sol, err := Solve(p, Options{Method: method})
				if err != nil {
					t.Fatal(err)
				}
				checkSolution(t, p, sol)
				if diff := cmp.Diff(tt.want, sol.Levels); diff != "" {
					t.Errorf("levels (-want +got):\n%s", diff)
				}
				if !near(sol.Objective, tt.obj, 1e-12) {
					t.Errorf("objective %v, want %v", sol.Objective, tt.obj)
				}
				if method == "" && sol.Method != MethodJoint {
					t.Errorf("method %q, want joint", sol.Method)
				}
				if sol.Bound < tt.obj-1e-9 {
					t.Errorf("bound %v below the optimum %v", sol.Bound, tt.obj)
				}
			})
		}
	}
}

// TestInitAgesHonoured: a class that loses money running must still run
// out its min run from Init, and one that earns must sleep out its min
// sleep first.
func TestInitAgesHonoured(t *testing.T) {
	const T = 6
	mk := func(cost float64, c Class) *Problem {
		p := &Problem{T: T, HashValue: make([]float64, T), Cost: make([][]Segment, T), Classes: []Class{c}}
		for i := range T {
			p.HashValue[i] = 1
			p.Cost[i] = []Segment{{Width: math.Inf(1), Cost: cost}}
		}
		return p
	}
	lv := []Level{{Power: 1000, Hash: 10}}
	tests := []struct {
		name string
		p    *Problem
		want []int
	}{
		{"running age 1 of min run 4", mk(1, Class{ID: "a", Levels: lv, MinRun: 4, Init: State{Level: 1, Age: 1}}), []int{1, 1, 1, 0, 0, 0}},
		{"running age 3 of min run 4", mk(1, Class{ID: "a", Levels: lv, MinRun: 4, Init: State{Level: 1, Age: 3}}), []int{1, 0, 0, 0, 0, 0}},
		{"running age 4 of min run 4", mk(1, Class{ID: "a", Levels: lv, MinRun: 4, Init: State{Level: 1, Age: 4}}), []int{0, 0, 0, 0, 0, 0}},
		{"asleep age 1 of min sleep 3", mk(0, Class{ID: "a", Levels: lv, MinSleep: 3, Init: State{Level: 0, Age: 1}}), []int{0, 0, 1, 1, 1, 1}},
		{"asleep age 2 of min sleep 9", mk(0, Class{ID: "a", Levels: lv, MinSleep: 9, Init: State{Level: 0, Age: 2}}), []int{0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		for _, method := range methods {
			t.Run(tt.name+"/"+method, func(t *testing.T) {
				sol, err := Solve(tt.p, Options{Method: method})
				if err != nil {
					t.Fatal(err)
				}
				checkSolution(t, tt.p, sol)
				if diff := cmp.Diff([][]int{tt.want}, sol.Levels); diff != "" {
					t.Errorf("levels (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestStayFeasible: when no class may move (class ramps below every step,
// or a site ramp below every class step) every method returns "everyone
// stays", even though moving would pay; when only a swap keeps to the
// site ramp, the swap.
func TestStayFeasible(t *testing.T) {
	tests := []struct {
		name   string
		modify func(p *Problem)
		want   [][]int
	}{
		{"class ramps", func(p *Problem) { p.Classes[0].Ramp, p.Classes[1].Ramp = 1, 1 }, [][]int{{0, 0, 0}, {1, 1, 1}}},
		{"site ramp", func(p *Problem) { p.SiteRamp, p.Classes[1].Init.Level = 500, 0 }, [][]int{{0, 0, 0}, {0, 0, 0}}},
		{"site ramp with a cap", func(p *Problem) {
			p.SiteRamp, p.Max, p.OverPenalty, p.Classes[1].Init.Level = 500, []float64{1, 1, 1}, 1, 0
		}, [][]int{{0, 0, 0}, {0, 0, 0}}},
		// a starting (+990 W) while b stops (−1000 W) is the only move.
		{"site ramp allows only a swap", func(p *Problem) { p.SiteRamp = 500 }, [][]int{{1, 1, 1}, {0, 0, 0}}},
	}
	for _, tt := range tests {
		for _, method := range []string{MethodJoint, MethodLagrangian} {
			t.Run(tt.name+"/"+method, func(t *testing.T) {
				p := tinyProblem()
				p.HashValue = []float64{100, 100, 100} // running high pays
				tt.modify(p)
				sol, err := Solve(p, Options{Method: method})
				if err != nil {
					t.Fatal(err)
				}
				checkSolution(t, p, sol)
				if diff := cmp.Diff(tt.want, sol.Levels); diff != "" {
					t.Errorf("levels (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestTieBreaking: with every schedule worth the same, classes keep their
// level; when staying is worse, they take the lowest of equal levels.
func TestTieBreaking(t *testing.T) {
	p := &Problem{
		T: 3, HashValue: []float64{0, 0, 0},
		Cost: [][]Segment{{{Width: math.Inf(1)}}, {{Width: math.Inf(1)}}, {{Width: math.Inf(1)}}},
		Classes: []Class{
			{ID: "a", Sleep: 1, Levels: []Level{{Power: 2}, {Power: 3}}, Init: State{Level: 2, Age: 1}},
			{ID: "b", Sleep: 1, Levels: []Level{{Power: 2}, {Power: 3}}, Init: State{Level: 0, Age: 1}},
		},
	}
	for _, method := range methods {
		sol, err := Solve(p, Options{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([][]int{{2, 2, 2}, {0, 0, 0}}, sol.Levels); diff != "" {
			t.Errorf("%s: free ties: levels (-want +got):\n%s", method, diff)
		}
	}
	// Running levels 1 and 2 earn 1 $ each, sleeping nothing.
	p.Classes[0].Levels[0].Value, p.Classes[0].Levels[1].Value = 1, 1
	p.Classes[1].Levels[0].Value, p.Classes[1].Levels[1].Value = 1, 1
	for _, method := range methods {
		sol, err := Solve(p, Options{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([][]int{{2, 2, 2}, {1, 1, 1}}, sol.Levels); diff != "" {
			t.Errorf("%s: lowest of equal levels: (-want +got):\n%s", method, diff)
		}
	}
}

// TestSolveMatchesBruteForce compares every method with the enumeration
// of all schedules of small random problems: exact methods must reach the
// optimum, and the Lagrangian bound must hold (Bound ≥ optimum ≥
// Objective).
func TestSolveMatchesBruteForce(t *testing.T) {
	gaps, found := 0, 0
	for seed := range uint64(120) {
		g := genSpec{T: 3 + int(seed%4), Classes: 1 + int(seed%3), MaxLevels: 2, MaxCommit: 3, ClassRamp: seed%2 == 0,
			Value: seed%5 == 0, Cap: seed%3 != 0, Floor: seed%4 == 1, Segments: 1 + int(seed%3), SiteRamp: seed%3 == 1}
		if g.Classes == 3 {
			g.MaxLevels, g.T = 1, min(g.T, 5)
		}
		if g.Classes == 2 && g.T > 5 {
			g.T = 5
		}
		p := genProblem(seed, g)
		want, _ := bruteForce(t, p)
		auto, err := Solve(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, method := range methods {
			sol, err := Solve(p, Options{Method: method})
			if method == MethodSeparable && auto.Method != MethodSeparable {
				if !errors.Is(err, ErrMethod) {
					t.Errorf("seed %d: forced separable on a coupled problem: %v, want ErrMethod", seed, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("seed %d %s: %v", seed, method, err)
			}
			checkSolution(t, p, sol)
			if sol.Bound < want-1e-9*math.Max(1, math.Abs(want)) || sol.Objective > want+1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("seed %d %s: bound %v, objective %v; brute-force optimum %v", seed, method, sol.Bound, sol.Objective, want)
			}
			if sol.Exact && !near(sol.Objective, want, 1e-9) {
				t.Errorf("seed %d %s: exact objective %v, brute-force optimum %v", seed, method, sol.Objective, want)
			}
			if method != MethodLagrangian && !sol.Exact {
				t.Errorf("seed %d %s: not exact", seed, method)
			}
			if method == MethodLagrangian && !sol.Exact {
				gaps++
			}
			if method == MethodLagrangian && near(sol.Objective, want, 1e-9) {
				found++
			}
		}
	}
	t.Logf("the Lagrangian method found the optimum of %d and closed the gap of %d of 120 problems", found, 120-gaps)
}

// TestSolveDeterministic: the same problem gives the same solution with
// any number of workers, every time.
func TestSolveDeterministic(t *testing.T) {
	for _, g := range []genSpec{
		{T: 400, Classes: 6, Levels: 3, Commit: 3, ClassRamp: true},
		{T: 200, Classes: 6, Levels: 3, Commit: 3, ClassRamp: true, Cap: true, SiteRamp: true, Segments: 2},
		{T: 48, Classes: 3, MaxLevels: 2, MaxCommit: 2, Cap: true, Floor: true, SiteRamp: true},
	} {
		p := genProblem(7, g)
		first, err := Solve(p, Options{Workers: 1, NeighbourhoodWork: 5e7})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []int{1, 2, 5, 0} {
			got, err := Solve(p, Options{Workers: w, NeighbourhoodWork: 5e7})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(first, got); diff != "" {
				t.Errorf("%s with %d workers differs (-first +got):\n%s", first.Method, w, diff)
			}
		}
	}
}

func TestMethodChoice(t *testing.T) {
	tests := []struct {
		name   string
		modify func(p *Problem)
		want   string
	}{
		{"linear cost", func(p *Problem) {}, MethodSeparable},
		{"segments beyond the largest draw", func(p *Problem) {
			for t := range p.Cost {
				p.Cost[t] = []Segment{{Width: 1e9, Cost: 1e-5}, {Width: math.Inf(1), Cost: 2e-5}}
			}
		}, MethodSeparable},
		{"equal-cost segments", func(p *Problem) {
			for t := range p.Cost {
				p.Cost[t] = []Segment{{Width: 10, Cost: 1e-5}, {Width: math.Inf(1), Cost: 1e-5}}
			}
		}, MethodSeparable},
		{"bounds that cannot bind", func(p *Problem) {
			p.Min, p.Max = make([]float64, p.T), make([]float64, p.T)
			for t := range p.Max {
				p.Max[t] = math.Inf(1)
			}
			p.UnderPenalty, p.OverPenalty = 1, 1
		}, MethodSeparable},
		{"a cap without a penalty", func(p *Problem) { p.Max = make([]float64, p.T) }, MethodSeparable},
		{"a site ramp wider than any step", func(p *Problem) { p.SiteRamp = 1e12 }, MethodSeparable},
		{"convex cost", func(p *Problem) {
			for t := range p.Cost {
				p.Cost[t] = []Segment{{Width: 1e6, Cost: 1e-5}, {Width: math.Inf(1), Cost: 2e-5}}
			}
		}, MethodJoint},
		{"a cap", func(p *Problem) { p.Max, p.OverPenalty = make([]float64, p.T), 1 }, MethodJoint},
		{"a floor", func(p *Problem) { p.Min, p.UnderPenalty = []float64{0, 1e7, 0, 0}, 1 }, MethodJoint},
		{"a site ramp", func(p *Problem) { p.SiteRamp = 1e6 }, MethodJoint},
		{"too many joint states", func(p *Problem) {
			p.SiteRamp = 1e6
			for i := range p.Classes {
				p.Classes[i].MinRun, p.Classes[i].MinSleep = 40, 40
			}
		}, MethodLagrangian},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := genProblem(3, genSpec{T: 4, Classes: 3, Levels: 2})
			tt.modify(p)
			sol, err := Solve(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if sol.Method != tt.want {
				t.Errorf("method %q, want %q", sol.Method, tt.want)
			}
			checkSolution(t, p, sol)
		})
	}
}

func TestMethodErrors(t *testing.T) {
	p := genProblem(3, genSpec{T: 4, Classes: 3, Levels: 2, Cap: true})
	tests := []struct {
		opt  Options
		want string
	}{
		{Options{Method: MethodSeparable}, "separable method: the classes are coupled"},
		{Options{Method: MethodJoint, JointLimit: 10}, "joint method: 27 joint states, above the limit 10"},
		{Options{Method: MethodJoint, JointWork: 10}, "joint method: work 2916 (intervals × joint moves), above the limit 10"},
		{Options{Method: "simplex"}, `unknown method "simplex"`},
	}
	for _, tt := range tests {
		_, err := Solve(p, tt.opt)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrMethod) {
			t.Errorf("Solve(%+v) = %v, want an ErrMethod containing %q", tt.opt, err, tt.want)
		}
	}
}

func TestSolveEmpty(t *testing.T) {
	for _, p := range []*Problem{
		{},
		{T: 2, HashValue: []float64{1, 1}, Cost: [][]Segment{{{Width: 1, Cost: 1}}, {{Width: 1, Cost: 1}}},
			Min: []float64{2, 0}, UnderPenalty: 3},
	} {
		for _, method := range methods {
			sol, err := Solve(p, Options{Method: method})
			if err != nil {
				t.Fatalf("%s: %v", method, err)
			}
			want := -6.0 * float64(min(p.T, 1))
			if sol.Objective != want || sol.Bound != want || !sol.Exact || len(sol.Levels) != 0 {
				t.Errorf("%s: %+v, want objective and bound %v, exact, no levels", method, sol, want)
			}
		}
	}
}
