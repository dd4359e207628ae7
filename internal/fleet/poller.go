package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
)

// Reading is the outcome of reading one machine.
type Reading struct {
	ID     string
	Status miner.Status // State is StateOffline when Err is set
	Err    error
}

// PollConfig bounds a poll.
type PollConfig struct {
	// Concurrency is the most machines read at once (default 256).
	Concurrency int
	// Timeout is the wall-time deadline of one machine's read (default 3 s).
	Timeout time.Duration
}

func (c PollConfig) withDefaults() PollConfig {
	if c.Concurrency <= 0 {
		c.Concurrency = 256
	}
	if c.Timeout <= 0 {
		c.Timeout = 3 * time.Second
	}
	return c
}

// Poll reads every member once, at most cfg.Concurrency at a time, each
// under its own deadline, and returns one Reading per member in inventory
// order. A failed read yields a Reading with State offline, the time of the
// attempt on clk, and the error; it never delays other reads beyond its
// own deadline. Poll returns early only when ctx ends, with ctx's error.
func Poll(ctx context.Context, inv *Inventory, clk clock.Clock, cfg PollConfig) ([]Reading, error) {
	cfg = cfg.withDefaults()
	members := inv.Members()
	out := make([]Reading, len(members))
	forEach(ctx, len(members), cfg.Concurrency, func(i int) {
		m := members[i]
		cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		st, err := m.Miner.Status(cctx)
		cancel()
		if err != nil {
			st = miner.Status{Time: clk.Now(), State: miner.StateOffline}
		}
		out[i] = Reading{ID: m.ID, Status: st, Err: err}
	})
	if err := ctx.Err(); err != nil {
		return out, fmt.Errorf("fleet poll: %w", err)
	}
	return out, nil
}

// forEach runs fn(i) for i in [0, n) on at most workers goroutines and
// returns when all have finished or ctx ended (indices not yet started are
// then skipped).
func forEach(ctx context.Context, n, workers int, fn func(i int)) {
	if workers > n {
		workers = n
	}
	var (
		wg   sync.WaitGroup
		next = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			i = n
		}
	}
	close(next)
	wg.Wait()
}

// Offline reports whether a reading means the machine could not be read,
// and a short reason for operators.
func (r Reading) Offline() (bool, string) {
	if r.Err == nil {
		return false, ""
	}
	switch {
	case errors.Is(r.Err, context.DeadlineExceeded) || errors.Is(r.Err, os.ErrDeadlineExceeded):
		return true, "timeout"
	case errors.Is(r.Err, miner.ErrUnreachable):
		return true, "unreachable"
	case errors.Is(r.Err, miner.ErrProtocol):
		return true, "bad reply"
	case errors.Is(r.Err, miner.ErrDenied):
		return true, "access denied"
	default:
		return true, "error"
	}
}
