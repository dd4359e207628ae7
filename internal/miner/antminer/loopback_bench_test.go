package antminer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/antminer"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/antminersim"
)

const benchMiners = 200

// benchFleet starts benchMiners simulated Antminers and returns their
// addresses, web addresses and capabilities.
func benchFleet(b *testing.B) (addrs, web []string, caps []miner.Capabilities) {
	b.Helper()
	specs := make([]minersim.MinerSpec, benchMiners)
	for i := range specs {
		specs[i] = minersim.MinerSpec{Model: "S19j Pro", Seed: int64(i + 1), Dialect: antminersim.Name}
	}
	fl, err := minersim.New(minersim.Config{
		Miners:   specs,
		Dialects: map[string]minersim.Dialect{antminersim.Name: antminersim.New(antminersim.Config{})},
		Clock:    clock.Real{},
		// Ramps far shorter than an iteration, so each op starts settled.
		WakeRamp: time.Millisecond, SleepRamp: time.Millisecond,
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
	addrs = fl.Addrs()
	for _, a := range addrs {
		web = append(web, webAddr(b, fl, a))
	}
	caps = make([]miner.Capabilities, len(addrs))
	for i := range addrs {
		m, err := antminer.New(ctx, antminer.Config{Addr: addrs[i], WebAddr: web[i]}, antminer.Deps{Clock: clock.Real{}})
		if err != nil {
			b.Fatal(err)
		}
		caps[i] = m.Capabilities()
	}
	return addrs, web, caps
}

func benchDrivers(b *testing.B, addrs, web []string, caps []miner.Capabilities, bufs *cgminer.BufferPool) []*antminer.Miner {
	ms := make([]*antminer.Miner, len(addrs))
	for i := range addrs {
		m, err := antminer.NewWithCapabilities(antminer.Config{Addr: addrs[i], WebAddr: web[i]}, antminer.Deps{Clock: clock.Real{}, Buffers: bufs}, caps[i])
		if err != nil {
			b.Fatal(err)
		}
		ms[i] = m
	}
	return ms
}

// forAll runs fn on every miner, 32 at a time.
func forAll(b *testing.B, ms []*antminer.Miner, fn func(m *antminer.Miner) error) {
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, m := range ms {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(m); err != nil {
				mu.Lock()
				first = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
}

func statusOK(ctx context.Context, m *antminer.Miner, states ...miner.State) error {
	st, err := m.Status(ctx)
	if err != nil {
		return err
	}
	for _, s := range states {
		if st.State == s {
			return nil
		}
	}
	return &stateErr{st.State}
}

type stateErr struct{ s miner.State }

func (e *stateErr) Error() string { return "unexpected state " + string(e.s) }

// BenchmarkLoopbackPoll is one poll (Status of every miner) of
// benchMiners simulated miners over loopback, simulator included.
func BenchmarkLoopbackPoll(b *testing.B) {
	addrs, web, caps := benchFleet(b)
	ms := benchDrivers(b, addrs, web, caps, &cgminer.BufferPool{})
	ctx := context.Background()
	for b.Loop() {
		forAll(b, ms, func(m *antminer.Miner) error { _, err := m.Status(ctx); return err })
	}
}

// BenchmarkLoopbackSleepWake is a sleep then a wake of every miner, each
// confirmed by a Status read-back, with drivers kept between operations.
func BenchmarkLoopbackSleepWake(b *testing.B) {
	addrs, web, caps := benchFleet(b)
	ms := benchDrivers(b, addrs, web, caps, &cgminer.BufferPool{})
	ctx := context.Background()
	for b.Loop() {
		forAll(b, ms, func(m *antminer.Miner) error {
			if err := m.Apply(ctx, miner.Sleep()); err != nil {
				return err
			}
			return statusOK(ctx, m, miner.StateSleeping, miner.StateRampingDown)
		})
		forAll(b, ms, func(m *antminer.Miner) error {
			if err := m.Apply(ctx, miner.Run(0)); err != nil {
				return err
			}
			return statusOK(ctx, m, miner.StateMining, miner.StateWaking)
		})
	}
}

// BenchmarkLoopbackSleepWakeFresh is BenchmarkLoopbackSleepWake with new
// drivers (no digest nonce, no connection, no known mode) for each
// operation, as after a controller restart.
func BenchmarkLoopbackSleepWakeFresh(b *testing.B) {
	addrs, web, caps := benchFleet(b)
	bufs := &cgminer.BufferPool{}
	ctx := context.Background()
	for b.Loop() {
		ms := benchDrivers(b, addrs, web, caps, bufs)
		forAll(b, ms, func(m *antminer.Miner) error {
			if err := m.Apply(ctx, miner.Sleep()); err != nil {
				return err
			}
			return statusOK(ctx, m, miner.StateSleeping, miner.StateRampingDown)
		})
		ms = benchDrivers(b, addrs, web, caps, bufs)
		forAll(b, ms, func(m *antminer.Miner) error {
			if err := m.Apply(ctx, miner.Run(0)); err != nil {
				return err
			}
			return statusOK(ctx, m, miner.StateMining, miner.StateWaking)
		})
	}
}
