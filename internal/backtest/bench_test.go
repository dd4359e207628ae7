package backtest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/price/ercot"
	"github.com/gridminer/gridminer/internal/shareddata"
)

// tenClasses is a fleet of ten machine classes, three dispatch blocks
// each, about 90 MW: the size the backtest speed target names.
func tenClasses() []dispatch.Unit {
	classes := []struct {
		w, th float64
		steps []miner.PowerStep
	}{{1.38e6, 13.5e3, nil}, {2.18e6, 53e3, nil}, {3.54e6, 90e3, nil}, {3.39e6, 88e3, nil}, {3.37e6, 95e3, nil},
		{3.17e6, 104e3, []miner.PowerStep{{Name: "low", Power: 2.12e6, Hashrate: 78e3}, {Name: "eco", Power: 2.62e6, Hashrate: 92e3}}},
		{3.59e6, 112e3, nil}, {3.40e6, 126e3, nil}, {3.13e6, 140e3, []miner.PowerStep{{Name: "eco", Power: 2.72e6, Hashrate: 126e3}}}, {3.62e6, 200e3, nil}}
	var out []dispatch.Unit
	for i, c := range classes {
		for b := range 3 {
			out = append(out, unit(fmt.Sprintf("c%d-b%d", i, b), c.w, c.th, c.steps...))
		}
	}
	return out
}

// yearConfig is a year of 15-minute random-walk prices with spikes, a
// ten-class fleet and a contract with a block, an adder and 4CP.
func yearConfig() Config {
	n := 365 * 96
	c := &contract.Contract{Index: contract.Index{AdderUSDPerMWh: 4}, Block: &contract.Block{MW: 40, PriceUSDPerMWh: 28},
		FourCP: &contract.FourCP{RateUSDPerKWYear: 55}}
	c.Defaults(90e6)
	return Config{From: start, To: start.Add(time.Duration(n) * 15 * time.Minute), Units: tenClasses(), PoolFee: 0.02,
		Contract: c, Prices: prices(rand.New(rand.NewPCG(9, 9)), n), BTC: days(368)}
}

// BenchmarkRunYear is the simulation core: one year of 15-minute
// intervals of a ten-class fleet through each policy (and the oracle).
func BenchmarkRunYear(b *testing.B) {
	cfg := yearConfig()
	for _, name := range []string{"always-on", "breakeven", "partial-power", "oracle"} {
		b.Run(name, func(b *testing.B) {
			runYear(b, cfg, name)
		})
	}
}

// realYear is 2021 at HB_WEST (Winter Storm Uri) for the ten-class fleet,
// or a skip when the shared data is absent.
func realYear(tb testing.TB) Config {
	tb.Helper()
	prices, err := ercot.OpenSPP(shareddata.Path(tb, "ercot/rtm_spp_hubs_2021.csv.gz"), "HB_WEST")
	if err != nil {
		tb.Fatal(err)
	}
	bf, err := os.Open(shareddata.Path(tb, "btc/btc_daily.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer bf.Close()
	btc, err := bitcoin.ReadDaily(bf, "btc_daily.csv")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := yearConfig()
	cfg.Prices, cfg.BTC = prices, btc
	cfg.From, cfg.To = prices[0].Interval.Start, prices[len(prices)-1].Interval.End
	return cfg
}

// BenchmarkRunYearReal is BenchmarkRunYear on real 2021 prices.
func BenchmarkRunYearReal(b *testing.B) {
	cfg := realYear(b)
	for _, name := range []string{"always-on", "breakeven", "oracle"} {
		b.Run(name, func(b *testing.B) {
			runYear(b, cfg, name)
		})
	}
}

// runYear times one policy (or the oracle) over cfg.
func runYear(b *testing.B, cfg Config, name string) {
	bc := dispatch.BreakevenConfig{PoolFee: 0.02, MinRun: 15 * time.Minute, MinSleep: 15 * time.Minute}
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if name == "oracle" {
			_, err = RunOracle(cfg, dispatch.PlannerConfig{Breakeven: bc})
		} else {
			p, _ := dispatch.New(name, dispatch.Config{Breakeven: bc})
			_, err = Run(cfg, p)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
