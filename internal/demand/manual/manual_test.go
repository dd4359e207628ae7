package manual

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/energy"
)

var t0 = time.Date(2024, 8, 20, 19, 0, 0, 0, time.UTC) // 14:00 CDT

// lfl is a voluntary LFL curtailment call: cap the site at 0 MW for four
// hours from 16:00 CDT.
func lfl() demand.Event {
	return demand.Event{ID: "lfl-2024-08-20", Kind: demand.Cap, Power: 0, Start: t0.Add(2 * time.Hour), End: t0.Add(6 * time.Hour),
		Name: "ERCOT LFL voluntary curtailment, call at 14:32 CT", Program: "ercot-lfl-voluntary"}
}

func newSource(t *testing.T, path string) (*Source, *clock.Manual) {
	t.Helper()
	clk := clock.NewManual(t0)
	s, err := New(Config{Path: path}, Deps{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func TestAddValidates(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*demand.Event)
		want string
	}{
		{"foreign source", func(e *demand.Event) { e.Source = "openadr3" }, "source"},
		{"bad id", func(e *demand.Event) { e.ID = "a b/c" }, "id"},
		{"unknown kind", func(e *demand.Event) { e.Kind = "shed" }, "unknown kind"},
		{"negative cap", func(e *demand.Event) { e.Power = -energy.Megawatt }, "must not be negative"},
		{"NaN cap", func(e *demand.Event) { e.Power = energy.Power(math.NaN()) }, "not a finite number"},
		{"end before start", func(e *demand.Event) { e.End = e.Start.Add(-time.Minute) }, "not after start"},
		{"already over", func(e *demand.Event) { e.Start, e.End = t0.Add(-2*time.Hour), t0.Add(-time.Hour) }, "not after now"},
		{"level 4", func(e *demand.Event) { e.Kind, e.Level = demand.Level, 4 }, "level 4"},
		{"cancelled", func(e *demand.Event) { e.Cancelled = true }, "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newSource(t, "")
			e := lfl()
			tt.mod(&e)
			if _, err := s.Add(e); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
			if n := len(s.Events()); n != 0 {
				t.Errorf("%d events after a rejected add", n)
			}
		})
	}
	s, _ := newSource(t, "")
	if _, err := s.Add(lfl()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(lfl()); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate id: got %v, want ErrExists", err)
	}
	got, err := s.Add(demand.Event{Kind: demand.Level, Level: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != SourceName || !strings.HasPrefix(got.ID, "m-") || !got.Start.Equal(t0) {
		t.Errorf("defaults: got source %q id %q start %v", got.Source, got.ID, got.Start)
	}
	if _, err := s.Cancel("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel unknown: got %v, want ErrNotFound", err)
	}
}

// TestRunSendsOnChange: Run sends the set at start and after each Add and
// Cancel; a cancelled call stays in the set, withdrawn.
func TestRunSendsOnChange(t *testing.T) {
	s, clk := newSource(t, "")
	out := make(chan []demand.Event)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, out) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	if got := <-out; len(got) != 0 {
		t.Fatalf("initial: %v, want none", got)
	}
	added, err := s.Add(lfl())
	if err != nil {
		t.Fatal(err)
	}
	want := lfl()
	want.Source = SourceName
	if d := cmp.Diff([]demand.Event{want}, <-out); d != "" {
		t.Fatalf("after add (-want +got):\n%s", d)
	}
	clk.Advance(3 * time.Hour) // the call is in force
	if c := demand.Resolve(s.Events(), clk.Now(), nil); !c.HasCap || c.Cap != 0 {
		t.Errorf("resolve in force: %+v, want a 0 W cap", c)
	}
	if _, err := s.Cancel(added.ID); err != nil {
		t.Fatal(err)
	}
	want.Cancelled = true
	if d := cmp.Diff([]demand.Event{want}, <-out); d != "" {
		t.Fatalf("after cancel (-want +got):\n%s", d)
	}
	if c := demand.Resolve(s.Events(), clk.Now(), nil); c.HasCap {
		t.Errorf("resolve after cancel: %+v, want no cap", c)
	}
	if _, err := s.Cancel(added.ID); err != nil {
		t.Errorf("cancel twice: %v", err)
	}
}

// TestPersistence: calls survive a restart, in JSON and YAML; the file is
// replaced atomically (no temporary file left behind).
func TestPersistence(t *testing.T) {
	for _, name := range []string{"calls.json", "calls.yaml"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			s, _ := newSource(t, path)
			a, err := s.Add(lfl())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Add(demand.Event{ID: "price-1", Kind: demand.Price, Price: 1500, Start: t0, End: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Add(demand.Event{ID: "eea-watch", Kind: demand.Level, Level: 1, Start: t0, Priority: 2}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Add(demand.Event{ID: "target", Kind: demand.Target, Power: 12.5 * energy.Megawatt, Start: t0.Add(time.Hour), End: t0.Add(3 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Cancel(a.ID); err != nil {
				t.Fatal(err)
			}
			again, _ := newSource(t, path)
			if d := cmp.Diff(s.Events(), again.Events()); d != "" {
				t.Errorf("reloaded (-saved +loaded):\n%s", d)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only the calls file", len(entries))
			}
		})
	}
}

// TestSaveFailureUndoes: when the file cannot be replaced, Add fails and
// nothing changes.
func TestSaveFailureUndoes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.json")
	s, _ := newSource(t, path)
	if err := os.Mkdir(path, 0o755); err != nil { // a directory where the file goes
		t.Fatal(err)
	}
	if _, err := s.Add(lfl()); err == nil || !strings.Contains(err.Error(), "save calls") {
		t.Fatalf("got %v, want a save error", err)
	}
	if n := len(s.Events()); n != 0 {
		t.Errorf("%d events after a failed save", n)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, file, body, want string
	}{
		{"unknown key", "c.yaml", "events:\n  - id: a\n    kind: cap\n    start: 2024-08-20T16:00:00-05:00\n    mw: 0\n    megawatts: 5\n", "megawatts"},
		{"json unknown key", "c.json", `{"events":[{"id":"a","kind":"cap","start":"2024-08-20T16:00:00-05:00","mw":0,"x":1}]}`, `unknown field "x"`},
		{"zone-less start", "c.json", `{"events":[{"id":"a","kind":"cap","start":"2024-08-20T16:00:00","mw":0}]}`, "want RFC 3339"},
		{"mw on level", "c.json", `{"events":[{"id":"a","kind":"level","start":"2024-08-20T16:00:00Z","level":1,"mw":3}]}`, "mw is for kind cap or target"},
		{"cap without mw", "c.json", `{"events":[{"id":"a","kind":"cap","start":"2024-08-20T16:00:00Z"}]}`, "needs mw"},
		{"duplicate", "c.json", `{"events":[{"id":"a","kind":"level","start":"2024-08-20T16:00:00Z","level":1},{"id":"a","kind":"level","start":"2024-08-20T16:00:00Z","level":2}]}`, "event 2"},
		{"bad extension", "c.txt", "", "want a .json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			if err := os.WriteFile(path, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := New(Config{Path: path}, Deps{Clock: clock.NewManual(t0)})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.file) {
				t.Errorf("got %v, want an error naming %s and containing %q", err, tt.file, tt.want)
			}
		})
	}
	if _, err := New(Config{Path: filepath.Join(t.TempDir(), "missing", "c.json")}, Deps{}); err == nil {
		t.Error("a calls file in a missing directory was accepted")
	}
}

// TestRetention: calls over for longer than Retention drop out at the next
// change.
func TestRetention(t *testing.T) {
	clk := clock.NewManual(t0)
	s, err := New(Config{Retention: time.Hour}, Deps{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(lfl()); err != nil { // ends at t0+6h
		t.Fatal(err)
	}
	clk.Advance(7 * time.Hour)
	if _, err := s.Add(demand.Event{ID: "next", Kind: demand.Level, Level: 1}); err != nil {
		t.Fatal(err)
	}
	got := s.Events()
	if len(got) != 1 || got[0].ID != "next" {
		t.Errorf("got %v, want only the new call", got)
	}
}

func FuzzDecodeFile(f *testing.F) {
	f.Add(false, []byte(`{"events":[{"id":"a","kind":"cap","start":"2024-08-20T16:00:00-05:00","end":"2024-08-20T20:00:00-05:00","mw":0,"reason":"LFL"}]}`))
	f.Add(true, []byte("events:\n  - id: b\n    kind: level\n    start: 2024-08-20T16:00:00Z\n    level: 2\n"))
	f.Add(true, []byte("events:\n  - id: c\n    kind: price\n    start: 2024-08-20T16:00:00Z\n    price: .nan\n"))
	f.Add(false, []byte(`{"events":[{"id":"d","kind":"target","start":"2024-08-20T16:00:00Z","mw":1e400}]}`))
	f.Fuzz(func(t *testing.T, isYAML bool, data []byte) {
		evs, err := decodeFile(data, isYAML)
		if err != nil {
			return
		}
		for _, e := range evs {
			if err := e.Validate(); err != nil {
				t.Fatalf("accepted an invalid event: %v", err)
			}
		}
	})
}
