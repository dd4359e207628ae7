package contract

import (
	"fmt"
	"slices"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
)

// Totals sums settlements field by field: energies as float64 watt-hours,
// money exactly in micro-dollars.
type Totals struct {
	Intervals int
	Hours     float64

	MiningWh      energy.Energy
	AIWh          energy.Energy
	LoadWh        energy.Energy
	GenWh         energy.Energy
	GenUsedWh     energy.Energy
	ExportWh      energy.Energy
	SpillWh       energy.Energy
	ImportWh      energy.Energy
	BlockWh       energy.Energy
	BlockUnusedWh energy.Energy
	SpotWh        energy.Energy

	BlockCost      ledger.Micros
	SpotCost       ledger.Micros
	ResaleCredit   ledger.Micros
	ExportCredit   ledger.Micros
	EnergyCost     ledger.Micros
	CapacityCredit ledger.Micros
	Penalty        ledger.Micros
	NetCost        ledger.Micros
	AIValue        ledger.Micros
	FourCPAccrual  ledger.Micros
}

// Add adds s to t, failing (and leaving t unchanged) if a sum overflows.
func (t *Totals) Add(s Settlement) error {
	a := &acc{}
	n := *t
	n.Intervals++
	n.Hours += s.Interval.Duration().Hours()
	n.MiningWh += s.MiningWh
	n.AIWh += s.AIWh
	n.LoadWh += s.LoadWh
	n.GenWh += s.GenWh
	n.GenUsedWh += s.GenUsedWh
	n.ExportWh += s.ExportWh
	n.SpillWh += s.SpillWh
	n.ImportWh += s.ImportWh
	n.BlockWh += s.BlockWh
	n.BlockUnusedWh += s.BlockUnusedWh
	n.SpotWh += s.SpotWh
	n.BlockCost = a.add("block cost", n.BlockCost, s.BlockCost)
	n.SpotCost = a.add("spot cost", n.SpotCost, s.SpotCost)
	n.ResaleCredit = a.add("resale credit", n.ResaleCredit, s.ResaleCredit)
	n.ExportCredit = a.add("export credit", n.ExportCredit, s.ExportCredit)
	n.EnergyCost = a.add("energy cost", n.EnergyCost, s.EnergyCost)
	n.CapacityCredit = a.add("capacity credit", n.CapacityCredit, s.CapacityCredit)
	n.Penalty = a.add("penalty", n.Penalty, s.Penalty)
	n.NetCost = a.add("net cost", n.NetCost, s.NetCost)
	n.AIValue = a.add("ai value", n.AIValue, s.AIValue)
	n.FourCPAccrual = a.add("4cp accrual", n.FourCPAccrual, s.FourCPAccrual)
	if a.err != nil {
		return fmt.Errorf("totals: add %s: %w", s.Interval, a.err)
	}
	*t = n
	return nil
}

// Bill is a period (a month, a year) under the contract.
type Bill struct {
	// Span runs from the first settlement's start to the last one's end.
	Span   energy.Interval
	Totals Totals
	// Demand is each local calendar month's highest interval import and
	// its demand charge (0 without a DemandCharge), in order.
	Demand       []MonthlyDemand
	DemandCharge ledger.Micros // Σ Demand[i].Charge
	// Total is Totals.NetCost + DemandCharge: what the period's power costs.
	// The 4CP charge is not in it (it is billed over the following year).
	Total  ledger.Micros
	FourCP FourCPBill
}

// MonthlyDemand is one local (America/Chicago) month's demand charge.
type MonthlyDemand struct {
	Year  int
	Month time.Month
	// PeakKW is the highest average import of a settlement interval
	// starting in the month; At is that interval (the first, if tied).
	PeakKW float64
	At     energy.Interval
	Charge ledger.Micros // round(RateUSDPerKWMonth × PeakKW × 1e6)
}

// FourCPBill is the 4CP tag measured over the period's peaks and the
// annual transmission charge it sets.
type FourCPBill struct {
	// Peaks are the site's average import over each peak interval, in
	// time order.
	Peaks []PeakImport
	// TagKW is Σ Peaks[i].ImportKW / len(Months): with every month's peak
	// given, the average import over the peaks; with fewer, the part of
	// the tag accrued so far.
	TagKW float64
	// AnnualCharge is round(RateUSDPerKWYear × TagKW × 1e6) µ$, billed
	// over the following year.
	AnnualCharge ledger.Micros
}

// PeakImport is the site's average import over one 4CP peak interval.
type PeakImport struct {
	Interval energy.Interval
	ImportKW float64
}

// Period bills a run of settlements: the totals of every field, each local
// month's demand charge, and the 4CP tag and annual charge measured at
// peaks (ERCOT's monthly system-peak intervals, at most one per local month
// and only in the contract's 4CP months). The settlements may come in any
// order but must not overlap; every peak must be wholly covered by them
// (the import over a peak is the time-weighted average of the settlements
// covering it, so 5-minute settlements measure a 15-minute peak). Peaks
// without a FourCP charge are an error.
func (c Contract) Period(settlements []Settlement, peaks []energy.Interval) (Bill, error) {
	b, err := c.period(settlements, peaks)
	if err != nil {
		return Bill{}, fmt.Errorf("contract: period: %w", err)
	}
	return b, nil
}

func (c Contract) period(settlements []Settlement, peaks []energy.Interval) (Bill, error) {
	ss := slices.Clone(settlements)
	slices.SortStableFunc(ss, func(a, b Settlement) int { return a.Interval.Start.Compare(b.Interval.Start) })
	var b Bill
	a := &acc{}
	loc := ercot()
	for i, s := range ss {
		if s.Interval.Duration() <= 0 {
			return Bill{}, fmt.Errorf("settlement %s: %w", s.Interval, energy.ErrBadInterval)
		}
		if i > 0 && s.Interval.Start.Before(ss[i-1].Interval.End) {
			return Bill{}, fmt.Errorf("settlement %s overlaps settlement %s", s.Interval, ss[i-1].Interval)
		}
		if err := b.Totals.Add(s); err != nil {
			return Bill{}, err
		}
		kw := s.ImportW.KW()
		lt := s.Interval.Start.In(loc)
		n := len(b.Demand)
		if n == 0 || b.Demand[n-1].Year != lt.Year() || b.Demand[n-1].Month != lt.Month() {
			b.Demand = append(b.Demand, MonthlyDemand{Year: lt.Year(), Month: lt.Month(), PeakKW: kw, At: s.Interval})
		} else if kw > b.Demand[n-1].PeakKW {
			b.Demand[n-1].PeakKW, b.Demand[n-1].At = kw, s.Interval
		}
	}
	if len(ss) > 0 {
		b.Span = energy.Interval{Start: ss[0].Interval.Start, End: ss[len(ss)-1].Interval.End}
	}
	if c.Demand != nil {
		for i := range b.Demand {
			d := &b.Demand[i]
			d.Charge = a.round(fmt.Sprintf("demand charge %d-%02d", d.Year, d.Month), c.Demand.RateUSDPerKWMonth*d.PeakKW*1e6)
			b.DemandCharge = a.add("demand charge", b.DemandCharge, d.Charge)
		}
	}
	b.Total = a.add("total", b.Totals.NetCost, b.DemandCharge)
	if a.err != nil {
		return Bill{}, a.err
	}

	if len(peaks) == 0 {
		return b, nil
	}
	if c.FourCP == nil {
		return Bill{}, fmt.Errorf("%d peaks given: the contract has no fourcp", len(peaks))
	}
	ps := slices.Clone(peaks)
	slices.SortFunc(ps, func(x, y energy.Interval) int { return x.Start.Compare(y.Start) })
	months := c.FourCP.PeakMonths()
	for i, p := range ps {
		length := p.Duration()
		if length <= 0 {
			return Bill{}, fmt.Errorf("peak %s: %w", p, energy.ErrBadInterval)
		}
		lt := p.Start.In(loc)
		if !slices.Contains(months, lt.Month()) {
			return Bill{}, fmt.Errorf("peak %s: %s is not a 4CP month", p, lt.Month())
		}
		if i > 0 {
			prev := ps[i-1].Start.In(loc)
			if prev.Year() == lt.Year() && prev.Month() == lt.Month() {
				return Bill{}, fmt.Errorf("peak %s: a second peak in %s %d (after %s)", p, lt.Month(), lt.Year(), ps[i-1])
			}
		}
		var covered time.Duration
		var whs float64 // W × hours
		for _, s := range ss {
			if o := s.Interval.Overlap(p); o > 0 {
				covered += o
				whs += float64(s.ImportW) * o.Hours()
			}
		}
		if covered != length {
			return Bill{}, fmt.Errorf("peak %s: settlements cover %v of its %v", p, covered, length)
		}
		pi := PeakImport{Interval: p, ImportKW: whs / length.Hours() / 1000}
		b.FourCP.Peaks = append(b.FourCP.Peaks, pi)
		b.FourCP.TagKW += pi.ImportKW
	}
	b.FourCP.TagKW /= float64(len(months))
	b.FourCP.AnnualCharge = a.round("4cp annual charge", c.FourCP.RateUSDPerKWYear*b.FourCP.TagKW*1e6)
	if a.err != nil {
		return Bill{}, a.err
	}
	return b, nil
}
