package dispatch

import (
	"fmt"
	"math"
	"time"

	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/energy"
)

// frame is what every policy's allocation works within for one interval:
// the cost curve of the flexible draw, its floor and cap, the ramp limit,
// the firm AI load and the deferrable AI loads.
//
// The flexible draw is the mining load (running units at their power,
// sleeping units at SleepPower, reserved units at nominal) plus deferrable
// AI loads. Firm AI loads are served first and sit outside it.
type frame struct {
	curve   []Segment
	cap     energy.Power // on the flexible draw; +Inf when none
	floor   energy.Power // droppable load to keep running (commitments)
	rampW   energy.Power // max change of the flexible draw per interval; 0 none
	prev    energy.Power
	hasPrev bool
	aiFirm  energy.Power
	ai      []aiLoad
	notes   []string // obligations in force, for the plan's reason
	peakAdd energy.Price
}

type aiLoad struct {
	name  string
	power energy.Power
	value energy.Price
	firm  bool
}

var inf = energy.Power(math.Inf(1))

// frameFor builds the frame of in. adder is the policy's own power adder
// (used only without a contract); rampPerMin the site ramp limit in W per
// minute (0: none); fourcp adds the risk-weighted 4CP transmission charge
// to the cost of imported power.
func frameFor(in Inputs, adder energy.Price, rampPerMin energy.Power, fourcp bool) (frame, error) {
	hours := in.Interval.Duration().Hours()
	fr := frame{cap: inf, prev: in.Previous, hasPrev: in.HasPrevious}
	if rampPerMin > 0 {
		fr.rampW = rampPerMin * energy.Power(in.Interval.Duration().Minutes())
	}
	var maxMining energy.Power
	for _, u := range in.Units {
		maxMining += u.Caps.NominalPower
	}
	c := in.Contract
	if c == nil {
		fr.curve = []Segment{{Width: inf, Price: in.Price + adder}}
		if in.SiteCap > 0 {
			fr.cap = in.SiteCap
		}
		fr.floor = min(in.Floor, fr.cap)
		return fr, nil
	}
	for _, a := range c.AI {
		l := aiLoad{name: a.Name, power: energy.Power(a.MW * 1e6), value: energy.Price(a.ValueUSDPerMWh), firm: a.Firm && !in.Emergency}
		if l.firm {
			fr.aiFirm += l.power
		}
		fr.ai = append(fr.ai, l)
	}
	segs := c.CostCurve(in.Price, in.Generation, fr.aiFirm, hours)
	if fourcp && in.PeakRisk > 0 && c.FourCP != nil {
		// The 4CP tag averages the site's import over the peak hour, so an
		// interval of the hour carries its share of the hour's weight.
		weight := math.Min(1, in.Interval.Duration().Hours())
		perW := c.FourCPCostPerW() * weight * in.PeakRisk
		fr.peakAdd = energy.Price(perW * 1e6 / hours)
		segs = contract.WithImportCharge(segs, perW)
	}
	for _, s := range segs {
		p := energy.Price(s.CostUSDPerW * 1e6 / hours)
		if err := energy.Check("cost curve price", float64(p)); err != nil {
			return frame{}, err
		}
		fr.curve = append(fr.curve, Segment{Width: energy.Power(s.WidthW), Price: p})
	}
	if len(fr.curve) == 0 {
		return frame{}, fmt.Errorf("contract gave an empty cost curve for %s", in.Interval)
	}
	if in.SiteCap > 0 {
		// The cap is on grid import: on-site generation serves load first.
		fr.cap = in.SiteCap - fr.aiFirm
		if c.Renewables != nil {
			fr.cap += in.Generation
		}
	}
	maxFlex := maxMining
	for _, l := range fr.ai {
		if !l.firm {
			maxFlex += l.power
		}
	}
	floor, depCap, notes := c.Constraints(in.Interval, in.Deployments, maxFlex)
	fr.floor = floor
	if depCap < fr.cap {
		fr.cap = depCap
	}
	fr.cap = max(fr.cap, 0)
	fr.floor = max(fr.floor, min(in.Floor, fr.cap))
	fr.notes = notes
	return fr, nil
}

func convex(c []Segment) bool {
	for i := 1; i < len(c); i++ {
		if c[i].Price < c[i-1].Price {
			return false
		}
	}
	return true
}

// costAt returns the average price of the curve over [from, from+w); for
// w == 0 the price at from.
func costAt(c []Segment, from, w energy.Power) energy.Price {
	if w <= 0 {
		var pos energy.Power
		for _, s := range c {
			if from < pos+s.Width {
				return s.Price
			}
			pos += s.Width
		}
		return c[len(c)-1].Price
	}
	var pos, covered energy.Power
	var sum float64
	to := from + w
	for _, s := range c {
		lo, hi := max(pos, from), min(pos+s.Width, to)
		if hi > lo {
			sum += float64(hi-lo) * float64(s.Price)
			covered += hi - lo
		}
		pos += s.Width
		if pos >= to {
			break
		}
	}
	if covered < w { // past a finite curve: the last price continues
		sum += float64(w-covered) * float64(c[len(c)-1].Price)
	}
	return energy.Price(sum / float64(w))
}

// intervalsIn is how many whole intervals of length iv fit in d, at least
// 1 when d > 0.
func intervalsIn(d, iv time.Duration) int {
	if d <= 0 || iv <= 0 {
		return 0
	}
	n := int((d + iv - 1) / iv)
	return max(n, 1)
}
