package optimize

import (
	"math"
	"slices"
)

// primalEvery is how often (in iterations) the Lagrangian method turns its
// class schedules into a feasible schedule by block-coordinate ascent;
// stallLimit is how many iterations without a better bound halve the step.
const (
	primalEvery = 10
	stallLimit  = 3
)

// lagrangian holds the dual state: μ_t prices the site draw, γ_t the site
// ramp constraint of interval t (γ = α − β of the two one-sided ramp
// constraints, so the dual pays SiteRamp·|γ_t|).
type lagrangian struct {
	s         *solver
	mu, gamma []float64
	pi        []float64 // class watt price μ_t + γ_t − γ_{t+1}
	scr       []*dpScratch
	sched     [][]uint8 // the class DPs' schedules at the last dual evaluation
	classQ    []float64
	P, E      []float64 // class and site draw at the last dual evaluation
	qt        []float64 // the dual value's share of each interval
	// Site subproblem breakpoints: interval t's are pts[off[t]:off[t+1]],
	// with g = the site cost and penalties there.
	off    []int
	pts, g []float64
}

func (s *solver) newLagrangian() *lagrangian {
	p := s.p
	T, C := p.T, len(s.models)
	l := &lagrangian{
		s:      s,
		mu:     make([]float64, T),
		gamma:  make([]float64, T+1), // gamma[T] stays 0
		pi:     make([]float64, T),
		scr:    make([]*dpScratch, C),
		sched:  make([][]uint8, C),
		classQ: make([]float64, C),
		P:      make([]float64, T),
		E:      make([]float64, T),
		qt:     make([]float64, T),
		off:    make([]int, T+1),
	}
	for c, m := range s.models {
		l.scr[c] = m.scratch(T, false)
		l.sched[c] = make([]uint8, T)
	}
	for t := 0; t < T; t++ {
		l.off[t] = len(l.pts)
		l.pts = append(l.pts, s.minD)
		start := 0.0
		for _, seg := range p.Cost[t] {
			end := start + seg.Width
			if start <= s.minD && s.minD < end {
				l.mu[t] = seg.Cost // the watt price of the cheapest possible draw
			}
			if end > s.minD && end < s.maxD {
				l.pts = append(l.pts, end)
			}
			start = end
		}
		if p.Min != nil && p.UnderPenalty > 0 && p.Min[t] > s.minD && p.Min[t] < s.maxD {
			l.pts = append(l.pts, p.Min[t])
		}
		if p.Max != nil && p.OverPenalty > 0 && p.Max[t] > s.minD && p.Max[t] < s.maxD {
			l.pts = append(l.pts, p.Max[t])
		}
		l.pts = append(l.pts, s.maxD)
		slices.Sort(l.pts[l.off[t]:])
	}
	l.off[T] = len(l.pts)
	l.g = make([]float64, len(l.pts))
	for t := 0; t < T; t++ {
		for i := l.off[t]; i < l.off[t+1]; i++ {
			l.g[i] = p.site(t, l.pts[i])
		}
	}
	return l
}

// dual evaluates the dual function at (μ, γ): a proven upper bound on the
// optimum. It leaves the class schedules in sched, their draws in P and
// the site subproblem's draws in E (the maximiser nearest P).
func (l *lagrangian) dual() float64 {
	s := l.s
	p := s.p
	T := p.T
	for t := range T {
		l.pi[t] = l.mu[t] + l.gamma[t] - l.gamma[t+1]
	}
	s.forEachClass(func(c int) {
		m, d := s.models[c], l.scr[c]
		for t := range T {
			hv, pi := p.HashValue[t], l.pi[t]
			for k := 0; k < m.nl; k++ {
				d.val[t*m.nl+k] = m.c.gain(k, hv) - pi*m.draw[k]
			}
		}
		l.classQ[c] = m.solve(T, d, l.sched[c])
	})
	q := 0.0
	for _, v := range l.classQ {
		q += v
	}
	for t := range T {
		d, v := 0.0, 0.0
		for c, m := range s.models {
			k := l.sched[c][t]
			d += m.draw[k]
			v += m.c.gain(int(k), p.HashValue[t]) - l.pi[t]*m.draw[k]
		}
		l.P[t], l.qt[t] = d, v
	}
	for t := range T {
		pts, g := l.pts[l.off[t]:l.off[t+1]], l.g[l.off[t]:l.off[t+1]]
		mu := l.mu[t]
		best := math.Inf(-1)
		for i, e := range pts {
			best = max(best, mu*e-g[i])
		}
		// The maximisers form an interval; take its point nearest P_t.
		tol := 1e-12 * (math.Abs(best) + math.Abs(mu)*s.maxD)
		lo, hi := math.Inf(1), math.Inf(-1)
		for i, e := range pts {
			if mu*e-g[i] >= best-tol {
				lo, hi = min(lo, e), max(hi, e)
			}
		}
		l.E[t] = min(max(l.P[t], lo), hi)
		q += best
		l.qt[t] += best
	}
	if p.SiteRamp > 0 {
		for t := range T {
			q += p.SiteRamp * math.Abs(l.gamma[t])
			l.qt[t] += p.SiteRamp * math.Abs(l.gamma[t])
		}
		q += l.gamma[0] * s.initD
		if T > 0 {
			l.qt[0] += l.gamma[0] * s.initD
		}
	}
	return q
}

// step moves the multipliers against the dual's subgradient at the last
// evaluation by a Polyak step toward target; it returns false if the
// subgradient is zero (the multipliers are optimal).
func (l *lagrangian) step(q, target, lambda float64) bool {
	p := l.s.p
	T := p.T
	gm := make([]float64, T)
	gg := make([]float64, T)
	total := 0.0
	for t := range T {
		gm[t] = l.E[t] - l.P[t]
		total += gm[t] * gm[t]
	}
	if p.SiteRamp > 0 {
		r := p.SiteRamp
		for t := range T {
			prev := l.s.initD
			if t > 0 {
				prev = l.P[t-1]
			}
			v := prev - l.P[t]
			switch {
			case l.gamma[t] > 0:
				gg[t] = v + r
			case l.gamma[t] < 0:
				gg[t] = v - r
			default:
				gg[t] = v - min(max(v, -r), r)
			}
			total += gg[t] * gg[t]
		}
	}
	if total == 0 {
		return false
	}
	h := lambda * max(q-target, 0) / total
	for t := range T {
		l.mu[t] -= h * gm[t]
		l.gamma[t] -= h * gg[t]
	}
	return true
}

// solveLagrangian runs the Lagrangian method: subgradient steps on the
// dual for the bound; block-coordinate ascent and then joint re-solves of
// pairs and triples of classes over windows for feasible schedules.
func (s *solver) solveLagrangian() Solution {
	p := s.p
	tol := s.opt.Tolerance
	l := s.newLagrangian()
	b := s.newAscent()

	// "Everyone stays" is feasible: the first incumbent.
	stay := make([][]uint8, len(s.models))
	for c, m := range s.models {
		stay[c] = make([]uint8, p.T)
		for t := range stay[c] {
			stay[c][t] = uint8(m.c.Init.Level)
		}
	}
	bestObj, bestSched, _ := b.run(stay)
	consider := func(start [][]uint8) {
		if obj, sched, ok := b.run(start); ok && obj > bestObj {
			bestObj, bestSched = obj, sched
		}
	}
	closed := func(ub float64) bool { return ub-bestObj <= tol*math.Max(1, math.Abs(bestObj)) }

	ub := math.Inf(1)
	var ubSched [][]uint8
	ubQt := make([]float64, p.T)
	ubTried := false
	lambda, stall := 1.0, 0
	iter := 0
	for iter < s.opt.Iterations {
		q := l.dual()
		iter++
		if q < ub {
			ub, stall = q, 0
			ubSched = cloneSched(l.sched, ubSched)
			copy(ubQt, l.qt)
			ubTried = false
		} else if stall++; stall >= stallLimit {
			lambda, stall = lambda/2, 0
		}
		if iter == 1 || iter%primalEvery == 0 {
			consider(l.sched)
			ubTried = ubTried || q == ub
		}
		if closed(ub) || lambda < 1e-6 || !l.step(q, bestObj, lambda) {
			break
		}
	}
	if !ubTried && ubSched != nil && !closed(ub) {
		consider(ubSched)
	}
	if !closed(ub) && s.opt.NeighbourhoodWork > 0 {
		b.load(bestSched)
		b.neighbourhoods(ubQt, float64(s.opt.NeighbourhoodWork), func() bool {
			obj, err := s.objective(b.cur)
			return err == nil && ub-obj <= tol*math.Max(1, math.Abs(obj))
		})
		if obj, err := s.objective(b.cur); err == nil && obj > bestObj {
			bestObj, bestSched = obj, cloneSched(b.cur, nil)
		}
	}
	sol := Solution{
		Levels:     widen(bestSched),
		Objective:  bestObj,
		Bound:      math.Max(ub, bestObj),
		Iterations: iter,
	}
	sol.Exact = closed(sol.Bound)
	return sol
}

func cloneSched(src, dst [][]uint8) [][]uint8 {
	if dst == nil {
		dst = make([][]uint8, len(src))
	}
	for c := range src {
		dst[c] = append(dst[c][:0], src[c]...)
	}
	return dst
}
