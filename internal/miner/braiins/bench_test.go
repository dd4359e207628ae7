package braiins_test

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/braiins"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/braiinssim"
)

// rpcCounter counts the unary calls a driver makes, by method.
type rpcCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *rpcCounter) option() grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		c.mu.Lock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[method]++
		c.mu.Unlock()
		return inv(ctx, method, req, reply, cc, opts...)
	})
}

// take returns the calls counted since the last take and resets them.
func (c *rpcCounter) take() (total int, by map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	by, c.n = c.n, nil
	for _, v := range by {
		total += v
	}
	return total, by
}

// benchFleet runs n braiins miners on a manual clock until tb ends.
func benchFleet(tb testing.TB, n int, clk clock.Clock) *minersim.Fleet {
	tb.Helper()
	specs := make([]minersim.MinerSpec, n)
	for i := range specs {
		specs[i] = minersim.MinerSpec{Model: minersimModel, Seed: int64(i + 1), Dialect: braiinssim.Name}
	}
	fl, err := minersim.New(minersim.Config{
		Miners:   specs,
		Dialects: map[string]minersim.Dialect{braiinssim.Name: braiinssim.New(braiinssim.Config{Password: simPassword})},
		Clock:    clk,
	})
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
	return fl
}

func dialAll(tb testing.TB, fl *minersim.Fleet, clk clock.Clock, opts ...grpc.DialOption) []*braiins.Miner {
	tb.Helper()
	var ms []*braiins.Miner
	for _, a := range fl.Addrs() {
		m, err := braiins.New(context.Background(), braiins.Config{Addr: grpcAddr(fl, a), Password: simPassword},
			braiins.Deps{Clock: clk, DialOptions: opts})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { m.Close() })
		ms = append(ms, m)
	}
	return ms
}

// each runs f on every miner concurrently and fails tb on the first error.
func each(tb testing.TB, ms []*braiins.Miner, f func(m *braiins.Miner) error) {
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for _, m := range ms {
		wg.Go(func() {
			if err := f(m); err != nil {
				failed.CompareAndSwap(nil, &err)
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		tb.Fatal(*p)
	}
}

// applyVerify is what fleet.Execute with Verify does: Apply, then Status.
func applyVerify(sp miner.Setpoint) func(m *braiins.Miner) error {
	return func(m *braiins.Miner) error {
		if err := m.Apply(context.Background(), sp); err != nil {
			return err
		}
		_, err := m.Status(context.Background())
		return err
	}
}

func readStatus(m *braiins.Miner) error {
	_, err := m.Status(context.Background())
	return err
}

const benchMiners = 200

// cpuTime is the process's user+system CPU time (driver and simulator
// both run in it).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs f b.N times and reports CPU time per iteration.
func loop(b *testing.B, f func()) {
	c0 := cpuTime()
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkFleetStatus polls 200 miners once per iteration over loopback
// gRPC (client and simulator CPU both count).
func BenchmarkFleetStatus(b *testing.B) {
	clk := clock.NewManual(t0)
	ms := dialAll(b, benchFleet(b, benchMiners, clk), clk)
	loop(b, func() { each(b, ms, readStatus) })
}

// BenchmarkFleetSleepWake sleeps and wakes (Run(0)) 200 miners per
// iteration, each Apply followed by its Status read-back, after a poll, as
// `gridminer bench fleet` does with sessions held.
func BenchmarkFleetSleepWake(b *testing.B) {
	clk := clock.NewManual(t0)
	ms := dialAll(b, benchFleet(b, benchMiners, clk), clk)
	loop(b, func() {
		each(b, ms, readStatus)
		each(b, ms, applyVerify(miner.Sleep()))
		clk.Advance(2 * time.Minute)
		each(b, ms, readStatus)
		each(b, ms, applyVerify(miner.Run(0)))
		clk.Advance(2 * time.Minute)
	})
}

// TestRoundTrips counts the calls per Status, per sleep and per wake (each
// with its read-back), with sessions held and after a poll.
func TestRoundTrips(t *testing.T) {
	clk := clock.NewManual(t0)
	var c rpcCounter
	m := dialAll(t, benchFleet(t, 1, clk), clk, c.option())[0]
	c.take()
	steps := []struct {
		name string
		f    func(m *braiins.Miner) error
		want int
	}{
		{"status", readStatus, 5},
		{"sleep+status", applyVerify(miner.Sleep()), 1 + 5},
		{"status", readStatus, 5},
		{"wake+status", applyVerify(miner.Run(0)), 1 + 5}, // no SetDefaultPowerTarget: the status showed the default
	}
	for _, s := range steps {
		if err := s.f(m); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Minute)
		n, by := c.take()
		t.Logf("%s: %d calls %v", s.name, n, by)
		if n != s.want {
			t.Errorf("%s: %d calls, want %d", s.name, n, s.want)
		}
	}
}

// TestKnownStateSkipsCommands checks that Apply skips a resume and a
// target the last Status showed in effect, only while that is fresh on
// the wall clock, and that a change made behind the driver's back is
// caught by the read-back and corrected on the next attempt.
func TestKnownStateSkipsCommands(t *testing.T) {
	clk, wall := clock.NewManual(t0), clock.NewManual(t0)
	fl := benchFleet(t, 1, clk)
	sim := fl.Miners()[0]
	var c rpcCounter
	m, err := braiins.New(context.Background(), braiins.Config{Addr: grpcAddr(fl, fl.Addrs()[0]), Password: simPassword},
		braiins.Deps{Clock: clk, Wall: wall, DialOptions: []grpc.DialOption{c.option()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx := context.Background()
	const (
		resume     = "/braiins.bos.v1.ActionsService/ResumeMining"
		setDefault = "/braiins.bos.v1.PerformanceService/SetDefaultPowerTarget"
		setTarget  = "/braiins.bos.v1.PerformanceService/SetPowerTarget"
	)
	apply := func(sp miner.Setpoint) map[string]int {
		t.Helper()
		c.take()
		if err := m.Apply(ctx, sp); err != nil {
			t.Fatal(err)
		}
		_, by := c.take()
		return by
	}
	wantCalls := func(step string, got map[string]int, want ...string) {
		t.Helper()
		w := map[string]int{}
		for _, k := range want {
			w[k]++
		}
		if len(got) != len(w) {
			t.Errorf("%s: calls %v, want %v", step, got, w)
			return
		}
		for k, v := range w {
			if got[k] != v {
				t.Errorf("%s: calls %v, want %v", step, got, w)
			}
		}
	}
	if _, err := m.Status(ctx); err != nil {
		t.Fatal(err)
	}
	wantCalls("run(0) after a status showing mining at the default", apply(miner.Run(0)))

	caps := m.Capabilities()
	mid := (caps.MinPower + caps.MaxPower) / 2
	wantCalls("run(mid)", apply(miner.Run(mid)), setTarget)
	wantCalls("run(mid) again", apply(miner.Run(mid)))
	wantCalls("run(0) after run(mid)", apply(miner.Run(0)), setDefault)

	wantCalls("sleep", apply(miner.Sleep()), "/braiins.bos.v1.ActionsService/PauseMining")
	wantCalls("run(0) after sleep", apply(miner.Run(0)), resume)

	wall.Advance(time.Minute) // known state goes stale
	wantCalls("run(0) with stale known state", apply(miner.Run(0)), resume, setDefault)

	// Paused behind the driver's back: the first Run is a no-op, the
	// read-back shows it paused, and the next attempt resumes.
	sim.Sleep()
	wantCalls("run(0) while paused behind its back", apply(miner.Run(0)))
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != miner.StateRampingDown && st.State != miner.StateSleeping {
		t.Fatalf("read-back state %s, want ramping down or sleeping", st.State)
	}
	wantCalls("run(0) after the read-back", apply(miner.Run(0)), resume)
	if got := sim.Snapshot().State; got == miner.StateSleeping || got == miner.StateRampingDown {
		t.Errorf("simulator %s after the retry, want waking or mining", got)
	}
}
