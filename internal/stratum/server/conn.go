package server

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/shares"
	"github.com/gridminer/gridminer/internal/stratum"
)

// conn is one miner connection. Its reader goroutine owns the protocol
// state; mu orders "ready + send the current job" against job broadcasts.
type conn struct {
	s      *Server
	id     uint64
	nc     net.Conn
	remote string
	log    *slog.Logger
	out    chan []byte
	cancel context.CancelFunc

	mu    sync.Mutex
	ready bool

	cs         connShare
	subscribed bool
	workers    map[string]*miner // authorized workers on this connection
}

// enqueue queues a line for the writer; a connection whose queue is full is
// too slow and is closed.
func (c *conn) enqueue(line []byte) {
	select {
	case c.out <- line:
	default:
		c.log.Warn("stratum server: write queue full, closing")
		c.cancel()
	}
}

func (s *Server) handle(ctx context.Context, nc net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &conn{s: s, id: s.ids.Add(1), nc: nc, remote: nc.RemoteAddr().String(), out: make(chan []byte, outQueue),
		cancel: cancel, workers: map[string]*miner{}}
	binary.BigEndian.PutUint32(c.cs.en1[:], s.en1.Add(1))
	c.log = s.log.With("conn", c.id, "remote", c.remote)
	s.mu.Lock()
	s.conns[c.id] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c.id)
		s.mu.Unlock()
		for _, m := range c.workers {
			m.connected.Store(false)
		}
	}()
	c.log.Debug("stratum server: connected")
	readErr, writeErr := stratum.Pump(ctx, nc, c.out, s.cfg.WriteTimeout, c.readLoop)
	if writeErr != nil {
		c.log.Debug("stratum server: write", "err", writeErr)
	}
	if readErr != nil && ctx.Err() == nil && !errors.Is(readErr, io.EOF) {
		c.log.Debug("stratum server: connection ends", "err", readErr)
	}
}

func (c *conn) readLoop(ctx context.Context) error {
	dec := stratum.NewDecoder(c.nc, 0)
	var sub stratum.Submit // reused by the submit fast path
	for {
		if err := c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout)); err != nil {
			return err
		}
		line, err := dec.ReadLine()
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		// The hot message, a well-formed mining.submit, skips encoding/json.
		if id, ok := stratum.ParseSubmitLine(line, &sub); ok {
			c.share(id, sub)
			continue
		}
		m, err := stratum.ParseMessage(line)
		if errors.Is(err, stratum.ErrMalformed) {
			c.log.Debug("stratum server: malformed line", "err", err)
			continue
		}
		if err != nil {
			return err
		}
		if !m.IsRequest() {
			continue // notifications and responses (to nothing we asked)
		}
		c.request(m)
	}
}

func (c *conn) reply(id []byte, result any, e *stratum.Error) {
	line, err := encodeLine(stratum.NewResponse(id, result, e))
	if err != nil {
		c.log.Error("stratum server: encode response", "err", err)
		return
	}
	c.enqueue(line)
}

func (c *conn) notify(method string, params any) {
	line, err := encodeLine(stratum.NewNotification(method, params))
	if err != nil {
		c.log.Error("stratum server: encode notification", "err", err)
		return
	}
	c.enqueue(line)
}

func (c *conn) request(m *stratum.Message) {
	s := c.s
	switch m.Method {
	case stratum.MethodSubscribe:
		if _, err := stratum.ParseSubscribe(m.Params); err != nil {
			c.reply(m.ID, nil, stratum.NewError(stratum.CodeOther, "bad params"))
			return
		}
		c.subscribed = true
		sid := hexOf(c.cs.en1[:])
		r := stratum.SubscribeResult{
			Subscriptions:   [][2]string{{stratum.MethodSetDifficulty, sid}, {stratum.MethodNotify, sid}},
			Extranonce1:     c.cs.en1[:],
			Extranonce2Size: s.cfg.Extranonce2Size,
		}
		c.reply(m.ID, r.Result(), nil)
		c.maybeReady()
	case stratum.MethodAuthorize:
		a, err := stratum.ParseAuthorize(m.Params)
		if err != nil {
			c.reply(m.ID, nil, stratum.NewError(stratum.CodeOther, "bad params"))
			return
		}
		if s.deps.Authorize != nil && !s.deps.Authorize(a.User, a.Password) {
			c.log.Info("stratum server: worker refused", "worker", a.User)
			c.reply(m.ID, false, stratum.NewError(stratum.CodeUnauthorized, "unauthorized worker"))
			return
		}
		if _, ok := c.workers[a.User]; !ok {
			mn := &miner{worker: a.User, remote: c.remote, en1: hexOf(c.cs.en1[:]), conn: c.id, t: shares.NewTracker(s.cfg.StatsWindow)}
			mn.connected.Store(true)
			c.mu.Lock()
			c.workers[a.User] = mn
			c.mu.Unlock()
			s.mu.Lock()
			s.miners = append(s.miners, mn)
			s.mu.Unlock()
			c.log.Info("stratum server: worker authorized", "worker", a.User)
		}
		c.reply(m.ID, true, nil)
		c.maybeReady()
	case stratum.MethodConfigure:
		cf, err := stratum.ParseConfigure(m.Params)
		if err != nil {
			c.reply(m.ID, nil, stratum.NewError(stratum.CodeOther, "bad params"))
			return
		}
		res := stratum.ConfigureResult{}
		if cf.VersionRolling {
			mask, ok := stratum.NegotiateMask(s.cfg.VersionMask, cf.Mask, cf.MinBitCount)
			if ok {
				c.cs.mask = mask
				res.VersionRolling, res.Mask = true, mask
			}
		}
		c.reply(m.ID, res.Result(), nil)
	case stratum.MethodSubmit:
		c.submit(m)
	case stratum.MethodExtranonceSubscribe:
		c.reply(m.ID, false, nil) // the extranonce never changes
	case stratum.MethodSuggestDifficulty:
		c.reply(m.ID, true, nil) // the difficulty is fixed
	case stratum.MethodPing:
		c.reply(m.ID, "pong", nil)
	default:
		c.reply(m.ID, nil, stratum.NewError(stratum.CodeOther, "unsupported method "+m.Method))
	}
}

// maybeReady starts sending jobs once the miner is subscribed and has an
// authorized worker: the difficulty first, then the current job.
func (c *conn) maybeReady() {
	if !c.subscribed || len(c.workers) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready {
		return
	}
	c.ready = true
	c.notify(stratum.MethodSetDifficulty, stratum.SetDifficulty{Difficulty: c.s.cfg.ShareDifficulty}.Params())
	if t := c.s.jobs.Load(); t.current != nil {
		c.enqueue(t.line)
	}
}

func (c *conn) submit(m *stratum.Message) {
	sub, err := stratum.ParseSubmit(m.Params)
	if err != nil {
		c.reply(m.ID, false, stratum.NewError(stratum.CodeOther, "bad params"))
		return
	}
	c.share(m.ID, sub)
}

// share handles a parsed mining.submit with request id id. Neither id nor
// sub.Extranonce2 is retained: both may alias buffers the read loop reuses.
func (c *conn) share(id []byte, sub stratum.Submit) {
	s := c.s
	if !c.subscribed {
		c.reply(id, false, stratum.NewError(stratum.CodeNotSubscribed, "not subscribed"))
		return
	}
	mn, ok := c.workers[sub.Worker]
	if !ok {
		c.reply(id, false, stratum.NewError(stratum.CodeUnauthorized, "unauthorized worker"))
		return
	}
	r := s.validate(&c.cs, sub)
	mn.t.Add(s.deps.Clock.Now(), s.cfg.ShareDifficulty, r.outcome)
	if r.err != nil {
		c.log.Debug("stratum server: share rejected", "worker", sub.Worker, "job", sub.JobID, "err", r.err)
		c.reply(id, false, r.err)
		return
	}
	c.reply(id, true, nil)
	if r.block != nil {
		c.log.Info("stratum server: block candidate", "worker", sub.Worker, "job", sub.JobID, "hash", r.block.Hash.String())
		if s.deps.OnBlock != nil {
			s.deps.OnBlock(*r.block)
		}
	}
}
