package mempoolapi_test

import (
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

	"github.com/gridminer/gridminer/internal/bitcoin/live/mempoolapi"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replay serves fixed bodies by path (GET only) and 404 for the rest.
func replay(t *testing.T, bodies map[string][]byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			t.Errorf("%s %s: want GET", r.Method, r.URL.Path)
		}
		body, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/height") {
			w.Header().Set("Content-Type", "text/plain")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSnapshot(t *testing.T) {
	tests := []struct {
		name   string
		prefix string // the instance's path under the host
		cfg    mempoolapi.Config
		bodies map[string][]byte
		want   mempoolapi.Snapshot
	}{
		{
			name: "documented example",
			bodies: map[string][]byte{
				"/api/blocks/tip/height": fixture(t, "tip-height.txt"),
				"/api/v1/blocks":         fixture(t, "blocks-730000.json"),
			},
			want: mempoolapi.Snapshot{
				TipHeight:        730000,
				TipTime:          time.Unix(1648829449, 0).UTC(),
				Difficulty:       28587155782195.14,
				FeesPerBlockSats: (16321983 + 24090210) / 2.0,
				FeeBlocks:        2,
			},
		},
		{
			name: "a block arrived between the calls",
			bodies: map[string][]byte{
				"/api/blocks/tip/height": []byte("870001"),
				"/api/v1/blocks":         fixture(t, "blocks-870000.json"),
			},
			want: mempoolapi.Snapshot{TipHeight: 870001, Difficulty: 101646843652785.2, FeesPerBlockSats: 4_700_000, FeeBlocks: 15},
		},
		{
			name: "six newest blocks",
			cfg:  mempoolapi.Config{FeeBlocks: 6},
			bodies: map[string][]byte{
				"/api/blocks/tip/height": []byte("870000\n"),
				"/api/v1/blocks":         fixture(t, "blocks-870000.json"),
			},
			want: mempoolapi.Snapshot{TipHeight: 870000, TipTime: time.Unix(1731700412, 0).UTC(), Difficulty: 101646843652785.2, FeesPerBlockSats: 4_250_000, FeeBlocks: 6},
		},
		{
			name:   "last day's fees, self-hosted under a path",
			prefix: "/mempool",
			cfg:    mempoolapi.Config{Fees: mempoolapi.Fees24h},
			bodies: map[string][]byte{
				"/mempool/api/blocks/tip/height":         []byte("870000"),
				"/mempool/api/v1/blocks":                 fixture(t, "blocks-870000.json"),
				"/mempool/api/v1/mining/blocks/fees/24h": fixture(t, "blocks-fees-24h.json"),
			},
			want: mempoolapi.Snapshot{TipHeight: 870000, TipTime: time.Unix(1731700412, 0).UTC(), Difficulty: 101646843652785.2, FeesPerBlockSats: 4_375_000, FeeBlocks: 144},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := replay(t, tt.bodies)
			tt.cfg.URL = srv.URL + tt.prefix + "/"
			c, err := mempoolapi.New(tt.cfg, mempoolapi.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("snapshot (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSnapshotErrors(t *testing.T) {
	blocks := fixture(t, "blocks-870000.json")
	noExtras := []byte(`[{"id":"00ab","height":870000,"timestamp":1731700412,"difficulty":1e14}]`)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		hang    bool // the server never answers: a short timeout
		cfg     mempoolapi.Config
		check   func(error) bool
		want    string
	}{
		{
			name:    "block index behind the tip",
			handler: paths(map[string][]byte{"/api/blocks/tip/height": []byte("870010"), "/api/v1/blocks": blocks}),
			check:   func(err error) bool { return errors.Is(err, mempoolapi.ErrLagging) },
			want:    "ErrLagging",
		},
		{
			name: "rate limited",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
			},
			check: func(err error) bool { return err != nil && strings.Contains(err.Error(), "http 429") },
			want:  "an error naming http 429",
		},
		{
			name:    "no fees in the block list",
			handler: paths(map[string][]byte{"/api/blocks/tip/height": []byte("870000"), "/api/v1/blocks": noExtras}),
			check:   func(err error) bool { return errors.Is(err, mempoolapi.ErrBadResponse) },
			want:    "ErrBadResponse",
		},
		{
			name:    "no mining index for 24h fees",
			cfg:     mempoolapi.Config{Fees: mempoolapi.Fees24h},
			handler: paths(map[string][]byte{"/api/blocks/tip/height": []byte("870000"), "/api/v1/blocks": blocks}),
			check:   func(err error) bool { return err != nil && strings.Contains(err.Error(), "http 404") },
			want:    "an error naming http 404",
		},
		{
			name:    "html instead of a height",
			handler: paths(map[string][]byte{"/api/blocks/tip/height": []byte("<html>maintenance</html>")}),
			check:   func(err error) bool { return errors.Is(err, mempoolapi.ErrBadResponse) },
			want:    "ErrBadResponse",
		},
		{
			name:    "truncated json",
			handler: paths(map[string][]byte{"/api/blocks/tip/height": []byte("870000"), "/api/v1/blocks": blocks[:len(blocks)/2]}),
			check:   func(err error) bool { return errors.Is(err, mempoolapi.ErrBadResponse) },
			want:    "ErrBadResponse",
		},
		{
			name: "explorer never answers",
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
			tt.cfg.URL = srv.URL
			tt.cfg.Timeout = timeout(tt.hang)
			c, err := mempoolapi.New(tt.cfg, mempoolapi.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Snapshot(context.Background())
			if !tt.check(err) {
				t.Errorf("Snapshot error = %v, want %s", err, tt.want)
			}
		})
	}
}

func paths(bodies map[string][]byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if b, ok := bodies[r.URL.Path]; ok {
			_, _ = w.Write(b)
			return
		}
		http.NotFound(w, r)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     mempoolapi.Config
		wantErr string
	}{
		{name: "zero value", cfg: mempoolapi.Config{}},
		{name: "full", cfg: mempoolapi.Config{URL: "http://umbrel.local:3006", Fees: "blocks", FeeBlocks: 6, Timeout: time.Second}},
		{name: "24h", cfg: mempoolapi.Config{Fees: "24h"}},
		{name: "not http", cfg: mempoolapi.Config{URL: "ftp://mempool.space"}, wantErr: "want http"},
		{name: "query", cfg: mempoolapi.Config{URL: "https://mempool.space/?x=1"}, wantErr: "site root"},
		{name: "too many fee blocks", cfg: mempoolapi.Config{FeeBlocks: 16}, wantErr: "fee_blocks"},
		{name: "fee blocks with 24h", cfg: mempoolapi.Config{Fees: "24h", FeeBlocks: 6}, wantErr: "fee_blocks applies"},
		{name: "unknown fees", cfg: mempoolapi.Config{Fees: "1w"}, wantErr: "fees"},
		{name: "negative timeout", cfg: mempoolapi.Config{Timeout: -1}, wantErr: "timeout"},
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
