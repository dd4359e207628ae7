package contract

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
)

// seg builds a segment for an interval of hours h.
func seg(src Source, widthW float64, p energy.Price, h float64) Segment {
	return Segment{Source: src, WidthW: widthW, Price: p, CostUSDPerW: float64(p) * h / 1e6}
}

func TestCostCurve(t *testing.T) {
	inf := math.Inf(1)
	const h = 0.25
	index := Contract{Index: Index{AdderUSDPerMWh: 4}}
	block := Contract{Index: Index{AdderUSDPerMWh: 4}, Block: &Block{MW: 10, PriceUSDPerMWh: 30, ResaleAdderUSDPerMWh: -1}}
	solar := Contract{
		Index:      Index{AdderUSDPerMWh: 4},
		Block:      &Block{MW: 10, PriceUSDPerMWh: 30, ResaleAdderUSDPerMWh: -1},
		Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 5},
	}
	noExport := Contract{Renewables: &Renewables{CapacityMW: 30}}
	fixed := Contract{Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 5, ExportPrice: ExportFixed, ExportPriceUSDPerMWh: 70}}
	tests := []struct {
		name   string
		c      Contract
		spot   energy.Price
		gen    energy.Power
		ai     energy.Power
		want   []Segment
		convex bool
	}{
		{"index only", index, 50, 0, 0, []Segment{seg(SourceSpot, inf, 54, h)}, true},
		{"index only, AI changes nothing", index, 50, 0, 7 * MW, []Segment{seg(SourceSpot, inf, 54, h)}, true},
		{"block then spot; the block costs the resale forgone", block, 50, 0, 0,
			[]Segment{seg(SourceBlock, 10e6, 49, h), seg(SourceSpot, inf, 54, h)}, true},
		{"firm AI takes the first block power", block, 50, 0, 4 * MW,
			[]Segment{seg(SourceBlock, 6e6, 49, h), seg(SourceSpot, inf, 54, h)}, true},
		{"firm AI above the block", block, 50, 0, 12 * MW, []Segment{seg(SourceSpot, inf, 54, h)}, true},
		{"negative spot: block and spot both pay the site", block, -20, 0, 0,
			[]Segment{seg(SourceBlock, 10e6, -21, h), seg(SourceSpot, inf, -16, h)}, true},
		{"surplus beyond the export limit is spilled first", solar, 50, 20 * MW, 0, []Segment{
			seg(SourceSpill, 15e6, 0, h), seg(SourceExport, 5e6, 50, h), seg(SourceBlock, 10e6, 49, h), seg(SourceSpot, inf, 54, h),
		}, false}, // export at spot 50 above the block's resale 49
		{"generation below the export limit is all exportable", solar, 50, 3 * MW, 0, []Segment{
			seg(SourceExport, 3e6, 50, h), seg(SourceBlock, 10e6, 49, h), seg(SourceSpot, inf, 54, h),
		}, false},
		{"firm AI eats the spill and part of the export", solar, 50, 20 * MW, 17 * MW, []Segment{
			seg(SourceExport, 3e6, 50, h), seg(SourceBlock, 10e6, 49, h), seg(SourceSpot, inf, 54, h),
		}, false},
		{"firm AI above generation reaches the block", solar, 50, 20 * MW, 22 * MW, []Segment{
			seg(SourceBlock, 8e6, 49, h), seg(SourceSpot, inf, 54, h),
		}, true},
		{"no export allowed: all surplus spilled", noExport, 50, 20 * MW, 0, []Segment{
			seg(SourceSpill, 20e6, 0, h), seg(SourceSpot, inf, 50, h),
		}, true},
		// At an export price of 0 or below the surplus is spilled, not
		// exported: one spill segment as wide as the generation.
		{"negative spot: no export, all generation would be spilled", Contract{Index: Index{AdderUSDPerMWh: 15}, Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 5}}, -10, 20 * MW, 0, []Segment{
			seg(SourceSpill, 20e6, 0, h), seg(SourceSpot, inf, 5, h),
		}, true},
		{"zero spot: no export", Contract{Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 5}}, 0, 20 * MW, 0, []Segment{
			seg(SourceSpill, 20e6, 0, h), seg(SourceSpot, inf, 0, h),
		}, true},
		{"negative spot: firm AI eats part of the spill", Contract{Index: Index{AdderUSDPerMWh: 15}, Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 5}}, -10, 20 * MW, 17 * MW, []Segment{
			seg(SourceSpill, 3e6, 0, h), seg(SourceSpot, inf, 5, h),
		}, true},
		{"negative spot: spill then the block", solar, -10, 20 * MW, 0, []Segment{
			seg(SourceSpill, 20e6, 0, h), seg(SourceBlock, 10e6, -11, h), seg(SourceSpot, inf, -6, h),
		}, false}, // free spill before block power that pays the site to take it
		{"negative import price after spill is not convex", Contract{Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 5}}, -10, 20 * MW, 0, []Segment{
			seg(SourceSpill, 20e6, 0, h), seg(SourceSpot, inf, -10, h),
		}, false},
		{"fixed export price below zero: no export", Contract{Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 5, ExportPrice: ExportFixed, ExportPriceUSDPerMWh: -5}}, 50, 20 * MW, 0, []Segment{
			seg(SourceSpill, 20e6, 0, h), seg(SourceSpot, inf, 50, h),
		}, true},
		{"fixed export price above spot is not convex", fixed, 50, 20 * MW, 0, []Segment{
			seg(SourceSpill, 15e6, 0, h), seg(SourceExport, 5e6, 70, h), seg(SourceSpot, inf, 50, h),
		}, false},
		{"fixed export price below spot is convex", fixed, 90, 20 * MW, 0, []Segment{
			seg(SourceSpill, 15e6, 0, h), seg(SourceExport, 5e6, 70, h), seg(SourceSpot, inf, 90, h),
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.c.CostCurve(tt.spot, tt.gen, tt.ai, h)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CostCurve (-want +got):\n%s", diff)
			}
			if c := Convex(got); c != tt.convex {
				t.Errorf("Convex = %v, want %v", c, tt.convex)
			}
		})
	}
}

func TestCurveCostAndImportCharge(t *testing.T) {
	c := Contract{Index: Index{AdderUSDPerMWh: 4}, Block: &Block{MW: 10, ResaleAdderUSDPerMWh: -1},
		Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 5}, FourCP: &FourCP{RateUSDPerKWYear: 60}}
	segs := c.CostCurve(40, 8*MW, 0, 0.5)
	// 3 MW spill (0) + 5 MW export at 40 + 10 MW block at 39 + 2 MW at 44, for half an hour.
	want := 5*0.5*40 + 10*0.5*39 + 2*0.5*44
	if got := CurveCost(segs, 20e6); math.Abs(got-want) > 1e-9 {
		t.Errorf("CurveCost = %v, want %v", got, want)
	}
	// 4CP: $60/kW-year over four peaks: $0.015 per W in a peak interval.
	per := c.FourCPCostPerW()
	if math.Abs(per-0.015) > 1e-15 {
		t.Errorf("FourCPCostPerW = %v, want 0.015", per)
	}
	charged := WithImportCharge(segs, per*0.5) // a 50 % chance of a peak
	for i, s := range charged {
		add := 0.0
		if s.Source == SourceBlock || s.Source == SourceSpot {
			add = 0.0075
		}
		if got, want := s.CostUSDPerW, segs[i].CostUSDPerW+add; got != want {
			t.Errorf("segment %d (%s) cost = %v, want %v", i, s.Source, got, want)
		}
	}
	if (Contract{}).FourCPCostPerW() != 0 {
		t.Error("FourCPCostPerW without fourcp is not 0")
	}
	if got := (Contract{FourCP: &FourCP{RateUSDPerKWYear: 120, Months: []time.Month{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}}).FourCPCostPerW(); math.Abs(got-0.01) > 1e-15 {
		t.Errorf("12CP FourCPCostPerW = %v, want 0.01", got)
	}
}

func TestCheckConvex(t *testing.T) {
	tests := []struct {
		name     string
		c        Contract
		lo, hi   energy.Price
		wantFail string
	}{
		{"index only", Contract{Index: Index{AdderUSDPerMWh: 3}}, -250, 5000, ""},
		{"block with a resale fee", Contract{Block: &Block{MW: 5, ResaleAdderUSDPerMWh: -1}, Index: Index{AdderUSDPerMWh: 3}}, -250, 5000, ""},
		{"resale adder above the index adder", Contract{Block: &Block{MW: 5, ResaleAdderUSDPerMWh: 5}, Index: Index{AdderUSDPerMWh: 3}}, 0, 100,
			"block power at $5.00/MWh is taken before cheaper spot power at $3.00/MWh"},
		{"solar without export", Contract{Renewables: &Renewables{CapacityMW: 1}}, 0, 5000, ""},
		{"solar without export at negative spot", Contract{Renewables: &Renewables{CapacityMW: 1}}, -10, 5000,
			"spill power at $0.00/MWh is taken before cheaper spot power at $-10.00/MWh"},
		{"spot export at positive prices", Contract{Renewables: &Renewables{CapacityMW: 1, ExportLimitMW: 1}}, 0, 5000, ""},
		// No export at a negative spot price: spilling never follows a
		// cheaper export, but still precedes a negative import price.
		{"spot export at negative prices with a covering adder", Contract{Index: Index{AdderUSDPerMWh: 6}, Renewables: &Renewables{CapacityMW: 1, ExportLimitMW: 1}}, -5, 5000, ""},
		{"spot export at negative import prices", Contract{Renewables: &Renewables{CapacityMW: 1, ExportLimitMW: 1}}, -5, 5000,
			"at spot $-5.00/MWh: spill power at $0.00/MWh is taken before cheaper spot power at $-5.00/MWh"},
		{"spot export, block resale at or above zero", Contract{Index: Index{AdderUSDPerMWh: 1}, Renewables: &Renewables{CapacityMW: 1, ExportLimitMW: 1}, Block: &Block{MW: 1, ResaleAdderUSDPerMWh: 0.5}}, -0.5, 5000, ""},
		{"spot export, block resale below zero", Contract{Index: Index{AdderUSDPerMWh: 5}, Renewables: &Renewables{CapacityMW: 1, ExportLimitMW: 1}, Block: &Block{MW: 1}}, -3, 100,
			"at spot $-3.00/MWh: spill power at $0.00/MWh is taken before cheaper block power at $-3.00/MWh"},
		{"fixed export price below zero never exports", Contract{Index: Index{AdderUSDPerMWh: 10}, Renewables: &Renewables{CapacityMW: 1, ExportLimitMW: 1, ExportPrice: ExportFixed, ExportPriceUSDPerMWh: -5}}, -10, 100, ""},
		{"fixed export above the import price over the whole range", Contract{Renewables: &Renewables{CapacityMW: 1, ExportLimitMW: 1, ExportPrice: ExportFixed, ExportPriceUSDPerMWh: 200}}, 10, 100,
			"at spot $10.00/MWh: export power at $200.00/MWh is taken before cheaper spot power at $10.00/MWh"},
		{"spot export with a block resale fee", Contract{Renewables: &Renewables{CapacityMW: 1, ExportLimitMW: 1}, Block: &Block{MW: 1, ResaleAdderUSDPerMWh: -1}}, 10, 100,
			"export power at $10.00/MWh is taken before cheaper block power at $9.00/MWh"},
		{"fixed export above low spot", Contract{Renewables: &Renewables{CapacityMW: 1, ExportLimitMW: 1, ExportPrice: ExportFixed, ExportPriceUSDPerMWh: 30}}, 10, 100,
			"at spot $10.00/MWh: export power at $30.00/MWh"},
		{"fixed export below the whole range", Contract{Renewables: &Renewables{CapacityMW: 1, ExportLimitMW: 1, ExportPrice: ExportFixed, ExportPriceUSDPerMWh: 30}}, 30, 100, ""},
		{"range upside down", Contract{}, 10, 0, "minimum above maximum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.CheckConvex(tt.lo, tt.hi)
			if tt.wantFail == "" {
				if err != nil {
					t.Errorf("CheckConvex = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantFail) {
				t.Fatalf("CheckConvex = %v, want it to contain %q", err, tt.wantFail)
			}
			if !strings.Contains(tt.wantFail, "minimum") && !errors.Is(err, ErrNotConvex) {
				t.Errorf("CheckConvex = %v, want ErrNotConvex", err)
			}
			// The curves it warns about really are non-convex at one end.
			if strings.Contains(tt.wantFail, "minimum") {
				return
			}
			bad := false
			for _, spot := range []energy.Price{tt.lo, tt.hi} {
				bad = bad || !Convex(tt.c.CostCurve(spot, 10*MW, 0, 0.25))
			}
			if !bad {
				t.Error("every curve at the range's ends is convex")
			}
		})
	}
}

// TestCheckConvexMatchesCurves checks CheckConvex against the curves
// themselves on random contracts and price ranges: when it accepts a
// range, every curve in it (spot prices at the ends, at and around $0/MWh,
// where spot exports start, and in between; any generation and AI load) is
// convex; when it rejects one, a curve at one of the range's ends is not.
func TestCheckConvexMatchesCurves(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 11))
	seen := map[string]int{}
	for k := range 2000 {
		c := randomContract(r)
		if r.IntN(3) == 0 && c.Renewables != nil {
			// Adders that keep the prices in order make convex contracts
			// common enough to test the first half.
			c.Index.AdderUSDPerMWh = 60 + r.Float64()*10
			if c.Block != nil {
				c.Block.ResaleAdderUSDPerMWh = r.Float64() * 60
			}
		}
		lo := energy.Price(r.Float64()*200 - 100)
		hi := lo + energy.Price(r.Float64()*300)
		err := c.CheckConvex(lo, hi)
		if err != nil && !errors.Is(err, ErrNotConvex) {
			t.Fatalf("contract %d: CheckConvex(%v, %v) = %v", k, lo, hi, err)
		}
		var capW float64
		if c.Renewables != nil {
			capW = c.Renewables.CapacityMW*1e6 + c.Renewables.ExportLimitMW*1e6
		}
		var blockW float64
		if c.Block != nil {
			blockW = c.Block.MW * 1e6
		}
		if err != nil {
			seen["rejected"]++
			// All segments present: generation above the export limit,
			// no AI load.
			bad := false
			for _, spot := range []energy.Price{lo, hi} {
				bad = bad || !Convex(c.CostCurve(spot, energy.Power(capW+1e6), 0, 0.25))
			}
			if !bad {
				t.Errorf("contract %d: CheckConvex(%v, %v) = %v, but the curves at both ends are convex", k, lo, hi, err)
			}
			continue
		}
		seen["accepted"]++
		if c.Renewables != nil && lo <= 0 {
			seen["accepted with generation at a price ≤ 0"]++
		}
		spots := []energy.Price{lo, hi, 0, -1e-9, 1e-9, lo + (hi-lo)*energy.Price(r.Float64())}
		for _, spot := range spots {
			if spot < lo || spot > hi {
				continue
			}
			for range 5 {
				gen := energy.Power(r.Float64() * capW)
				ai := energy.Power(r.Float64() * (capW + blockW + 1e6))
				if curve := c.CostCurve(spot, gen, ai, 0.25); !Convex(curve) {
					t.Errorf("contract %d: CheckConvex(%v, %v) passed, but the curve at spot %v, generation %v, AI %v is not convex: %+v",
						k, lo, hi, spot, gen, ai, curve)
				}
			}
		}
	}
	for _, what := range []string{"rejected", "accepted", "accepted with generation at a price ≤ 0"} {
		if seen[what] < 50 {
			t.Errorf("only %d contracts %s", seen[what], what)
		}
	}
	t.Logf("cases seen: %v", seen)
}
