package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
)

// Command is a setpoint for one machine.
type Command struct {
	ID       string
	Setpoint miner.Setpoint
}

// Outcome is what happened when a command was carried out.
type Outcome struct {
	ID       string
	Setpoint miner.Setpoint
	Attempts int          // Apply calls made
	Err      error        // nil when the command was accepted (and verified, if asked)
	Verified bool         // the machine's own status reply confirmed the command
	Status   miner.Status // the read-back status, when verification ran
}

// ExecConfig bounds how commands are carried out.
type ExecConfig struct {
	// Concurrency is the most machines commanded at once (default 256).
	Concurrency int
	// Timeout is the wall-time deadline of one Apply or read-back (default 5 s).
	Timeout time.Duration
	// Retries is how many more times a command is tried after a failure
	// that may be transient (unreachable, timeout, bad reply). Default 2;
	// negative means none. Rejections and unsupported commands are not retried.
	Retries int
	// Backoff is the wall-time wait before the first retry; it doubles for
	// each further retry (default 200 ms). It is a network retry delay, so
	// it stays on wall time even when the site runs on an accelerated clock.
	Backoff time.Duration
	// Verify reads each machine back after its command is accepted and
	// fails the outcome (wrapping ErrNotConfirmed) if the machine's state
	// does not show the command taking effect.
	Verify bool
}

func (c ExecConfig) withDefaults() ExecConfig {
	if c.Concurrency <= 0 {
		c.Concurrency = 256
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Retries == 0 {
		c.Retries = 2
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.Backoff <= 0 {
		c.Backoff = 200 * time.Millisecond
	}
	return c
}

// ErrNotConfirmed is returned in an Outcome when the command was accepted
// but the machine's read-back state does not show it.
var ErrNotConfirmed = errors.New("command not confirmed by read-back")

// ErrUnknownMiner is returned in an Outcome for a command naming a machine
// not in the inventory.
var ErrUnknownMiner = errors.New("no such miner in the fleet")

// Execute carries out cmds, at most cfg.Concurrency at a time, and returns
// one Outcome per command in the order given. It returns when every command
// has succeeded or failed for good, or when ctx ends.
func Execute(ctx context.Context, inv *Inventory, cmds []Command, cfg ExecConfig) []Outcome {
	cfg = cfg.withDefaults()
	out := make([]Outcome, len(cmds))
	forEach(ctx, len(cmds), cfg.Concurrency, func(i int) {
		out[i] = execOne(ctx, inv, cmds[i], cfg)
	})
	for i := range out {
		if out[i].ID == "" { // never started: ctx ended first
			out[i] = Outcome{ID: cmds[i].ID, Setpoint: cmds[i].Setpoint, Err: fmt.Errorf("%s: %w", cmds[i].ID, ctx.Err())}
		}
	}
	return out
}

func execOne(ctx context.Context, inv *Inventory, c Command, cfg ExecConfig) Outcome {
	o := Outcome{ID: c.ID, Setpoint: c.Setpoint}
	m, ok := inv.Get(c.ID)
	if !ok {
		o.Err = fmt.Errorf("%s: %w", c.ID, ErrUnknownMiner)
		return o
	}
	backoff := cfg.Backoff
	for {
		o.Attempts++
		actx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		err := m.Miner.Apply(actx, c.Setpoint)
		cancel()
		if err == nil {
			break
		}
		o.Err = err
		if !transient(err) || o.Attempts > cfg.Retries || ctx.Err() != nil {
			return o
		}
		if (clock.Real{}).Sleep(ctx, backoff) != nil {
			return o
		}
		backoff *= 2
	}
	o.Err = nil
	if !cfg.Verify {
		return o
	}
	vctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	st, err := m.Miner.Status(vctx)
	cancel()
	if err != nil {
		o.Err = fmt.Errorf("%s: read back after %s: %w", c.ID, c.Setpoint, err)
		return o
	}
	o.Status = st
	if !Confirms(st, c.Setpoint) {
		o.Err = fmt.Errorf("%s: %s: state %s: %w", c.ID, c.Setpoint, st.State, ErrNotConfirmed)
		return o
	}
	o.Verified = true
	return o
}

// Confirms reports whether status st shows setpoint sp taking effect: a
// sleep is confirmed by a machine ramping down or asleep, a run by one
// waking or mining. A power target is confirmed when the machine reports a
// target at or below the one asked (profiles round down), if it reports one.
func Confirms(st miner.Status, sp miner.Setpoint) bool {
	switch sp.Mode {
	case miner.ModeSleep:
		return st.State == miner.StateSleeping || st.State == miner.StateRampingDown
	case miner.ModeRun:
		if st.State != miner.StateMining && st.State != miner.StateWaking {
			return false
		}
		if sp.Power > 0 && st.PowerTarget > 0 && st.PowerTarget > sp.Power {
			return false
		}
		return true
	}
	return false
}

func transient(err error) bool {
	return errors.Is(err, miner.ErrUnreachable) || errors.Is(err, miner.ErrProtocol) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
}
