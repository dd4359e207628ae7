// Package clock provides the one injected clock that everything in gridminer
// that waits or schedules uses, so a simulated site can run in accelerated
// time and tests can run under testing/synctest.
//
// A Clock reads the time and waits. Real follows the wall clock. Scaled runs
// faster than the wall clock by a constant factor from a chosen origin: the
// demo uses it so that a simulated day passes in minutes. Network deadlines
// and protocol timeouts never use a Clock; they stay on wall time.
package clock

import (
	"context"
	"fmt"
	"time"
)

// Clock reads the current time and waits for spans of its own time.
type Clock interface {
	// Now returns the clock's current time.
	Now() time.Time
	// Sleep waits until d of the clock's time has passed or ctx ends; it
	// returns ctx.Err() in the latter case.
	Sleep(ctx context.Context, d time.Duration) error
	// WallDuration converts a span of clock time into the wall time it takes.
	WallDuration(d time.Duration) time.Duration
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Sleep waits d of wall time or until ctx ends.
func (Real) Sleep(ctx context.Context, d time.Duration) error { return sleep(ctx, d) }

// WallDuration returns d.
func (Real) WallDuration(d time.Duration) time.Duration { return d }

// Scaled is a clock that starts at Origin when created and runs Speed times
// faster than the wall clock.
type Scaled struct {
	origin time.Time
	wall   time.Time // wall-clock reading (with monotonic part) at origin
	speed  float64
}

// NewScaled returns a clock that reads origin now and advances speed seconds
// per wall second. speed must be positive and finite.
func NewScaled(origin time.Time, speed float64) (*Scaled, error) {
	if !(speed > 0) || speed > 1e9 {
		return nil, fmt.Errorf("clock speed %v: must be in (0, 1e9]", speed)
	}
	return &Scaled{origin: origin, wall: time.Now(), speed: speed}, nil
}

// Speed returns the clock's speed relative to the wall clock.
func (c *Scaled) Speed() float64 { return c.speed }

// Now returns the scaled time.
func (c *Scaled) Now() time.Time {
	el := time.Since(c.wall)
	return c.origin.Add(time.Duration(float64(el) * c.speed))
}

// WallDuration returns d divided by the speed.
func (c *Scaled) WallDuration(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.speed)
}

// Sleep waits until d of scaled time has passed or ctx ends.
func (c *Scaled) Sleep(ctx context.Context, d time.Duration) error {
	return sleep(ctx, c.WallDuration(d))
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// SleepUntil waits on c until c.Now() is at or after t, or ctx ends.
func SleepUntil(ctx context.Context, c Clock, t time.Time) error {
	for {
		d := t.Sub(c.Now())
		if d <= 0 {
			return ctx.Err()
		}
		if err := c.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// SleepUntilOr waits like SleepUntil but also returns, with woken true,
// as soon as wake receives. It returns ctx.Err() when ctx ends first.
func SleepUntilOr(ctx context.Context, c Clock, t time.Time, wake <-chan struct{}) (woken bool, err error) {
	if wake == nil {
		return false, SleepUntil(ctx, c, t)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-wake:
			woken = true
			cancel()
		case <-sctx.Done():
		}
	}()
	err = SleepUntil(sctx, c, t)
	cancel()
	<-done
	if woken {
		return true, ctx.Err()
	}
	return false, err
}
