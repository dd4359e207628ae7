package meter_test

import (
	"context"
	"math"
	"testing"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/meter"
	"github.com/gridminer/gridminer/internal/minersim/metersim"
)

// startSim runs a simulated meter until the test ends and returns it,
// listening.
func startSim(tb testing.TB, cfg metersim.Config) *metersim.Sim {
	tb.Helper()
	sim, err := metersim.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := sim.Listen(); err != nil {
		tb.Fatal(err)
	}
	stop := runSim(tb, sim)
	tb.Cleanup(stop)
	return sim
}

// runSim runs sim and returns a func that stops it and waits for Run to
// return.
func runSim(tb testing.TB, sim *metersim.Sim) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("metersim Run: %v", err)
		}
	}
}

// newMeter returns a meter for cfg, closed when the test ends.
func newMeter(tb testing.TB, cfg meter.Config, opts ...meter.Option) *meter.Meter {
	tb.Helper()
	m, err := meter.New(cfg, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

func constant(p energy.Power) func() energy.Power { return func() energy.Power { return p } }

func ptr[T any](v T) *T { return &v }

// near reports whether got is want to within a relative 1e-6 (float32
// carries about 7 digits) or an absolute 1e-9.
func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-6*math.Abs(want)+1e-9
}
