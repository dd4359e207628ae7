package avalon_test

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/avalon"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/avalonsim"
)

// countingProxy forwards TCP connections to target and counts them: the
// Avalon API takes one request per connection, so a connection is a
// round trip.
type countingProxy struct {
	ln    net.Listener
	conns atomic.Int64
}

func newCountingProxy(t testing.TB, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer s.Close()
				go io.Copy(s, c) // ends when either side closes
				io.Copy(c, s)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return p
}

func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(t0)
	fl := startSim(t, "S19j Pro", clk)
	u, _ := fl.Miner(fl.Addrs()[0])
	p := newCountingProxy(t, u.Addr())
	m, err := avalon.New(ctx, avalon.Config{Addr: p.ln.Addr().String(), Timeout: 5 * time.Second}, avalon.Deps{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	fresh := func() *avalon.Miner { // a driver that has read nothing yet
		m, err := avalon.NewWithCapabilities(avalon.Config{Addr: p.ln.Addr().String(), Timeout: 5 * time.Second}, avalon.Deps{Clock: clk}, m.Capabilities())
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// count runs op and returns how many round trips it took.
	count := func(op func() error) int64 {
		t.Helper()
		n0 := p.conns.Load()
		if err := op(); err != nil {
			t.Fatal(err)
		}
		return p.conns.Load() - n0
	}
	status := func(m *avalon.Miner) func() error {
		return func() error { _, err := m.Status(ctx); return err }
	}
	applyVerify := func(m *avalon.Miner, sp miner.Setpoint, want miner.State) func() error {
		return func() error {
			if err := m.Apply(ctx, sp); err != nil {
				return err
			}
			st, err := m.Status(ctx)
			if err == nil && want != "" && st.State != want {
				t.Errorf("after %s: %s, want %s", sp, st.State, want)
			}
			return err
		}
	}
	steps := []struct {
		name string
		op   func() error
		want int64
	}{
		{"status", status(m), 1},
		{"sleep after a status", applyVerify(m, miner.Sleep(), miner.StateRampingDown), 2},
		{"sleep again (read, nothing to send)", applyVerify(m, miner.Sleep(), miner.StateRampingDown), 2},
		{"wake right after the sleep's timestamp (read)", applyVerify(m, miner.Run(0), ""), 3},
		{"sleep a second after a status", func() error { clk.Advance(time.Second); return applyVerify(m, miner.Sleep(), "")() }, 2},
		{"wake a second after a status", func() error { clk.Advance(time.Second); return applyVerify(m, miner.Run(0), "")() }, 2},
		{"sleep, fresh driver", applyVerify(fresh(), miner.Sleep(), miner.StateRampingDown), 3},
	}
	for _, s := range steps {
		if got := count(s.op); got != s.want {
			t.Errorf("%s: %d round trips, want %d", s.name, got, s.want)
		}
	}
	// An old reading is not trusted: Apply reads afresh.
	m.Status(ctx)
	clk.Advance(time.Minute)
	if got := count(applyVerify(m, miner.Run(0), "")); got != 3 {
		t.Errorf("wake a minute after the last status: %d round trips, want 3", got)
	}
}

// benchFleet starts n Avalon miners and drivers for them.
func benchFleet(b *testing.B, n int) []*avalon.Miner {
	clk := clock.Real{}
	specs := make([]minersim.MinerSpec, n)
	for i := range specs {
		specs[i] = minersim.MinerSpec{Model: "S19j Pro", Seed: int64(i + 1), Dialect: avalonsim.Name}
	}
	fl, err := minersim.New(minersim.Config{
		Miners:   specs,
		Dialects: map[string]minersim.Dialect{avalonsim.Name: avalonsim.New()},
		Clock:    clk,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fl.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	select {
	case <-fl.Ready():
	case err := <-done:
		b.Fatal(err)
	}
	ms := make([]*avalon.Miner, n)
	for i, a := range fl.Addrs() {
		if ms[i], err = avalon.New(ctx, avalon.Config{Addr: a}, avalon.Deps{Clock: clk}); err != nil {
			b.Fatal(err)
		}
	}
	return ms
}

// each runs op on every miner, 32 at a time.
func each(b *testing.B, ms []*avalon.Miner, op func(*avalon.Miner) error) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, m := range ms {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := op(m); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
}

// BenchmarkLoopback measures, per op, a Status of 200 miners and a
// sleep-or-wake (Apply then Status) of 200 miners right after a poll,
// over loopback TCP against the simulator.
func BenchmarkLoopback(b *testing.B) {
	const n = 200
	ctx := context.Background()
	ms := benchFleet(b, n)
	status := func(m *avalon.Miner) error { _, err := m.Status(ctx); return err }
	b.Run("status", func(b *testing.B) {
		for b.Loop() {
			each(b, ms, status)
		}
	})
	b.Run("apply+status", func(b *testing.B) {
		sps := [2]miner.Setpoint{miner.Sleep(), miner.Run(0)}
		i := 0
		for b.Loop() {
			b.StopTimer()
			each(b, ms, status) // the poll before a dispatch
			b.StartTimer()
			sp := sps[i%2]
			i++
			each(b, ms, func(m *avalon.Miner) error {
				if err := m.Apply(ctx, sp); err != nil {
					return err
				}
				return status(m)
			})
		}
	})
}
