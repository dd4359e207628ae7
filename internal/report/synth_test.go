package report

import (
	"math"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/backtest"
	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
	"github.com/gridminer/gridminer/internal/price"
)

// hashValue is the synthetic fleet's mining revenue per MWh drawn, USD.
const hashValue = 55.0

// loadRule is a synthetic policy: the load it draws at a price.
type loadRule struct {
	name string
	mw   func(p float64) float64
}

var (
	alwaysOn = loadRule{"always-on", func(float64) float64 { return 100 }}
	cut60    = loadRule{"price-cap-60", func(p float64) float64 {
		if p > 60 {
			return 0
		}
		return 100
	}}
	oracleRule = loadRule{oracleName, func(p float64) float64 {
		if p > hashValue {
			return 0
		}
		return 100
	}}
)

// synth builds a result of rule over prices (one per 15-minute interval
// from start): revenue hashValue per MWh, power bought at spot.
func synth(tb testing.TB, rule loadRule, start time.Time, prices []float64) backtest.Result {
	tb.Helper()
	res := backtest.Result{Policy: rule.name, Rows: make([]backtest.Row, len(prices))}
	var hashed, nominal float64
	for i, p := range prices {
		s := start.Add(time.Duration(i) * 15 * time.Minute)
		iv := energy.Interval{Start: s, End: s.Add(15 * time.Minute)}
		mw := rule.mw(p)
		e := energy.Energy(mw * 1e6 * 0.25)
		rev, err := ledger.MicrosFromUSD(hashValue * e.MWh())
		if err != nil {
			tb.Fatal(err)
		}
		cost, err := ledger.MicrosFromUSD(p * e.MWh())
		if err != nil {
			tb.Fatal(err)
		}
		res.Rows[i] = backtest.Row{
			Interval: iv, Spot: energy.Price(p), Expected: energy.Price(p),
			Mining: energy.Power(mw * 1e6), Hashrate: energy.Hashrate(mw * 1e6 / 20), Running: int(mw * 300),
			Revenue: rev, Net: rev - cost,
			Settle: contract.Settlement{Interval: iv, Spot: energy.Price(p), LoadWh: e, ImportWh: e, SpotWh: e, SpotCost: cost, EnergyCost: cost, NetCost: cost},
		}
		t := &res.Totals
		t.Intervals++
		t.Energy += e
		t.ImportEnergy += e
		t.Revenue += rev
		t.PowerCost += cost
		t.EnergyCost += cost
		t.Net += rev - cost
		hashed += mw
		nominal += 100
	}
	res.Totals.Uptime = hashed / nominal
	if mwh := res.Totals.Energy.MWh(); mwh > 0 {
		res.Totals.EffectivePrice = energy.Price(res.Totals.EnergyCost.USD() / mwh)
	}
	return res
}

// localStart is midnight local (ERCOT) time on the given date, as UTC.
func localStart(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, price.ERCOTLocation()).UTC()
}

// dailyPrices returns n 15-minute prices with a daily shape between about
// 15 and 45 $/MWh, deterministic.
func dailyPrices(n int) []float64 {
	ps := make([]float64, n)
	for i := range ps {
		h := float64(i%96) / 4
		ps[i] = 30 + 15*math.Sin((h-9)/24*2*math.Pi) + 3*math.Sin(float64(i)*0.7)
	}
	return ps
}

// yearInput is a synthetic year (35,040 intervals) of three policies with
// a few scarcity spikes and negative prices.
func yearInput(tb testing.TB) Input {
	tb.Helper()
	start := localStart(2021, 1, 1)
	ps := dailyPrices(35040)
	for i := range ps {
		switch {
		case i/96 == 45 && i%96 >= 28 && i%96 < 80: // a mid-February scarcity day
			ps[i] = 1500 + float64(i%7)*1000
		case i/96 == 200 && i%96 == 70: // one summer interval at the cap
			ps[i] = 5000
		case i%96 >= 8 && i%96 < 12 && (i/96)%9 == 0: // windy nights
			ps[i] = -25
		}
	}
	return Input{
		Title:         "synthetic · 2021",
		Results:       []backtest.Result{synth(tb, alwaysOn, start, ps), synth(tb, cut60, start, ps), synth(tb, oracleRule, start, ps)},
		Breakeven:     hashValue,
		BreakevenNote: "hash value per MWh of the synthetic fleet",
		Notes:         []string{"synthetic prices"},
	}
}
