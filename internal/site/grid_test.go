package site

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
	"github.com/gridminer/gridminer/internal/miner"
)

// feed is a demand source the test drives.
type feed chan []demand.Event

func (f feed) Run(ctx context.Context, out chan<- []demand.Event) error {
	for {
		select {
		case evs := <-f:
			select {
			case out <- evs:
			case <-ctx.Done():
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// TestGridEventsReplanAtOnce: a cap event that arrives mid-interval
// re-plans at once under it; a dispatch setpoint holds a floor even at a
// price that would stop the fleet; a SIMPLE level caps by its tier; and
// when the events are withdrawn the site returns to economics.
func TestGridEventsReplanAtOnce(t *testing.T) {
	r := newRig(t, 20)
	var full energy.Power
	for _, m := range r.inv.Members() {
		full += m.Miner.Capabilities().NominalPower
	}
	f := make(feed)
	s := r.site(Config{OnStop: Hold}, flat(t, 10))
	s.deps.Demand = demand.NewSet(nil, f)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	first := <-r.plans
	if first.Running != 20 {
		t.Fatalf("first plan: %d running at $10/MWh (%s)", first.Running, first.Reason)
	}
	// nextPlan skips plans made before the change reached the loop.
	nextPlan := func(want string) dispatch.Plan {
		t.Helper()
		for {
			select {
			case p := <-r.plans:
				if strings.Contains(p.Reason, want) {
					return p
				}
			case err := <-done:
				t.Fatalf("site stopped: %v", err)
			}
		}
	}
	now := r.clk.Now()
	capEv := demand.Event{Source: "test", ID: "cap", Kind: demand.Cap, Start: now.Add(-time.Minute), End: now.Add(time.Hour), Power: full * 4 / 10}
	f <- []demand.Event{capEv}
	p := nextPlan("grid: cap")
	if p.Power > full*4/10 || p.Running > 8 || p.Running == 0 {
		t.Errorf("under a 40%% cap: %d running, %v planned (%s)", p.Running, p.Power, p.Reason)
	}
	if p.Interval != first.Interval && !p.Interval.Start.After(first.Interval.Start) {
		t.Errorf("re-plan interval %s", p.Interval)
	}
	if g := s.Snapshot().Grid; !g.HasCap || g.Cap != full*4/10 {
		t.Errorf("snapshot grid %+v", g)
	}

	// A SIMPLE level 3 (tier 0 W) sleeps everything.
	lvl := demand.Event{Source: "test", ID: "lvl", Kind: demand.Level, Level: 3, Start: now.Add(-time.Minute), End: now.Add(time.Hour)}
	f <- []demand.Event{lvl}
	p = nextPlan("level 3 cap")
	if p.Running != 0 {
		t.Errorf("level 3: %d running (%s)", p.Running, p.Reason)
	}
	// Withdrawn: economics again.
	f <- nil
	for {
		p = <-r.plans
		if !strings.Contains(p.Reason, "grid:") {
			break
		}
	}
	if p.Running != 20 {
		t.Errorf("after the events: %d running (%s)", p.Running, p.Reason)
	}
	if got := r.simStates()[miner.StateMining] + r.simStates()[miner.StateWaking]; got == 0 {
		t.Errorf("simulator after the events: %v", r.simStates())
	}
}

// TestGridSetpointHoldsAFloor: a DISPATCH_SETPOINT-style target keeps
// machines running at a price above their breakeven.
func TestGridSetpointHoldsAFloor(t *testing.T) {
	r := newRig(t, 20)
	var full energy.Power
	for _, m := range r.inv.Members() {
		full += m.Miner.Capabilities().NominalPower
	}
	s := r.site(Config{OnStop: Hold}, flat(t, 5000))
	now := r.clk.Now()
	s.deps.Demand = demand.NewSet(nil, demand.Static{{Source: "test", ID: "sp", Kind: demand.Target, Start: now.Add(-time.Hour), Power: full / 2}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var p dispatch.Plan
	for p = range r.plans {
		if strings.Contains(p.Reason, "setpoint") {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p.Running == 0 || p.Power > full/2 || p.Floor != full/2 {
		t.Errorf("setpoint half the fleet at $5000/MWh: %d running, %v planned, floor %v (%s)", p.Running, p.Power, p.Floor, p.Reason)
	}
}

// TestEventCreditsBaselineVsActual: intervals settled during a cap event
// are credited against the site's draw before the event.
func TestEventCreditsBaselineVsActual(t *testing.T) {
	r := newRig(t, 20)
	var full energy.Power
	for _, m := range r.inv.Members() {
		full += m.Miner.Capabilities().NominalPower
	}
	f := make(feed)
	s := r.site(Config{OnStop: Hold, EventCredit: map[string]float64{"ers-pilot": 250}}, flat(t, 10))
	s.deps.Demand = demand.NewSet(nil, f)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	settled := func() Settlement {
		t.Helper()
		select {
		case st := <-r.settl:
			return st
		case err := <-done:
			t.Fatalf("site stopped: %v", err)
		}
		return Settlement{}
	}
	// Two full intervals at full power: the baseline.
	for settled().Entry.Covered < 14*time.Minute {
	}
	before := settled()
	start := before.Entry.Interval.End
	f <- []demand.Event{{Source: "vtn", ID: "e1", Program: "ers-pilot", Kind: demand.Cap, Start: start, End: start.Add(time.Hour), Power: full / 4}}
	var during Settlement
	for {
		during = settled()
		if during.Entry.Interval.Start.After(start) {
			break // a whole interval inside the event
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	objs, err := r.store.Objects(context.Background(), EventCreditsCollection)
	if err != nil {
		t.Fatal(err)
	}
	var c EventCredit
	for _, o := range objs {
		if err := json.Unmarshal(o.Body, &c); err != nil {
			t.Fatal(err)
		}
		if c.Start.Equal(during.Entry.Interval.Start) {
			break
		}
	}
	if !c.Start.Equal(during.Entry.Interval.Start) {
		t.Fatalf("no credit for %s among %d", during.Entry.Interval, len(objs))
	}
	if c.Event != "vtn/e1" || c.Baseline < full*9/10 || c.Actual > full/4+full/20 || c.Actual != during.Entry.AvgPower {
		t.Errorf("credit %+v, want baseline about %v (before the event) and actual about %v", c, full, full/4)
	}
	wantWh := float64(c.Baseline-c.Actual) * 0.25
	if math.Abs(float64(c.Reduced)-wantWh) > 1e-6 || c.Credit != ledger.Micros(math.Round(c.Reduced.MWh()*250*1e6)) || c.Credit <= 0 {
		t.Errorf("reduced %v credit %v, want %v Wh at $250/MWh", c.Reduced, c.Credit, wantWh)
	}
}

// staleEconomics always fails, as a live source with old inputs does.
type staleEconomics struct{}

func (staleEconomics) Economics(context.Context, time.Time) (bitcoin.Economics, error) {
	return bitcoin.Economics{}, errors.New("chain data 45m old (max 30m): stale")
}

// TestStaleEconomicsGoToTheFailSafe: with no usable bitcoin inputs the
// site applies its configured fail-safe rather than plan on old numbers.
func TestStaleEconomicsGoToTheFailSafe(t *testing.T) {
	r := newRig(t, 10)
	s := r.site(Config{OnStop: Hold, OnStalePrice: SleepAll}, flat(t, 10))
	s.deps.Bitcoin = staleEconomics{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	p := <-r.plans
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p.Policy != "fail-safe:sleep" || p.Running != 0 || !strings.Contains(p.Reason, "bitcoin economics unavailable") {
		t.Errorf("plan %s, %d running: %s", p.Policy, p.Running, p.Reason)
	}
	if a := s.Snapshot().Alerts; len(a) != 1 || a[0].Kind != AlertStaleBitcoin {
		t.Errorf("alerts %+v, want stale-bitcoin alone", a)
	}
}
