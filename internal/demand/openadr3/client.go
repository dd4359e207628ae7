package openadr3

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// BaseURL is the VTN's base for Version, e.g.
	// https://vtn.example.com/openadr3/3.1.0.
	BaseURL string
	Version Version
	// ClientID and ClientSecret are exchanged for a bearer token by the
	// OAuth 2 client credentials grant. With no ClientID the client sends
	// no token (a non-authenticating VTN).
	ClientID, ClientSecret string
	// TokenURL is the token endpoint. Empty: 3.1.0 asks GET /auth/server,
	// 3.0.1 uses BaseURL + "/auth/token".
	TokenURL string
	// Scope, if set, is sent with the token request.
	Scope string
	// HTTPClient sends the requests; nil uses a client that does not
	// follow redirects.
	HTTPClient *http.Client
	// Timeout bounds each request, in wall time; 0 means 10 s.
	Timeout time.Duration
	// Clock tells when a token expires; nil is the wall clock.
	Clock clock.Clock
}

// Client is a REST client of an OpenADR 3 VTN, for VENs and business
// logic alike. It fetches and refreshes its bearer token itself and, on a
// 401 (or a 3.0.1 403, which also means a bad token), fetches a new one and
// retries once. It never sleeps: callers decide how to back off (see
// StatusError.RetryAfter). Safe for concurrent use.
type Client struct {
	cfg  ClientConfig
	base *url.URL

	mu      sync.Mutex
	token   string
	expires time.Time
}

// NewClient returns a Client for cfg.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Version != V301 && cfg.Version != V310 {
		return nil, fmt.Errorf("openadr3 client: version %q: want 3.0.1 or 3.1.0", cfg.Version)
	}
	u, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("openadr3 client: base url %q: want http(s)://host/path", cfg.BaseURL)
	}
	if cfg.ClientID != "" && cfg.ClientSecret == "" {
		return nil, fmt.Errorf("openadr3 client %s: no client secret", cfg.ClientID)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	return &Client{cfg: cfg, base: u}, nil
}

// Version is the client's protocol version.
func (c *Client) Version() Version { return c.cfg.Version }

// StatusError is an answer other than the one expected.
type StatusError struct {
	Method, URL string
	Status      int
	Problem     Problem
	// RetryAfter is the wait a 429 or 503 asked for (0 if none).
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	msg := joinNonEmpty(": ", e.Problem.Title, e.Problem.Detail, e.Problem.Error)
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, msg)
}

// IsStatus reports whether err is a StatusError with that status.
func IsStatus(err error, status int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == status
}

// Query filters a search. Empty fields are not sent.
type Query struct {
	ProgramID, EventID, ClientName, VenName, ResourceName, VenID string
	// Targets: 3.1.0 sends each name as targets=; 3.0.1 sends the first
	// valuesMap as targetType= and targetValues=.
	Targets Targets
	Objects []ObjectType
	// Active (3.1.0 events) leaves out events that have transpired.
	Active *bool
}

func (q Query) values(v Version) url.Values {
	out := url.Values{}
	set := func(k, s string) {
		if s != "" {
			out.Set(k, s)
		}
	}
	set("programID", q.ProgramID)
	set("eventID", q.EventID)
	set("clientName", q.ClientName)
	set("venName", q.VenName)
	set("resourceName", q.ResourceName)
	set("venID", q.VenID)
	t := q.Targets.For(v)
	if v == V310 {
		for _, n := range t.Names {
			out.Add("targets", n)
		}
	} else if len(t.Maps) > 0 {
		out.Set("targetType", t.Maps[0].Type)
		for _, x := range t.Maps[0].Values {
			out.Add("targetValues", x.String())
		}
	}
	for _, o := range q.Objects {
		out.Add("objects", string(o))
	}
	if q.Active != nil {
		out.Set("active", strconv.FormatBool(*q.Active))
	}
	return out
}

// pageSize is the most the specification lets one search return.
const pageSize = 50

// maxPages bounds a search (50 000 objects).
const maxPages = 1000

func list[T any](ctx context.Context, c *Client, path string, q Query) ([]T, error) {
	var all []T
	vals := q.values(c.cfg.Version)
	for page := 0; page < maxPages; page++ {
		vals.Set("skip", strconv.Itoa(page*pageSize))
		vals.Set("limit", strconv.Itoa(pageSize))
		var got []T
		if err := c.Do(ctx, http.MethodGet, path, vals, nil, &got); err != nil {
			return nil, err
		}
		all = append(all, got...)
		if len(got) < pageSize {
			return all, nil
		}
	}
	return nil, fmt.Errorf("GET %s: more than %d objects", path, maxPages*pageSize)
}

// Programs searches programs (every page).
func (c *Client) Programs(ctx context.Context, q Query) ([]Program, error) {
	return list[Program](ctx, c, "/programs", q)
}

// Events searches events (every page).
func (c *Client) Events(ctx context.Context, q Query) ([]Event, error) {
	return list[Event](ctx, c, "/events", q)
}

// Reports searches reports (every page).
func (c *Client) Reports(ctx context.Context, q Query) ([]Report, error) {
	return list[Report](ctx, c, "/reports", q)
}

// Subscriptions searches subscriptions (every page).
func (c *Client) Subscriptions(ctx context.Context, q Query) ([]Subscription, error) {
	return list[Subscription](ctx, c, "/subscriptions", q)
}

// Vens searches vens (every page).
func (c *Client) Vens(ctx context.Context, q Query) ([]Ven, error) {
	return list[Ven](ctx, c, "/vens", q)
}

// Resources searches the resources of venID (every page).
func (c *Client) Resources(ctx context.Context, venID string, q Query) ([]Resource, error) {
	if c.cfg.Version == V301 {
		return list[Resource](ctx, c, "/vens/"+url.PathEscape(venID)+"/resources", q)
	}
	q.VenID = venID
	return list[Resource](ctx, c, "/resources", q)
}

func create[T any](ctx context.Context, c *Client, path string, in T) (T, error) {
	var out T
	err := c.Do(ctx, http.MethodPost, path, nil, in, &out)
	return out, err
}

func put[T any](ctx context.Context, c *Client, path, id string, in T) (T, error) {
	var out T
	err := c.Do(ctx, http.MethodPut, path+"/"+url.PathEscape(id), nil, in, &out)
	return out, err
}

func remove[T any](ctx context.Context, c *Client, path, id string) (T, error) {
	var out T
	err := c.Do(ctx, http.MethodDelete, path+"/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

func get[T any](ctx context.Context, c *Client, path, id string) (T, error) {
	var out T
	err := c.Do(ctx, http.MethodGet, path+"/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// CreateProgram posts a program.
func (c *Client) CreateProgram(ctx context.Context, p Program) (Program, error) {
	return create(ctx, c, "/programs", p)
}

// UpdateProgram puts a program.
func (c *Client) UpdateProgram(ctx context.Context, id string, p Program) (Program, error) {
	return put(ctx, c, "/programs", id, p)
}

// DeleteProgram deletes a program.
func (c *Client) DeleteProgram(ctx context.Context, id string) (Program, error) {
	return remove[Program](ctx, c, "/programs", id)
}

// Event fetches one event.
func (c *Client) Event(ctx context.Context, id string) (Event, error) {
	return get[Event](ctx, c, "/events", id)
}

// CreateEvent posts an event.
func (c *Client) CreateEvent(ctx context.Context, e Event) (Event, error) {
	return create(ctx, c, "/events", e)
}

// UpdateEvent puts an event.
func (c *Client) UpdateEvent(ctx context.Context, id string, e Event) (Event, error) {
	return put(ctx, c, "/events", id, e)
}

// DeleteEvent deletes an event.
func (c *Client) DeleteEvent(ctx context.Context, id string) (Event, error) {
	return remove[Event](ctx, c, "/events", id)
}

// CreateReport posts a report.
func (c *Client) CreateReport(ctx context.Context, r Report) (Report, error) {
	return create(ctx, c, "/reports", r)
}

// CreateSubscription posts a subscription.
func (c *Client) CreateSubscription(ctx context.Context, s Subscription) (Subscription, error) {
	return create(ctx, c, "/subscriptions", s)
}

// UpdateSubscription puts a subscription.
func (c *Client) UpdateSubscription(ctx context.Context, id string, s Subscription) (Subscription, error) {
	return put(ctx, c, "/subscriptions", id, s)
}

// DeleteSubscription deletes a subscription.
func (c *Client) DeleteSubscription(ctx context.Context, id string) (Subscription, error) {
	return remove[Subscription](ctx, c, "/subscriptions", id)
}

// CreateVen posts a ven.
func (c *Client) CreateVen(ctx context.Context, v Ven) (Ven, error) {
	return create(ctx, c, "/vens", v)
}

// UpdateVen puts a ven.
func (c *Client) UpdateVen(ctx context.Context, id string, v Ven) (Ven, error) {
	return put(ctx, c, "/vens", id, v)
}

// CreateResource posts a resource of venID.
func (c *Client) CreateResource(ctx context.Context, venID string, r Resource) (Resource, error) {
	if c.cfg.Version == V301 {
		return create(ctx, c, "/vens/"+url.PathEscape(venID)+"/resources", r)
	}
	r.VenID = venID
	return create(ctx, c, "/resources", r)
}

// Do sends method path?q with in as the JSON body (if not nil) and decodes
// a 2xx answer into out (if not nil). Other answers are *StatusError.
func (c *Client) Do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
		body = b
	}
	u := *c.base
	u.Path += path
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	for attempt := 0; ; attempt++ {
		tok, fresh, err := c.bearer(ctx)
		if err != nil {
			return err
		}
		resp, data, err := c.send(ctx, method, u.String(), tok, body)
		if err != nil {
			return err
		}
		badToken := resp.StatusCode == http.StatusUnauthorized || (c.cfg.Version == V301 && resp.StatusCode == http.StatusForbidden)
		if badToken && tok != "" && !fresh && attempt == 0 {
			c.dropToken(tok)
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return statusError(method, u.String(), resp, data)
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("%s %s: decode: %w", method, u.String(), err)
			}
		}
		return nil
	}
}

// maxBody bounds what the client reads of an answer.
const maxBody = 16 << 20

func (c *Client) send(ctx context.Context, method, u, tok string, body []byte) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read answer: %w", method, u, err)
	}
	return resp, data, nil
}

func statusError(method, u string, resp *http.Response, data []byte) error {
	se := &StatusError{Method: method, URL: u, Status: resp.StatusCode}
	_ = json.Unmarshal(data, &se.Problem)
	if se.Problem.Error == "" {
		var ae AuthError
		if json.Unmarshal(data, &ae) == nil {
			se.Problem.Error = ae.Error
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		se.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return se
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(min(s, 86400)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// bearer returns a token valid for a while yet (fetching one if needed);
// fresh is set when it was just fetched.
func (c *Client) bearer(ctx context.Context) (tok string, fresh bool, err error) {
	if c.cfg.ClientID == "" {
		return "", false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Clock.Now()
	if c.token != "" && (c.expires.IsZero() || now.Before(c.expires)) {
		return c.token, false, nil
	}
	tr, err := c.fetchToken(ctx)
	if err != nil {
		return "", false, err
	}
	c.token, c.expires = tr.AccessToken, time.Time{}
	if tr.ExpiresIn > 0 {
		ttl := time.Duration(tr.ExpiresIn) * time.Second
		// Refresh a tenth of the lifetime (at most a minute) early.
		c.expires = now.Add(ttl - min(ttl/10, time.Minute))
	}
	return c.token, true, nil
}

func (c *Client) dropToken(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

// tokenURL finds the token endpoint.
func (c *Client) tokenURL(ctx context.Context) (string, error) {
	if c.cfg.TokenURL != "" {
		return c.cfg.TokenURL, nil
	}
	if c.cfg.Version == V310 {
		u := c.base.String() + "/auth/server"
		resp, data, err := c.send(ctx, http.MethodGet, u, "", nil)
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK {
			return "", statusError(http.MethodGet, u, resp, data)
		}
		var info AuthServerInfo
		if err := json.Unmarshal(data, &info); err != nil || info.TokenURL == "" {
			return "", fmt.Errorf("GET %s: no tokenURL in answer", u)
		}
		ref, err := url.Parse(info.TokenURL)
		if err != nil {
			return "", fmt.Errorf("GET %s: tokenURL %q: %w", u, info.TokenURL, err)
		}
		c.cfg.TokenURL = c.base.ResolveReference(ref).String()
		return c.cfg.TokenURL, nil
	}
	return c.base.String() + "/auth/token", nil
}

func (c *Client) fetchToken(ctx context.Context) (TokenResponse, error) {
	tu, err := c.tokenURL(ctx)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("openadr3 token for %s: %w", c.cfg.ClientID, err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.cfg.ClientID}, "client_secret": {c.cfg.ClientSecret}}
	if c.cfg.Scope != "" {
		form.Set("scope", c.cfg.Scope)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tu, strings.NewReader(form.Encode()))
	if err != nil {
		return TokenResponse{}, fmt.Errorf("openadr3 token for %s: %w", c.cfg.ClientID, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("openadr3 token for %s: %w", c.cfg.ClientID, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return TokenResponse{}, fmt.Errorf("openadr3 token for %s: %w", c.cfg.ClientID, err)
	}
	if resp.StatusCode != http.StatusOK {
		return TokenResponse{}, fmt.Errorf("openadr3 token for %s: %w", c.cfg.ClientID, statusError(http.MethodPost, tu, resp, data))
	}
	var tr TokenResponse
	if err := json.Unmarshal(data, &tr); err != nil {
		return TokenResponse{}, fmt.Errorf("openadr3 token for %s: decode: %w", c.cfg.ClientID, err)
	}
	if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "bearer") {
		return TokenResponse{}, fmt.Errorf("openadr3 token for %s: no bearer token in answer", c.cfg.ClientID)
	}
	return tr, nil
}
