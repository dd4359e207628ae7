// Package loadgen is a Stratum V1 share load generator: it opens many miner
// connections to a server, precomputes shares of known outcome (valid, stale,
// low difficulty) by hashing, then submits them open loop (a fixed rate per
// connection) or closed loop (a fixed number in flight per connection) and
// measures each request's latency from its write to its response.
//
// It is a measuring tool for gridminer bench stratum, not a miner.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/pow"
)

// Kind is what a share is built to be.
type Kind int

// The share kinds.
const (
	Valid   Kind = iota // meets the share target, unique within its job: accepted
	Stale               // an earlier (cleaned) job's id: rejected with 21
	Invalid             // current job, a nonce whose hash misses the share target: rejected with 23
	nKinds
)

var kindNames = [nKinds]string{"valid", "stale", "invalid"}

func (k Kind) String() string { return kindNames[k] }

// Mix is the percentage of each kind; it must sum to 100.
type Mix struct{ Valid, Stale, Invalid int }

// ParseMix parses "90,5,5".
func ParseMix(s string) (Mix, error) {
	f := bytes.Split([]byte(s), []byte(","))
	if len(f) != 3 {
		return Mix{}, fmt.Errorf("mix %q: want valid,stale,invalid percentages", s)
	}
	var p [3]int
	for i, x := range f {
		n, err := strconv.Atoi(string(bytes.TrimSpace(x)))
		if err != nil || n < 0 {
			return Mix{}, fmt.Errorf("mix %q: %q is not a percentage", s, x)
		}
		p[i] = n
	}
	m := Mix{p[0], p[1], p[2]}
	return m, m.check()
}

func (m Mix) check() error {
	if m.Valid < 0 || m.Stale < 0 || m.Invalid < 0 || m.Valid+m.Stale+m.Invalid != 100 {
		return fmt.Errorf("mix %d,%d,%d: want non-negative percentages summing to 100", m.Valid, m.Stale, m.Invalid)
	}
	return nil
}

func (m Mix) String() string { return fmt.Sprintf("%d,%d,%d", m.Valid, m.Stale, m.Invalid) }

// Config configures a run.
type Config struct {
	// Addr is the server's address (host:port).
	Addr string
	// Conns is the number of miner connections.
	Conns int
	// Rate is the open-loop submit rate per connection (shares/s); it is
	// used when Inflight is 0.
	Rate float64
	// Inflight is the closed-loop number of requests in flight per
	// connection; 0 selects open loop.
	Inflight int
	// Duration is the timed phase.
	Duration time.Duration
	// Mix of share kinds (default 90,5,5).
	Mix Mix
	// SourceIPs spreads the connections over 127.0.0.1, 127.0.0.2, ...
	// (this many) so loopback ephemeral ports do not run short; 0 picks one
	// address per 10,000 connections. Only used for loopback servers.
	SourceIPs int
	// Pool is the number of valid shares precomputed per connection before
	// the timed phase (more are hashed on demand); 0 picks from the rate.
	Pool int
	// Setup bounds connecting, subscribing and authorizing all connections.
	Setup time.Duration
	// Drain bounds the wait for answers after the timed phase.
	Drain time.Duration
	// DialConcurrency is how many connections are opened at once (default 256).
	DialConcurrency int
	// StaleJob is a job id the server has already cleaned, used for stale
	// shares until the connection has seen a clean job replace another.
	StaleJob string
	// OnPhase is called with true just before the timed phase starts and
	// with false just after it ends (before the drain).
	OnPhase func(started bool)
}

// KindCounts are one kind's counts.
type KindCounts struct {
	Kind     string `json:"kind"`
	Sent     int64  `json:"sent"`
	Answered int64  `json:"answered"`
	// Expected counts answers with the kind's outcome: accepted for valid,
	// 21 for stale, 23 for invalid.
	Expected int64 `json:"as_expected"`
	// RotationStale counts valid and invalid shares answered 21 because a
	// new clean job replaced theirs while they were in flight.
	RotationStale int64 `json:"rotation_stale,omitempty"`
	// Unexpected counts any other answer; FirstUnexpected describes one.
	Unexpected      int64  `json:"unexpected"`
	FirstUnexpected string `json:"first_unexpected,omitempty"`
}

// Result is a run's outcome.
type Result struct {
	Conns     int     `json:"conns"`
	Mode      string  `json:"mode"`
	Rate      float64 `json:"rate_per_conn,omitempty"`
	Inflight  int     `json:"inflight_per_conn,omitempty"`
	Mix       string  `json:"mix"`
	DurationS float64 `json:"duration_seconds"`
	// Difficulty is the share difficulty the server set.
	Difficulty float64 `json:"share_difficulty"`
	SetupS     float64 `json:"setup_seconds"`
	// Kinds are per-kind counts of requests sent in the timed phase.
	Kinds    []KindCounts `json:"kinds"`
	Sent     int64        `json:"sent"`
	Answered int64        `json:"answered"`
	// Lost are requests sent in the phase and not answered within the drain.
	Lost int64 `json:"lost"`
	// ResponsesPerS is answers to the phase's requests per second of phase.
	ResponsesPerS float64 `json:"responses_per_second"`
	// TargetPerS is the open-loop offered rate (conns x rate).
	TargetPerS float64 `json:"target_per_second,omitempty"`
	// Latency of every answered request, write to response.
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// Fairness: the p50 and p99 of the per-connection p99s, the slowest
	// connection's p99, and the fewest and most answers a connection got.
	ConnP99P50Ms   float64 `json:"conn_p99_p50_ms"`
	ConnP99P99Ms   float64 `json:"conn_p99_p99_ms"`
	ConnP99MaxMs   float64 `json:"conn_p99_max_ms"`
	ConnAnswersMin int64   `json:"conn_answers_min"`
	ConnAnswersMax int64   `json:"conn_answers_max"`
	// Behind counts open-loop sends more than 10 ms late (the generator
	// could not keep up).
	Behind int64 `json:"late_sends,omitempty"`
	// Hashed is how many nonces the generator hashed (before and during).
	Hashed int64 `json:"generator_hashes"`
	// ConnErrors counts connections that failed during the phase.
	ConnErrors int64  `json:"conn_errors"`
	FirstError string `json:"first_error,omitempty"`
}

// RaiseFileLimit raises RLIMIT_NOFILE to its hard limit and returns it.
func RaiseFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return 0, err
		}
	}
	return rl.Cur, nil
}

// Run connects cfg.Conns miners to cfg.Addr, precomputes their shares,
// runs the timed phase and returns what it measured.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Mix == (Mix{}) {
		cfg.Mix = Mix{90, 5, 5}
	}
	if err := cfg.Mix.check(); err != nil {
		return Result{}, err
	}
	if cfg.Conns <= 0 || cfg.Duration <= 0 {
		return Result{}, errors.New("loadgen: conns and duration must be positive")
	}
	if cfg.Inflight <= 0 && cfg.Rate <= 0 {
		return Result{}, errors.New("loadgen: want a rate (open loop) or in-flight count (closed loop)")
	}
	if cfg.Setup <= 0 {
		cfg.Setup = 2 * time.Minute
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 10 * time.Second
	}
	if cfg.DialConcurrency <= 0 {
		cfg.DialConcurrency = 256
	}
	if cfg.Pool <= 0 {
		cfg.Pool = 64
		if cfg.Inflight > 0 {
			cfg.Pool = 4 * cfg.Inflight
		} else if p := int(cfg.Rate*6) + 16; p > cfg.Pool {
			cfg.Pool = p // a job's worth at the rate (jobs last a few seconds); more are hashed on demand
		}
	}
	res := Result{Conns: cfg.Conns, Mix: cfg.Mix.String(), DurationS: cfg.Duration.Seconds()}
	if cfg.Inflight > 0 {
		res.Mode, res.Inflight = "closed", cfg.Inflight
	} else {
		res.Mode, res.Rate, res.TargetPerS = "open", cfg.Rate, cfg.Rate*float64(cfg.Conns)
	}

	g := &gen{cfg: cfg}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	t0 := time.Now()
	conns, err := g.connectAll(runCtx)
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.nc.Close()
			}
		}
	}()
	if err != nil {
		return res, err
	}
	res.SetupS = time.Since(t0).Seconds()
	res.Difficulty = conns[0].diff

	// The timed phase.
	if cfg.OnPhase != nil {
		cfg.OnPhase(true)
	}
	start := time.Now()
	end := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { c.send(runCtx, g, i, start, end) })
	}
	wg.Wait()
	phase := time.Since(start)
	if cfg.OnPhase != nil {
		cfg.OnPhase(false)
	}
	// Drain: wait for the answers to what was sent.
	deadline := time.Now().Add(cfg.Drain)
	for time.Now().Before(deadline) {
		out := int64(0)
		for _, c := range conns {
			out += c.outstanding()
		}
		if out == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	for _, c := range conns {
		_ = c.nc.Close()
	}
	for _, c := range conns {
		<-c.readDone
	}

	// Tally.
	var all []int64
	var connP99 []int64
	res.ConnAnswersMin = -1
	for k := range nKinds {
		res.Kinds = append(res.Kinds, KindCounts{Kind: k.String()})
	}
	for _, c := range conns {
		c.mu.Lock()
		for k := range nKinds {
			kc, cc := &res.Kinds[k], &c.counts[k]
			kc.Sent += cc.Sent
			kc.Answered += cc.Answered
			kc.Expected += cc.Expected
			kc.RotationStale += cc.RotationStale
			kc.Unexpected += cc.Unexpected
			if kc.FirstUnexpected == "" {
				kc.FirstUnexpected = cc.FirstUnexpected
			}
		}
		lat := c.lat
		c.mu.Unlock()
		all = append(all, lat...)
		n := int64(len(lat))
		if res.ConnAnswersMin < 0 || n < res.ConnAnswersMin {
			res.ConnAnswersMin = n
		}
		res.ConnAnswersMax = max(res.ConnAnswersMax, n)
		if n > 0 {
			slices.Sort(lat)
			connP99 = append(connP99, pct(lat, 0.99))
		}
		if e := c.err.Load(); e != nil {
			res.ConnErrors++
			if res.FirstError == "" {
				res.FirstError = (*e).Error()
			}
		}
	}
	for _, k := range res.Kinds {
		res.Sent += k.Sent
		res.Answered += k.Answered
	}
	res.Lost = res.Sent - res.Answered
	res.Behind = g.behind.Load()
	res.Hashed = g.hashed.Load()
	res.ResponsesPerS = float64(res.Answered) / phase.Seconds()
	res.DurationS = phase.Seconds()
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	if len(all) > 0 {
		slices.Sort(all)
		res.P50Ms, res.P99Ms, res.MaxMs = ms(pct(all, 0.5)), ms(pct(all, 0.99)), ms(all[len(all)-1])
	}
	if len(connP99) > 0 {
		slices.Sort(connP99)
		res.ConnP99P50Ms, res.ConnP99P99Ms, res.ConnP99MaxMs = ms(pct(connP99, 0.5)), ms(pct(connP99, 0.99)), ms(connP99[len(connP99)-1])
	}
	if res.ConnAnswersMin < 0 {
		res.ConnAnswersMin = 0
	}
	return res, nil
}

// pct returns the q quantile of sorted xs (nearest rank).
func pct(xs []int64, q float64) int64 {
	i := int(q*float64(len(xs))+0.5) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

type gen struct {
	cfg    Config
	behind atomic.Int64
	hashed atomic.Int64
}

// connectAll opens, subscribes and authorizes every connection and
// precomputes its shares.
func (g *gen) connectAll(ctx context.Context) ([]*conn, error) {
	cfg := g.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.Setup)
	defer cancel()
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("loadgen: addr %q: %w", cfg.Addr, err)
	}
	ip := net.ParseIP(host)
	loop := ip != nil && ip.IsLoopback() && ip.To4() != nil
	nsrc := cfg.SourceIPs
	if nsrc <= 0 {
		nsrc = cfg.Conns/10000 + 1
	}
	conns := make([]*conn, cfg.Conns)
	errs := make([]error, cfg.Conns)
	sem := make(chan struct{}, cfg.DialConcurrency)
	var wg sync.WaitGroup
	for i := range cfg.Conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			d := net.Dialer{}
			if loop && nsrc > 1 {
				d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+(i%nsrc)/250), byte(1+(i%nsrc)%250))}
			}
			conns[i], errs[i] = g.open(ctx, d, i)
		})
	}
	wg.Wait()
	n := 0
	for i, e := range errs {
		if e != nil {
			n++
			if n == 1 {
				err = fmt.Errorf("loadgen: conn %d: %w", i, e)
			}
		}
	}
	if n > 0 {
		return conns, fmt.Errorf("%w (%d of %d connections failed)", err, n, cfg.Conns)
	}
	return conns, nil
}

// shareBasis is what a connection's precomputed shares rest on.
type shareBasis struct {
	job  stratum.Job
	diff float64
}

type conn struct {
	nc       net.Conn
	worker   string
	en1      []byte
	en2Size  int
	readDone chan struct{}
	err      atomic.Pointer[error]

	// Set by open, then owned by the sender.
	diff     float64
	target   pow.Target
	basis    stratum.Notify
	scanner  *pow.Scanner
	nextScan uint32
	valid    []uint32 // nonces meeting the target, with en2 0 and the job's ntime
	invalid  []uint32 // nonces missing it
	en2hex   string
	ntimeHex string
	used     int // valid nonces used in the current job
	usedJob  string
	rng      *rand.Rand
	nextID   uint64
	tokens   chan struct{} // closed loop

	mu      sync.Mutex // below, and jobs
	cur     string     // current job id
	prev    string     // an earlier, cleaned job id ("" if none yet)
	curN    stratum.Notify
	pending map[uint64]pend
	counts  [nKinds]KindCounts
	lat     []int64
}

type pend struct {
	at   time.Time
	kind Kind
	job  string
}

func (c *conn) fail(err error) {
	if err != nil {
		c.err.CompareAndSwap(nil, &err)
	}
}

func (c *conn) outstanding() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err.Load() != nil {
		return 0
	}
	return int64(len(c.pending))
}

// open dials, subscribes, authorizes, waits for the difficulty and a job,
// and precomputes the share pools; then starts the reader.
func (g *gen) open(ctx context.Context, d net.Dialer, i int) (*conn, error) {
	nc, err := d.DialContext(ctx, "tcp", g.cfg.Addr)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, worker: "bench." + strconv.Itoa(i), readDone: make(chan struct{}), pending: map[uint64]pend{},
		rng: rand.New(rand.NewPCG(uint64(i), 0x5eed))}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	br := bufio.NewReaderSize(nc, 4096)
	write := func(id uint64, method string, params any) error {
		m, err := stratum.NewRequest(id, method, params)
		if err != nil {
			return err
		}
		return stratum.NewEncoder(nc).Encode(m)
	}
	if err := write(1, stratum.MethodSubscribe, stratum.Subscribe{UserAgent: "gridminer-loadgen"}.Params()); err != nil {
		nc.Close()
		return nil, err
	}
	if err := write(2, stratum.MethodAuthorize, stratum.Authorize{User: c.worker, Password: "x"}.Params()); err != nil {
		nc.Close()
		return nil, err
	}
	dec := stratum.NewDecoder(br, 0)
	var haveSub, haveAuth, haveDiff, haveJob bool
	var n stratum.Notify
	for !(haveSub && haveAuth && haveDiff && haveJob) {
		m, err := dec.Decode()
		if err != nil {
			nc.Close()
			return nil, err
		}
		switch {
		case m.IsResponse():
			if e := m.Err(); e != nil {
				nc.Close()
				return nil, e
			}
			id, _ := m.IDUint()
			switch id {
			case 1:
				r, err := stratum.ParseSubscribeResult(m.Result)
				if err != nil {
					nc.Close()
					return nil, err
				}
				c.en1, c.en2Size, haveSub = r.Extranonce1, r.Extranonce2Size, true
			case 2:
				if !m.ResultBool() {
					nc.Close()
					return nil, errors.New("authorize refused")
				}
				haveAuth = true
			}
		case m.Method == stratum.MethodSetDifficulty:
			sd, err := stratum.ParseSetDifficulty(m.Params)
			if err != nil {
				nc.Close()
				return nil, err
			}
			c.diff, haveDiff = sd.Difficulty, true
		case m.Method == stratum.MethodNotify:
			if n, err = stratum.ParseNotify(m.Params); err != nil {
				nc.Close()
				return nil, err
			}
			if n.CleanJobs && c.cur != "" {
				c.prev = c.cur
			}
			c.cur, c.curN, haveJob = n.JobID, n, true
		}
	}
	c.nextID = 10
	if err := c.rebase(g, n); err != nil {
		nc.Close()
		return nil, err
	}
	if g.cfg.Inflight > 0 {
		c.tokens = make(chan struct{}, g.cfg.Inflight)
		for range g.cfg.Inflight {
			c.tokens <- struct{}{}
		}
	}
	_ = nc.SetDeadline(time.Time{})
	go c.readLoop(g, br)
	return c, nil
}

// rebase precomputes the pools for notify n (a job whose header fields
// differ from the last basis).
func (c *conn) rebase(g *gen, n stratum.Notify) error {
	t, err := pow.DiffToTargetLE(c.diff)
	if err != nil {
		return err
	}
	c.target, c.basis = t, n
	j := stratum.Job{Notify: n, Extranonce1: c.en1, Extranonce2Size: c.en2Size}
	en2 := make([]byte, c.en2Size)
	hdr, err := j.Header(stratum.Submit{Extranonce2: en2, NTime: n.NTime})
	if err != nil {
		return err
	}
	if c.scanner, err = pow.NewScanner(&hdr); err != nil {
		return err
	}
	c.en2hex, c.ntimeHex = hex.EncodeToString(en2), fmt.Sprintf("%08x", n.NTime)
	c.valid, c.invalid, c.nextScan, c.used = c.valid[:0], c.invalid[:0], 0, 0
	for len(c.valid) < g.cfg.Pool || len(c.invalid) < 64 {
		if !c.scanOne(g) {
			return errors.New("nonce space exhausted")
		}
	}
	return nil
}

// scanOne hashes the next nonce into a pool; false when none are left.
func (c *conn) scanOne(g *gen) bool {
	if c.nextScan == ^uint32(0) {
		return false
	}
	nonce := c.nextScan
	c.nextScan++
	g.hashed.Add(1)
	h := c.scanner.Hash(nonce)
	if c.target.Meets(&h) {
		c.valid = append(c.valid, nonce)
	} else if len(c.invalid) < 256 {
		c.invalid = append(c.invalid, nonce)
	}
	return true
}

// next builds the next share line of kind k, returning its id and job.
func (c *conn) next(g *gen, buf []byte) ([]byte, uint64, Kind, string, error) {
	c.mu.Lock()
	cur, prev, n := c.cur, c.prev, c.curN
	c.mu.Unlock()
	if prev == "" {
		prev = g.cfg.StaleJob
	}
	if !sameHeaderFields(&n, &c.basis) {
		if err := c.rebase(g, n); err != nil {
			return buf, 0, 0, "", err
		}
	}
	if c.usedJob != cur {
		c.usedJob, c.used = cur, 0 // a new job: its duplicate table is new
	}
	r := c.rng.IntN(100)
	k := Valid
	switch {
	case r < g.cfg.Mix.Valid:
	case r < g.cfg.Mix.Valid+g.cfg.Mix.Stale && prev != "":
		k = Stale
	case r >= g.cfg.Mix.Valid+g.cfg.Mix.Stale:
		k = Invalid
	}
	job := cur
	var nonce uint32
	switch k {
	case Valid:
		for c.used >= len(c.valid) {
			if !c.scanOne(g) {
				return buf, 0, 0, "", errors.New("nonce space exhausted")
			}
		}
		nonce = c.valid[c.used]
		c.used++
	case Stale:
		job, nonce = prev, c.valid[c.rng.IntN(len(c.valid))]
	case Invalid:
		nonce = c.invalid[c.rng.IntN(len(c.invalid))]
	}
	c.nextID++
	id := c.nextID
	buf = append(buf, `{"id":`...)
	buf = strconv.AppendUint(buf, id, 10)
	buf = append(buf, `,"method":"mining.submit","params":["`...)
	buf = append(buf, c.worker...)
	buf = append(buf, `","`...)
	buf = append(buf, job...)
	buf = append(buf, `","`...)
	buf = append(buf, c.en2hex...)
	buf = append(buf, `","`...)
	buf = append(buf, c.ntimeHex...)
	buf = append(buf, `","`...)
	var nb [4]byte
	nb[0], nb[1], nb[2], nb[3] = byte(nonce>>24), byte(nonce>>16), byte(nonce>>8), byte(nonce)
	buf = hex.AppendEncode(buf, nb[:])
	buf = append(buf, "\"]}\n"...)
	return buf, id, k, job, nil
}

func sameHeaderFields(a, b *stratum.Notify) bool {
	return a.PrevHash == b.PrevHash && bytes.Equal(a.Coinb1, b.Coinb1) && bytes.Equal(a.Coinb2, b.Coinb2) &&
		slices.Equal(a.MerkleBranch, b.MerkleBranch) && a.Version == b.Version && a.NBits == b.NBits && a.NTime == b.NTime
}

// send submits shares from start to end: open loop at the rate, or closed
// loop keeping Inflight requests outstanding.
func (c *conn) send(ctx context.Context, g *gen, i int, start, end time.Time) {
	var buf []byte
	type sent struct {
		id   uint64
		kind Kind
		job  string
	}
	batch := make([]sent, 0, 16)
	flush := func() bool {
		if len(buf) == 0 {
			return true
		}
		now := time.Now()
		c.mu.Lock()
		for _, s := range batch {
			c.pending[s.id] = pend{at: now, kind: s.kind, job: s.job}
			c.counts[s.kind].Sent++
		}
		c.mu.Unlock()
		_, err := c.nc.Write(buf)
		buf, batch = buf[:0], batch[:0]
		if err != nil {
			c.fail(err)
			return false
		}
		return true
	}
	add := func() bool {
		var (
			id  uint64
			k   Kind
			job string
			err error
		)
		buf, id, k, job, err = c.next(g, buf)
		if err != nil {
			c.fail(err)
			return false
		}
		batch = append(batch, sent{id, k, job})
		return true
	}
	if g.cfg.Inflight > 0 {
		timer := time.NewTimer(time.Until(end))
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
				return
			case <-c.tokens:
			}
			if c.err.Load() != nil || !time.Now().Before(end) {
				return
			}
			if !add() {
				return
			}
		more:
			for len(batch) < cap(batch) {
				select {
				case <-c.tokens:
					if !add() {
						return
					}
				default:
					break more
				}
			}
			if !flush() {
				return
			}
		}
	}
	// Open loop: evenly spaced sends, each connection at its own phase.
	gap := time.Duration(float64(time.Second) / g.cfg.Rate)
	at := start.Add(time.Duration(c.rng.Int64N(int64(gap))))
	for at.Before(end) {
		if d := time.Until(at); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		} else if -d > 10*time.Millisecond {
			g.behind.Add(1)
		}
		if c.err.Load() != nil || !add() || !flush() {
			return
		}
		at = at.Add(gap)
	}
}

// readLoop reads answers and notifications until the connection closes.
func (c *conn) readLoop(g *gen, br *bufio.Reader) {
	defer close(c.readDone)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			line = append(line, chunk...)
			continue
		}
		if err != nil {
			c.mu.Lock()
			n := len(c.pending)
			c.mu.Unlock()
			if n > 0 {
				c.fail(err)
			}
			return
		}
		if len(line) > 0 {
			line = append(line, chunk...)
			chunk, line = line, line[:0:0]
		}
		now := time.Now()
		if id, ok, code, fast := parseAnswer(chunk); fast {
			c.answer(g, now, id, ok, code)
			continue
		}
		m, err := stratum.ParseMessage(bytes.TrimSpace(chunk))
		if err != nil {
			continue
		}
		switch {
		case m.IsResponse():
			id, _ := m.IDUint()
			code := 0
			if m.Error != nil {
				code = m.Error.Code
			}
			c.answer(g, now, id, m.ResultBool() && m.Error == nil, code)
		case m.Method == stratum.MethodNotify:
			n, err := stratum.ParseNotify(m.Params)
			if err != nil {
				continue
			}
			c.mu.Lock()
			if n.CleanJobs {
				c.prev = c.cur
			}
			c.cur, c.curN = n.JobID, n
			c.mu.Unlock()
		case m.Method == stratum.MethodSetDifficulty:
			// The bench server's difficulty is fixed.
		}
	}
}

func (c *conn) answer(g *gen, now time.Time, id uint64, ok bool, code int) {
	c.mu.Lock()
	p, found := c.pending[id]
	if !found {
		c.mu.Unlock()
		return
	}
	delete(c.pending, id)
	kc := &c.counts[p.kind]
	kc.Answered++
	c.lat = append(c.lat, int64(now.Sub(p.at)))
	var expect bool
	switch p.kind {
	case Valid, Invalid:
		// The job was current when sent; 21 means a clean job replaced
		// it before the server got to the share.
		if !ok && code == stratum.CodeJobNotFound {
			kc.RotationStale++
			c.mu.Unlock()
			c.release()
			return
		}
		if p.kind == Valid {
			expect = ok
		} else {
			expect = !ok && code == stratum.CodeLowDifficulty
		}
	case Stale:
		expect = !ok && code == stratum.CodeJobNotFound
	}
	if expect {
		kc.Expected++
	} else {
		kc.Unexpected++
		if kc.FirstUnexpected == "" {
			kc.FirstUnexpected = fmt.Sprintf("job %s: result %v, error code %d", p.job, ok, code)
		}
	}
	c.mu.Unlock()
	c.release()
}

// release returns a closed-loop token.
func (c *conn) release() {
	if c.tokens != nil {
		select {
		case c.tokens <- struct{}{}:
		default:
		}
	}
}

// parseAnswer decodes the server's usual response shapes without a JSON
// parse: {"id":N,"result":true,"error":null} and
// {"id":N,"result":false,"error":[C,...]}. fast is false for anything else.
func parseAnswer(b []byte) (id uint64, ok bool, code int, fast bool) {
	const pre = `{"id":`
	if !bytes.HasPrefix(b, []byte(pre)) {
		return 0, false, 0, false
	}
	b = b[len(pre):]
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		id = id*10 + uint64(b[i]-'0')
		i++
	}
	if i == 0 {
		return 0, false, 0, false
	}
	b = b[i:]
	switch {
	case bytes.HasPrefix(b, []byte(`,"result":true,"error":null}`)):
		return id, true, 0, true
	case bytes.HasPrefix(b, []byte(`,"result":false,"error":[`)):
		b = b[len(`,"result":false,"error":[`):]
		j := 0
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			code = code*10 + int(b[j]-'0')
			j++
		}
		if j == 0 {
			return 0, false, 0, false
		}
		return id, false, code, true
	}
	return 0, false, 0, false
}
