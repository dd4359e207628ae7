package ledger

import (
	"fmt"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
)

// Entry is one settled interval: what the site used, what it cost at the
// settlement price and what the hashing is expected to have earned.
type Entry struct {
	Interval    energy.Interval
	Energy      energy.Energy   // watt-hours drawn
	AvgPower    energy.Power    // Energy / interval length
	AvgHashrate energy.Hashrate // hash-time / interval length
	Covered     time.Duration   // how much of the interval samples covered
	Price       energy.Price    // settlement price applied, $/MWh
	Cost        Micros          // Energy × Price; a negative price gives a negative cost (a credit)
	BTC         MilliSats       // expected bitcoin earned
	BTCPriceUSD float64         // bitcoin price applied, $/BTC
	Revenue     Micros          // BTC × BTCPriceUSD
	Net         Micros          // Revenue − Cost
}

// Settle prices a usage at the settlement price (in $/MWh), the expected
// bitcoin per TH/s per day btcPerTHDay (from internal/bitcoin) and the
// bitcoin price btcUSD (in $/BTC).
//
// Rounding: each money and bitcoin field is computed in float64 from exact
// inputs and rounded once, half away from zero, to its integer unit:
//
//	Cost    = round(Price[$/MWh] × Energy[Wh])                 µ$ ($/MWh × Wh = 1e-6 $)
//	BTC     = round(HashTHs × btcPerTHDay / 86400 × 1e11)      msat
//	Revenue = round(BTC[msat] × btcUSD / 1e11 × 1e6)           µ$, from the rounded BTC
//	Net     = Revenue − Cost                                   exact integer arithmetic
//
// so Revenue is exactly what the recorded BTC is worth and Net reconciles
// with Revenue and Cost to the micro-dollar. Settle rejects NaN or infinite
// inputs, negative energy, hash-time, btcPerTHDay or btcUSD, an empty
// interval, and amounts that overflow.
func Settle(u Usage, price energy.Price, btcPerTHDay, btcUSD float64) (Entry, error) {
	fail := func(err error) (Entry, error) {
		return Entry{}, fmt.Errorf("settle %s: %w", u.Interval, err)
	}
	length := u.Interval.Duration()
	if length <= 0 {
		return fail(fmt.Errorf("interval: %w", energy.ErrBadInterval))
	}
	if u.Covered < 0 || u.Covered > length {
		return fail(fmt.Errorf("covered %v: must be within the interval length %v", u.Covered, length))
	}
	for _, c := range []struct {
		what string
		v    float64
	}{
		{"energy", float64(u.Energy)},
		{"hash-time", u.HashTHs},
		{"btc per TH/s per day", btcPerTHDay},
		{"btc price", btcUSD},
	} {
		if err := checkNonNeg(c.what, c.v); err != nil {
			return fail(err)
		}
	}
	if err := energy.Check("price", float64(price)); err != nil {
		return fail(err)
	}

	cost, err := roundInt("cost", float64(price)*float64(u.Energy))
	if err != nil {
		return fail(err)
	}
	msat, revenue, err := mined(u.HashTHs, btcPerTHDay, btcUSD)
	if err != nil {
		return fail(err)
	}
	if cost == -cost && cost != 0 { // math.MinInt64 cannot be negated
		return fail(fmt.Errorf("cost %d: %w", cost, ErrOverflow))
	}
	net, err := checkedAdd("net", revenue, -cost)
	if err != nil {
		return fail(err)
	}
	return Entry{
		Interval:    u.Interval,
		Energy:      u.Energy,
		AvgPower:    energy.Power(float64(u.Energy) / length.Hours()),
		AvgHashrate: energy.Hashrate(u.HashTHs / length.Seconds()),
		Covered:     u.Covered,
		Price:       price,
		Cost:        Micros(cost),
		BTC:         MilliSats(msat),
		BTCPriceUSD: btcUSD,
		Revenue:     Micros(revenue),
		Net:         Micros(net),
	}, nil
}

// Mined is the expected bitcoin of hashTHs TH/s·seconds of hashing at
// btcPerTHDay, and its value at btcUSD, rounded as Settle rounds them:
// BTC once to the millisatoshi, revenue once to the micro-dollar from the
// rounded BTC. Inputs must be finite and not negative.
func Mined(hashTHs, btcPerTHDay, btcUSD float64) (MilliSats, Micros, error) {
	for _, c := range []struct {
		what string
		v    float64
	}{{"hash-time", hashTHs}, {"btc per TH/s per day", btcPerTHDay}, {"btc price", btcUSD}} {
		if err := checkNonNeg(c.what, c.v); err != nil {
			return 0, 0, err
		}
	}
	msat, revenue, err := mined(hashTHs, btcPerTHDay, btcUSD)
	return MilliSats(msat), Micros(revenue), err
}

func mined(hashTHs, btcPerTHDay, btcUSD float64) (int64, int64, error) {
	msat, err := roundInt("btc", hashTHs*btcPerTHDay/86400*MilliSatsPerBTC)
	if err != nil {
		return 0, 0, err
	}
	revenue, err := roundInt("revenue", float64(msat)*btcUSD/MilliSatsPerBTC*MicrosPerUSD)
	if err != nil {
		return 0, 0, err
	}
	return msat, revenue, nil
}

// Totals sums settled entries.
type Totals struct {
	Intervals int
	Energy    energy.Energy
	Cost      Micros
	Revenue   Micros
	Net       Micros
	BTC       MilliSats
}

// Add adds e to t. Money and bitcoin add exactly; entries from Settle are
// many orders of magnitude below int64 overflow, which Add does not check.
func (t *Totals) Add(e Entry) {
	t.Intervals++
	t.Energy += e.Energy
	t.Cost += e.Cost
	t.Revenue += e.Revenue
	t.Net += e.Net
	t.BTC += e.BTC
}

// Check reports whether e can be stored: a non-empty interval, Covered
// within it, and finite numbers. Stores call it before writing.
func (e Entry) Check() error {
	if e.Interval.Duration() <= 0 {
		return fmt.Errorf("ledger entry %s: %w", e.Interval, energy.ErrBadInterval)
	}
	if e.Covered < 0 || e.Covered > e.Interval.Duration() {
		return fmt.Errorf("ledger entry %s: covered %v: must be within the interval", e.Interval, e.Covered)
	}
	for _, c := range []struct {
		what string
		v    float64
	}{
		{"energy", float64(e.Energy)},
		{"average power", float64(e.AvgPower)},
		{"average hashrate", float64(e.AvgHashrate)},
		{"price", float64(e.Price)},
		{"btc price", e.BTCPriceUSD},
	} {
		if err := energy.Check(c.what, c.v); err != nil {
			return fmt.Errorf("ledger entry %s: %w", e.Interval, err)
		}
	}
	return nil
}
