package contract

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
)

// settleAll settles a draw per interval at spot $50 with no generation, so
// each interval's import is its draw.
func settleAll(t *testing.T, c Contract, draws map[energy.Interval]energy.Power) []Settlement {
	t.Helper()
	var out []Settlement
	for iv, w := range draws {
		s, err := c.Settle(Facts{Interval: iv, Spot: 50, MiningW: w})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestPeriodFourCP(t *testing.T) {
	c := Contract{FourCP: &FourCP{RateUSDPerKWYear: 55}}
	q := 15 * time.Minute
	// ERCOT's 2024 peaks were 30 June (a Sunday), 1 July, 20 August; the
	// September one here is made up. The June peak at 23:45 CDT on the
	// 30th is 1 July in UTC, but belongs to June.
	jun := span(t, "2024-07-01T04:45:00Z", q)
	jul := span(t, "2024-07-01T21:00:00Z", q)
	aug := span(t, "2024-08-20T21:15:00Z", q)
	sep := span(t, "2024-09-05T21:30:00Z", q)
	full := map[energy.Interval]energy.Power{
		jun: 80 * MW, jul: 0, aug: 40 * MW, sep: 100 * MW,
		span(t, "2024-07-01T21:15:00Z", q): 120 * MW, // next to a peak: does not count
	}
	fiveMin := map[energy.Interval]energy.Power{
		span(t, "2024-07-01T21:00:00Z", 5*time.Minute): 30 * MW,
		span(t, "2024-07-01T21:05:00Z", 5*time.Minute): 60 * MW,
		span(t, "2024-07-01T21:10:00Z", 5*time.Minute): 90 * MW,
	}
	tests := []struct {
		name   string
		c      Contract
		draws  map[energy.Interval]energy.Power
		peaks  []energy.Interval
		want   FourCPBill
		errHas string
	}{
		{
			name: "four peaks: the tag is the average import", c: c, draws: full, peaks: []energy.Interval{sep, jun, aug, jul},
			want: FourCPBill{
				Peaks:        []PeakImport{{jun, 80_000}, {jul, 0}, {aug, 40_000}, {sep, 100_000}},
				TagKW:        55_000,
				AnnualCharge: 3_025_000e6, // 55,000 kW × $55
			},
		},
		{
			name: "two peaks so far: a quarter each", c: c, draws: full, peaks: []energy.Interval{jun, jul},
			want: FourCPBill{Peaks: []PeakImport{{jun, 80_000}, {jul, 0}}, TagKW: 20_000, AnnualCharge: 1_100_000e6},
		},
		{
			name: "5-minute settlements: the peak's average", c: c, draws: fiveMin, peaks: []energy.Interval{jul},
			want: FourCPBill{Peaks: []PeakImport{{jul, 60_000}}, TagKW: 15_000, AnnualCharge: 825_000e6},
		},
		{
			name: "12CP: one twelfth each", c: Contract{FourCP: &FourCP{RateUSDPerKWYear: 60, Months: []time.Month{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}},
			draws: full, peaks: []energy.Interval{sep},
			want: FourCPBill{Peaks: []PeakImport{{sep, 100_000}}, TagKW: 100_000.0 / 12, AnnualCharge: 500_000e6},
		},
		{name: "peak not covered", c: c, draws: full, peaks: []energy.Interval{span(t, "2024-08-21T21:00:00Z", q)},
			errHas: "peak [2024-08-21T21:00:00Z, 2024-08-21T21:15:00Z): settlements cover 0s of its 15m0s"},
		{name: "peak partly covered", c: c, draws: fiveMin, peaks: []energy.Interval{span(t, "2024-07-01T21:05:00Z", q)},
			errHas: "settlements cover 10m0s of its 15m0s"},
		{name: "two peaks in one local month", c: c, draws: full, peaks: []energy.Interval{jul, span(t, "2024-07-01T21:15:00Z", q)},
			errHas: "a second peak in July 2024"},
		{name: "peak outside the 4CP months", c: c, draws: map[energy.Interval]energy.Power{span(t, "2024-10-01T21:00:00Z", q): MW},
			peaks: []energy.Interval{span(t, "2024-10-01T21:00:00Z", q)}, errHas: "October is not a 4CP month"},
		{name: "peaks without fourcp", c: Contract{}, draws: full, peaks: []energy.Interval{jul}, errHas: "1 peaks given: the contract has no fourcp"},
		{name: "empty peak", c: c, draws: full, peaks: []energy.Interval{{Start: jul.Start, End: jul.Start}}, errHas: "interval end must be after its start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.c.Period(settleAll(t, tt.c, tt.draws), tt.peaks)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.HasPrefix(err.Error(), "contract: period: ") {
					t.Fatalf("Period error = %v, want one containing %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.FourCP); diff != "" {
				t.Errorf("4CP (-want +got):\n%s", diff)
			}
			if b.Total != b.Totals.NetCost+b.DemandCharge {
				t.Errorf("total %d: the 4CP charge must not be in it (net %d + demand %d)", b.Total, b.Totals.NetCost, b.DemandCharge)
			}
		})
	}
}

func TestPeriodDemandByLocalMonth(t *testing.T) {
	c := Contract{Demand: &DemandCharge{RateUSDPerKWMonth: 2}}
	q := 15 * time.Minute
	lastJune := span(t, "2024-07-01T04:45:00Z", q) // 30 June 23:45 CDT
	firstJuly := span(t, "2024-07-01T05:00:00Z", q)
	midJuly := span(t, "2024-07-10T12:00:00Z", q)
	ss := settleAll(t, c, map[energy.Interval]energy.Power{lastJune: 50 * MW, firstJuly: 30 * MW, midJuly: 40 * MW})
	b, err := c.Period(ss, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []MonthlyDemand{
		{Year: 2024, Month: time.June, PeakKW: 50_000, At: lastJune, Charge: 100_000e6},
		{Year: 2024, Month: time.July, PeakKW: 40_000, At: midJuly, Charge: 80_000e6},
	}
	if diff := cmp.Diff(want, b.Demand); diff != "" {
		t.Errorf("demand (-want +got):\n%s", diff)
	}
	if b.DemandCharge != 180_000e6 {
		t.Errorf("demand charge = %d, want 180,000 dollars", b.DemandCharge)
	}
	if want := b.Totals.NetCost + 180_000e6; b.Total != want {
		t.Errorf("total = %d, want %d", b.Total, want)
	}
	if want := (energy.Interval{Start: lastJune.Start, End: midJuly.End}); b.Span != want {
		t.Errorf("span = %v, want %v", b.Span, want)
	}

	// Without a demand charge the peaks are still reported.
	b, err = Contract{}.Period(ss, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Demand) != 2 || b.Demand[0].Charge != 0 || b.DemandCharge != 0 || b.Demand[1].PeakKW != 40_000 {
		t.Errorf("demand without a charge = %+v, %d", b.Demand, b.DemandCharge)
	}
}

func TestPeriodRejectsOverlap(t *testing.T) {
	c := Contract{}
	a := settleAll(t, c, map[energy.Interval]energy.Power{span(t, "2024-07-01T05:00:00Z", 15*time.Minute): MW})
	b := settleAll(t, c, map[energy.Interval]energy.Power{span(t, "2024-07-01T05:10:00Z", 15*time.Minute): MW})
	_, err := c.Period(append(a, b...), nil)
	if err == nil || !strings.Contains(err.Error(), "settlement [2024-07-01T05:10:00Z, 2024-07-01T05:25:00Z) overlaps settlement [2024-07-01T05:00:00Z, 2024-07-01T05:15:00Z)") {
		t.Errorf("Period = %v, want an overlap error", err)
	}
	if _, err := c.Period(append(a, a...), nil); err == nil {
		t.Error("Period accepted the same interval twice")
	}
	if b, err := c.Period(nil, nil); err != nil || b.Totals.Intervals != 0 || !b.Span.IsZero() {
		t.Errorf("Period(nil) = %+v, %v", b, err)
	}
}

// A week of random 15-minute intervals across a local month boundary and
// the autumn DST change: every settlement matches the exact reference, and
// the bill's totals are the exact sums of the settlements' fields.
func TestPeriodTotalsReconcile(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	c := randomContract(r)
	for len(c.Commitments) == 0 || c.Block == nil || c.Renewables == nil {
		c = randomContract(r)
	}
	start := time.Date(2024, 10, 29, 0, 0, 0, 0, ercot()).UTC()
	end := time.Date(2024, 11, 5, 0, 0, 0, 0, ercot()).UTC()
	var ss []Settlement
	var sum Totals
	var refNet int64
	offByOne := 0
	peakKW := map[time.Month]float64{}
	for t0 := start; t0.Before(end); t0 = t0.Add(15 * time.Minute) {
		f := randomFacts(r, c, energy.Interval{Start: t0, End: t0.Add(15 * time.Minute)})
		s, err := c.Settle(f)
		if err != nil {
			t.Fatal(err)
		}
		ref, n := checkAgainst(t, c, f, s)
		offByOne += n
		refNet += ref.net
		ss = append(ss, s)
		m := t0.In(ercot()).Month()
		peakKW[m] = math.Max(peakKW[m], s.ImportW.KW())

		sum.Intervals++
		sum.Hours += 0.25
		sum.MiningWh += s.MiningWh
		sum.AIWh += s.AIWh
		sum.LoadWh += s.LoadWh
		sum.GenWh += s.GenWh
		sum.GenUsedWh += s.GenUsedWh
		sum.ExportWh += s.ExportWh
		sum.SpillWh += s.SpillWh
		sum.ImportWh += s.ImportWh
		sum.BlockWh += s.BlockWh
		sum.BlockUnusedWh += s.BlockUnusedWh
		sum.SpotWh += s.SpotWh
		sum.BlockCost += s.BlockCost
		sum.SpotCost += s.SpotCost
		sum.ResaleCredit += s.ResaleCredit
		sum.ExportCredit += s.ExportCredit
		sum.EnergyCost += s.EnergyCost
		sum.CapacityCredit += s.CapacityCredit
		sum.Penalty += s.Penalty
		sum.NetCost += s.NetCost
		sum.AIValue += s.AIValue
		sum.FourCPAccrual += s.FourCPAccrual
	}
	if got, want := len(ss), 7*24*4+4; got != want {
		t.Fatalf("%d intervals, want %d (a week with the 25-hour day)", got, want)
	}
	// Any order will do.
	r.Shuffle(len(ss), func(i, j int) { ss[i], ss[j] = ss[j], ss[i] })
	b, err := c.Period(ss, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sum, b.Totals); diff != "" {
		t.Errorf("totals (-sums of the settlements +bill):\n%s", diff)
	}
	if d := int64(b.Totals.NetCost) - refNet; d < -int64(offByOne) || d > int64(offByOne) {
		t.Errorf("net cost %d µ$, reference %d µ$: off by %d with only %d amounts off by one", b.Totals.NetCost, refNet, d, offByOne)
	}
	if len(b.Demand) != 2 || b.Demand[0].Month != time.October || b.Demand[1].Month != time.November {
		t.Fatalf("demand months = %+v, want October and November", b.Demand)
	}
	var demand ledger.Micros
	for _, d := range b.Demand {
		if d.PeakKW != peakKW[d.Month] {
			t.Errorf("%s peak = %v kW, want %v", d.Month, d.PeakKW, peakKW[d.Month])
		}
		exact := roundRat(rmul(rat(c.Demand.RateUSDPerKWMonth), rat(d.PeakKW), big.NewRat(1e6, 1)))
		if diff := int64(d.Charge) - exact; diff < -1 || diff > 1 {
			t.Errorf("%s charge = %d, exact %d", d.Month, d.Charge, exact)
		}
		demand += d.Charge
	}
	if b.DemandCharge != demand || b.Total != b.Totals.NetCost+demand {
		t.Errorf("demand %d total %d; want %d and %d", b.DemandCharge, b.Total, demand, b.Totals.NetCost+demand)
	}
	t.Logf("%d intervals; %d amounts 1 µ$ off the exact reference; net cost %v", len(ss), offByOne, b.Totals.NetCost)
}
