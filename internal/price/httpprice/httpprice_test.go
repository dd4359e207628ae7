package httpprice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

func pt(start time.Time, d time.Duration, p float64) price.Point {
	return price.Point{Interval: energy.Interval{Start: start, End: start.Add(d)}, Price: energy.Price(p)}
}

// server serves body for path, counting requests and recording queries;
// it answers 401 unless the X-Api-Key header is "k".
type server struct {
	*httptest.Server
	mu      sync.Mutex
	hits    int
	queries []string
}

func serve(t *testing.T, contentType string, body func(r *http.Request) string) *server {
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits++
		s.queries = append(s.queries, r.URL.RawQuery)
		s.mu.Unlock()
		if r.Header.Get("X-Api-Key") != "k" {
			http.Error(w, `{"error":"missing api key"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", contentType)
		fmt.Fprint(w, body(r))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

func newSource(t *testing.T, cfg Config, clk clock.Clock, srv *server) *Source {
	t.Helper()
	if cfg.Headers == nil {
		cfg.Headers = map[string]string{"X-Api-Key": "k"}
	}
	s, err := New(cfg, Deps{HTTP: srv.Client(), Clock: clk})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

const jsonDoc = `{"data": {"market": "EPEX DE-LU", "prices": [
  {"start": "2024-07-01T00:00:00+02:00", "end": "2024-07-01T01:00:00+02:00", "price": 81.5},
  {"start": "2024-07-01T01:00:00+02:00", "end": "2024-07-01T02:00:00+02:00", "price": "-3.25"},
  {"start": "2024-07-01T03:00:00+02:00", "end": "2024-07-01T04:00:00+02:00", "price": 9999.99}
]}}`

// TestJSONWithCache: dot paths, RFC 3339 with offsets, a gap kept as a
// gap, and one request per TTL on the injected clock.
func TestJSONWithCache(t *testing.T) {
	srv := serve(t, "application/json", func(*http.Request) string { return jsonDoc })
	clk := clock.NewManual(utc(2024, 6, 30, 12, 0))
	src := newSource(t, Config{URL: srv.URL + "/prices?market=DE", Items: "data.prices", Start: "start", End: "end", Price: "price", TTL: 10 * time.Minute}, clk, srv)
	ctx := context.Background()
	from, to := utc(2024, 6, 30, 22, 0), utc(2024, 7, 1, 2, 0)
	want := price.Schedule{pt(utc(2024, 6, 30, 22, 0), time.Hour, 81.5), pt(utc(2024, 6, 30, 23, 0), time.Hour, -3.25), pt(utc(2024, 7, 1, 1, 0), time.Hour, 9999.99)}
	for range 2 {
		got, err := src.Schedule(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
		if d := cmp.Diff([]energy.Interval{{Start: utc(2024, 7, 1, 0, 0), End: utc(2024, 7, 1, 1, 0)}}, got.Gaps(from, to)); d != "" {
			t.Errorf("gaps (-want +got):\n%s", d)
		}
	}
	if n := srv.count(); n != 1 {
		t.Errorf("requests within the TTL: got %d, want 1", n)
	}
	clk.Advance(10 * time.Minute)
	if _, err := src.Schedule(ctx, from, to); err != nil {
		t.Fatal(err)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("requests after the TTL: got %d, want 2", n)
	}
	if _, err := src.Schedule(ctx, utc(2025, 1, 1, 0, 0), utc(2025, 1, 2, 0, 0)); !errors.Is(err, price.ErrNoData) {
		t.Errorf("span outside the series: got %v, want ErrNoData", err)
	}
}

// TestPlaceholdersUnixMSKWh: {from}/{to} in the query, unix milliseconds,
// a fixed interval length and $/kWh prices.
func TestPlaceholdersUnixMSKWh(t *testing.T) {
	srv := serve(t, "application/json", func(r *http.Request) string {
		from, _ := time.Parse(time.RFC3339, r.URL.Query().Get("start"))
		var rows []string
		for i := range 4 {
			ms := from.Add(time.Duration(i) * 15 * time.Minute).UnixMilli()
			rows = append(rows, fmt.Sprintf(`[%d, %g]`, ms, 0.05+float64(i)*0.01))
		}
		return "[" + strings.Join(rows, ",") + "]"
	})
	src := newSource(t, Config{URL: srv.URL + "/v1/rates?start={from}&end={to}", Start: "0", Price: "1",
		Interval: 15 * time.Minute, TimeFormat: UnixMS, Unit: "$/kWh"}, clock.NewManual(utc(2024, 1, 1, 0, 0)), srv)
	from := utc(2024, 1, 1, 0, 0)
	got, err := src.Schedule(context.Background(), from, from.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := price.Schedule{pt(from, 15*time.Minute, 50), pt(from.Add(15*time.Minute), 15*time.Minute, 60),
		pt(from.Add(30*time.Minute), 15*time.Minute, 70), pt(from.Add(45*time.Minute), 15*time.Minute, 80)}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b energy.Price) bool { return fmt.Sprintf("%.6f", a) == fmt.Sprintf("%.6f", b) })); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	srv.mu.Lock()
	q := srv.queries[0]
	srv.mu.Unlock()
	if q != "start=2024-01-01T00%3A00%3A00Z&end=2024-01-01T01%3A00%3A00Z" {
		t.Errorf("query: %s", q)
	}
	// Another span is another request.
	if _, err := src.Schedule(context.Background(), from.Add(time.Hour), from.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("requests: got %d, want 2", n)
	}
}

// TestCSVLocalLayout: a semicolon CSV with a byte-order mark and local
// times read in a named zone.
func TestCSVLocalLayout(t *testing.T) {
	doc := "\ufeffDatum;Von;Bis;Preis (EUR/MWh)\n" +
		"2024-07-01;2024-07-01 00:00;2024-07-01 01:00;81.5\n"
	srv := serve(t, "text/csv", func(*http.Request) string { return doc })
	src := newSource(t, Config{URL: srv.URL, Format: CSV, Comma: ";", Start: "von", End: "bis", Price: "Preis (EUR/MWh)",
		TimeFormat: "2006-01-02 15:04", TimeZone: "Europe/Berlin"}, clock.NewManual(utc(2024, 1, 1, 0, 0)), srv)
	got, err := src.Schedule(context.Background(), utc(2024, 6, 30, 0, 0), utc(2024, 7, 2, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(price.Schedule{pt(utc(2024, 6, 30, 22, 0), time.Hour, 81.5)}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestBadValues: each bad body is rejected whole, naming the row (or CSV
// line) and the field.
func TestBadValues(t *testing.T) {
	jsonCfg := Config{Items: "prices", Start: "t", Price: "p", Interval: time.Hour}
	csvCfg := Config{Format: CSV, Start: "t", End: "e", Price: "p"}
	tests := []struct {
		name string
		cfg  Config
		body string
		want string
	}{
		{"text price", jsonCfg, `{"prices":[{"t":"2024-01-01T00:00:00Z","p":1},{"t":"2024-01-01T01:00:00Z","p":"n/a"}]}`, `row 2: field "p": "n/a": not a number`},
		{"NaN price", jsonCfg, `{"prices":[{"t":"2024-01-01T00:00:00Z","p":"NaN"}]}`, `row 1: field "p": "NaN": not a finite number`},
		{"infinite price", jsonCfg, `{"prices":[{"t":"2024-01-01T00:00:00Z","p":1e999}]}`, `row 1: field "p"`},
		{"missing field", jsonCfg, `{"prices":[{"t":"2024-01-01T00:00:00Z"}]}`, `row 1: field "p": no key "p"`},
		{"zone-less time", jsonCfg, `{"prices":[{"t":"2024-01-01T00:00:00","p":1}]}`, `row 1: field "t": "2024-01-01T00:00:00": want RFC 3339`},
		{"null price", jsonCfg, `{"prices":[{"t":"2024-01-01T00:00:00Z","p":null}]}`, `row 1: field "p": null: want a number`},
		{"items not array", jsonCfg, `{"prices":{"t":1}}`, `items "prices": an object, want an array`},
		{"overlap", jsonCfg, `{"prices":[{"t":"2024-01-01T00:00:00Z","p":1},{"t":"2024-01-01T00:30:00Z","p":2}]}`, "overlaps"},
		{"not json", jsonCfg, `<html>`, "not JSON"},
		{"csv end before start", csvCfg, "t,e,p\n2024-01-01T01:00:00Z,2024-01-01T00:00:00Z,5\n", `line 2: field "e"`},
		{"csv bad price", csvCfg, "t,e,p\n2024-01-01T00:00:00Z,2024-01-01T01:00:00Z,5\n2024-01-01T01:00:00Z,2024-01-01T02:00:00Z,-\n", `line 3: field "p": "-": not a number`},
		{"csv missing column", csvCfg, "t,p\n", `no column "e"`},
		{"csv short line", csvCfg, "t,e,p\n2024-01-01T00:00:00Z\n", `line 2: no column "e"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, "application/json", func(*http.Request) string { return tt.body })
			cfg := tt.cfg
			cfg.URL = srv.URL
			src := newSource(t, cfg, clock.NewManual(utc(2024, 1, 1, 0, 0)), srv)
			_, err := src.Schedule(context.Background(), utc(2024, 1, 1, 0, 0), utc(2024, 1, 2, 0, 0))
			if !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrBadData containing %q", err, tt.want)
			}
		})
	}
}

func TestHTTPErrorHidesSecrets(t *testing.T) {
	srv := serve(t, "application/json", func(*http.Request) string { return "[]" })
	src, err := New(Config{URL: srv.URL + "/p?token=s3cret", Start: "t", Price: "p", Interval: time.Hour,
		Headers: map[string]string{"X-Api-Key": "wrong-key"}}, Deps{HTTP: srv.Client(), Clock: clock.NewManual(utc(2024, 1, 1, 0, 0))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Schedule(context.Background(), utc(2024, 1, 1, 0, 0), utc(2024, 1, 2, 0, 0))
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "missing api key") {
		t.Fatalf("got %v, want the HTTP status and body", err)
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "wrong-key") {
		t.Errorf("error leaks a secret: %v", err)
	}
}

func TestNewChecksConfig(t *testing.T) {
	ok := Config{URL: "https://example.com/p", Start: "t", Price: "p", Interval: time.Hour}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no url", func(c *Config) { c.URL = "" }, "want an http(s) URL"},
		{"format", func(c *Config) { c.Format = "xml" }, "format"},
		{"no price", func(c *Config) { c.Price = "" }, "required"},
		{"no length", func(c *Config) { c.Interval = 0 }, "interval"},
		{"both", func(c *Config) { c.End = "e" }, "not both"},
		{"unit", func(c *Config) { c.Unit = "ct/kWh" }, "unit"},
		{"layout without zone", func(c *Config) { c.TimeFormat = "2006-01-02 15:04" }, "set time_zone"},
		{"bad zone", func(c *Config) { c.TimeFormat = "2006-01-02 15:04"; c.TimeZone = "Mars/Base" }, "time zone"},
		{"bad header", func(c *Config) { c.Headers = map[string]string{"X-Key": "a\r\nb"} }, "header"},
		{"comma", func(c *Config) { c.Format = CSV; c.Comma = ";;" }, "comma"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			if _, err := New(cfg, Deps{}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := New(ok, Deps{}); err != nil {
		t.Error(err)
	}
}

func TestConfigLogRedactsSecrets(t *testing.T) {
	var b strings.Builder
	cfg := Config{URL: "https://api.example.com/p?key=s3cret", Headers: map[string]string{"Authorization": "Bearer t0ken"}}
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "price", cfg)
	if s := b.String(); strings.Contains(s, "s3cret") || strings.Contains(s, "t0ken") || !strings.Contains(s, "Authorization") {
		t.Errorf("log line %q leaks a secret", s)
	}
}
