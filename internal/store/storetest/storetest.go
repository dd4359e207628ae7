// Package storetest is the conformance suite every store.Store
// implementation passes: round trips of every field, half-open range
// queries, ledger upserts and exact totals, input validation, context
// cancellation and concurrent writers.
//
// It is test support only: it imports package testing and is meant to be
// called from an implementation's _test.go. It does not benchmark.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/store"
)

// Run runs the suite. open must return a fresh, empty store each call; Run
// closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"TelemetryRoundTrip", testTelemetryRoundTrip},
		{"TelemetryRejectsBadRows", testTelemetryRejects},
		{"DecisionRoundTrip", testDecisionRoundTrip},
		{"DecisionRejectsBadInput", testDecisionRejects},
		{"LedgerUpsertReplaces", testLedgerUpsert},
		{"LedgerRejectsBadEntry", testLedgerRejects},
		{"RangesHalfOpen", testRangesHalfOpen},
		{"TotalsEqualSumOfEntries", testTotals},
		{"EmptyStore", testEmpty},
		{"ContextCancelled", testCancelled},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ObjectsRoundTrip", testObjects},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// base is an arbitrary instant with nanoseconds, so truncation shows.
var base = time.Date(2024, 7, 1, 12, 0, 0, 123456789, time.UTC)

// far bounds a query that should see everything.
var (
	farPast   = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	farFuture = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func status(at time.Time, i int) miner.Status {
	return miner.Status{
		Time:           at,
		State:          miner.StateMining,
		Power:          energy.Power(3010.5 + float64(i)),
		PowerEstimated: i%2 == 1,
		PowerTarget:    3000,
		Profile:        "310MHz",
		Hashrate:       energy.Hashrate(140.25 + float64(i)/3),
		HashrateAvg:    139.875,
		TempMaxC:       71.5,
		FanRPM:         []int{4800, 4810 + i, 4790, 4805},
		Boards:         3,
		BoardsActive:   3 - i%2,
		Uptime:         36*time.Hour + time.Duration(i)*time.Second + 17,
		Accepted:       uint64(1_000_000 + i),
		Rejected:       uint64(i),
	}
}

func testTelemetryRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	zone := time.FixedZone("CDT", -5*3600)
	offline := miner.Status{Time: base.Add(2 * time.Minute).In(zone), State: miner.StateOffline}
	rows := []store.Telemetry{
		{MinerID: "s19-01", Status: status(base, 0)},
		{MinerID: "s19-02", Status: status(base, 1)},
		{MinerID: "s19-01", Status: status(base.Add(time.Minute).In(zone), 2)}, // non-UTC in, UTC out
		{MinerID: "s19-01", Status: offline, Err: "dial tcp 10.0.0.7:4028: connect: connection refused"},
	}
	// Extremes every field must survive.
	rows[1].Status.Accepted = math.MaxUint64
	rows[1].Status.Rejected = 1 << 63
	rows[1].Status.FanRPM = []int{}
	rows[1].Status.Hashrate = 1.0 / 3.0
	rows[1].Status.Profile = "émoji ✓ 'quoted' \"double\""
	if err := s.AddTelemetry(ctx, rows); err != nil {
		t.Fatalf("AddTelemetry: %v", err)
	}
	if err := s.AddTelemetry(ctx, nil); err != nil {
		t.Fatalf("AddTelemetry(nil): %v", err)
	}

	for _, tc := range []struct {
		miner string
		want  []store.Telemetry
	}{
		{"s19-01", []store.Telemetry{rows[0], rows[2], rows[3]}},
		{"s19-02", []store.Telemetry{rows[1]}},
		{"nobody", nil},
	} {
		got, err := s.Telemetry(ctx, tc.miner, farPast, farFuture)
		if err != nil {
			t.Fatalf("Telemetry(%s): %v", tc.miner, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Telemetry(%s) mismatch (-want +got):\n%s", tc.miner, diff)
		}
		for _, r := range got {
			if r.Status.Time.Location() != time.UTC {
				t.Errorf("Telemetry(%s): time %v in %v, want UTC", tc.miner, r.Status.Time, r.Status.Time.Location())
			}
		}
	}
	// The zero time.Time is a valid "from the beginning" bound.
	got, err := s.Telemetry(ctx, "s19-02", time.Time{}, farFuture)
	if err != nil || len(got) != 1 {
		t.Errorf("Telemetry from zero time = %d rows, %v; want 1, nil", len(got), err)
	}
}

func testTelemetryRejects(t *testing.T, s store.Store) {
	ctx := t.Context()
	good := store.Telemetry{MinerID: "m1", Status: status(base, 0)}
	bad := []struct {
		name string
		edit func(*store.Telemetry)
	}{
		{"NaN power", func(r *store.Telemetry) { r.Status.Power = energy.Power(math.NaN()) }},
		{"infinite hashrate", func(r *store.Telemetry) { r.Status.Hashrate = energy.Hashrate(math.Inf(1)) }},
		{"NaN temperature", func(r *store.Telemetry) { r.Status.TempMaxC = math.NaN() }},
		{"negative power", func(r *store.Telemetry) { r.Status.Power = -1 }},
		{"zero time", func(r *store.Telemetry) { r.Status.Time = time.Time{} }},
		{"empty miner id", func(r *store.Telemetry) { r.MinerID = "" }},
		{"unknown state", func(r *store.Telemetry) { r.Status.State = "exploded" }},
	}
	for _, b := range bad {
		r := good
		r.Status.Time = base.Add(time.Second)
		b.edit(&r)
		if err := s.AddTelemetry(ctx, []store.Telemetry{good, r}); err == nil {
			t.Errorf("%s: AddTelemetry accepted the row", b.name)
		}
	}
	got, err := s.Telemetry(ctx, "m1", farPast, farFuture)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("rejected calls wrote %d rows, want 0 (all or none)", len(got))
	}
}

func decision(at time.Time, n int) store.Decision {
	d := store.Decision{
		Time:         at,
		Interval:     energy.IntervalOf(at, 15*time.Minute),
		Policy:       "breakeven",
		Price:        -12.5,
		Breakeven:    48.37,
		PlannedPower: energy.Power(3010 * n),
		Reason:       fmt.Sprintf("price below breakeven; %d miners", n),
	}
	if n >= 0 {
		d.Setpoints = make([]store.Setpoint, n)
	}
	for i := range n {
		d.Setpoints[i] = store.Setpoint{MinerID: fmt.Sprintf("m%04d", i), Mode: miner.ModeRun, Power: 3010}
		if i%3 == 1 {
			d.Setpoints[i] = store.Setpoint{MinerID: fmt.Sprintf("m%04d", i), Mode: miner.ModeSleep, Reason: "merit order"}
		}
	}
	return d
}

func testDecisionRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, ok, err := s.LatestDecision(ctx); err != nil || ok {
		t.Fatalf("LatestDecision on empty store = ok %v, %v; want false, nil", ok, err)
	}
	d1 := decision(base, 5)
	d2 := decision(base.Add(15*time.Minute), 0) // empty, non-nil setpoints
	d3 := decision(base.Add(30*time.Minute), -1)
	d3.Setpoints = nil
	d0 := decision(base.Add(-15*time.Minute).In(time.FixedZone("X", 3600)), 2)
	for _, d := range []store.Decision{d1, d3, d0, d2} { // out of time order
		if err := s.AddDecision(ctx, d); err != nil {
			t.Fatalf("AddDecision: %v", err)
		}
	}
	got, err := s.Decisions(ctx, farPast, farFuture)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Decision{d0, d1, d2, d3}, got); diff != "" {
		t.Errorf("Decisions mismatch (-want +got):\n%s", diff)
	}
	for _, d := range got {
		if d.Time.Location() != time.UTC || d.Interval.Start.Location() != time.UTC {
			t.Errorf("decision at %v: times not in UTC", d.Time)
		}
	}
	latest, ok, err := s.LatestDecision(ctx)
	if err != nil || !ok {
		t.Fatalf("LatestDecision = ok %v, %v", ok, err)
	}
	if diff := cmp.Diff(d3, latest); diff != "" {
		t.Errorf("LatestDecision mismatch (-want +got):\n%s", diff)
	}
	// Among equal times the last written wins.
	d4 := decision(d3.Time, 1)
	d4.Reason = "replanned"
	if err := s.AddDecision(ctx, d4); err != nil {
		t.Fatal(err)
	}
	latest, _, err = s.LatestDecision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d4, latest); diff != "" {
		t.Errorf("LatestDecision after equal-time write mismatch (-want +got):\n%s", diff)
	}
	// A decision for a large fleet.
	big := decision(base.Add(time.Hour), 10_000)
	if err := s.AddDecision(ctx, big); err != nil {
		t.Fatal(err)
	}
	latest, _, err = s.LatestDecision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(big, latest); diff != "" {
		t.Errorf("10,000-setpoint decision mismatch (-want +got):\n%s", diff)
	}
}

func testDecisionRejects(t *testing.T, s store.Store) {
	ctx := t.Context()
	bad := []struct {
		name string
		edit func(*store.Decision)
	}{
		{"zero time", func(d *store.Decision) { d.Time = time.Time{} }},
		{"NaN price", func(d *store.Decision) { d.Price = energy.Price(math.NaN()) }},
		{"infinite breakeven", func(d *store.Decision) { d.Breakeven = energy.Price(math.Inf(-1)) }},
		{"empty interval", func(d *store.Decision) { d.Interval.End = d.Interval.Start }},
		{"bad mode", func(d *store.Decision) { d.Setpoints[1].Mode = "turbo" }},
		{"NaN setpoint power", func(d *store.Decision) { d.Setpoints[0].Power = energy.Power(math.NaN()) }},
		{"empty setpoint miner", func(d *store.Decision) { d.Setpoints[0].MinerID = "" }},
	}
	for _, b := range bad {
		d := decision(base, 3)
		b.edit(&d)
		if err := s.AddDecision(ctx, d); err == nil {
			t.Errorf("%s: AddDecision accepted", b.name)
		}
	}
	if _, ok, err := s.LatestDecision(ctx); err != nil || ok {
		t.Errorf("after rejected writes LatestDecision = ok %v, %v; want false, nil", ok, err)
	}
}

// entry settles usage for the 15-minute interval starting at start.
func entry(t *testing.T, start time.Time, wh float64, price energy.Price) ledger.Entry {
	t.Helper()
	u := ledger.Usage{
		Interval: energy.IntervalOf(start, 15*time.Minute),
		Energy:   energy.Energy(wh),
		HashTHs:  wh * 37.1,
		Covered:  14*time.Minute + 59*time.Second,
	}
	e, err := ledger.Settle(u, price, 4.9e-7, 97_123.45)
	if err != nil {
		t.Fatalf("settle: %v", err)
	}
	return e
}

func testLedgerUpsert(t *testing.T, s store.Store) {
	ctx := t.Context()
	start := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	first := entry(t, start, 750_000, 40)
	second := entry(t, start, 600_000, -3.25)
	for _, e := range []ledger.Entry{first, second} {
		if err := s.PutLedger(ctx, e); err != nil {
			t.Fatalf("PutLedger: %v", err)
		}
	}
	got, err := s.Ledger(ctx, farPast, farFuture)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ledger.Entry{second}, got); diff != "" {
		t.Errorf("Ledger after replace mismatch (-want +got):\n%s", diff)
	}
	tot, err := s.LedgerTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want ledger.Totals
	want.Add(second)
	if diff := cmp.Diff(want, tot); diff != "" {
		t.Errorf("LedgerTotals after replace mismatch (-want +got):\n%s", diff)
	}
}

func testLedgerRejects(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := entry(t, base, 1000, 20)
	nan := e
	nan.Energy = energy.Energy(math.NaN())
	empty := e
	empty.Interval.End = empty.Interval.Start
	for name, bad := range map[string]ledger.Entry{"NaN energy": nan, "empty interval": empty} {
		if err := s.PutLedger(ctx, bad); err == nil {
			t.Errorf("%s: PutLedger accepted", name)
		}
	}
	got, err := s.Ledger(ctx, farPast, farFuture)
	if err != nil || len(got) != 0 {
		t.Errorf("after rejected writes Ledger = %d entries, %v; want 0, nil", len(got), err)
	}
}

func testRangesHalfOpen(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	q := 15 * time.Minute
	var rows []store.Telemetry
	for i := range 4 {
		at := t0.Add(time.Duration(i) * q)
		if err := s.PutLedger(ctx, entry(t, at, float64(1000*(i+1)), 30)); err != nil {
			t.Fatal(err)
		}
		if err := s.AddDecision(ctx, decision(at, 1)); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, store.Telemetry{MinerID: "m", Status: status(at, i)})
	}
	if err := s.AddTelemetry(ctx, rows); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		from, to time.Time
		want     []time.Time
	}{
		{"middle", t0.Add(q), t0.Add(3 * q), []time.Time{t0.Add(q), t0.Add(2 * q)}},
		{"end excluded", t0, t0.Add(q), []time.Time{t0}},
		{"one nanosecond", t0.Add(q), t0.Add(q + 1), []time.Time{t0.Add(q)}},
		{"just after start", t0.Add(1), t0.Add(q), nil},
		{"empty range", t0.Add(q), t0.Add(q), nil},
		{"reversed", t0.Add(3 * q), t0, nil},
	}
	for _, tt := range tests {
		led, err := s.Ledger(ctx, tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		tel, err := s.Telemetry(ctx, "m", tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := s.Decisions(ctx, tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		var gotL, gotT, gotD []time.Time
		for _, e := range led {
			gotL = append(gotL, e.Interval.Start)
		}
		for _, r := range tel {
			gotT = append(gotT, r.Status.Time)
		}
		for _, d := range dec {
			gotD = append(gotD, d.Time)
		}
		for _, c := range []struct {
			what string
			got  []time.Time
		}{{"Ledger", gotL}, {"Telemetry", gotT}, {"Decisions", gotD}} {
			if diff := cmp.Diff(tt.want, c.got); diff != "" {
				t.Errorf("%s: %s[%v, %v) mismatch (-want +got):\n%s", tt.name, c.what, tt.from, tt.to, diff)
			}
		}
	}
}

func testTotals(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	var want ledger.Totals
	var entries []ledger.Entry
	for i := range 200 {
		// Whole watt-hours so float energy sums are exact in any order;
		// prices from negative to a scarcity spike, with awkward fractions.
		price := energy.Price(float64(i%37)*7.13 - 60.01)
		if i%50 == 0 {
			price = 4999.99
		}
		e := entry(t, t0.Add(time.Duration(i)*15*time.Minute), float64(700_000+i*1313), price)
		entries = append(entries, e)
		want.Add(e)
		if err := s.PutLedger(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.LedgerTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LedgerTotals mismatch (-want +got):\n%s", diff)
	}
	if got.Net != got.Revenue-got.Cost {
		t.Errorf("totals: net %d != revenue %d - cost %d", got.Net, got.Revenue, got.Cost)
	}
	all, err := s.Ledger(ctx, farPast, farFuture)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(entries, all); diff != "" {
		t.Errorf("Ledger mismatch (-want +got):\n%s", diff)
	}
}

func testEmpty(t *testing.T, s store.Store) {
	ctx := t.Context()
	tot, err := s.LedgerTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ledger.Totals{}, tot); diff != "" {
		t.Errorf("LedgerTotals on empty store mismatch (-want +got):\n%s", diff)
	}
	led, err := s.Ledger(ctx, farPast, farFuture)
	if err != nil || len(led) != 0 {
		t.Errorf("Ledger on empty store = %d, %v; want 0, nil", len(led), err)
	}
	dec, err := s.Decisions(ctx, farPast, farFuture)
	if err != nil || len(dec) != 0 {
		t.Errorf("Decisions on empty store = %d, %v; want 0, nil", len(dec), err)
	}
}

func testCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"AddTelemetry", func() error {
			return s.AddTelemetry(ctx, []store.Telemetry{{MinerID: "m", Status: status(base, 0)}})
		}},
		{"AddDecision", func() error { return s.AddDecision(ctx, decision(base, 2)) }},
		{"PutLedger", func() error { return s.PutLedger(ctx, entry(t, base, 1000, 20)) }},
		{"Ledger", func() error { _, err := s.Ledger(ctx, farPast, farFuture); return err }},
		{"LedgerTotals", func() error { _, err := s.LedgerTotals(ctx); return err }},
		{"Telemetry", func() error { _, err := s.Telemetry(ctx, "m", farPast, farFuture); return err }},
		{"LatestDecision", func() error { _, _, err := s.LatestDecision(ctx); return err }},
		{"Decisions", func() error { _, err := s.Decisions(ctx, farPast, farFuture); return err }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error %v, want context.Canceled", c.name, err)
		}
	}
	// Nothing was written.
	live := t.Context()
	if rows, err := s.Telemetry(live, "m", farPast, farFuture); err != nil || len(rows) != 0 {
		t.Errorf("after cancelled writes Telemetry = %d rows, %v; want 0, nil", len(rows), err)
	}
	if tot, err := s.LedgerTotals(live); err != nil || tot.Intervals != 0 {
		t.Errorf("after cancelled writes LedgerTotals = %+v, %v; want zero", tot, err)
	}
	if _, ok, err := s.LatestDecision(live); err != nil || ok {
		t.Errorf("after cancelled writes LatestDecision ok = %v, %v; want false, nil", ok, err)
	}
}

func testConcurrentWriters(t *testing.T, s store.Store) {
	ctx := t.Context()
	const writers, calls, perCall = 8, 10, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*calls*3+calls) // every send fits: no writer blocks
	for w := range writers {
		wg.Go(func() {
			id := fmt.Sprintf("miner-%d", w)
			for c := range calls {
				rows := make([]store.Telemetry, perCall)
				for i := range rows {
					rows[i] = store.Telemetry{MinerID: id, Status: status(base.Add(time.Duration(c*perCall+i)*time.Second), i)}
				}
				errs <- s.AddTelemetry(ctx, rows)
				at := base.Add(time.Duration(w*calls+c) * 15 * time.Minute)
				errs <- s.PutLedger(ctx, entry(t, at, 1000, 25))
				errs <- s.AddDecision(ctx, decision(at, 3))
			}
		})
	}
	// Readers run alongside the writers.
	wg.Go(func() {
		for range calls {
			_, err := s.LedgerTotals(ctx)
			errs <- err
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent call: %v", err)
		}
	}
	for w := range writers {
		id := fmt.Sprintf("miner-%d", w)
		rows, err := s.Telemetry(ctx, id, farPast, farFuture)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(rows), calls*perCall; got != want {
			t.Errorf("%s: %d telemetry rows, want %d", id, got, want)
		}
	}
	tot, err := s.LedgerTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tot.Intervals, writers*calls; got != want {
		t.Errorf("ledger intervals = %d, want %d", got, want)
	}
	dec, err := s.Decisions(ctx, farPast, farFuture)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(dec), writers*calls; got != want {
		t.Errorf("decisions = %d, want %d", got, want)
	}
}

func testObjects(t *testing.T, s store.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	if _, ok, err := s.Object(ctx, "events", "a"); err != nil || ok {
		t.Fatalf("empty store: ok %v err %v", ok, err)
	}
	for i, id := range []string{"b", "a", "c"} {
		if err := s.PutObject(ctx, "events", id, []byte(fmt.Sprintf(`{"n":%d}`, i)), t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutObject(ctx, "programs", "a", []byte(`{"other":true}`), t0); err != nil {
		t.Fatal(err)
	}
	// Replacing keeps the place and the creation time.
	if err := s.PutObject(ctx, "events", "b", []byte(`{"n":9}`), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	all, err := s.Objects(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range all {
		got = append(got, o.ID+"="+string(o.Body))
	}
	if diff := cmp.Diff([]string{`b={"n":9}`, `a={"n":1}`, `c={"n":2}`}, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	o, ok, err := s.Object(ctx, "events", "b")
	if err != nil || !ok || !o.Created.Equal(t0) || !o.Updated.Equal(t0.Add(time.Hour)) || o.Collection != "events" {
		t.Errorf("object b: %+v ok %v err %v, want created %s updated %s", o, ok, err, t0, t0.Add(time.Hour))
	}
	if ok, err := s.DeleteObject(ctx, "events", "a"); err != nil || !ok {
		t.Errorf("delete a: ok %v err %v", ok, err)
	}
	if ok, err := s.DeleteObject(ctx, "events", "a"); err != nil || ok {
		t.Errorf("delete a twice: ok %v err %v", ok, err)
	}
	if all, _ := s.Objects(ctx, "events"); len(all) != 2 {
		t.Errorf("%d events after a delete, want 2", len(all))
	}
	if p, _ := s.Objects(ctx, "programs"); len(p) != 1 || string(p[0].Body) != `{"other":true}` {
		t.Errorf("programs: %+v", p)
	}
	for _, bad := range []struct{ c, id, body string }{{"", "x", "{}"}, {"events", "", "{}"}, {"events", "x", "{not json"}} {
		if err := s.PutObject(ctx, bad.c, bad.id, []byte(bad.body), t0); err == nil {
			t.Errorf("PutObject(%q, %q, %q) accepted", bad.c, bad.id, bad.body)
		}
	}
}
