package site

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/fleet"
	"github.com/gridminer/gridminer/internal/ledger"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/luxos"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/store/sqlite"
)

// These tests run the real loop end to end: virtual LuxOS miners over real
// TCP, the real driver, a real SQLite file, on an accelerated clock. They
// synchronise on settled intervals, never on sleeps.

var origin = time.Date(2024, 7, 15, 5, 0, 0, 0, time.UTC)

type rig struct {
	t     *testing.T
	clk   *clock.Scaled
	sim   *minersim.Fleet
	inv   *fleet.Inventory
	store *sqlite.Store
	settl chan Settlement
	plans chan dispatch.Plan
}

func newRig(t *testing.T, n int) *rig {
	t.Helper()
	return newRigAt(t, n, 1800) // 15 minutes in half a second
}

func newRigAt(t *testing.T, n int, speed float64) *rig {
	t.Helper()
	clk, err := clock.NewScaled(origin, speed)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := minersim.New(minersim.Config{Miners: minersim.DefaultMix(n), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-sim.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	var ms []fleet.Member
	for _, a := range sim.Addrs() {
		m, err := luxos.New(context.Background(), luxos.Config{Addr: a, Timeout: 5 * time.Second}, luxos.Deps{Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, fleet.Member{ID: a, Miner: m})
	}
	inv, err := fleet.NewInventory(ms)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "site.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &rig{t: t, clk: clk, sim: sim, inv: inv, store: st, settl: make(chan Settlement, 100), plans: make(chan dispatch.Plan, 100)}
}

// flat returns a price source quoting p for every interval of two days
// around origin.
func flat(t *testing.T, p energy.Price) price.Source {
	t.Helper()
	var s price.Schedule
	start := origin.Add(-24 * time.Hour)
	for i := 0; i < 2*24*4; i++ {
		iv, _ := energy.NewInterval(start.Add(time.Duration(i)*15*time.Minute), start.Add(time.Duration(i+1)*15*time.Minute))
		s = append(s, price.Point{Interval: iv, Price: p})
	}
	src, err := price.NewStatic(s)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (r *rig) site(cfg Config, prices price.Source) *Site {
	r.t.Helper()
	return r.siteWithLog(cfg, prices, nil)
}

func (r *rig) siteWithLog(cfg Config, prices price.Source, log *slog.Logger) *Site {
	r.t.Helper()
	if cfg.StaleAfter == 0 {
		// Wall-time network latency is magnified by the fast clock; these
		// tests are not about staleness, so allow a loaded machine plenty.
		cfg.StaleAfter = 10 * time.Minute
	}
	pol, err := dispatch.NewBreakeven(dispatch.BreakevenConfig{})
	if err != nil {
		r.t.Fatal(err)
	}
	s, err := New(cfg, Deps{
		Clock: r.clk, Logger: log, Fleet: r.inv, Policy: pol, Prices: prices,
		Bitcoin: StaticEconomics(bitcoin.DemoEconomics()), Store: r.store,
		OnSettle: func(st Settlement) { r.settl <- st },
		OnPlan:   func(p dispatch.Plan) { r.plans <- p },
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// runUntil runs s until k intervals have settled, then stops it and waits.
func (r *rig) runUntil(s *Site, k int) []Settlement {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var got []Settlement
	for len(got) < k {
		select {
		case st := <-r.settl:
			got = append(got, st)
		case err := <-done:
			r.t.Fatalf("site stopped early: %v", err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		r.t.Fatal(err)
	}
	return got
}

func (r *rig) simStates() map[miner.State]int {
	out := map[miner.State]int{}
	for _, m := range r.sim.Miners() {
		out[m.Snapshot().State]++
	}
	return out
}

func TestCheapPowerRunsEverythingAndLedgerReconciles(t *testing.T) {
	r := newRig(t, 30)
	s := r.site(Config{OnStop: Hold}, flat(t, 10))
	got := r.runUntil(s, 2)
	// Both full intervals ran at the flat $10/MWh with all 30 machines mining.
	for _, st := range got {
		if st.Entry.Price != 10 {
			t.Errorf("interval %s settled at %v, want $10/MWh", st.Entry.Interval, st.Entry.Price)
		}
		if st.Counts[miner.StateMining] != 30 {
			t.Errorf("interval %s: %d mining, want 30 (%v)", st.Entry.Interval, st.Counts[miner.StateMining], st.Counts)
		}
		if st.Entry.Energy <= 0 || st.Entry.Revenue <= 0 || st.Entry.BTC <= 0 {
			t.Errorf("interval %s: energy %v revenue %v btc %v; want all positive", st.Entry.Interval, st.Entry.Energy, st.Entry.Revenue, st.Entry.BTC)
		}
	}
	// The stored ledger reconciles with the totals to the micro-dollar.
	entries, err := r.store.Ledger(context.Background(), origin.Add(-time.Hour), origin.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var sum ledger.Totals
	for _, e := range entries {
		sum.Add(e)
	}
	tot, err := r.store.LedgerTotals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Net != tot.Net || sum.Cost != tot.Cost || sum.Revenue != tot.Revenue || sum.Intervals != tot.Intervals {
		t.Errorf("stored entries sum to %+v, totals say %+v", sum, tot)
	}
	if tot.Intervals < 2 {
		t.Errorf("%d intervals stored, want at least 2", tot.Intervals)
	}
	if tot.Net != tot.Revenue-tot.Cost {
		t.Errorf("net %v != revenue %v - cost %v", tot.Net, tot.Revenue, tot.Cost)
	}
	// Every machine's power is what the simulator itself says it drew: the
	// ledger's average power matches the fleet's ground truth within 5%.
	truth := r.sim.TotalPower()
	if avg := got[len(got)-1].Entry.AvgPower; avg < truth*0.95 || avg > truth*1.05 {
		t.Errorf("ledger average power %v, simulator says %v", avg, truth)
	}
}

func TestExpensivePowerSleepsEverythingAndStopLeavesState(t *testing.T) {
	r := newRig(t, 30)
	s := r.site(Config{OnStop: RunAll}, flat(t, 900))
	got := r.runUntil(s, 1)
	if n := got[0].Counts[miner.StateSleeping] + got[0].Counts[miner.StateRampingDown]; n != 30 {
		t.Errorf("at $900/MWh %d of 30 machines asleep, want all (%v)", n, got[0].Counts)
	}
	dec, ok, err := r.store.LatestDecision(context.Background())
	if err != nil || !ok {
		t.Fatalf("latest decision: %v, %v", ok, err)
	}
	if len(dec.Setpoints) != 30 {
		t.Errorf("decision has %d setpoints, want 30", len(dec.Setpoints))
	}
	for _, sp := range dec.Setpoints {
		if sp.Mode != miner.ModeSleep {
			t.Errorf("decision for %s: %s, want sleep", sp.MinerID, sp.Mode)
		}
	}
	// OnStop is run: every machine was commanded awake as the loop stopped,
	// which its own state shows (waking or mining).
	for st, n := range r.simStates() {
		if st != miner.StateWaking && st != miner.StateMining {
			t.Errorf("after stop %d machines %s, want all waking or mining", n, st)
		}
	}
}

func TestStalePriceFallsBackToFailSafe(t *testing.T) {
	r := newRig(t, 10)
	empty, err := price.NewStatic(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := r.site(Config{OnStalePrice: SleepAll, OnStop: Hold}, empty)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	// No interval can settle without prices; wait for the first plan.
	<-r.plans
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	dec, ok, err := r.store.LatestDecision(context.Background())
	if err != nil || !ok {
		t.Fatalf("latest decision: %v, %v", ok, err)
	}
	if !strings.HasPrefix(dec.Policy, "fail-safe:sleep") || !strings.Contains(dec.Reason, "no price") {
		t.Errorf("decision policy %q reason %q, want the sleep fail-safe for a missing price", dec.Policy, dec.Reason)
	}
	for st, n := range r.simStates() {
		if st != miner.StateSleeping && st != miner.StateRampingDown {
			t.Errorf("%d machines %s under the sleep fail-safe", n, st)
		}
	}
	if a := s.Snapshot().Alerts; len(a) != 1 || a[0].Kind != AlertStalePrice || !strings.Contains(a[0].Message, "fail-safe sleep") {
		t.Errorf("alerts %+v, want the stale-price alert", a)
	}
}

func TestRestartMidIntervalKeepsEarlierEnergy(t *testing.T) {
	r := newRig(t, 10)
	prices := flat(t, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	a := r.site(Config{OnStop: Hold}, prices)
	go func() { done <- a.Run(ctx) }()
	first := <-r.settl
	iv := energy.IntervalOf(first.Entry.Interval.End, 15*time.Minute)
	// Run A meters the first 7 minutes of iv, then stops.
	if err := clock.SleepUntil(context.Background(), r.clk, iv.Start.Add(7*time.Minute)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for len(r.settl) > 0 {
		<-r.settl // A's own settlements, including its partial iv
	}
	stored, err := r.store.Ledger(context.Background(), iv.Start, iv.End)
	if err != nil || len(stored) != 1 {
		t.Fatalf("after run A: %d entries for %s, %v; want A's partial one", len(stored), iv, err)
	}
	partA := stored[0].Covered

	// Run B starts where A stopped and completes iv.
	startB := r.clk.Now()
	b := r.site(Config{OnStop: Hold}, prices)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() { done <- b.Run(ctx) }()
	var got Settlement
	for got.Entry.Interval != iv || got.Entry.Covered < iv.End.Sub(startB)-time.Minute {
		got = <-r.settl
	}
	cancel()
	<-done
	onlyB := iv.End.Sub(startB)
	if got.Entry.Covered <= onlyB+partA/2 {
		t.Errorf("%s covered %s after the restart; run A metered %s and run B at most %s, so A's part was lost",
			iv, got.Entry.Covered, partA, onlyB)
	}
	if got.Entry.Covered > iv.Duration() {
		t.Errorf("%s covered %s, more than the interval", iv, got.Entry.Covered)
	}
	tot, err := r.store.LedgerTotals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if final := b.Snapshot().Totals; final != tot {
		t.Errorf("run B's totals %+v, the store says %+v", final, tot)
	}
}

// events is a slog handler that signals each "commands sent" record's why.
type events struct{ ch chan string }

func (h events) Enabled(context.Context, slog.Level) bool { return true }
func (h events) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h events) WithGroup(string) slog.Handler            { return h }
func (h events) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "commands sent" {
		return nil
	}
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "why" {
			select {
			case h.ch <- a.Value.String():
			default:
			}
		}
		return true
	})
	return nil
}

func TestReconcileResleepsAMachineWokenBehindItsBack(t *testing.T) {
	r := newRigAt(t, 5, 600) // an hour in six seconds
	ev := events{ch: make(chan string, 16)}
	// One-hour intervals: no new plan comes during the test, so only
	// reconciliation can put the machine back to sleep.
	s := r.siteWithLog(Config{Interval: time.Hour, OnStop: Hold}, flat(t, 900), slog.New(ev))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	plan := <-r.plans
	if plan.Sleeping != 5 {
		t.Fatalf("plan at $900/MWh sleeps %d of 5", plan.Sleeping)
	}
	// Someone wakes one machine by hand, past its ramp time plus grace.
	if err := clock.SleepUntil(ctx, r.clk, r.clk.Now().Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	victim := r.sim.Addrs()[2]
	m, err := luxos.New(ctx, luxos.Config{Addr: victim, Timeout: 5 * time.Second}, luxos.Deps{Clock: r.clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(ctx, miner.Run(0)); err != nil {
		t.Fatal(err)
	}
	// Wait for the loop to reconcile (a poll or two after the wake), on
	// the loop's own clock; give up after 40 simulated minutes, before the
	// hour's next plan could mend it instead.
	giveUp := make(chan struct{})
	go func() {
		_ = clock.SleepUntil(ctx, r.clk, r.clk.Now().Add(40*time.Minute))
		close(giveUp)
	}()
	for reconciled := false; !reconciled; {
		select {
		case why := <-ev.ch:
			reconciled = why == "reconcile"
		case <-giveUp:
			t.Fatal("no reconciliation within 40 simulated minutes of a machine contradicting its setpoint")
		}
	}
	sm, _ := r.sim.Miner(victim)
	if st := sm.Snapshot().State; st != miner.StateRampingDown && st != miner.StateSleeping {
		t.Errorf("after reconciliation the woken machine is %s, want asleep again", st)
	}
}
