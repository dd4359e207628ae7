package proxy_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/pow"
	"github.com/gridminer/gridminer/internal/stratum/proxy"
	"github.com/gridminer/gridminer/internal/stratum/server"
)

const (
	shareDiff = 1.0 / (1 << 16) // about 65 k hashes a share
	poolEn2   = 8
	prefix    = 2
)

// chanSource is a server.JobSource fed by the test.
type chanSource chan server.Job

func (c chanSource) Run(ctx context.Context, out chan<- server.Job) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-c:
			select {
			case out <- j:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

func testJob(id string) server.Job {
	t, err := pow.DiffToTargetLE(1.0 / (1 << 31)) // trivially easy network target
	if err != nil {
		panic(err)
	}
	return server.Job{Notify: stratum.Notify{
		JobID: id, PrevHash: [32]byte{1, 2, 3}, Coinb1: []byte("coinbase-one"), Coinb2: []byte("coinbase-two"),
		MerkleBranch: [][32]byte{{9}}, Version: 0x20000000, NBits: 0x207fffff, NTime: 1000, CleanJobs: true,
	}, Target: t}
}

// pool is a real Stratum server standing in for an upstream pool.
type pool struct {
	srv  *server.Server
	src  chanSource
	stop context.CancelFunc
	done chan error
	once sync.Once
	err  error
}

func startPool(t *testing.T, job string) *pool {
	t.Helper()
	src := make(chanSource)
	srv, err := server.New(server.Config{ShareDifficulty: shareDiff, Extranonce2Size: poolEn2}, server.Deps{Jobs: src})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &pool{srv: srv, src: src, stop: cancel, done: make(chan error, 1)}
	go func() { p.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(p.close)
	src <- testJob(job)
	return p
}

// close stops the pool and waits for it; it may be called again.
func (p *pool) close() {
	p.once.Do(func() {
		p.stop()
		p.err = <-p.done
	})
}

func (p *pool) totals() (accepted, rejected, stale int) {
	for _, st := range p.srv.Stats() {
		accepted += st.Accepted
		rejected += st.Rejected
		stale += st.Stale
	}
	return
}

type result struct {
	worker string
	res    stratum.ShareResult
}

func TestProxy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // failure guard only
	defer cancel()
	p1, p2 := startPool(t, "p1a"), startPool(t, "p2a")
	ups := make(chan proxy.Upstream, 8)
	px, err := proxy.New(proxy.Config{
		Pools:        []proxy.Pool{{Addr: p1.srv.Addr().String(), User: "site1"}, {Addr: p2.srv.Addr().String(), User: "site2"}},
		PrefixSize:   prefix,
		MinBackoff:   10 * time.Millisecond,
		MaxBackoff:   50 * time.Millisecond,
		PrimaryRetry: time.Hour,
	}, proxy.Deps{OnUpstream: func(u proxy.Upstream) { ups <- u }})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(ctx)
	pdone := make(chan error, 1)
	go func() { pdone <- px.Serve(pctx, ln) }()
	defer func() {
		pcancel()
		if err := <-pdone; err != nil {
			t.Errorf("proxy serve: %v", err)
		}
	}()
	var up proxy.Upstream
	select {
	case up = <-ups:
	case <-ctx.Done():
		t.Fatal("no upstream session")
	}
	if up.Pool != 0 || up.Extranonce2Size != poolEn2 {
		t.Fatalf("upstream %+v, want pool 0 with extranonce2 size %d", up, poolEn2)
	}

	results := make(chan result, 1024)
	workers := []string{"m1", "m2", "m3"}
	mctx, mcancel := context.WithCancel(ctx)
	mdone := make(chan error, len(workers))
	for _, w := range workers {
		c, err := stratum.NewClient(stratum.ClientConfig{Addr: ln.Addr().String(), User: w, Threads: 1,
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
			OnResult: func(r stratum.ShareResult) { results <- result{w, r} }})
		if err != nil {
			t.Fatal(err)
		}
		go func() { mdone <- c.Run(mctx) }()
	}
	defer func() {
		mcancel()
		for range workers {
			if err := <-mdone; err != nil {
				t.Errorf("miner: %v", err)
			}
		}
	}()

	// waitStats waits, share result by share result, until cond holds on
	// the proxy's stats.
	waitStats := func(what string, cond func([]proxy.MinerStats) bool) {
		t.Helper()
		for !cond(px.Stats()) {
			select {
			case r := <-results:
				if !r.res.Accepted {
					t.Logf("%s: share rejected: %v", r.worker, r.res.Err)
				}
			case <-ctx.Done():
				t.Fatalf("%s: timed out; stats %+v", what, px.Stats())
			}
		}
	}
	perPool := func(pool, n int) func([]proxy.MinerStats) bool {
		return func(st []proxy.MinerStats) bool {
			got := map[string]int{}
			for _, s := range st {
				if s.Pool == pool {
					got[s.Worker] += s.Accepted
				}
			}
			for _, w := range workers {
				if got[w] < n {
					return false
				}
			}
			return true
		}
	}
	waitStats("shares on pool 1", perPool(0, 3))

	// (a) one upstream connection; (b) the pool accepted everything.
	if got := p1.srv.Conns(); got != 1 {
		t.Errorf("pool 1 has %d connections, want 1", got)
	}
	pst := p1.srv.Stats()
	if len(pst) != 1 || pst[0].Worker != "site1" {
		t.Errorf("pool 1 stats %+v, want one worker site1", pst)
	}
	// (b, c) per-miner stats and distinct prefixes under the pool's E1.
	st := px.Stats()
	seen := map[string]bool{}
	var proxyAccepted int
	for _, s := range st {
		en1, err := hexDecode(s.Extranonce1)
		if err != nil || len(en1) != len(up.Extranonce1)+prefix || !bytes.HasPrefix(en1, up.Extranonce1) {
			t.Errorf("%s: extranonce1 %s, want %x || %d-byte prefix", s.Worker, s.Extranonce1, up.Extranonce1, prefix)
		}
		if seen[s.Prefix] {
			t.Errorf("prefix %s given twice", s.Prefix)
		}
		seen[s.Prefix] = true
		if s.Hashrate <= 0 || s.LastShare.IsZero() {
			t.Errorf("%s: hashrate %v last share %v, want nonzero", s.Worker, s.Hashrate, s.LastShare)
		}
		proxyAccepted += s.Accepted
	}
	if len(st) != len(workers) {
		t.Errorf("proxy stats for %d miners, want %d: %+v", len(st), len(workers), st)
	}
	acc, rej, stale := p1.totals()
	if acc < proxyAccepted || rej != 0 || stale != 0 {
		t.Errorf("pool 1 accepted %d rejected %d stale %d; want at least %d accepted, none rejected", acc, rej, stale, proxyAccepted)
	}

	// (d) invalid shares from a raw connection are answered by the proxy
	// and never reach the pool.
	raw := dial(t, ln.Addr())
	n := raw.login("raw")
	if len(raw.en1) != len(up.Extranonce1)+prefix || raw.en2Len != poolEn2-prefix {
		t.Fatalf("raw peer extranonce1 %x, extranonce2 size %d", raw.en1, raw.en2Len)
	}
	low := raw.find(n, func(d float64) bool { return d < shareDiff*0.99 })
	good := raw.find(n, func(d float64) bool { return d >= shareDiff*1.01 })
	unknown := good
	unknown.JobID = "nope"
	short := good
	short.Extranonce2 = short.Extranonce2[1:]
	before, _, _ := p1.totals()
	for _, tc := range []struct {
		name string
		sub  stratum.Submit
		want error
	}{
		{"low difficulty", low, stratum.ErrLowDifficulty},
		{"unknown job", unknown, stratum.ErrJobNotFound},
		{"short extranonce2", short, stratum.ErrOther},
		{"accepted", good, nil},
		{"duplicate", good, stratum.ErrDuplicate},
	} {
		r := raw.call(stratum.MethodSubmit, tc.sub.Params())
		if tc.want == nil {
			if !r.ResultBool() || r.Err() != nil {
				t.Errorf("%s: result %s err %v, want accepted", tc.name, r.Result, r.Err())
			}
			continue
		}
		if !errors.Is(r.Err(), tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, r.Err(), tc.want)
		}
	}
	if acc, rej, stale := p1.totals(); rej != 0 || stale != 0 || acc < before+1 {
		t.Errorf("pool 1 after invalid shares: accepted %d (was %d) rejected %d stale %d; want one more accepted, none rejected", acc, before, rej, stale)
	}
	for _, s := range px.Stats() {
		if s.Worker == "raw" && (s.Accepted != 1 || s.Rejected != 3 || s.Stale != 1) {
			t.Errorf("raw stats %+v, want accepted 1 rejected 3 stale 1", s)
		}
	}
	raw.c.Close()

	// (e) the first pool stops: the proxy fails over to the second and
	// miners keep getting shares accepted.
	p1.close()
	select {
	case up = <-ups:
	case <-ctx.Done():
		t.Fatal("no failover")
	}
	if up.Pool != 1 {
		t.Fatalf("failed over to pool %d, want 1", up.Pool)
	}
	waitStats("shares on pool 2", perPool(1, 2))
	if got := p2.srv.Conns(); got != 1 {
		t.Errorf("pool 2 has %d connections, want 1", got)
	}
	if acc, rej, _ := p2.totals(); acc < 2*len(workers) || rej != 0 {
		t.Errorf("pool 2 accepted %d rejected %d, want at least %d accepted and none rejected", acc, rej, 2*len(workers))
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	ok := []proxy.Pool{{Addr: "127.0.0.1:1", User: "u"}}
	for _, tc := range []struct {
		name string
		cfg  proxy.Config
	}{
		{"no pools", proxy.Config{}},
		{"pool without user", proxy.Config{Pools: []proxy.Pool{{Addr: "127.0.0.1:1"}}}},
		{"prefix too long", proxy.Config{Pools: ok, PrefixSize: 5}},
		{"negative prefix", proxy.Config{Pools: ok, PrefixSize: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := proxy.New(tc.cfg, proxy.Deps{}); !errors.Is(err, proxy.ErrBadConfig) {
				t.Errorf("New = %v, want ErrBadConfig", err)
			}
		})
	}
}
