package ledger

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
)

func TestSettle(t *testing.T) {
	q := iv("10:00:00", 15*time.Minute)
	tests := []struct {
		name        string
		u           Usage
		price       energy.Price
		btcPerTHDay float64
		btcUSD      float64
		want        Entry
	}{
		{
			// 3 MW for 15 min = 3,000,000 W × 0.25 h = 750,000 Wh = 750 kWh.
			// Cost = $40/MWh × 0.75 MWh = $30 = 40 × 750,000 µ$ = 30,000,000 µ$.
			// 100 PH/s = 100,000 TH/s for 900 s = 9e7 TH·s of hash-time.
			// BTC = 9e7 TH·s × 5e-7 BTC/(TH/s·day) / 86,400 s/day = 45/86,400 BTC
			//     = 0.000520833333… BTC = 52,083,333.3 msat → 52,083,333 msat.
			// Revenue = 52,083,333 msat × $100,000/BTC / 1e11 msat/BTC = $52.083333 = 52,083,333 µ$.
			// Net = 52,083,333 − 30,000,000 = 22,083,333 µ$.
			name:        "3 MW at $40",
			u:           Usage{Interval: q, Energy: 750_000, HashTHs: 9e7, Covered: 15 * time.Minute},
			price:       40,
			btcPerTHDay: 5e-7,
			btcUSD:      100_000,
			want: Entry{
				Interval: q, Energy: 750_000, AvgPower: 3e6, AvgHashrate: 100_000, Covered: 15 * time.Minute,
				Price: 40, Cost: 30_000_000, BTC: 52_083_333, BTCPriceUSD: 100_000, Revenue: 52_083_333, Net: 22_083_333,
			},
		},
		{
			// −$25/MWh × 0.75 MWh = −$18.75: the site is paid to consume.
			// Net = 52,083,333 + 18,750,000 = 70,833,333 µ$.
			name:        "negative price is a credit",
			u:           Usage{Interval: q, Energy: 750_000, HashTHs: 9e7, Covered: 15 * time.Minute},
			price:       -25,
			btcPerTHDay: 5e-7,
			btcUSD:      100_000,
			want: Entry{
				Interval: q, Energy: 750_000, AvgPower: 3e6, AvgHashrate: 100_000, Covered: 15 * time.Minute,
				Price: -25, Cost: -18_750_000, BTC: 52_083_333, BTCPriceUSD: 100_000, Revenue: 52_083_333, Net: 70_833_333,
			},
		},
		{
			// $1.5/MWh × 1 Wh = 1.5 µ$ rounds half away from zero to 2 µ$.
			// 86,400 TH·s × 1.5e-11 BTC/(TH/s·day) / 86,400 = 1.5e-11 BTC = 1.5 msat → 2 msat.
			// Revenue = 2 msat × $50,000 / 1e11 = $0.000001 = 1 µ$.
			name:        "round half away from zero",
			u:           Usage{Interval: q, Energy: 1, HashTHs: 86_400, Covered: time.Minute},
			price:       1.5,
			btcPerTHDay: 1.5e-11,
			btcUSD:      50_000,
			want: Entry{
				Interval: q, Energy: 1, AvgPower: 4, AvgHashrate: 96, Covered: time.Minute,
				Price: 1.5, Cost: 2, BTC: 2, BTCPriceUSD: 50_000, Revenue: 1, Net: -1,
			},
		},
		{
			name:  "negative half rounds away from zero",
			u:     Usage{Interval: q, Energy: 1},
			price: -2.5, // −2.5 µ$ → −3 µ$
			want:  Entry{Interval: q, Energy: 1, AvgPower: 4, Price: -2.5, Cost: -3, Net: 3},
		},
		{
			name:  "nothing used",
			u:     Usage{Interval: q},
			price: 9000,
			want:  Entry{Interval: q, Price: 9000},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Settle(tt.u, tt.price, tt.btcPerTHDay, tt.btcUSD)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, approx); diff != "" {
				t.Errorf("Settle mismatch (-want +got):\n%s", diff)
			}
			if err := got.Check(); err != nil {
				t.Errorf("Check() = %v, want nil", err)
			}
		})
	}
}

func TestSettleRejects(t *testing.T) {
	q := iv("10:00:00", 15*time.Minute)
	ok := Usage{Interval: q, Energy: 1000, HashTHs: 1000, Covered: time.Minute}
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name               string
		u                  Usage
		price              energy.Price
		btcPerTHDay, btcUS float64
	}{
		{name: "NaN price", u: ok, price: energy.Price(nan)},
		{name: "infinite price", u: ok, price: energy.Price(-inf)},
		{name: "NaN btc per TH day", u: ok, btcPerTHDay: nan},
		{name: "infinite btc price", u: ok, btcUS: inf},
		{name: "negative btc price", u: ok, btcUS: -1},
		{name: "negative energy", u: Usage{Interval: q, Energy: -1}},
		{name: "NaN hash-time", u: Usage{Interval: q, HashTHs: nan}},
		{name: "empty interval", u: Usage{Interval: energy.Interval{Start: q.Start, End: q.Start}}},
		{name: "covered too long", u: Usage{Interval: q, Covered: time.Hour}},
		{name: "cost overflows", u: Usage{Interval: q, Energy: 1e18}, price: 1e3},
		{name: "btc overflows", u: Usage{Interval: q, HashTHs: 1e30}, btcPerTHDay: 1},
		{name: "revenue overflows", u: Usage{Interval: q, HashTHs: 8.64e12}, btcPerTHDay: 1, btcUS: 1e12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := Settle(tt.u, tt.price, tt.btcPerTHDay, tt.btcUS); err == nil {
				t.Errorf("Settle = %+v, nil; want an error", got)
			}
		})
	}
}

func TestEntryCheck(t *testing.T) {
	q := iv("10:00:00", 15*time.Minute)
	tests := []struct {
		name string
		e    Entry
	}{
		{"empty interval", Entry{}},
		{"NaN energy", Entry{Interval: q, Energy: energy.Energy(math.NaN())}},
		{"infinite price", Entry{Interval: q, Price: energy.Price(math.Inf(1))}},
		{"NaN btc price", Entry{Interval: q, BTCPriceUSD: math.NaN()}},
		{"negative covered", Entry{Interval: q, Covered: -1}},
	}
	for _, tt := range tests {
		if err := tt.e.Check(); err == nil {
			t.Errorf("%s: Check() = nil, want an error", tt.name)
		}
	}
}

// TestTotalsReconcile settles a day of random intervals (including negative
// prices and price spikes) and checks that the totals are exactly the sums of
// the entries and that Net reconciles with Revenue − Cost everywhere.
func TestTotalsReconcile(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	start := at("00:00:00")
	var tot Totals
	var sumCost, sumRev, sumNet int64
	var sumBTC int64
	var sumE energy.Energy
	for i := range 96 {
		u := Usage{
			Interval: energy.IntervalOf(start.Add(time.Duration(i)*15*time.Minute), 15*time.Minute),
			Energy:   energy.Energy(math.Round(r.Float64() * 1e6)), // whole Wh: exact sums
			HashTHs:  r.Float64() * 1e8,
			Covered:  15 * time.Minute,
		}
		price := energy.Price(r.Float64()*200 - 50)
		if i%17 == 0 {
			price = 5000.123
		}
		e, err := Settle(u, price, 4.7e-7+r.Float64()*1e-7, 60_000+r.Float64()*40_000)
		if err != nil {
			t.Fatal(err)
		}
		if e.Net != e.Revenue-e.Cost {
			t.Errorf("entry %d: net %d != revenue %d − cost %d", i, e.Net, e.Revenue, e.Cost)
		}
		// The integer cost is the exact cost rounded once.
		if d := math.Abs(float64(e.Cost) - float64(price)*float64(u.Energy)); d > 0.5+1e-6 {
			t.Errorf("entry %d: cost %d µ$ is %v µ$ off the exact cost", i, e.Cost, d)
		}
		tot.Add(e)
		sumCost += int64(e.Cost)
		sumRev += int64(e.Revenue)
		sumNet += int64(e.Net)
		sumBTC += int64(e.BTC)
		sumE += e.Energy
	}
	want := Totals{Intervals: 96, Energy: sumE, Cost: Micros(sumCost), Revenue: Micros(sumRev), Net: Micros(sumNet), BTC: MilliSats(sumBTC)}
	if diff := cmp.Diff(want, tot); diff != "" {
		t.Errorf("totals mismatch (-want +got):\n%s", diff)
	}
	if tot.Net != tot.Revenue-tot.Cost {
		t.Errorf("total net %v != revenue %v − cost %v", tot.Net, tot.Revenue, tot.Cost)
	}
}
