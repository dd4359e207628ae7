package whatsminer_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/whatsminer"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/whatsminersim"
)

// countingDialect counts the v2 requests (one per connection) the
// simulator answers.
type countingDialect struct {
	*whatsminersim.Dialect
	n atomic.Int64
}

func (d *countingDialect) ServeRPC(u *minersim.Miner, in, out []byte) []byte {
	d.n.Add(1)
	return d.Dialect.ServeRPC(u, in, out)
}

// startFleet starts n simulated Whatsminers and returns v2 drivers for
// them built from known capabilities (as the bench does), with the
// request counter.
func startFleet(tb testing.TB, n int) ([]*whatsminer.Miner, *countingDialect) {
	tb.Helper()
	d := &countingDialect{Dialect: whatsminersim.New(whatsminersim.Config{Password: simPassword, MaxTokens: 1 << 30})}
	specs := make([]minersim.MinerSpec, n)
	for i := range specs {
		specs[i] = minersim.MinerSpec{Model: "S21", Seed: int64(i + 1), Dialect: whatsminersim.Name}
	}
	fl, err := minersim.New(minersim.Config{Miners: specs, Dialects: map[string]minersim.Dialect{whatsminersim.Name: d}, Clock: clock.Real{}})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fl.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	select {
	case <-fl.Ready():
	case err := <-done:
		tb.Fatal(err)
	}
	ms := make([]*whatsminer.Miner, n)
	for i, a := range fl.Addrs() {
		m0, err := whatsminer.New(ctx, whatsminer.Config{Addr: a, API: whatsminer.APIV2, Password: simPassword}, whatsminer.Deps{Clock: clock.Real{}})
		if err != nil {
			tb.Fatal(err)
		}
		m, err := whatsminer.NewWithCapabilities(whatsminer.Config{Addr: a, API: whatsminer.APIV2, Password: simPassword}, whatsminer.Deps{Clock: clock.Real{}}, m0.Capabilities())
		if err != nil {
			tb.Fatal(err)
		}
		ms[i] = m
	}
	d.n.Store(0)
	return ms, d
}

func forAll(tb testing.TB, ms []*whatsminer.Miner, fn func(m *whatsminer.Miner) error) {
	tb.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(ms))
	for _, m := range ms {
		wg.Go(func() {
			if err := fn(m); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

// TestRoundTrips counts the requests each operation costs against the
// simulator; it documents the protocol cost and guards against regressions.
func TestRoundTrips(t *testing.T) {
	ms, d := startFleet(t, 1)
	m := ms[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	step := func(name string, want int64, fn func() error) {
		t.Helper()
		d.n.Store(0)
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := d.n.Load(); got != want {
			t.Errorf("%s: %d round trips, want %d", name, got, want)
		}
	}
	status := func() error { _, err := m.Status(ctx); return err }
	step("status", 2, status)
	step("sleep, fresh token", 2, func() error { return m.Apply(ctx, miner.Sleep()) })
	step("status after sleep", 2, status)
	step("wake, token held, state known", 2, func() error { return m.Apply(ctx, miner.Run(0)) })
	step("sleep, token held", 1, func() error { return m.Apply(ctx, miner.Sleep()) })
	m2, err := whatsminer.NewWithCapabilities(whatsminer.Config{Addr: m.Addr(), API: whatsminer.APIV2, Password: simPassword}, whatsminer.Deps{Clock: clock.Real{}}, m.Capabilities())
	if err != nil {
		t.Fatal(err)
	}
	step("wake, fresh driver", 4, func() error { return m2.Apply(ctx, miner.Run(0)) })
}

func BenchmarkFleetStatus200(b *testing.B) {
	ms, d := startFleet(b, 200)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		forAll(b, ms, func(m *whatsminer.Miner) error { _, err := m.Status(ctx); return err })
	}
	b.ReportMetric(float64(d.n.Load())/float64(b.N)/200, "rt/miner")
}

// BenchmarkFleetSleepWake200 runs Apply+Status (as fleet.Execute with
// Verify does) to sleep then wake 200 miners, tokens held after the first.
func BenchmarkFleetSleepWake200(b *testing.B) {
	ms, d := startFleet(b, 200)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		for _, sp := range []miner.Setpoint{miner.Sleep(), miner.Run(0)} {
			forAll(b, ms, func(m *whatsminer.Miner) error {
				if err := m.Apply(ctx, sp); err != nil {
					return err
				}
				_, err := m.Status(ctx)
				return err
			})
		}
	}
	b.ReportMetric(float64(d.n.Load())/float64(b.N)/200, "rt/miner")
}

// BenchmarkFleetSleepFreshToken200 sleeps 200 miners with fresh drivers
// (get_token each) and verifies with Status.
func BenchmarkFleetSleepFreshToken200(b *testing.B) {
	ms, d := startFleet(b, 200)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		forAll(b, ms, func(m *whatsminer.Miner) error {
			f, err := whatsminer.NewWithCapabilities(whatsminer.Config{Addr: m.Addr(), API: whatsminer.APIV2, Password: simPassword}, whatsminer.Deps{Clock: clock.Real{}}, m.Capabilities())
			if err != nil {
				return err
			}
			if err := f.Apply(ctx, miner.Sleep()); err != nil {
				return err
			}
			_, err = f.Status(ctx)
			return err
		})
	}
	b.ReportMetric(float64(d.n.Load())/float64(b.N)/200, "rt/miner")
}

// TestKnownStateExpires checks that Apply(Run) trusts the driver's own
// status read only for a short wall-clock window, then reads again.
func TestKnownStateExpires(t *testing.T) {
	ms, d := startFleet(t, 1)
	wall := clock.NewManual(time.Now())
	m, err := whatsminer.NewWithCapabilities(whatsminer.Config{Addr: ms[0].Addr(), API: whatsminer.APIV2, Password: simPassword},
		whatsminer.Deps{Clock: clock.Real{}, Wall: wall}, ms[0].Capabilities())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Apply(ctx, miner.Sleep()); err != nil { // fetches the token
		t.Fatal(err)
	}
	wall.Advance(11 * time.Second)
	d.n.Store(0)
	if err := m.Apply(ctx, miner.Run(0)); err != nil {
		t.Fatal(err)
	}
	// status read, power_on, set_power_pct
	if got := d.n.Load(); got != 3 {
		t.Errorf("wake after the window: %d round trips, want 3", got)
	}
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.State == miner.StateSleeping || st.State == miner.StateRampingDown {
		t.Errorf("state after wake = %s", st.State)
	}
}
