package proxy

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/gridminer/gridminer/internal/shares"
	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/pow"
)

// dconn is one downstream miner connection. Fields after mu's comment are
// guarded by Proxy.mu.
type dconn struct {
	p      *Proxy
	id     uint64
	nc     net.Conn
	remote string
	log    *slog.Logger
	out    chan []byte
	cancel context.CancelFunc
	prefix []byte

	// guarded by Proxy.mu
	subscribed, ready, extranonceSub bool
	gen                              uint64 // session subscribed under
	pool                             int
	mask                             uint32

	workers map[string]*miner // read loop only
}

func (c *dconn) enqueue(line []byte) {
	select {
	case c.out <- line:
	default:
		c.log.Warn("stratum proxy: write queue full, closing")
		c.cancel()
	}
}

func (c *dconn) reply(id []byte, result any, e *stratum.Error) {
	line, err := encodeLine(stratum.NewResponse(id, result, e))
	if err != nil {
		c.log.Error("stratum proxy: encode response", "err", err)
		return
	}
	c.enqueue(line)
}

func (c *dconn) notify(method string, params any) {
	line, err := encodeLine(stratum.NewNotification(method, params))
	if err != nil {
		c.log.Error("stratum proxy: encode notification", "err", err)
		return
	}
	c.enqueue(line)
}

func (p *Proxy) handle(ctx context.Context, nc net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prefix, pv, ok := p.allocPrefix()
	if !ok {
		p.log.Warn("stratum proxy: no free extranonce prefix", "remote", nc.RemoteAddr().String())
		_ = nc.Close()
		return
	}
	defer p.freePrefix(pv)
	c := &dconn{p: p, id: p.ids.Add(1), nc: nc, remote: nc.RemoteAddr().String(), out: make(chan []byte, outQueue),
		cancel: cancel, prefix: prefix, workers: map[string]*miner{}}
	c.log = p.log.With("conn", c.id, "remote", c.remote)
	p.mu.Lock()
	p.conns[c.id] = c
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c.id)
		p.mu.Unlock()
		for _, m := range c.workers {
			m.connected.Store(false)
		}
	}()
	readErr, writeErr := stratum.Pump(ctx, nc, c.out, p.cfg.WriteTimeout, c.readLoop)
	if writeErr != nil {
		c.log.Debug("stratum proxy: write", "err", writeErr)
	}
	if readErr != nil && ctx.Err() == nil && !errors.Is(readErr, io.EOF) {
		c.log.Debug("stratum proxy: connection ends", "err", readErr)
	}
}

func (c *dconn) readLoop(ctx context.Context) error {
	dec := stratum.NewDecoder(c.nc, 0)
	for {
		if err := c.nc.SetReadDeadline(time.Now().Add(c.p.cfg.IdleTimeout)); err != nil {
			return err
		}
		m, err := dec.Decode()
		if errors.Is(err, stratum.ErrMalformed) {
			continue
		}
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		if m.IsRequest() {
			c.request(m)
		}
	}
}

func (c *dconn) request(m *stratum.Message) {
	p := c.p
	switch m.Method {
	case stratum.MethodSubscribe:
		if _, err := stratum.ParseSubscribe(m.Params); err != nil {
			c.reply(m.ID, nil, stratum.NewError(stratum.CodeOther, "bad params"))
			return
		}
		p.mu.Lock()
		s := p.sess
		if s == nil {
			p.mu.Unlock()
			c.reply(m.ID, nil, stratum.NewError(stratum.CodeOther, "no upstream pool"))
			return
		}
		c.subscribed, c.gen, c.pool = true, s.gen, s.pool
		en1 := append(append([]byte(nil), s.en1...), c.prefix...)
		sid := hex.EncodeToString(en1)
		r := stratum.SubscribeResult{
			Subscriptions:   [][2]string{{stratum.MethodSetDifficulty, sid}, {stratum.MethodNotify, sid}},
			Extranonce1:     en1,
			Extranonce2Size: s.en2Size - len(c.prefix),
		}
		c.reply(m.ID, r.Result(), nil)
		p.mu.Unlock()
		c.maybeReady()
	case stratum.MethodAuthorize:
		a, err := stratum.ParseAuthorize(m.Params)
		if err != nil {
			c.reply(m.ID, nil, stratum.NewError(stratum.CodeOther, "bad params"))
			return
		}
		if p.deps.Authorize != nil && !p.deps.Authorize(a.User, a.Password) {
			c.reply(m.ID, false, stratum.NewError(stratum.CodeUnauthorized, "unauthorized worker"))
			return
		}
		if _, ok := c.workers[a.User]; !ok {
			p.mu.Lock()
			mn := &miner{worker: a.User, remote: c.remote, conn: c.id, prefix: hex.EncodeToString(c.prefix),
				pool: c.pool, t: shares.NewTracker(p.cfg.StatsWindow)}
			if s := p.sess; s != nil {
				mn.en1 = hex.EncodeToString(s.en1) + mn.prefix
			}
			mn.connected.Store(true)
			p.miners = append(p.miners, mn)
			p.mu.Unlock()
			c.workers[a.User] = mn
			c.log.Info("stratum proxy: worker authorized", "worker", a.User)
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
		p.mu.Lock()
		poolMask := uint32(stratum.BIP320Mask)
		if p.sess != nil {
			poolMask = p.sess.mask
		}
		if cf.VersionRolling && poolMask != 0 {
			if mask, ok := stratum.NegotiateMask(poolMask, cf.Mask, cf.MinBitCount); ok {
				c.mask = mask
				res.VersionRolling, res.Mask = true, mask
			}
		}
		p.mu.Unlock()
		c.reply(m.ID, res.Result(), nil)
	case stratum.MethodSubmit:
		c.submit(m)
	case stratum.MethodExtranonceSubscribe:
		p.mu.Lock()
		c.extranonceSub = true
		p.mu.Unlock()
		c.reply(m.ID, true, nil)
	case stratum.MethodSuggestDifficulty:
		c.reply(m.ID, true, nil) // the pool sets the difficulty
	case stratum.MethodPing:
		c.reply(m.ID, "pong", nil)
	default:
		c.reply(m.ID, nil, stratum.NewError(stratum.CodeOther, "unsupported method "+m.Method))
	}
}

// maybeReady sends the difficulty and current job once the miner is
// subscribed and authorized.
func (c *dconn) maybeReady() {
	p := c.p
	if len(c.workers) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !c.subscribed || c.ready {
		return
	}
	c.ready = true
	if p.diff > 0 {
		c.notify(stratum.MethodSetDifficulty, stratum.SetDifficulty{Difficulty: p.diff}.Params())
	}
	if p.current != nil {
		c.enqueue(p.current.line)
	}
}

func (c *dconn) submit(m *stratum.Message) {
	p := c.p
	sub, err := stratum.ParseSubmit(m.Params)
	if err != nil {
		c.reply(m.ID, false, stratum.NewError(stratum.CodeOther, "bad params"))
		return
	}
	p.mu.Lock()
	subscribed := c.subscribed
	p.mu.Unlock()
	if !subscribed {
		c.reply(m.ID, false, stratum.NewError(stratum.CodeNotSubscribed, "not subscribed"))
		return
	}
	mn, ok := c.workers[sub.Worker]
	if !ok {
		c.reply(m.ID, false, stratum.NewError(stratum.CodeUnauthorized, "unauthorized worker"))
		return
	}
	j, e, outcome := c.validate(sub)
	if e != nil {
		mn.t.Add(p.deps.Clock.Now(), 0, outcome)
		c.log.Debug("stratum proxy: share rejected", "worker", sub.Worker, "job", sub.JobID, "err", e)
		c.reply(m.ID, false, e)
		return
	}
	up := stratum.Submit{Worker: p.cfg.Pools[0].User, JobID: j.poolID,
		Extranonce2: append(append([]byte(nil), c.prefix...), sub.Extranonce2...),
		NTime:       sub.NTime, Nonce: sub.Nonce, VersionBits: sub.VersionBits, HasVersionBits: sub.HasVersionBits}
	id, diff := m.ID, j.diff
	reply := func(e *stratum.Error) {
		now := p.deps.Clock.Now()
		switch {
		case e == nil:
			mn.t.Add(now, diff, shares.Accepted)
			c.reply(id, true, nil)
		case e.Code == stratum.CodeJobNotFound || e == errUpstreamLost:
			mn.t.Add(now, diff, shares.Stale)
			c.reply(id, false, e)
		default:
			mn.t.Add(now, diff, shares.Rejected)
			c.reply(id, false, e)
		}
	}
	p.mu.Lock()
	s := p.sess
	if s == nil || s.gen != j.gen {
		p.mu.Unlock()
		reply(stratum.NewError(stratum.CodeJobNotFound, "stale job"))
		return
	}
	up.Worker = p.cfg.Pools[s.pool].User
	select {
	case s.submits <- upSubmit{sub: up, reply: reply}:
		p.mu.Unlock()
	default:
		p.mu.Unlock()
		reply(stratum.NewError(stratum.CodeOther, "upstream busy"))
	}
}

// validate checks a share against the downstream job: known and current,
// ntime in range, header built with E1 || prefix, hash meeting the job's
// share target, not seen before.
func (c *dconn) validate(sub stratum.Submit) (*job, *stratum.Error, shares.Outcome) {
	p := c.p
	p.mu.Lock()
	j, ok := p.jobs[sub.JobID]
	stale := ok && (j.stale || p.sess == nil || p.sess.gen != j.gen)
	mask := c.mask
	p.mu.Unlock()
	if !ok {
		return nil, stratum.NewError(stratum.CodeJobNotFound, "job not found"), shares.Stale
	}
	if stale {
		return nil, stratum.NewError(stratum.CodeJobNotFound, "stale job"), shares.Stale
	}
	if sub.NTime < j.down.NTime || int64(sub.NTime)-int64(j.down.NTime) > int64(MaxNTimeRoll/time.Second) {
		return nil, stratum.NewError(stratum.CodeOther, "ntime out of range"), shares.Rejected
	}
	en1 := append(append([]byte(nil), j.en1...), c.prefix...)
	sj := stratum.Job{Notify: j.down, Extranonce1: en1, Extranonce2Size: j.en2Size - len(c.prefix), VersionMask: mask}
	hdr, err := sj.Header(sub)
	if err != nil {
		return nil, stratum.NewError(stratum.CodeOther, err.Error()), shares.Rejected
	}
	h := pow.SHA256d(hdr[:])
	if !j.target.Meets(&h) {
		return nil, stratum.NewError(stratum.CodeLowDifficulty, "low difficulty share"), shares.Rejected
	}
	key := string(hdr[:])
	j.dupMu.Lock()
	_, dup := j.dupSeen[key]
	if !dup {
		if j.dupSeen == nil {
			j.dupSeen = map[string]struct{}{}
		}
		j.dupSeen[key] = struct{}{}
	}
	j.dupMu.Unlock()
	if dup {
		return nil, stratum.NewError(stratum.CodeDuplicate, "duplicate share"), shares.Rejected
	}
	return j, nil, shares.Accepted
}
