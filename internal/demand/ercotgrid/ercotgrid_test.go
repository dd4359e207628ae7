package ercotgrid

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/energy"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file string
		want Reading
	}{
		{"normal.json", Reading{Time: time.Unix(1719865862, 0).UTC(), Condition: Normal, State: "normal", Title: "Normal Conditions",
			Note: "There is enough power for current demand.", PRC: 9876 * energy.Megawatt, HasPRC: true}},
		{"conservation.json", Reading{Time: time.Unix(1719874870, 0).UTC(), Condition: Conservation, State: "conservation", Title: "Conservation Appeal",
			Note: "ERCOT is asking Texans to voluntarily conserve power.", PRC: 3412 * energy.Megawatt, HasPRC: true}},
		{"eea2.json", Reading{Time: time.Unix(1719880820, 0).UTC(), Condition: EEA2, EEALevel: 2, State: "emergency", Title: "Energy Emergency Level 2",
			Note: "Energy Emergency Level 2: reserves continue to be low. Conserve energy.", PRC: 2104 * energy.Megawatt, HasPRC: true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Parse(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParseErrorsAndTexts(t *testing.T) {
	bad := []struct{ name, body, want string }{
		{"malformed fixture", "", "not the daily-prc.json document: unexpected EOF"},
		{"eea level text", `{"current_condition":{"eea_level":"two","state":"normal"}}`, `eea_level "two"`},
		{"truncated", `{"current_condition":{"state":"normal"`, "not the daily-prc.json"},
		{"no condition", `{"lastUpdated":"2024-07-01 15:31:02-0500","data":[]}`, "no current_condition"},
		{"level 4", `{"current_condition":{"eea_level":4,"state":"x"}}`, "eea_level 4"},
		{"negative prc", `{"current_condition":{"state":"normal","prc_value":"-5"}}`, "prc_value"},
		{"NaN prc", `{"current_condition":{"state":"normal","prc_value":"NaN"}}`, "prc_value"},
		{"bad lastUpdated", `{"lastUpdated":"yesterday","current_condition":{"state":"normal"}}`, "lastUpdated"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.body == "" {
				body = fixture(t, "malformed.json")
			}
			_, err := Parse(body)
			if !errors.Is(err, ErrBadReading) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrBadReading containing %q", err, tt.want)
			}
		})
	}
	texts := []struct {
		eea          int
		state, title string
		want         Condition
	}{
		{0, "normal", "Normal Conditions", Normal},
		{0, "watch", "Weather Watch", Watch},
		{0, "", "Conservation Appeal", Conservation},
		{0, "emergency", "Energy Emergency Level 3", EEA3},
		{0, "eea1", "", EEA1},
		{0, "emergency", "Energy Emergency", EEA1},
		{2, "normal", "", EEA2},
		{0, "restoration", "", Unknown},
	}
	for _, tt := range texts {
		if got := classify(tt.eea, tt.state, tt.title); got != tt.want {
			t.Errorf("classify(%d, %q, %q) = %s, want %s", tt.eea, tt.state, tt.title, got, tt.want)
		}
	}
	r, err := Parse([]byte(`{"lastUpdated":"2024-07-01 15:31:02-0500","current_condition":{"state":"normal","prc_value":12345.5,"datetime":null}}`))
	if err != nil || !r.Time.Equal(time.Date(2024, 7, 1, 20, 31, 2, 0, time.UTC)) || r.PRC != 12345.5*energy.Megawatt {
		t.Errorf("lastUpdated and numeric PRC: got %+v, %v", r, err)
	}
}

// feed serves one fixture at a time, or an HTTP error.
type feed struct {
	mu     sync.Mutex
	body   []byte
	status int
}

func (f *feed) set(body []byte, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body, f.status = body, status
}

func (f *feed) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status != 0 {
		w.WriteHeader(f.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(f.body)
}

// sleepClock is a manual clock that reports each sleep's deadline before
// waiting for it, so a test knows the source is between polls before it
// moves time on.
type sleepClock struct {
	*clock.Manual
	sleeping chan time.Time
}

func (c *sleepClock) Sleep(ctx context.Context, d time.Duration) error {
	until := c.Now().Add(d)
	select {
	case c.sleeping <- until:
	case <-ctx.Done():
		return ctx.Err()
	}
	return clock.SleepUntil(ctx, c.Manual, until)
}

// syncBuffer is a log sink safe for the source's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type rig struct {
	feed    *feed
	clk     *sleepClock
	out     chan []demand.Event
	logs    *syncBuffer
	src     *Source
	pending *time.Time // the deadline of the sleep the source is in
}

// newRig starts a source polling a feed that serves initial.
func newRig(t *testing.T, cfg Config, initial []byte) *rig {
	f := &feed{body: initial}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	r := &rig{feed: f, clk: &sleepClock{Manual: clock.NewManual(time.Date(2024, 7, 1, 20, 0, 0, 0, time.UTC)), sleeping: make(chan time.Time)},
		out: make(chan []demand.Event), logs: &syncBuffer{}}
	cfg.URL = srv.URL + "/api/1/services/read/dashboards/daily-prc.json"
	src, err := New(cfg, Deps{HTTP: srv.Client(), Clock: r.clk, Logger: slog.New(slog.NewTextHandler(r.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r.src = src
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, r.out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// idle waits until the source is between polls.
func (r *rig) idle() {
	if r.pending == nil {
		u := <-r.clk.sleeping
		r.pending = &u
	}
}

// step moves the clock to the source's next poll and waits for the poll to
// finish, returning the set it sends (when send is true).
func (r *rig) step(send bool) []demand.Event {
	r.idle()
	r.clk.Set(*r.pending)
	r.pending = nil
	var got []demand.Event
	if send {
		got = <-r.out
	}
	r.idle()
	return got
}

// TestNormalEEA2Normal drives Normal → EEA2 → Normal on a manual clock:
// the EEA2 event starts at the poll that first sees it, is open-ended while
// in force, ends at the poll that sees Normal again, and drops out after
// Keep.
func TestNormalEEA2Normal(t *testing.T) {
	r := newRig(t, Config{Interval: time.Minute, Keep: time.Hour}, fixture(t, "normal.json"))
	if got := <-r.out; len(got) != 0 {
		t.Fatalf("normal: got %v, want no events", got)
	}
	r.feed.set(fixture(t, "eea2.json"), 0)
	got := r.step(true)
	start := r.clk.Now()
	want := demand.Event{Source: SourceName, ID: "condition-eea2-20240701T200100Z", Program: Program,
		Name: "ERCOT EEA2: Energy Emergency Level 2", Kind: demand.Level, Level: 2, Start: start}
	if d := cmp.Diff([]demand.Event{want}, got); d != "" {
		t.Fatalf("eea2 (-want +got):\n%s", d)
	}
	r.step(false) // still EEA2: no change, nothing sent
	r.feed.set(fixture(t, "normal_later.json"), 0)
	got = r.step(true)
	want.End = r.clk.Now()
	if d := cmp.Diff([]demand.Event{want}, got); d != "" {
		t.Fatalf("cleared (-want +got):\n%s", d)
	}
	if !want.End.Equal(start.Add(2 * time.Minute)) {
		t.Errorf("end %v, want two polls after start %v", want.End, start)
	}
	c := demand.Resolve(r.src.Events(), start.Add(time.Minute), demand.DefaultTiers(100*energy.Megawatt))
	if !c.HasCap || c.Cap != 50*energy.Megawatt {
		t.Errorf("resolve during EEA2: %+v, want the level 2 tier", c)
	}
	for range 59 {
		r.step(false)
	}
	if got := r.step(true); len(got) != 0 {
		t.Errorf("after keep: got %v, want the ended event dropped", got)
	}
}

// TestStaleKeepsEEA: failed polls never end an emergency; after StaleAfter
// failures an error is logged; a fresh reading clears it.
func TestStaleKeepsEEA(t *testing.T) {
	r := newRig(t, Config{Interval: time.Minute, StaleAfter: 3}, fixture(t, "eea2.json"))
	first := <-r.out
	if len(first) != 1 || first[0].Level != 2 || !first[0].End.IsZero() {
		t.Fatalf("got %v, want one open EEA2 event", first)
	}
	r.feed.set(nil, http.StatusServiceUnavailable)
	r.step(false)
	r.feed.set(fixture(t, "malformed.json"), 0)
	r.step(false)
	r.feed.set(nil, http.StatusBadGateway)
	r.step(false)
	st := r.src.Status()
	if st.Failures != 3 || !st.Stale || st.Err == nil {
		t.Errorf("status: %+v, want 3 failures, stale", st)
	}
	if !strings.Contains(r.logs.String(), "level=ERROR") || !strings.Contains(r.logs.String(), "stale") {
		t.Errorf("logs lack the stale error:\n%s", r.logs.String())
	}
	if got := r.src.Events(); len(got) != 1 || !got[0].End.IsZero() {
		t.Errorf("events while stale: %v, want the EEA2 event still open", got)
	}
	r.feed.set(fixture(t, "normal_later.json"), 0)
	if got := r.step(true); len(got) != 1 || got[0].End.IsZero() {
		t.Errorf("fresh normal: %v, want the event ended", got)
	}
	if st := r.src.Status(); st.Failures != 0 || st.Stale || st.Last.Condition != Normal {
		t.Errorf("status after recovery: %+v", st)
	}
}

// TestPRCRuleAndOlderReading: a PRC rule with hysteresis raises a cap
// below its threshold and clears only at its clear level; a reading older
// than the last is ignored.
func TestPRCRuleAndOlderReading(t *testing.T) {
	cfg := Config{Interval: time.Minute, Conditions: map[Condition]Action{},
		PRC: []PRCRule{{Below: 2500 * energy.Megawatt, Clear: 3000 * energy.Megawatt, Action: Action{Kind: demand.Cap, Power: 0}}}}
	r := newRig(t, cfg, fixture(t, "eea2.json")) // PRC 2,104 MW; conditions map nothing
	got := <-r.out
	if len(got) != 1 || got[0].Kind != demand.Cap || got[0].ID != "prc-below-2500mw-20240701T200000Z" {
		t.Fatalf("got %v, want one PRC cap", got)
	}
	// An older document (a stale cache) is ignored: PRC 9,876 at 15:31.
	r.feed.set(fixture(t, "normal.json"), 0)
	r.step(false)
	// 2,800 MW is above Below but under Clear: still in force.
	r.feed.set(bytes.Replace(fixture(t, "normal_later.json"), []byte(`"6,530"`), []byte(`"2,800"`), 1), 0)
	r.step(false)
	if ev := r.src.Events(); len(ev) != 1 || !ev[0].End.IsZero() {
		t.Fatalf("at 2,800 MW: %v, want the cap still open", ev)
	}
	r.feed.set(fixture(t, "normal_later.json"), 0)
	if got := r.step(true); len(got) != 1 || got[0].End.IsZero() {
		t.Errorf("at 6,530 MW: %v, want the cap ended", got)
	}
	if !strings.Contains(r.logs.String(), "older than the last") {
		t.Errorf("logs lack the ignored older reading:\n%s", r.logs.String())
	}
}

func TestNewChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"url", Config{URL: "ftp://x"}, "url"},
		{"negative", Config{Interval: -1}, "negative"},
		{"condition", Config{Conditions: map[Condition]Action{"eea9": {Kind: demand.Level, Level: 1}}}, "eea9"},
		{"level", Config{Conditions: map[Condition]Action{EEA1: {Kind: demand.Level, Level: 5}}}, "level 5"},
		{"kind", Config{Conditions: map[Condition]Action{EEA1: {Kind: demand.Price}}}, "kind"},
		{"prc no action", Config{PRC: []PRCRule{{Below: energy.Megawatt}}}, "no action"},
		{"prc clear", Config{PRC: []PRCRule{{Below: 2 * energy.Megawatt, Clear: energy.Megawatt, Action: Action{Kind: demand.Level, Level: 1}}}}, "clear"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg, Deps{}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	s, err := New(Config{}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.URL != DefaultURL || s.cfg.Interval != time.Minute {
		t.Errorf("defaults: %+v", s.cfg)
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"normal.json", "conservation.json", "eea2.json", "normal_later.json", "malformed.json"} {
		if b, err := os.ReadFile(filepath.Join("testdata", n)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"current_condition":{"eea_level":"3","prc_value":"1,000.5","datetime":"1719865862"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := Parse(body)
		if err != nil {
			return
		}
		if r.EEALevel < 0 || r.EEALevel > 3 {
			t.Fatalf("eea level %d accepted", r.EEALevel)
		}
		if r.HasPRC && (r.PRC < 0 || r.PRC != r.PRC) {
			t.Fatalf("prc %v accepted", r.PRC)
		}
		if _, err := ParseCondition(string(r.Condition)); err != nil {
			t.Fatalf("classified as %q: %v", r.Condition, err)
		}
	})
}
