package openadr3

import (
	"log/slog"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/demand"
)

func newTestState() *venState {
	return &venState{source: "openadr3", venName: "site-1", horizon: 48 * time.Hour, log: slog.New(slog.DiscardHandler),
		records: map[string]*Lifecycle{}, saved: map[string][]byte{}, programs: map[string]Program{}}
}

func capAt(id, modified string, start DateTime, dur Duration) Event {
	return Event{
		ObjectMeta:     ObjectMeta{ID: id, ModificationDateTime: DateTime(modified)},
		ProgramID:      "p",
		IntervalPeriod: &IntervalPeriod{Start: start, Duration: dur},
		Intervals:      []Interval{{Payloads: []ValuesMap{{Type: PayloadImportCapacityLimit, Values: []Value{Num(5)}}}}},
	}
}

func TestLifecycle(t *testing.T) {
	h := time.Hour
	prog := &Program{ProgramName: "dr"}
	for _, tc := range []struct {
		name  string
		steps func(st *venState)
		at    time.Time
		want  demand.Status
		inSet int // demand events in the set at `at`
		cut   bool
	}{
		{
			name:  "scheduled, then active, then completed",
			steps: func(st *venState) { st.apply(capAt("e", "m1", DateTimeOf(t0.Add(h)), "PT1H"), prog, t0) },
			at:    t0.Add(90 * time.Minute), want: demand.Active, inSet: 1,
		},
		{
			name:  "completed at its end",
			steps: func(st *venState) { st.apply(capAt("e", "m1", DateTimeOf(t0.Add(h)), "PT1H"), prog, t0) },
			at:    t0.Add(2 * h), want: demand.Completed,
		},
		{
			name: "updated to 0001-01-01 and PT0S: cancelled (User Guide 7.9)",
			steps: func(st *venState) {
				st.apply(capAt("e", "m1", DateTimeOf(t0), "PT2H"), prog, t0)
				st.apply(capAt("e", "m2", "0001-01-01", "PT0S"), prog, t0.Add(h))
			},
			at: t0.Add(h), want: demand.Cancelled, inSet: 1, cut: true,
		},
		{
			name: "updated to end later: still active",
			steps: func(st *venState) {
				st.apply(capAt("e", "m1", DateTimeOf(t0), "PT1H"), prog, t0)
				st.apply(capAt("e", "m2", DateTimeOf(t0), "PT3H"), prog, t0.Add(30*time.Minute))
			},
			at: t0.Add(2 * h), want: demand.Active, inSet: 1,
		},
		{
			name: "withdrawn after it ended: completed, not cancelled",
			steps: func(st *venState) {
				st.apply(capAt("e", "m1", DateTimeOf(t0), "PT1H"), prog, t0)
				st.remove("e", t0.Add(2*h))
			},
			at: t0.Add(2 * h), want: demand.Completed,
		},
		{
			name: "the same version again changes nothing",
			steps: func(st *venState) {
				st.apply(capAt("e", "m1", "0001-01-01", "PT1H"), prog, t0)
				st.apply(capAt("e", "m1", "0001-01-01", "PT1H"), prog, t0.Add(30*time.Minute))
			},
			at: t0.Add(59 * time.Minute), want: demand.Active, inSet: 1,
		},
		{
			name: "open-ended and cancelled: in the set, marked, for an hour",
			steps: func(st *venState) {
				st.apply(capAt("e", "m1", DateTimeOf(t0), Infinite), prog, t0)
				st.remove("e", t0.Add(h))
			},
			at: t0.Add(2*h + time.Minute), want: demand.Cancelled,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newTestState()
			tc.steps(st)
			st.refresh(tc.at)
			l := st.records["e"]
			if l.Status != tc.want {
				t.Errorf("status %s, want %s", l.Status, tc.want)
			}
			set := st.current(tc.at)
			if len(set) != tc.inSet {
				t.Errorf("set %+v, want %d events", set, tc.inSet)
			}
			for _, e := range set {
				if e.Cancelled != (tc.want == demand.Cancelled) {
					t.Errorf("event %+v: cancelled %v", e, e.Cancelled)
				}
				if tc.cut && !e.End.Equal(t0.Add(2*h)) {
					t.Errorf("cancelled event keeps its old span, got end %s", e.End)
				}
			}
		})
	}
}

func TestJitterIsReproducible(t *testing.T) {
	st := newTestState()
	j := st.jitter("m1")
	a, b := j("e", 10*time.Minute), j("e", 10*time.Minute)
	if a != b || a < -10*time.Minute || a > 10*time.Minute {
		t.Errorf("jitter %v then %v, want one value within ±10m", a, b)
	}
	if c := st.jitter("m2")("e", 10*time.Minute); c == a {
		t.Logf("another version drew the same offset %v (possible, unlikely)", c)
	}
}
