package site

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/fleet"
	"github.com/gridminer/gridminer/internal/miner"
)

// TripConfig is the software under-frequency relay: it sits beside the
// site's hardware relay and, when grid frequency stays below Below for
// For, puts the committed load to sleep at once, bypassing the interval
// loop, and optionally opens a relay output.
type TripConfig struct {
	// Below is the trip threshold (default 59.7 Hz, ERCOT's UFR setting).
	Below float64
	// For is how long frequency must stay below Below (default 0: the
	// first sample below trips, as a UFR relay set with no delay would).
	For time.Duration
	// Restore is the frequency at or above which the trip may reset
	// (default 59.95 Hz), after RestoreAfter of samples there (default 10
	// minutes, ERCOT's minimum before a tripped load may return).
	Restore      float64
	RestoreAfter time.Duration
	// SampleEvery is the clock time between frequency samples (default
	// 100 ms).
	SampleEvery time.Duration
	// Shed is the committed load to drop (W of machine draw); 0 drops
	// every running machine. Least efficient machines go first.
	Shed energy.Power
}

func (c TripConfig) withDefaults() TripConfig {
	if c.Below == 0 {
		c.Below = 59.7
	}
	if c.Restore == 0 {
		c.Restore = 59.95
	}
	if c.RestoreAfter == 0 {
		c.RestoreAfter = 10 * time.Minute
	}
	if c.SampleEvery == 0 {
		c.SampleEvery = 100 * time.Millisecond
	}
	return c
}

// Validate checks the thresholds.
func (c TripConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case !(c.Below > 50 && c.Below < 70):
		return fmt.Errorf("under-frequency trip: below %v Hz: want a grid frequency (50-70 Hz)", c.Below)
	case !(c.Restore > c.Below && c.Restore < 70):
		return fmt.Errorf("under-frequency trip: restore %v Hz: want above the trip threshold %v Hz", c.Restore, c.Below)
	case c.For < 0 || c.RestoreAfter < 0 || c.SampleEvery <= 0:
		return errors.New("under-frequency trip: durations must not be negative and the sample period must be positive")
	case c.Shed < 0:
		return fmt.Errorf("under-frequency trip: shed %v must not be negative", c.Shed)
	}
	return nil
}

// TripTarget is a machine the trip may drop: its draw and efficiency.
type TripTarget struct {
	ID         string
	Power      energy.Power
	Efficiency energy.Efficiency
}

// TripEvent reports one trip (or its reset).
type TripEvent struct {
	At        time.Time // clock time of the triggering sample
	Frequency float64
	Reset     bool // true: frequency recovered and the trip reset
	Machines  int  // machines commanded to sleep
	Failed    int  // of which commands failed
	Shed      energy.Power
	// Latency is the wall time from the triggering sample's read to every
	// commanded machine's acknowledgement (or failure).
	Latency  time.Duration
	RelayErr string
}

// TripDeps are what the trip uses.
type TripDeps struct {
	Clock  clock.Clock
	Logger *slog.Logger
	Fleet  *fleet.Inventory
	Exec   fleet.ExecConfig
	// Sample reads the grid frequency (the site meter).
	Sample func(ctx context.Context) (MeterSample, error)
	// Targets returns the machines running now, to choose from.
	Targets func() []TripTarget
	// Relay, if set, opens (true) or closes (false) the relay output.
	Relay func(ctx context.Context, open bool) error
	// OnEvent, if set, is called after each trip and reset.
	OnEvent func(TripEvent)
}

// Trip is the software under-frequency relay. Run samples; Tripped says
// which machines it holds asleep. Safe for concurrent use.
type Trip struct {
	cfg  TripConfig
	deps TripDeps
	log  *slog.Logger

	mu      sync.Mutex
	tripped map[string]bool
	last    TripEvent
}

// NewTrip validates cfg and returns the relay.
func NewTrip(cfg TripConfig, deps TripDeps) (*Trip, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Clock == nil || deps.Fleet == nil || deps.Sample == nil || deps.Targets == nil {
		return nil, errors.New("under-frequency trip: needs a clock, a fleet, a frequency sample and targets")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Trip{cfg: cfg.withDefaults(), deps: deps, log: deps.Logger}, nil
}

// Tripped returns the machines the trip holds asleep (nil when reset).
func (t *Trip) Tripped() map[string]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tripped
}

// Last returns the last trip or reset.
func (t *Trip) Last() TripEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// Run samples the frequency every SampleEvery until ctx ends. A failed
// sample is logged and does not trip (the hardware relay is the backstop).
func (t *Trip) Run(ctx context.Context) error {
	clk := t.deps.Clock
	var below, above time.Time // when the current run of samples began
	next := clk.Now()
	for {
		if err := clock.SleepUntil(ctx, clk, next); err != nil {
			return nil
		}
		next = next.Add(t.cfg.SampleEvery)
		if now := clk.Now(); next.Before(now) {
			next = now // never queue up missed samples
		}
		s, err := t.deps.Sample(ctx)
		read := time.Now()
		if err != nil || !s.HasFrequency {
			if ctx.Err() != nil {
				return nil
			}
			t.log.Warn("under-frequency trip: no frequency sample", "err", err)
			below, above = time.Time{}, time.Time{}
			continue
		}
		now := clk.Now()
		tripped := t.Tripped() != nil
		switch {
		case !tripped && s.Frequency < t.cfg.Below:
			if below.IsZero() {
				below = now
			}
			if now.Sub(below) >= t.cfg.For {
				t.trip(ctx, s, read)
				below = time.Time{}
			}
		case !tripped:
			below = time.Time{}
		case s.Frequency >= t.cfg.Restore:
			if above.IsZero() {
				above = now
			}
			if now.Sub(above) >= t.cfg.RestoreAfter {
				t.reset(ctx, s)
				above = time.Time{}
			}
		default:
			above = time.Time{}
		}
	}
}

// trip drops the committed load: sleep commands to the least efficient
// running machines up to Shed (all when 0), at once, and the relay.
func (t *Trip) trip(ctx context.Context, s MeterSample, read time.Time) {
	targets := t.deps.Targets()
	slices.SortStableFunc(targets, func(a, b TripTarget) int { return cmp.Compare(b.Efficiency, a.Efficiency) })
	var cmds []fleet.Command
	ids := map[string]bool{}
	var shed energy.Power
	for _, m := range targets {
		if t.cfg.Shed > 0 && shed >= t.cfg.Shed {
			break
		}
		cmds = append(cmds, fleet.Command{ID: m.ID, Setpoint: miner.Sleep()})
		ids[m.ID] = true
		shed += m.Power
	}
	t.mu.Lock()
	t.tripped = ids
	t.mu.Unlock()
	ev := TripEvent{At: s.Time, Frequency: s.Frequency, Machines: len(cmds), Shed: shed}
	var relayErr error
	var wg sync.WaitGroup
	if t.deps.Relay != nil {
		wg.Go(func() { relayErr = t.deps.Relay(ctx, true) })
	}
	outs := fleet.Execute(ctx, t.deps.Fleet, cmds, t.deps.Exec)
	ev.Latency = time.Since(read)
	wg.Wait()
	for _, o := range outs {
		if o.Err != nil {
			ev.Failed++
		}
	}
	if relayErr != nil {
		ev.RelayErr = relayErr.Error()
	}
	t.log.Error("UNDER-FREQUENCY TRIP: committed load dropped", "hz", s.Frequency, "below", t.cfg.Below,
		"machines", ev.Machines, "failed", ev.Failed, "shed", shed.String(), "latency", ev.Latency, "relay_err", ev.RelayErr)
	t.finish(ev)
}

// reset releases the machines to the interval loop and closes the relay.
func (t *Trip) reset(ctx context.Context, s MeterSample) {
	t.mu.Lock()
	n := len(t.tripped)
	t.tripped = nil
	t.mu.Unlock()
	ev := TripEvent{At: s.Time, Frequency: s.Frequency, Reset: true, Machines: n}
	if t.deps.Relay != nil {
		if err := t.deps.Relay(ctx, false); err != nil {
			ev.RelayErr = err.Error()
		}
	}
	t.log.Warn("under-frequency trip reset: frequency recovered", "hz", s.Frequency, "after", t.cfg.RestoreAfter, "machines", n)
	t.finish(ev)
}

func (t *Trip) finish(ev TripEvent) {
	t.mu.Lock()
	t.last = ev
	t.mu.Unlock()
	if t.deps.OnEvent != nil {
		t.deps.OnEvent(ev)
	}
}
