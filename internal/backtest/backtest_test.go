package backtest

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/price"
)

var start = time.Date(2022, 7, 1, 5, 0, 0, 0, time.UTC) // local midnight, CDT

// prices returns n+1 15-minute prices from one before start, a random walk
// with spikes.
func prices(rng *rand.Rand, n int) price.Schedule {
	var s price.Schedule
	p := 60.0
	for k := -1; k < n; k++ {
		p = math.Max(-20, p+rng.NormFloat64()*15)
		v := p
		if rng.IntN(12) == 0 {
			v = 200 + rng.Float64()*2000
		}
		t := start.Add(time.Duration(k) * 15 * time.Minute)
		s = append(s, price.Point{Interval: energy.Interval{Start: t, End: t.Add(15 * time.Minute)}, Price: energy.Price(math.Round(v*100) / 100)})
	}
	return s
}

func days(n int) []bitcoin.Day {
	var out []bitcoin.Day
	for d := range n {
		out = append(out, bitcoin.Day{Date: start.Truncate(24*time.Hour).AddDate(0, 0, d-1), HeightStart: 740000 + int64(d)*144, Blocks: 144,
			PriceUSD: 20000 + float64(d)*300, FeesBTC: 20, Difficulty: 27e12})
	}
	return out
}

func unit(id string, w, th float64, steps ...miner.PowerStep) dispatch.Unit {
	return dispatch.Unit{ID: id, State: miner.StateSleeping, Caps: miner.Capabilities{
		NominalPower: energy.Power(w), NominalHashrate: energy.Hashrate(th), CanSleep: true, SleepPower: energy.Power(w / 200), PowerSteps: steps}}
}

// units is a small fleet of blocks: at 2022 hashprices ($0.09/TH/day)
// they break even between about $60 and $160/MWh.
func units() []dispatch.Unit {
	return []dispatch.Unit{
		unit("s9", 1.35e6, 13.5e3),
		unit("j", 3e6, 100e3, miner.PowerStep{Name: "low", Power: 2e6, Hashrate: 78e3}),
		unit("xp", 3e6, 140e3),
	}
}

func TestOracleBeatsEveryPolicy(t *testing.T) {
	for seed := range uint64(6) {
		rng := rand.New(rand.NewPCG(seed, 7))
		n := 96 * (1 + int(seed%2))
		cfg := Config{From: start, To: start.Add(time.Duration(n) * 15 * time.Minute), Units: units(), PoolFee: 0.02,
			Prices: prices(rng, n), BTC: days(4)}
		if seed%3 == 1 {
			cfg.SiteCap = 5e6
		}
		if seed%3 == 2 {
			c := &contract.Contract{Index: contract.Index{AdderUSDPerMWh: 5}, Block: &contract.Block{MW: 4, PriceUSDPerMWh: 30}}
			cfg.Contract = c
		}
		bc := dispatch.BreakevenConfig{PoolFee: 0.02, MinRun: 30 * time.Minute, MinSleep: 30 * time.Minute}
		oracle, err := RunOracle(cfg, dispatch.PlannerConfig{Breakeven: bc})
		if err != nil {
			t.Fatalf("seed %d: oracle: %v", seed, err)
		}
		if oracle.Gap > 1e-6 {
			t.Logf("seed %d: oracle gap %.3g (%s)", seed, oracle.Gap, oracle.Method)
		}
		for _, name := range []string{"always-on", "breakeven", "partial-power", "planner"} {
			p, err := dispatch.New(name, dispatch.Config{Breakeven: bc})
			if err != nil {
				t.Fatal(err)
			}
			r, err := Run(cfg, p)
			if err != nil {
				t.Fatalf("seed %d: %s: %v", seed, name, err)
			}
			// The oracle's bound holds for every policy: allow its gap.
			slack := ledger.Micros(oracle.Gap*math.Abs(float64(oracle.Totals.Net))) + 1000
			if r.Totals.Net > oracle.Totals.Net+slack {
				t.Errorf("seed %d: %s net %s beats the oracle's %s (gap %.3g)", seed, name, r.Totals.Net, oracle.Totals.Net, oracle.Gap)
			}
		}
	}
}

func TestBadHistory(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	n := 96
	good := Config{From: start, To: start.Add(24 * time.Hour), Units: units(), Prices: prices(rng, n), BTC: days(3)}
	p, _ := dispatch.New("breakeven", dispatch.Config{})
	if _, err := Run(good, p); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tt := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"gap in prices", func(c *Config) { c.Prices = append(c.Prices[:40:40], c.Prices[41:]...) }, "gaps"},
		{"btc ends early", func(c *Config) { c.BTC = c.BTC[:2] }, "bitcoin data has no 2022-07-02"},
		{"btc starts late", func(c *Config) { c.BTC = c.BTC[2:] }, "bitcoin data has no 2022-07-01"},
		{"empty period", func(c *Config) { c.To = c.From }, "is empty"},
		{"unaligned", func(c *Config) { c.From = c.From.Add(time.Minute) }, "boundaries"},
		{"no fleet", func(c *Config) { c.Units = nil }, "no fleet"},
	} {
		c := good
		c.Prices = append(price.Schedule(nil), good.Prices...)
		tt.mod(&c)
		_, err := Run(c, p)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
		}
		if tt.name == "gap in prices" && !errors.Is(err, ErrData) {
			t.Errorf("gap: err %v does not wrap ErrData", err)
		}
	}
}

// TestHistoryStartingOnTheFirstDay: with no bitcoin day before the
// period, policies plan the first day with that day's own economics, and
// the run says so.
func TestHistoryStartingOnTheFirstDay(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	cfg := Config{From: start, To: start.Add(24 * time.Hour), Units: units(), Prices: prices(rng, 96), BTC: days(3)[1:]}
	if w := cfg.Warnings(); len(w) != 1 || !strings.Contains(w[0], "bitcoin data starts 2022-07-01") {
		t.Fatalf("warnings %q", w)
	}
	p, _ := dispatch.New("always-on", dispatch.Config{})
	r, err := Run(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.Revenue <= 0 {
		t.Errorf("revenue %s", r.Totals.Revenue)
	}
	if got, want := cfg.known(start.Add(time.Hour)), cfg.BTC[0].Economics(); got != want {
		t.Errorf("first day known economics %+v, want the first day's %+v", got, want)
	}
	full := cfg
	full.BTC = days(3)
	if w := full.Warnings(); len(w) != 0 {
		t.Errorf("warnings with the day before present: %q", w)
	}
}
