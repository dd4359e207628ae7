package site

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/fleet"
	"github.com/gridminer/gridminer/internal/miner"
)

// TestUnderFrequencyTripDropsLoadAndResets: frequency falls below 59.7 Hz:
// the trip sleeps every running machine at once (not at the next poll or
// interval), opens the relay, and the loop keeps them asleep; once
// frequency has been back above 59.95 Hz for the restore time the trip
// resets, closes the relay and the loop runs them again.
func TestUnderFrequencyTripDropsLoadAndResets(t *testing.T) {
	r := newRig(t, 20)
	var hz atomic.Value
	hz.Store(60.0)
	var relay atomic.Int32 // 1 open, 2 closed
	events := make(chan TripEvent, 10)
	cfg := Config{OnStop: Hold, PollEvery: time.Minute, StaleAfter: 10 * time.Minute}
	s := r.site(cfg, flat(t, 10))
	cfg.Trip = &TripConfig{SampleEvery: 5 * time.Second, RestoreAfter: 5 * time.Minute}
	// The rig built s without the meter; rebuild it with one.
	deps := s.deps
	deps.Meter = func(context.Context) (MeterSample, error) {
		return MeterSample{Time: r.clk.Now(), Import: r.sim.TotalPower(), Frequency: hz.Load().(float64), HasFrequency: true}, nil
	}
	deps.Relay = func(_ context.Context, open bool) error {
		if open {
			relay.Store(1)
		} else {
			relay.Store(2)
		}
		return nil
	}
	deps.OnTrip = func(ev TripEvent) { events <- ev }
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
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
		t.Fatalf("first plan: %d running", first.Running)
	}
	hz.Store(59.5)
	ev := <-events
	if ev.Reset || ev.Machines != 20 || ev.Failed != 0 || ev.Frequency != 59.5 || ev.Latency <= 0 {
		t.Fatalf("trip event %+v, want 20 machines dropped at 59.5 Hz", ev)
	}
	if relay.Load() != 1 {
		t.Error("the relay was not opened")
	}
	if got := r.simStates(); got[miner.StateMining] != 0 {
		t.Errorf("simulator right after the trip: %v, want nothing mining", got)
	}
	// The loop's next plan holds them asleep.
	var p dispatch.Plan
	for p = range r.plans {
		if strings.Contains(p.Reason, "under-frequency trip") {
			break
		}
	}
	if p.Running != 0 {
		t.Errorf("plan during the trip: %d running (%s)", p.Running, p.Reason)
	}
	if obj, err := r.store.Objects(context.Background(), "grid.trips"); err != nil || len(obj) != 1 {
		t.Errorf("stored trips: %d, %v", len(obj), err)
	}
	// Recovery: the reset needs RestoreAfter above 59.95 Hz.
	hz.Store(59.9)
	hz.Store(60.0)
	ev = <-events
	if !ev.Reset || ev.Machines != 20 || relay.Load() != 2 {
		t.Fatalf("reset %+v relay %d", ev, relay.Load())
	}
	for p = range r.plans {
		if !strings.Contains(p.Reason, "under-frequency") {
			break
		}
	}
	if p.Running != 20 {
		t.Errorf("after the reset: %d running (%s)", p.Running, p.Reason)
	}
}

// fakeMiner records what it was told (a unit-test fake; the site tests
// above drive real drivers against the simulator).
type fakeMiner struct {
	id    string
	slept atomic.Bool
}

func (f *fakeMiner) Addr() string { return f.id }
func (f *fakeMiner) Capabilities() miner.Capabilities {
	return miner.Capabilities{NominalPower: 3000, NominalHashrate: 100, CanSleep: true}
}
func (f *fakeMiner) Status(context.Context) (miner.Status, error) { return miner.Status{}, nil }
func (f *fakeMiner) Apply(_ context.Context, sp miner.Setpoint) error {
	f.slept.Store(sp.Mode == miner.ModeSleep)
	return nil
}

// TestTripWaitsItsDelayAndShedsTheCommittedLoad: a dip shorter than For
// does not trip; a longer one drops the least efficient machines up to
// Shed, not the others.
func TestTripWaitsItsDelayAndShedsTheCommittedLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewManual(time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC))
		var ms []fleet.Member
		var fakes []*fakeMiner
		var targets []TripTarget
		for i := range 4 {
			f := &fakeMiner{id: fmt.Sprintf("m%d", i)}
			fakes = append(fakes, f)
			ms = append(ms, fleet.Member{ID: f.id, Miner: f})
			targets = append(targets, TripTarget{ID: f.id, Power: 3000, Efficiency: energy.Efficiency(20 + 10*i)})
		}
		inv, err := fleet.NewInventory(ms)
		if err != nil {
			t.Fatal(err)
		}
		var hz atomic.Value
		hz.Store(60.0)
		events := make(chan TripEvent, 4)
		tr, err := NewTrip(TripConfig{For: 300 * time.Millisecond, Shed: 5000}, TripDeps{Clock: clk, Fleet: inv,
			Sample: func(context.Context) (MeterSample, error) {
				return MeterSample{Time: clk.Now(), Frequency: hz.Load().(float64), HasFrequency: true}, nil
			},
			Targets: func() []TripTarget { return targets },
			OnEvent: func(ev TripEvent) { events <- ev }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- tr.Run(ctx) }()
		step := func(n int) {
			for range n {
				synctest.Wait()
				clk.Advance(100 * time.Millisecond)
			}
			synctest.Wait()
		}
		step(3)
		hz.Store(59.6)
		step(2) // 200 ms below: not yet
		hz.Store(59.8)
		step(2)
		if tr.Tripped() != nil {
			t.Fatal("a 200 ms dip tripped a 300 ms relay")
		}
		hz.Store(59.6)
		step(5)
		select {
		case ev := <-events:
			if ev.Machines != 2 || ev.Shed != 6000 {
				t.Errorf("trip %+v, want the two least efficient machines (5 kW committed)", ev)
			}
		default:
			t.Fatal("no trip after 500 ms below 59.7 Hz")
		}
		if !fakes[3].slept.Load() || !fakes[2].slept.Load() || fakes[0].slept.Load() || fakes[1].slept.Load() {
			t.Errorf("slept: %v %v %v %v, want only m2 and m3 (the least efficient)", fakes[0].slept.Load(), fakes[1].slept.Load(), fakes[2].slept.Load(), fakes[3].slept.Load())
		}
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	for _, bad := range []TripConfig{{Below: 5}, {Below: 59.7, Restore: 59}, {Shed: -1}, {SampleEvery: -1}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
