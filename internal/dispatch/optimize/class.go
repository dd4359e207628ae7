package optimize

import "math"

// cand is one allowed move from a class state: run level k next, landing
// in state next.
type cand struct {
	k    uint8
	next uint16
}

// classModel is a class's DP state machine. States are (level, age) with
// the age counting intervals in the current mode, capped at MinSleep for
// the asleep states and at MinRun for the running ones; state index
// age−1 is asleep, sleepCap + (k−1)·runCap + age−1 runs level k. The
// moves are the same in every interval.
type classModel struct {
	c                *Class
	nl               int       // levels including sleep
	draw             []float64 // [k]
	runCap, sleepCap int
	ns               int
	level            []uint8 // [state]
	off              []int32 // [state] into cands, len ns+1
	cands            []cand  // each state's moves: stay first, then ascending levels
	init             int     // state before interval 0
}

func newClassModel(c *Class) *classModel {
	m := &classModel{
		c:        c,
		nl:       len(c.Levels) + 1,
		runCap:   max(c.MinRun, 1),
		sleepCap: max(c.MinSleep, 1),
	}
	m.draw = make([]float64, m.nl)
	for k := range m.draw {
		m.draw[k] = c.draw(k)
	}
	m.ns = m.sleepCap + len(c.Levels)*m.runCap
	m.level = make([]uint8, m.ns)
	m.off = make([]int32, m.ns+1)
	for s := range m.ns {
		k, age := m.decode(s)
		m.level[s] = uint8(k)
		m.off[s] = int32(len(m.cands))
		m.cands = append(m.cands, cand{uint8(k), uint16(m.state(k, age+1))})
		for k2 := 0; k2 < m.nl; k2++ {
			if k2 == k {
				continue
			}
			if next, ok := m.move(k, age, k2); ok {
				m.cands = append(m.cands, cand{uint8(k2), uint16(next)})
			}
		}
	}
	m.off[m.ns] = int32(len(m.cands))
	m.init = m.state(c.Init.Level, c.Init.Age)
	return m
}

// state is the index of (level k, age), capping the age.
func (m *classModel) state(k, age int) int {
	if k == 0 {
		return min(age, m.sleepCap) - 1
	}
	return m.sleepCap + (k-1)*m.runCap + min(age, m.runCap) - 1
}

func (m *classModel) decode(s int) (k, age int) {
	if s < m.sleepCap {
		return 0, s + 1
	}
	s -= m.sleepCap
	return s/m.runCap + 1, s%m.runCap + 1
}

// move says whether a class at level k with age may run level k2 next
// (k2 != k), and the state it lands in.
func (m *classModel) move(k, age, k2 int) (int, bool) {
	c := m.c
	if c.Ramp > 0 && math.Abs(m.draw[k2]-m.draw[k]) > c.Ramp {
		return 0, false
	}
	switch {
	case k != 0 && k2 != 0: // between running levels: the age runs on
		return m.state(k2, age+1), true
	case k2 == 0 && age < c.MinRun, k == 0 && age < c.MinSleep:
		return 0, false
	}
	return m.state(k2, 1), true
}

// moves returns state s's moves.
func (m *classModel) moves(s int) []cand { return m.cands[m.off[s]:m.off[s+1]] }

// next is the state after running k from s; k must be one of s's moves.
func (m *classModel) next(s int, k uint8) int {
	for _, c := range m.moves(s) {
		if c.k == k {
			return int(c.next)
		}
	}
	panic("optimize: internal error: move not allowed")
}

// dpScratch is a class DP's working memory, reused across calls.
type dpScratch struct {
	val    []float64 // [t*nl+k]: the value of running k in interval t
	tot    []float64 // [t*nl+k]: the site draw if the class runs k (site-aware DP)
	choice []uint8   // [t*ns+s]: the best next level from state s before interval t
	v0, v1 []float64 // [s]
	vt     []float64 // [j*nl+k]: site-aware move values of one interval
}

func (m *classModel) scratch(T int, siteAware bool) *dpScratch {
	d := &dpScratch{
		val:    make([]float64, T*m.nl),
		choice: make([]uint8, T*m.ns),
		v0:     make([]float64, m.ns),
		v1:     make([]float64, m.ns),
	}
	if siteAware {
		d.tot = make([]float64, T*m.nl)
		d.vt = make([]float64, m.nl*m.nl)
	}
	return d
}

// solve maximises Σ_t d.val[t*nl+k_t] over the class's feasible schedules
// by a backward DP, writes the best schedule to out (len T) and returns
// its value. Ties keep the level, then take the lowest level.
func (m *classModel) solve(T int, d *dpScratch, out []uint8) float64 {
	ns, nl := m.ns, m.nl
	v0, v1 := d.v0, d.v1
	clear(v1) // the value after the last interval
	for t := T - 1; t >= 0; t-- {
		vt := d.val[t*nl : t*nl+nl]
		ch := d.choice[t*ns : t*ns+ns]
		for s := range ns {
			cs := m.cands[m.off[s]:m.off[s+1]]
			best, bk := vt[cs[0].k]+v1[cs[0].next], cs[0].k
			for _, c := range cs[1:] {
				if x := vt[c.k] + v1[c.next]; x > best {
					best, bk = x, c.k
				}
			}
			v0[s], ch[s] = best, bk
		}
		v0, v1 = v1, v0
	}
	m.trace(T, d.choice, out)
	return v1[m.init]
}

// trace follows the DP's choices from the initial state.
func (m *classModel) trace(T int, choice []uint8, out []uint8) {
	s := m.init
	for t := range T {
		k := choice[t*m.ns+s]
		out[t] = k
		s = m.next(s, k)
	}
}

// solveSite is solve with the site ramp as a time-varying limit on the
// class's moves: d.tot[t*nl+k] is the site draw in interval t if the class
// runs k (the other classes fixed) and prev0 the site draw before interval
// 0. With penalty < 0 a move may not change the site draw by more than
// ramp, and it returns ok false if no schedule keeps to that; otherwise
// every move is allowed and each watt of excess costs penalty.
func (m *classModel) solveSite(T int, d *dpScratch, prev0, ramp, penalty float64, out []uint8) (value float64, ok bool) {
	ns, nl := m.ns, m.nl
	v0, v1 := d.v0, d.v1
	clear(v1)
	inf := math.Inf(-1)
	// vt[j*nl+k] is the value of running k after level j: −Inf or less
	// the penalty if the move breaks the site ramp.
	vt := d.vt
	for t := T - 1; t >= 0; t-- {
		val := d.val[t*nl : t*nl+nl]
		tt := d.tot[t*nl : t*nl+nl]
		for j := range nl {
			prev := prev0
			if t > 0 {
				prev = d.tot[(t-1)*nl+j]
			}
			for k := range nl {
				x := math.Abs(tt[k]-prev) - ramp
				switch {
				case x <= 0:
					vt[j*nl+k] = val[k]
				case penalty < 0:
					vt[j*nl+k] = inf
				default:
					vt[j*nl+k] = val[k] - penalty*x
				}
			}
		}
		ch := d.choice[t*ns : t*ns+ns]
		for s := range ns {
			cs := m.cands[m.off[s]:m.off[s+1]]
			row := int(m.level[s]) * nl
			vr := vt[row : row+nl]
			best, bk := vr[cs[0].k]+v1[cs[0].next], cs[0].k
			for _, c := range cs[1:] {
				if x := vr[c.k] + v1[c.next]; x > best {
					best, bk = x, c.k
				}
			}
			v0[s], ch[s] = best, bk
		}
		v0, v1 = v1, v0
	}
	if v1[m.init] == inf {
		return 0, false
	}
	m.trace(T, d.choice, out)
	return v1[m.init], true
}
