package server

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
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

// Extranonce1Size is the size of the extranonce1 the server gives each
// connection: a 4-byte counter.
const Extranonce1Size = 4

// MaxExtranonce2Size bounds Config.Extranonce2Size.
const MaxExtranonce2Size = 16

// Defaults.
const (
	DefaultExtranonce2Size = 8
	DefaultMaxConns        = 4096
	DefaultIdleTimeout     = 10 * time.Minute
	DefaultWriteTimeout    = 10 * time.Second
	DefaultMaxJobs         = 16
	DefaultStatsWindow     = 10 * time.Minute
	// MaxNTimeRoll is how far past the job's ntime a share's ntime may be.
	MaxNTimeRoll = 2 * time.Hour
	outQueue     = 256
)

// ErrBadConfig is wrapped by configuration errors.
var ErrBadConfig = errors.New("bad stratum server config")

// Config configures a Server.
type Config struct {
	// Listen is the TCP address Run listens on (":3333").
	Listen string
	// ShareDifficulty is the fixed pool difficulty of every share.
	ShareDifficulty float64
	// Extranonce2Size is the extranonce2 size miners roll (default 8).
	Extranonce2Size int
	// VersionMask is the version-rolling mask the server offers (default
	// stratum.BIP320Mask); miners get its AND with their own.
	VersionMask uint32
	// MaxConns limits concurrent connections (default DefaultMaxConns);
	// connections beyond it are closed at once.
	MaxConns int
	// IdleTimeout closes a connection that sends nothing for this long
	// (wall time; default DefaultIdleTimeout).
	IdleTimeout time.Duration
	// WriteTimeout bounds each write (default DefaultWriteTimeout).
	WriteTimeout time.Duration
	// MaxJobs is how many recent jobs are kept for late shares (default
	// DefaultMaxJobs); older job ids are unknown.
	MaxJobs int
	// StatsWindow is the hashrate window of each miner (default 10 min).
	StatsWindow time.Duration
}

// Job is one unit of work from a JobSource.
type Job struct {
	// Notify is sent as is; its JobID must be unique and CleanJobs tells
	// miners (and the server) that every earlier job is stale.
	Notify stratum.Notify
	// Target is the network target: a share whose hash meets it is a
	// block candidate. The zero Target never matches.
	Target pow.Target
	// Data is carried to OnBlock untouched (for example the *solo.Job).
	Data any
}

// JobSource sends jobs until ctx ends. Run's return ends the server.
type JobSource interface {
	Run(ctx context.Context, out chan<- Job) error
}

// Block is a share that meets its job's network target.
type Block struct {
	Job         *Job
	Worker      string
	Extranonce1 []byte
	Extranonce2 []byte
	NTime       uint32
	Nonce       uint32
	// Version is the header's version (rolled when the miner rolls).
	Version uint32
	Header  [pow.HeaderSize]byte
	Hash    pow.Hash
}

// Deps are the server's injected dependencies.
type Deps struct {
	Jobs JobSource
	// OnBlock is called on the connection's goroutine for every block
	// candidate; it must not block for long.
	OnBlock func(Block)
	// Authorize decides mining.authorize; nil accepts every worker.
	Authorize func(worker, password string) bool
	Clock     clock.Clock // share times; default clock.Real
	Log       *slog.Logger
}

// MinerStats are one worker's counts on one connection.
type MinerStats struct {
	Worker      string
	Conn        uint64
	Remote      string
	Extranonce1 string
	Connected   bool
	shares.Stats
}

// Server is a Stratum V1 server. Create it with New and start it with Run or
// Serve.
type Server struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	share pow.Target
	en1   atomic.Uint32
	ids   atomic.Uint64
	nconn atomic.Int64

	jobs atomic.Pointer[jobTable]

	mu     sync.Mutex // conns, miners
	conns  map[uint64]*conn
	miners []*miner

	addrMu sync.Mutex
	addr   net.Addr
	ready  chan struct{}
}

type miner struct {
	worker, remote, en1 string
	conn                uint64
	connected           atomic.Bool
	t                   *shares.Tracker
}

// New checks cfg and fills in defaults; it does not listen.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.ShareDifficulty <= 0 || math.IsNaN(cfg.ShareDifficulty) || math.IsInf(cfg.ShareDifficulty, 0) {
		return nil, fmt.Errorf("%w: share difficulty %v must be positive and finite", ErrBadConfig, cfg.ShareDifficulty)
	}
	if cfg.Extranonce2Size == 0 {
		cfg.Extranonce2Size = DefaultExtranonce2Size
	}
	if cfg.Extranonce2Size < 1 || cfg.Extranonce2Size > MaxExtranonce2Size {
		return nil, fmt.Errorf("%w: extranonce2 size %d not in [1, %d]", ErrBadConfig, cfg.Extranonce2Size, MaxExtranonce2Size)
	}
	if cfg.VersionMask == 0 {
		cfg.VersionMask = stratum.BIP320Mask
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.MaxJobs <= 0 {
		cfg.MaxJobs = DefaultMaxJobs
	}
	if cfg.StatsWindow <= 0 {
		cfg.StatsWindow = DefaultStatsWindow
	}
	if deps.Jobs == nil {
		return nil, fmt.Errorf("%w: no job source", ErrBadConfig)
	}
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	t, err := pow.DiffToTargetLE(cfg.ShareDifficulty)
	if err != nil {
		return nil, fmt.Errorf("%w: share difficulty: %w", ErrBadConfig, err)
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Log, share: t, conns: map[uint64]*conn{}, ready: make(chan struct{})}
	s.jobs.Store(&jobTable{byID: map[string]*jobState{}})
	return s, nil
}

// Run listens on Config.Listen and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("stratum server: listen %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Ready is closed once the server listens; Addr is then set.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the listening address (nil before Ready).
func (s *Server) Addr() net.Addr {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return s.addr
}

// Serve accepts miners on ln and runs the job source until ctx ends or the
// source fails. It closes ln. It returns nil when ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.addrMu.Lock()
	s.addr = ln.Addr()
	s.addrMu.Unlock()
	close(s.ready)
	s.log.Info("stratum server: listening", "addr", ln.Addr().String())

	g, gctx := errgroup.WithContext(ctx)
	var conns sync.WaitGroup
	jobs := make(chan Job)
	g.Go(func() error {
		if err := s.deps.Jobs.Run(gctx, jobs); err != nil && gctx.Err() == nil {
			return fmt.Errorf("stratum server: job source: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		for {
			select {
			case <-gctx.Done():
				return nil
			case j := <-jobs:
				s.setJob(j)
			}
		}
	})
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
				return fmt.Errorf("stratum server: accept: %w", err)
			}
			if s.nconn.Add(1) > int64(s.cfg.MaxConns) {
				s.nconn.Add(-1)
				s.log.Warn("stratum server: too many connections", "remote", nc.RemoteAddr().String())
				_ = nc.Close()
				continue
			}
			conns.Go(func() {
				defer s.nconn.Add(-1)
				s.handle(gctx, nc)
			})
		}
	})
	err := g.Wait()
	conns.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Stats returns every miner's counts, sorted by worker then connection,
// including miners whose connection has closed.
func (s *Server) Stats() []MinerStats {
	now := s.deps.Clock.Now()
	s.mu.Lock()
	ms := append([]*miner(nil), s.miners...)
	s.mu.Unlock()
	out := make([]MinerStats, 0, len(ms))
	for _, m := range ms {
		out = append(out, MinerStats{Worker: m.worker, Conn: m.conn, Remote: m.remote, Extranonce1: m.en1,
			Connected: m.connected.Load(), Stats: m.t.Stats(now)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Worker != out[j].Worker {
			return out[i].Worker < out[j].Worker
		}
		return out[i].Conn < out[j].Conn
	})
	return out
}

// Conns returns the number of open connections.
func (s *Server) Conns() int { return int(s.nconn.Load()) }

// jobTable is an immutable snapshot of the recent jobs.
type jobTable struct {
	byID    map[string]*jobState
	order   []*jobState // oldest first
	current *jobState
	line    []byte // current's mining.notify line
}

type jobState struct {
	job   Job
	stale atomic.Bool
	dups  [16]dupShard
}

type dupShard struct {
	mu   sync.Mutex
	seen map[dupKey]struct{}
}

type dupKey struct {
	en1                 uint32
	en2                 [MaxExtranonce2Size]byte
	ntime, nonce, vbits uint32
}

// seen records k and reports whether it was already there.
func (js *jobState) seen(k dupKey) bool {
	sh := &js.dups[(k.nonce^k.en1)&15]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.seen[k]; ok {
		return true
	}
	if sh.seen == nil {
		sh.seen = map[dupKey]struct{}{}
	}
	sh.seen[k] = struct{}{}
	return false
}

// setJob installs j (only the job goroutine calls it) and sends it to every
// ready connection.
func (s *Server) setJob(j Job) {
	line, err := encodeLine(stratum.NewNotification(stratum.MethodNotify, j.Notify.Params()))
	if err != nil {
		s.log.Error("stratum server: encode notify", "job", j.Notify.JobID, "err", err)
		return
	}
	old := s.jobs.Load()
	if _, dup := old.byID[j.Notify.JobID]; dup {
		s.log.Error("stratum server: duplicate job id ignored", "job", j.Notify.JobID)
		return
	}
	js := &jobState{job: j}
	if j.Notify.CleanJobs {
		for _, o := range old.order {
			o.stale.Store(true)
		}
	}
	order := append(append([]*jobState(nil), old.order...), js)
	if len(order) > s.cfg.MaxJobs {
		order = order[len(order)-s.cfg.MaxJobs:]
	}
	t := &jobTable{byID: make(map[string]*jobState, len(order)), order: order, current: js, line: line}
	for _, o := range order {
		t.byID[o.job.Notify.JobID] = o
	}
	s.jobs.Store(t)
	s.log.Debug("stratum server: new job", "job", j.Notify.JobID, "clean", j.Notify.CleanJobs)

	s.mu.Lock()
	cs := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.mu.Lock()
		if c.ready {
			c.enqueue(line)
		}
		c.mu.Unlock()
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

// shareResult is the outcome of one submit.
type shareResult struct {
	err     *stratum.Error
	outcome shares.Outcome
	block   *Block
}

// validate checks one share from c. It is the whole share path: no lock but
// the job's duplicate shard.
func (s *Server) validate(c *connShare, sub stratum.Submit) shareResult {
	t := s.jobs.Load()
	js, ok := t.byID[sub.JobID]
	if !ok {
		return shareResult{err: stratum.NewError(stratum.CodeJobNotFound, "job not found"), outcome: shares.Stale}
	}
	if js.stale.Load() {
		return shareResult{err: stratum.NewError(stratum.CodeJobNotFound, "stale job"), outcome: shares.Stale}
	}
	n := &js.job.Notify
	if sub.NTime < n.NTime || int64(sub.NTime)-int64(n.NTime) > int64(MaxNTimeRoll/time.Second) {
		return shareResult{err: stratum.NewError(stratum.CodeOther, "ntime out of range"), outcome: shares.Rejected}
	}
	sj := stratum.Job{Notify: *n, Extranonce1: c.en1[:], Extranonce2Size: s.cfg.Extranonce2Size, VersionMask: c.mask}
	hdr, err := sj.Header(sub)
	if err != nil {
		return shareResult{err: stratum.NewError(stratum.CodeOther, err.Error()), outcome: shares.Rejected}
	}
	h := pow.SHA256d(hdr[:])
	if !s.share.Meets(&h) {
		return shareResult{err: stratum.NewError(stratum.CodeLowDifficulty, "low difficulty share"), outcome: shares.Rejected}
	}
	k := dupKey{en1: binary.BigEndian.Uint32(c.en1[:]), ntime: sub.NTime, nonce: sub.Nonce}
	if sub.HasVersionBits {
		k.vbits = sub.VersionBits & c.mask
	}
	copy(k.en2[:], sub.Extranonce2)
	if js.seen(k) {
		return shareResult{err: stratum.NewError(stratum.CodeDuplicate, "duplicate share"), outcome: shares.Rejected}
	}
	r := shareResult{outcome: shares.Accepted}
	if js.job.Target.Meets(&h) {
		r.block = &Block{Job: &js.job, Worker: sub.Worker, Extranonce1: append([]byte(nil), c.en1[:]...),
			Extranonce2: append([]byte(nil), sub.Extranonce2...), NTime: sub.NTime, Nonce: sub.Nonce,
			Version: binary.LittleEndian.Uint32(hdr[0:4]), Header: hdr, Hash: h}
	}
	return r
}

// connShare is what validate needs of a connection.
type connShare struct {
	en1  [Extranonce1Size]byte
	mask uint32
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }
