package optimize

import (
	"cmp"
	"math"
	"slices"
)

// maxPasses bounds the block-coordinate passes over all classes.
const maxPasses = 50

// lnsWindow is the span of the windows over which subsets of classes are
// re-solved jointly; consecutive windows overlap by half. maxSubset is
// the largest subset (subsets also keep within Options.JointLimit).
const (
	lnsWindow = 96
	maxSubset = 4
)

// ascent improves feasible schedules: block-coordinate ascent re-solves
// each class in turn exactly with the others fixed; neighbourhoods
// re-solves subsets of two to four classes jointly over windows.
type ascent struct {
	s      *solver
	scr    []*dpScratch
	cur    [][]uint8
	draw   [][]float64 // [c][t] the current class draws
	total  []float64   // [t] Σ_c draw[c][t]
	states [][]int     // [c][t] the class state before interval t, if not stale
	stale  []bool
	tmp    []uint8
}

func (s *solver) newAscent() *ascent {
	T := s.p.T
	C := len(s.models)
	b := &ascent{s: s, scr: make([]*dpScratch, C), cur: make([][]uint8, C), draw: make([][]float64, C),
		states: make([][]int, C), stale: make([]bool, C), tmp: make([]uint8, T), total: make([]float64, T)}
	for c, m := range s.models {
		b.scr[c] = m.scratch(T, true)
		b.cur[c] = make([]uint8, T)
		b.draw[c] = make([]float64, T)
		b.states[c] = make([]int, T+1)
		b.stale[c] = true
	}
	return b
}

// load makes start the current schedule.
func (b *ascent) load(start [][]uint8) {
	for c, m := range b.s.models {
		copy(b.cur[c], start[c])
		for t, k := range start[c] {
			b.draw[c][t] = m.draw[k]
		}
		b.stale[c] = true
	}
	b.retotal()
}

// retotal sums the site draw afresh (set keeps it by differences; each
// load starts it exact again).
func (b *ascent) retotal() {
	for t := range b.total {
		x := 0.0
		for c := range b.draw {
			x += b.draw[c][t]
		}
		b.total[t] = x
	}
}

// set writes levels to class c's schedule from interval a.
func (b *ascent) set(c, a int, levels []uint8) {
	m := b.s.models[c]
	copy(b.cur[c][a:], levels)
	for t, k := range levels {
		if w := m.draw[k]; w != b.draw[c][a+t] {
			b.total[a+t] += w - b.draw[c][a+t]
			b.draw[c][a+t] = w
		}
	}
	b.stale[c] = true
}

// stateAt is class c's state before interval t in the current schedule.
func (b *ascent) stateAt(c, t int) int {
	if b.stale[c] {
		m, st := b.s.models[c], b.states[c]
		st[0] = m.init
		for i, k := range b.cur[c] {
			st[i+1] = m.next(st[i], k)
		}
		b.stale[c] = false
	}
	return b.states[c][t]
}

// run improves start (class-feasible; if it breaks the site ramp it is
// repaired first) until no class alone can do better. It returns the
// objective and a fresh copy of the schedule, or ok false if the site
// ramp could not be repaired.
func (b *ascent) run(start [][]uint8) (obj float64, sched [][]uint8, ok bool) {
	s := b.s
	b.load(start)
	if s.p.SiteRamp > 0 && b.violation() > 0 {
		// Penalty continuation: passes over the classes in which each
		// watt of site ramp excess costs four times more than in the last,
		// from about twice the price of power, until none is left.
		penalty := 2 * s.pricePerWatt()
		for range repairRounds {
			for c := range s.models {
				b.improve(c, penalty)
			}
			if b.violation() == 0 {
				break
			}
			penalty *= 4
		}
		if b.violation() > 0 {
			return 0, nil, false
		}
	}
	b.cycle(-1)
	obj, err := s.objective(b.cur)
	if err != nil {
		return 0, nil, false
	}
	return obj, cloneSched(b.cur, nil), true
}

// repairRounds bounds the penalty continuation of the site ramp repair.
const repairRounds = 16

// cycle re-solves the classes in turn until none improves: with penalty
// < 0 under the site ramp, otherwise with penalty per watt of excess.
func (b *ascent) cycle(penalty float64) {
	C := len(b.s.models)
	fails := 0
	for c, calls := 0, 0; fails < C && calls < maxPasses*C; c, calls = (c+1)%C, calls+1 {
		if b.improve(c, penalty) {
			fails = 1 // c itself is now optimal given the others
		} else {
			fails++
		}
	}
}

// violation is the total excess of the site ramp in the current schedule.
func (b *ascent) violation() float64 {
	p := b.s.p
	v, prev := 0.0, b.s.initD
	for t := 0; t < p.T; t++ {
		d := 0.0
		for c := range b.draw {
			d += b.draw[c][t]
		}
		v += max(0, math.Abs(d-prev)-p.SiteRamp)
		prev = d
	}
	return v
}

// improve re-solves class c with the others fixed and keeps the result if
// it is strictly better: under the site ramp with penalty < 0, otherwise
// with penalty per watt of site ramp excess.
func (b *ascent) improve(c int, penalty float64) bool {
	s := b.s
	p := s.p
	T := p.T
	m, d := s.models[c], b.scr[c]
	nl := m.nl
	for t := range T {
		others := b.total[t] - b.draw[c][t]
		hv := p.HashValue[t]
		for k := range nl {
			x := others + m.draw[k]
			d.tot[t*nl+k] = x
			d.val[t*nl+k] = m.c.gain(k, hv) - p.site(t, x)
		}
	}
	ramp := p.SiteRamp
	if ramp == 0 {
		ramp = math.Inf(1)
	}
	// The current schedule's value on the same terms.
	curV, prev := 0.0, s.initD
	for t, k := range b.cur[c] {
		curV += d.val[t*nl+int(k)]
		x := d.tot[t*nl+int(k)]
		if excess := math.Abs(x-prev) - ramp; excess > 0 && penalty >= 0 {
			curV -= penalty * excess
		}
		prev = x
	}
	v, ok := m.solveSite(T, d, s.initD, ramp, penalty, b.tmp)
	if !ok || slices.Equal(b.tmp, b.cur[c]) || v <= curV+1e-12*math.Max(1, math.Abs(curV)) {
		return false
	}
	b.set(c, 0, b.tmp)
	return true
}

// window is the intervals [a, b).
type window struct{ a, b int }

// neighbourhoods re-solves every pair, then every triple, then every
// quadruple of classes jointly (subsetDP) over overlapping windows,
// keeping strict improvements, until nothing improves or the work budget
// (in joint DP moves) is spent. Windows go in decreasing order of their
// share of the duality gap (qt, the dual's share per interval at the best
// bound, minus the schedule's), and a window is revisited only after a
// change near it.
//
// It stops early once done reports the current schedule good enough.
func (b *ascent) neighbourhoods(qt []float64, budget float64, done func() bool) {
	s := b.s
	T, C := s.p.T, len(s.models)
	var windows []window
	for a := 0; ; a += lnsWindow / 2 {
		e := min(a+lnsWindow, T)
		windows = append(windows, window{a, e})
		if e >= T {
			break
		}
	}
	ft := make([]float64, T)
	score := make([]float64, len(windows))
	dirty := make([]bool, len(windows))
	order := make([]int, len(windows))
	before := make([][]uint8, C)
	start := make([]int, maxSubset)
	used := 0.0
	for k := 2; k <= min(maxSubset, C); k++ {
		for i := range dirty {
			dirty[i] = true
		}
		for {
			s.terms(b.cur, ft)
			if done() {
				return
			}
			for i, w := range windows {
				score[i] = 0
				for t := w.a; t < w.b; t++ {
					score[i] += qt[t] - ft[t]
				}
				order[i] = i
			}
			slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(score[y], score[x]) })
			changed := false
			for _, wi := range order {
				if !dirty[wi] {
					continue
				}
				dirty[wi] = false
				w := windows[wi]
				lo, hi := -1, -1 // the intervals changed in this window
				ok := subsets(C, k, func(sub []int) bool {
					states, combos, moves := s.jointSize(sub)
					if states > float64(s.opt.JointLimit) || combos > 1<<16 || states*float64(w.b-w.a) > jointMemory {
						return true // too big to re-solve jointly
					}
					if used += float64(w.b-w.a) * moves; used > budget {
						return false
					}
					for j, c := range sub {
						start[j] = b.stateAt(c, w.a)
					}
					out, v, cv := s.subsetDP(b.cur, sub, w.a, w.b, start[:len(sub)])
					if v <= cv+1e-12*math.Max(1, math.Abs(cv)) {
						return true
					}
					for j, c := range sub {
						for t, lv := range out[j] {
							if b.cur[c][w.a+t] != lv {
								lo, hi = minFirst(lo, w.a+t), max(hi, w.a+t)
							}
						}
						b.set(c, w.a, out[j])
					}
					return true
				})
				if lo >= 0 {
					changed = true
					markNear(dirty, windows, lo, hi)
				}
				if !ok {
					return
				}
			}
			if !changed {
				break
			}
			// Single-class ascent may now find more; re-open what it changes.
			cloneSched(b.cur, before)
			b.cycle(-1)
			for c := range before {
				for t := range before[c] {
					if before[c][t] != b.cur[c][t] {
						markNear(dirty, windows, t, t)
					}
				}
			}
		}
	}
}

// markNear marks dirty the windows that hold or touch intervals [lo, hi].
func markNear(dirty []bool, windows []window, lo, hi int) {
	for i, w := range windows {
		if w.a <= hi+1 && lo-1 < w.b {
			dirty[i] = true
		}
	}
}

func minFirst(lo, t int) int {
	if lo < 0 {
		return t
	}
	return min(lo, t)
}

// subsets calls fn with every k-subset of 0..n−1 in lexicographic order
// until fn returns false; it reports whether it finished.
func subsets(n, k int, fn func([]int) bool) bool {
	sub := make([]int, k)
	for i := range sub {
		sub[i] = i
	}
	for {
		if !fn(sub) {
			return false
		}
		i := k - 1
		for i >= 0 && sub[i] == n-k+i {
			i--
		}
		if i < 0 {
			return true
		}
		sub[i]++
		for j := i + 1; j < k; j++ {
			sub[j] = sub[j-1] + 1
		}
	}
}
