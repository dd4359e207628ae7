package spectest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/demand/openadr3"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/store"
	"github.com/gridminer/gridminer/internal/store/sqlite"
)

var t0 = time.Date(2025, 6, 2, 14, 0, 0, 0, time.UTC)

// Clients provisioned on every test VTN.
const (
	blID, blSecret     = "bl", "bl-secret"
	ven1ID, ven1Secret = "ven-client-1", "ven-secret-1"
	ven2ID, ven2Secret = "ven-client-2", "ven-secret-2"
	ven1Name, ven2Name = "site-1", "site-2"
)

// env is one VTN over HTTP, its business-logic client, and what the tests
// need to start VENs against it.
type env struct {
	t      *testing.T
	v      openadr3.Version
	vtn    *openadr3.VTN
	vtnClk *stepClock
	srv    *httptest.Server
	base   string
	val    *validator
	hc     *http.Client // validating
	bl     *openadr3.Client
	log    *slog.Logger
}

func newEnv(t *testing.T, v openadr3.Version) *env {
	t.Helper()
	e := &env{t: t, v: v, vtnClk: newStepClock(t0)}
	e.log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	doc := loadSpec(t, v)
	// The server is created first so that its URL is known to the validator.
	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL + v.BasePath()
	e.val = newValidator(t, v, doc, e.base)
	e.hc = &http.Client{Transport: e.val, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	vt, err := openadr3.NewVTN(openadr3.VTNConfig{
		Clients: []openadr3.VTNClient{
			{ID: blID, Secret: blSecret, Role: openadr3.RoleBL},
			{ID: ven1ID, Secret: ven1Secret, Role: openadr3.RoleVEN, VENName: ven1Name},
			{ID: ven2ID, Secret: ven2Secret, Role: openadr3.RoleVEN, VENName: ven2Name},
		},
		AllowHTTPCallbacks: true,
	}, openadr3.VTNDeps{Store: openStore(t, "vtn.db"), Clock: e.vtnClk, Log: e.log.With("side", "vtn"), HTTPClient: e.hc})
	if err != nil {
		t.Fatal(err)
	}
	e.vtn = vt
	e.srv.Config.Handler = vt
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- vt.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("vtn Run: %v", err)
		}
	})
	e.bl = e.client(blID, blSecret)
	t.Cleanup(func() {
		if e.val.router == nil {
			return
		}
		e.val.mu.Lock()
		defer e.val.mu.Unlock()
		if e.val.checked == 0 {
			t.Error("no exchange was validated")
		}
		t.Logf("%d exchanges validated against the OpenADR %s document: %v", e.val.checked, v, e.val.responses)
	})
	return e
}

// client returns a validated client of the VTN.
func (e *env) client(id, secret string) *openadr3.Client {
	e.t.Helper()
	c, err := openadr3.NewClient(openadr3.ClientConfig{BaseURL: e.base, Version: e.v, ClientID: id, ClientSecret: secret, HTTPClient: e.hc, Clock: e.vtnClk})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func openStore(t *testing.T, name string) store.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if os.Getenv("OPENADR3_TEST_LOG") != "" {
		w.t.Log(string(p))
	}
	return len(p), nil
}

// program creates a program as business logic.
func (e *env) program(name string) openadr3.Program {
	e.t.Helper()
	p := openadr3.Program{ProgramName: name}
	if e.v == openadr3.V301 {
		p.ProgramLongName = "gridminer test program"
	}
	got, err := e.bl.CreateProgram(context.Background(), p)
	if err != nil {
		e.t.Fatalf("create program: %v", err)
	}
	return got
}

// targets returns targets naming a VEN, in the env's wire format.
func (e *env) targets(venName string) openadr3.Targets {
	if e.v == openadr3.V301 {
		return openadr3.MapTargets(openadr3.VENName, venName)
	}
	return openadr3.NameTargets(venName)
}

// capEvent is an IMPORT_CAPACITY_LIMIT event of kw for dur from start,
// targeted to venName (if not "").
func (e *env) capEvent(prog openadr3.Program, venName string, start time.Time, dur time.Duration, kw float64, prio int) openadr3.Event {
	ev := openadr3.Event{
		ProgramID: prog.ID, EventName: "curtail", Priority: &prio,
		PayloadDescriptors: []openadr3.PayloadDescriptor{{ObjectType: openadr3.EventPayloadDescriptor, PayloadType: openadr3.PayloadImportCapacityLimit, Units: "KW"}},
		IntervalPeriod:     &openadr3.IntervalPeriod{Start: openadr3.DateTimeOf(start), Duration: openadr3.DurationOf(dur)},
		Intervals:          []openadr3.Interval{{ID: 0, Payloads: []openadr3.ValuesMap{{Type: openadr3.PayloadImportCapacityLimit, Values: []openadr3.Value{openadr3.Num(kw)}}}}},
	}
	if venName != "" {
		ev.Targets = e.targets(venName)
	}
	return ev
}

func (e *env) createEvent(ev openadr3.Event) openadr3.Event {
	e.t.Helper()
	got, err := e.bl.CreateEvent(context.Background(), ev)
	if err != nil {
		e.t.Fatalf("create event: %v", err)
	}
	return got
}

// venRun is a running VEN.
type venRun struct {
	ven    *openadr3.VEN
	clk    *stepClock
	out    chan []demand.Event
	store  store.Store
	cancel context.CancelFunc
	done   chan error
}

type venOpts struct {
	id, secret, name string
	webhook          bool
	readings         openadr3.Readings
	store            store.Store
	clk              *stepClock
	base             string
}

// startVEN runs a VEN against the env's VTN (site-1 unless told).
func (e *env) startVEN(o venOpts) *venRun {
	e.t.Helper()
	if o.id == "" {
		o.id, o.secret, o.name = ven1ID, ven1Secret, ven1Name
	}
	if o.store == nil {
		o.store = openStore(e.t, "ven-"+o.name+".db")
	}
	if o.clk == nil {
		o.clk = newStepClock(t0)
	}
	if o.base == "" {
		o.base = e.base
	}
	cfg := openadr3.VENConfig{
		BaseURL: o.base, Version: e.v, ClientID: o.id, ClientSecret: o.secret, VENName: o.name,
		PollEvery: 30 * time.Second, HTTPClient: e.hc, RequestTimeout: 5 * time.Second,
	}
	if o.webhook {
		cfg.Webhook = &openadr3.WebhookConfig{Listen: "127.0.0.1:0"}
	}
	ven, err := openadr3.NewVEN(cfg, openadr3.VENDeps{Store: o.store, Readings: o.readings, Clock: o.clk, Log: e.log.With("side", o.name)})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &venRun{ven: ven, clk: o.clk, out: make(chan []demand.Event, 1000), store: o.store, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- ven.Run(ctx, r.out) }()
	e.t.Cleanup(func() { r.stop(e.t) })
	return r
}

func (r *venRun) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := <-r.done; err != nil {
		t.Errorf("ven Run: %v", err)
	}
}

// failsafe bounds every wait of a test (a hang is a failure, not a timing
// assertion).
const failsafe = 30 * time.Second

// waitFor reads sets from the VEN until one satisfies ok.
func (r *venRun) waitFor(t *testing.T, what string, ok func([]demand.Event) bool) []demand.Event {
	t.Helper()
	timeout := time.After(failsafe)
	var last []demand.Event
	for {
		select {
		case set := <-r.out:
			last = set
			if ok(set) {
				return set
			}
		case err := <-r.done:
			t.Fatalf("waiting for %s: ven stopped: %v", what, err)
		case <-timeout:
			t.Fatalf("waiting for %s: gave up; last set %+v", what, last)
		}
	}
}

// find returns the demand event whose ID starts with the OpenADR event id.
func find(set []demand.Event, id string) (demand.Event, bool) {
	for _, e := range set {
		if len(e.ID) > len(id) && e.ID[:len(id)+1] == id+"/" {
			return e, true
		}
	}
	return demand.Event{}, false
}

func has(id string, ok func(demand.Event) bool) func([]demand.Event) bool {
	return func(set []demand.Event) bool {
		e, found := find(set, id)
		return found && ok(e)
	}
}

// lifecycle returns the VEN's lifecycle record of an event.
func (r *venRun) lifecycle(t *testing.T, id string) openadr3.Lifecycle {
	t.Helper()
	ls, err := r.ven.Lifecycles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.EventID == id {
			return l
		}
	}
	t.Fatalf("no lifecycle of event %s among %d", id, len(ls))
	return openadr3.Lifecycle{}
}

// stepClock is a clock.Clock that moves only when a test moves it and
// lets the test see when the code under test sleeps on it (is idle), so
// time can be stepped without races: next waits for a sleeper, runTo steps
// from one wake-up to the next.
type stepClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters map[*stepWaiter]struct{}
	slept   chan struct{} // closed and replaced when a sleeper arrives
}

type stepWaiter struct {
	until time.Time
	ch    chan struct{}
}

var _ clock.Clock = (*stepClock)(nil)

func newStepClock(t time.Time) *stepClock {
	return &stepClock{now: t, waiters: map[*stepWaiter]struct{}{}, slept: make(chan struct{})}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) WallDuration(d time.Duration) time.Duration { return d }

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	w := &stepWaiter{until: c.now.Add(d), ch: make(chan struct{})}
	c.waiters[w] = struct{}{}
	close(c.slept)
	c.slept = make(chan struct{})
	c.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.waiters, w)
		c.mu.Unlock()
		return ctx.Err()
	}
}

// set moves the clock to t (never back) and wakes the sleepers due.
func (c *stepClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	for w := range c.waiters {
		if !w.until.After(c.now) {
			close(w.ch)
			delete(c.waiters, w)
		}
	}
}

// next waits until something sleeps on the clock and returns the earliest
// wake-up.
func (c *stepClock) next(t *testing.T) time.Time {
	t.Helper()
	timeout := time.After(failsafe)
	for {
		c.mu.Lock()
		var first time.Time
		for w := range c.waiters {
			if first.IsZero() || w.until.Before(first) {
				first = w.until
			}
		}
		slept := c.slept
		c.mu.Unlock()
		if !first.IsZero() {
			return first
		}
		select {
		case <-slept:
		case <-timeout:
			t.Fatal("nothing went to sleep on the clock")
		}
	}
}

// runTo steps the clock wake-up by wake-up to t, letting the sleeper do
// its work at each.
func (c *stepClock) runTo(t *testing.T, to time.Time) {
	t.Helper()
	for {
		u := c.next(t)
		if u.After(to) {
			c.set(to)
			return
		}
		c.set(u)
	}
}

// readings is a fake openadr3.Readings.
type readings struct {
	mu    sync.Mutex
	calls [][2]time.Time
	ok    func(from time.Time) bool
}

func (r *readings) Usage(_ context.Context, from, to time.Time) (openadr3.Usage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !to.After(from) {
		return openadr3.Usage{}, errors.New("empty span")
	}
	r.calls = append(r.calls, [2]time.Time{from, to})
	hours := to.Sub(from).Hours()
	// 12 kW all along against a baseline of 20 kW.
	return openadr3.Usage{Energy: energy.Energy(12000 * hours), Demand: 12000, Baseline: 20000, OK: r.ok == nil || r.ok(from)}, nil
}

func (e *env) String() string { return fmt.Sprintf("OpenADR %s at %s", e.v, e.base) }
