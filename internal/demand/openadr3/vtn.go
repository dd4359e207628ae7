package openadr3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/store"
)

// Role is what a VTN client may do.
type Role string

// Roles.
const (
	// RoleBL is business logic: it writes programs, events, vens and
	// subscriptions and reads everything.
	RoleBL Role = "bl"
	// RoleVEN is a VEN: it reads the programs and events targeted to it
	// (or to no one) and the objects it created, and writes its reports,
	// subscriptions, ven and resources.
	RoleVEN Role = "ven"
)

// VTNClient is a client the VTN issues tokens to (provisioned out of band).
type VTNClient struct {
	ID, Secret string
	Role       Role
	// VENName, for a VEN client, is the only venName it may register; it
	// is granted to it as a target (3.0.1 type VEN_NAME), as if business
	// logic had written it to the client's ven object.
	VENName string
	// Targets are further targets granted to a VEN client.
	Targets []string
}

// VTNConfig configures a VTN.
type VTNConfig struct {
	Clients []VTNClient
	// TokenTTL is how long a token lasts on the VTN's clock; 0 means 1 h.
	TokenTTL time.Duration
	// AllowHTTPCallbacks accepts http:// callback URLs. The Definition
	// requires https; this is for demos and tests on loopback.
	AllowHTTPCallbacks bool
	// SkipCallbackCheck does not verify a new callback URL with the
	// Definition's echo challenge (GET callbackUrl?echo=<random>).
	SkipCallbackCheck bool
	// NotifyAttempts is how often a notification is tried; 0 means 5.
	NotifyAttempts int
	// NotifyTimeout bounds each callback request, in wall time; 0 means 10 s.
	NotifyTimeout time.Duration
	// RetryBackoff is the first wait before retrying a notification, on
	// the VTN's clock, doubling each time; 0 means 2 s.
	RetryBackoff time.Duration
}

// VTNDeps are the VTN's collaborators.
type VTNDeps struct {
	Store store.Store
	Clock clock.Clock // nil: wall clock
	Log   *slog.Logger
	// HTTPClient posts notifications; nil: one that follows no redirects.
	HTTPClient *http.Client
}

// VTN is an OpenADR 3 VTN: an http.Handler serving both versions under
// their base paths (V301.BasePath(), V310.BasePath()) over one store, and
// Run, which delivers subscription notifications.
type VTN struct {
	cfg     VTNConfig
	st      store.Store
	clk     clock.Clock
	log     *slog.Logger
	hc      *http.Client
	clients map[string]*VTNClient
	mux     *http.ServeMux

	mu     sync.Mutex // serializes writes (uniqueness checks, then put)
	tokMu  sync.Mutex
	tokens map[string]issued

	qmu   sync.Mutex
	queue []delivery
	wake  chan struct{}
}

type issued struct {
	client  *VTNClient
	expires time.Time
}

// Store collections of the VTN's objects.
const (
	CollPrograms      = "openadr3.vtn.programs"
	CollEvents        = "openadr3.vtn.events"
	CollReports       = "openadr3.vtn.reports"
	CollSubscriptions = "openadr3.vtn.subscriptions"
	CollVens          = "openadr3.vtn.vens"
	CollResources     = "openadr3.vtn.resources"
)

// NewVTN returns a VTN.
func NewVTN(cfg VTNConfig, deps VTNDeps) (*VTN, error) {
	if deps.Store == nil {
		return nil, errors.New("openadr3 vtn: no store")
	}
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.HTTPClient == nil {
		deps.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.NotifyAttempts <= 0 {
		cfg.NotifyAttempts = 5
	}
	if cfg.NotifyTimeout <= 0 {
		cfg.NotifyTimeout = 10 * time.Second
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 2 * time.Second
	}
	vt := &VTN{
		cfg: cfg, st: deps.Store, clk: deps.Clock, log: deps.Log, hc: deps.HTTPClient,
		clients: map[string]*VTNClient{}, tokens: map[string]issued{}, wake: make(chan struct{}, 1),
	}
	for i := range cfg.Clients {
		c := &cfg.Clients[i]
		switch {
		case c.ID == "" || c.Secret == "":
			return nil, fmt.Errorf("openadr3 vtn: client %d: empty id or secret", i)
		case c.Role != RoleBL && c.Role != RoleVEN:
			return nil, fmt.Errorf("openadr3 vtn: client %s: role %q: want bl or ven", c.ID, c.Role)
		case vt.clients[c.ID] != nil:
			return nil, fmt.Errorf("openadr3 vtn: client %s: listed twice", c.ID)
		}
		vt.clients[c.ID] = c
	}
	vt.mux = vt.routes()
	return vt, nil
}

// ServeHTTP serves the API.
func (vt *VTN) ServeHTTP(w http.ResponseWriter, r *http.Request) { vt.mux.ServeHTTP(w, r) }

// Run delivers notifications until ctx ends; it returns nil then.
func (vt *VTN) Run(ctx context.Context) error {
	for {
		next, ok := vt.deliverDue(ctx)
		wait := time.Duration(-1)
		if ok {
			wait = max(next.Sub(vt.clk.Now()), 0)
		}
		if err := vt.sleep(ctx, wait); err != nil {
			return nil
		}
	}
}

// sleep waits d on the VTN's clock (d < 0: until woken), or until a new
// delivery is queued, or ctx ends.
func (vt *VTN) sleep(ctx context.Context, d time.Duration) error {
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if d >= 0 {
			_ = vt.clk.Sleep(wctx, d)
		} else {
			<-wctx.Done()
		}
	}()
	select {
	case <-done:
	case <-vt.wake:
	case <-ctx.Done():
	}
	cancel()
	<-done
	return ctx.Err()
}

func (vt *VTN) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, v := range Versions {
		b := v.BasePath()
		vt.handle(mux, b+"/auth/token", map[string]http.HandlerFunc{http.MethodPost: vt.tokenEndpoint(v)})
		if v == V310 {
			vt.handle(mux, b+"/auth/server", map[string]http.HandlerFunc{http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, vt.log, http.StatusOK, AuthServerInfo{TokenURL: requestBase(r, v) + "/auth/token"})
			}})
			vt.handle(mux, b+"/notifiers", map[string]http.HandlerFunc{http.MethodGet: vt.authed(v, scopeReadAll, func(w http.ResponseWriter, r *http.Request, _ *request) {
				writeJSON(w, vt.log, http.StatusOK, map[string]bool{"WEBHOOK": true})
			})})
		}
		registerKind(vt, mux, v, b+"/programs", vt.programKind())
		registerKind(vt, mux, v, b+"/events", vt.eventKind())
		registerKind(vt, mux, v, b+"/reports", vt.reportKind())
		registerKind(vt, mux, v, b+"/subscriptions", vt.subscriptionKind())
		registerKind(vt, mux, v, b+"/vens", vt.venKind())
		if v == V301 {
			registerKind(vt, mux, v, b+"/vens/{venID}/resources", vt.resourceKind())
		} else {
			registerKind(vt, mux, v, b+"/resources", vt.resourceKind())
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, vt.log, http.StatusNotFound, "Not Found", "no such endpoint: "+r.URL.Path)
	})
	return mux
}

// handle registers the methods of path and answers others with a 405 problem.
func (vt *VTN) handle(mux *http.ServeMux, path string, methods map[string]http.HandlerFunc) {
	allow := ""
	for m, h := range methods {
		mux.HandleFunc(m+" "+path, h)
		allow = joinNonEmpty(", ", allow, m)
	}
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeProblem(w, vt.log, http.StatusMethodNotAllowed, "Method Not Allowed", r.Method+" "+r.URL.Path)
	})
}

// requestBase is the version's base URL as the client reached it.
func requestBase(r *http.Request, v Version) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + v.BasePath()
}

// problemError is an answer to give instead of the object.
type problemError struct {
	status int
	detail string
}

func (e *problemError) Error() string { return fmt.Sprintf("%d: %s", e.status, e.detail) }

func problemf(status int, format string, a ...any) error {
	return &problemError{status: status, detail: fmt.Sprintf(format, a...)}
}

// writeErr answers err: a problemError as itself, anything else as a 500.
func (vt *VTN) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var pe *problemError
	if errors.As(err, &pe) {
		writeProblem(w, vt.log, pe.status, http.StatusText(pe.status), pe.detail)
		return
	}
	vt.log.Error("openadr3 vtn: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeProblem(w, vt.log, http.StatusInternalServerError, "Internal Server Error", "the VTN could not complete the request")
}

func writeProblem(w http.ResponseWriter, log *slog.Logger, status int, title, detail string) {
	writeJSON(w, log, status, Problem{Title: title, Status: status, Detail: detail})
}

func writeJSON(w http.ResponseWriter, log *slog.Logger, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		log.Error("openadr3 vtn: encode answer", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"title":"Internal Server Error","status":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// maxRequest bounds a request body.
const maxRequest = 1 << 20

func decodeBody(w http.ResponseWriter, r *http.Request, into any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(into); err != nil {
		return problemf(http.StatusBadRequest, "body: %v", err)
	}
	if dec.More() {
		return problemf(http.StatusBadRequest, "body: more than one JSON value")
	}
	return nil
}

// newID returns a random objectID.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// page applies skip and limit (default: 50, the most allowed).
func page[T any](q url.Values, all []T) ([]T, error) {
	skip, limit := 0, pageSize
	if s := q.Get("skip"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, problemf(http.StatusBadRequest, "skip %q: want an integer of 0 or more", s)
		}
		skip = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > pageSize {
			return nil, problemf(http.StatusBadRequest, "limit %q: want an integer from 0 to %d", s, pageSize)
		}
		limit = n
	}
	if skip >= len(all) {
		return []T{}, nil
	}
	all = all[skip:]
	if len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// record is how objects are stored: the object and the version it was
// written in (notifications go out in the subscription's version).
type record[T any] struct {
	Version Version `json:"version"`
	Object  T       `json:"object"`
}

func loadAll[T any](ctx context.Context, st store.Store, coll string) ([]record[T], error) {
	objs, err := st.Objects(ctx, coll)
	if err != nil {
		return nil, err
	}
	out := make([]record[T], 0, len(objs))
	for _, o := range objs {
		var rec record[T]
		if err := json.Unmarshal(o.Body, &rec); err != nil {
			return nil, fmt.Errorf("object %s/%s: %w", coll, o.ID, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

func loadOne[T any](ctx context.Context, st store.Store, coll, id string) (record[T], bool, error) {
	o, ok, err := st.Object(ctx, coll, id)
	if err != nil || !ok {
		return record[T]{}, ok, err
	}
	var rec record[T]
	if err := json.Unmarshal(o.Body, &rec); err != nil {
		return record[T]{}, false, fmt.Errorf("object %s/%s: %w", coll, id, err)
	}
	return rec, true, nil
}

func (vt *VTN) save(ctx context.Context, coll, id string, rec any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode %s/%s: %w", coll, id, err)
	}
	return vt.st.PutObject(ctx, coll, id, b, vt.clk.Now())
}
