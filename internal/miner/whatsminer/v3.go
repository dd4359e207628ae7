package whatsminer

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
	"github.com/gridminer/gridminer/internal/miner/whatsminer/btcrypt"
)

// MaxFrame is the largest v3 frame either side accepts.
const MaxFrame = 1 << 20

// btminer API v3 codes (pyasic BTMinerAPICode).
const (
	V3CodeOK      = 0
	V3CodeCmdErr  = -1
	V3CodeInvCmd  = -2
	V3CodeInvJSON = -3
	V3CodeDenied  = -4
)

// AppendFrame appends body framed by its 4-byte little-endian length.
func AppendFrame(out, body []byte) []byte {
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

// ReadFrame reads one length-framed message of at most max bytes.
func ReadFrame(r io.Reader, max int) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(h[:])
	if int64(n) > int64(max) {
		return nil, fmt.Errorf("frame of %d bytes exceeds %d: %w", n, max, miner.ErrProtocol)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// V3Reply is one API v3 reply.
type V3Reply struct {
	Code int             `json:"code"`
	When int64           `json:"when"`
	Msg  json.RawMessage `json:"msg"`
	Desc string          `json:"desc"`
}

// ParseV3Reply parses a v3 reply body and maps its code to an error.
func ParseV3Reply(b []byte) (V3Reply, error) {
	var r V3Reply
	if err := json.Unmarshal(b, &r); err != nil {
		return V3Reply{}, fmt.Errorf("parse reply: %w: %w", err, miner.ErrProtocol)
	}
	if r.Desc == "" && r.Msg == nil {
		return V3Reply{}, fmt.Errorf("reply without desc or msg: %w", miner.ErrProtocol)
	}
	switch r.Code {
	case V3CodeOK:
		return r, nil
	case V3CodeDenied:
		return r, fmt.Errorf("code %d %s: %w", r.Code, bytes.Trim(r.Msg, `"`), miner.ErrDenied)
	case V3CodeInvCmd:
		return r, fmt.Errorf("code %d %s: %w", r.Code, bytes.Trim(r.Msg, `"`), miner.ErrUnsupported)
	}
	return r, fmt.Errorf("code %d %s: %w", r.Code, bytes.Trim(r.Msg, `"`), miner.ErrRejected)
}

// v3Request is one v3 command; writes carry ts, account and token.
type v3Request struct {
	Cmd     string `json:"cmd"`
	Param   any    `json:"param,omitempty"`
	TS      int64  `json:"ts,omitempty"`
	Account string `json:"account,omitempty"`
	Token   string `json:"token,omitempty"`
}

// callV3 sends one framed request on its own connection and reads one
// framed reply.
func (m *Miner) callV3(ctx context.Context, req v3Request) (V3Reply, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return V3Reply{}, fmt.Errorf("%s: encode: %w", req.Cmd, err)
	}
	deadline := time.Now().Add(m.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", m.v3addr)
	if err != nil {
		return V3Reply{}, fmt.Errorf("%s: dial: %w: %w", req.Cmd, err, miner.ErrUnreachable)
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(AppendFrame(nil, body)); err != nil {
		return V3Reply{}, fmt.Errorf("%s: write: %w: %w", req.Cmd, err, miner.ErrUnreachable)
	}
	b, err := ReadFrame(conn, MaxFrame)
	if err != nil {
		if errors.Is(err, miner.ErrProtocol) {
			return V3Reply{}, fmt.Errorf("%s: %w", req.Cmd, err)
		}
		return V3Reply{}, fmt.Errorf("%s: read: %w: %w", req.Cmd, err, miner.ErrUnreachable)
	}
	r, err := ParseV3Reply(b)
	if err != nil {
		return r, fmt.Errorf("%s: %w", req.Cmd, err)
	}
	return r, nil
}

func (m *Miner) getV3(ctx context.Context, cmd string, param any, v any) error {
	r, err := m.callV3(ctx, v3Request{Cmd: cmd, Param: param})
	if err != nil {
		return err
	}
	if err := cgminer.Unmarshal(r.Msg, v); err != nil {
		return fmt.Errorf("%s: msg: %w", cmd, err)
	}
	return nil
}

// v3Salt returns the cached salt or asks get.device.info for it.
func (m *Miner) v3Salt(ctx context.Context, refresh bool) (string, error) {
	m.mu.Lock()
	salt := m.salt
	m.mu.Unlock()
	if salt != "" && !refresh {
		return salt, nil
	}
	var msg struct {
		Salt string `json:"salt"`
	}
	if err := m.getV3(ctx, "get.device.info", "salt", &msg); err != nil {
		return "", err
	}
	if msg.Salt == "" {
		return "", fmt.Errorf("get.device.info: no salt: %w", miner.ErrProtocol)
	}
	m.mu.Lock()
	m.salt = msg.Salt
	m.mu.Unlock()
	return msg.Salt, nil
}

// writeV3 sends a signed set.* command; a denial with a cached salt
// fetches the salt again and retries once.
func (m *Miner) writeV3(ctx context.Context, cmd string, param any) error {
	for attempt := range 2 {
		salt, err := m.v3Salt(ctx, attempt > 0)
		if err != nil {
			return err
		}
		ts := m.wall.Now().Unix()
		_, err = m.callV3(ctx, v3Request{
			Cmd: cmd, Param: param, TS: ts, Account: m.cfg.V3Account,
			Token: btcrypt.V3Token(cmd, m.cfg.V3Password, salt, ts),
		})
		if err == nil || !errors.Is(err, miner.ErrDenied) || attempt > 0 {
			return err
		}
	}
	return nil
}

// capsV3 reads get.device.info and the summary.
func (m *Miner) capsV3(ctx context.Context) (miner.Capabilities, error) {
	var info deviceInfoWire
	if err := m.getV3(ctx, "get.device.info", nil, &info); err != nil {
		return miner.Capabilities{}, err
	}
	var st minerStatusWire
	if err := m.getV3(ctx, "get.miner.status", "summary", &st); err != nil {
		return miner.Capabilities{}, err
	}
	if st.Summary == nil {
		return miner.Capabilities{}, fmt.Errorf("get.miner.status: no summary: %w", miner.ErrProtocol)
	}
	fw := "btminer " + info.System.FwVersion
	if info.System.API != "" {
		fw += " (api " + info.System.API + ")"
	}
	if info.Salt != "" {
		m.mu.Lock()
		m.salt = info.Salt
		m.mu.Unlock()
	}
	return m.capsFor(info.Miner.Type, fw, energy.Power(st.Summary.PowerLimit), energy.Hashrate(st.Summary.FactoryHash))
}

// statusV3 reads the summary, the boards and the working flag.
func (m *Miner) statusV3(ctx context.Context, caps miner.Capabilities) (miner.Status, error) {
	var sum, devs minerStatusWire
	if err := m.getV3(ctx, "get.miner.status", "summary", &sum); err != nil {
		return miner.Status{}, err
	}
	if sum.Summary == nil {
		return miner.Status{}, fmt.Errorf("get.miner.status: no summary: %w", miner.ErrProtocol)
	}
	if err := m.getV3(ctx, "get.miner.status", "edevs", &devs); err != nil {
		return miner.Status{}, err
	}
	var info deviceInfoWire
	if err := m.getV3(ctx, "get.device.info", "miner", &info); err != nil {
		return miner.Status{}, err
	}
	return buildStatusV3(*sum.Summary, devs.Edevs, info.Miner.Working, caps), nil
}

func buildStatusV3(s summaryV3Wire, devs []edevV3Wire, working string, caps miner.Capabilities) miner.Status {
	st := miner.Status{
		Power: energy.Power(s.PowerRealtime), PowerTarget: energy.Power(s.PowerLimit),
		Hashrate: energy.Hashrate(s.HashRealtime), HashrateAvg: energy.Hashrate(s.HashAverage),
		TempMaxC: s.ChipTempMax, Uptime: time.Duration(s.Elapsed) * time.Second,
		Boards: len(devs),
	}
	if s.FanSpeedIn != 0 || s.FanSpeedOut != 0 {
		st.FanRPM = []int{int(s.FanSpeedIn), int(s.FanSpeedOut)}
	}
	for _, d := range devs {
		if d.HashAverage > 0 || d.HashRealtime > 0 {
			st.BoardsActive++
		}
		st.TempMaxC = max(st.TempMaxC, d.ChipTempMax)
	}
	off := working == "false"
	switch {
	case off && st.Power > max(2*caps.SleepPower, caps.NominalPower/20):
		st.State = miner.StateRampingDown
	case off:
		st.State = miner.StateSleeping
		st.PowerTarget = 0
	case s.UpFreqFinish != nil && *s.UpFreqFinish == 0:
		st.State = miner.StateWaking
	default:
		st.State = miner.StateMining
	}
	return st
}

// applyV3 starts a stopped miner, then sets the power limit.
func (m *Miner) applyV3(ctx context.Context, target energy.Power) error {
	var info deviceInfoWire
	if err := m.getV3(ctx, "get.device.info", "miner", &info); err != nil {
		return m.errf("read device info", err)
	}
	if info.Miner.Working == "false" {
		if err := m.writeV3(ctx, "set.miner.service", "start"); err != nil {
			return m.errf("set.miner.service start", err)
		}
	}
	w := int(target)
	if err := m.writeV3(ctx, "set.miner.power_limit", w); err != nil {
		return m.errf(fmt.Sprintf("set.miner.power_limit %d", w), err)
	}
	return nil
}

type deviceInfoWire struct {
	Salt  string `json:"salt"`
	Miner struct {
		Type          string `json:"type"`
		Working       string `json:"working"`
		PowerLimitSet string `json:"power-limit-set"`
	} `json:"miner"`
	System struct {
		API       string `json:"api"`
		FwVersion string `json:"fwversion"`
	} `json:"system"`
}

type minerStatusWire struct {
	Summary *summaryV3Wire `json:"summary"`
	Edevs   []edevV3Wire   `json:"edevs"`
}

type summaryV3Wire struct {
	Elapsed       int64   `json:"elapsed"`
	HashRealtime  float64 `json:"hash-realtime"`
	HashAverage   float64 `json:"hash-average"`
	FactoryHash   float64 `json:"factory-hash"`
	PowerRealtime float64 `json:"power-realtime"`
	PowerLimit    float64 `json:"power-limit"`
	ChipTempMax   float64 `json:"chip-temp-max"`
	UpFreqFinish  *int    `json:"up-freq-finish"`
	FanSpeedIn    float64 `json:"fan-speed-in"`
	FanSpeedOut   float64 `json:"fan-speed-out"`
}

type edevV3Wire struct {
	ID           int     `json:"id"`
	Slot         int     `json:"slot"`
	HashAverage  float64 `json:"hash-average"`
	HashRealtime float64 `json:"hash-realtime"`
	ChipTempMax  float64 `json:"chip-temp-max"`
}
