package stratum

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/stratum/pow"
)

// ParseURL turns stratum+tcp://host:port (or host:port) into a dial address.
func ParseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err == nil && u.Scheme != "" && u.Host != "" {
		if u.Scheme != "stratum+tcp" && u.Scheme != "tcp" {
			return "", fmt.Errorf("stratum url %q: unsupported scheme %q", s, u.Scheme)
		}
		s = u.Host
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return "", fmt.Errorf("stratum url %q: %w", s, err)
	}
	return s, nil
}

// ClientConfig configures a Client.
type ClientConfig struct {
	Addr      string // host:port
	User      string
	Password  string
	UserAgent string // default "gridminer"
	Threads   int    // hashing goroutines; default runtime.NumCPU()
	// VersionRolling sends mining.configure with version-rolling first. The
	// negotiated mask is recorded, but this miner does not roll versions.
	VersionRolling bool
	DialTimeout    time.Duration // default 10 s
	IdleTimeout    time.Duration // reconnect after this long without a line; default 5 min
	WriteTimeout   time.Duration // default 10 s
	MinBackoff     time.Duration // default 1 s
	MaxBackoff     time.Duration // default 1 min
	Clock          clock.Clock   // waits between reconnects; default clock.Real
	Logger         *slog.Logger  // default discards
	// OnResult, if set, is called (from the session goroutine) with each
	// share's outcome.
	OnResult func(ShareResult)
}

// ShareResult is the pool's answer to one submitted share.
type ShareResult struct {
	Submit     Submit
	Hash       pow.Hash
	Difficulty float64 // the share target's difficulty
	Accepted   bool
	Err        error // *Error or *RejectError when rejected
}

// Stats are a Client's running totals.
type Stats struct {
	Hashes, Accepted, Rejected, Stale uint64
}

// Client is a Stratum V1 CPU miner: it keeps a connection to a pool,
// hashes the current job on Threads goroutines and submits shares.
type Client struct {
	cfg                               ClientConfig
	hashes, accepted, rejected, stale atomic.Uint64
}

// NewClient checks cfg and fills in defaults.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Addr == "" || cfg.User == "" {
		return nil, errors.New("stratum client: address and user are required")
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "gridminer"
	}
	if cfg.Threads <= 0 {
		cfg.Threads = runtime.NumCPU()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.DialTimeout, 10*time.Second)
	def(&cfg.IdleTimeout, 5*time.Minute)
	def(&cfg.WriteTimeout, 10*time.Second)
	def(&cfg.MinBackoff, time.Second)
	def(&cfg.MaxBackoff, time.Minute)
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg}, nil
}

// Stats returns the running totals.
func (c *Client) Stats() Stats {
	return Stats{Hashes: c.hashes.Load(), Accepted: c.accepted.Load(), Rejected: c.rejected.Load(), Stale: c.stale.Load()}
}

// Run mines until ctx ends, reconnecting with exponential backoff; it
// returns nil when ctx ends.
func (c *Client) Run(ctx context.Context) error {
	backoff := c.cfg.MinBackoff
	for {
		gotJob, err := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if gotJob {
			backoff = c.cfg.MinBackoff
		}
		c.cfg.Logger.Warn("stratum session ended; reconnecting", "pool", c.cfg.Addr, "err", err, "backoff", backoff)
		if c.cfg.Clock.Sleep(ctx, backoff) != nil {
			return nil
		}
		backoff = min(2*backoff, c.cfg.MaxBackoff)
	}
}

// work is one job with its share target, handed to the hashing threads.
type work struct {
	job    Job
	target pow.Target
}

type share struct {
	w    *work
	en2  []byte
	hash pow.Hash
	n    uint32
}

const (
	idConfigure = 1
	idSubscribe = 2
	idAuthorize = 3
	idFirstFree = 4
)

// session runs one connection; gotJob reports whether a job arrived.
func (c *Client) session(ctx context.Context) (gotJob bool, err error) {
	log := c.cfg.Logger.With("pool", c.cfg.Addr)
	d := net.Dialer{Timeout: c.cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		return false, fmt.Errorf("stratum %s: dial: %w", c.cfg.Addr, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	msgs := make(chan *Message)
	works := make(chan *work, 1)
	shares := make(chan share, 16)
	g.Go(func() error { // close the connection when the session ends
		<-gctx.Done()
		return conn.Close()
	})
	g.Go(func() error { // reader
		dec := NewDecoder(conn, 0)
		for {
			if err := conn.SetReadDeadline(time.Now().Add(c.cfg.IdleTimeout)); err != nil {
				return fmt.Errorf("stratum %s: %w", c.cfg.Addr, err)
			}
			m, err := dec.Decode()
			if errors.Is(err, ErrMalformed) {
				log.Warn("stratum: ignoring malformed line", "err", err)
				continue
			}
			if err != nil {
				return fmt.Errorf("stratum %s: read: %w", c.cfg.Addr, err)
			}
			select {
			case msgs <- m:
			case <-gctx.Done():
				return nil
			}
		}
	})
	g.Go(func() error { return c.hashLoop(gctx, works, shares) })
	g.Go(func() error {
		err := c.loop(gctx, conn, msgs, works, shares, &gotJob, log)
		if err == nil {
			err = errors.New("session closed")
		}
		return err
	})
	err = g.Wait()
	return gotJob, err
}

// loop is the protocol state machine; it alone writes to conn.
func (c *Client) loop(ctx context.Context, conn net.Conn, msgs <-chan *Message, works chan *work,
	shares <-chan share, gotJob *bool, log *slog.Logger) error {
	enc := NewEncoder(conn)
	send := func(m *Message, err error) error {
		if err != nil {
			return err
		}
		if err := conn.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
			return err
		}
		return enc.Encode(m)
	}
	if c.cfg.VersionRolling {
		cf := Configure{Extensions: []string{"version-rolling"}, VersionRolling: true, Mask: BIP320Mask, MinBitCount: 2}
		if err := send(NewRequest(idConfigure, MethodConfigure, cf.Params())); err != nil {
			return err
		}
	}
	if err := send(NewRequest(idSubscribe, MethodSubscribe, Subscribe{UserAgent: c.cfg.UserAgent}.Params())); err != nil {
		return err
	}
	var (
		subscribed, authorized bool
		en1                    []byte
		en2Size                int
		mask                   uint32
		difficulty             = 1.0
		nextEn1                []byte
		nextEn2Size            = -1
		valid                  = map[string]*work{}
		nextID                 = uint64(idFirstFree)
		pending                = map[uint64]share{}
	)
	for {
		select {
		case <-ctx.Done():
			return nil
		case sh := <-shares:
			if valid[sh.w.job.JobID] != sh.w {
				c.stale.Add(1)
				continue
			}
			s := Submit{Worker: c.cfg.User, JobID: sh.w.job.JobID, Extranonce2: sh.en2, NTime: sh.w.job.NTime, Nonce: sh.n}
			pending[nextID] = sh
			if err := send(NewRequest(nextID, MethodSubmit, s.Params())); err != nil {
				return err
			}
			nextID++
		case m := <-msgs:
			switch {
			case m.IsResponse():
				id, _ := m.IDUint()
				switch {
				case id == idConfigure && c.cfg.VersionRolling:
					if r, err := ParseConfigureResult(m.Result); err == nil && r.VersionRolling {
						mask = r.Mask
						log.Info("stratum: version rolling negotiated", "mask", fmt.Sprintf("%08x", mask))
					}
				case id == idSubscribe:
					if err := m.Err(); err != nil {
						return fmt.Errorf("stratum %s: subscribe: %w", c.cfg.Addr, err)
					}
					r, err := ParseSubscribeResult(m.Result)
					if err != nil {
						return fmt.Errorf("stratum %s: subscribe: %w", c.cfg.Addr, err)
					}
					subscribed, en1, en2Size = true, r.Extranonce1, r.Extranonce2Size
					a := Authorize{User: c.cfg.User, Password: c.cfg.Password}
					if err := send(NewRequest(idAuthorize, MethodAuthorize, a.Params())); err != nil {
						return err
					}
				case id == idAuthorize:
					if err := m.Err(); err != nil {
						return fmt.Errorf("stratum %s: authorize %s: %w", c.cfg.Addr, c.cfg.User, err)
					}
					if !m.ResultBool() {
						return fmt.Errorf("stratum %s: authorize %s: %w", c.cfg.Addr, c.cfg.User, ErrUnauthorized)
					}
					authorized = true
					log.Info("stratum: authorized", "user", c.cfg.User)
				default:
					sh, ok := pending[id]
					if !ok {
						continue
					}
					delete(pending, id)
					res := ShareResult{
						Submit:     Submit{Worker: c.cfg.User, JobID: sh.w.job.JobID, Extranonce2: sh.en2, NTime: sh.w.job.NTime, Nonce: sh.n},
						Hash:       sh.hash,
						Difficulty: sh.w.job.Difficulty,
						Accepted:   m.ResultBool() && m.Err() == nil,
						Err:        m.Err(),
					}
					if res.Accepted {
						c.accepted.Add(1)
					} else {
						c.rejected.Add(1)
						if res.Err == nil {
							res.Err = ErrRejected
						}
					}
					if c.cfg.OnResult != nil {
						c.cfg.OnResult(res)
					}
				}
			case m.Method == MethodPing || m.Method == "client.get_version":
				if m.IsRequest() {
					result := "pong"
					if m.Method != MethodPing {
						result = c.cfg.UserAgent
					}
					if err := send(NewResponse(m.ID, result, nil)); err != nil {
						return err
					}
				}
			case m.Method == MethodSetDifficulty:
				sd, err := ParseSetDifficulty(m.Params)
				if err != nil {
					log.Warn("stratum: bad set_difficulty", "err", err)
					continue
				}
				difficulty = sd.Difficulty // applies from the next job
			case m.Method == MethodSetVersionMask:
				if vm, err := ParseSetVersionMask(m.Params); err == nil {
					mask = vm.Mask
				}
			case m.Method == MethodSetExtranonce:
				se, err := ParseSetExtranonce(m.Params)
				if err != nil {
					log.Warn("stratum: bad set_extranonce", "err", err)
					continue
				}
				nextEn1, nextEn2Size = se.Extranonce1, se.Extranonce2Size
			case m.Method == MethodNotify:
				n, err := ParseNotify(m.Params)
				if err != nil {
					log.Warn("stratum: bad notify", "err", err)
					continue
				}
				if !subscribed {
					continue
				}
				if nextEn2Size >= 0 {
					en1, en2Size, nextEn1, nextEn2Size = nextEn1, nextEn2Size, nil, -1
				}
				t, err := pow.DiffToTargetLE(difficulty)
				if err != nil {
					return err
				}
				w := &work{job: Job{Notify: n, Extranonce1: en1, Extranonce2Size: en2Size, VersionMask: mask, Difficulty: difficulty}, target: t}
				if n.CleanJobs {
					clear(valid)
				}
				valid[n.JobID] = w
				*gotJob = true
				_ = authorized // shares before authorize are still submitted; pools answer them
				select {       // replace any unconsumed work
				case <-works:
				default:
				}
				works <- w
				log.Debug("stratum: new job", "job", n.JobID, "clean", n.CleanJobs, "difficulty", difficulty)
			case m.IsRequest():
				if err := send(NewResponse(m.ID, nil, NewError(CodeOther, "unsupported method "+m.Method))); err != nil {
					return err
				}
			default:
				log.Debug("stratum: ignoring notification", "method", m.Method)
			}
		}
	}
}

// hashLoop runs Threads hashing goroutines on the latest work, restarting
// them when new work arrives.
func (c *Client) hashLoop(ctx context.Context, works <-chan *work, shares chan<- share) error {
	var wg sync.WaitGroup
	stop := make(chan struct{})
	defer func() { close(stop); wg.Wait() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case w := <-works:
			close(stop)
			wg.Wait()
			stop = make(chan struct{})
			n := c.cfg.Threads
			for i := range n {
				wg.Go(func() { c.hashThread(ctx, stop, w, i, n, shares) })
			}
		}
	}
}

// hashThread scans the nonce slice [i, i+1) * 2^32/n for every extranonce2.
// Threads share extranonce2 values but never nonces, so their work is disjoint.
func (c *Client) hashThread(ctx context.Context, stop <-chan struct{}, w *work, i, n int, shares chan<- share) {
	span := (uint64(1) << 32) / uint64(n)
	lo := uint64(i) * span
	hi := lo + span
	if i == n-1 {
		hi = 1 << 32
	}
	const chunk = 1 << 14
	var sc *pow.Scanner
	for en2n := uint64(0); ; en2n++ {
		en2 := make([]byte, w.job.Extranonce2Size)
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], en2n)
		copy(en2, b[max(0, 8-len(en2)):]) // low bytes of the counter, wrapping
		hdr, err := w.job.Header(Submit{Extranonce2: en2, NTime: w.job.NTime})
		if err != nil {
			return
		}
		if sc == nil {
			if sc, err = pow.NewScanner(&hdr); err != nil {
				c.cfg.Logger.Error("stratum: midstate", "err", err)
				return
			}
		} else if err := sc.Reset(&hdr); err != nil {
			return
		}
		for start := lo; start < hi; {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			default:
			}
			count := min(uint64(chunk), hi-start)
			nonce, h, ok := sc.Scan(uint32(start), uint32(count), &w.target)
			if !ok {
				c.hashes.Add(count)
				start += count
				continue
			}
			c.hashes.Add(uint64(nonce) - start + 1)
			select {
			case shares <- share{w: w, en2: en2, hash: h, n: nonce}:
			case <-stop:
				return
			case <-ctx.Done():
				return
			}
			start = uint64(nonce) + 1
		}
	}
}
