package contract

import (
	"errors"
	"fmt"
	"math"

	"github.com/gridminer/gridminer/internal/energy"
)

// Source names where a segment of the cost curve draws its power from.
type Source string

// Sources, in the order the site's load takes them.
const (
	// SourceSpill is on-site generation that would otherwise be spilled:
	// free.
	SourceSpill Source = "spill"
	// SourceExport is on-site generation that would otherwise be exported:
	// it costs the export price forgone. It appears only while the export
	// price is above $0/MWh; otherwise the surplus is spilled, not
	// exported, and the generation is all SourceSpill.
	SourceExport Source = "export"
	// SourceBlock is block power that would otherwise be resold: it costs
	// the resale price forgone (spot + resale adder); the block price is
	// sunk.
	SourceBlock Source = "block"
	// SourceSpot is grid import at spot + the index adder.
	SourceSpot Source = "spot"
)

// Segment is one piece of a piecewise-linear cost curve: the next WidthW
// watts of mining draw cost CostUSDPerW dollars per watt over the interval
// (Price × hours / 1e6).
type Segment struct {
	Source Source
	// WidthW is the segment's width in watts; the last is +Inf.
	WidthW float64
	// Price is the marginal price of the segment's energy.
	Price energy.Price
	// CostUSDPerW is dollars per watt of average draw over the interval.
	CostUSDPerW float64
}

// CostCurve returns the marginal cost of the site's mining draw over one
// interval of hours hours, as segments filled in order (the first WidthW
// watts of mining at the first segment's cost, and so on; the last segment
// is unbounded). genW is the on-site generation available and aiW the AI
// load that runs regardless (the firm loads, plus any deferrable load the
// caller has decided to run); the AI load takes the cheapest power first.
//
// The site's load L = aiW + mining draws, in order: generation that would
// be spilled (cost 0, width genW − export limit), generation that would be
// exported (the export price, width min(genW, export limit)), the block
// (spot + resale adder, width block MW), then spot import (spot + index
// adder). When the export price is $0/MWh or below, the site exports
// nothing (see the package doc), so all of genW would be spilled: one
// spill segment of width genW and no export segment. Zero-width segments
// are left out. The curve is exactly what Settle charges: the energy cost
// of mining D watts, EnergyCost(aiW + D) − EnergyCost(aiW), equals
// CurveCost(curve, D) before rounding.
//
// The curve is convex (costs non-decreasing) only when the prices of the
// segments present are in order: 0 (spill) ≤ export price (when above 0)
// ≤ spot + resale adder ≤ spot + index adder. Otherwise it is still
// returned as the contract charges it; see Convex and CheckConvex. NaN or
// infinite inputs are the caller's error; negative genW and aiW are read
// as 0.
func (c Contract) CostCurve(spot energy.Price, genW energy.Power, aiW energy.Power, hours float64) []Segment {
	g := max(0, float64(genW))
	skip := max(0, float64(aiW))
	var stack []Segment
	seg := func(src Source, width float64, p energy.Price) {
		stack = append(stack, Segment{Source: src, WidthW: width, Price: p, CostUSDPerW: float64(p) * hours / 1e6})
	}
	if r := c.Renewables; r != nil {
		if p, ok := r.exportAt(spot); ok {
			limit := r.ExportLimitMW * 1e6
			seg(SourceSpill, max(0, g-limit), 0)
			seg(SourceExport, min(g, limit), p)
		} else {
			seg(SourceSpill, g, 0)
		}
	}
	if b := c.Block; b != nil {
		seg(SourceBlock, b.MW*1e6, spot+energy.Price(b.ResaleAdderUSDPerMWh))
	}
	seg(SourceSpot, math.Inf(1), spot+energy.Price(c.Index.AdderUSDPerMWh))

	var out []Segment
	for _, s := range stack {
		if skip >= s.WidthW {
			skip -= s.WidthW
			continue
		}
		s.WidthW -= skip
		skip = 0
		if s.WidthW > 0 {
			out = append(out, s)
		}
	}
	return out
}

// Convex reports whether segs' costs never decrease, so that filling them
// in order is also filling them cheapest first.
func Convex(segs []Segment) bool {
	for i := 1; i < len(segs); i++ {
		if segs[i].CostUSDPerW < segs[i-1].CostUSDPerW {
			return false
		}
	}
	return true
}

// CurveCost returns the dollars that a draw of w watts costs on segs (w
// beyond the last segment costs nothing more; CostCurve's last segment is
// unbounded).
func CurveCost(segs []Segment, w float64) float64 {
	var usd float64
	for _, s := range segs {
		if w <= 0 {
			break
		}
		take := min(w, s.WidthW)
		usd += take * s.CostUSDPerW
		w -= take
	}
	return usd
}

// WithImportCharge returns a copy of segs with usdPerW added to the cost of
// the segments that import from the grid (block and spot), e.g. the 4CP
// charge FourCPCostPerW times the probability that the interval is a
// monthly peak. Price is left as the energy price.
func WithImportCharge(segs []Segment, usdPerW float64) []Segment {
	out := make([]Segment, len(segs))
	for i, s := range segs {
		if s.Source == SourceBlock || s.Source == SourceSpot {
			s.CostUSDPerW += usdPerW
		}
		out[i] = s
	}
	return out
}

// FourCPCostPerW returns the annual 4CP charge, in dollars, that each watt
// of average import during a known monthly peak interval adds: the tag is
// the mean of the site's import (kW) over the len(Months) peaks, so one
// watt in one peak raises it by 1/1000/len(Months) kW, and the year's charge
// by RateUSDPerKWYear/1000/len(Months) dollars. It does not depend on the
// interval's length (the tag is a power, not an energy). It is 0 without a
// FourCP charge. Callers weigh it by the probability that an interval is a
// peak, and add it with WithImportCharge.
func (c Contract) FourCPCostPerW() float64 {
	if c.FourCP == nil {
		return 0
	}
	return c.FourCP.RateUSDPerKWYear / 1000 / float64(len(c.FourCP.PeakMonths()))
}

// ErrNotConvex is returned by CheckConvex.
var ErrNotConvex = errors.New("cost curve not convex")

// CheckConvex reports whether the contract's cost curve is convex for every
// generation level, AI load and spot price in [minSpot, maxSpot], and if
// not which two sources are out of order at which price. Optimisers that
// fill the curve cheapest-first need it convex; callers check it at config
// time over the price range they plan for.
//
// Surplus is exported only at a positive export price (see the package
// doc), so an export segment never costs less than the free spill before
// it, whatever the spot price. The curve can still be non-convex: an export
// price above the block's resale price or the import price (a fixed export
// price above the import price, or spot-priced exports with a negative
// resale adder), a resale adder above the index adder, or, with on-site
// generation, a block resale or import price below $0/MWh (free spilled
// power taken before power that pays the site to take it).
//
// Checking the range's two ends suffices: the spill, block and spot prices
// are linear in the spot price, and the export segment's price, counting
// generation the site does not export as spill at $0/MWh, is max(0, export
// price), convex in it. So each condition "a segment costs no more than the
// next" is a convex function of the spot price being at most 0, and holds
// over the range if it holds at both ends.
func (c Contract) CheckConvex(minSpot, maxSpot energy.Price) error {
	if minSpot > maxSpot {
		return fmt.Errorf("check convexity: spot range [%v, %v]: minimum above maximum", minSpot, maxSpot)
	}
	for _, spot := range []energy.Price{minSpot, maxSpot} {
		type step struct {
			src Source
			p   energy.Price
		}
		var steps []step
		if r := c.Renewables; r != nil {
			steps = append(steps, step{SourceSpill, 0})
			if p, ok := r.exportAt(spot); ok {
				steps = append(steps, step{SourceExport, p})
			}
		}
		if b := c.Block; b != nil {
			steps = append(steps, step{SourceBlock, spot + energy.Price(b.ResaleAdderUSDPerMWh)})
		}
		steps = append(steps, step{SourceSpot, spot + energy.Price(c.Index.AdderUSDPerMWh)})
		for i := 1; i < len(steps); i++ {
			if steps[i].p < steps[i-1].p {
				return fmt.Errorf("check convexity: at spot %v: %s power at %v is taken before cheaper %s power at %v: %w",
					spot, steps[i-1].src, steps[i-1].p, steps[i].src, steps[i].p, ErrNotConvex)
			}
		}
	}
	return nil
}
