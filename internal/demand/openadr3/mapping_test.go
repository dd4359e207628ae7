package openadr3

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/energy"
)

func TestMapEvent(t *testing.T) {
	h := time.Hour
	prio := func(p int) *int { return &p }
	one := func(typ string, vals ...Value) []Interval {
		return []Interval{{ID: 4, Payloads: []ValuesMap{{Type: typ, Values: vals}}}}
	}
	period := &IntervalPeriod{Start: DateTimeOf(t0), Duration: "PT1H"}
	prog := &Program{ProgramName: "dr", PayloadDescriptors: []PayloadDescriptor{{PayloadType: PayloadImportCapacityLimit, Units: "MW"}}}
	base := demand.Event{Source: "openadr3", Program: "dr", Name: "n", Start: t0, End: t0.Add(h), Priority: NoPriority}
	with := func(f func(*demand.Event)) demand.Event { e := base; f(&e); return e }
	for _, tc := range []struct {
		name    string
		ev      Event
		prog    *Program
		want    []demand.Event
		errs    int
		payload string
	}{
		{
			name: "import capacity limit in kW",
			ev:   Event{IntervalPeriod: period, Priority: prio(2), PayloadDescriptors: []PayloadDescriptor{{PayloadType: PayloadImportCapacityLimit, Units: "KW"}}, Intervals: one(PayloadImportCapacityLimit, Num(40))},
			prog: prog,
			want: []demand.Event{with(func(e *demand.Event) {
				e.ID, e.Kind, e.Power, e.Priority = "e1/0/IMPORT_CAPACITY_LIMIT", demand.Cap, 40*energy.Kilowatt, 2
			})},
		},
		{
			name: "the program's descriptor when the event has none",
			ev:   Event{IntervalPeriod: period, Intervals: one(PayloadImportCapacityLimit, Num(1.5))},
			prog: prog,
			want: []demand.Event{with(func(e *demand.Event) {
				e.ID, e.Kind, e.Power = "e1/0/IMPORT_CAPACITY_LIMIT", demand.Cap, 1.5*energy.Megawatt
			})},
		},
		{
			name: "dispatch setpoint, kW when no descriptor",
			ev:   Event{IntervalPeriod: period, Priority: prio(0), Intervals: one(PayloadDispatchSetpoint, Num(250))},
			want: []demand.Event{with(func(e *demand.Event) {
				e.ID, e.Kind, e.Power, e.Priority, e.Program = "e1/0/DISPATCH_SETPOINT", demand.Target, 250*energy.Kilowatt, 0, "p1"
			})},
		},
		{
			name: "simple level",
			ev:   Event{IntervalPeriod: period, Intervals: one(PayloadSimple, Num(2))},
			prog: prog,
			want: []demand.Event{with(func(e *demand.Event) { e.ID, e.Kind, e.Level = "e1/0/SIMPLE", demand.Level, 2 })},
		},
		{
			name: "price per kWh to $/MWh",
			ev:   Event{IntervalPeriod: period, PayloadDescriptors: []PayloadDescriptor{{PayloadType: PayloadPrice, Units: "KWH", Currency: "USD"}}, Intervals: one(PayloadPrice, Num(0.17))},
			prog: prog,
			want: []demand.Event{with(func(e *demand.Event) { e.ID, e.Kind, e.Price = "e1/0/PRICE", demand.Price, 170 })},
		},
		{
			name: "price per MWh",
			ev:   Event{IntervalPeriod: period, PayloadDescriptors: []PayloadDescriptor{{PayloadType: PayloadPrice, Units: "MWH"}}, Intervals: one(PayloadPrice, Num(-12.5))},
			prog: prog,
			want: []demand.Event{with(func(e *demand.Event) { e.ID, e.Kind, e.Price = "e1/0/PRICE", demand.Price, -12.5 })},
		},
		{
			name: "several values are sub-intervals (User Guide 7.3-1)",
			ev: Event{Intervals: []Interval{{IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0), Duration: "PT3H"},
				Payloads: []ValuesMap{{Type: PayloadPrice, Values: []Value{Num(0.17), Num(0.03), Num(0.11)}}}}}},
			prog: prog,
			want: []demand.Event{
				with(func(e *demand.Event) { e.ID, e.Kind, e.Price = "e1/0/PRICE/0", demand.Price, 170 }),
				with(func(e *demand.Event) {
					e.ID, e.Kind, e.Price, e.Start, e.End = "e1/0/PRICE/1", demand.Price, 30, t0.Add(h), t0.Add(2*h)
				}),
				with(func(e *demand.Event) {
					e.ID, e.Kind, e.Price, e.Start, e.End = "e1/0/PRICE/2", demand.Price, 110, t0.Add(2*h), t0.Add(3*h)
				}),
			},
		},
		{
			name: "open-ended cap",
			ev:   Event{IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(t0), Duration: Infinite}, Intervals: one(PayloadImportCapacityLimit, Num(10))},
			prog: &Program{ProgramName: "dr"},
			want: []demand.Event{with(func(e *demand.Event) {
				e.ID, e.Kind, e.Power, e.End = "e1/0/IMPORT_CAPACITY_LIMIT", demand.Cap, 10*energy.Kilowatt, time.Time{}
			})},
		},
		{
			name: "unknown payload types are ignored, zero-length spans map to nothing",
			ev: Event{IntervalPeriod: period, Intervals: []Interval{
				{Payloads: []ValuesMap{{Type: "GHG", Values: []Value{Num(1)}}}},
				{ID: 1, IntervalPeriod: &IntervalPeriod{Duration: "PT0S"}, Payloads: price(1)},
			}},
			prog: prog,
		},
		{name: "level out of range", ev: Event{IntervalPeriod: period, Intervals: one(PayloadSimple, Num(4))}, prog: prog, errs: 1},
		{name: "negative cap", ev: Event{IntervalPeriod: period, Intervals: one(PayloadImportCapacityLimit, Num(-1))}, prog: prog, errs: 1},
		{name: "unknown power units", ev: Event{IntervalPeriod: period, PayloadDescriptors: []PayloadDescriptor{{PayloadType: PayloadDispatchSetpoint, Units: "PERCENT"}}, Intervals: one(PayloadDispatchSetpoint, Num(1))}, prog: prog, errs: 1},
		{name: "foreign currency", ev: Event{IntervalPeriod: period, PayloadDescriptors: []PayloadDescriptor{{PayloadType: PayloadPrice, Currency: "EUR"}}, Intervals: one(PayloadPrice, Num(1))}, prog: prog, errs: 1},
		{name: "string value", ev: Event{IntervalPeriod: period, Intervals: one(PayloadPrice, Str("cheap"))}, prog: prog, errs: 1},
		{name: "no values", ev: Event{IntervalPeriod: period, Intervals: one(PayloadPrice)}, prog: prog, errs: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.ev.ID, tc.ev.ProgramID, tc.ev.EventName = "e1", "p1", "n"
			res, err := Resolve(tc.ev, Timing{})
			if err != nil {
				t.Fatal(err)
			}
			got, errs := MapEvent("openadr3", tc.ev, tc.prog, res.Spans)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("demand events (-want +got):\n%s", diff)
			}
			if len(errs) != tc.errs {
				t.Errorf("errors %v, want %d", errs, tc.errs)
			}
			for _, err := range errs {
				if !errors.Is(err, ErrUnmapped) {
					t.Errorf("error %v is not ErrUnmapped", err)
				}
			}
		})
	}
}

func TestReportWindows(t *testing.T) {
	i := func(n int) *int { return &n }
	f := false
	for _, tc := range []struct {
		name string
		d    ReportDescriptor
		n    int
		want []window
	}{
		{"defaults: one report of all intervals after the last", ReportDescriptor{}, 4, []window{{0, 0, 3}}},
		{"periodic (User Guide 7.5)", ReportDescriptor{StartInterval: i(1), NumIntervals: i(2), Frequency: i(2), Repeat: i(3)}, 6, []window{{0, 0, 1}, {0, 2, 3}, {0, 4, 5}}},
		{"every interval for ever", ReportDescriptor{StartInterval: i(0), NumIntervals: i(1), Repeat: i(-1)}, 3, []window{{0, 0, 0}, {0, 1, 1}, {0, 2, 2}}},
		{"the last two", ReportDescriptor{NumIntervals: i(2)}, 5, []window{{0, 3, 4}}},
		{"start beyond the intervals", ReportDescriptor{StartInterval: i(9)}, 3, nil},
		{"forecasts are not made", ReportDescriptor{Historical: &f}, 3, nil},
		{"no intervals", ReportDescriptor{}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := reportWindows(0, tc.d, tc.n)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("windows (-want +got):\n%s", diff)
			}
		})
	}
}
