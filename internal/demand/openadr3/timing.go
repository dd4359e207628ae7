package openadr3

import (
	"errors"
	"fmt"
	"time"
)

// Span is one resolved event interval: when it applies and its payloads.
type Span struct {
	Index      int // position in Event.Intervals
	IntervalID int // the interval's own id
	Rep        int // repetition of a looping event (3.1.0 event.duration), 0 first
	Start      time.Time
	End        time.Time // zero: open-ended (P9999Y)
	Payloads   []ValuesMap
}

// Open reports whether the span never ends.
func (s Span) Open() bool { return s.End.IsZero() }

// Timing is what resolving an event's intervals needs beyond the event.
type Timing struct {
	// Now is the instant a "0001-01-01" start stands for: when the VEN
	// first saw this version of the event.
	Now time.Time
	// Jitter returns the offset to apply to a start that has a
	// randomizeStart of max (in [-max, max]); key names the interval. Nil
	// applies none.
	Jitter func(key string, max time.Duration) time.Duration
	// From and To bound the repetitions of a looping event that are
	// expanded; with To zero only the first repetition is.
	From, To time.Time
}

// Resolved is an event's timing.
type Resolved struct {
	Spans []Span
	// Start is when the first interval starts, End when the last ends
	// (zero: never, for an open-ended or endlessly looping event). Both
	// are zero for an event without intervals.
	Start, End time.Time
	// Looping is set when event.duration repeats the intervals.
	Looping bool
}

// ErrBadTiming is wrapped by Resolve's errors.
var ErrBadTiming = errors.New("bad event timing")

// maxReps bounds the repetitions of a looping event expanded at once.
const maxReps = 10000

// Resolve works out when each interval of ev applies, following the User
// Guide (7.3, 7.4): an interval's own intervalPeriod overrides the event's;
// an interval without a start follows the previous one; a start of
// "0001-01-01" means tm.Now on the first interval and "right after the
// previous one" on later ones; "P9999Y" never ends; a missing duration is
// PT0S; randomizeStart shifts starts by tm.Jitter; event.duration (3.1.0)
// cuts the intervals short or repeats them, except PT0S, its schema
// default, which is read as absent.
func Resolve(ev Event, tm Timing) (Resolved, error) {
	bad := func(format string, a ...any) (Resolved, error) {
		return Resolved{}, fmt.Errorf("event %s: %s: %w", ev.ID, fmt.Sprintf(format, a...), ErrBadTiming)
	}
	var (
		evStart    time.Time
		hasEvStart bool
		evDur      Period
		hasEvDur   bool
		shift      time.Duration
	)
	if ip := ev.IntervalPeriod; ip != nil {
		if ip.Start != "" {
			t, now, err := ip.Start.Parse()
			if err != nil {
				return bad("intervalPeriod: %v", err)
			}
			if now {
				t = tm.Now
			}
			evStart, hasEvStart = t, true
		}
		if ip.Duration != "" {
			p, err := ip.Duration.Parse()
			if err != nil {
				return bad("intervalPeriod: %v", err)
			}
			evDur, hasEvDur = p, true
		}
		if ip.RandomizeStart != "" {
			d, err := randomize(ip.RandomizeStart)
			if err != nil {
				return bad("intervalPeriod: %v", err)
			}
			if tm.Jitter != nil && d > 0 {
				shift = tm.Jitter(ev.ID, d)
			}
		}
	}
	var (
		out       Resolved
		cursor    time.Time
		hasCursor bool
	)
	for i, iv := range ev.Intervals {
		var start time.Time
		fromCursor := false
		ip := iv.IntervalPeriod
		switch {
		case ip != nil && ip.Start != "":
			t, now, err := ip.Start.Parse()
			if err != nil {
				return bad("interval %d: %v", iv.ID, err)
			}
			switch {
			case !now:
				start = t
				if ip.RandomizeStart != "" {
					d, err := randomize(ip.RandomizeStart)
					if err != nil {
						return bad("interval %d: %v", iv.ID, err)
					}
					shift = 0
					if tm.Jitter != nil && d > 0 {
						shift = tm.Jitter(fmt.Sprintf("%s/%d", ev.ID, i), d)
					}
				}
			case i == 0 && hasEvStart:
				start = evStart
			case i == 0:
				start = tm.Now
			case hasCursor:
				start, fromCursor = cursor, true
			default:
				return bad("interval %d follows an open-ended interval", iv.ID)
			}
		case i == 0 && hasEvStart:
			start = evStart
		case i == 0:
			return bad("interval %d has no start and the event no intervalPeriod", iv.ID)
		case hasCursor:
			start, fromCursor = cursor, true
		default:
			return bad("interval %d follows an open-ended interval", iv.ID)
		}
		if !fromCursor {
			start = start.Add(shift)
		}
		dur, hasDur := evDur, hasEvDur
		if ip != nil && ip.Duration != "" {
			p, err := ip.Duration.Parse()
			if err != nil {
				return bad("interval %d: %v", iv.ID, err)
			}
			dur, hasDur = p, true
		}
		sp := Span{Index: i, IntervalID: iv.ID, Start: start, End: start, Payloads: iv.Payloads}
		if hasDur {
			if dur.Neg {
				return bad("interval %d: negative duration", iv.ID)
			}
			if dur.IsInfinite() {
				sp.End = time.Time{}
			} else {
				end, ok := dur.AddTo(start)
				if !ok {
					return bad("interval %d: duration %s out of range", iv.ID, dur)
				}
				sp.End = end
			}
		}
		cursor, hasCursor = sp.End, !sp.Open()
		out.Spans = append(out.Spans, sp)
	}
	if len(out.Spans) == 0 {
		return out, nil
	}
	out.Start, out.End = out.Spans[0].Start, out.Spans[0].End
	for _, s := range out.Spans {
		if s.Start.Before(out.Start) {
			out.Start = s.Start
		}
		if !out.End.IsZero() && (s.Open() || s.End.After(out.End)) {
			out.End = s.End
		}
	}
	if ev.Duration == "" {
		return out, nil
	}
	total, err := ev.Duration.Parse()
	if err != nil {
		return bad("duration: %v", err)
	}
	if total.Neg {
		return bad("negative duration")
	}
	if total.IsZero() {
		return out, nil // PT0S is the schema's default: no event duration
	}
	var cut time.Time // zero: never
	if !total.IsInfinite() {
		c, ok := total.AddTo(out.Start)
		if !ok {
			return bad("duration %s out of range", ev.Duration)
		}
		cut = c
	}
	if out.End.IsZero() || (!cut.IsZero() && !cut.After(out.End)) {
		if !cut.IsZero() {
			out.Spans = clip(out.Spans, cut)
			out.End = cut
		}
		return out, nil
	}
	// The intervals repeat, period after period, until cut (or for ever).
	period := out.End.Sub(out.Start)
	if period <= 0 {
		return out, nil
	}
	out.Looping, out.End = true, cut
	base := out.Spans
	out.Spans = nil
	first := 0
	if !tm.From.IsZero() && tm.From.After(out.Start) {
		first = int(tm.From.Sub(out.Start) / period)
	}
	for r := first; r < first+maxReps; r++ {
		at := out.Start.Add(time.Duration(r) * period)
		if r > first && (tm.To.IsZero() || !at.Before(tm.To)) || (!cut.IsZero() && !at.Before(cut)) {
			break
		}
		for _, s := range base {
			s.Rep = r
			s.Start = s.Start.Add(time.Duration(r) * period)
			s.End = s.End.Add(time.Duration(r) * period)
			out.Spans = append(out.Spans, s)
		}
	}
	if !cut.IsZero() {
		out.Spans = clip(out.Spans, cut)
	}
	return out, nil
}

// clip drops spans starting at or after cut and ends the rest by cut.
func clip(spans []Span, cut time.Time) []Span {
	var out []Span
	for _, s := range spans {
		if !s.Start.Before(cut) {
			continue
		}
		if s.Open() || s.End.After(cut) {
			s.End = cut
		}
		out = append(out, s)
	}
	return out
}

// randomize parses a randomizeStart: its absolute value as a fixed span.
func randomize(d Duration) (time.Duration, error) {
	p, err := d.Parse()
	if err != nil {
		return 0, err
	}
	f, ok := p.Fixed()
	if !ok {
		return 0, fmt.Errorf("randomizeStart %s: want a fixed span (no years or months)", d)
	}
	if f < 0 {
		f = -f
	}
	return f, nil
}

func (p Period) String() string {
	return fmt.Sprintf("%+v", struct {
		Neg                                     bool
		Years, Months, Weeks, Days, Hours, Mins int64
		Seconds                                 time.Duration
	}{p.Neg, p.Years, p.Months, p.Weeks, p.Days, p.Hours, p.Minutes, p.Seconds})
}
