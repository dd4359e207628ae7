package whatsminersim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/whatsminer"
	"github.com/gridminer/gridminer/internal/miner/whatsminer/btcrypt"
	"github.com/gridminer/gridminer/internal/minersim"
)

const (
	v3IODeadline   = 10 * time.Second
	v3NoAnswerHold = 10 * time.Minute
	v3MaxRequest   = 64 << 10
)

// ServeListener serves API v3 on ln until ctx ends.
func (d *Dialect) ServeListener(ctx context.Context, name string, ln net.Listener, f *minersim.Fleet) error {
	if name != ListenerV3 {
		return errors.New("whatsminersim: unknown listener " + name)
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			t := time.NewTimer(10 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		wg.Go(func() { d.serveV3Conn(ctx, c, f) })
	}
}

// serveV3Conn answers framed requests on c until the client closes it,
// applying the miner's fault.
func (d *Dialect) serveV3Conn(ctx context.Context, c net.Conn, f *minersim.Fleet) {
	defer c.Close()
	if !minersim.LoopbackPeer(c.RemoteAddr()) {
		return
	}
	u, ok := f.MinerAt(c.LocalAddr())
	if !ok {
		return
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	for {
		fault := u.Fault()
		if fault == minersim.FaultRefuse {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			return
		}
		c.SetDeadline(time.Now().Add(v3IODeadline))
		req, err := whatsminer.ReadFrame(c, v3MaxRequest)
		if err != nil {
			return
		}
		switch {
		case fault == minersim.FaultNoAnswer:
			c.SetDeadline(time.Now().Add(v3NoAnswerHold))
			io.Copy(io.Discard, c)
			return
		case fault.Delay() > 0:
			t := time.NewTimer(fault.Delay())
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			c.SetDeadline(time.Now().Add(v3IODeadline))
		case fault == minersim.FaultGarbage:
			c.Write([]byte("\x17\x03\x03garbage{{not-json]]\xff\xfe"))
			return
		}
		if fault == minersim.FaultTruncate {
			// The link cuts every message in half, both ways: the request
			// arrives incomplete (so it is not executed) and so does the
			// error reply.
			body, _ := json.Marshal(v3Reply{Code: -3, When: u.Now().Unix(), Msg: "invalid json", Desc: "unknown"})
			out := whatsminer.AppendFrame(nil, body)
			c.Write(out[:len(out)/2])
			return
		}
		body, _ := json.Marshal(d.handleV3(u, req))
		out := whatsminer.AppendFrame(nil, body)
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

type v3Reply struct {
	Code int    `json:"code"`
	When int64  `json:"when"`
	Msg  any    `json:"msg"`
	Desc string `json:"desc"`
}

type v3Req struct {
	Cmd     string          `json:"cmd"`
	Param   json.RawMessage `json:"param"`
	TS      int64           `json:"ts"`
	Account string          `json:"account"`
	Token   string          `json:"token"`
}

func (p v3Req) paramString() string {
	var s string
	if json.Unmarshal(p.Param, &s) == nil {
		return s
	}
	return string(p.Param)
}

func (d *Dialect) handleV3(u *minersim.Miner, b []byte) v3Reply {
	when := u.Now().Unix()
	var req v3Req
	if err := json.Unmarshal(b, &req); err != nil || req.Cmd == "" {
		return v3Reply{Code: -3, When: when, Msg: "invalid json", Desc: "unknown"}
	}
	fail := func(code int, msg string) v3Reply { return v3Reply{Code: code, When: when, Msg: msg, Desc: req.Cmd} }
	ok := func(msg any) v3Reply { return v3Reply{Code: 0, When: when, Msg: msg, Desc: req.Cmd} }
	d.mu.Lock()
	s := d.state(u)
	v3salt := s.v3salt
	d.mu.Unlock()
	if len(req.Cmd) > 4 && req.Cmd[:4] == "set." {
		now := d.cfg.Wall.Now()
		skew := now.Sub(time.Unix(req.TS, 0))
		if req.Account != d.cfg.V3Account || skew > v3TSWindow || skew < -v3TSWindow ||
			req.Token != btcrypt.V3Token(req.Cmd, d.cfg.V3Password, v3salt, req.TS) {
			return fail(-4, "invalid token")
		}
	}
	switch req.Cmd {
	case "get.device.info":
		return ok(d.deviceInfo(u, v3salt, req.paramString()))
	case "get.miner.status":
		return ok(d.minerStatus(u, req.paramString()))
	case "set.miner.service":
		switch req.paramString() {
		case "stop":
			u.Sleep()
		case "start":
			u.Wake()
		case "restart":
			u.Sleep()
			u.Wake()
		default:
			return fail(-1, "invalid param")
		}
		return ok("ok")
	case "set.miner.power_limit":
		w, err := strconv.ParseFloat(req.paramString(), 64)
		if err != nil || w <= 0 || math.IsInf(w, 0) {
			return fail(-1, "invalid param")
		}
		d.setLimit(u, w)
		return ok("ok")
	}
	return fail(-2, "invalid command")
}

func (d *Dialect) deviceInfo(u *minersim.Miner, salt, param string) map[string]any {
	if param == "salt" {
		return map[string]any{"salt": salt}
	}
	r := d.read(u)
	id := u.Identity()
	working := !(r.snap.State == miner.StateSleeping || r.snap.State == miner.StateRampingDown)
	minerInfo := map[string]any{
		"type": u.Model().Type, "working": strconv.FormatBool(working), "miner-sn": id.Serial,
		"power-limit-set": strconv.Itoa(int(r.limit)), "hash-board": "SM",
	}
	if param == "miner" {
		return map[string]any{"miner": minerInfo}
	}
	return map[string]any{
		"network":  map[string]any{"mac": id.MAC, "hostname": id.Hostname, "ip": u.Addr()},
		"miner":    minerInfo,
		"system":   map[string]any{"api": v3APIVersion, "fwversion": v3FwVersion, "platform": "H6OS", "ledstatus": "auto"},
		"hardware": map[string]any{"boards": r.boards},
		"salt":     salt,
	}
}

func (d *Dialect) minerStatus(u *minersim.Miner, param string) map[string]any {
	r := d.read(u)
	s := r.snap
	out := map[string]any{}
	if param == "" || param == "summary" {
		upfreq := 1
		if s.State == miner.StateWaking {
			upfreq = 0
		}
		h := round1(float64(s.Hashrate))
		out["summary"] = map[string]any{
			"elapsed": r.uptime, "bootup-time": r.uptime, "freq-avg": 0, "target-freq": 0,
			"factory-hash": r.factory, "hash-average": h, "hash-1min": h, "hash-15min": h, "hash-realtime": h,
			"power-rate": round1(float64(s.Power) / math.Max(float64(s.Hashrate), 1)),
			"power-5min": math.Round(float64(s.Power)), "power-realtime": math.Round(float64(s.Power)),
			"environment-temperature": 25.0, "board-temperature": []float64{round1(s.BoardTempC)},
			"chip-temp-min": round1(s.BoardTempC), "chip-temp-avg": round1((s.ChipTempC + s.BoardTempC) / 2),
			"chip-temp-max": round1(s.ChipTempC), "power-limit": r.limit, "up-freq-finish": upfreq,
			"fan-speed-in": fan(r, 0), "fan-speed-out": fan(r, 1),
		}
	}
	if param == "" || param == "edevs" {
		devs := make([]map[string]any, r.boards)
		for i := range devs {
			h, _ := r.boardHash(i)
			devs[i] = map[string]any{
				"id": i, "slot": i, "hash-average": round1(h), "factory-hash": round1(r.factory / float64(r.boards)),
				"freq": 0, "effective-chips": u.Model().ChipsPerBoard,
				"chip-temp-min": round1(s.BoardTempC), "chip-temp-avg": round1(s.BoardTempC), "chip-temp-max": round1(s.ChipTempC),
			}
		}
		out["edevs"] = devs
	}
	return out
}
