package report

import (
	"slices"
	"time"

	"github.com/gridminer/gridminer/internal/backtest"
	"github.com/gridminer/gridminer/internal/energy"
)

// event is the largest price event of a period and the window shown
// around it.
type event struct {
	Day      time.Time    // local midnight starting the event day
	Ref      energy.Price // the reference price the excess is measured over
	Excess   float64      // Σ max(0, price − Ref) × hours over the day, $/MW
	Peak     energy.Price // the day's highest price
	PeakAt   time.Time    // start of the interval with that price
	From, To time.Time    // the window drawn: two local days either side, within the data
}

// largestEvent finds the local day with the largest price excess: the
// sum over its intervals of max(0, price − ref) × the interval's hours,
// which is what one megawatt running through the whole day paid above
// ref. It favours a long scarcity event over a single five-minute blip of
// the same height, which is what a curtailing site feels. ref is the
// breakeven when known (> 0), otherwise the median price of the period.
// When no interval exceeds ref, the day of the highest single price is
// taken. Ties go to the earlier day. rows must be sorted and non-empty.
func largestEvent(rows []backtest.Row, breakeven energy.Price, loc *time.Location) event {
	ref := breakeven
	if ref <= 0 {
		ref = medianPrice(rows)
	}
	type day struct {
		start  time.Time
		excess float64
		peak   energy.Price
		peakAt time.Time
	}
	var days []day
	for _, r := range rows {
		l := r.Interval.Start.In(loc)
		start := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
		if len(days) == 0 || !days[len(days)-1].start.Equal(start) {
			days = append(days, day{start: start, peak: r.Spot, peakAt: r.Interval.Start})
		}
		d := &days[len(days)-1]
		if r.Spot > ref {
			d.excess += float64(r.Spot-ref) * r.Interval.Duration().Hours()
		}
		if r.Spot > d.peak {
			d.peak, d.peakAt = r.Spot, r.Interval.Start
		}
	}
	best := 0
	for i, d := range days {
		if d.excess > days[best].excess {
			best = i
		}
	}
	if days[best].excess == 0 {
		for i, d := range days {
			if d.peak > days[best].peak {
				best = i
			}
		}
	}
	d := days[best]
	ev := event{Day: d.start, Ref: ref, Excess: d.excess, Peak: d.peak, PeakAt: d.peakAt}
	first, last := rows[0].Interval.Start, rows[len(rows)-1].Interval.End
	ev.From = time.Date(d.start.Year(), d.start.Month(), d.start.Day()-2, 0, 0, 0, 0, loc)
	ev.To = time.Date(d.start.Year(), d.start.Month(), d.start.Day()+3, 0, 0, 0, 0, loc)
	if ev.From.Before(first) {
		ev.From = first
	}
	if ev.To.After(last) {
		ev.To = last
	}
	return ev
}

// medianPrice returns the median settled price of rows.
func medianPrice(rows []backtest.Row) energy.Price {
	ps := make([]float64, len(rows))
	for i, r := range rows {
		ps[i] = float64(r.Spot)
	}
	slices.Sort(ps)
	n := len(ps)
	if n%2 == 1 {
		return energy.Price(ps[n/2])
	}
	return energy.Price((ps[n/2-1] + ps[n/2]) / 2)
}
