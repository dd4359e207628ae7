package ercotapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
)

// Real endpoints and the public client id of ERCOT's Public API.
const (
	DefaultBaseURL  = "https://api.ercot.com/api/public-reports"
	DefaultTokenURL = "https://ercotb2c.b2clogin.com/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token"
	DefaultClientID = "fec253ea-0d06-4272-a5e6-b478baeecd70"
)

// Report paths, relative to the base URL.
const (
	PathSPP = "/np6-905-cd/spp_node_zone_hub"
	PathLMP = "/np6-788-cd/lmp_node_zone_hub"
	PathRTD = "/np6-970-cd/rtd_lmp_node_zone_hub"
)

// Defaults of Config's zero fields.
const (
	DefaultPageSize          = 10000
	DefaultRequestTimeout    = 30 * time.Second
	DefaultRequestsPerMinute = 30
	DefaultMaxAttempts       = 5
	DefaultMaxRetryWait      = 2 * time.Minute
	DefaultMaxPages          = 1000

	// defaultTokenLife is assumed when the token response gives no lifetime.
	defaultTokenLife = time.Hour
	// tokenMargin is how long before its expiry a token is replaced.
	tokenMargin = 5 * time.Minute
	// maxBody bounds one response body.
	maxBody = 64 << 20
	// firstBackoff and maxBackoff bound the retry waits the server does not set.
	firstBackoff = 2 * time.Second
	maxBackoff   = time.Minute
)

// Errors callers branch on.
var (
	// ErrAuth reports that the token endpoint refused the credentials, or
	// the API refused a fresh token or the subscription key.
	ErrAuth = errors.New("ercot api: not authorized")
	// ErrRateLimited reports a request still answered 429 after every
	// attempt, or one whose server asked for a longer wait than allowed.
	ErrRateLimited = errors.New("ercot api: rate limited")
	// ErrBadPayload reports a response that is not the documented envelope
	// or holds a row that cannot be read.
	ErrBadPayload = errors.New("ercot api: bad payload")
)

// Config holds what a Client needs to reach the API. Username, Password and
// SubscriptionKey are secrets: the Client never logs them.
type Config struct {
	// BaseURL is the public-reports root ("": DefaultBaseURL).
	BaseURL string
	// TokenURL is the Azure B2C ROPC token endpoint ("": DefaultTokenURL).
	TokenURL string
	// ClientID is the B2C application id ("": DefaultClientID).
	ClientID string
	// Username and Password are the API Explorer account's credentials.
	Username, Password string
	// SubscriptionKey is the account's primary or secondary key.
	SubscriptionKey string
	// PageSize is the rows asked per page (0: DefaultPageSize).
	PageSize int
	// MaxPages bounds the pages of one query (0: DefaultMaxPages).
	MaxPages int
	// RequestTimeout bounds each HTTP request, on wall time
	// (0: DefaultRequestTimeout).
	RequestTimeout time.Duration
	// RequestsPerMinute paces requests, token requests included
	// (0: DefaultRequestsPerMinute; negative: no pacing).
	RequestsPerMinute int
	// MaxAttempts bounds the tries of a request answered 429, 502, 503 or
	// 504 (0: DefaultMaxAttempts).
	MaxAttempts int
	// MaxRetryWait is the longest wait a server may ask for before the
	// request fails with ErrRateLimited (0: DefaultMaxRetryWait).
	MaxRetryWait time.Duration
}

// LogValue logs the config with its secrets redacted.
func (c Config) LogValue() slog.Value {
	redact := func(s string) string {
		if s == "" {
			return ""
		}
		return "[redacted]"
	}
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL), slog.String("token_url", c.TokenURL),
		slog.String("username", c.Username), slog.String("password", redact(c.Password)),
		slog.String("subscription_key", redact(c.SubscriptionKey)),
		slog.Int("page_size", c.PageSize), slog.Int("requests_per_minute", c.RequestsPerMinute),
	)
}

// Deps are the Client's collaborators; zero values get defaults.
type Deps struct {
	// HTTP sends the requests (nil: a client with the default transport).
	HTTP *http.Client
	// Clock times token expiry, pacing, retry waits and cache freshness
	// (nil: the wall clock).
	Clock clock.Clock
	// Logger receives debug lines per request and warnings per retry
	// (nil: discarded).
	Logger *slog.Logger
}

// Client talks to ERCOT's Public API. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
	clk  clock.Clock
	log  *slog.Logger

	tokMu      sync.Mutex
	token      string
	tokenRenew time.Time // when to replace token

	pace pacer
}

// NewClient checks cfg and returns a Client. It does no I/O.
func NewClient(cfg Config, deps Deps) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	for _, u := range []struct{ name, v string }{{"base url", cfg.BaseURL}, {"token url", cfg.TokenURL}} {
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("ercot api: %s %q: want an http(s) URL", u.name, u.v)
		}
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	var missing []string
	if cfg.Username == "" {
		missing = append(missing, "username")
	}
	if cfg.Password == "" {
		missing = append(missing, "password")
	}
	if cfg.SubscriptionKey == "" {
		missing = append(missing, "subscription key")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("ercot api: no %s (register at https://apiexplorer.ercot.com)", strings.Join(missing, ", "))
	}
	if cfg.PageSize < 0 || cfg.MaxPages < 0 || cfg.RequestTimeout < 0 || cfg.MaxAttempts < 0 || cfg.MaxRetryWait < 0 {
		return nil, errors.New("ercot api: negative page size, page limit, timeout, attempts or retry wait")
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.MaxPages == 0 {
		cfg.MaxPages = DefaultMaxPages
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.RequestsPerMinute == 0 {
		cfg.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxRetryWait == 0 {
		cfg.MaxRetryWait = DefaultMaxRetryWait
	}
	c := &Client{cfg: cfg, http: deps.HTTP, clk: deps.Clock, log: deps.Logger}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.clk == nil {
		c.clk = clock.Real{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.pace = pacer{perMinute: cfg.RequestsPerMinute}
	return c, nil
}

// HTTPError is a response whose status is not 2xx. Message is the API's own
// error message when the body carries one (ERCOT's {"message": ...}, the
// gateway's {"statusCode": ..., "message": ...} or B2C's error_description),
// else the start of the body.
type HTTPError struct {
	Op         string
	StatusCode int
	Status     string
	Message    string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s: HTTP %s", e.Op, e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Field is one column of a report.
type Field struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	DataType string `json:"dataType"`
}

// Report is every row of a query, over all its pages. Row values are what
// JSON holds: string, json.Number, bool or nil.
type Report struct {
	// EMIL is the report's EMIL id ("NP6-905-CD") when the API names it.
	EMIL   string
	Fields []Field
	Rows   [][]any
}

// Column returns the index of the first field named any of names, compared
// without case or punctuation ("DSTFlag" matches "dstFlag" and
// "DST_FLAG"), or -1.
func (r *Report) Column(names ...string) int {
	for _, n := range names {
		want := normName(n)
		for i, f := range r.Fields {
			if normName(f.Name) == want {
				return i
			}
		}
	}
	return -1
}

func normName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Query fetches every page of path (a report path such as PathSPP) with the
// given filters and returns their rows. params must not hold page or size.
func (c *Client) Query(ctx context.Context, path string, params url.Values) (*Report, error) {
	op := "ercot api " + path
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	q.Set("size", strconv.Itoa(c.cfg.PageSize))
	var rep *Report
	total := 1
	for page := 1; page <= total; page++ {
		q.Set("page", strconv.Itoa(page))
		pg, err := c.getPage(ctx, op, c.cfg.BaseURL+path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("%s page %d: %w", op, page, err)
		}
		if page == 1 {
			rep = &Report{EMIL: pg.Report.EMIL, Fields: pg.Fields}
			total = pg.Meta.TotalPages
			if total > c.cfg.MaxPages {
				return nil, fmt.Errorf("%s: %d pages of %d rows, more than the limit of %d: narrow the query", op, total, c.cfg.PageSize, c.cfg.MaxPages)
			}
		} else if !sameFields(rep.Fields, pg.Fields) {
			return nil, fmt.Errorf("%s page %d: fields differ from page 1: %w", op, page, ErrBadPayload)
		}
		rows, err := pg.rows()
		if err != nil {
			return nil, fmt.Errorf("%s page %d: %w", op, page, err)
		}
		rep.Rows = append(rep.Rows, rows...)
		c.log.Debug("ercot api page", "path", path, "page", page, "pages", total, "rows", len(rows))
	}
	return rep, nil
}

func sameFields(a, b []Field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name {
			return false
		}
	}
	return true
}

// wirePage is one page of the envelope.
type wirePage struct {
	Meta struct {
		TotalRecords int `json:"totalRecords"`
		PageSize     int `json:"pageSize"`
		TotalPages   int `json:"totalPages"`
		CurrentPage  int `json:"currentPage"`
	} `json:"_meta"`
	Report struct {
		EMIL string `json:"reportEMIL"`
	} `json:"report"`
	Fields []Field          `json:"fields"`
	Data   *json.RawMessage `json:"data"`
}

// decodePage reads one page of the envelope.
func decodePage(body []byte) (*wirePage, error) {
	var pg wirePage
	if err := json.Unmarshal(body, &pg); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if pg.Fields == nil {
		return nil, fmt.Errorf("%w: no fields (not a report page)", ErrBadPayload)
	}
	if pg.Meta.TotalPages < 0 || pg.Meta.CurrentPage < 0 {
		return nil, fmt.Errorf("%w: negative page count", ErrBadPayload)
	}
	for i, f := range pg.Fields {
		if f.Name == "" {
			return nil, fmt.Errorf("%w: field %d has no name", ErrBadPayload, i)
		}
	}
	return &pg, nil
}

// rows decodes data: an array of rows, each an array ordered as fields (or
// an object keyed by field name); null or an empty object is no rows.
func (pg *wirePage) rows() ([][]any, error) {
	if pg.Data == nil {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(*pg.Data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: data: %v", ErrBadPayload, err)
	}
	switch d := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		if len(d) == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: data is an object, want an array of rows", ErrBadPayload)
	case []any:
		out := make([][]any, 0, len(d))
		for i, r := range d {
			switch row := r.(type) {
			case []any:
				if len(row) != len(pg.Fields) {
					return nil, fmt.Errorf("%w: row %d has %d values for %d fields", ErrBadPayload, i+1, len(row), len(pg.Fields))
				}
				out = append(out, row)
			case map[string]any:
				vals := make([]any, len(pg.Fields))
				for j, f := range pg.Fields {
					vals[j] = row[f.Name]
				}
				out = append(out, vals)
			default:
				return nil, fmt.Errorf("%w: row %d is %T, want an array", ErrBadPayload, i+1, r)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: data is %T, want an array of rows", ErrBadPayload, v)
}

// getPage GETs one page, with the bearer token, the subscription key,
// pacing, the per-request deadline, one token renewal on 401 and retries
// on 429 and 5xx gateway errors.
func (c *Client) getPage(ctx context.Context, op, u string) (*wirePage, error) {
	renewed := false
	for attempt := 1; ; attempt++ {
		tok, err := c.bearer(ctx)
		if err != nil {
			return nil, err
		}
		if err := c.pace.wait(ctx, c.clk); err != nil {
			return nil, err
		}
		status, hdr, body, err := c.do(ctx, http.MethodGet, u, nil, func(h http.Header) {
			h.Set("Authorization", "Bearer "+tok)
			h.Set("Ocp-Apim-Subscription-Key", c.cfg.SubscriptionKey)
			h.Set("Accept", "application/json")
		})
		if err != nil {
			return nil, err
		}
		c.log.Debug("ercot api request", "url", u, "status", status, "attempt", attempt)
		switch {
		case status >= 200 && status < 300:
			return decodePage(body)
		case status == http.StatusUnauthorized && !renewed:
			// The token expired early or was revoked: get a fresh one, once.
			renewed = true
			c.dropToken(tok)
			attempt--
			c.log.Info("ercot api refused the token; renewing it", "status", status)
			continue
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			return nil, fmt.Errorf("%w: %w", ErrAuth, httpError(op, status, body))
		case retryable(status):
			herr := httpError(op, status, body)
			if attempt >= c.cfg.MaxAttempts {
				if status == http.StatusTooManyRequests {
					return nil, fmt.Errorf("%w: still refused after %d attempts: %w", ErrRateLimited, attempt, herr)
				}
				return nil, fmt.Errorf("gave up after %d attempts: %w", attempt, herr)
			}
			wait := retryDelay(hdr, body, attempt, c.clk.Now())
			if wait > c.cfg.MaxRetryWait {
				return nil, fmt.Errorf("%w: the server asks to wait %s (more than %s): %w", ErrRateLimited, wait, c.cfg.MaxRetryWait, herr)
			}
			c.log.Warn("ercot api busy; waiting to retry", "status", status, "wait", wait, "attempt", attempt+1, "of", c.cfg.MaxAttempts)
			if err := c.clk.Sleep(ctx, wait); err != nil {
				return nil, fmt.Errorf("waiting to retry: %w", err)
			}
		default:
			return nil, httpError(op, status, body)
		}
	}
}

// do sends one request with its own deadline and reads the whole body.
func (c *Client) do(ctx context.Context, method, u string, body []byte, headers func(http.Header)) (int, http.Header, []byte, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(rctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("User-Agent", "gridminer (+https://github.com/gridminer/gridminer)")
	headers(req.Header)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read response: %w", err)
	}
	if len(b) > maxBody {
		return 0, nil, nil, fmt.Errorf("response larger than %d bytes", maxBody)
	}
	return resp.StatusCode, resp.Header, b, nil
}

func retryable(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// tryAgain matches the API gateway's "Rate limit is exceeded. Try again in
// 5 seconds." message.
var tryAgain = regexp.MustCompile(`(?i)try again in (\d{1,6}) seconds?`)

// retryDelay is the wait before attempt+1: Retry-After (seconds or an HTTP
// date read against now), else the gateway message's "try again in N
// seconds", else 2 s doubling per attempt up to a minute.
func retryDelay(h http.Header, body []byte, attempt int, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	if m := tryAgain.FindSubmatch(body); m != nil {
		if s, err := strconv.Atoi(string(m[1])); err == nil {
			return time.Duration(s) * time.Second
		}
	}
	d := firstBackoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// httpError builds the error of a non-2xx response from its body.
func httpError(op string, status int, body []byte) *HTTPError {
	return &HTTPError{Op: op, StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), Message: apiMessage(body)}
}

// apiMessage extracts the message of an error body: ERCOT's exception
// ({"code", "status", "message"}), the gateway's ({"statusCode",
// "message"}) or B2C's ({"error", "error_description"}); else the start of
// the body as text.
func apiMessage(body []byte) string {
	var e struct {
		Message     string `json:"message"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil {
		switch {
		case e.Description != "":
			return clip(e.Error + ": " + e.Description)
		case e.Message != "":
			return clip(e.Message)
		case e.Error != "":
			return clip(e.Error)
		}
	}
	return clip(strings.Join(strings.Fields(string(body)), " "))
}

func clip(s string) string {
	const n = 300
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// pacer is a token bucket: perMinute requests a minute, bursting up to
// perMinute, on the injected clock. Callers reserve a slot and wait outside
// the lock.
type pacer struct {
	perMinute int
	mu        sync.Mutex
	tokens    float64
	last      time.Time
	started   bool
}

func (p *pacer) wait(ctx context.Context, clk clock.Clock) error {
	if p.perMinute < 0 {
		return ctx.Err()
	}
	rate := float64(p.perMinute) / float64(time.Minute) // tokens per nanosecond
	p.mu.Lock()
	now := clk.Now()
	if !p.started {
		p.tokens, p.last, p.started = float64(p.perMinute), now, true
	}
	if el := now.Sub(p.last); el > 0 {
		p.tokens = min(float64(p.perMinute), p.tokens+float64(el)*rate)
		p.last = now
	}
	p.tokens--
	var wait time.Duration
	if p.tokens < 0 {
		wait = time.Duration(-p.tokens / rate)
	}
	p.mu.Unlock()
	if wait <= 0 {
		return ctx.Err()
	}
	return clk.Sleep(ctx, wait)
}
