// Package ledger does gridminer's per-settlement-interval accounting: it
// integrates site power and hashrate samples into per-interval usage (Meter),
// prices each interval's usage at the settlement price and the expected
// Bitcoin earnings (Settle), and sums entries (Totals).
//
// Money is exact: US dollars are counted in integer micro-dollars (Micros) and
// Bitcoin in integer millisatoshis (MilliSats), so totals reconcile with the
// sum of their entries to the last unit. The package is pure: it does no I/O,
// reads no clock, and does not store entries (internal/store does). It does
// not compute hashprice (internal/bitcoin does; callers pass the result in)
// and it does not yet account for resale or demand-response credits.
package ledger

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ErrOverflow is returned when an amount does not fit its integer unit.
var ErrOverflow = errors.New("amount out of range")

// Micros is an amount of US dollars in millionths of a dollar.
type Micros int64

// MicrosPerUSD is the number of Micros in one US dollar.
const MicrosPerUSD = 1_000_000

// MicrosFromUSD converts usd dollars to Micros, rounding half away from zero
// to the nearest micro-dollar. It rejects NaN, ±Inf and amounts beyond
// ±9.2 trillion dollars.
func MicrosFromUSD(usd float64) (Micros, error) {
	v, err := roundInt("usd", usd*MicrosPerUSD)
	if err != nil {
		return 0, fmt.Errorf("micros from usd %v: %w", usd, err)
	}
	return Micros(v), nil
}

// roundInt rounds v half away from zero to an int64, rejecting NaN, ±Inf and
// values outside the int64 range.
func roundInt(what string, v float64) (int64, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s: %v: not a finite number", what, v)
	}
	r := math.Round(v)
	// 2^63 is exactly representable; any float64 >= 2^63 or < -2^63 overflows.
	if r >= 0x1p63 || r < -0x1p63 {
		return 0, fmt.Errorf("%s: %v: %w", what, v, ErrOverflow)
	}
	return int64(r), nil
}

// USD returns m in dollars (inexact for amounts above 2^53 micro-dollars).
func (m Micros) USD() float64 { return float64(m) / MicrosPerUSD }

// String formats m in dollars and cents with thousands separators, rounding
// half away from zero to the cent: "$1,234.56", "-$0.01", "$0.00".
func (m Micros) String() string {
	neg := m < 0
	u := uint64(m)
	if neg {
		u = -u // two's complement magnitude; correct for math.MinInt64 too
	}
	cents := u / 10_000
	if u%10_000 >= 5_000 {
		cents++
	}
	if cents == 0 {
		neg = false
	}
	whole := strconv.FormatUint(cents/100, 10)
	b := make([]byte, 0, len(whole)+len(whole)/3+5)
	if neg {
		b = append(b, '-')
	}
	b = append(b, '$')
	for i := range len(whole) {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, whole[i])
	}
	c := cents % 100
	b = append(b, '.', byte('0'+c/10), byte('0'+c%10))
	return string(b)
}

// MilliSats is an amount of bitcoin in millisatoshis: 1 BTC = 1e8 sat = 1e11 msat.
type MilliSats int64

// MilliSatsPerBTC is the number of MilliSats in one bitcoin.
const MilliSatsPerBTC = 100_000_000_000

// BTC returns m in bitcoin.
func (m MilliSats) BTC() float64 { return float64(m) / MilliSatsPerBTC }

func (m MilliSats) String() string {
	return strconv.FormatFloat(m.BTC(), 'f', 11, 64) + " BTC"
}

// checkedAdd returns a+b or an error if the sum overflows int64.
func checkedAdd(what string, a, b int64) (int64, error) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		return 0, fmt.Errorf("%s: %d + %d: %w", what, a, b, ErrOverflow)
	}
	return s, nil
}
