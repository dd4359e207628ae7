package synthetic

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/shareddata"
)

func mustNew(t testing.TB, p Params, seed int64) *Generator {
	t.Helper()
	g, err := New(p, seed)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

// year returns a local year (2024, leap) of default-seed prices.
func year(t testing.TB, g *Generator) price.Schedule {
	t.Helper()
	loc := price.ERCOTLocation()
	s, err := g.Schedule(context.Background(), time.Date(2024, 1, 1, 0, 0, 0, 0, loc), time.Date(2025, 1, 1, 0, 0, 0, 0, loc))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDeterministicAndSpanIndependent(t *testing.T) {
	ctx := context.Background()
	g := mustNew(t, DefaultParams(), 7)
	again := mustNew(t, DefaultParams(), 7)
	from := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC) // spans the spring-forward day
	long, err := g.Schedule(ctx, from, from.Add(72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(long), 72*4; got != want {
		t.Fatalf("points = %d, want %d", got, want)
	}
	if err := long.Validate(); err != nil {
		t.Fatalf("invalid schedule: %v", err)
	}
	if gaps := long.Gaps(from, from.Add(72*time.Hour)); len(gaps) != 0 {
		t.Errorf("gaps = %v, want none", gaps)
	}
	// Odd sub-spans, asked of a fresh generator, give the same prices.
	for _, span := range []struct{ from, to time.Duration }{{0, 15 * time.Minute}, {7 * time.Minute, 5 * time.Hour}, {30*time.Hour + 1, 71 * time.Hour}} {
		part, err := again.Schedule(ctx, from.Add(span.from), from.Add(span.to))
		if err != nil {
			t.Fatal(err)
		}
		want := long.Between(from.Add(span.from), from.Add(span.to))
		if diff := cmp.Diff(want, part); diff != "" {
			t.Errorf("span %v: prices depend on the span asked (-long +part):\n%s", span, diff)
		}
	}
	for _, p := range long[:8] {
		if got := g.PriceAt(p.Interval.Start.Add(14 * time.Minute)); got != p.Price {
			t.Errorf("PriceAt(%v + 14m) = %v, want %v", p.Interval.Start, got, p.Price)
		}
	}
	// Another seed gives other prices.
	other, err := mustNew(t, DefaultParams(), 8).Schedule(ctx, from, from.Add(72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range other {
		if other[i].Price == long[i].Price {
			same++
		}
	}
	if same > len(long)/10 {
		t.Errorf("seeds 7 and 8 agree on %d of %d intervals", same, len(long))
	}
}

func TestScheduleAlignmentAndErrors(t *testing.T) {
	ctx := context.Background()
	g := mustNew(t, DefaultParams(), 1)
	from := time.Date(2024, 6, 1, 10, 7, 0, 0, time.UTC)
	s, err := g.Schedule(ctx, from, from.Add(20*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []energy.Interval{
		{Start: time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC), End: time.Date(2024, 6, 1, 10, 15, 0, 0, time.UTC)},
		{Start: time.Date(2024, 6, 1, 10, 15, 0, 0, time.UTC), End: time.Date(2024, 6, 1, 10, 30, 0, 0, time.UTC)},
	}
	var got []energy.Interval
	for _, p := range s {
		got = append(got, p.Interval)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("intervals mismatch (-want +got):\n%s", diff)
	}
	if _, err := g.Schedule(ctx, from, from); !errors.Is(err, energy.ErrBadInterval) {
		t.Errorf("empty span: err = %v, want ErrBadInterval", err)
	}
	if _, err := g.Schedule(ctx, from, from.AddDate(30, 0, 0)); err == nil {
		t.Error("30-year span accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.Schedule(cctx, from, from.AddDate(1, 0, 0)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
}

func TestValidateParams(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Params)
		wantErr string
	}{
		{"defaults", func(*Params) {}, ""},
		{"no spikes", func(p *Params) { p.SpikesPerYear = 0 }, ""},
		{"NaN level", func(p *Params) { p.BaseLevel = math.NaN() }, "BaseLevel"},
		{"Inf cap", func(p *Params) { p.Cap = math.Inf(1) }, "Cap"},
		{"zero level", func(p *Params) { p.BaseLevel = 0 }, "BaseLevel = 0"},
		{"night dip over 1", func(p *Params) { p.NightDip = 1.5 }, "NightDip = 1.5"},
		{"negative sigma", func(p *Params) { p.DaySigma = -0.1 }, "DaySigma"},
		{"positive negative price", func(p *Params) { p.NegativePrice = 5 }, "NegativePrice"},
		{"zero wind span", func(p *Params) { p.WindSpan = 0 }, "WindSpan"},
		{"weekend factor zero", func(p *Params) { p.WeekendFactor = 0 }, "WeekendFactor"},
		{"zero tail", func(p *Params) { p.SpikeTailIndex = 0 }, "SpikeTailIndex"},
		{"spike length 9", func(p *Params) { p.SpikeMaxIntervals = 9 }, "SpikeMaxIntervals = 9"},
		{"spike length 0", func(p *Params) { p.SpikeMaxIntervals = 0 }, "SpikeMaxIntervals = 0"},
		{"peak day 0", func(p *Params) { p.SummerPeakDay = 0 }, "SummerPeakDay = 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultParams()
			tt.edit(&p)
			_, err := New(p, 1)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestShape checks each documented feature of the model on a year of
// default-seed prices.
func TestShape(t *testing.T) {
	loc := price.ERCOTLocation()
	s := year(t, mustNew(t, DefaultParams(), 1))
	var byHour [24][]float64
	var weekday, weekend, summer, spring []float64
	negNight, neg, spikes := 0, 0, 0
	for _, p := range s {
		v := p.Price.USDPerMWh()
		if v > DefaultParams().Cap {
			t.Fatalf("%v: %v above the cap", p.Interval, v)
		}
		l := p.Interval.Start.In(loc)
		byHour[l.Hour()] = append(byHour[l.Hour()], v)
		if wd := l.Weekday(); wd == time.Saturday || wd == time.Sunday {
			weekend = append(weekend, v)
		} else {
			weekday = append(weekday, v)
		}
		switch l.Month() {
		case time.July, time.August:
			summer = append(summer, v)
		case time.March, time.April:
			spring = append(spring, v)
		}
		if v < 0 {
			neg++
			if l.Hour() < 7 || l.Hour() >= 22 {
				negNight++
			}
		}
		if v >= 1000 {
			spikes++
		}
	}
	med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	checks := []struct {
		what      string
		low, high float64
	}{
		{"median 03:00-04:00 < median 19:00-20:00", med(byHour[3]), med(byHour[19])},
		{"median 12:00-13:00 < median 19:00-20:00", med(byHour[12]), med(byHour[19])},
		{"median weekend < median weekday", med(weekend), med(weekday)},
		{"median Mar-Apr < median Jul-Aug", med(spring), med(summer)},
	}
	for _, c := range checks {
		if !(c.low < c.high) {
			t.Errorf("%s: got %.2f vs %.2f", c.what, c.low, c.high)
		}
	}
	// Night is 9 hours (22:00-07:00), day 15: compare negatives per hour.
	if nightRate, dayRate := float64(negNight)/9, float64(neg-negNight)/15; neg == 0 || nightRate <= dayRate {
		t.Errorf("negative intervals: %d, %d at night: %.0f per night hour vs %.0f per day hour; want some, more often at night",
			neg, negNight, nightRate, dayRate)
	}
	if spikes == 0 {
		t.Error("no interval at or above $1,000 in a year")
	}
}

func TestDemoDay(t *testing.T) {
	g := mustNew(t, DefaultParams(), DemoSeed)
	day := DemoDay()
	s, err := g.Schedule(context.Background(), day, day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	above100, below20, neg := 0, 0, 0
	for _, p := range s {
		switch v := p.Price.USDPerMWh(); {
		case v > 100:
			above100++
		case v < 0:
			neg++
			below20++
		case v < 20:
			below20++
		}
	}
	// At least two hours above $100 and two below $20, some negative.
	if above100 < 8 || below20 < 8 || neg == 0 {
		t.Errorf("demo day %s: %d intervals > $100, %d < $20, %d negative; want ≥ 8, ≥ 8, > 0",
			day.Format("2006-01-02"), above100, below20, neg)
	}
}

// realHBWest reads the 2022 HB_WEST prices from the shared data directory
// (../shared/data/ercot next to the repository root), skipping when absent.
// It parses the file directly so that this package's tests do not depend on
// the ercot reader.
func realHBWest(t *testing.T) []float64 {
	t.Helper()
	path := shareddata.Path(t, "ercot/rtm_spp_hubs_2022.csv.gz")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("calibration: real data %s absent (%v); skipping the comparison with real prices", path, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []float64
	sc := bufio.NewScanner(zr)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), ",")
		if len(fields) != 7 || fields[3] != "HB_WEST" {
			continue
		}
		v, err := strconv.ParseFloat(fields[5], 64)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

type summary struct {
	mean, negShare, over100Share float64
	over1000                     int
	q                            map[float64]float64
}

func summarise(v []float64) summary {
	v = slices.Clone(v)
	slices.Sort(v)
	s := summary{q: map[float64]float64{}}
	for _, x := range v {
		s.mean += x
		if x < 0 {
			s.negShare++
		}
		if x > 100 {
			s.over100Share++
		}
		if x > 1000 {
			s.over1000++
		}
	}
	n := float64(len(v))
	s.mean /= n
	s.negShare /= n
	s.over100Share /= n
	for _, q := range []float64{0.01, 0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99} {
		s.q[q] = v[int(q*(n-1))]
	}
	return s
}

// TestCalibrationAgainstReal2022 compares a year of default prices (three
// seeds) with real 2022 HB_WEST prices. Tolerances are wide on purpose: the
// model should look like the market, not reproduce one year of it.
func TestCalibrationAgainstReal2022(t *testing.T) {
	real := summarise(realHBWest(t))
	t.Logf("real 2022 HB_WEST: mean %.1f, negative %.1f%%, >$100 %.1f%%, >$1000 %d, quantiles %v",
		real.mean, 100*real.negShare, 100*real.over100Share, real.over1000, real.q)
	for seed := int64(1); seed <= 3; seed++ {
		s := year(t, mustNew(t, DefaultParams(), seed))
		v := make([]float64, len(s))
		for i, p := range s {
			v[i] = p.Price.USDPerMWh()
		}
		syn := summarise(v)
		t.Logf("synthetic seed %d: mean %.1f, negative %.1f%%, >$100 %.1f%%, >$1000 %d, quantiles %v",
			seed, syn.mean, 100*syn.negShare, 100*syn.over100Share, syn.over1000, syn.q)
		within := func(what string, got, want, tol float64) {
			if math.Abs(got-want) > tol {
				t.Errorf("seed %d: %s = %.2f, real %.2f: off by more than %.2f", seed, what, got, want, tol)
			}
		}
		within("mean ($/MWh)", syn.mean, real.mean, 15)
		within("negative share", syn.negShare, real.negShare, 0.05)
		within("share above $100", syn.over100Share, real.over100Share, 0.04)
		within("intervals above $1,000", float64(syn.over1000), float64(real.over1000), 100)
		within("1% quantile", syn.q[0.01], real.q[0.01], 10)
		within("5% quantile", syn.q[0.05], real.q[0.05], 8)
		within("25% quantile", syn.q[0.25], real.q[0.25], 8)
		within("median", syn.q[0.5], real.q[0.5], 8)
		within("75% quantile", syn.q[0.75], real.q[0.75], 12)
		within("90% quantile", syn.q[0.9], real.q[0.9], 20)
		within("95% quantile", syn.q[0.95], real.q[0.95], 35)
		// The 99% quantile sits in the spike tail: within a factor of 2.
		if r := syn.q[0.99] / real.q[0.99]; r < 0.5 || r > 2 {
			t.Errorf("seed %d: 99%% quantile = %.0f, real %.0f: ratio %.2f outside [0.5, 2]", seed, syn.q[0.99], real.q[0.99], r)
		}
	}
}

func BenchmarkYear(b *testing.B) {
	g := mustNew(b, DefaultParams(), 1)
	ctx := context.Background()
	from := time.Date(2024, 1, 1, 6, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		s, err := g.Schedule(ctx, from, to)
		if err != nil || len(s) != 366*96 {
			b.Fatalf("%d points, %v", len(s), err)
		}
	}
}
