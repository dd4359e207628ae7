package pricefeed_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/bitcoin/live/pricefeed"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func serve(t *testing.T, path string, body []byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestPresets(t *testing.T) {
	tests := []struct {
		name string
		cfg  pricefeed.Config
		path string // where the preset's URL points, replayed locally
		body []byte
		want pricefeed.Quote
	}{
		{
			name: "coinbase",
			cfg:  pricefeed.Config{Preset: pricefeed.PresetCoinbase},
			path: "/v2/prices/BTC-USD/spot",
			body: fixture(t, "coinbase-spot.json"),
			want: pricefeed.Quote{USD: 97213.455},
		},
		{
			name: "mempool",
			cfg:  pricefeed.Config{Preset: pricefeed.PresetMempool},
			path: "/api/v1/prices",
			body: fixture(t, "mempool-prices.json"),
			want: pricefeed.Quote{USD: 43753, Time: time.Unix(1703252411, 0).UTC()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.path, tt.body)
			tt.cfg.URL = srv.URL + tt.path // a self-hosted instance keeps the preset's paths
			f, err := pricefeed.New(tt.cfg, pricefeed.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Quote(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("quote (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseQuote(t *testing.T) {
	t0 := time.Date(2024, 11, 15, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		body           string
		path, timePath string
		want           pricefeed.Quote
		wantErr        bool
	}{
		{name: "number", body: `{"USD":65000}`, path: "USD", want: pricefeed.Quote{USD: 65000}},
		{name: "string", body: `{"data":{"amount":" 65000.5 "}}`, path: "data.amount", want: pricefeed.Quote{USD: 65000.5}},
		{name: "array index", body: `[{"price":1},{"price":"2.5"}]`, path: "1.price", want: pricefeed.Quote{USD: 2.5}},
		{name: "unix seconds", body: `{"p":1,"t":1731700800}`, path: "p", timePath: "t", want: pricefeed.Quote{USD: 1, Time: t0}},
		{name: "unix milliseconds", body: `{"p":1,"t":1731700800000}`, path: "p", timePath: "t", want: pricefeed.Quote{USD: 1, Time: t0}},
		{name: "seconds as string", body: `{"p":1,"t":"1731700800"}`, path: "p", timePath: "t", want: pricefeed.Quote{USD: 1, Time: t0}},
		{name: "rfc 3339", body: `{"p":1,"t":"2024-11-15T14:00:00-06:00"}`, path: "p", timePath: "t", want: pricefeed.Quote{USD: 1, Time: t0}},
		{name: "no price available", body: string(fixture(t, "mempool-prices-unavailable.json")), path: "USD", wantErr: true},
		{name: "zero", body: `{"USD":0}`, path: "USD", wantErr: true},
		{name: "nan string", body: `{"USD":"NaN"}`, path: "USD", wantErr: true},
		{name: "infinite", body: `{"USD":1e999}`, path: "USD", wantErr: true},
		{name: "null", body: `{"USD":null}`, path: "USD", wantErr: true},
		{name: "missing key", body: `{"EUR":1}`, path: "USD", wantErr: true},
		{name: "path through a number", body: `{"data":5}`, path: "data.amount", wantErr: true},
		{name: "index out of range", body: `[1]`, path: "1", wantErr: true},
		{name: "time before bitcoin", body: `{"p":1,"t":86400}`, path: "p", timePath: "t", wantErr: true},
		{name: "time missing", body: `{"p":1}`, path: "p", timePath: "t", wantErr: true},
		{name: "time not a time", body: `{"p":1,"t":"yesterday"}`, path: "p", timePath: "t", wantErr: true},
		{name: "not json", body: `<html>`, path: "USD", wantErr: true},
		{name: "two documents", body: `{"USD":1}{"USD":2}`, path: "USD", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pricefeed.ParseQuote([]byte(tt.body), tt.path, tt.timePath)
			if tt.wantErr {
				if !errors.Is(err, pricefeed.ErrBadResponse) {
					t.Errorf("ParseQuote = %+v, %v; want an error wrapping ErrBadResponse", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("quote (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQuoteErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		hang    bool // the server never answers: a short timeout
		check   func(error) bool
		want    string
	}{
		{
			name: "service unavailable",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "upstream down", http.StatusServiceUnavailable)
			},
			check: func(err error) bool { return err != nil && strings.Contains(err.Error(), "http 503") },
			want:  "an error naming http 503",
		},
		{
			name: "endless body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"USD":"`))
				_, _ = w.Write(bytes.Repeat([]byte("1"), 2<<20))
				_, _ = w.Write([]byte(`"}`))
			},
			check: func(err error) bool { return errors.Is(err, pricefeed.ErrBadResponse) },
			want:  "ErrBadResponse",
		},
		{
			name: "source never answers",
			hang: true,
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				<-r.Context().Done()
			},
			check: func(err error) bool { return errors.Is(err, context.DeadlineExceeded) },
			want:  "context.DeadlineExceeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			f, err := pricefeed.New(pricefeed.Config{URL: srv.URL, Path: "USD", Timeout: timeout(tt.hang)}, pricefeed.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Quote(context.Background())
			if !tt.check(err) {
				t.Errorf("Quote error = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     pricefeed.Config
		wantErr string
	}{
		{name: "coinbase", cfg: pricefeed.Config{Preset: "coinbase"}},
		{name: "mempool self-hosted", cfg: pricefeed.Config{Preset: "mempool", URL: "http://umbrel.local:3006/api/v1/prices"}},
		{name: "generic", cfg: pricefeed.Config{URL: "https://example.com/btc", Path: "result.0.last", TimePath: "result.0.time", Timeout: time.Second}},
		{name: "nothing", cfg: pricefeed.Config{}, wantErr: "give a preset"},
		{name: "unknown preset", cfg: pricefeed.Config{Preset: "binance"}, wantErr: "preset"},
		{name: "url without path", cfg: pricefeed.Config{URL: "https://example.com/btc"}, wantErr: "path"},
		{name: "empty segment", cfg: pricefeed.Config{URL: "https://example.com/btc", Path: "data..amount"}, wantErr: "empty segment"},
		{name: "bad time path", cfg: pricefeed.Config{URL: "https://example.com/btc", Path: "p", TimePath: "t."}, wantErr: "time_path"},
		{name: "not http", cfg: pricefeed.Config{URL: "file:///etc/passwd", Path: "p"}, wantErr: "want http"},
		{name: "negative timeout", cfg: pricefeed.Config{Preset: "coinbase", Timeout: -1}, wantErr: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// timeout is the per-request timeout of an error case: short when the
// server never answers (the error is the point), ample otherwise so that
// a slow machine does not turn a reply into a timeout.
func timeout(hang bool) time.Duration {
	if hang {
		return 50 * time.Millisecond
	}
	return time.Minute
}
