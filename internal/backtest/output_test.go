package backtest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
	"github.com/gridminer/gridminer/internal/price"
)

// TestLedgerReconcilesWithSummary runs three policies, writes ledger.csv
// and summary.json, reads both back as text and recomputes every interval's
// mining revenue, energy cost, resale and DR credit from the physical
// columns (draw, hashrate, price) and the contract's terms, then every
// total from the rows, and matches summary.json to the micro-dollar.
func TestLedgerReconcilesWithSummary(t *testing.T) {
	const (
		adder, blockMW, blockPrice, resaleAdder = 3.5, 3.0, 31.0, -0.5
		drMW, drRate, drPenalty, fourCPRate     = 1.0, 7.0, 90.0, 55.0
		poolFee                                 = 0.02
	)
	rng := rand.New(rand.NewPCG(3, 3))
	n := 96 * 3
	c := &contract.Contract{Index: contract.Index{AdderUSDPerMWh: adder},
		Block:  &contract.Block{MW: blockMW, PriceUSDPerMWh: blockPrice, ResaleAdderUSDPerMWh: resaleAdder},
		FourCP: &contract.FourCP{RateUSDPerKWYear: fourCPRate},
		Commitments: []contract.Commitment{{Name: "ers", Product: contract.ERS10, MW: drMW, CapacityUSDPerMWh: drRate, PenaltyUSDPerMWh: drPenalty,
			Window: contract.Window{From: "14:00", To: "20:00"}}}}
	c.Defaults(7.35e6)
	loc := price.ERCOTLocation()
	peak := time.Date(2022, 7, 2, 16, 30, 0, 0, loc) // a July system peak, 16:30-16:45 local
	cfg := Config{From: start, To: start.Add(time.Duration(n) * 15 * time.Minute), Units: units(), PoolFee: poolFee, Contract: c,
		Prices: prices(rng, n), BTC: days(5),
		Peaks:       []energy.Interval{{Start: peak.UTC(), End: peak.Add(15 * time.Minute).UTC()}},
		Deployments: []contract.Deployment{{Commitment: "ers", Start: start.Add(20 * time.Hour), End: start.Add(21 * time.Hour)}}}
	bc := dispatch.BreakevenConfig{PoolFee: poolFee}
	var results []Result
	for _, name := range []string{"always-on", "breakeven"} {
		p, err := dispatch.New(name, dispatch.Config{Breakeven: bc})
		if err != nil {
			t.Fatal(err)
		}
		r, err := Run(cfg, p)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
	}
	or, err := RunOracle(cfg, dispatch.PlannerConfig{Breakeven: bc})
	if err != nil {
		t.Fatal(err)
	}
	results = append(results, or)

	var lb, sb bytes.Buffer
	if err := cfg.WriteLedger(&lb, results); err != nil {
		t.Fatal(err)
	}
	if err := WriteSummary(&sb, Summary{Policies: Summarize(results), MoneyUnit: MoneyUnit}); err != nil {
		t.Fatal(err)
	}
	var sum Summary
	if err := json.Unmarshal(sb.Bytes(), &sum); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&lb).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	num := func(rec []string, name string) float64 {
		v, err := strconv.ParseFloat(rec[col[name]], 64)
		if err != nil {
			t.Fatalf("column %s: %v", name, err)
		}
		return v
	}
	micros := func(rec []string, name string) int64 {
		v, err := strconv.ParseInt(rec[col[name]], 10, 64)
		if err != nil {
			t.Fatalf("column %s: %v", name, err)
		}
		return v
	}
	round := func(v float64) int64 { return int64(math.Round(v)) } // half away from zero
	type acc struct {
		rev, cost, resale, dr, pen, net, peakW int64
		msat                                   int64
		mwh                                    float64
		rows, peaks                            int
	}
	got := map[string]*acc{}
	for k, rec := range recs[1:] {
		line := k + 2
		pol := rec[col["policy"]]
		a := got[pol]
		if a == nil {
			a = &acc{}
			got[pol] = a
		}
		a.rows++
		st, err := time.Parse(time.RFC3339, rec[col["start_utc"]])
		if err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		h := 0.25
		spot := num(rec, "price_usd_per_mwh")
		if want, _ := cfg.Prices.At(st); float64(want.Price) != spot {
			t.Fatalf("line %d: price %v, the history says %v", line, spot, want.Price)
		}
		// Revenue from the hashrate and the day's economics (the test's
		// own bitcoin history, not the ledger's columns).
		var day = days(5)[int(st.Sub(days(5)[0].Date).Hours()/24)]
		e := day.Economics()
		msat := round(num(rec, "hashrate_ths") * h * 3600 * (1 - poolFee) * e.BTCPerTHDay() / 86400 * ledger.MilliSatsPerBTC)
		if got := micros(rec, "btc_msat"); got != msat {
			t.Fatalf("line %d (%s): %d msat, recomputed %d", line, pol, got, msat)
		}
		rev := round(float64(msat) * e.PriceUSD / ledger.MilliSatsPerBTC * 1e6)
		if got := micros(rec, "mining_revenue_micro_usd"); got != rev {
			t.Fatalf("line %d (%s): revenue %d, recomputed %d", line, pol, got, rev)
		}
		// Energy: the block serves the first 3 MW; the rest is spot plus
		// the adder; unused block power is resold at spot plus its adder.
		load := num(rec, "mining_w") + num(rec, "ai_w")
		blockW := math.Min(load, blockMW*1e6)
		block := round(blockMW * 1e6 * h * blockPrice)
		spotCost := round((load - blockW) * h * (spot + adder))
		resale := round((blockMW*1e6 - blockW) * h * (spot + resaleAdder))
		if micros(rec, "block_cost_micro_usd") != block || micros(rec, "spot_cost_micro_usd") != spotCost || micros(rec, "resale_credit_micro_usd") != resale {
			t.Fatalf("line %d (%s): block %s spot %s resale %s, recomputed %d %d %d", line, pol,
				rec[col["block_cost_micro_usd"]], rec[col["spot_cost_micro_usd"]], rec[col["resale_credit_micro_usd"]], block, spotCost, resale)
		}
		// DR capacity: 1 MW × 0.25 h × $7 in the 14:00-20:00 local window.
		lt := st.In(loc)
		var dr int64
		if lt.Hour() >= 14 && lt.Hour() < 20 {
			dr = round(drMW * 1e6 * h * drRate)
		}
		if got := micros(rec, "dr_as_credit_micro_usd"); got != dr {
			t.Fatalf("line %d (%s) %s: DR credit %d, want %d", line, pol, lt, got, dr)
		}
		// Penalties: outside the deployment, only for drawing less than
		// the committed MW in the window (nothing left to curtail).
		pen := micros(rec, "penalty_micro_usd")
		if st.Before(cfg.Deployments[0].Start) || !st.Before(cfg.Deployments[0].End) {
			var want int64
			if dr > 0 {
				want = round(math.Max(0, drMW*1e6-load) * h * drPenalty)
			}
			if pen != want {
				t.Fatalf("line %d (%s) %s: penalty %d, want %d for drawing %.0f W", line, pol, lt, pen, want, load)
			}
		}
		net := rev + resale + dr - block - spotCost - pen
		if got := micros(rec, "net_micro_usd"); got != net {
			t.Fatalf("line %d (%s): net %d, recomputed %d", line, pol, got, net)
		}
		isPeak := !st.Before(cfg.Peaks[0].Start) && st.Before(cfg.Peaks[0].End)
		if (rec[col["fourcp_peak"]] == "1") != isPeak {
			t.Fatalf("line %d: fourcp_peak %s at %s", line, rec[col["fourcp_peak"]], lt)
		}
		if isPeak {
			a.peaks++
			a.peakW += round(num(rec, "import_w"))
		}
		a.rev += rev
		a.cost += block + spotCost
		a.resale += resale
		a.dr += dr
		a.pen += pen
		a.net += net
		a.msat += msat
		a.mwh += load * h / 1e6
	}
	if len(sum.Policies) != 3 {
		t.Fatalf("summary has %d policies", len(sum.Policies))
	}
	for _, ps := range sum.Policies {
		a := got[ps.Policy]
		if a == nil || a.rows != n {
			t.Fatalf("%s: ledger has %v rows, want %d", ps.Policy, a, n)
		}
		if a.peaks != 1 {
			t.Fatalf("%s: %d peak rows", ps.Policy, a.peaks)
		}
		// The tag is the mean import over the peaks of the 4 months (one given).
		tagKW := float64(a.peakW) / 1e3 / 4
		fourCP := round(tagKW * fourCPRate * 1e6)
		for _, c := range []struct {
			what      string
			got, want int64
		}{{"revenue", int64(ps.MiningRevenue), a.rev}, {"power cost", int64(ps.PowerCost), a.cost}, {"resale", int64(ps.Resale), a.resale},
			{"DR credit", int64(ps.DRCredit), a.dr}, {"penalty", int64(ps.Penalty), a.pen}, {"msat", ps.MilliSats, a.msat},
			{"4CP charge", int64(ps.FourCPCharge), fourCP}, {"net", int64(ps.Net), a.net - fourCP}} {
			if c.got != c.want {
				t.Errorf("%s %s: summary %d, recomputed from the ledger %d", ps.Policy, c.what, c.got, c.want)
			}
		}
		if math.Abs(ps.MWh-a.mwh) > 1e-6 {
			t.Errorf("%s: %v MWh, ledger %v", ps.Policy, ps.MWh, a.mwh)
		}
		if ps.USD.Net != Decimal(ps.Net) {
			t.Errorf("%s: usd net %q", ps.Policy, ps.USD.Net)
		}
		if a.dr == 0 {
			t.Errorf("%s: no DR credit over three days with a 14:00-20:00 window", ps.Policy)
		}
		if ps.NetPctOfOracle == nil {
			t.Fatalf("%s: no %% of oracle", ps.Policy)
		}
	}
	if o := sum.Policies[2]; o.Policy != "oracle" || math.Abs(*o.NetPctOfOracle-100) > 1e-9 {
		t.Errorf("oracle line %+v", o)
	}
}

func TestDecimal(t *testing.T) {
	for m, want := range map[ledger.Micros]string{0: "0.000000", 1: "0.000001", -1: "-0.000001", 12_345_678: "12.345678", -5_000_000: "-5.000000",
		math.MinInt64: "-9223372036854.775808"} {
		if got := Decimal(m); got != want {
			t.Errorf("Decimal(%d) = %q, want %q", m, got, want)
		}
	}
}
