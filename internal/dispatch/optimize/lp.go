package optimize

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// lpScale converts W to the MW the LP is written in, for better-scaled
// coefficients; money stays in $.
const lpScale = 1e6

// WriteLP writes the problem as a mixed-integer programme in CPLEX LP
// format, as read by glpsol --lp (GLPK) and other MILP solvers, so an
// independent solver can check Solve. Its optimum is the problem's
// optimum: the objective has no constant term. Powers are in MW. GLPK
// proves optimality far sooner with cuts on (glpsol --lp file --cuts).
//
// Variables: x<c>_<k>_<t> binary, 1 if class c runs level k (0 = asleep)
// in interval t; st<c>_<t> and sp<c>_<t> in [0, 1], the start and stop
// indicators (only for classes with MinRun or MinSleep above 1); y<t>_<s>
// in [0, Width], the draw in cost segment s; lo<t> and hi<t> ≥ 0, the
// draw below Min and above Max (only where they can bind). Constraints:
// one level per class and interval (l), site draw = Σ segments (d),
// start/stop balance (ss), tight min run (mr) and min sleep (ms) windows,
// forced initial runs or sleeps (f), class ramp (cu, cd), site ramp (su,
// sd) and soft bounds (lb, ub).
func WriteLP(w io.Writer, p *Problem) error {
	if err := p.Validate(); err != nil {
		return err
	}
	lw := &lpWriter{w: bufio.NewWriter(w)}
	lw.writeModel(p)
	if lw.err == nil {
		lw.err = lw.w.Flush()
	}
	if lw.err != nil {
		return fmt.Errorf("optimize: write lp: %w", lw.err)
	}
	return nil
}

type lpWriter struct {
	w     *bufio.Writer
	err   error
	terms int // terms on the current line
}

func (lw *lpWriter) printf(format string, args ...any) {
	if lw.err == nil {
		_, lw.err = fmt.Fprintf(lw.w, format, args...)
	}
}

// term writes "+ coef name" (nothing for a zero coefficient), wrapping
// long rows.
func (lw *lpWriter) term(coef float64, name string, args ...any) {
	if coef == 0 {
		return
	}
	sign := "+"
	if coef < 0 {
		sign, coef = "-", -coef
	}
	if lw.terms == 8 {
		lw.printf("\n   ")
		lw.terms = 0
	}
	lw.terms++
	lw.printf(" %s %s %s", sign, num(coef), fmt.Sprintf(name, args...))
}

// row starts a constraint; end finishes it with a sense and right side.
func (lw *lpWriter) row(name string, args ...any) {
	lw.terms = 0
	lw.printf(" %s:", fmt.Sprintf(name, args...))
}

func (lw *lpWriter) end(sense string, rhs float64) {
	lw.printf(" %s %s\n", sense, num(rhs))
}

func num(v float64) string {
	if v == 0 {
		return "0" // not "-0"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func (lw *lpWriter) writeModel(p *Problem) {
	minD, maxD, initD := p.minDraw(), p.maxDraw(), p.initDraw()
	under := func(t int) bool { return p.Min != nil && p.UnderPenalty > 0 && p.Min[t] > minD }
	over := func(t int) bool { return p.Max != nil && p.OverPenalty > 0 && p.Max[t] < maxD }
	commit := func(c *Class) bool { return c.MinRun > 1 || c.MinSleep > 1 }
	classRamp := func(c *Class) bool { return c.Ramp > 0 && c.Ramp < c.draw(len(c.Levels))-c.Sleep }
	siteRamp := p.SiteRamp > 0 && p.SiteRamp < maxD-minD

	lw.printf("\\ gridminer dispatch/optimize: %d intervals, %d classes; powers in MW, money in $\n", p.T, len(p.Classes))
	lw.printf("Maximize\n obj: + 0 zero")
	lw.terms = 1
	for t := 0; t < p.T; t++ {
		for ci := range p.Classes {
			c := &p.Classes[ci]
			for k := 1; k <= len(c.Levels); k++ {
				lw.term(c.gain(k, p.HashValue[t]), "x%d_%d_%d", ci, k, t)
			}
		}
		for s, g := range p.Cost[t] {
			lw.term(-g.Cost*lpScale, "y%d_%d", t, s)
		}
		if under(t) {
			lw.term(-p.UnderPenalty*lpScale, "lo%d", t)
		}
		if over(t) {
			lw.term(-p.OverPenalty*lpScale, "hi%d", t)
		}
	}
	lw.printf("\nSubject To\n")
	for t := 0; t < p.T; t++ {
		for ci := range p.Classes {
			lw.row("l%d_%d", ci, t)
			for k := 0; k <= len(p.Classes[ci].Levels); k++ {
				lw.term(1, "x%d_%d_%d", ci, k, t)
			}
			lw.end("=", 1)
		}
		lw.row("d%d", t)
		lw.term(1, "y%d_0", t) // a row needs a term even with zero draws
		for s := 1; s < len(p.Cost[t]); s++ {
			lw.term(1, "y%d_%d", t, s)
		}
		for ci := range p.Classes {
			c := &p.Classes[ci]
			for k := 0; k <= len(c.Levels); k++ {
				lw.term(-c.draw(k)/lpScale, "x%d_%d_%d", ci, k, t)
			}
		}
		lw.end("=", 0)
		if siteRamp {
			for _, side := range []struct {
				name, sense string
				sign        float64
			}{{"su", "<=", 1}, {"sd", ">=", -1}} {
				lw.row("%s%d", side.name, t)
				for s := range p.Cost[t] {
					lw.term(1, "y%d_%d", t, s)
				}
				rhs := side.sign * p.SiteRamp / lpScale
				if t == 0 {
					rhs += initD / lpScale
				} else {
					for s := range p.Cost[t-1] {
						lw.term(-1, "y%d_%d", t-1, s)
					}
				}
				lw.end(side.sense, rhs)
			}
		}
		if under(t) {
			lw.row("lb%d", t)
			for s := range p.Cost[t] {
				lw.term(1, "y%d_%d", t, s)
			}
			lw.term(1, "lo%d", t)
			lw.end(">=", p.Min[t]/lpScale)
		}
		if over(t) {
			lw.row("ub%d", t)
			for s := range p.Cost[t] {
				lw.term(1, "y%d_%d", t, s)
			}
			lw.term(-1, "hi%d", t)
			lw.end("<=", p.Max[t]/lpScale)
		}
	}
	for ci := range p.Classes {
		c := &p.Classes[ci]
		lw.writeClass(p, ci, c, commit(c), classRamp(c))
	}
	lw.printf("Bounds\n zero = 0\n")
	for t := 0; t < p.T; t++ {
		for s, g := range p.Cost[t] {
			if !math.IsInf(g.Width, 1) {
				lw.printf(" y%d_%d <= %s\n", t, s, num(g.Width/lpScale))
			}
		}
	}
	for ci := range p.Classes {
		if commit(&p.Classes[ci]) {
			for t := 0; t < p.T; t++ {
				lw.printf(" st%d_%d <= 1\n sp%d_%d <= 1\n", ci, t, ci, t)
			}
		}
	}
	lw.printf("Binary\n")
	for ci := range p.Classes {
		for t := 0; t < p.T; t++ {
			var b strings.Builder
			for k := 0; k <= len(p.Classes[ci].Levels); k++ {
				fmt.Fprintf(&b, " x%d_%d_%d", ci, k, t)
			}
			lw.printf("%s\n", b.String())
		}
	}
	lw.printf("End\n")
}

// writeClass writes one class's commitment and ramp rows.
func (lw *lpWriter) writeClass(p *Problem, ci int, c *Class, commit, ramp bool) {
	initOn := c.Init.Level > 0
	if commit {
		for t := 0; t < p.T; t++ {
			// on_t − on_{t−1} = st − sp, with on_t = 1 − x_c_0_t.
			lw.row("ss%d_%d", ci, t)
			lw.term(1, "st%d_%d", ci, t)
			lw.term(-1, "sp%d_%d", ci, t)
			lw.term(1, "x%d_0_%d", ci, t)
			rhs := 0.0
			if t == 0 {
				if !initOn {
					rhs = 1
				}
			} else {
				lw.term(-1, "x%d_0_%d", ci, t-1)
			}
			lw.end("=", rhs)
			if c.MinRun > 1 { // Σ recent starts ≤ on_t
				lw.row("mr%d_%d", ci, t)
				for tau := max(0, t-c.MinRun+1); tau <= t; tau++ {
					lw.term(1, "st%d_%d", ci, tau)
				}
				lw.term(1, "x%d_0_%d", ci, t)
				lw.end("<=", 1)
			}
			if c.MinSleep > 1 { // Σ recent stops ≤ 1 − on_t
				lw.row("ms%d_%d", ci, t)
				for tau := max(0, t-c.MinSleep+1); tau <= t; tau++ {
					lw.term(1, "sp%d_%d", ci, tau)
				}
				lw.term(-1, "x%d_0_%d", ci, t)
				lw.end("<=", 0)
			}
		}
		forced, asleep := 0, 0.0
		if initOn {
			forced = c.MinRun - c.Init.Age
		} else {
			forced, asleep = c.MinSleep-c.Init.Age, 1
		}
		for t := 0; t < min(forced, p.T); t++ {
			lw.row("f%d_%d", ci, t)
			lw.term(1, "x%d_0_%d", ci, t)
			lw.end("=", asleep)
		}
	}
	if ramp {
		for _, side := range []struct {
			name, sense string
			sign        float64
		}{{"cu", "<=", 1}, {"cd", ">=", -1}} {
			for t := 0; t < p.T; t++ {
				lw.row("%s%d_%d", side.name, ci, t)
				for k := 0; k <= len(c.Levels); k++ {
					lw.term(c.draw(k)/lpScale, "x%d_%d_%d", ci, k, t)
				}
				rhs := side.sign * c.Ramp / lpScale
				if t == 0 {
					rhs += c.draw(c.Init.Level) / lpScale
				} else {
					for k := 0; k <= len(c.Levels); k++ {
						lw.term(-c.draw(k)/lpScale, "x%d_%d_%d", ci, k, t-1)
					}
				}
				lw.end(side.sense, rhs)
			}
		}
	}
}
