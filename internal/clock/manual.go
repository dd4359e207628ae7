package clock

import (
	"context"
	"sync"
	"time"
)

// Manual is a clock that moves only when told to (Advance or Set), for
// tests that need deterministic time alongside real network I/O (where
// testing/synctest cannot be used). Sleep returns when the clock has been
// moved far enough or ctx ends. Safe for concurrent use.
type Manual struct {
	mu      sync.Mutex
	now     time.Time
	waiters []manualWaiter
}

type manualWaiter struct {
	until time.Time
	ch    chan struct{}
}

// NewManual returns a Manual clock reading t.
func NewManual(t time.Time) *Manual { return &Manual{now: t} }

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the clock forward by d and wakes sleepers whose time came.
func (m *Manual) Advance(d time.Duration) { m.Set(m.Now().Add(d)) }

// Set moves the clock to t (never backwards) and wakes sleepers whose time came.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	if t.After(m.now) {
		m.now = t
	}
	keep := m.waiters[:0]
	for _, w := range m.waiters {
		if !w.until.After(m.now) {
			close(w.ch)
		} else {
			keep = append(keep, w)
		}
	}
	m.waiters = keep
	m.mu.Unlock()
}

// Sleep waits until the clock has advanced by d or ctx ends.
func (m *Manual) Sleep(ctx context.Context, d time.Duration) error {
	m.mu.Lock()
	if d <= 0 {
		m.mu.Unlock()
		return ctx.Err()
	}
	w := manualWaiter{until: m.now.Add(d), ch: make(chan struct{})}
	m.waiters = append(m.waiters, w)
	m.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WallDuration returns d: a manual clock has no relation to wall time.
func (m *Manual) WallDuration(d time.Duration) time.Duration { return d }
