package energy

import (
	"errors"
	"fmt"
	"time"
)

// Interval is a half-open span of time [Start, End) in UTC.
type Interval struct {
	Start time.Time
	End   time.Time
}

// ErrBadInterval is returned for an interval whose end is not after its start.
var ErrBadInterval = errors.New("interval end must be after its start")

// NewInterval returns [start, end) converted to UTC. It fails when end is not
// after start.
func NewInterval(start, end time.Time) (Interval, error) {
	if !end.After(start) {
		return Interval{}, fmt.Errorf("[%s, %s): %w", start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), ErrBadInterval)
	}
	return Interval{Start: start.UTC(), End: end.UTC()}, nil
}

// IntervalOf returns the interval of length d that contains t, aligned to
// the Unix epoch (so 15-minute intervals start at :00, :15, :30 and :45 UTC,
// which are also quarter hours in every whole-hour-offset time zone).
func IntervalOf(t time.Time, d time.Duration) Interval {
	s := t.UTC().Truncate(d)
	return Interval{Start: s, End: s.Add(d)}
}

// Duration returns End - Start.
func (i Interval) Duration() time.Duration { return i.End.Sub(i.Start) }

// Contains reports whether t lies in [Start, End).
func (i Interval) Contains(t time.Time) bool {
	return !t.Before(i.Start) && t.Before(i.End)
}

// Overlap returns how much of i lies inside o.
func (i Interval) Overlap(o Interval) time.Duration {
	s, e := i.Start, i.End
	if o.Start.After(s) {
		s = o.Start
	}
	if o.End.Before(e) {
		e = o.End
	}
	if !e.After(s) {
		return 0
	}
	return e.Sub(s)
}

// IsZero reports whether i is the zero Interval.
func (i Interval) IsZero() bool { return i.Start.IsZero() && i.End.IsZero() }

func (i Interval) String() string {
	return fmt.Sprintf("[%s, %s)", i.Start.Format(time.RFC3339), i.End.Format(time.RFC3339))
}
