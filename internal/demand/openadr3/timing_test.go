package openadr3

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)

func price(x float64) []ValuesMap { return []ValuesMap{{Type: PayloadPrice, Values: []Value{Num(x)}}} }

// spanTimes is what the timing tests compare: start and end (zero: open).
type spanTimes struct {
	Index, Rep int
	Start, End time.Time
}

func times(spans []Span) []spanTimes {
	var out []spanTimes
	for _, s := range spans {
		out = append(out, spanTimes{s.Index, s.Rep, s.Start, s.End})
	}
	return out
}

func TestResolve(t *testing.T) {
	now := t0.Add(37 * time.Minute)
	h := time.Hour
	for _, tc := range []struct {
		name      string
		ev        Event
		tm        Timing
		want      []spanTimes
		end       time.Time
		looping   bool
		wantError bool
	}{
		{
			name: "event period is the default of contiguous intervals",
			ev: Event{IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0), Duration: "PT1H"},
				Intervals: []Interval{{ID: 0, Payloads: price(1)}, {ID: 1, Payloads: price(2)}, {ID: 2, Payloads: price(3)}}},
			want: []spanTimes{{0, 0, t0, t0.Add(h)}, {1, 0, t0.Add(h), t0.Add(2 * h)}, {2, 0, t0.Add(2 * h), t0.Add(3 * h)}},
			end:  t0.Add(3 * h),
		},
		{
			name: "an interval's own duration overrides (User Guide 7.4-1)",
			ev: Event{IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0), Duration: "PT1H"},
				Intervals: []Interval{{ID: 0, Payloads: price(1)}, {ID: 1, IntervalPeriod: &IntervalPeriod{Duration: "PT2H"}, Payloads: price(2)}}},
			want: []spanTimes{{0, 0, t0, t0.Add(h)}, {1, 0, t0.Add(h), t0.Add(3 * h)}},
			end:  t0.Add(3 * h),
		},
		{
			name: "an interval's own start makes a gap",
			ev: Event{IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0), Duration: "PT1H"},
				Intervals: []Interval{{ID: 0, Payloads: price(1)}, {ID: 7, IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0.Add(5 * h))}, Payloads: price(2)}}},
			want: []spanTimes{{0, 0, t0, t0.Add(h)}, {1, 0, t0.Add(5 * h), t0.Add(6 * h)}},
			end:  t0.Add(6 * h),
		},
		{
			name: "do it now for ever: 0001-01-01 and P9999Y",
			ev:   Event{IntervalPeriod: &IntervalPeriod{Start: "0001-01-01", Duration: Infinite}, Intervals: []Interval{{Payloads: price(1)}}},
			tm:   Timing{Now: now},
			want: []spanTimes{{0, 0, now, time.Time{}}},
		},
		{
			name: "now on the first interval without an event period",
			ev:   Event{Intervals: []Interval{{IntervalPeriod: &IntervalPeriod{Start: Now, Duration: "PT15M"}, Payloads: price(1)}, {ID: 1, IntervalPeriod: &IntervalPeriod{Start: "0001-01-01T00:00:00", Duration: "PT15M"}, Payloads: price(2)}}},
			tm:   Timing{Now: now},
			want: []spanTimes{{0, 0, now, now.Add(15 * time.Minute)}, {1, 0, now.Add(15 * time.Minute), now.Add(30 * time.Minute)}},
			end:  now.Add(30 * time.Minute),
		},
		{
			name: "a missing duration is PT0S",
			ev:   Event{IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0)}, Intervals: []Interval{{Payloads: price(1)}}},
			want: []spanTimes{{0, 0, t0, t0}},
			end:  t0,
		},
		{
			name: "randomizeStart shifts the first start and those that follow",
			ev: Event{ObjectMeta: ObjectMeta{ID: "e"}, IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0), Duration: "PT1H", RandomizeStart: "PT10M"},
				Intervals: []Interval{{Payloads: price(1)}, {ID: 1, Payloads: price(2)}}},
			tm: Timing{Jitter: func(key string, max time.Duration) time.Duration {
				if key != "e" || max != 10*time.Minute {
					t.Errorf("jitter(%q, %v)", key, max)
				}
				return -3 * time.Minute
			}},
			want: []spanTimes{{0, 0, t0.Add(-3 * time.Minute), t0.Add(57 * time.Minute)}, {1, 0, t0.Add(57 * time.Minute), t0.Add(117 * time.Minute)}},
			end:  t0.Add(117 * time.Minute),
		},
		{
			name: "event duration cuts the intervals short",
			ev: Event{Duration: "PT90M", IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0), Duration: "PT1H"},
				Intervals: []Interval{{Payloads: price(1)}, {ID: 1, Payloads: price(2)}, {ID: 2, Payloads: price(3)}}},
			want: []spanTimes{{0, 0, t0, t0.Add(h)}, {1, 0, t0.Add(h), t0.Add(90 * time.Minute)}},
			end:  t0.Add(90 * time.Minute),
		},
		{
			name: "event duration repeats the intervals until it ends",
			ev: Event{Duration: "PT5H", IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0), Duration: "PT1H"},
				Intervals: []Interval{{Payloads: price(1)}, {ID: 1, Payloads: price(2)}}},
			tm: Timing{From: t0, To: t0.Add(24 * h)},
			want: []spanTimes{{0, 0, t0, t0.Add(h)}, {1, 0, t0.Add(h), t0.Add(2 * h)}, {0, 1, t0.Add(2 * h), t0.Add(3 * h)},
				{1, 1, t0.Add(3 * h), t0.Add(4 * h)}, {0, 2, t0.Add(4 * h), t0.Add(5 * h)}},
			end: t0.Add(5 * h), looping: true,
		},
		{
			name: "P9999Y loops for ever, expanded over the horizon only",
			ev: Event{Duration: Infinite, IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0), Duration: "PT1H"},
				Intervals: []Interval{{Payloads: price(1)}, {ID: 1, Payloads: price(2)}}},
			tm:      Timing{From: t0.Add(50 * h), To: t0.Add(53 * h)},
			want:    []spanTimes{{0, 25, t0.Add(50 * h), t0.Add(51 * h)}, {1, 25, t0.Add(51 * h), t0.Add(52 * h)}, {0, 26, t0.Add(52 * h), t0.Add(53 * h)}, {1, 26, t0.Add(53 * h), t0.Add(54 * h)}},
			looping: true,
		},
		{
			name: "an event duration of PT0S, the schema default, is no event duration",
			ev:   Event{Duration: "PT0S", IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0), Duration: "PT1H"}, Intervals: []Interval{{Payloads: price(1)}}},
			want: []spanTimes{{0, 0, t0, t0.Add(h)}},
			end:  t0.Add(h),
		},
		{name: "no start anywhere", ev: Event{Intervals: []Interval{{Payloads: price(1)}}}, wantError: true},
		{name: "after an open-ended interval", ev: Event{IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0), Duration: Infinite}, Intervals: []Interval{{Payloads: price(1)}, {ID: 1, Payloads: price(2)}}}, wantError: true},
		{name: "negative duration", ev: Event{IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0), Duration: "-PT1H"}, Intervals: []Interval{{Payloads: price(1)}}}, wantError: true},
		{name: "bad start", ev: Event{IntervalPeriod: &IntervalPeriod{Start: "yesterday", Duration: "PT1H"}, Intervals: []Interval{{Payloads: price(1)}}}, wantError: true},
		{name: "no intervals", ev: Event{IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0), Duration: "PT1H"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Resolve(tc.ev, tc.tm)
			if tc.wantError {
				if !errors.Is(err, ErrBadTiming) {
					t.Fatalf("err = %v, want ErrBadTiming", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, times(res.Spans)); diff != "" {
				t.Errorf("spans (-want +got):\n%s", diff)
			}
			if !res.End.Equal(tc.end) || res.Looping != tc.looping {
				t.Errorf("end %s looping %v, want %s %v", res.End, res.Looping, tc.end, tc.looping)
			}
		})
	}
}
