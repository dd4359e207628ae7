package whatsminer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
	"github.com/gridminer/gridminer/internal/miner/whatsminer/btcrypt"
)

// v2Token is a cached get_token result.
type v2Token struct {
	btcrypt.V2Token
	at time.Time // wall time it was fetched
}

// encodeCmd returns {"cmd":"<cmd>"} followed by string params (key, value
// pairs) in order, and "token" last when token is not empty.
func encodeCmd(cmd string, token string, kv ...string) []byte {
	b := make([]byte, 0, 64+len(token))
	b = append(b, `{"cmd":`...)
	b = appendJSONString(b, cmd)
	for i := 0; i+1 < len(kv); i += 2 {
		b = append(b, ',')
		b = appendJSONString(b, kv[i])
		b = append(b, ':')
		b = appendJSONString(b, kv[i+1])
	}
	if token != "" {
		b = append(b, `,"token":`...)
		b = appendJSONString(b, token)
	}
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // strings always marshal
	return append(b, q...)
}

// EncodeEnvelope returns the v2 request carrying cmd (with kv parameters
// and the token's sign) encrypted under the token's key:
// {"enc":1,"data":"<base64 AES-256-ECB>"}.
func EncodeEnvelope(tok btcrypt.V2Token, cmd string, kv ...string) []byte {
	plain := encodeCmd(cmd, tok.Sign, kv...)
	b := make([]byte, 0, 32+len(plain)*4/3)
	b = append(b, `{"enc":1,"data":"`...)
	b = append(b, btcrypt.Seal(tok.Key, plain)...)
	return append(b, `"}`...)
}

// readV2 sends a plaintext btminer command and returns its Msg.
func (m *Miner) readV2(ctx context.Context, cmd string) (json.RawMessage, error) {
	body, err := m.client.Raw(ctx, encodeCmd(cmd, ""))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	r, err := ParseReply(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return r.Msg, nil
}

// fetchToken asks for a new token and derives key and sign.
func (m *Miner) fetchToken(ctx context.Context) (*v2Token, error) {
	msg, err := m.readV2(ctx, "get_token")
	if err != nil {
		return nil, err
	}
	var t tokenWire
	if err := json.Unmarshal(msg, &t); err != nil || t.Salt == "" || t.NewSalt == "" || t.Time == "" {
		return nil, fmt.Errorf("get_token: reply without salt, newsalt and time: %w", miner.ErrProtocol)
	}
	m.mu.Lock()
	hash, ok := m.pwHash, m.pwSalt == t.Salt && m.pwHash != ""
	m.mu.Unlock()
	if !ok {
		hash = btcrypt.MD5CryptHash(m.cfg.Password, t.Salt)
	}
	tok := &v2Token{V2Token: btcrypt.DeriveV2FromHash(hash, t.NewSalt, t.Time), at: m.wall.Now()}
	m.mu.Lock()
	m.token = tok
	m.pwSalt, m.pwHash = t.Salt, hash
	m.mu.Unlock()
	return tok, nil
}

// cachedToken returns the cached token if it is younger than TokenTTL.
func (m *Miner) cachedToken() *v2Token {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.token != nil && m.wall.Now().Sub(m.token.at) < m.cfg.TokenTTL {
		return m.token
	}
	m.token = nil
	return nil
}

func (m *Miner) dropToken(t *v2Token) {
	m.mu.Lock()
	if m.token == t {
		m.token = nil
	}
	m.mu.Unlock()
}

// writeV2 sends an encrypted command. A token error (135) on a cached
// token fetches a new one and retries once; on a fresh token it means the
// password is wrong (ErrDenied).
func (m *Miner) writeV2(ctx context.Context, cmd string, kv ...string) (Reply, error) {
	tok, fresh := m.cachedToken(), false
	if tok == nil {
		var err error
		if tok, err = m.fetchToken(ctx); err != nil {
			return Reply{}, err
		}
		fresh = true
	}
	r, err := m.sendEnc(ctx, tok, cmd, kv...)
	if err == nil || !errors.Is(err, errToken) {
		return r, err
	}
	m.dropToken(tok)
	if fresh {
		return r, fmt.Errorf("%s: %w (wrong admin password?): %w", cmd, err, miner.ErrDenied)
	}
	m.log.Debug("token rejected, fetching a new one", "cmd", cmd)
	if tok, err = m.fetchToken(ctx); err != nil {
		return Reply{}, err
	}
	r, err = m.sendEnc(ctx, tok, cmd, kv...)
	if err != nil && errors.Is(err, errToken) {
		m.dropToken(tok)
		return r, fmt.Errorf("%s: %w (wrong admin password?): %w", cmd, err, miner.ErrDenied)
	}
	return r, err
}

func (m *Miner) sendEnc(ctx context.Context, tok *v2Token, cmd string, kv ...string) (Reply, error) {
	body, err := m.client.Raw(ctx, EncodeEnvelope(tok.V2Token, cmd, kv...))
	if err != nil {
		return Reply{}, fmt.Errorf("%s: %w", cmd, err)
	}
	r, err := OpenReply(tok.Key, body)
	if err != nil {
		return Reply{}, fmt.Errorf("%s: %w", cmd, err)
	}
	if err := r.Err(); err != nil {
		return r, fmt.Errorf("%s: %w", cmd, err)
	}
	return r, nil
}

// capsV2 reads get_version, then devdetails+summary joined.
func (m *Miner) capsV2(ctx context.Context) (miner.Capabilities, error) {
	msg, err := m.readV2(ctx, "get_version")
	if err != nil {
		return miner.Capabilities{}, err
	}
	var v versionWire
	if err := json.Unmarshal(msg, &v); err != nil {
		return miner.Capabilities{}, fmt.Errorf("get_version: %w: %w", err, miner.ErrProtocol)
	}
	rs, err := m.client.Joined(ctx, "devdetails", "summary")
	if err != nil {
		return miner.Capabilities{}, err
	}
	var dd []devDetailsWire
	if err := rs["devdetails"].Decode("DEVDETAILS", &dd); err != nil || len(dd) == 0 {
		return miner.Capabilities{}, fmt.Errorf("devdetails: no DEVDETAILS: %v: %w", err, miner.ErrProtocol)
	}
	sum, err := decodeSummary(rs["summary"])
	if err != nil {
		return miner.Capabilities{}, err
	}
	fw := "btminer " + v.FwVer
	if v.APIVer != "" {
		fw += " (api " + v.APIVer + ")"
	}
	return m.capsFor(dd[0].Model, fw, energy.Power(sum.PowerLimit), energy.Hashrate(sum.FactoryGHS/1e3))
}

func decodeSummary(r cgminer.Reply) (summaryWire, error) {
	var s []summaryWire
	if err := r.Decode("SUMMARY", &s); err != nil || len(s) == 0 {
		return summaryWire{}, fmt.Errorf("summary: no SUMMARY: %v: %w", err, miner.ErrProtocol)
	}
	return s[0], nil
}

// statusV2 reads summary+edevs joined and status. The two reads are
// independent and sent concurrently (btminer serves each request on its
// own connection); the errors are those of reading them in turn.
func (m *Miner) statusV2(ctx context.Context, caps miner.Capabilities) (miner.Status, error) {
	var (
		wg           sync.WaitGroup
		stBody       []byte
		stErr        error
		cctx, cancel = context.WithCancel(ctx)
	)
	defer cancel()
	wg.Go(func() { stBody, stErr = m.client.Raw(cctx, encodeCmd("status", "")) })
	body, err := m.client.Raw(ctx, cgminer.EncodeJSON(joinedSummaryEdevs))
	if err != nil {
		cancel()
		wg.Wait()
		return miner.Status{}, fmt.Errorf("%s: %w", joinedSummaryEdevs, err)
	}
	sum, devs, err := parseSummaryEdevs(body)
	if err != nil {
		cancel()
		wg.Wait()
		return miner.Status{}, err
	}
	wg.Wait()
	if stErr != nil {
		return miner.Status{}, fmt.Errorf("status: %w", stErr)
	}
	off, err := parseStatus(stBody)
	if err != nil {
		return miner.Status{}, err
	}
	m.mu.Lock()
	pct := m.percent
	m.mu.Unlock()
	m.known.Set(off)
	return buildStatusV2(sum, devs, off, caps, pct), nil
}

// buildStatusV2 turns the three replies into a Status (without Time); off
// is what the status reply says (statusWire.off).
func buildStatusV2(sum summaryWire, devs []edevWire, off bool, caps miner.Capabilities, pct int) miner.Status {
	st := miner.Status{
		Power:       energy.Power(sum.Power),
		Hashrate:    energy.Hashrate(sum.MHS5s / 1e6),
		HashrateAvg: energy.Hashrate(sum.MHSav / 1e6),
		TempMaxC:    max(sum.ChipTempMax, sum.Temperature),
		Uptime:      time.Duration(sum.Elapsed) * time.Second,
		Accepted:    uint64(max(0, sum.Accepted)),
		Rejected:    uint64(max(0, sum.Rejected)),
		Boards:      len(devs),
	}
	if sum.FanSpeedIn != 0 || sum.FanSpeedOut != 0 {
		st.FanRPM = []int{int(sum.FanSpeedIn), int(sum.FanSpeedOut)}
	}
	limit := energy.Power(sum.PowerLimit)
	if limit <= 0 {
		limit = caps.MaxPower
	}
	st.PowerTarget = limit
	if pct > 0 && pct < 100 {
		st.PowerTarget = limit * energy.Power(pct) / 100
	}
	upfreqDone := true
	for _, d := range devs {
		if d.MHS5s > 0 && d.Status != "Dead" {
			st.BoardsActive++
		}
		if d.UpfreqComplete != nil && *d.UpfreqComplete == 0 {
			upfreqDone = false
		}
		st.TempMaxC = max(st.TempMaxC, d.ChipTempMax, d.Temperature)
	}
	switch {
	case off && st.Power > max(2*caps.SleepPower, caps.NominalPower/20):
		st.State = miner.StateRampingDown
	case off:
		st.State = miner.StateSleeping
		st.PowerTarget = 0
	case !upfreqDone:
		st.State = miner.StateWaking
	default:
		st.State = miner.StateMining
	}
	return st
}

// applyV2 wakes a sleeping miner (power_on), then sets the power percent.
// Whether the miner is off comes from a status read, or from the known
// state when this driver's own recent read or command says so.
func (m *Miner) applyV2(ctx context.Context, caps miner.Capabilities, target energy.Power) error {
	off, fresh := m.known.Get()
	if !fresh {
		var err error
		if off, err = m.readStatusOff(ctx); err != nil {
			return m.errf("read status", err)
		}
	}
	if off {
		if _, err := m.writeV2(ctx, "power_on"); err != nil {
			m.known.Forget()
			return m.errf("power_on", err)
		}
	}
	m.known.Set(false)
	pct := percentFor(target, caps.MaxPower, m.cfg.MinPercent)
	if _, err := m.writeV2(ctx, "set_power_pct", "percent", strconv.Itoa(pct)); err != nil {
		m.known.Forget()
		return m.errf("set_power_pct "+strconv.Itoa(pct), err)
	}
	m.mu.Lock()
	m.percent = pct
	m.mu.Unlock()
	return nil
}

// readStatusOff reads status and reports whether the miner is off, with
// the errors applyV2 has always returned (readV2's "status: ..." for the
// request and reply, the bare decoding error for the message).
func (m *Miner) readStatusOff(ctx context.Context) (bool, error) {
	body, err := m.client.Raw(ctx, encodeCmd("status", ""))
	if err != nil {
		return false, fmt.Errorf("status: %w", err)
	}
	if off, ok := parseStatusFast(body); ok {
		return off, nil
	}
	r, err := ParseReply(body)
	if err != nil {
		return false, fmt.Errorf("status: %w", err)
	}
	if err := r.Err(); err != nil {
		return false, fmt.Errorf("status: %w", err)
	}
	var sw statusWire
	if err := json.Unmarshal(r.Msg, &sw); err != nil {
		return false, fmt.Errorf("%w: %w", err, miner.ErrProtocol)
	}
	return sw.off(), nil
}
