package live_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/bitcoin/live"
	"github.com/gridminer/gridminer/internal/bitcoin/live/mempoolapi"
	"github.com/gridminer/gridminer/internal/bitcoin/live/node"
	"github.com/gridminer/gridminer/internal/bitcoin/live/pricefeed"
	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/config"
)

func TestDecodeConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    live.Config
		wantErr string
	}{
		{
			name: "node and coinbase",
			yaml: `
chain:
  type: node
  refresh: 2m
  max_age: 45m
  node:
    url: http://127.0.0.1:8332
    cookie_file: /var/lib/bitcoind/.cookie
    fees: blockstats
    fee_blocks: 144
    timeout: 20s
price:
  preset: coinbase
  refresh: 30s
  max_age: 10m
`,
			want: live.Config{
				Chain: live.ChainConfig{Type: "node", Refresh: 2 * time.Minute, MaxAge: 45 * time.Minute,
					Node: node.Config{URL: "http://127.0.0.1:8332", CookieFile: "/var/lib/bitcoind/.cookie", Fees: "blockstats", FeeBlocks: 144, Timeout: 20 * time.Second}},
				Price: live.PriceConfig{Config: pricefeed.Config{Preset: "coinbase"}, Refresh: 30 * time.Second, MaxAge: 10 * time.Minute},
			},
		},
		{
			name: "explorer and a generic price",
			yaml: `
chain:
  type: explorer
  explorer:
    url: http://umbrel.local:3006
    fees: 24h
price:
  url: https://example.com/ticker
  path: result.0.last
  time_path: result.0.time
  timeout: 5s
`,
			want: live.Config{
				Chain: live.ChainConfig{Type: "explorer", Explorer: mempoolapi.Config{URL: "http://umbrel.local:3006", Fees: "24h"}},
				Price: live.PriceConfig{Config: pricefeed.Config{URL: "https://example.com/ticker", Path: "result.0.last", TimePath: "result.0.time", Timeout: 5 * time.Second}},
			},
		},
		{
			name:    "a password in the file is not a key",
			yaml:    "chain:\n  type: node\n  node:\n    user: u\n    password: hunter2\nprice:\n  preset: mempool\n",
			wantErr: "password",
		},
		{
			name:    "unknown key",
			yaml:    "chain:\n  type: node\nprice:\n  preset: mempool\n  currency: EUR\n",
			wantErr: "currency",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got live.Config
			err := config.DecodeStrict("site.yaml", []byte(tt.yaml), &got)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("decode = %+v, %v; want an error about %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decoded config (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate() = %v", err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	nodeChain := live.ChainConfig{Type: "node"}
	coinbase := live.PriceConfig{Config: pricefeed.Config{Preset: "coinbase"}}
	tests := []struct {
		name    string
		cfg     live.Config
		wantErr string
	}{
		{name: "minimal node", cfg: live.Config{Chain: nodeChain, Price: coinbase}},
		{name: "minimal explorer", cfg: live.Config{Chain: live.ChainConfig{Type: "explorer"}, Price: coinbase}},
		{name: "no chain type", cfg: live.Config{Price: coinbase}, wantErr: "chain: type"},
		{name: "unknown chain type", cfg: live.Config{Chain: live.ChainConfig{Type: "electrum"}, Price: coinbase}, wantErr: "electrum"},
		{name: "explorer block under a node", cfg: live.Config{Chain: live.ChainConfig{Type: "node", Explorer: mempoolapi.Config{Fees: "24h"}}, Price: coinbase}, wantErr: "explorer is set"},
		{name: "node block under an explorer", cfg: live.Config{Chain: live.ChainConfig{Type: "explorer", Node: node.Config{User: "u"}}, Price: coinbase}, wantErr: "node is set"},
		{name: "bad node", cfg: live.Config{Chain: live.ChainConfig{Type: "node", Node: node.Config{Fees: "x"}}, Price: coinbase}, wantErr: "chain: node: fees"},
		{name: "no price", cfg: live.Config{Chain: nodeChain}, wantErr: "price: give a preset"},
		{name: "refresh too slow", cfg: live.Config{Chain: live.ChainConfig{Type: "node", Refresh: time.Hour}, Price: coinbase}, wantErr: "chain: refresh 1h0m0s must be shorter"},
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

// TestExplorerEndToEnd builds a Source from config against replayed
// explorer and price servers and follows it until the price goes stale.
func TestExplorerEndToEnd(t *testing.T) {
	explorer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/blocks/tip/height":
			_, _ = w.Write([]byte("870000"))
		case "/api/v1/blocks":
			_, _ = w.Write([]byte(`[
  {"id":"00a0","height":870000,"timestamp":1731700412,"difficulty":90000000000000,"extras":{"totalFees":12000000}},
  {"id":"009f","height":869999,"timestamp":1731699812,"difficulty":90000000000000,"extras":{"totalFees":8000000}}
]`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer explorer.Close()
	priceUp := make(chan bool, 1)
	priceUp <- true
	prices := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := <-priceUp
		priceUp <- up
		if !up {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"time":1731700800,"USD":65000,"EUR":61000}`))
	}))
	defer prices.Close()

	clk := clock.NewManual(time.Unix(1731700800, 0).Add(10 * time.Second))
	src, err := live.New(live.Config{
		Chain: live.ChainConfig{Type: "explorer", Explorer: mempoolapi.Config{URL: explorer.URL}},
		Price: live.PriceConfig{Config: pricefeed.Config{Preset: "mempool", URL: prices.URL + "/api/v1/prices"}},
	}, live.Deps{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := src.Economics(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := bitcoin.Economics{Height: 870001, Difficulty: 90e12, PriceUSD: 65000, FeesPerBlockBTC: 0.1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("economics (-want +got):\n%s", diff)
	}

	<-priceUp
	priceUp <- false
	clk.Advance(14 * time.Minute) // the price's own time is now 14m10s old
	if _, err := src.Economics(ctx, clk.Now()); err != nil {
		t.Errorf("economics with the price feed down for 14m: %v, want the cached values", err)
	}
	clk.Advance(time.Minute)
	_, err = src.Economics(ctx, clk.Now())
	if !errors.Is(err, live.ErrStale) || !strings.Contains(err.Error(), "price from price feed") || !strings.Contains(err.Error(), "http 503") {
		t.Errorf("economics with the price feed down for 15m = %v, want ErrStale for the price, naming the last error", err)
	}
}
