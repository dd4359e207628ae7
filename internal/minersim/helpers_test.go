package minersim

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
)

// fakeClock is a manually advanced clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

var _ clock.Clock = (*fakeClock)(nil)

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2024, 5, 14, 15, 20, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.Advance(d)
	return ctx.Err()
}

func (c *fakeClock) WallDuration(d time.Duration) time.Duration { return d }

// startFleet runs a fleet for the test's lifetime and waits until it listens.
func startFleet(t testing.TB, cfg Config) *Fleet {
	t.Helper()
	f, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-f.Ready():
	case err := <-done:
		t.Fatalf("Run ended before ready: %v", err)
	}
	return f
}

// rawQuery sends req and returns every byte until the server closes.
func rawQuery(t testing.TB, addr, req string) ([]byte, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	return io.ReadAll(c)
}

// query sends req and returns the reply without its NUL; it fails the test
// unless the reply ends with exactly one NUL and the server closed.
func query(t testing.TB, addr, req string) string {
	t.Helper()
	b, err := rawQuery(t, addr, req)
	if err != nil {
		t.Fatalf("query %q to %s: %v", req, addr, err)
	}
	if len(b) == 0 || b[len(b)-1] != 0 {
		t.Fatalf("query %q: reply does not end with NUL: %q", req, b)
	}
	return string(b[:len(b)-1])
}
