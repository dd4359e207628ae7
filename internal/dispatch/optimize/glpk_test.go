package optimize

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// glpsolPath returns the glpsol binary, skipping the test when it is
// missing unless GRIDMINER_REQUIRE_GLPSOL=1 (as in CI), then failing.
func glpsolPath(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("glpsol")
	if err != nil {
		if os.Getenv("GRIDMINER_REQUIRE_GLPSOL") == "1" {
			tb.Fatalf("glpsol not found (GRIDMINER_REQUIRE_GLPSOL=1): %v", err)
		}
		tb.Skipf("glpsol not found (install Debian glpk-utils to cross-check against GLPK): %v", err)
	}
	return path
}

// glpkResult is glpsol's answer to a WriteLP model.
type glpkResult struct {
	Status    string  // e.g. "INTEGER OPTIMAL"
	Objective float64 // as printed (10 significant digits)
	Levels    [][]int // the x<c>_<k>_<t> at 1, rounded
	Elapsed   time.Duration
}

// runGLPK writes p as an LP file, solves it with glpsol (with a time limit
// in seconds) and parses the printed solution.
func runGLPK(tb testing.TB, glpsol string, p *Problem, tmlim int) glpkResult {
	tb.Helper()
	dir := tb.TempDir()
	lp, out := filepath.Join(dir, "model.lp"), filepath.Join(dir, "model.out")
	var buf bytes.Buffer
	if err := WriteLP(&buf, p); err != nil {
		tb.Fatalf("WriteLP: %v", err)
	}
	if err := os.WriteFile(lp, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	cmd := exec.Command(glpsol, "--lp", lp, "--cuts", "-o", out, "--tmlim", strconv.Itoa(tmlim))
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("glpsol: %v\n%s", err, msg)
	}
	res, err := parseGLPK(out, p)
	if err != nil {
		tb.Fatalf("parse glpsol output: %v", err)
	}
	res.Elapsed = time.Since(start)
	return res
}

// parseGLPK reads glpsol's printable MIP solution (-o): the status, the
// objective and the activities of the level binaries.
func parseGLPK(path string, p *Problem) (glpkResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return glpkResult{}, err
	}
	defer f.Close()
	res := glpkResult{Levels: make([][]int, len(p.Classes))}
	for c := range res.Levels {
		res.Levels[c] = make([]int, p.T)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	inColumns, objSeen := false, false
	var pending string // a column name printed alone on its line
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Status:"):
			res.Status = strings.TrimSpace(strings.TrimPrefix(line, "Status:"))
		case strings.HasPrefix(line, "Objective:"):
			// "Objective:  obj = 2.9985 (MAXimum)"
			i := strings.Index(line, "=")
			if i < 0 || len(strings.Fields(line[i+1:])) == 0 {
				return res, fmt.Errorf("bad objective line %q", line)
			}
			if res.Objective, err = strconv.ParseFloat(strings.Fields(line[i+1:])[0], 64); err != nil {
				return res, fmt.Errorf("objective line %q: %w", line, err)
			}
			objSeen = true
		case strings.Contains(line, "Column name"):
			inColumns = true
		case inColumns && strings.HasPrefix(line, "Integer feasibility"):
			inColumns = false
		case inColumns && len(fields) == 2 && pending == "":
			pending = fields[1] // "  123 long_name" then the values on the next line
		case inColumns && len(fields) >= 3:
			name, vals := "", fields
			if pending != "" {
				name, pending = pending, ""
			} else {
				name, vals = fields[1], fields[2:]
			}
			if vals[0] == "*" {
				vals = vals[1:]
			}
			if !strings.HasPrefix(name, "x") {
				continue
			}
			var c, k, t int
			if _, err := fmt.Sscanf(name, "x%d_%d_%d", &c, &k, &t); err != nil {
				return res, fmt.Errorf("column %q: %w", name, err)
			}
			v, err := strconv.ParseFloat(vals[0], 64)
			if err != nil {
				return res, fmt.Errorf("column %q activity %q: %w", name, vals[0], err)
			}
			if c < 0 || c >= len(p.Classes) || t < 0 || t >= p.T {
				return res, fmt.Errorf("column %q out of range", name)
			}
			if math.Round(v) == 1 {
				res.Levels[c][t] = k
			}
		}
	}
	if err := sc.Err(); err != nil {
		return res, err
	}
	if !objSeen {
		return res, fmt.Errorf("no objective in %s", path)
	}
	return res, nil
}

// glpkCases are the instances cross-checked against GLPK, from fixed
// seeds: separable ones up to a week, coupled ones small enough for the
// exact joint DP, and coupled ones beyond it (solved by the Lagrangian
// method). Sizes are chosen so glpsol --cuts proves each optimum in
// seconds.
var glpkCases = []struct {
	name   string
	seed   uint64
	g      genSpec
	method string // the method Solve must pick
}{
	{"separable day 3 classes", 11, genSpec{T: 96, Classes: 3, MaxLevels: 3, MaxCommit: 4, ClassRamp: true}, MethodSeparable},
	{"separable 2 days 4 classes", 12, genSpec{T: 192, Classes: 4, MaxLevels: 3, MaxCommit: 4, ClassRamp: true, Value: true}, MethodSeparable},
	{"separable half week 5 classes", 13, genSpec{T: 336, Classes: 5, MaxLevels: 3, MaxCommit: 4, ClassRamp: true}, MethodSeparable},
	{"separable week 5 classes", 14, genSpec{T: 672, Classes: 5, MaxLevels: 3, MaxCommit: 4, ClassRamp: true}, MethodSeparable},
	{"separable week 3 classes min run 8", 15, genSpec{T: 672, Classes: 3, MaxLevels: 4, MaxCommit: 8, ClassRamp: true, Value: true}, MethodSeparable},
	{"separable 5 days 2 classes", 16, genSpec{T: 480, Classes: 2, MaxLevels: 2, Commit: 8, ClassRamp: true}, MethodSeparable},
	{"separable day 5 classes", 17, genSpec{T: 96, Classes: 5, MaxLevels: 3, MaxCommit: 2, Value: true}, MethodSeparable},
	{"separable week 4 classes", 18, genSpec{T: 672, Classes: 4, MaxLevels: 3, Commit: 4, ClassRamp: true}, MethodSeparable},
	{"joint cap convex cost", 21, genSpec{T: 24, Classes: 2, MaxLevels: 3, MaxCommit: 2, Cap: true, Segments: 2}, MethodJoint},
	{"joint cap floor", 22, genSpec{T: 48, Classes: 3, MaxLevels: 2, MaxCommit: 2, Cap: true, Floor: true}, MethodJoint},
	{"joint day everything", 23, genSpec{T: 96, Classes: 2, Levels: 3, Commit: 3, ClassRamp: true, Cap: true, SiteRamp: true, Segments: 3}, MethodJoint},
	{"joint 4 classes cap site ramp", 24, genSpec{T: 32, Classes: 4, MaxLevels: 2, MaxCommit: 1, Cap: true, SiteRamp: true}, MethodJoint},
	{"joint 5 classes floor site ramp", 25, genSpec{T: 24, Classes: 5, Levels: 1, Floor: true, Segments: 3, SiteRamp: true}, MethodJoint},
	{"joint day site ramp convex", 26, genSpec{T: 96, Classes: 3, MaxLevels: 2, MaxCommit: 2, Segments: 2, SiteRamp: true}, MethodJoint},
	{"joint cap with compute value", 27, genSpec{T: 64, Classes: 3, Levels: 2, Cap: true, Value: true}, MethodJoint},
	{"joint min run 4 all coupling", 28, genSpec{T: 48, Classes: 2, Commit: 4, MaxLevels: 3, Cap: true, Floor: true, SiteRamp: true, Segments: 3}, MethodJoint},
	{"joint day 4 classes", 29, genSpec{T: 96, Classes: 4, Levels: 1, MaxCommit: 2, Cap: true, SiteRamp: true}, MethodJoint},
	{"joint 5 classes convex cap", 30, genSpec{T: 12, Classes: 5, MaxLevels: 2, Cap: true, Segments: 2}, MethodJoint},
	{"lagrangian 5 classes site ramp", 31, genSpec{T: 12, Classes: 5, Levels: 3, Commit: 3, ClassRamp: true, Cap: true, SiteRamp: true}, MethodLagrangian},
	{"lagrangian 6 classes convex cap", 32, genSpec{T: 16, Classes: 6, Levels: 2, Commit: 3, Cap: true, Segments: 2}, MethodLagrangian},
	{"lagrangian 5 classes floor cap", 33, genSpec{T: 24, Classes: 5, Levels: 3, Commit: 3, Floor: true, Cap: true}, MethodLagrangian},
	{"lagrangian 4 classes min run 5", 34, genSpec{T: 24, Classes: 4, Levels: 3, Commit: 5, ClassRamp: true, Cap: true, SiteRamp: true, Segments: 2}, MethodLagrangian},
}

// TestGLPK cross-checks Solve against GLPK's MILP solver on WriteLP's
// model: GLPK's optimal schedule must be feasible with the objective GLPK
// reports; the exact methods must match GLPK's optimum to 1e-6
// (relative); the Lagrangian method's bound must not be below it nor its
// objective above it.
func TestGLPK(t *testing.T) {
	glpsol := glpsolPath(t)
	for _, tc := range glpkCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := genProblem(tc.seed, tc.g)
			sol, err := Solve(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if sol.Method != tc.method {
				t.Fatalf("Solve picked %s, want %s", sol.Method, tc.method)
			}
			checkSolution(t, p, sol)
			res := runGLPK(t, glpsol, p, 120)
			if res.Status != "INTEGER OPTIMAL" {
				t.Fatalf("glpsol status %q after %v (objective %v), want INTEGER OPTIMAL", res.Status, res.Elapsed, res.Objective)
			}
			opt := res.Objective
			tol := 1e-6 * math.Max(1, math.Abs(opt))
			got, err := Evaluate(p, res.Levels)
			if err != nil {
				t.Fatalf("GLPK's schedule: %v", err)
			}
			if math.Abs(got-opt) > tol {
				t.Errorf("GLPK's schedule evaluates to %v, GLPK says %v", got, opt)
			}
			if sol.Exact {
				if math.Abs(sol.Objective-opt) > tol {
					t.Errorf("%s: objective %.9g, GLPK optimum %.9g", sol.Method, sol.Objective, opt)
				}
			}
			if sol.Bound < opt-tol || sol.Objective > opt+tol {
				t.Errorf("%s: bound %.9g, objective %.9g; GLPK optimum %.9g", sol.Method, sol.Bound, sol.Objective, opt)
			}
			t.Logf("%s: objective %.4f, bound %.4f (gap %.2g, %.2g below GLPK's optimum) in %d iterations; glpsol %.4f in %v",
				sol.Method, sol.Objective, sol.Bound, sol.Gap(), (opt-sol.Objective)/math.Max(1, math.Abs(opt)), sol.Iterations, opt, res.Elapsed.Round(time.Millisecond))
		})
	}
}
