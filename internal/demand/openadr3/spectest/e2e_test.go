package spectest

import (
	"context"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/demand/openadr3"
	"github.com/gridminer/gridminer/internal/energy"
)

func forVersions(t *testing.T, f func(t *testing.T, e *env)) {
	for _, v := range openadr3.Versions {
		t.Run(string(v), func(t *testing.T) { f(t, newEnv(t, v)) })
	}
}

// TestCapEventLifecycle: business logic creates a program and an
// IMPORT_CAPACITY_LIMIT event for the VEN; the VEN turns it into a demand
// cap with the event's start and end, follows an update, and cancels it
// when business logic deletes it. The VEN polls (no webhook).
func TestCapEventLifecycle(t *testing.T) {
	forVersions(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		prog := e.program("curtailment")
		start := t0.Add(time.Hour)
		ev := e.createEvent(e.capEvent(prog, ven1Name, start, 2*time.Hour, 40, 1))
		r := e.startVEN(venOpts{})

		set := r.waitFor(t, "the cap", has(ev.ID, func(d demand.Event) bool { return true }))
		got, _ := find(set, ev.ID)
		want := demand.Event{Source: "openadr3", ID: ev.ID + "/0/IMPORT_CAPACITY_LIMIT", Program: "curtailment", Name: "curtail",
			Kind: demand.Cap, Start: start, End: start.Add(2 * time.Hour), Priority: 1, Power: 40 * energy.Kilowatt}
		if got != want {
			t.Errorf("demand event\n got %+v\nwant %+v", got, want)
		}
		if l := r.lifecycle(t, ev.ID); l.Status != demand.Scheduled || !l.ReceivedAt.Equal(t0) || !l.ScheduledAt.Equal(t0) {
			t.Errorf("lifecycle %s received %s scheduled %s, want scheduled at %s", l.Status, l.ReceivedAt, l.ScheduledAt, t0)
		}

		// The event starts: its lifecycle moves on (the set does not change).
		r.clk.runTo(t, start.Add(time.Minute))
		if l := r.lifecycle(t, ev.ID); l.Status != demand.Active || !l.ActiveAt.Equal(start) {
			t.Errorf("lifecycle %s active at %s, want active at %s", l.Status, l.ActiveAt, start)
		}

		// An update lowers the cap.
		upd := ev
		upd.Intervals[0].Payloads[0].Values = []openadr3.Value{openadr3.Num(25)}
		if _, err := e.bl.UpdateEvent(ctx, ev.ID, upd); err != nil {
			t.Fatal(err)
		}
		r.ven.PollNow()
		r.waitFor(t, "the lower cap", has(ev.ID, func(d demand.Event) bool { return d.Power == 25*energy.Kilowatt }))

		// Deleting the event cancels it.
		if _, err := e.bl.DeleteEvent(ctx, ev.ID); err != nil {
			t.Fatal(err)
		}
		r.ven.PollNow()
		r.waitFor(t, "the cancellation", has(ev.ID, func(d demand.Event) bool { return d.Cancelled }))
		if l := r.lifecycle(t, ev.ID); l.Status != demand.Cancelled || l.CancelledAt.IsZero() {
			t.Errorf("lifecycle %s cancelled at %s, want cancelled", l.Status, l.CancelledAt)
		}
		// Past its end, the cancelled event leaves the set.
		r.clk.runTo(t, start.Add(3*time.Hour))
		r.waitFor(t, "an empty set", func(set []demand.Event) bool { return len(set) == 0 })
	})
}

// TestWebhookNotification: the VEN subscribes with its webhook; a new
// event, an update and a deletion reach it as notifications and it acts on
// each at once, while its clock (and so its next poll) stands still.
func TestWebhookNotification(t *testing.T) {
	forVersions(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		prog := e.program("curtailment")
		r := e.startVEN(venOpts{webhook: true})
		r.waitFor(t, "the first set", func(set []demand.Event) bool { return len(set) == 0 })
		r.clk.next(t) // the first poll is done and the VEN waits for the next
		subs, err := e.bl.Subscriptions(ctx, openadr3.Query{ClientName: ven1Name})
		if err != nil {
			t.Fatal(err)
		}
		if len(subs) != 1 || subs[0].ClientID != ven1ID {
			t.Fatalf("subscriptions %+v, want one of %s", subs, ven1ID)
		}

		ev := e.createEvent(e.capEvent(prog, ven1Name, t0.Add(10*time.Minute), time.Hour, 40, 0))
		r.waitFor(t, "the notified event", has(ev.ID, func(d demand.Event) bool { return d.Power == 40*energy.Kilowatt }))

		upd := ev
		upd.Intervals[0].Payloads[0].Values = []openadr3.Value{openadr3.Num(10)}
		if _, err := e.bl.UpdateEvent(ctx, ev.ID, upd); err != nil {
			t.Fatal(err)
		}
		r.waitFor(t, "the notified update", has(ev.ID, func(d demand.Event) bool { return d.Power == 10*energy.Kilowatt }))

		if _, err := e.bl.DeleteEvent(ctx, ev.ID); err != nil {
			t.Fatal(err)
		}
		r.waitFor(t, "the notified deletion", has(ev.ID, func(d demand.Event) bool { return d.Cancelled }))
		if now := r.clk.Now(); !now.Equal(t0) {
			t.Errorf("the VEN's clock moved to %s: it waited for a poll", now)
		}
		if n := e.val.count("notification"); e.val.router != nil && n < 3 {
			t.Errorf("%d notifications validated, want 3", n)
		}

		// An event for another VEN is not notified to this one.
		other := e.createEvent(e.capEvent(prog, ven2Name, t0.Add(time.Hour), time.Hour, 5, 0))
		mine := e.createEvent(e.capEvent(prog, ven1Name, t0.Add(time.Hour), time.Hour, 7, 0))
		set := r.waitFor(t, "the next event", has(mine.ID, func(demand.Event) bool { return true }))
		if _, found := find(set, other.ID); found {
			t.Errorf("site-1 got site-2's event: %+v", set)
		}
	})
}

// TestPayloadMapping: SIMPLE, PRICE and DISPATCH_SETPOINT events, a "do it
// now" event for ever (0001-01-01 and P9999Y), and priorities.
func TestPayloadMapping(t *testing.T) {
	forVersions(t, func(t *testing.T, e *env) {
		prog := e.program("tariff")
		start := t0.Add(30 * time.Minute)
		p0, p5 := 0, 5
		mixed := e.createEvent(openadr3.Event{
			ProgramID: prog.ID, EventName: "mixed", Priority: &p5, Targets: e.targets(ven1Name),
			PayloadDescriptors: []openadr3.PayloadDescriptor{
				{ObjectType: openadr3.EventPayloadDescriptor, PayloadType: openadr3.PayloadPrice, Units: "KWH", Currency: "USD"},
				{ObjectType: openadr3.EventPayloadDescriptor, PayloadType: openadr3.PayloadDispatchSetpoint, Units: "MW"},
			},
			IntervalPeriod: &openadr3.IntervalPeriod{Start: openadr3.DateTimeOf(start), Duration: "PT1H"},
			Intervals: []openadr3.Interval{
				{ID: 0, Payloads: []openadr3.ValuesMap{{Type: openadr3.PayloadPrice, Values: []openadr3.Value{openadr3.Num(0.042)}}}},
				{ID: 1, Payloads: []openadr3.ValuesMap{{Type: openadr3.PayloadDispatchSetpoint, Values: []openadr3.Value{openadr3.Num(1.5)}}}},
				{ID: 2, Payloads: []openadr3.ValuesMap{{Type: openadr3.PayloadSimple, Values: []openadr3.Value{openadr3.Num(2)}}, {Type: "GHG", Values: []openadr3.Value{openadr3.Num(400)}}}},
			},
		})
		now := e.createEvent(openadr3.Event{
			ProgramID: prog.ID, EventName: "alert", Priority: &p0, // untargeted: for every VEN
			IntervalPeriod: &openadr3.IntervalPeriod{Start: openadr3.Now, Duration: openadr3.Infinite},
			Intervals:      []openadr3.Interval{{ID: 0, Payloads: []openadr3.ValuesMap{{Type: openadr3.PayloadSimple, Values: []openadr3.Value{openadr3.Num(3)}}}}},
		})
		r := e.startVEN(venOpts{})
		set := r.waitFor(t, "both events", func(set []demand.Event) bool {
			_, a := find(set, mixed.ID)
			_, b := find(set, now.ID)
			return a && b
		})
		want := []demand.Event{
			{Source: "openadr3", ID: now.ID + "/0/SIMPLE", Program: "tariff", Name: "alert", Kind: demand.Level, Start: t0, Priority: 0, Level: 3},
			{Source: "openadr3", ID: mixed.ID + "/0/PRICE", Program: "tariff", Name: "mixed", Kind: demand.Price, Start: start, End: start.Add(time.Hour), Priority: 5, Price: 42},
			{Source: "openadr3", ID: mixed.ID + "/1/DISPATCH_SETPOINT", Program: "tariff", Name: "mixed", Kind: demand.Target, Start: start.Add(time.Hour), End: start.Add(2 * time.Hour), Priority: 5, Power: 1.5 * energy.Megawatt},
			{Source: "openadr3", ID: mixed.ID + "/2/SIMPLE", Program: "tariff", Name: "mixed", Kind: demand.Level, Start: start.Add(2 * time.Hour), End: start.Add(3 * time.Hour), Priority: 5, Level: 2},
		}
		if len(set) != len(want) {
			t.Fatalf("set %+v, want %d events", set, len(want))
		}
		for i := range want {
			if set[i] != want[i] {
				t.Errorf("event %d\n got %+v\nwant %+v", i, set[i], want[i])
			}
		}
		c := demand.Resolve(set, start.Add(90*time.Minute), demand.DefaultTiers(100*energy.Kilowatt))
		if !c.HasCap || c.Cap != 0 || c.Floor != 0 {
			// The alert's level 3 caps at 0; it overrides the setpoint.
			t.Errorf("constraint at the setpoint: %+v", c)
		}
	})
}

// TestReports: an event asks for USAGE, DEMAND and BASELINE reports; when
// its last interval ends the VEN posts them from its readings, and business
// logic reads them back.
func TestReports(t *testing.T) {
	forVersions(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		prog := e.program("capacity")
		start := t0.Add(time.Hour)
		ev := e.capEvent(prog, ven1Name, start, time.Hour, 50, 0)
		ev.Intervals = append(ev.Intervals, openadr3.Interval{ID: 7, Payloads: ev.Intervals[0].Payloads})
		ev.ReportDescriptors = []openadr3.ReportDescriptor{
			{PayloadType: openadr3.PayloadUsage, ReadingType: "DIRECT_READ", Units: "KWH"},
			{PayloadType: openadr3.PayloadDemand},
			{PayloadType: openadr3.PayloadBaseline, Units: "KW"},
			{PayloadType: "STORAGE_CHARGE_LEVEL"}, // not something a mining site reports
		}
		ev = e.createEvent(ev)
		rd := &readings{ok: func(from time.Time) bool { return from.Equal(start) }}
		r := e.startVEN(venOpts{readings: rd})
		r.waitFor(t, "the event", has(ev.ID, func(demand.Event) bool { return true }))
		// The second interval's readings stay incomplete: the VEN waits
		// out its report grace (5 min) before sending them marked MISSING.
		r.clk.runTo(t, start.Add(2*time.Hour+time.Minute))
		if early, err := e.bl.Reports(ctx, openadr3.Query{EventID: ev.ID}); err != nil || len(early) != 0 {
			t.Fatalf("%d reports (%v) inside the grace, want none yet", len(early), err)
		}
		r.clk.runTo(t, start.Add(2*time.Hour+6*time.Minute))

		reports, err := e.bl.Reports(ctx, openadr3.Query{EventID: ev.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(reports) != 3 {
			t.Fatalf("%d reports, want 3: %+v", len(reports), reports)
		}
		want := map[string][2]float64{"USAGE": {12, 12}, "DEMAND": {12, 12}, "BASELINE": {20, 20}}
		for _, rep := range reports {
			if rep.ClientName != ven1Name || rep.ClientID != ven1ID || rep.ProgramID != prog.ID || len(rep.Resources) != 1 {
				t.Errorf("report %+v", rep)
				continue
			}
			typ := rep.PayloadDescriptors[0].PayloadType
			ivs := rep.Resources[0].Intervals
			if rep.Resources[0].ResourceName != openadr3.AggregatedReport || len(ivs) != 2 || ivs[0].ID != 0 || ivs[1].ID != 7 {
				t.Errorf("%s report resources %+v", typ, rep.Resources)
				continue
			}
			if s := ivs[1].IntervalPeriod.Start; s != openadr3.DateTimeOf(start.Add(time.Hour)) {
				t.Errorf("%s report second interval starts %s", typ, s)
			}
			for i, iv := range ivs {
				if got := iv.Payloads[0].Values[0].Num; iv.Payloads[0].Type != typ || got != want[typ][i] {
					t.Errorf("%s interval %d: %+v, want %v", typ, i, iv.Payloads, want[typ][i])
				}
				// Readings were incomplete for the second interval.
				if missing := len(iv.Payloads) == 2 && iv.Payloads[1].Type == openadr3.PayloadDataQuality; missing != (i == 1) {
					t.Errorf("%s interval %d: data quality %+v", typ, i, iv.Payloads)
				}
			}
		}
		if l := r.lifecycle(t, ev.ID); l.Status != demand.Completed || len(l.ReportsSent) != 3 {
			t.Errorf("lifecycle %s, reports sent %v", l.Status, l.ReportsSent)
		}
		// The VEN sees its own reports, site-2 none of them.
		for _, c := range []struct {
			id, secret string
			n          int
		}{{ven1ID, ven1Secret, 3}, {ven2ID, ven2Secret, 0}} {
			got, err := e.client(c.id, c.secret).Reports(ctx, openadr3.Query{})
			if err != nil || len(got) != c.n {
				t.Errorf("%s reads %d reports (%v), want %d", c.id, len(got), err, c.n)
			}
		}
	})
}

// TestRestartResumes: a VEN stopped while an event is active resumes it
// from its store on the next start, before (and without) any answer of
// the VTN.
func TestRestartResumes(t *testing.T) {
	forVersions(t, func(t *testing.T, e *env) {
		prog := e.program("curtailment")
		ev := e.createEvent(e.capEvent(prog, ven1Name, t0.Add(-10*time.Minute), time.Hour, 30, 0))
		clk := newStepClock(t0)
		st := openStore(t, "ven-restart.db")
		r := e.startVEN(venOpts{store: st, clk: clk})
		r.waitFor(t, "the active event", has(ev.ID, func(demand.Event) bool { return true }))
		r.stop(t)

		// The VTN is gone: nothing answers at its address now.
		e.srv.Close()
		clk.set(t0.Add(5 * time.Minute))
		r2 := e.startVEN(venOpts{store: st, clk: clk})
		set := r2.waitFor(t, "the resumed event", func([]demand.Event) bool { return true })
		got, ok := find(set, ev.ID)
		if !ok || got.Power != 30*energy.Kilowatt || got.Cancelled || !got.In(clk.Now()) {
			t.Fatalf("first set after restart %+v, want the active cap", set)
		}
		if l := r2.lifecycle(t, ev.ID); l.Status != demand.Active {
			t.Errorf("lifecycle %s, want active", l.Status)
		}
		// It keeps the event while the VTN stays unreachable, and ends it on time.
		clk.runTo(t, t0.Add(51*time.Minute))
		r2.waitFor(t, "the end of the event", func(set []demand.Event) bool { return len(set) == 0 })
		if l := r2.lifecycle(t, ev.ID); l.Status != demand.Completed || !l.CompletedAt.Equal(t0.Add(50*time.Minute)) {
			t.Errorf("lifecycle %s completed at %s, want completed at the end", l.Status, l.CompletedAt)
		}
	})
}

// TestActiveFilter: 3.1.0's active=true leaves out events that have
// transpired, on the VTN's clock.
func TestActiveFilter(t *testing.T) {
	e := newEnv(t, openadr3.V310)
	ctx := context.Background()
	prog := e.program("dr")
	past := e.createEvent(e.capEvent(prog, "", t0.Add(-2*time.Hour), time.Hour, 1, 0))
	soon := e.createEvent(e.capEvent(prog, "", t0.Add(time.Hour), time.Hour, 2, 0))
	forever := e.createEvent(e.capEvent(prog, "", t0.Add(-2*time.Hour), 0, 3, 0))
	forever.IntervalPeriod.Duration = openadr3.Infinite
	if _, err := e.bl.UpdateEvent(ctx, forever.ID, forever); err != nil {
		t.Fatal(err)
	}
	yes := true
	for _, tc := range []struct {
		q    openadr3.Query
		want []string
	}{{openadr3.Query{}, []string{past.ID, soon.ID, forever.ID}}, {openadr3.Query{Active: &yes}, []string{soon.ID, forever.ID}}} {
		evs, err := e.bl.Events(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range evs {
			got = append(got, ev.ID)
		}
		if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) || got[len(got)-1] != tc.want[len(tc.want)-1] {
			t.Errorf("active=%v: events %v, want %v", tc.q.Active != nil, got, tc.want)
		}
	}
}
