package meter

import (
	"context"
	"fmt"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
)

// Run reads the meter every period on the meter's clock, from the moment
// it starts, and hands each good reading to out (called on Run's
// goroutine, so a slow out delays the next sample). Ticks are fixed
// (start + k·every): a read that overruns skips the ticks it missed rather
// than bunching samples. Failed reads are logged, on the first failure and
// on recovery, and skipped: a consumer notices a dead meter by the age of
// the last Reading. Run closes the connection and returns nil when ctx
// ends; it returns an error only for a period that is not positive.
func (m *Meter) Run(ctx context.Context, every time.Duration, out func(Reading)) error {
	if every <= 0 {
		return fmt.Errorf("meter %s: poll period %v: must be positive", m.cfg.Address, every)
	}
	defer m.Close()
	start := m.clock.Now()
	next := start
	failures := 0
	for {
		if err := clock.SleepUntil(ctx, m.clock, next); err != nil {
			return nil
		}
		r, err := m.Read(ctx)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case err != nil:
			failures++
			if failures == 1 {
				m.log.Warn("meter read failed", "meter", m.cfg.Address, "err", err)
			} else {
				m.log.Debug("meter read failed", "meter", m.cfg.Address, "failures", failures, "err", err)
			}
		default:
			if failures > 0 {
				m.log.Info("meter read recovered", "meter", m.cfg.Address, "failures", failures)
				failures = 0
			}
			out(r)
		}
		next = nextTick(start, every, next, m.clock.Now())
	}
}

// nextTick returns the tick after prev, or, if that has passed by now, the
// first tick after now: ticks fall on start + k·every.
func nextTick(start time.Time, every time.Duration, prev, now time.Time) time.Time {
	n := prev.Add(every)
	if n.After(now) {
		return n
	}
	k := now.Sub(start)/every + 1
	return start.Add(k * every)
}
