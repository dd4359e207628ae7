package proxy_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"golang.org/x/sync/errgroup"

	"github.com/gridminer/gridminer/internal/bitcoin/live/btcdtest"
	"github.com/gridminer/gridminer/internal/bitcoin/live/node"
	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/proxy"
	"github.com/gridminer/gridminer/internal/stratum/server"
	"github.com/gridminer/gridminer/internal/stratum/solo"
)

// TestChainGrowsThroughTheProxy is the mining path end to end: CPU miners
// mine through the site's proxy, whose one upstream session goes to the
// solo server, which builds jobs from a real btcd regtest's templates and
// submits the blocks the shares complete. The chain grows and the
// blocks pay the configured address.
func TestChainGrowsThroughTheProxy(t *testing.T) {
	n := btcdtest.Start(t)
	n.Generate(t, 1)
	start := n.Height(t)
	c, err := node.New(node.Config{URL: n.URL, User: n.User, Password: n.Password, Network: "regtest"}, node.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := solo.NewSource(solo.SourceConfig{}, solo.SourceDeps{Node: c})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{0x29}, 32))
	pay, err := address.NewAddressWitnessPubKeyHash(address.Hash160(key.PubKey().SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	b, err := solo.NewBuilder(solo.BuilderConfig{Network: "regtest", PayTo: pay.EncodeAddress(), Extranonce1Size: server.Extranonce1Size, Extranonce2Size: 8})
	if err != nil {
		t.Fatal(err)
	}
	found := make(chan server.Found, 64)
	sl, err := server.NewSolo(server.SoloDeps{Source: src, Builder: b, Node: c, OnFound: func(f server.Found) { found <- f }})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := server.New(server.Config{ShareDifficulty: 1.0 / 1024, Extranonce2Size: 8}, server.Deps{Jobs: sl, OnBlock: sl.OnBlock})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // failure guard
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return pool.Serve(gctx, ln) })
	px, err := proxy.New(proxy.Config{Listen: "127.0.0.1:0", Pools: []proxy.Pool{{Addr: ln.Addr().String(), User: "site"}}}, proxy.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	g.Go(func() error { return px.Run(gctx) })
	select {
	case <-px.Ready():
	case <-ctx.Done():
		t.Fatal("proxy not ready")
	}
	shareBy := make(chan int, 1024)
	for i := range 2 {
		m, err := stratum.NewClient(stratum.ClientConfig{Addr: px.Addr().String(), User: "rig" + string(rune('a'+i)), Threads: 1,
			OnResult: func(r stratum.ShareResult) {
				if r.Accepted {
					select {
					case shareBy <- i:
					default:
					}
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		g.Go(func() error { return m.Run(gctx) })
	}
	// Wait for two accepted blocks and an accepted share from each miner.
	accepted, minersSeen := 0, map[int]bool{}
	for accepted < 2 || len(minersSeen) < 2 {
		select {
		case f := <-found:
			if f.Err == nil {
				accepted++
			}
		case i := <-shareBy:
			minersSeen[i] = true
		case <-ctx.Done():
			t.Fatalf("%d blocks and %d miners with accepted shares through the proxy before the deadline", accepted, len(minersSeen))
		}
	}
	if h := n.Height(t); h < start+2 {
		t.Errorf("height %d, want at least %d", h, start+2)
	}
	if pool.Conns() != 1 {
		t.Errorf("the solo server has %d connections, want the proxy's one", pool.Conns())
	}
	miners := 0
	for _, m := range px.Stats() {
		if m.Accepted > 0 {
			miners++
		}
	}
	if miners < 2 {
		t.Errorf("%d miners with accepted shares at the proxy, want 2", miners)
	}
	cancel()
	g.Wait()
}
