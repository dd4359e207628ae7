package ercotapi

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func loadPages(t *testing.T) map[int][]byte {
	t.Helper()
	pages := map[int][]byte{}
	for p := 1; p <= 3; p++ {
		b, err := os.ReadFile(filepath.Join("testdata", "np6-905-cd_page"+string(rune('0'+p))+".json"))
		if err != nil {
			t.Fatal(err)
		}
		pages[p] = b
	}
	return pages
}

// TestQueryThreePages replays three fixture pages of the documented
// envelope: every page is asked for once, with the token and key, and the
// rows of all pages come back in order.
func TestQueryThreePages(t *testing.T) {
	f := newFakeAPI(t)
	f.pages = loadPages(t)
	c := f.client(t, clock.NewManual(utc(2024, 11, 5, 12, 0)), func(c *Config) { c.PageSize = 4 })
	rep, err := c.Query(context.Background(), PathSPP, url.Values{"deliveryDateFrom": {"2024-11-03"}, "deliveryDateTo": {"2024-11-03"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rep.Rows), 11; got != want {
		t.Fatalf("rows: got %d, want %d", got, want)
	}
	if rep.EMIL != "NP6-905-CD" {
		t.Errorf("EMIL: got %q, want NP6-905-CD", rep.EMIL)
	}
	if got := rep.Column("dst_flag"); got != 6 {
		t.Errorf("Column(dst_flag): got %d, want 6", got)
	}
	calls := f.callLog()
	if len(calls) != 3 {
		t.Fatalf("calls: got %v, want 3 pages", calls)
	}
	for i, call := range calls {
		u, _ := url.Parse(call)
		if got, want := u.Query().Get("page"), string(rune('1'+i)); got != want {
			t.Errorf("call %d page: got %s, want %s", i, got, want)
		}
		if got := u.Query().Get("size"); got != "4" {
			t.Errorf("call %d size: got %s, want 4", i, got)
		}
	}
	if n := f.tokenCount(); n != 1 {
		t.Errorf("tokens fetched: got %d, want 1", n)
	}
}

// TestFixtureFallBackHour reads the fixture's fall-back hour: hour-ending 2
// appears twice (DSTFlag false, then true), and the load zone's LZ and
// LZEW rows are kept apart.
func TestFixtureFallBackHour(t *testing.T) {
	tests := []struct {
		point string
		from  time.Time
		to    time.Time
		want  []float64
	}{
		{"HB_NORTH", utc(2024, 11, 3, 6, 0), utc(2024, 11, 3, 8, 15), []float64{21.5, 20.75, 19.9, -2.25, 19.25, 18.5, 18.0, 17.75, 9315}},
		{"LZ_WEST", utc(2024, 11, 3, 6, 0), utc(2024, 11, 3, 6, 15), []float64{23.1}},
		{"LZ_WEST_EW", utc(2024, 11, 3, 6, 0), utc(2024, 11, 3, 6, 15), []float64{23.05}},
	}
	for _, tt := range tests {
		t.Run(tt.point, func(t *testing.T) {
			f := newFakeAPI(t)
			f.pages = loadPages(t)
			c := f.client(t, clock.NewManual(utc(2024, 11, 5, 12, 0)), nil)
			src, err := NewRealTimeSPP(c, tt.point, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s, err := src.Schedule(context.Background(), tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			var want price.Schedule
			for i, p := range tt.want {
				st := tt.from.Add(time.Duration(i) * 15 * time.Minute)
				want = append(want, price.Point{Interval: energy.Interval{Start: st, End: st.Add(15 * time.Minute)}, Price: energy.Price(p)})
			}
			if d := cmp.Diff(want, s); d != "" {
				t.Errorf("schedule (-want +got):\n%s", d)
			}
			u, _ := url.Parse(f.callLog()[0])
			if got, want := u.Query().Get("settlementPoint"), queryPoint(tt.point); got != want {
				t.Errorf("settlementPoint filter: got %q, want %q", got, want)
			}
		})
	}
}

// TestTokenRenewedOn401: the API refuses a token it issued (revoked early);
// the client gets a new one and the request succeeds.
func TestTokenRenewedOn401(t *testing.T) {
	f := newFakeAPI(t)
	f.setRows(PathSPP, sppDay(2024, 7, 1, "HB_NORTH", "HU", func(time.Time) float64 { return 30 }))
	f.reject401 = 1
	c := f.client(t, clock.NewManual(utc(2024, 7, 5, 0, 0)), nil)
	rep, err := c.Query(context.Background(), PathSPP, url.Values{"deliveryDateFrom": {"2024-07-01"}, "deliveryDateTo": {"2024-07-01"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 96 {
		t.Errorf("rows: got %d, want 96", len(rep.Rows))
	}
	if n := f.tokenCount(); n != 2 {
		t.Errorf("tokens fetched: got %d, want 2 (first refused)", n)
	}
	// A second 401 on the fresh token is not retried again.
	f.mu.Lock()
	f.reject401 = 2
	f.mu.Unlock()
	_, err = c.Query(context.Background(), PathSPP, url.Values{})
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "Access token is missing or invalid") {
		t.Errorf("second refusal: got %v, want ErrAuth with the API's message", err)
	}
}

// TestTokenRenewedBeforeExpiry: a token is replaced before it expires, on
// the injected clock, without a 401 round trip.
func TestTokenRenewedBeforeExpiry(t *testing.T) {
	f := newFakeAPI(t)
	f.expiresIn = "3600"
	clk := clock.NewManual(utc(2024, 7, 5, 0, 0))
	c := f.client(t, clk, nil)
	ctx := context.Background()
	for range 2 {
		if _, err := c.Query(ctx, PathSPP, url.Values{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.tokenCount(); n != 1 {
		t.Fatalf("tokens after two queries: got %d, want 1", n)
	}
	clk.Advance(56 * time.Minute) // within 5 minutes of expiry
	if _, err := c.Query(ctx, PathSPP, url.Values{}); err != nil {
		t.Fatal(err)
	}
	if n := f.tokenCount(); n != 2 {
		t.Errorf("tokens after 56 minutes: got %d, want 2", n)
	}
}

func TestBadCredentials(t *testing.T) {
	f := newFakeAPI(t)
	c := f.client(t, clock.NewManual(utc(2024, 7, 5, 0, 0)), func(c *Config) { c.Password = "wrong" })
	_, err := c.Query(context.Background(), PathSPP, url.Values{})
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "AADB2C90225") {
		t.Errorf("got %v, want ErrAuth naming B2C's AADB2C90225", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks the password: %v", err)
	}
	c = f.client(t, clock.NewManual(utc(2024, 7, 5, 0, 0)), func(c *Config) { c.SubscriptionKey = "nope" })
	_, err = c.Query(context.Background(), PathSPP, url.Values{})
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "subscription key") {
		t.Errorf("bad key: got %v, want ErrAuth naming the subscription key", err)
	}
}

// TestRetries: 429 and 503 answers are retried after the wait the server
// asks for, on the injected clock; the waits are recorded, none is real.
func TestRetries(t *testing.T) {
	tests := []struct {
		name    string
		busy    []busyReply
		want    []time.Duration
		wantErr error
	}{
		{
			name: "retry-after header",
			busy: []busyReply{{429, "7", `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 7 seconds."}`}, {429, "7", ""}},
			want: []time.Duration{7 * time.Second, 7 * time.Second},
		},
		{
			name: "gateway message only",
			busy: []busyReply{{429, "", `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 3 seconds."}`}},
			want: []time.Duration{3 * time.Second},
		},
		{
			name: "backoff without hint",
			busy: []busyReply{{503, "", "upstream busy"}, {502, "", ""}, {504, "", ""}},
			want: []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second},
		},
		{
			name:    "gives up",
			busy:    []busyReply{{429, "1", ""}, {429, "1", ""}, {429, "1", ""}, {429, "1", ""}, {429, "1", ""}},
			want:    []time.Duration{time.Second, time.Second, time.Second, time.Second},
			wantErr: ErrRateLimited,
		},
		{
			name:    "wait too long",
			busy:    []busyReply{{429, "3600", ""}},
			wantErr: ErrRateLimited,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.busy = tt.busy
			clk := &stepClock{now: utc(2024, 7, 5, 0, 0)}
			c := f.client(t, clk, nil)
			_, err := c.Query(context.Background(), PathSPP, url.Values{})
			if !errors.Is(err, tt.wantErr) && (tt.wantErr != nil || err != nil) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if d := cmp.Diff(tt.want, clk.waits()); d != "" {
				t.Errorf("waits (-want +got):\n%s", d)
			}
		})
	}
}

// TestPacing: the client sends at most RequestsPerMinute a minute after an
// initial burst of as many, waiting on the injected clock.
func TestPacing(t *testing.T) {
	f := newFakeAPI(t)
	clk := &stepClock{now: utc(2024, 7, 5, 0, 0)}
	c := f.client(t, clk, func(c *Config) { c.RequestsPerMinute = 6 })
	for range 7 { // one token request and six queries fill the burst
		if _, err := c.Query(context.Background(), PathSPP, url.Values{}); err != nil {
			t.Fatal(err)
		}
		if len(clk.waits()) > 0 {
			break
		}
	}
	if d := cmp.Diff([]time.Duration{10 * time.Second}, clk.waits()); d != "" {
		t.Errorf("waits (-want +got):\n%s", d)
	}
}

func TestHTTPErrorCarriesAPIMessage(t *testing.T) {
	f := newFakeAPI(t)
	c := f.client(t, clock.NewManual(utc(2024, 7, 5, 0, 0)), nil)
	_, err := c.Query(context.Background(), "/np9-999-cd/nothing", url.Values{})
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 404 || he.Message != "No static resource." {
		t.Fatalf("got %v, want an HTTPError 404 with the API's message", err)
	}
	if !strings.Contains(err.Error(), "/np9-999-cd/nothing") {
		t.Errorf("error %q does not name the path", err)
	}
}

func TestNewClientChecksConfig(t *testing.T) {
	good := Config{Username: "u", Password: "p", SubscriptionKey: "k"}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no secrets", func(c *Config) { *c = Config{} }, "no username, password, subscription key"},
		{"bad base", func(c *Config) { c.BaseURL = "ftp://x" }, "base url"},
		{"negative", func(c *Config) { c.PageSize = -1 }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			_, err := NewClient(cfg, Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	c, err := NewClient(good, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.BaseURL != DefaultBaseURL || c.cfg.TokenURL != DefaultTokenURL || c.cfg.ClientID != DefaultClientID {
		t.Errorf("defaults: got %q %q %q", c.cfg.BaseURL, c.cfg.TokenURL, c.cfg.ClientID)
	}
}

func TestConfigLogRedactsSecrets(t *testing.T) {
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "ercot", Config{Username: "u", Password: "hunter2", SubscriptionKey: "abc123"})
	if s := b.String(); strings.Contains(s, "hunter2") || strings.Contains(s, "abc123") || !strings.Contains(s, "[redacted]") {
		t.Errorf("log line %q leaks a secret", s)
	}
}
