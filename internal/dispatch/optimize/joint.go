package optimize

import (
	"fmt"
	"math"
)

// jointFits says why the joint DP does not apply, or nil if it does: at
// most JointLimit joint states, at most 65,536 level combinations (a
// back-pointer is 16 bits), T × states within jointMemory and the work
// within JointWork.
func (s *solver) jointFits() error {
	all := make([]int, len(s.models))
	for c := range all {
		all[c] = c
	}
	states, combos, moves := s.jointSize(all)
	T := float64(s.p.T)
	switch {
	case states > float64(s.opt.JointLimit):
		return fmt.Errorf("%.0f joint states, above the limit %d", states, s.opt.JointLimit)
	case combos > 1<<16:
		return fmt.Errorf("%.0f level combinations, above %d", combos, 1<<16)
	case T*states > jointMemory:
		return fmt.Errorf("%.0f intervals × joint states, above %d", T*states, jointMemory)
	case T*moves > float64(s.opt.JointWork):
		return fmt.Errorf("work %.0f (intervals × joint moves), above the limit %d", T*moves, s.opt.JointWork)
	}
	return nil
}

// jointSize is the number of joint states, level combinations and joint
// moves (Σ over joint states of their moves) of a subset of classes.
func (s *solver) jointSize(sub []int) (states, combos, moves float64) {
	states, combos, moves = 1, 1, 1
	for _, c := range sub {
		m := s.models[c]
		states *= float64(m.ns)
		combos *= float64(m.nl)
		moves *= float64(len(m.cands))
	}
	return states, combos, moves
}

// maxMasked is the most level combinations for which subsetDP tabulates
// the site ramp per pair of combinations and interval.
const maxMasked = 1024

// solveJoint is the exact DP over the joint states of all classes.
func (s *solver) solveJoint() [][]uint8 {
	all := make([]int, len(s.models))
	for c := range all {
		all[c] = c
	}
	out, _, _ := s.subsetDP(nil, all, 0, s.p.T, nil)
	return out
}

// subsetDP re-solves the classes sub (ascending) exactly over intervals
// [a, b), with every other class fixed at its schedule in cur, by a DP
// over the subset's joint states that evaluates the site cost, penalties
// and site ramp on the site's total draw. The subset starts from its
// states before a under cur and, if b < T, must end in states from which
// cur's schedule after b stays feasible: the same levels at b−1 and at
// least the same time in mode. With cur nil, sub must be every class and
// [a, b) the whole horizon. start, if not nil, holds the subset's states
// before a (else they are traced from Init). It returns the subset's levels over [a, b)
// ([i][t−a] for class sub[i]), their value (gains of the subset minus the
// site's cost over [a, b)) and the value of cur's levels on the same
// terms (0 for cur nil). Ties keep the levels, then take the lowest,
// class by class in order.
func (s *solver) subsetDP(cur [][]uint8, sub []int, a, b int, start []int) (out [][]uint8, value, curValue float64) {
	p := s.p
	n := len(sub)
	models := make([]*classModel, n)
	for i, c := range sub {
		models[i] = s.models[c]
	}
	fixed := len(sub) < len(s.models)
	inSub := make([]int, len(s.models)) // position in sub, or −1
	for c := range inSub {
		inSub[c] = -1
	}
	for i, c := range sub {
		inSub[c] = i
	}
	// Mixed-radix strides: the last class of sub varies fastest.
	sstride := make([]int, n) // joint state
	mstride := make([]int, n) // level combination
	N, M := 1, 1
	for i := n - 1; i >= 0; i-- {
		sstride[i], mstride[i] = N, M
		N *= models[i].ns
		M *= models[i].nl
	}
	comboLevel := make([]uint8, M*n)
	comboHash := make([]float64, M)
	comboValue := make([]float64, M)
	for m := range M {
		for i, cm := range models {
			k := m / mstride[i] % cm.nl
			comboLevel[m*n+i] = uint8(k)
			if k > 0 {
				l := &cm.c.Levels[k-1]
				comboHash[m] += l.Hash
				comboValue[m] += l.Value
			}
		}
	}
	// totals fills d[m] with the site draw in interval t under combination
	// m, summed in class order like Evaluate.
	totals := func(t int, d []float64) {
		for m := range M {
			x := 0.0
			for c, cm := range s.models {
				if i := inSub[c]; i >= 0 {
					x += cm.draw[comboLevel[m*n+i]]
				} else {
					x += cm.draw[cur[c][t]]
				}
			}
			d[m] = x
		}
	}
	// Per joint state: the class states and the combination of their levels.
	sc := make([]uint16, N*n)
	stateCombo := make([]int32, N)
	for js := range N {
		m := 0
		for i, cm := range models {
			cs := js / sstride[i] % cm.ns
			sc[js*n+i] = uint16(cs)
			m += int(cm.level[cs]) * mstride[i]
		}
		stateCombo[js] = int32(m)
	}
	// The subset's states before a, and the required end states.
	startState := start
	if startState == nil {
		startState = make([]int, n)
		for i, cm := range models {
			startState[i] = cm.init
			for t := 0; t < a; t++ {
				startState[i] = cm.next(startState[i], cur[sub[i]][t])
			}
		}
	}
	v1 := make([]float64, N) // the value after b−1
	if b < p.T {
		endState := make([]int, n)
		for i, cm := range models {
			endState[i] = startState[i]
			for t := a; t < b; t++ {
				endState[i] = cm.next(endState[i], cur[sub[i]][t])
			}
		}
		for js := range N {
			for i, cm := range models {
				if !cm.atLeast(int(sc[js*n+i]), endState[i]) {
					v1[js] = math.Inf(-1)
					break
				}
			}
		}
	}

	W := b - a
	v0 := make([]float64, N)
	val := make([]float64, M)
	tot := make([]float64, M)
	prevTot := make([]float64, M)
	if !fixed {
		totals(0, tot) // the same in every interval
		copy(prevTot, tot)
	}
	choice := make([]uint16, W*N)
	// Each joint state's per-class move lists.
	jointLists := make([][]cand, N*n)
	for js := range N {
		for i, cm := range models {
			jointLists[js*n+i] = cm.moves(int(sc[js*n+i]))
		}
	}
	pos := make([]int, n)
	pm := make([]int, n+1) // partial combination index over classes < i
	pn := make([]int, n+1) // partial next joint state
	ramp := p.SiteRamp
	var masked []float64
	if M <= maxMasked {
		masked = make([]float64, M*M)
	}
	prevD0 := s.initD
	if a > 0 {
		prevD0 = 0
		for c, cm := range s.models {
			prevD0 += cm.draw[cur[c][a-1]]
		}
	}
	for t := b - 1; t >= a; t-- {
		hv := p.HashValue[t]
		if fixed {
			if t == b-1 {
				totals(t, tot)
			} else {
				tot, prevTot = prevTot, tot
			}
			if t > a {
				totals(t-1, prevTot)
			}
		}
		for m := range M {
			val[m] = comboHash[m]*hv + comboValue[m] - p.site(t, tot[m])
		}
		if cur != nil {
			m := 0
			for i, c := range sub {
				m += int(cur[c][t]) * mstride[i]
			}
			curValue += val[m]
		}
		// masked[mp*M+m] is val[m], or −Inf if moving from levels mp to m
		// breaks the site ramp.
		if masked != nil {
			for mp := range M {
				prevD := prevD0
				if t > a {
					prevD = prevTot[mp]
				}
				row := masked[mp*M : mp*M+M]
				for m := range M {
					if ramp == 0 || math.Abs(tot[m]-prevD) <= ramp {
						row[m] = val[m]
					} else {
						row[m] = math.Inf(-1)
					}
				}
			}
		}
		ch := choice[(t-a)*N : (t-a+1)*N]
		for js := range N {
			lists := jointLists[js*n : js*n+n]
			var vr []float64
			prevD := prevD0
			if masked != nil {
				vr = masked[int(stateCombo[js])*M : int(stateCombo[js])*M+M]
			} else if t > a {
				prevD = prevTot[stateCombo[js]]
			}
			best, bm := math.Inf(-1), stateCombo[js] // default: stay
			if vr != nil && n > 0 {
				// The last (up to) four classes in unrolled loops, the
				// others by an odometer around them.
				head := n - min(n, 4)
				var tl [4][]cand
				var tm, ts [4]int
				for j := range 4 {
					if i := head + j - (4 - (n - head)); i >= head {
						tl[j], tm[j], ts[j] = lists[i], mstride[i], sstride[i]
					} else {
						tl[j] = noMove
					}
				}
				i := 0
				for {
					for ; i < head; i++ {
						mv := lists[i][pos[i]]
						pm[i+1] = pm[i] + int(mv.k)*mstride[i]
						pn[i+1] = pn[i] + int(mv.next)*sstride[i]
					}
					best, bm = bestTail(&tl, &tm, &ts, pm[head], pn[head], vr, v1, best, bm)
					for i = head - 1; i >= 0; i-- {
						if pos[i]++; pos[i] < len(lists[i]) {
							break
						}
						pos[i] = 0
					}
					if i < 0 {
						break
					}
				}
				v0[js], ch[js] = best, uint16(bm)
				continue
			}
			i := 0 // descend from class i with pos[i:] reset
			for {
				for ; i < n; i++ {
					mv := lists[i][pos[i]]
					pm[i+1] = pm[i] + int(mv.k)*mstride[i]
					pn[i+1] = pn[i] + int(mv.next)*sstride[i]
				}
				m := pm[n]
				if vr != nil {
					if x := vr[m] + v1[pn[n]]; x > best {
						best, bm = x, int32(m)
					}
				} else if ramp == 0 || math.Abs(tot[m]-prevD) <= ramp {
					if x := val[m] + v1[pn[n]]; x > best {
						best, bm = x, int32(m)
					}
				}
				for i = n - 1; i >= 0; i-- {
					if pos[i]++; pos[i] < len(lists[i]) {
						break
					}
					pos[i] = 0
				}
				if i < 0 {
					break
				}
			}
			v0[js], ch[js] = best, uint16(bm)
		}
		v0, v1 = v1, v0
	}

	out = make([][]uint8, n)
	for i := range out {
		out[i] = make([]uint8, W)
	}
	st := append([]int(nil), startState...)
	js := 0
	for i := range n {
		js += st[i] * sstride[i]
	}
	value = v1[js]
	for t := a; t < b; t++ {
		m := int(choice[(t-a)*N+js])
		js = 0
		for i, cm := range models {
			k := comboLevel[m*n+i]
			out[i][t-a] = k
			st[i] = cm.next(st[i], k)
			js += st[i] * sstride[i]
		}
	}
	return out, value, curValue
}

// noMove pads bestTail's loops: one move that changes no index.
var noMove = []cand{{}}

// bestTail scans every combination of the moves in tl from the partial
// combination m and next state nx (tm and ts are the classes' strides)
// and returns the best value vr[combination] + v1[next state] above best,
// the first in class order on ties.
func bestTail(tl *[4][]cand, tm, ts *[4]int, m, nx int, vr, v1 []float64, best float64, bm int32) (float64, int32) {
	for _, a0 := range tl[0] {
		m0, n0 := m+int(a0.k)*tm[0], nx+int(a0.next)*ts[0]
		for _, a1 := range tl[1] {
			m1, n1 := m0+int(a1.k)*tm[1], n0+int(a1.next)*ts[1]
			for _, a2 := range tl[2] {
				m2, n2 := m1+int(a2.k)*tm[2], n1+int(a2.next)*ts[2]
				for _, a3 := range tl[3] {
					m3 := m2 + int(a3.k)*tm[3]
					if x := vr[m3] + v1[n2+int(a3.next)*ts[3]]; x > best {
						best, bm = x, int32(m3)
					}
				}
			}
		}
	}
	return best, bm
}

// atLeast says whether state s has the same level as state ref and at
// least its time in mode, so whatever may follow ref may follow s.
func (m *classModel) atLeast(s, ref int) bool {
	if m.level[s] != m.level[ref] {
		return false
	}
	_, age := m.decode(s)
	_, refAge := m.decode(ref)
	return age >= refAge
}
