package live_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/bitcoin/live"
	"github.com/gridminer/gridminer/internal/bitcoin/live/btcdtest"
	"github.com/gridminer/gridminer/internal/bitcoin/live/node"
	"github.com/gridminer/gridminer/internal/bitcoin/live/pricefeed"
	"github.com/gridminer/gridminer/internal/clock"
)

// TestNodeEndToEnd builds a Source from config against a real btcd on
// regtest and a replayed Coinbase price: the economics carry btcd's height,
// difficulty and the fee of a real transaction waiting in its mempool, a
// new block shows at the next refresh, and a node refusing the credentials
// leaves the source with ErrStale.
func TestNodeEndToEnd(t *testing.T) {
	n := btcdtest.Start(t)
	prices := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"data":{"amount":"65000.00","base":"BTC","currency":"USD"}}`))
	}))
	defer prices.Close()

	clk := clock.NewManual(time.Date(2024, 11, 15, 12, 0, 0, 0, time.UTC))
	src, err := live.New(live.Config{
		Chain: live.ChainConfig{Type: live.ChainNode, Node: node.Config{URL: n.URL, User: n.User, Password: n.Password, Network: "regtest"}},
		Price: live.PriceConfig{Config: pricefeed.Config{Preset: pricefeed.PresetCoinbase, URL: prices.URL}},
	}, live.Deps{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const fee = 250_000
	n.SendFeeTx(t, fee) // mines past coinbase maturity, then waits in the mempool
	tip := n.Height(t)
	var difficulty float64
	if err := n.Call(ctx, "getdifficulty", nil, &difficulty); err != nil {
		t.Fatal(err)
	}
	got, err := src.Economics(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := bitcoin.Economics{Height: tip + 1, Difficulty: difficulty, PriceUSD: 65000, FeesPerBlockBTC: fee / 1e8}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("economics (-want +got):\n%s", diff)
	}

	// A new block is picked up at the next refresh.
	n.Generate(t, 1)
	clk.Advance(live.DefaultChainRefresh)
	got, err = src.Economics(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.Height != tip+2 || got.FeesPerBlockBTC != 0 {
		t.Errorf("after a block: height %d fees %v, want %d and 0", got.Height, got.FeesPerBlockBTC, tip+2)
	}

	// A source the node refuses never gets a chain value.
	bad, err := live.New(live.Config{
		Chain: live.ChainConfig{Type: live.ChainNode, Node: node.Config{URL: n.URL, User: n.User, Password: "wrong", Network: "regtest"}},
		Price: live.PriceConfig{Config: pricefeed.Config{Preset: pricefeed.PresetCoinbase, URL: prices.URL}},
	}, live.Deps{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Economics(ctx, clk.Now())
	if !errors.Is(err, live.ErrStale) || bad.Status().ChainErr == nil || !errors.Is(bad.Status().ChainErr, node.ErrUnauthorized) {
		t.Errorf("economics from a node refusing the password = %v (last chain error %v), want ErrStale after ErrUnauthorized", err, bad.Status().ChainErr)
	}
}
