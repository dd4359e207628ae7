package proxy

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/shares"
	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/pow"
)

// Defaults for zero Config fields.
const (
	DefaultPrefixSize   = 2
	DefaultDialTimeout  = 10 * time.Second
	DefaultIdleTimeout  = 10 * time.Minute
	DefaultWriteTimeout = 10 * time.Second
	DefaultMinBackoff   = time.Second
	DefaultMaxBackoff   = time.Minute
	DefaultPrimaryRetry = time.Minute
	DefaultMaxJobs      = 16
	DefaultStatsWindow  = 10 * time.Minute
	// MaxNTimeRoll is how far past the job's ntime a share may roll.
	MaxNTimeRoll = 2 * time.Hour
	outQueue     = 256
)

// ErrBadConfig is returned by New for an unusable Config.
var ErrBadConfig = errors.New("bad stratum proxy config")

// Pool is one upstream pool.
type Pool struct {
	Addr     string // host:port
	User     string // the proxy's account: every share goes upstream under it
	Password string
}

// Config configures a Proxy.
type Config struct {
	// Listen is the downstream address for Run (Serve takes a listener).
	Listen string
	// Pools in priority order; the proxy uses the first that works and
	// returns to a higher one when it accepts connections again.
	Pools []Pool
	// PrefixSize is the per-miner extranonce2 prefix in bytes, 1 to 4
	// (default 2); the pool's extranonce2_size must exceed it.
	PrefixSize   int
	DialTimeout  time.Duration
	IdleTimeout  time.Duration // upstream and downstream read deadline
	WriteTimeout time.Duration
	MinBackoff   time.Duration // after every pool failed once
	MaxBackoff   time.Duration
	// PrimaryRetry is how often, while on a lower-priority pool, the proxy
	// checks whether a higher one accepts connections again.
	PrimaryRetry time.Duration
	MaxJobs      int // jobs kept for late shares
	StatsWindow  time.Duration
}

// Upstream describes the current pool session.
type Upstream struct {
	Pool            int // index into Config.Pools
	Addr            string
	Extranonce1     []byte
	Extranonce2Size int
	VersionMask     uint32
}

// Deps are the Proxy's collaborators.
type Deps struct {
	Authorize func(worker, password string) bool // nil: everyone
	// OnUpstream, if set, is called when a pool session is established.
	OnUpstream func(Upstream)
	Clock      clock.Clock // share times, backoff; default clock.Real
	Log        *slog.Logger
}

// MinerStats are one worker's counts on one downstream connection.
type MinerStats struct {
	Worker      string
	Conn        uint64
	Remote      string
	Pool        int    // the pool the connection was subscribed under
	Extranonce1 string // hex, E1 || prefix
	Prefix      string // hex
	Connected   bool
	shares.Stats
}

// Proxy is a Stratum V1 proxy. Create it with New and run it with Run or Serve.
type Proxy struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	ids  atomic.Uint64

	mu       sync.Mutex
	sess     *session // nil without an upstream
	diff     float64  // the pool's current difficulty
	jobs     map[string]*job
	order    []*job // oldest first
	current  *job
	conns    map[uint64]*dconn
	miners   []*miner
	prefixes map[uint32]bool // in use
	next     uint32

	addrMu sync.Mutex
	addr   net.Addr
	ready  chan struct{}
}

// job is a pool job as handed downstream.
type job struct {
	down    stratum.Notify // JobID namespaced by session
	poolID  string
	gen     uint64
	en1     []byte // the pool's E1
	en2Size int    // the pool's N
	diff    float64
	target  pow.Target
	line    []byte
	stale   bool // guarded by Proxy.mu
	dupMu   sync.Mutex
	dupSeen map[string]struct{}
}

type miner struct {
	worker, remote, en1, prefix string
	conn                        uint64
	pool                        int
	connected                   atomic.Bool
	t                           *shares.Tracker
}

// New checks cfg and fills in defaults; it does not connect or listen.
func New(cfg Config, deps Deps) (*Proxy, error) {
	if len(cfg.Pools) == 0 {
		return nil, fmt.Errorf("%w: no pools", ErrBadConfig)
	}
	for i, p := range cfg.Pools {
		if p.Addr == "" || p.User == "" {
			return nil, fmt.Errorf("%w: pool %d needs an address and a user", ErrBadConfig, i)
		}
	}
	if cfg.PrefixSize == 0 {
		cfg.PrefixSize = DefaultPrefixSize
	}
	if cfg.PrefixSize < 1 || cfg.PrefixSize > 4 {
		return nil, fmt.Errorf("%w: prefix size %d not in [1, 4]", ErrBadConfig, cfg.PrefixSize)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.DialTimeout, DefaultDialTimeout)
	def(&cfg.IdleTimeout, DefaultIdleTimeout)
	def(&cfg.WriteTimeout, DefaultWriteTimeout)
	def(&cfg.MinBackoff, DefaultMinBackoff)
	def(&cfg.MaxBackoff, DefaultMaxBackoff)
	def(&cfg.PrimaryRetry, DefaultPrimaryRetry)
	def(&cfg.StatsWindow, DefaultStatsWindow)
	if cfg.MaxJobs <= 0 {
		cfg.MaxJobs = DefaultMaxJobs
	}
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	return &Proxy{cfg: cfg, deps: deps, log: deps.Log, jobs: map[string]*job{}, conns: map[uint64]*dconn{},
		prefixes: map[uint32]bool{}, ready: make(chan struct{})}, nil
}

// Run listens on Config.Listen and serves until ctx ends.
func (p *Proxy) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", p.cfg.Listen)
	if err != nil {
		return fmt.Errorf("stratum proxy: listen %s: %w", p.cfg.Listen, err)
	}
	return p.Serve(ctx, ln)
}

// Ready is closed once the proxy listens; Addr is then set.
func (p *Proxy) Ready() <-chan struct{} { return p.ready }

// Addr returns the downstream listening address (nil before Ready).
func (p *Proxy) Addr() net.Addr {
	p.addrMu.Lock()
	defer p.addrMu.Unlock()
	return p.addr
}

// Serve accepts miners on ln and keeps the upstream session until ctx
// ends. It closes ln and returns nil when ctx ends.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	p.addrMu.Lock()
	p.addr = ln.Addr()
	p.addrMu.Unlock()
	close(p.ready)
	p.log.Info("stratum proxy: listening", "addr", ln.Addr().String())

	g, gctx := errgroup.WithContext(ctx)
	var conns sync.WaitGroup
	g.Go(func() error { return p.upstream(gctx) })
	g.Go(func() error {
		<-gctx.Done()
		return ln.Close()
	})
	g.Go(func() error {
		for {
			nc, err := ln.Accept()
			if err != nil {
				if gctx.Err() != nil {
					return nil
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				return fmt.Errorf("stratum proxy: accept: %w", err)
			}
			conns.Go(func() { p.handle(gctx, nc) })
		}
	})
	err := g.Wait()
	conns.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Upstream returns the current pool session, if any.
func (p *Proxy) Upstream() (Upstream, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sess == nil {
		return Upstream{}, false
	}
	return p.sess.info(), true
}

// Stats returns every miner's counts, sorted by worker then connection,
// including miners whose connection has closed.
func (p *Proxy) Stats() []MinerStats {
	now := p.deps.Clock.Now()
	p.mu.Lock()
	ms := append([]*miner(nil), p.miners...)
	p.mu.Unlock()
	out := make([]MinerStats, 0, len(ms))
	for _, m := range ms {
		out = append(out, MinerStats{Worker: m.worker, Conn: m.conn, Remote: m.remote, Pool: m.pool,
			Extranonce1: m.en1, Prefix: m.prefix, Connected: m.connected.Load(), Stats: m.t.Stats(now)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Worker != out[j].Worker {
			return out[i].Worker < out[j].Worker
		}
		return out[i].Conn < out[j].Conn
	})
	return out
}

// allocPrefix reserves a prefix no live connection uses.
func (p *Proxy) allocPrefix() ([]byte, uint32, bool) {
	space := uint64(1) << (8 * p.cfg.PrefixSize)
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := uint64(0); i < space; i++ {
		v := uint32((uint64(p.next) + i) % space)
		if !p.prefixes[v] {
			p.prefixes[v] = true
			p.next = uint32((uint64(v) + 1) % space)
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], v)
			return b[4-p.cfg.PrefixSize:], v, true
		}
	}
	return nil, 0, false
}

func (p *Proxy) freePrefix(v uint32) {
	p.mu.Lock()
	delete(p.prefixes, v)
	p.mu.Unlock()
}

// setJob records a pool job and sends it to every ready miner.
func (p *Proxy) setJob(s *session, n stratum.Notify, first bool) {
	down := n
	down.JobID = fmt.Sprintf("%x.%s", s.gen, n.JobID)
	down.CleanJobs = n.CleanJobs || first
	line, err := encodeLine(stratum.NewNotification(stratum.MethodNotify, down.Params()))
	if err != nil {
		p.log.Error("stratum proxy: encode notify", "job", n.JobID, "err", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sess != s {
		return
	}
	t, err := pow.DiffToTargetLE(p.diff)
	if err != nil {
		p.log.Error("stratum proxy: difficulty", "diff", p.diff, "err", err)
		return
	}
	j := &job{down: down, poolID: n.JobID, gen: s.gen, en1: s.en1, en2Size: s.en2Size, diff: p.diff, target: t, line: line}
	if _, dup := p.jobs[down.JobID]; dup {
		p.log.Warn("stratum proxy: duplicate job id ignored", "job", n.JobID)
		return
	}
	if down.CleanJobs {
		for _, o := range p.order {
			o.stale = true
		}
	}
	p.order = append(p.order, j)
	if len(p.order) > p.cfg.MaxJobs {
		for _, o := range p.order[:len(p.order)-p.cfg.MaxJobs] {
			delete(p.jobs, o.down.JobID)
		}
		p.order = append([]*job(nil), p.order[len(p.order)-p.cfg.MaxJobs:]...)
	}
	p.jobs[down.JobID] = j
	p.current = j
	for _, c := range p.conns {
		if c.ready {
			c.enqueue(line)
		}
	}
}

// setDifficulty applies the pool's difficulty downstream.
func (p *Proxy) setDifficulty(s *session, d float64) {
	line, err := encodeLine(stratum.NewNotification(stratum.MethodSetDifficulty, stratum.SetDifficulty{Difficulty: d}.Params()))
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sess != s {
		return
	}
	p.diff = d
	for _, c := range p.conns {
		if c.ready {
			c.enqueue(line)
		}
	}
}

// install makes s the current session. Miners subscribed under an earlier
// session get the new extranonce: by mining.set_extranonce if they asked
// for it, otherwise by being disconnected.
func (p *Proxy) install(s *session) {
	p.mu.Lock()
	p.sess = s
	p.current = nil
	for _, j := range p.order {
		j.stale = true
	}
	for _, c := range p.conns {
		if !c.subscribed || c.gen == s.gen {
			continue
		}
		if !c.extranonceSub {
			c.log.Info("stratum proxy: pool changed; disconnecting miner to renew its extranonce")
			c.cancel()
			continue
		}
		c.gen, c.pool = s.gen, s.pool
		en1 := append(append([]byte(nil), s.en1...), c.prefix...)
		c.notify(stratum.MethodSetExtranonce, stratum.SetExtranonce{Extranonce1: en1, Extranonce2Size: s.en2Size - len(c.prefix)}.Params())
	}
	info := s.info()
	p.mu.Unlock()
	p.log.Info("stratum proxy: upstream established", "pool", info.Pool, "addr", info.Addr,
		"extranonce1", hex.EncodeToString(info.Extranonce1), "extranonce2_size", info.Extranonce2Size)
	if p.deps.OnUpstream != nil {
		p.deps.OnUpstream(info)
	}
}

// uninstall forgets s if it is current; its jobs become stale.
func (p *Proxy) uninstall(s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sess != s {
		return
	}
	p.sess = nil
	p.current = nil
	for _, j := range p.order {
		j.stale = true
	}
}

func encodeLine(m *stratum.Message, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	b, err := stratum.AppendMessage(nil, m)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
