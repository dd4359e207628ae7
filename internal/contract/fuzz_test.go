package contract

import (
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
)

// exampleContract is testdata/contract.yaml with the defaults of a 120 MW
// site.
func exampleContract(t testing.TB) Contract {
	t.Helper()
	b, err := os.ReadFile("testdata/contract.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := decodeStrict(b)
	if err != nil {
		t.Fatal(err)
	}
	c.Defaults(120 * energy.Megawatt)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzSettle settles random facts under the example contract and two
// variants of it: Settle must never panic, must accept every valid input
// (short of overflow), and what it returns must balance, export only at a
// positive export price, and reconcile with the exact reference and the
// cost curve.
func FuzzSettle(f *testing.F) {
	f.Add(50.0, 60e6, 10e6, 5e6, 0.0, int64(0), uint8(15), int32(-600), int32(3600), uint8(0), 0.0, false)
	f.Add(-20.0, 0.0, 30e6, 5e6, 8e6, int64(96*150), uint8(15), int32(0), int32(0), uint8(1), 7.5, true)
	f.Add(5000.0, 120e6, 0.0, 0.0, 0.0, int64(96*300+57), uint8(5), int32(30), int32(-1), uint8(2), 40.0, false)
	f.Add(math.NaN(), -1.0, math.Inf(1), -5.0, 1e300, int64(-5), uint8(0), int32(1), int32(1), uint8(9), -3.0, true)
	f.Add(30.0, 100e6, 0.0, 5e6, 8e6, int64(96*10*7), uint8(60), int32(61), int32(7200), uint8(0), 20.0, false)
	f.Add(0.0, 5e6, 30e6, 0.0, 0.0, int64(96*170+40), uint8(15), int32(0), int32(0), uint8(9), 0.0, false)
	f.Add(-0.01, 2e6, 25e6, 1e6, 0.0, int64(96*200+52), uint8(15), int32(0), int32(0), uint8(9), 0.0, false)
	f.Add(0.01, 2e6, 25e6, 1e6, 0.0, int64(96*200+52), uint8(15), int32(0), int32(0), uint8(9), 0.0, false)
	// The example exports at a fixed $20/MWh, so it always exports; the
	// variants export at spot (the fuzzed price decides whether the site
	// exports) and at a fixed $0/MWh (it never does).
	example := exampleContract(f)
	spotExport, zeroExport := example, example
	r := *example.Renewables
	r.ExportPrice, r.ExportPriceUSDPerMWh = ExportSpot, 0
	spotExport.Renewables = &r
	r0 := *example.Renewables
	r0.ExportPriceUSDPerMWh = 0
	zeroExport.Renewables = &r0
	contracts := []struct {
		name string
		c    Contract
	}{{"example", example}, {"spot export", spotExport}, {"zero export price", zeroExport}}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spot, mining, gen, ai0, ai1 float64, quarter int64, minutes uint8, depOffset, depLength int32, which uint8, depMW float64, peak bool) {
		quarter = ((quarter % (366 * 96)) + 366*96) % (366 * 96)
		minutes = minutes % 61
		start := base.Add(time.Duration(quarter) * 15 * time.Minute)
		fs := Facts{
			Interval: energy.Interval{Start: start, End: start.Add(time.Duration(minutes) * time.Minute)},
			Spot:     energy.Price(spot), MiningW: energy.Power(mining), GenW: energy.Power(gen),
			AIW: []energy.Power{energy.Power(ai0), energy.Power(ai1)}, PeakInterval: peak,
		}
		if int(which) < len(example.Commitments) {
			d := Deployment{Commitment: example.Commitments[which].Name, Start: start.Add(time.Duration(depOffset) * time.Second), MW: depMW}
			if depLength != 0 {
				d.End = d.Start.Add(time.Duration(depLength) * time.Second)
			}
			fs.Deployments = []Deployment{d}
		} else if which == 200 {
			fs.Deployments = []Deployment{{Commitment: "nope", Start: start}}
		}
		for _, x := range contracts {
			checkSettle(t, x.name, x.c, fs)
		}
	})
}

// checkSettle settles fs under c, the contract called name, and checks the
// result as FuzzSettle says.
func checkSettle(t *testing.T, name string, c Contract, fs Facts) {
	t.Helper()
	s, err := c.Settle(fs) // must not panic
	if err != nil {
		if valid(c, fs) && !errors.Is(err, ledger.ErrOverflow) {
			t.Fatalf("%s: Settle rejected valid facts: %v", name, err)
		}
		return
	}
	if !valid(c, fs) {
		t.Fatalf("%s: Settle accepted invalid facts %+v", name, fs)
	}
	h := fs.Interval.Duration().Hours()
	near := func(what string, a, b energy.Energy) {
		t.Helper()
		if math.Abs(float64(a-b)) > 1e-9*math.Max(1, math.Max(math.Abs(float64(a)), math.Abs(float64(b)))) {
			t.Errorf("%s: %s: %v Wh != %v Wh", name, what, float64(a), float64(b))
		}
	}
	near("load = mining + ai", s.LoadWh, s.MiningWh+s.AIWh)
	near("load = generation used + import", s.LoadWh, s.GenUsedWh+s.ImportWh)
	near("generation = used + export + spill", s.GenWh, s.GenUsedWh+s.ExportWh+s.SpillWh)
	near("import = block + spot", s.ImportWh, s.BlockWh+s.SpotWh)
	near("block = used + resold", s.BlockWh+s.BlockUnusedWh, energy.Energy(c.Block.MW*1e6*h))
	for what, e := range map[string]energy.Energy{"mining": s.MiningWh, "ai": s.AIWh, "gen used": s.GenUsedWh, "export": s.ExportWh,
		"spill": s.SpillWh, "import": s.ImportWh, "block": s.BlockWh, "block unused": s.BlockUnusedWh, "spot": s.SpotWh} {
		if e < 0 {
			t.Errorf("%s: %s = %v Wh: negative", name, what, float64(e))
		}
	}
	limit := energy.Energy(c.Renewables.ExportLimitMW * 1e6 * h)
	if float64(s.ExportWh) > float64(limit)*(1+1e-12) {
		t.Errorf("%s: export %v Wh above the limit %v Wh", name, float64(s.ExportWh), float64(limit))
	}
	// Surplus goes out up to the limit at a positive export price, and
	// not at all otherwise: the site never pays to export. The surplus is
	// a difference of energies up to GenWh, so it is only as exact as
	// GenWh.
	if p := c.Renewables.ExportPriceAt(fs.Spot); p > 0 {
		want := min(s.GenWh-s.GenUsedWh, limit)
		if d := math.Abs(float64(s.ExportWh - want)); d > 1e-9*math.Max(1, float64(s.GenWh)) {
			t.Errorf("%s: export price %v: exported %v Wh, want min(surplus, limit) = %v Wh", name, p, float64(s.ExportWh), float64(want))
		}
	} else if s.ExportWh != 0 || s.ExportCredit != 0 {
		t.Errorf("%s: export price %v: exported %v Wh for %d µ$, want nothing", name, p, float64(s.ExportWh), s.ExportCredit)
	}
	if s.ExportCredit < 0 {
		t.Errorf("%s: export credit %d µ$: the site paid to export", name, s.ExportCredit)
	}
	if _, n := checkAgainst(t, c, fs, s); n > 0 {
		t.Logf("%s: %d amounts 1 µ$ off the exact reference", name, n)
	}
	checkCurve(t, c, fs, s)
	// A contract CheckConvex accepts at this price gives a convex curve
	// at any generation and AI load.
	if c.CheckConvex(fs.Spot, fs.Spot) == nil {
		var aiW energy.Power
		for _, w := range fs.AIW {
			aiW += w
		}
		if curve := c.CostCurve(fs.Spot, fs.GenW, aiW, h); !Convex(curve) {
			t.Errorf("%s: CheckConvex accepts spot %v, but the curve is not convex: %+v", name, fs.Spot, curve)
		}
	}
}

// valid reports whether Settle must accept fs under c (overflow aside).
func valid(c Contract, fs Facts) bool {
	finiteNonNeg := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) && x >= 0 }
	if fs.Interval.Duration() <= 0 || math.IsNaN(float64(fs.Spot)) || math.IsInf(float64(fs.Spot), 0) ||
		!finiteNonNeg(float64(fs.MiningW)) || !finiteNonNeg(float64(fs.GenW)) {
		return false
	}
	for _, w := range fs.AIW {
		if !finiteNonNeg(float64(w)) {
			return false
		}
	}
	if c.ValidateDeployments(fs.Deployments) != nil {
		return false
	}
	if m := fs.Interval.Start.In(ercot()).Month(); fs.PeakInterval && (m < time.June || m > time.September) {
		return false
	}
	return true
}

// FuzzWindow feeds arbitrary text to the window and duration parsers: they
// must not panic, and a window that validates must answer Contains and
// Overlap consistently.
func FuzzWindow(f *testing.F) {
	f.Add("14:00", "20:00", "2026-06-01", "10m", int64(0))
	f.Add("22:00", "06:00", "2026-06-01T00:00:00-05:00", "1h30m", int64(1e6))
	f.Add("24:00", "7:00", "yesterday", "600", int64(-1))
	f.Add("01:00", "24:00", "", "-5m", int64(3e7))
	f.Fuzz(func(t *testing.T, from, to, start, dur string, offset int64) {
		var d Duration
		if err := d.UnmarshalText([]byte(dur)); err == nil {
			b, _ := d.MarshalText()
			var back Duration
			if err := back.UnmarshalText(b); err != nil || back != d {
				t.Errorf("duration %q -> %q -> %v, %v", dur, b, back, err)
			}
		}
		st, err := parseInstant(start)
		if err != nil {
			st = time.Time{}
		}
		w := Window{From: from, To: to, Start: st, Weekdays: offset%2 == 0}
		v := &validator{}
		w.validate(v, "w")
		if len(v.errs) > 0 {
			w.Contains(time.Unix(offset, 0)) // must not panic
			return
		}
		at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(offset%(366*86400)) * time.Second).Truncate(time.Minute)
		iv := energy.Interval{Start: at, End: at.Add(3 * time.Hour)}
		var sampled time.Duration
		for m := iv.Start; m.Before(iv.End); m = m.Add(time.Minute) {
			if w.Contains(m) {
				sampled += time.Minute
			}
		}
		// Sampling each minute is exact when every bound is on the minute.
		onGrid := w.Start.IsZero() || w.Start.Sub(iv.Start)%time.Minute == 0
		if got := w.Overlap(iv); onGrid && got != sampled {
			t.Errorf("window %+v over %s: Overlap %v, sampled %v", w, iv, got, sampled)
		}
	})
}
