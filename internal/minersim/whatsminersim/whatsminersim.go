// Package whatsminersim is the minersim dialect of MicroBT's btminer API:
// API v2 on the fleet's RPC port (plaintext reads; get_token and the
// AES-256-ECB envelope for writes, with tokens expiring on wall time) and
// API v3 on an extra listener, "whatsminer-v3" (length-framed JSON, salted
// token on writes). Writes drive the shared physical model: power_off and
// set.miner.service stop sleep the miner, power_on and start wake it, and
// set_power_pct or a power limit selects the highest minersim profile whose
// watts fit under the target. Telemetry is the model's ground truth.
//
// It simulates the protocol, not MicroBT's firmware: adjust_power_limit
// takes effect at once instead of rebooting, only the commands the
// whatsminer driver and common tools use are answered (others get code 14
// or -2), and field names follow pyasic and asic-rs where the API
// documents are silent (see internal/miner/whatsminer/testdata/README.md).
package whatsminersim

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/whatsminer/btcrypt"
	"github.com/gridminer/gridminer/internal/minersim"
)

// Names.
const (
	// Name is the dialect's name in minersim.Config.Dialects.
	Name = "whatsminer"
	// ListenerV3 is the API v3 listener (TCP 4433 on real machines).
	ListenerV3 = "whatsminer-v3"
)

// Defaults.
const (
	DefaultPassword = "admin"
	DefaultTokenTTL = 30 * time.Minute // API document: token keep-alive
	DefaultMaxToken = 32               // API document: tokens per client IP
	v3TSWindow      = 5 * time.Minute
	fwVersion       = "20240611.15.Rel1"
	apiVersion      = "2.0.5"
	v3FwVersion     = "20241105.16.Rel2"
	v3APIVersion    = "3.0.2"
)

// Config configures the dialect.
type Config struct {
	// Password is the v2 admin password (default "admin").
	Password string
	// V3Account and V3Password are the v3 credentials ("super"/"super").
	V3Account, V3Password string
	// Wall times tokens (default the wall clock).
	Wall clock.Clock
	// TokenTTL is a v2 token's life (default 30 min); MaxTokens the live
	// tokens a miner issues before answering 136 (default 32).
	TokenTTL  time.Duration
	MaxTokens int
}

// Dialect serves the btminer API for the miners of a fleet.
type Dialect struct {
	cfg   Config
	mu    sync.Mutex
	units map[*minersim.Miner]*unit
}

// unit is one miner's protocol state.
type unit struct {
	salt, v3salt string
	hash         string // MD5CryptHash(password, salt), kept so a token costs one MD5-crypt
	key          [32]byte
	tokens       []issued
	next         uint64
	limit        float64 // power limit, W; 0 = the default profile's
	pct          int     // set_power_pct; 0 = none (100)
}

type issued struct {
	sign string
	at   time.Time
}

// New returns the dialect.
func New(cfg Config) *Dialect {
	if cfg.Password == "" {
		cfg.Password = DefaultPassword
	}
	if cfg.V3Account == "" {
		cfg.V3Account = "super"
	}
	if cfg.V3Password == "" {
		cfg.V3Password = "super"
	}
	if cfg.Wall == nil {
		cfg.Wall = clock.Real{}
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = DefaultMaxToken
	}
	return &Dialect{cfg: cfg, units: map[*minersim.Miner]*unit{}}
}

// Listeners names the v3 listener.
func (d *Dialect) Listeners() []string { return []string{ListenerV3} }

// state returns u's protocol state; callers hold d.mu.
func (d *Dialect) state(u *minersim.Miner) *unit {
	s, ok := d.units[u]
	if !ok {
		id := u.Identity()
		s = &unit{salt: saltOf("v2" + id.MAC + id.Serial), v3salt: saltOf("v3" + id.MAC + id.Serial)}
		s.hash = btcrypt.MD5CryptHash(d.cfg.Password, s.salt)
		s.key = sha256.Sum256([]byte(s.hash))
		d.units[u] = s
	}
	return s
}

const saltAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func saltOf(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	b := make([]byte, 8)
	for i := range b {
		b[i] = saltAlphabet[int(sum[i])%len(saltAlphabet)]
	}
	return string(b)
}

// limitW returns the power limit in watts.
func (s *unit) limitW(u *minersim.Miner) float64 {
	if s.limit > 0 {
		return s.limit
	}
	return math.Round(float64(u.Profiles()[u.DefaultProfileIndex()].Power))
}

// applyTarget selects the highest profile whose watts fit under target
// (the lowest when none does).
func applyTarget(u *minersim.Miner, target float64) {
	best := 0
	for i, p := range u.Profiles() {
		if float64(p.Power) <= target+0.5 {
			best = i
		}
	}
	u.SetProfile(best)
}

// request is a v2 request: cgminer-style "command" or btminer "cmd", with
// string parameters; "enc"/"data" for an encrypted one.
type request map[string]json.RawMessage

func (r request) str(k string) string {
	var s string
	if v, ok := r[k]; ok {
		if json.Unmarshal(v, &s) != nil {
			return strings.Trim(string(v), `"`)
		}
	}
	return s
}

// ServeRPC answers one API v2 request.
func (d *Dialect) ServeRPC(u *minersim.Miner, in, out []byte) []byte {
	in = bytes.TrimRight(in, "\x00\r\n\t ")
	if b, ok := d.fastRPC(u, in, out); ok {
		return b
	}
	var req request
	if err := json.Unmarshal(in, &req); err != nil {
		return appendJSON(out, btReply("E", 23, "invalid json", u))
	}
	if _, enc := req["enc"]; enc {
		return d.serveEnc(u, req, out)
	}
	cmd := req.str("cmd")
	if cmd == "" {
		cmd = req.str("command")
	}
	if strings.Contains(cmd, "+") {
		return d.serveJoined(u, cmd, out)
	}
	switch cmd {
	case "summary", "edevs", "devs", "devdetails":
		return appendJSON(out, d.cgReply(u, cmd))
	case "get_token":
		return appendJSON(out, d.issueToken(u))
	case "status":
		return appendJSON(out, btReplyMsg(131, d.statusMsg(u), u))
	case "get_version":
		return appendJSON(out, btReplyMsg(131, map[string]string{
			"api_ver": apiVersion, "fw_ver": fwVersion, "platform": "H6OS", "chip": "K210",
		}, u))
	case "get_miner_info":
		id := u.Identity()
		return appendJSON(out, btReplyMsg(131, map[string]string{
			"ip": strings.Split(u.Addr(), ":")[0], "proto": "dhcp", "hostname": id.Hostname,
			"mac": id.MAC, "ledstat": "auto", "minersn": id.Serial,
		}, u))
	case "get_psu":
		return appendJSON(out, btReplyMsg(131, map[string]string{
			"name": "P221B", "hw_version": "V01.00", "sw_version": "V01.00.V01.03",
			"model": "P221B", "iin": "14.5", "vin": "22000", "fan_speed": "6720",
		}, u))
	case "power_off", "power_on", "set_power_pct", "adjust_power_limit", "set_low_power",
		"set_normal_power", "set_high_power", "reboot", "restart_btminer", "update_pools":
		return appendJSON(out, btReply("E", 45, "can't access write cmd", u))
	}
	return appendJSON(out, btReply("E", 14, "invalid cmd", u))
}

// issueToken answers get_token.
func (d *Dialect) issueToken(u *minersim.Miner) any {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.state(u)
	now := d.cfg.Wall.Now()
	live := s.tokens[:0]
	for _, t := range s.tokens {
		if now.Sub(t.at) < d.cfg.TokenTTL {
			live = append(live, t)
		}
	}
	s.tokens = live
	if len(s.tokens) >= d.cfg.MaxTokens {
		return btReply("E", 136, "token over max times", u)
	}
	s.next++
	newsalt := saltOf(s.salt + strconv.FormatUint(s.next, 10))
	tm := strconv.FormatInt(now.Unix()%10000, 10)
	s.tokens = append(s.tokens, issued{sign: btcrypt.DeriveV2FromHash(s.hash, newsalt, tm).Sign, at: now})
	return btReplyMsg(134, map[string]string{"time": tm, "salt": s.salt, "newsalt": newsalt}, u)
}

// serveEnc answers an encrypted write.
func (d *Dialect) serveEnc(u *minersim.Miner, req request, out []byte) []byte {
	d.mu.Lock()
	s := d.state(u)
	key := s.key
	d.mu.Unlock()
	plain, err := btcrypt.Open(key, req.str("data"))
	if err != nil {
		return appendJSON(out, btReply("E", 137, "base64 decode error", u))
	}
	var w request
	if json.Unmarshal(plain, &w) != nil || !d.tokenLive(u, w.str("token")) {
		// A wrong password yields a wrong key: the plaintext is noise.
		return appendJSON(out, btReply("E", 135, "check token err", u))
	}
	reply := d.write(u, w)
	b, _ := json.Marshal(reply)
	return appendJSON(out, map[string]string{"enc": btcrypt.Seal(key, b)})
}

func (d *Dialect) tokenLive(u *minersim.Miner, sign string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Wall.Now()
	for _, t := range d.state(u).tokens {
		if t.sign == sign && now.Sub(t.at) < d.cfg.TokenTTL {
			return true
		}
	}
	return false
}

// write runs a decrypted, authenticated v2 command.
func (d *Dialect) write(u *minersim.Miner, w request) any {
	switch w.str("cmd") {
	case "power_off":
		u.Sleep()
	case "power_on":
		u.Wake()
	case "set_power_pct", "set_power_pct_v2":
		p, err := strconv.Atoi(w.str("percent"))
		if err != nil || p < 0 || p > 100 {
			return btReply("E", 132, "invalid percent", u)
		}
		d.mu.Lock()
		s := d.state(u)
		s.pct = p
		target := s.limitW(u) * float64(p) / 100
		d.mu.Unlock()
		applyTarget(u, target)
	case "adjust_power_limit":
		w, err := strconv.Atoi(w.str("power_limit"))
		if err != nil || w <= 0 {
			return btReply("E", 132, "invalid power_limit", u)
		}
		d.setLimit(u, float64(w))
	default:
		return btReply("E", 14, "invalid cmd", u)
	}
	return btReply("S", 131, "", u)
}

// setLimit sets the power limit (clamped to the default profile's watts,
// as btminer refuses limits above the machine's normal power) and selects
// the profile for it.
func (d *Dialect) setLimit(u *minersim.Miner, w float64) {
	d.mu.Lock()
	s := d.state(u)
	s.limit = 0
	w = math.Min(w, s.limitW(u))
	s.limit, s.pct = w, 0
	d.mu.Unlock()
	applyTarget(u, w)
}

func (d *Dialect) statusMsg(u *minersim.Miner) map[string]string {
	snap := u.Snapshot()
	off := snap.State == miner.StateSleeping || snap.State == miner.StateRampingDown
	d.mu.Lock()
	s := d.state(u)
	limit := s.limitW(u)
	d.mu.Unlock()
	return map[string]string{
		"mineroff": strconv.FormatBool(off), "mineroff_reason": "", "mineroff_time": "",
		"FirmwareVersion": "'" + fwVersion + "'", "power_mode": "Normal",
		"power_limit_set": strconv.Itoa(int(limit)), "hash_percent": "100",
	}
}

type btStatus struct {
	Status      string `json:"STATUS"`
	When        int64  `json:"When"`
	Code        int    `json:"Code"`
	Msg         any    `json:"Msg"`
	Description string `json:"Description"`
}

func btReply(status string, code int, msg string, u *minersim.Miner) any {
	return btStatus{Status: status, When: u.Now().Unix(), Code: code, Msg: msg}
}

func btReplyMsg(code int, msg any, u *minersim.Miner) any {
	return btStatus{Status: "S", When: u.Now().Unix(), Code: code, Msg: msg}
}

func appendJSON(out []byte, v any) []byte {
	b, _ := json.Marshal(v)
	return append(out, b...)
}
