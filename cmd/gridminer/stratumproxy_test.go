package main

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/config"
	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/pow"
	"github.com/gridminer/gridminer/internal/stratum/server"
)

// onceJobs gives one job and waits.
type onceJobs struct{ job server.Job }

func (o onceJobs) Run(ctx context.Context, out chan<- server.Job) error {
	select {
	case out <- o.job:
	case <-ctx.Done():
		return nil
	}
	<-ctx.Done()
	return nil
}

// TestStratumProxyMeasuresMiners: a CPU miner mines through the site's
// proxy (built from a stratum.proxy section, as run builds it) to a pool;
// the pool sees one connection, and the miner's measured hashrate and
// share counts are what run serves beside the reported hashrate.
func TestStratumProxyMeasuresMiners(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tgt, _ := pow.DiffToTargetLE(1.0 / (1 << 31))
	pool, err := server.New(server.Config{ShareDifficulty: 1.0 / (1 << 16), Extranonce2Size: 8}, server.Deps{Jobs: onceJobs{server.Job{
		Notify: stratum.Notify{JobID: "j1", PrevHash: [32]byte{7}, Coinb1: []byte("cb1"), Coinb2: []byte("cb2"), Version: 0x20000000,
			NBits: 0x207fffff, NTime: uint32(time.Now().Unix()), CleanJobs: true}, Target: tgt}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go pool.Serve(ctx, ln)
	cfg := &config.File{Stratum: config.Stratum{Proxy: &config.StratumProxy{Listen: "127.0.0.1:0",
		Pools: []config.StratumPool{{URL: "stratum+tcp://" + ln.Addr().String(), User: "site1"}}}}}
	px, err := buildProxy(cfg, clock.Real{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	go px.Run(ctx)
	select {
	case <-px.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("proxy not ready")
	}
	var mu sync.Mutex
	accepted := 0
	got := make(chan struct{}, 1)
	c, err := stratum.NewClient(stratum.ClientConfig{Addr: px.Addr().String(), User: "rig-7", Threads: 1,
		OnResult: func(r stratum.ShareResult) {
			mu.Lock()
			defer mu.Unlock()
			if r.Accepted {
				accepted++
				if accepted == 5 {
					got <- struct{}{}
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	go c.Run(ctx)
	select {
	case <-got:
	case <-time.After(2 * time.Minute):
		t.Fatal("no 5 accepted shares through the proxy")
	}
	m := measuredByHost(px)()
	st, ok := m["127.0.0.1"]
	if !ok || st.Accepted < 5 || st.Hashrate <= 0 || !(st.Low <= st.Hashrate && st.Hashrate <= st.High) {
		t.Fatalf("measured by host %+v", m)
	}
	if pool.Conns() != 1 {
		t.Errorf("the pool has %d connections, want 1 (the proxy's)", pool.Conns())
	}
}
