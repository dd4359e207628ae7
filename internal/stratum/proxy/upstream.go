package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gridminer/gridminer/internal/stratum"
)

// errPrimaryBack ends a session on a lower-priority pool when a higher one
// accepts connections again.
var errPrimaryBack = errors.New("a higher-priority pool is back")

// errUpstreamLost answers shares whose upstream session ended.
var errUpstreamLost = stratum.NewError(stratum.CodeOther, "upstream connection lost")

// session is one upstream connection.
type session struct {
	gen     uint64
	pool    int
	addr    string
	en1     []byte
	en2Size int
	mask    uint32
	submits chan upSubmit
	done    chan struct{} // closed when the session ends
}

func (s *session) info() Upstream {
	return Upstream{Pool: s.pool, Addr: s.addr, Extranonce1: append([]byte(nil), s.en1...), Extranonce2Size: s.en2Size, VersionMask: s.mask}
}

// upSubmit is a validated share to forward; reply is called once, from
// the session goroutine, with the pool's answer (nil: accepted).
type upSubmit struct {
	sub   stratum.Submit
	reply func(*stratum.Error)
}

// upstream keeps a session to the best available pool until ctx ends.
func (p *Proxy) upstream(ctx context.Context) error {
	idx, failed := 0, 0
	backoff := p.cfg.MinBackoff
	var gen uint64
	for {
		gen++
		established, err := p.session(ctx, gen, idx)
		if ctx.Err() != nil {
			return nil
		}
		pool := p.cfg.Pools[idx]
		switch {
		case errors.Is(err, errPrimaryBack):
			p.log.Info("stratum proxy: returning to primary pool", "from", pool.Addr, "to", p.cfg.Pools[0].Addr)
			idx, failed = 0, 0
			continue
		case established:
			failed, backoff = 0, p.cfg.MinBackoff
		default:
			failed++
		}
		p.log.Warn("stratum proxy: pool session ended", "pool", idx, "addr", pool.Addr, "err", err)
		idx = (idx + 1) % len(p.cfg.Pools)
		if failed >= len(p.cfg.Pools) { // every pool failed in a row: back off
			failed = 0
			if p.deps.Clock.Sleep(ctx, backoff) != nil {
				return nil
			}
			backoff = min(2*backoff, p.cfg.MaxBackoff)
		}
	}
}

const (
	idConfigure = 1
	idSubscribe = 2
	idAuthorize = 3
	idFirstFree = 4
)

// session runs one upstream connection to pool idx; established reports
// whether it got as far as an authorized subscription.
func (p *Proxy) session(ctx context.Context, gen uint64, idx int) (established bool, err error) {
	pool := p.cfg.Pools[idx]
	d := net.Dialer{Timeout: p.cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", pool.Addr)
	if err != nil {
		return false, fmt.Errorf("pool %s: dial: %w", pool.Addr, err)
	}
	s := &session{gen: gen, pool: idx, addr: pool.Addr, submits: make(chan upSubmit, outQueue), done: make(chan struct{})}
	g, gctx := errgroup.WithContext(ctx)
	msgs := make(chan *stratum.Message)
	g.Go(func() error {
		<-gctx.Done()
		return conn.Close()
	})
	g.Go(func() error {
		dec := stratum.NewDecoder(conn, 0)
		for {
			if err := conn.SetReadDeadline(time.Now().Add(p.cfg.IdleTimeout)); err != nil {
				return fmt.Errorf("pool %s: %w", pool.Addr, err)
			}
			m, err := dec.Decode()
			if errors.Is(err, stratum.ErrMalformed) {
				p.log.Warn("stratum proxy: malformed line from pool", "addr", pool.Addr, "err", err)
				continue
			}
			if err != nil {
				return fmt.Errorf("pool %s: read: %w", pool.Addr, err)
			}
			select {
			case msgs <- m:
			case <-gctx.Done():
				return nil
			}
		}
	})
	if idx > 0 {
		g.Go(func() error { return p.probe(gctx, idx) })
	}
	g.Go(func() error {
		err := p.loop(gctx, s, conn, msgs, &established)
		if err == nil && gctx.Err() == nil {
			err = errors.New("session closed")
		}
		return err
	})
	err = g.Wait()
	p.uninstall(s)
	close(s.done)
	for { // answer shares still queued
		select {
		case u := <-s.submits:
			u.reply(errUpstreamLost)
		default:
			return established, err
		}
	}
}

// probe ends the session when a pool before idx accepts a connection.
func (p *Proxy) probe(ctx context.Context, idx int) error {
	for {
		if err := p.deps.Clock.Sleep(ctx, p.cfg.PrimaryRetry); err != nil {
			return nil
		}
		for i := range idx {
			d := net.Dialer{Timeout: p.cfg.DialTimeout}
			c, err := d.DialContext(ctx, "tcp", p.cfg.Pools[i].Addr)
			if err != nil {
				continue
			}
			_ = c.Close()
			return fmt.Errorf("pool %s: %w", p.cfg.Pools[i].Addr, errPrimaryBack)
		}
	}
}

// loop is the upstream protocol state machine; it alone writes to conn.
func (p *Proxy) loop(ctx context.Context, s *session, conn net.Conn, msgs <-chan *stratum.Message, established *bool) error {
	pool := p.cfg.Pools[s.pool]
	enc := stratum.NewEncoder(conn)
	send := func(m *stratum.Message, err error) error {
		if err != nil {
			return err
		}
		if err := conn.SetWriteDeadline(time.Now().Add(p.cfg.WriteTimeout)); err != nil {
			return err
		}
		if err := enc.Encode(m); err != nil {
			return fmt.Errorf("pool %s: write: %w", pool.Addr, err)
		}
		return nil
	}
	cf := stratum.Configure{Extensions: []string{"version-rolling"}, VersionRolling: true, Mask: stratum.BIP320Mask, MinBitCount: 2}
	if err := send(stratum.NewRequest(idConfigure, stratum.MethodConfigure, cf.Params())); err != nil {
		return err
	}
	if err := send(stratum.NewRequest(idSubscribe, stratum.MethodSubscribe, stratum.Subscribe{UserAgent: "gridminer-proxy"}.Params())); err != nil {
		return err
	}
	var (
		subscribed bool
		first      = true
		early      []*stratum.Message // notifications before authorization
		nextID     = uint64(idFirstFree)
		pending    = map[uint64]func(*stratum.Error){}
	)
	defer func() {
		for _, reply := range pending {
			reply(errUpstreamLost)
		}
	}()
	handleNote := func(m *stratum.Message) error {
		switch m.Method {
		case stratum.MethodSetDifficulty:
			sd, err := stratum.ParseSetDifficulty(m.Params)
			if err != nil {
				p.log.Warn("stratum proxy: bad set_difficulty from pool", "err", err)
				return nil
			}
			p.setDifficulty(s, sd.Difficulty)
		case stratum.MethodNotify:
			n, err := stratum.ParseNotify(m.Params)
			if err != nil {
				p.log.Warn("stratum proxy: bad notify from pool", "err", err)
				return nil
			}
			p.setJob(s, n, first)
			first = false
		case stratum.MethodSetExtranonce:
			return fmt.Errorf("pool %s: set_extranonce is not supported; reconnecting", pool.Addr)
		}
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case u := <-s.submits:
			pending[nextID] = u.reply
			if err := send(stratum.NewRequest(nextID, stratum.MethodSubmit, u.sub.Params())); err != nil {
				return err
			}
			nextID++
		case m := <-msgs:
			switch {
			case m.IsResponse():
				id, _ := m.IDUint()
				switch {
				case id == idConfigure:
					if r, err := stratum.ParseConfigureResult(m.Result); err == nil && r.VersionRolling {
						s.mask = r.Mask
					}
				case id == idSubscribe:
					if err := m.Err(); err != nil {
						return fmt.Errorf("pool %s: subscribe: %w", pool.Addr, err)
					}
					r, err := stratum.ParseSubscribeResult(m.Result)
					if err != nil {
						return fmt.Errorf("pool %s: subscribe: %w", pool.Addr, err)
					}
					if r.Extranonce2Size <= p.cfg.PrefixSize {
						return fmt.Errorf("pool %s: extranonce2 size %d leaves no room for a %d-byte prefix", pool.Addr, r.Extranonce2Size, p.cfg.PrefixSize)
					}
					s.en1, s.en2Size, subscribed = r.Extranonce1, r.Extranonce2Size, true
					a := stratum.Authorize{User: pool.User, Password: pool.Password}
					if err := send(stratum.NewRequest(idAuthorize, stratum.MethodAuthorize, a.Params())); err != nil {
						return err
					}
				case id == idAuthorize:
					if err := m.Err(); err != nil {
						return fmt.Errorf("pool %s: authorize %s: %w", pool.Addr, pool.User, err)
					}
					if !m.ResultBool() || !subscribed {
						return fmt.Errorf("pool %s: authorize %s: %w", pool.Addr, pool.User, stratum.ErrUnauthorized)
					}
					*established = true
					p.install(s)
					for _, e := range early {
						if err := handleNote(e); err != nil {
							return err
						}
					}
					early = nil
				default:
					reply, ok := pending[id]
					if !ok {
						continue
					}
					delete(pending, id)
					if m.ResultBool() && m.Err() == nil {
						reply(nil)
					} else {
						reply(mapReject(m.Err()))
					}
				}
			case m.Method == stratum.MethodPing && m.IsRequest():
				if err := send(stratum.NewResponse(m.ID, "pong", nil)); err != nil {
					return err
				}
			case m.IsRequest():
				if err := send(stratum.NewResponse(m.ID, nil, stratum.NewError(stratum.CodeOther, "unsupported method "+m.Method))); err != nil {
					return err
				}
			case !*established:
				early = append(early, m)
			default:
				if err := handleNote(m); err != nil {
					return err
				}
			}
		}
	}
}

// mapReject turns a pool's rejection into the error sent to the miner:
// standard codes pass through; ckpool's reject-reason and other codes are
// mapped by their text.
func mapReject(err error) *stratum.Error {
	var se *stratum.Error
	if errors.As(err, &se) {
		if se.Code >= stratum.CodeOther && se.Code <= stratum.CodeNotSubscribed {
			return stratum.NewError(se.Code, se.Message)
		}
		return stratum.NewError(codeFor(se.Message), se.Message)
	}
	var re *stratum.RejectError
	if errors.As(err, &re) {
		return stratum.NewError(codeFor(re.Reason), re.Reason)
	}
	return stratum.NewError(stratum.CodeOther, "rejected by pool")
}

func codeFor(reason string) int {
	r := strings.ToLower(reason)
	switch {
	case strings.Contains(r, "stale"), strings.Contains(r, "job not found"), strings.Contains(r, "invalid jobid"):
		return stratum.CodeJobNotFound
	case strings.Contains(r, "dup"):
		return stratum.CodeDuplicate
	case strings.Contains(r, "diff"), strings.Contains(r, "above target"), strings.Contains(r, "high-hash"):
		return stratum.CodeLowDifficulty
	case strings.Contains(r, "unauthori"):
		return stratum.CodeUnauthorized
	}
	return stratum.CodeOther
}
