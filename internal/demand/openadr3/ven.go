package openadr3

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/store"
)

// VENConfig configures a VEN.
type VENConfig struct {
	// BaseURL is the VTN's base for Version, e.g.
	// https://vtn.example.com/openadr3/3.1.0.
	BaseURL string
	Version Version
	// ClientID and ClientSecret are the VEN's OAuth 2 client credentials
	// (the caller reads the secret from env or a file). TokenURL as in
	// ClientConfig.
	ClientID, ClientSecret, TokenURL string
	// VENName is the venName the VEN registers and the clientName of its
	// reports and subscriptions.
	VENName string
	// Source names the demand events' source; "" means "openadr3". Two
	// VENs (two VTNs) sharing a store need different sources.
	Source string
	// Targets are sent as the target filter of searches and, in 3.0.1,
	// are the targets the VEN accepts objects for. Zero: 3.0.1 uses
	// VEN_NAME = VENName; 3.1.0 sends none (the VTN knows the targets
	// granted to the client).
	Targets Targets
	// ProgramNames, if set, limits the VEN to those programs.
	ProgramNames []string
	// PollEvery is the poll period; 0 means 30 s. The VEN polls even with
	// a webhook, as a safety net.
	PollEvery time.Duration
	// RequestTimeout bounds each request in wall time; 0 means 10 s.
	RequestTimeout time.Duration
	// MaxBackoff caps the wait after failed polls; 0 means 5 min.
	MaxBackoff time.Duration
	// ReportGrace is how long after a report window ends the VEN waits
	// for complete readings (Usage.OK) before it sends what it has marked
	// DATA_QUALITY MISSING; 0 means 5 min. Sites settle an interval a
	// poll or two after it ends.
	ReportGrace time.Duration
	// Horizon is how far ahead (and back) repetitions of looping events
	// are expanded; 0 means 48 h.
	Horizon time.Duration
	// ResourceName names the reports' resource; "" means AGGREGATED_REPORT.
	ResourceName string
	// Webhook, if set, has the VEN serve a callback and subscribe to
	// event and program changes.
	Webhook *WebhookConfig
	// HTTPClient sends the VEN's requests; nil: a client that follows no
	// redirects.
	HTTPClient *http.Client
}

// WebhookConfig is the VEN's notification endpoint.
type WebhookConfig struct {
	// Listen is the address to serve on, e.g. ":8443" or "127.0.0.1:0".
	Listen string
	// CallbackURL is the URL the VTN reaches the endpoint at. Empty:
	// http(s)://<listen address>/openadr3/notify. Its path is served.
	CallbackURL string
	// CertFile and KeyFile, if set, serve TLS (the Definition requires
	// https callbacks).
	CertFile, KeyFile string
}

// VENDeps are the VEN's collaborators.
type VENDeps struct {
	// Store keeps the event lifecycles (collection CollVENEvents).
	Store store.Store
	// Readings fill in reports; nil: the VEN sends none.
	Readings Readings
	Clock    clock.Clock // nil: wall clock
	Log      *slog.Logger
}

// VEN is an OpenADR 3 VEN; it implements demand.Source.
type VEN struct {
	cfg      VENConfig
	client   *Client
	store    store.Store
	readings Readings
	clk      clock.Clock
	log      *slog.Logger
	poke     chan struct{}
}

var _ demand.Source = (*VEN)(nil)

// NewVEN returns a VEN. It does no I/O.
func NewVEN(cfg VENConfig, deps VENDeps) (*VEN, error) {
	if cfg.VENName == "" {
		return nil, errors.New("openadr3 ven: no ven name")
	}
	if deps.Store == nil {
		return nil, fmt.Errorf("openadr3 ven %s: no store", cfg.VENName)
	}
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Source == "" {
		cfg.Source = "openadr3"
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.ReportGrace <= 0 {
		cfg.ReportGrace = 5 * time.Minute
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = 48 * time.Hour
	}
	if cfg.ResourceName == "" {
		cfg.ResourceName = AggregatedReport
	}
	if cfg.Targets.IsZero() && cfg.Version == V301 {
		cfg.Targets = MapTargets(VENName, cfg.VENName)
	}
	if err := cfg.Targets.Check(cfg.Version); err != nil {
		return nil, fmt.Errorf("openadr3 ven %s: %w", cfg.VENName, err)
	}
	c, err := NewClient(ClientConfig{
		BaseURL: cfg.BaseURL, Version: cfg.Version, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		TokenURL: cfg.TokenURL, HTTPClient: cfg.HTTPClient, Timeout: cfg.RequestTimeout, Clock: deps.Clock,
	})
	if err != nil {
		return nil, fmt.Errorf("openadr3 ven %s: %w", cfg.VENName, err)
	}
	log := deps.Log.With("ven", cfg.VENName, "vtn", cfg.BaseURL)
	return &VEN{cfg: cfg, client: c, store: deps.Store, readings: deps.Readings, clk: deps.Clock, log: log, poke: make(chan struct{}, 1)}, nil
}

// Lifecycles returns the lifecycles of the VEN's events, from the store.
func (v *VEN) Lifecycles(ctx context.Context) ([]Lifecycle, error) {
	return Lifecycles(ctx, v.store, v.cfg.Source)
}

// PollNow asks a running VEN to poll at once (an operator's "refresh").
func (v *VEN) PollNow() {
	select {
	case v.poke <- struct{}{}:
	default:
	}
}

// Run follows the VTN until ctx ends, sending the full set of the VEN's
// demand events on out whenever it changes; the first set, from the
// store, goes out before the VTN is asked anything. It returns nil when
// ctx ends, and an error only if it cannot start (the store cannot be read,
// the webhook cannot listen). VTN failures are logged and retried with
// backoff; known events stay in force meanwhile.
func (v *VEN) Run(ctx context.Context, out chan<- []demand.Event) error {
	st := &venState{
		source: v.cfg.Source, venName: v.cfg.VENName, horizon: v.cfg.Horizon, log: v.log,
		records: map[string]*Lifecycle{}, saved: map[string][]byte{}, programs: map[string]Program{},
	}
	if err := st.load(ctx, v.store); err != nil {
		return fmt.Errorf("openadr3 ven %s: %w", v.cfg.VENName, err)
	}
	notes := make(chan notice, 64)
	var hook *webhook
	if v.cfg.Webhook != nil {
		h, err := v.listen(notes)
		if err != nil {
			return err
		}
		hook = h
		stop := make(chan struct{})
		served := make(chan struct{})
		go func() {
			defer close(served)
			hook.serve(stop)
		}()
		defer func() { close(stop); <-served }()
	}
	var (
		nextPoll   = v.clk.Now()
		failures   int
		reportWait time.Time
		venID      string
	)
	for {
		now := v.clk.Now()
		if !now.Before(nextPoll) {
			id, err := v.poll(ctx, st, hook, venID, now)
			venID = id
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				failures++
				wait := v.backoff(failures, err)
				v.log.Warn("openadr3 ven: poll failed", "err", err, "retry_in", wait)
				nextPoll = now.Add(wait)
			default:
				failures = 0
				nextPoll = now.Add(v.cfg.PollEvery)
			}
		}
		now = v.clk.Now()
		st.refresh(now)
		if !now.Before(reportWait) {
			next, err := v.sendReports(ctx, st, now)
			reportWait = next
			if err != nil {
				v.log.Warn("openadr3 ven: report failed", "err", err)
				reportWait = now.Add(min(v.cfg.PollEvery, v.cfg.MaxBackoff))
			}
		}
		st.persist(ctx, v.store, now)
		if set := st.current(now); st.changed(set) {
			select {
			case out <- set:
				st.lastSent, st.sentOnce = set, true
			case <-ctx.Done():
				return nil
			}
		}
		wake := nextPoll
		if t, ok := st.next(now); ok && t.Before(wake) {
			wake = t
		}
		if !reportWait.IsZero() && reportWait.Before(wake) {
			wake = reportWait
		}
		select {
		case n := <-notes:
			v.notice(st, n, v.clk.Now(), &nextPoll)
		case <-v.poke:
			nextPoll = v.clk.Now()
		default:
			n, poked, err := v.wait(ctx, wake.Sub(v.clk.Now()), notes)
			if err != nil {
				return nil
			}
			if poked {
				nextPoll = v.clk.Now()
			} else if n != nil {
				v.notice(st, *n, v.clk.Now(), &nextPoll)
			}
		}
	}
}

// wait sleeps d on the VEN's clock, or until a notification or a poke
// comes, or ctx ends.
func (v *VEN) wait(ctx context.Context, d time.Duration, notes <-chan notice) (*notice, bool, error) {
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = v.clk.Sleep(wctx, d)
	}()
	defer func() { cancel(); <-done }()
	select {
	case <-done:
		return nil, false, ctx.Err()
	case n := <-notes:
		return &n, false, nil
	case <-v.poke:
		return nil, true, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// backoff is the wait after the nth failure in a row: doubling from 1 s
// up to MaxBackoff, or what a 429 or 503 asked for.
func (v *VEN) backoff(n int, err error) time.Duration {
	d := time.Second << min(n-1, 20)
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > d {
		d = se.RetryAfter
	}
	return min(d, v.cfg.MaxBackoff)
}

// poll registers the VEN (once), reads programs and events, and updates
// the lifecycles. It returns the VEN's ven id ("" if not registered).
func (v *VEN) poll(ctx context.Context, st *venState, hook *webhook, venID string, now time.Time) (string, error) {
	if venID == "" {
		id, err := v.register(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return "", err
			}
			v.log.Warn("openadr3 ven: registration failed (polling anyway)", "err", err)
		}
		venID = id
	}
	q := Query{Targets: v.cfg.Targets}
	progs, err := v.client.Programs(ctx, q)
	if err != nil {
		return venID, err
	}
	followed := map[string]Program{}
	for _, p := range progs {
		if v.accepts(p.Targets) && (len(v.cfg.ProgramNames) == 0 || slices.Contains(v.cfg.ProgramNames, p.ProgramName)) {
			followed[p.ID] = p
		}
	}
	st.programs = followed
	if hook != nil && !hook.unsupported {
		if err := v.subscribe(ctx, hook, followed); err != nil {
			switch {
			case ctx.Err() != nil:
				return venID, err
			case IsStatus(err, http.StatusNotFound) || IsStatus(err, http.StatusMethodNotAllowed) || IsStatus(err, http.StatusNotImplemented):
				hook.unsupported = true
				v.log.Warn("openadr3 ven: the VTN does not support subscriptions; polling only", "err", err)
			default:
				v.log.Warn("openadr3 ven: subscription failed (polling only until it works)", "err", err)
			}
		}
	}
	evs, err := v.client.Events(ctx, q)
	if err != nil {
		return venID, err
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		p, ok := followed[ev.ProgramID]
		if !ok || !v.accepts(ev.Targets) {
			continue
		}
		seen[ev.ID] = true
		st.apply(ev, &p, now)
	}
	for id := range st.records {
		if !seen[id] {
			st.remove(id, now)
		}
	}
	return venID, nil
}

// accepts reports whether an object with targets t is for this VEN. In
// 3.1.0 the VTN decides (it knows what it granted); in 3.0.1 an object is
// for the VEN if it has no targets or one of the VEN's.
func (v *VEN) accepts(t Targets) bool {
	if v.cfg.Version == V310 || t.Len() == 0 {
		return true
	}
	return match(t.Pairs(), v.cfg.Targets.Pairs())
}

// register finds the VEN's ven object by name or creates it.
func (v *VEN) register(ctx context.Context) (string, error) {
	vens, err := v.client.Vens(ctx, Query{VenName: v.cfg.VENName})
	if err != nil {
		return "", err
	}
	for _, o := range vens {
		if o.VenName == v.cfg.VENName {
			return o.ID, nil
		}
	}
	body := Ven{VenName: v.cfg.VENName}
	if v.cfg.Version == V310 {
		body.ObjectType = VenVenRequest
	}
	o, err := v.client.CreateVen(ctx, body)
	if err != nil {
		return "", err
	}
	v.log.Info("openadr3 ven: registered", "ven_id", o.ID)
	return o.ID, nil
}

// notice applies a notification: an event's new state or its deletion at
// once; anything else (a program change, an event of an unknown program)
// by polling now.
func (v *VEN) notice(st *venState, n notice, now time.Time, nextPoll *time.Time) {
	if n.event == nil {
		*nextPoll = now
		return
	}
	ev := *n.event
	if n.op == OpDelete {
		v.log.Info("openadr3 ven: notified of deletion", "event", ev.ID)
		st.remove(ev.ID, now)
		return
	}
	p, ok := st.programs[ev.ProgramID]
	if !ok {
		*nextPoll = now
		return
	}
	if v.accepts(ev.Targets) {
		v.log.Info("openadr3 ven: notified", "event", ev.ID, "op", n.op)
		st.apply(ev, &p, now)
	}
}
