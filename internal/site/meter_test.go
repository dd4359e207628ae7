package site

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/minersim"
)

// TestMeterLoopCorrectsALyingMiner: under a grid cap the plan sleeps the
// least efficient machines, but two of them lie (they acknowledge sleep,
// report themselves asleep and keep drawing). The meter sees the excess
// and the loop sheds more machines until the metered import is back at
// the plan; the next plan leaves the unaccounted draw out of the cap.
func TestMeterLoopCorrectsALyingMiner(t *testing.T) {
	r := newRig(t, 20)
	type eff struct {
		addr string
		jth  energy.Efficiency
		w    energy.Power
	}
	var effs []eff
	var full energy.Power
	for _, m := range r.inv.Members() {
		c := m.Miner.Capabilities()
		effs = append(effs, eff{m.ID, c.NominalEfficiency(), c.NominalPower})
		full += c.NominalPower
	}
	slices.SortFunc(effs, func(a, b eff) int { return cmp.Compare(b.jth, a.jth) })
	for _, e := range effs[:2] {
		sm, _ := r.sim.Miner(e.addr)
		sm.SetFault(minersim.FaultIgnoreSleep)
	}
	const tol = 500
	samples := make(chan MeterSample, 1000)
	s := r.site(Config{OnStop: Hold, MeterTolerance: tol, PollEvery: 10 * time.Second}, flat(t, 10))
	s.deps.Meter = func(context.Context) (MeterSample, error) {
		m := MeterSample{Time: r.clk.Now(), Import: r.sim.TotalPower()}
		select {
		case samples <- m:
		default:
		}
		return m, nil
	}
	capW := full / 2
	now := r.clk.Now()
	s.deps.Demand = demand.NewSet(nil, demand.Static{{Source: "test", ID: "cap", Kind: demand.Cap, Start: now.Add(-time.Minute), End: now.Add(6 * time.Hour), Power: capW}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	sawExcess, agreed := false, false
	for i := 0; i < 500 && !agreed; i++ {
		var m MeterSample
		select {
		case m = <-samples:
		case err := <-done:
			t.Fatalf("site stopped: %v", err)
		}
		snap := s.Snapshot()
		if snap.Plan.Cap == 0 || !snap.Grid.HasCap {
			continue // before the capped plan
		}
		if m.Import > snap.Plan.Power+tol {
			sawExcess = true
			continue
		}
		if sawExcess && snap.Meter.Shed > 0 {
			agreed = true
		}
	}
	if !sawExcess {
		t.Fatal("the lying machines never showed up at the meter")
	}
	if !agreed {
		t.Fatalf("the meter never agreed with the plan: %+v", s.Snapshot().Meter)
	}
	if got := r.sim.TotalPower(); got > capW+tol {
		t.Errorf("actual draw %v above the %v cap after the meter loop", got, capW)
	}
	if u := s.Snapshot().Meter.Unaccounted; u < effs[0].w/2 {
		t.Errorf("unaccounted %v, want about the liars' draw", u)
	}
	if a := s.Snapshot().Alerts; !slices.ContainsFunc(a, func(a Alert) bool { return a.Kind == AlertUnaccounted }) {
		t.Errorf("alerts %+v, want the unaccounted-draw alert", a)
	}
}

// TestMinersViewAfterAPoll: the site lists every machine with what it last
// reported once it has polled.
func TestMinersViewAfterAPoll(t *testing.T) {
	r := newRig(t, 5)
	s := r.site(Config{OnStop: Hold}, flat(t, 10))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-r.plans
	views := s.Miners()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(views) != 5 {
		t.Fatalf("%d views", len(views))
	}
	for i, v := range views {
		if v.ID != r.inv.Members()[i].ID || v.Power <= 0 || v.Hashrate <= 0 || v.LastOK.IsZero() || v.Model == "" {
			t.Errorf("view %d: %+v", i, v)
		}
	}
}
