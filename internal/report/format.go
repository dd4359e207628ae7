package report

import (
	"math"
	"strconv"
	"strings"
)

// thousands formats v with dec decimals and comma thousands separators:
// thousands(-1234567.891, 1) = "-1,234,567.9". A value that rounds to zero
// has no sign.
func thousands(v float64, dec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', dec, 64)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	b.Grow(len(s) + len(s)/3 + 1)
	if v < 0 && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i := range len(whole) {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(whole[i])
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// dollars formats whole dollars with separators: "$1,234", "-$56".
func dollars(usd float64) string {
	s := thousands(usd, 0)
	if neg, ok := strings.CutPrefix(s, "-"); ok {
		return "-$" + neg
	}
	return "$" + s
}

// param formats a sweep parameter value: as few decimals as it needs (at
// most 6), with separators.
func param(v float64) string {
	dec := 0
	for dec < 6 && math.Abs(v*math.Pow10(dec)-math.Round(v*math.Pow10(dec))) > 1e-9*math.Max(1, math.Abs(v*math.Pow10(dec))) {
		dec++
	}
	return thousands(v, dec)
}
