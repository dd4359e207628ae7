package datafetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gridminer/gridminer/internal/clock"
)

// DefaultUserAgent names gridminer to the servers it downloads from.
const DefaultUserAgent = "gridminer-datafetch/1 (+https://github.com/gridminer/gridminer)"

// DefaultTimeout bounds a whole fetch when the caller's context has no
// deadline of its own.
const DefaultTimeout = 10 * time.Minute

const (
	defaultMaxAttempts = 5
	defaultMaxWait     = 2 * time.Minute
	firstBackoff       = 2 * time.Second
	maxBackoff         = time.Minute
)

// ErrRateLimited is wrapped by the error of a request still answered with
// HTTP 429 after every attempt, or whose server asked for a longer wait than
// Net.MaxWait.
var ErrRateLimited = errors.New("rate limited")

// Net is how the fetchers reach the network. The zero value is ready to use:
// a plain http.Client, DefaultUserAgent, no progress output, the wall clock,
// 5 attempts per request and waits of at most 2 minutes.
type Net struct {
	// Client sends the requests; nil uses a client with the default transport
	// (which honours HTTPS_PROXY and friends). Deadlines come from the
	// context, so a Client.Timeout is not needed.
	Client *http.Client
	// UserAgent is sent with every request; "" sends DefaultUserAgent.
	UserAgent string
	// Progress receives one line per step (nil: none).
	Progress io.Writer
	// Clock waits between attempts; nil is the wall clock. Tests inject a
	// clock that records the waits and returns at once.
	Clock clock.Clock
	// MaxAttempts bounds the tries of one request answered 429, 502, 503 or
	// 504 (0: 5).
	MaxAttempts int
	// MaxWait is the longest single wait honoured; a server asking for more
	// fails the request with ErrRateLimited (0: 2 minutes).
	MaxWait time.Duration
}

// HTTPError is a response whose status is not 2xx. Detail holds the start of
// the body (an API's error message, an HTML page's title).
type HTTPError struct {
	URL        string
	StatusCode int
	Status     string
	Detail     string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("GET %s: HTTP %s", e.URL, e.Status)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (n *Net) client() *http.Client {
	if n.Client != nil {
		return n.Client
	}
	return &http.Client{}
}

func (n *Net) clock() clock.Clock {
	if n.Clock != nil {
		return n.Clock
	}
	return clock.Real{}
}

func (n *Net) userAgent() string {
	if n.UserAgent != "" {
		return n.UserAgent
	}
	return DefaultUserAgent
}

func (n *Net) progressf(format string, args ...any) {
	if n.Progress != nil {
		fmt.Fprintf(n.Progress, format+"\n", args...)
	}
}

// withDeadline gives ctx DefaultTimeout when it has no deadline, so that no
// network call goes unbounded.
func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// get sends GET url and returns a 2xx response, whose body the caller
// closes. Statuses 429, 502, 503 and 504 are retried up to MaxAttempts
// times, waiting as the server asks (Retry-After, else X-RateLimit-Reset)
// or with exponential backoff; any other status is an *HTTPError. what names
// the operation in errors and progress lines.
func (n *Net) get(ctx context.Context, what, url, accept string) (*http.Response, error) {
	attempts := n.MaxAttempts
	if attempts <= 0 {
		attempts = defaultMaxAttempts
	}
	maxWait := n.MaxWait
	if maxWait <= 0 {
		maxWait = defaultMaxWait
	}
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		req.Header.Set("User-Agent", n.userAgent())
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := n.client().Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, nil
		}
		herr := readHTTPError(url, resp)
		if !retryable(resp.StatusCode) {
			return nil, fmt.Errorf("%s: %w", what, herr)
		}
		if attempt >= attempts {
			if resp.StatusCode == http.StatusTooManyRequests {
				return nil, fmt.Errorf("%s: %w: still refused after %d attempts: %w", what, ErrRateLimited, attempt, herr)
			}
			return nil, fmt.Errorf("%s: gave up after %d attempts: %w", what, attempt, herr)
		}
		wait := retryDelay(resp.Header, attempt, n.clock().Now())
		if wait > maxWait {
			return nil, fmt.Errorf("%s: %w: the server asks to wait %s (more than %s); try again later: %w",
				what, ErrRateLimited, wait, maxWait, herr)
		}
		n.progressf("%s: HTTP %d, waiting %s before attempt %d of %d", what, resp.StatusCode, wait, attempt+1, attempts)
		if err := n.clock().Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s: waiting to retry: %w", what, err)
		}
	}
}

func retryable(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryDelay is the wait before attempt+1: the server's Retry-After (delta
// seconds or an HTTP date, read against now), else its X-RateLimit-Reset
// (delta seconds, as Coin Metrics sends), else 2s doubling per attempt up to
// a minute.
func retryDelay(h http.Header, attempt int, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
	}
	d := firstBackoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// readHTTPError builds the error of a non-2xx response and closes its body.
func readHTTPError(url string, resp *http.Response) *HTTPError {
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return &HTTPError{URL: url, StatusCode: resp.StatusCode, Status: resp.Status, Detail: describeBody(resp.Header.Get("Content-Type"), head)}
}

// describeBody says in one short line what a body is: an HTML page's title,
// or its first line of text.
func describeBody(contentType string, head []byte) string {
	s := string(head)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	lower := strings.ToLower(s)
	if strings.Contains(strings.ToLower(contentType), "html") || strings.Contains(lower, "<html") || strings.Contains(lower, "<!doctype html") {
		title := ""
		if i := strings.Index(lower, "<title>"); i >= 0 {
			rest := s[i+len("<title>"):]
			if j := strings.Index(strings.ToLower(rest), "</title>"); j >= 0 {
				title = strings.Join(strings.Fields(rest[:j]), " ")
			}
		}
		if title != "" {
			return fmt.Sprintf("an HTML page titled %q", clip(title, 120))
		}
		return "an HTML page"
	}
	line := strings.Join(strings.Fields(s), " ")
	if line == "" {
		return ""
	}
	return fmt.Sprintf("%q", clip(line, 160))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// writeAtomic writes path through a temporary file in its directory: fill
// writes the content, check (if not nil) inspects the finished temporary
// file, and only then is it renamed over path. On any error the temporary
// file is removed and path is left as it was. It returns the bytes written.
func writeAtomic(path string, fill func(w io.Writer) error, check func(tmp string) error) (int64, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.part")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	cw := &countWriter{w: f}
	if err := fill(cw); err != nil {
		return cw.n, err
	}
	if err := f.Sync(); err != nil {
		return cw.n, err
	}
	if err := f.Close(); err != nil {
		return cw.n, err
	}
	if check != nil {
		if err := check(tmp); err != nil {
			return cw.n, err
		}
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return cw.n, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return cw.n, err
	}
	ok = true
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// mib formats a byte count: in MiB with one decimal from 1 MiB, else in bytes.
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
