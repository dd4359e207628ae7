// Package price holds energy price schedules: sorted, non-overlapping,
// half-open UTC intervals each with one price in $/MWh, and the Source
// interface through which dispatch asks for the prices known over a span.
//
// It also names the market calendar: ERCOTLocation returns America/Chicago,
// the local time in which ERCOT reports delivery days and hours.
//
// Package price does not fetch or parse anything: readers of market files
// live in subpackages (price/ercot), and the embedded demo model lives in
// price/synthetic. It does not forecast, resample or clamp prices: prices
// above a market's offer cap and negative prices are both real and are kept.
package price

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
	// The market calendar must load on any machine, including ones without
	// a system zoneinfo database.
	_ "time/tzdata"

	"github.com/gridminer/gridminer/internal/energy"
)

// ErrNoData reports that a Source knows nothing for the span asked.
var ErrNoData = errors.New("no price data for the span")

// Point is one price over one interval.
type Point struct {
	Interval energy.Interval
	Price    energy.Price
}

// Schedule is a list of points sorted by start whose intervals do not
// overlap. Intervals are half-open [Start, End) and compared as instants, so
// callers should build them with energy.NewInterval (which stores UTC).
// Gaps between points are allowed; Gaps reports them.
type Schedule []Point

// Source supplies the prices known over [from, to). Implementations return
// the points overlapping the span (possibly with gaps, see Schedule.Gaps) or
// an error wrapping ErrNoData when they know nothing for it.
type Source interface {
	Schedule(ctx context.Context, from, to time.Time) (Schedule, error)
}

// Validate checks that every interval is non-empty, every price is finite,
// and the points are sorted by start without overlap. Errors name the index
// and the interval at fault.
func (s Schedule) Validate() error {
	for i, p := range s {
		if !p.Interval.End.After(p.Interval.Start) {
			return fmt.Errorf("schedule point %d %v: %w", i, p.Interval, energy.ErrBadInterval)
		}
		if err := energy.Check(fmt.Sprintf("schedule point %d %v: price", i, p.Interval), float64(p.Price)); err != nil {
			return err
		}
		if i > 0 && p.Interval.Start.Before(s[i-1].Interval.End) {
			if p.Interval.Start.Before(s[i-1].Interval.Start) {
				return fmt.Errorf("schedule point %d %v: starts before point %d %v: not sorted", i, p.Interval, i-1, s[i-1].Interval)
			}
			return fmt.Errorf("schedule point %d %v: overlaps point %d %v", i, p.Interval, i-1, s[i-1].Interval)
		}
	}
	return nil
}

// firstEndingAfter returns the index of the first point whose end is after
// t, or len(s). The schedule must be valid.
func (s Schedule) firstEndingAfter(t time.Time) int {
	return sort.Search(len(s), func(i int) bool { return s[i].Interval.End.After(t) })
}

// At returns the point whose interval contains t, and false when t falls in
// a gap or outside the schedule.
func (s Schedule) At(t time.Time) (Point, bool) {
	i := s.firstEndingAfter(t)
	if i < len(s) && s[i].Interval.Contains(t) {
		return s[i], true
	}
	return Point{}, false
}

// Between returns the points whose intervals overlap [from, to), including
// ones that only partly overlap it. The result shares the schedule's backing
// array (its capacity is clipped, so appending to it copies); it is empty
// when to is not after from.
func (s Schedule) Between(from, to time.Time) Schedule {
	if !to.After(from) {
		return nil
	}
	i := s.firstEndingAfter(from)
	j := i + sort.Search(len(s)-i, func(k int) bool { return !s[i+k].Interval.Start.Before(to) })
	if i == j {
		return nil
	}
	return s[i:j:j]
}

// Gaps returns the parts of [from, to) that no point covers, in order, as
// UTC intervals. It returns nil when the schedule covers the whole span or
// the span is empty.
func (s Schedule) Gaps(from, to time.Time) []energy.Interval {
	if !to.After(from) {
		return nil
	}
	var gaps []energy.Interval
	cursor := from
	for _, p := range s.Between(from, to) {
		if p.Interval.Start.After(cursor) {
			gaps = append(gaps, energy.Interval{Start: cursor.UTC(), End: p.Interval.Start.UTC()})
		}
		if p.Interval.End.After(cursor) {
			cursor = p.Interval.End
		}
	}
	if to.After(cursor) {
		gaps = append(gaps, energy.Interval{Start: cursor.UTC(), End: to.UTC()})
	}
	return gaps
}

// static is a Source over a schedule held in memory.
type static struct{ s Schedule }

// NewStatic returns a Source over a loaded schedule, after validating it.
// The Source copies the schedule, so later changes by the caller do not
// affect it, and returns copies, so callers may modify what they get.
func NewStatic(s Schedule) (Source, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("static price source: %w", err)
	}
	return static{s: append(Schedule(nil), s...)}, nil
}

// Schedule returns the points overlapping [from, to), or an error wrapping
// ErrNoData when none do.
func (st static) Schedule(ctx context.Context, from, to time.Time) (Schedule, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !to.After(from) {
		return nil, fmt.Errorf("static price source: span [%s, %s): %w", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), energy.ErrBadInterval)
	}
	got := st.s.Between(from, to)
	if len(got) == 0 {
		return nil, fmt.Errorf("static price source: span [%s, %s): %w", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), ErrNoData)
	}
	return append(Schedule(nil), got...), nil
}

// ERCOTLocation returns America/Chicago, the time zone of ERCOT's delivery
// days and hours. The zone database is embedded (time/tzdata), so it always
// loads; callers that convert many times should call it once and keep the
// result.
func ERCOTLocation() *time.Location {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		// Unreachable: time/tzdata is linked into every binary using this package.
		panic(fmt.Sprintf("price: load America/Chicago despite embedded tzdata: %v", err))
	}
	return loc
}
