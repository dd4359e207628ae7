package report

import "math"

// bucket is one pixel column's worth of a series: the x span it covers
// and the minimum, maximum and mean of the values that fall in it.
type bucket struct {
	X0, X1         float64
	Min, Max, Mean float64
	N              int
}

// envelope cuts [lo, hi) into n equal buckets and returns the non-empty
// ones in order, with each one's min, max and mean of ys. xs need not be
// sorted; points outside [lo, hi] are ignored (hi itself goes into the
// last bucket).
func envelope(xs, ys []float64, lo, hi float64, n int) []bucket {
	if n < 1 || hi <= lo {
		return nil
	}
	bs := make([]bucket, n)
	w := (hi - lo) / float64(n)
	for i := range bs {
		bs[i] = bucket{X0: lo + float64(i)*w, X1: lo + float64(i+1)*w, Min: math.Inf(1), Max: math.Inf(-1)}
	}
	for i, x := range xs {
		if x < lo || x > hi {
			continue
		}
		k := min(int((x-lo)/w), n-1)
		b := &bs[k]
		y := ys[i]
		b.Min = math.Min(b.Min, y)
		b.Max = math.Max(b.Max, y)
		b.Mean += y
		b.N++
	}
	out := bs[:0]
	for _, b := range bs {
		if b.N == 0 {
			continue
		}
		b.Mean /= float64(b.N)
		out = append(out, b)
	}
	return out
}

// m4 reduces a line whose xs are ascending to at most four points per
// bucket of [xs[0], xs[last]] cut into n: the first, minimum, maximum and
// last point of each bucket, in their original order. Drawn as a line,
// the result covers the same pixels as the full series. Series short
// enough are returned whole.
func m4(xs, ys []float64, n int) (rx, ry []float64) {
	if len(xs) <= 4*n || n < 1 {
		return xs, ys
	}
	lo, hi := xs[0], xs[len(xs)-1]
	if hi <= lo {
		return xs, ys
	}
	w := (hi - lo) / float64(n)
	rx = make([]float64, 0, 4*n)
	ry = make([]float64, 0, 4*n)
	start := 0
	for start < len(xs) {
		k := min(int((xs[start]-lo)/w), n-1)
		end := start + 1
		for end < len(xs) && min(int((xs[end]-lo)/w), n-1) == k {
			end++
		}
		iMin, iMax := start, start
		for i := start; i < end; i++ {
			if ys[i] < ys[iMin] {
				iMin = i
			}
			if ys[i] > ys[iMax] {
				iMax = i
			}
		}
		keep := [4]int{start, iMin, iMax, end - 1}
		if keep[1] > keep[2] {
			keep[1], keep[2] = keep[2], keep[1]
		}
		prev := -1
		for _, i := range keep {
			if i != prev {
				rx = append(rx, xs[i])
				ry = append(ry, ys[i])
				prev = i
			}
		}
		start = end
	}
	return rx, ry
}
