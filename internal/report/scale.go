package report

import (
	"math"
	"slices"
	"time"

	"gonum.org/v1/plot"
)

// symlogC is where the price scale turns from linear to logarithmic, $/MWh.
const symlogC = 10

// symlog is a symmetric log scale, f(x) = sign(x)·log10(1 + |x|/c):
// near-linear within ±c, logarithmic beyond, defined for negative values.
// Charts draw f(price) on a linear axis (gonum/plot lays out axis labels
// assuming a linear scale, so the transform is applied to the data, not
// through a Normalizer) and label it with symTicks.
type symlog struct{ c float64 }

func (s symlog) f(x float64) float64 {
	return math.Copysign(math.Log10(1+math.Abs(x)/s.c), x)
}

func (s symlog) inv(y float64) float64 {
	return math.Copysign(s.c*(math.Pow(10, math.Abs(y))-1), y)
}

// fs returns f of each of xs.
func (s symlog) fs(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = s.f(x)
	}
	return out
}

// axisRange returns the transformed axis range for values in [lo, hi]:
// always including zero, with a little room.
func (s symlog) axisRange(lo, hi float64) (float64, float64) {
	a, b := s.f(math.Min(lo, 0)), s.f(math.Max(hi, 0))
	if a == b {
		b = s.f(s.c)
	}
	pad := (b - a) * 0.03
	if a < 0 {
		a -= pad
	}
	return a, b + pad
}

// symTicks labels a symlog-transformed axis in its original units: 0 and
// m·10^k for |v| ≥ c. It labels the richest of the multiplier sets
// {1, 2, 5}, {1, 3} and {1} whose labels keep at least minGap pixels
// apart on an axis heightPx tall; if even {1} is too tight, it labels
// greedily what fits of 0, then the powers of ten, then three times them,
// largest magnitudes first. Unlabelled multiples are minor ticks.
type symTicks struct {
	s        symlog
	heightPx float64
}

// setHeight tells the ticker how tall its axis is drawn, pixels.
func (t *symTicks) setHeight(px float64) { t.heightPx = px }

// heightAware tickers space their labels for the axis's drawn height;
// stack tells them before drawing.
type heightAware interface{ setHeight(px float64) }

// minGap is the least distance between labelled ticks, pixels.
const minGap = 18

func (t *symTicks) Ticks(min, max float64) []plot.Tick {
	lo, hi := t.s.inv(min), t.s.inv(max)
	// Candidates in range, by multiplier.
	var vals []float64
	mult := map[float64]int{0: 1}
	k0 := int(math.Floor(math.Log10(t.s.c)))
	for k := k0; k <= 7; k++ {
		d := math.Pow10(k)
		for m := 1; m <= 9; m++ {
			v := float64(m) * d
			if v < t.s.c {
				continue
			}
			for _, sv := range []float64{v, -v} {
				if sv >= lo && sv <= hi {
					vals = append(vals, sv)
					mult[sv] = m
				}
			}
		}
	}
	if 0 >= lo && 0 <= hi {
		vals = append(vals, 0)
	}
	slices.Sort(vals)
	ppu := math.Inf(1) // pixels per transformed unit; unknown height: label all
	if t.heightPx > 0 {
		ppu = t.heightPx / (max - min)
	}
	pick := func(set []int) []float64 {
		var out []float64
		for _, v := range vals {
			if slices.Contains(set, mult[v]) {
				out = append(out, v)
			}
		}
		return out
	}
	fits := func(vs []float64) bool {
		for i := 1; i < len(vs); i++ {
			if (t.s.f(vs[i])-t.s.f(vs[i-1]))*ppu < minGap {
				return false
			}
		}
		return true
	}
	var labelled []float64
	for _, set := range [][]int{{1, 2, 5}, {1, 3}, {1}} {
		labelled = pick(set)
		if fits(labelled) {
			break
		}
	}
	if !fits(labelled) {
		// Greedy: 0, then powers of ten from the largest magnitude, then
		// three times them, each where it still fits.
		order := append(pick([]int{1}), pick([]int{3})...)
		rank := func(v float64) int {
			if v == 0 {
				return 0
			}
			return mult[v]
		}
		slices.SortStableFunc(order, func(a, b float64) int {
			if r := rank(a) - rank(b); r != 0 {
				return r
			}
			return cmpFloat(math.Abs(b), math.Abs(a))
		})
		var kept []float64
		for _, v := range order {
			if !slices.ContainsFunc(kept, func(k float64) bool { return math.Abs(t.s.f(k)-t.s.f(v))*ppu < minGap }) {
				kept = append(kept, v)
			}
		}
		labelled = kept
	}
	ticks := make([]plot.Tick, len(vals))
	for i, v := range vals {
		ticks[i] = plot.Tick{Value: t.s.f(v)}
		if slices.Contains(labelled, v) {
			ticks[i].Label = thousands(v, 0)
		}
	}
	return ticks
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// niceTicks labels a linear axis at multiples of a 1, 2, 2.5 or 5 × 10^k
// step giving about n labels (zero among them when in range), formatted
// by label(value, step), with four minor ticks between labels.
type niceTicks struct {
	n     int
	label func(v, step, big float64) string // big: the largest |label value|
}

func (t niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if hi <= lo {
		return nil
	}
	raw := (hi - lo) / float64(max(t.n, 2))
	mag := math.Pow10(int(math.Floor(math.Log10(raw))))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	minor := step / 5
	if math.Abs(step/mag-2) < 1e-9 {
		minor = step / 4
	}
	var ticks []plot.Tick
	var major []int
	big := 0.0
	for i := math.Ceil(lo / minor); i*minor <= hi; i++ {
		v := i * minor
		if r := v / step; math.Abs(r-math.Round(r)) < 1e-9 {
			if math.Abs(v) < step*1e-9 {
				v = 0
			}
			major = append(major, len(ticks))
			big = math.Max(big, math.Abs(v))
		}
		ticks = append(ticks, plot.Tick{Value: v})
	}
	for _, i := range major {
		ticks[i].Label = t.label(ticks[i].Value, step, big)
	}
	return ticks
}

// dollarTicks labels a USD axis: "$0", "$1.5M", "-$200k".
func dollarTicks() niceTicks {
	return niceTicks{n: 6, label: func(v, step, big float64) string {
		unit := 1.0
		switch {
		case big >= 1e9:
			unit = 1e9
		case big >= 1e6:
			unit = 1e6
		case big >= 1e4:
			unit = 1e3
		}
		dec := 0
		for dec < 3 && math.Abs(step/unit*math.Pow10(dec)-math.Round(step/unit*math.Pow10(dec))) > 1e-9 {
			dec++
		}
		return shortInUnit(v, unit, dec)
	}}
}

// plainTicks labels a linear axis with plain numbers.
func plainTicks(n int) niceTicks {
	return niceTicks{n: n, label: func(v, step, _ float64) string {
		dec := 0
		for dec < 6 && math.Abs(step*math.Pow10(dec)-math.Round(step*math.Pow10(dec))) > 1e-9 {
			dec++
		}
		return thousands(v, dec)
	}}
}

// timeTicks labels a Unix-seconds axis in local time: years, quarters or
// months for long spans, weeks or days for shorter ones, hours for a day.
type timeTicks struct{ loc *time.Location }

func (t timeTicks) Ticks(min, max float64) []plot.Tick {
	a := time.Unix(int64(math.Floor(min)), 0).In(t.loc)
	days := (max - min) / 86400
	var ticks []plot.Tick
	add := func(at time.Time, label string) {
		v := float64(at.Unix())
		if v >= min && v <= max {
			ticks = append(ticks, plot.Tick{Value: v, Label: label})
		}
	}
	y, m, d := a.Date()
	switch {
	case days > 4*366:
		for yy := y; ; yy++ {
			at := time.Date(yy, 1, 1, 0, 0, 0, 0, t.loc)
			if float64(at.Unix()) > max {
				break
			}
			add(at, at.Format("2006"))
		}
	case days > 75:
		every := 1
		if days > 550 {
			every = 3
		}
		first := true
		for i := 0; ; i++ {
			at := time.Date(y, m+time.Month(i), 1, 0, 0, 0, 0, t.loc)
			if float64(at.Unix()) > max {
				break
			}
			label := ""
			if (int(at.Month())-1)%every == 0 {
				label = at.Format("Jan")
				if float64(at.Unix()) >= min && (first || at.Month() == time.January) {
					label = at.Format("Jan 2006")
				}
			}
			if float64(at.Unix()) >= min && label != "" {
				first = false
			}
			add(at, label)
		}
	case days > 16:
		for i := 0; ; i++ {
			at := time.Date(y, m, d+i, 0, 0, 0, 0, t.loc)
			if float64(at.Unix()) > max {
				break
			}
			label := ""
			if at.Weekday() == time.Monday {
				label = at.Format("Jan 2")
			}
			add(at, label)
		}
	case days > 2.5:
		format, every := "Mon Jan 2", 1
		if days > 8 {
			format, every = "Jan 2", 2
		}
		for i := 0; ; i++ {
			day := time.Date(y, m, d+i, 0, 0, 0, 0, t.loc)
			if float64(day.Unix()) > max {
				break
			}
			label := ""
			if i%every == 0 {
				label = day.Format(format)
			}
			add(day, label)
			if days <= 8 {
				for h := 6; h < 24; h += 6 {
					add(time.Date(y, m, d+i, h, 0, 0, 0, t.loc), "")
				}
			}
		}
	default:
		for i := 0; ; i++ {
			at := time.Date(y, m, d, 3*i, 0, 0, 0, t.loc)
			if float64(at.Unix()) > max {
				break
			}
			label := at.Format("15:04")
			if at.Hour() == 0 {
				label = at.Format("Jan 2")
			}
			add(at, label)
		}
	}
	return ticks
}

// shortInUnit formats v in unit (1, 1e3, 1e6, 1e9) with its suffix.
func shortInUnit(v, unit float64, dec int) string {
	suffix := map[float64]string{1: "", 1e3: "k", 1e6: "M", 1e9: "B"}[unit]
	if v == 0 {
		return "$0"
	}
	s := thousands(v/unit, dec)
	if s[0] == '-' {
		return "-$" + s[1:] + suffix
	}
	return "$" + s + suffix
}

// unlabelled keeps a ticker's marks but drops their labels, for the time
// axis of the upper panels of a stack.
type unlabelled struct{ plot.Ticker }

func (u unlabelled) Ticks(min, max float64) []plot.Tick {
	ts := u.Ticker.Ticks(min, max)
	for i := range ts {
		ts[i].Label = ""
	}
	return ts
}

// labelsOnly returns the labelled ticks of t, for grid lines.
func labelsOnly(t plot.Ticker, min, max float64) []float64 {
	var vs []float64
	for _, tk := range t.Ticks(min, max) {
		if !tk.IsMinor() {
			vs = append(vs, tk.Value)
		}
	}
	return vs
}
