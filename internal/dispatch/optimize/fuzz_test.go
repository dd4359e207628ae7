package optimize

import (
	"errors"
	"math"
	"testing"
)

// byteReader hands out the fuzzer's bytes, then zeros.
type byteReader []byte

func (r *byteReader) next() int {
	if len(*r) == 0 {
		return 0
	}
	b := (*r)[0]
	*r = (*r)[1:]
	return int(b)
}

// decodeProblem builds a small problem (at most 4 intervals, 2 classes of
// at most 2 levels) from bytes. Some byte values make it invalid on
// purpose (NaN, non-convex or too narrow costs).
func decodeProblem(data []byte) *Problem {
	r := byteReader(data)
	num := func(scale float64) float64 {
		if b := r.next(); b != 255 {
			return float64(b) * scale
		}
		return math.NaN()
	}
	T := 1 + r.next()%4
	p := &Problem{T: T, HashValue: make([]float64, T), Cost: make([][]Segment, T)}
	for c := range r.next() % 3 {
		cl := Class{ID: string(rune('a' + c)), Sleep: num(10)}
		prev := cl.Sleep
		for range 1 + r.next()%2 {
			prev += 10 + num(10)
			cl.Levels = append(cl.Levels, Level{Power: prev, Hash: num(0.5), Value: float64(r.next()%7-3) * 0.5})
		}
		cl.MinRun, cl.MinSleep = r.next()%4, r.next()%4
		if b := r.next(); b%3 != 0 {
			cl.Ramp = float64(b) * 10
		}
		cl.Init = State{Level: r.next() % (len(cl.Levels) + 1), Age: 1 + r.next()%4}
		p.Classes = append(p.Classes, cl)
	}
	for t := range T {
		p.HashValue[t] = float64(r.next()%32-8) * 0.05
		cost := float64(r.next()%16-4) * 0.002
		for s := range 1 + r.next()%3 {
			w := 1 + num(20)
			if b := r.next(); b%7 == 0 {
				cost -= 0.001 // non-convex: invalid
			} else {
				cost += float64(b%5) * 0.003
			}
			if s == 2 || r.next()%2 == 0 {
				w = math.Inf(1)
			}
			p.Cost[t] = append(p.Cost[t], Segment{Width: w, Cost: cost})
			if math.IsInf(w, 1) {
				break
			}
		}
	}
	if r.next()%2 == 1 {
		p.Min, p.Max = make([]float64, T), make([]float64, T)
		for t := range T {
			p.Min[t], p.Max[t] = num(20), math.Inf(1)
			if b := r.next(); b%3 != 0 {
				p.Max[t] = p.Min[t] + float64(b)*20
			}
		}
		p.UnderPenalty, p.OverPenalty = float64(r.next()%4)*0.01, float64(r.next()%4)*0.01
	}
	if b := r.next(); b%2 == 1 {
		p.SiteRamp = float64(b) * 10
	}
	return p
}

// FuzzSolve: Solve never panics; invalid problems are ErrInvalid for
// every method; on valid ones every solution is feasible with its
// Evaluate value, exact ones reach the brute-force optimum and every
// Bound is at least that optimum.
func FuzzSolve(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 2, 1, 5, 20, 8, 1, 30, 10, 2, 2, 7, 1, 3, 0, 2, 40, 9, 3, 0, 1, 2, 1, 0, 30, 12, 1, 20, 6, 1, 1, 1, 3, 40, 2, 1})
	f.Add([]byte{2, 1, 0, 50, 3, 10, 0, 0, 1, 255, 0})
	f.Add([]byte{3, 2, 4, 1, 40, 4, 0, 20, 9, 2, 1, 3, 2, 1, 1, 1, 1, 9, 4, 20, 6, 0, 3, 3, 3, 0, 10, 1, 7, 12, 1, 2, 1, 1, 5, 1, 5, 1, 2, 6, 3, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := decodeProblem(data)
		if err := p.Validate(); err != nil {
			for _, method := range methods {
				if _, err := Solve(p, Options{Method: method}); !errors.Is(err, ErrInvalid) {
					t.Fatalf("Solve(%s) of an invalid problem = %v, want ErrInvalid", method, err)
				}
			}
			return
		}
		want, _ := bruteForce(t, p)
		tol := 1e-9 * math.Max(1, math.Abs(want))
		for _, method := range append([]string{""}, methods...) {
			sol, err := Solve(p, Options{Method: method, NeighbourhoodWork: 1e6})
			if err != nil {
				if errors.Is(err, ErrMethod) && method == MethodSeparable {
					continue
				}
				t.Fatalf("Solve(%q) = %v", method, err)
			}
			checkSolution(t, p, sol)
			if sol.Bound < want-tol || sol.Objective > want+tol {
				t.Fatalf("%s: bound %v, objective %v; brute-force optimum %v", sol.Method, sol.Bound, sol.Objective, want)
			}
			if sol.Exact && math.Abs(sol.Objective-want) > tol {
				t.Fatalf("%s: exact objective %v, brute-force optimum %v", sol.Method, sol.Objective, want)
			}
		}
	})
}
