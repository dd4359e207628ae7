package optimize

import (
	"testing"
	"time"
)

// yearSpec is the oracle's scale: a year of 15-minute intervals, ten
// classes of three levels, min run and sleep of an hour, class ramps.
var yearSpec = genSpec{T: 35040, Classes: 10, Levels: 3, Commit: 4, ClassRamp: true}

func BenchmarkSeparableYear10Classes(b *testing.B) {
	p := genProblem(1, yearSpec)
	b.ResetTimer()
	for b.Loop() {
		sol, err := Solve(p, Options{})
		if err != nil || sol.Method != MethodSeparable {
			b.Fatalf("Solve = %s, %v; want separable", sol.Method, err)
		}
	}
}

func BenchmarkLagrangianYear(b *testing.B) {
	g := yearSpec
	g.Cap, g.SiteRamp = true, true
	p := genProblem(1, g)
	var sol Solution
	for b.Loop() {
		var err error
		sol, err = Solve(p, Options{})
		if err != nil || sol.Method != MethodLagrangian {
			b.Fatalf("Solve = %s, %v; want lagrangian", sol.Method, err)
		}
	}
	b.ReportMetric(sol.Gap(), "gap")
	b.ReportMetric(float64(sol.Iterations), "iterations")
	b.Logf("objective %.2f bound %.2f gap %.3g after %d iterations", sol.Objective, sol.Bound, sol.Gap(), sol.Iterations)
}

// BenchmarkGLPKWeek times GLPK on a week of five classes with min run and
// sleep of an hour and a site ramp (with a 15-minute limit), for scale:
// it reports GLPK's objective, ours (from Solve) and our proven bound.
func BenchmarkGLPKWeek(b *testing.B) {
	glpsol := glpsolPath(b)
	p := genProblem(1, weekSpec)
	start := time.Now()
	sol, err := Solve(p, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ours := time.Since(start)
	var res glpkResult
	for b.Loop() {
		res = runGLPK(b, glpsol, p, 900)
	}
	b.ReportMetric(res.Objective, "glpk-objective")
	b.ReportMetric(sol.Objective, "our-objective")
	b.ReportMetric(sol.Bound, "our-bound")
	b.Logf("glpsol: %s, objective %.2f in %v; Solve (%s): objective %.2f, bound %.2f, gap %.3g in %v",
		res.Status, res.Objective, res.Elapsed, sol.Method, sol.Objective, sol.Bound, sol.Gap(), ours)
}

// weekSpec is the planner's longest look-ahead: a week of five classes
// with min run and sleep of an hour and a site ramp.
var weekSpec = genSpec{T: 672, Classes: 5, Levels: 3, Commit: 4, ClassRamp: true, SiteRamp: true}
