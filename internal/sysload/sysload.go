// Package sysload holds ERCOT system load history, its monthly coincident
// peaks, and a 4CP peak-risk model. It is pure arithmetic plus file readers.
//
// A Series is system load over half-open UTC intervals (hourly history, or a
// 15-minute or hourly forecast). Readers convert ERCOT's local hour-ending
// calendar (America/Chicago, "24:00" for midnight, a " DST" suffix on the
// repeated fall-back hour) to UTC at the parser: ReadNativeLoad reads ERCOT's
// Native Load xlsx report (its ERCOT total column), ReadCSV a generic
// "time,mw" file, and Open picks one by file extension.
//
// MonthlyPeaks finds each month's system peak, months taken in ERCOT local
// time. ERCOT's four-coincident-peak (4CP) transmission charge uses the
// 15-minute interval of the monthly system peak in June through September;
// the history here is hourly, so the peak hour stands in for it (a site's 4CP
// demand is then taken as its average draw over that hour).
//
// Model estimates, hour by hour, the probability that an hour will be its
// month's system peak, from load known before the hour (and an optional load
// forecast); Fit fits one, Model.Score counts the hours it would curtail and
// the peaks it would catch. Default is a model fitted on ERCOT's 2020–2021
// June–September load (parameters only, embedded), so live sites and demos
// need no data files: fitted on 2020–2021 and scored on 2022, which it never
// saw, it flags 149 of 2,928 summer hours at its FlagThreshold and catches
// all four 2022 monthly peaks (see TestRealOutOfSample).
//
// The package does not fetch load data from ERCOT, does not forecast load
// beyond the model's hour-by-hour projection, does not know weather, and does
// not decide anything: dispatch turns a risk into a curtailment. It knows no
// other market's calendar.
package sysload

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

// Point is the average system load over one interval.
type Point struct {
	Interval energy.Interval
	MW       float64 // average load over the interval, megawatts
}

// Power returns the point's load as a typed quantity.
func (p Point) Power() energy.Power { return energy.Power(p.MW) * energy.Megawatt }

// Series is system load sorted by interval start, intervals not
// overlapping. Gaps are allowed, and intervals may differ in length (an
// hourly history followed by a 15-minute forecast).
type Series []Point

// Validate checks that every interval is non-empty, every load finite and
// positive, and the points sorted without overlap. Errors name the index and
// interval at fault.
func (s Series) Validate() error {
	for i, p := range s {
		if !p.Interval.End.After(p.Interval.Start) {
			return fmt.Errorf("load point %d %v: %w", i, p.Interval, energy.ErrBadInterval)
		}
		if err := checkMW(fmt.Sprintf("load point %d %v", i, p.Interval), p.MW); err != nil {
			return err
		}
		if i > 0 && p.Interval.Start.Before(s[i-1].Interval.End) {
			if p.Interval.Start.Before(s[i-1].Interval.Start) {
				return fmt.Errorf("load point %d %v: starts before point %d %v: not sorted", i, p.Interval, i-1, s[i-1].Interval)
			}
			return fmt.Errorf("load point %d %v: overlaps point %d %v", i, p.Interval, i-1, s[i-1].Interval)
		}
	}
	return nil
}

// checkMW rejects NaN, ±Inf, zero and negative loads.
func checkMW(what string, mw float64) error {
	if err := energy.Check(what+": load", mw); err != nil {
		return err
	}
	if mw <= 0 {
		return fmt.Errorf("%s: load %v MW: must be positive", what, mw)
	}
	return nil
}

// Merge joins series (for example several years of history) into one
// sorted series. Each input must be valid. A point that appears in more than
// one input with the same interval and load is kept once; any other overlap
// is an error naming both intervals.
func Merge(series ...Series) (Series, error) {
	n := 0
	for i, s := range series {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("merge load series: input %d: %w", i, err)
		}
		n += len(s)
	}
	all := make(Series, 0, n)
	for _, s := range series {
		all = append(all, s...)
	}
	slices.SortStableFunc(all, func(a, b Point) int {
		return cmp.Or(a.Interval.Start.Compare(b.Interval.Start), a.Interval.End.Compare(b.Interval.End))
	})
	out := all[:0]
	for _, p := range all {
		if k := len(out); k > 0 {
			last := out[k-1]
			if last.Interval.Start.Equal(p.Interval.Start) && last.Interval.End.Equal(p.Interval.End) && last.MW == p.MW {
				continue
			}
			if p.Interval.Start.Before(last.Interval.End) {
				return nil, fmt.Errorf("merge load series: %v (%v MW) overlaps %v (%v MW)", p.Interval, p.MW, last.Interval, last.MW)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// Peak is the interval of highest load in one month.
type Peak struct {
	Interval energy.Interval
	MW       float64
}

// Month returns the ERCOT local (America/Chicago) year and month the peak
// falls in.
func (p Peak) Month() (int, time.Month) {
	t := p.Interval.Start.In(market)
	return t.Year(), t.Month()
}

// market is ERCOT's calendar zone. *time.Location is immutable and safe for
// concurrent use; this is a constant in all but syntax.
var market = price.ERCOTLocation()

// monthKey identifies a local calendar month.
type monthKey struct {
	year  int
	month time.Month
}

func monthOf(t time.Time) monthKey {
	l := t.In(market)
	return monthKey{l.Year(), l.Month()}
}

// monthSet reports membership of a month; an empty list means every month.
type monthSet [13]bool

func newMonthSet(months []time.Month) monthSet {
	var m monthSet
	if len(months) == 0 {
		for i := range m {
			m[i] = true
		}
		return m
	}
	for _, mo := range months {
		if mo >= time.January && mo <= time.December {
			m[mo] = true
		}
	}
	return m
}

// FourCPMonths are the months whose system peaks set ERCOT's 4CP
// transmission charges: June through September.
func FourCPMonths() []time.Month {
	return []time.Month{time.June, time.July, time.August, time.September}
}

// MonthlyPeaks returns, in time order, the interval of highest load of
// every local (America/Chicago) month present in s whose calendar month is
// in months (an empty months means every month). Ties go to the earliest
// interval. A month is placed by the start of its intervals; a month only
// partly covered by s still gets the peak of what s holds. s should be valid
// (see Series.Validate).
func MonthlyPeaks(s Series, months []time.Month) []Peak {
	want := newMonthSet(months)
	var out []Peak
	var cur monthKey
	for _, p := range s {
		k := monthOf(p.Interval.Start)
		if !want[k.month] {
			continue
		}
		if len(out) == 0 || k != cur {
			out = append(out, Peak{Interval: p.Interval, MW: p.MW})
			cur = k
			continue
		}
		if last := &out[len(out)-1]; p.MW > last.MW {
			*last = Peak{Interval: p.Interval, MW: p.MW}
		}
	}
	return out
}

// localHour is a delivery hour in ERCOT's hour-ending calendar.
type localHour struct {
	year     int
	month    time.Month
	day      int
	ending   int  // hour-ending 1..24: the hour covers local [ending-1:00, ending:00)
	repeated bool // the second (standard-time) pass of the fall-back hour
}

func (h localHour) String() string {
	s := fmt.Sprintf("%04d-%02d-%02d hour-ending %02d:00", h.year, h.month, h.day, h.ending)
	if h.repeated {
		s += " DST"
	}
	return s
}

// start converts a local delivery hour to the UTC instant it starts. The
// local wall time is matched against the offsets the zone uses around it: no
// match means the hour does not exist (spring forward); two matches mean it
// occurs twice (fall back), and repeated picks the later.
func (h localHour) start() (time.Time, error) {
	if h.year < 1900 || h.year > 9999 || h.ending < 1 || h.ending > 24 {
		return time.Time{}, fmt.Errorf("%v: out of range", h)
	}
	wall := time.Date(h.year, h.month, h.day, h.ending-1, 0, 0, 0, time.UTC)
	if wall.Day() != h.day || wall.Month() != h.month {
		return time.Time{}, fmt.Errorf("%v: no such day", h)
	}
	_, off1 := wall.Add(-36 * time.Hour).In(market).Zone()
	_, off2 := wall.Add(36 * time.Hour).In(market).Zone()
	var cands []time.Time
	for _, off := range []int{off1, off2} {
		t := wall.Add(-time.Duration(off) * time.Second)
		if _, o := t.In(market).Zone(); o != off {
			continue
		}
		if len(cands) == 1 && cands[0].Equal(t) {
			continue
		}
		cands = append(cands, t)
	}
	slices.SortFunc(cands, func(a, b time.Time) int { return a.Compare(b) })
	switch {
	case len(cands) == 0:
		return time.Time{}, fmt.Errorf("%v: local time does not exist in America/Chicago (spring forward)", h)
	case len(cands) == 1 && h.repeated:
		return time.Time{}, fmt.Errorf("%v: DST suffix on an hour that is not repeated", h)
	case h.repeated:
		return cands[1], nil
	default:
		return cands[0], nil
	}
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
