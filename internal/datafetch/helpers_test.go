package datafetch

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recClock is a clock.Clock for tests: it reads a fixed time and returns
// from Sleep at once, recording the waits asked for.
type recClock struct {
	now time.Time
	mu  sync.Mutex
	d   []time.Duration
}

func (c *recClock) Now() time.Time { return c.now }

func (c *recClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.d = append(c.d, d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *recClock) WallDuration(d time.Duration) time.Duration { return d }

func (c *recClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.d...)
}

// logWriter sends progress lines to the test log and keeps them.
type logWriter struct {
	t  testing.TB
	mu sync.Mutex
	b  strings.Builder
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// testNet returns a Net whose waits are recorded, not taken, and whose
// progress goes to the test log; "today" is 2026-06-01 UTC.
func testNet(t testing.TB) (Net, *recClock, *logWriter) {
	c := &recClock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	lw := &logWriter{t: t}
	return Net{Clock: c, Progress: lw}, c, lw
}

// request is one request a test server saw.
type request struct {
	path, query, userAgent string
}

// recorder wraps a handler and keeps the requests it served.
type recorder struct {
	h    http.Handler
	mu   sync.Mutex
	reqs []request
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, request{path: req.URL.Path, query: req.URL.RawQuery, userAgent: req.UserAgent()})
	r.mu.Unlock()
	r.h.ServeHTTP(w, req)
}

func (r *recorder) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dirEntries lists the names in dir.
func dirEntries(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func mustDate(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
