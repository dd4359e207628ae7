package clock

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestScaledUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		origin := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
		c, err := NewScaled(origin, 288)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.WallDuration(24 * time.Hour); got != 300*time.Second {
			t.Fatalf("a day takes %v of wall time, want 5m0s", got)
		}
		if err := c.Sleep(context.Background(), time.Hour); err != nil {
			t.Fatal(err)
		}
		if got := c.Now().Sub(origin); got != time.Hour {
			t.Errorf("after sleeping 1h of scaled time the clock advanced %v", got)
		}
		if err := SleepUntil(context.Background(), c, origin.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := c.Now().Sub(origin); got < 3*time.Hour {
			t.Errorf("SleepUntil returned early at +%v", got)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := c.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep on a cancelled context = %v", err)
		}
	})
}

func TestNewScaledRejectsBadSpeed(t *testing.T) {
	for _, s := range []float64{0, -1, 2e9} {
		if _, err := NewScaled(time.Now(), s); err == nil {
			t.Errorf("speed %v accepted", s)
		}
	}
}

func TestManual(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewManual(t0)
	woke := make(chan error, 1)
	go func() { woke <- m.Sleep(context.Background(), time.Minute) }()
	// The sleeper registers before or after this Advance; either way it
	// must not wake until a full minute has passed.
	m.Advance(30 * time.Second)
	select {
	case err := <-woke:
		t.Fatalf("woke after 30s of a 1m sleep: %v", err)
	default:
	}
	for {
		m.Advance(30 * time.Second)
		select {
		case err := <-woke:
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Now().Sub(t0); got < time.Minute {
				t.Errorf("woke at +%v", got)
			}
			m.Set(t0) // never backwards
			if m.Now().Before(t0.Add(time.Minute)) {
				t.Error("Set moved the clock backwards")
			}
			return
		default:
		}
	}
}

func TestSleepUntilOr(t *testing.T) {
	m := NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	wake := make(chan struct{}, 1)
	wake <- struct{}{}
	woken, err := SleepUntilOr(context.Background(), m, m.Now().Add(time.Hour), wake)
	if !woken || err != nil {
		t.Fatalf("a pending wake: woken %v err %v", woken, err)
	}
	// Without a wake the deadline ends the wait.
	synctest.Test(t, func(t *testing.T) {
		m := NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		done := make(chan bool)
		go func() {
			w, _ := SleepUntilOr(context.Background(), m, m.Now().Add(time.Minute), make(chan struct{}))
			done <- w
		}()
		synctest.Wait()
		m.Advance(time.Minute)
		if <-done {
			t.Error("the deadline reported a wake")
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := SleepUntilOr(ctx, m, m.Now().Add(time.Minute), make(chan struct{})); err == nil {
		t.Error("a cancelled context did not end the wait")
	}
}
