package stratum

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Method names.
const (
	MethodSubscribe           = "mining.subscribe"
	MethodAuthorize           = "mining.authorize"
	MethodNotify              = "mining.notify"
	MethodSubmit              = "mining.submit"
	MethodSetDifficulty       = "mining.set_difficulty"
	MethodConfigure           = "mining.configure"
	MethodSetVersionMask      = "mining.set_version_mask"
	MethodSuggestDifficulty   = "mining.suggest_difficulty"
	MethodExtranonceSubscribe = "mining.extranonce.subscribe"
	MethodSetExtranonce       = "mining.set_extranonce"
	MethodPing                = "mining.ping"
)

// BIP320Mask is the version-rolling mask BIP 320 reserves (bits 13-28).
const BIP320Mask uint32 = 0x1fffe000

func badParams(method string, format string, args ...any) error {
	return fmt.Errorf("stratum %s: %w: %s", method, ErrMalformed, fmt.Sprintf(format, args...))
}

// params splits raw positional params, requiring at least min entries.
func params(method string, raw json.RawMessage, min int) ([]json.RawMessage, error) {
	var p []json.RawMessage
	if isNull(raw) {
		p = nil
	} else if err := json.Unmarshal(raw, &p); err != nil {
		return nil, badParams(method, "params are not an array: %v", err)
	}
	if len(p) < min {
		return nil, badParams(method, "%d params, want at least %d", len(p), min)
	}
	return p, nil
}

func str(method string, raw json.RawMessage, what string) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", badParams(method, "%s: want a string, got %.40s", what, raw)
	}
	return s, nil
}

func hexBytes(method string, raw json.RawMessage, what string) ([]byte, error) {
	s, err := str(method, raw, what)
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, badParams(method, "%s: %v", what, err)
	}
	return b, nil
}

// hexU32 parses a big-endian 32-bit hex number of 1 to 8 digits.
func hexU32(method string, raw json.RawMessage, what string) (uint32, error) {
	s, err := str(method, raw, what)
	if err != nil {
		return 0, err
	}
	if len(s) == 0 || len(s) > 8 {
		return 0, badParams(method, "%s: %q is not 1-8 hex digits", what, s)
	}
	n, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, badParams(method, "%s: %q is not hex", what, s)
	}
	return uint32(n), nil
}

func fmtU32(n uint32) string { return fmt.Sprintf("%08x", n) }

func positiveFloat(method string, raw json.RawMessage) (float64, error) {
	var d float64
	if err := json.Unmarshal(raw, &d); err != nil {
		// Some pools send the number as a string.
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, badParams(method, "difficulty %.40s is not a number", raw)
		}
		if d, err = strconv.ParseFloat(s, 64); err != nil {
			return 0, badParams(method, "difficulty %q is not a number", s)
		}
	}
	if !(d > 0) || math.IsInf(d, 0) {
		return 0, badParams(method, "difficulty %v is not positive and finite", d)
	}
	return d, nil
}

// Subscribe is mining.subscribe(user_agent[, session_id]).
type Subscribe struct {
	UserAgent string
	SessionID string // optional: extranonce1 of a previous session
}

// Params returns the positional params.
func (s Subscribe) Params() []any {
	switch {
	case s.SessionID != "":
		return []any{s.UserAgent, s.SessionID}
	case s.UserAgent != "":
		return []any{s.UserAgent}
	}
	return []any{}
}

// ParseSubscribe parses mining.subscribe params (all optional).
func ParseSubscribe(raw json.RawMessage) (Subscribe, error) {
	p, err := params(MethodSubscribe, raw, 0)
	if err != nil {
		return Subscribe{}, err
	}
	var s Subscribe
	if len(p) > 0 && !isNull(p[0]) {
		if s.UserAgent, err = str(MethodSubscribe, p[0], "user agent"); err != nil {
			return s, err
		}
	}
	if len(p) > 1 && !isNull(p[1]) {
		if s.SessionID, err = str(MethodSubscribe, p[1], "session id"); err != nil {
			return s, err
		}
	}
	return s, nil
}

// SubscribeResult is the result of mining.subscribe.
type SubscribeResult struct {
	// Subscriptions are [method, subscription id] pairs.
	Subscriptions   [][2]string
	Extranonce1     []byte
	Extranonce2Size int
}

// Result returns the result value to marshal.
func (r SubscribeResult) Result() []any {
	subs := make([][]string, 0, len(r.Subscriptions))
	for _, s := range r.Subscriptions {
		subs = append(subs, []string{s[0], s[1]})
	}
	return []any{subs, hex.EncodeToString(r.Extranonce1), r.Extranonce2Size}
}

// ParseSubscribeResult parses the result; a non-array result (ckpool's
// "Initialising" while it starts) is an error, and the client should retry.
func ParseSubscribeResult(raw json.RawMessage) (SubscribeResult, error) {
	const m = MethodSubscribe + " result"
	var p []json.RawMessage
	if err := json.Unmarshal(raw, &p); err != nil || len(p) < 3 {
		return SubscribeResult{}, badParams(m, "want [subscriptions, extranonce1, extranonce2_size], got %.60s", raw)
	}
	var r SubscribeResult
	// Subscriptions: either [[method, id], ...] or a single [method, id].
	var pairs [][]json.RawMessage
	if err := json.Unmarshal(p[0], &pairs); err != nil {
		var one []json.RawMessage
		if json.Unmarshal(p[0], &one) != nil {
			return r, badParams(m, "subscriptions: %.60s", p[0])
		}
		pairs = [][]json.RawMessage{one}
	}
	for _, pr := range pairs {
		if len(pr) < 2 {
			continue
		}
		var a, b string
		_ = json.Unmarshal(pr[0], &a)
		if json.Unmarshal(pr[1], &b) != nil {
			b = string(pr[1])
		}
		r.Subscriptions = append(r.Subscriptions, [2]string{a, b})
	}
	var err error
	if r.Extranonce1, err = hexBytes(m, p[1], "extranonce1"); err != nil {
		return r, err
	}
	if err := json.Unmarshal(p[2], &r.Extranonce2Size); err != nil || r.Extranonce2Size < 0 || r.Extranonce2Size > 32 {
		return r, badParams(m, "extranonce2_size %.20s", p[2])
	}
	return r, nil
}

// Authorize is mining.authorize(user, password).
type Authorize struct{ User, Password string }

// Params returns the positional params.
func (a Authorize) Params() []any { return []any{a.User, a.Password} }

// ParseAuthorize parses mining.authorize params (password optional).
func ParseAuthorize(raw json.RawMessage) (Authorize, error) {
	p, err := params(MethodAuthorize, raw, 1)
	if err != nil {
		return Authorize{}, err
	}
	var a Authorize
	if a.User, err = str(MethodAuthorize, p[0], "user"); err != nil {
		return a, err
	}
	if len(p) > 1 && !isNull(p[1]) {
		if a.Password, err = str(MethodAuthorize, p[1], "password"); err != nil {
			return a, err
		}
	}
	return a, nil
}

// Notify is mining.notify: one job.
type Notify struct {
	JobID string
	// PrevHash is the previous block hash exactly as Stratum sends it: the
	// internal byte order with each 4-byte word byte-reversed.
	PrevHash     [32]byte
	Coinb1       []byte
	Coinb2       []byte
	MerkleBranch [][32]byte // internal byte order
	Version      uint32
	NBits        uint32
	NTime        uint32
	CleanJobs    bool
}

// Params returns the positional params.
func (n Notify) Params() []any {
	branch := make([]string, 0, len(n.MerkleBranch))
	for _, b := range n.MerkleBranch {
		branch = append(branch, hex.EncodeToString(b[:]))
	}
	return []any{n.JobID, hex.EncodeToString(n.PrevHash[:]), hex.EncodeToString(n.Coinb1),
		hex.EncodeToString(n.Coinb2), branch, fmtU32(n.Version), fmtU32(n.NBits), fmtU32(n.NTime), n.CleanJobs}
}

// ParseNotify parses mining.notify params.
func ParseNotify(raw json.RawMessage) (Notify, error) {
	const m = MethodNotify
	p, err := params(m, raw, 9)
	if err != nil {
		return Notify{}, err
	}
	var n Notify
	if n.JobID, err = str(m, p[0], "job id"); err != nil {
		return n, err
	}
	prev, err := hexBytes(m, p[1], "prevhash")
	if err != nil {
		return n, err
	}
	if len(prev) != 32 {
		return n, badParams(m, "prevhash is %d bytes, want 32", len(prev))
	}
	n.PrevHash = [32]byte(prev)
	if n.Coinb1, err = hexBytes(m, p[2], "coinb1"); err != nil {
		return n, err
	}
	if n.Coinb2, err = hexBytes(m, p[3], "coinb2"); err != nil {
		return n, err
	}
	var branch []json.RawMessage
	if err := json.Unmarshal(p[4], &branch); err != nil {
		return n, badParams(m, "merkle branch is not an array")
	}
	for i, b := range branch {
		h, err := hexBytes(m, b, "merkle branch")
		if err != nil {
			return n, err
		}
		if len(h) != 32 {
			return n, badParams(m, "merkle branch %d is %d bytes, want 32", i, len(h))
		}
		n.MerkleBranch = append(n.MerkleBranch, [32]byte(h))
	}
	if n.Version, err = hexU32(m, p[5], "version"); err != nil {
		return n, err
	}
	if n.NBits, err = hexU32(m, p[6], "nbits"); err != nil {
		return n, err
	}
	if n.NTime, err = hexU32(m, p[7], "ntime"); err != nil {
		return n, err
	}
	if err := json.Unmarshal(p[8], &n.CleanJobs); err != nil {
		return n, badParams(m, "clean_jobs %.20s is not a boolean", p[8])
	}
	return n, nil
}

// Submit is mining.submit: one share.
type Submit struct {
	Worker      string
	JobID       string
	Extranonce2 []byte
	NTime       uint32
	Nonce       uint32
	// VersionBits is the rolled version bits (BIP 310), sent only when
	// HasVersionBits.
	VersionBits    uint32
	HasVersionBits bool
}

// Params returns the positional params.
func (s Submit) Params() []any {
	p := []any{s.Worker, s.JobID, hex.EncodeToString(s.Extranonce2), fmtU32(s.NTime), fmtU32(s.Nonce)}
	if s.HasVersionBits {
		p = append(p, fmtU32(s.VersionBits))
	}
	return p
}

// ParseSubmit parses mining.submit params.
func ParseSubmit(raw json.RawMessage) (Submit, error) {
	const m = MethodSubmit
	p, err := params(m, raw, 5)
	if err != nil {
		return Submit{}, err
	}
	var s Submit
	if s.Worker, err = str(m, p[0], "worker"); err != nil {
		return s, err
	}
	if s.JobID, err = str(m, p[1], "job id"); err != nil {
		return s, err
	}
	if s.Extranonce2, err = hexBytes(m, p[2], "extranonce2"); err != nil {
		return s, err
	}
	if s.NTime, err = hexU32(m, p[3], "ntime"); err != nil {
		return s, err
	}
	if s.Nonce, err = hexU32(m, p[4], "nonce"); err != nil {
		return s, err
	}
	if len(p) > 5 && !isNull(p[5]) {
		if s.VersionBits, err = hexU32(m, p[5], "version bits"); err != nil {
			return s, err
		}
		s.HasVersionBits = true
	}
	return s, nil
}

// SetDifficulty is mining.set_difficulty([d]).
type SetDifficulty struct{ Difficulty float64 }

// Params returns the positional params.
func (s SetDifficulty) Params() []any { return []any{s.Difficulty} }

// ParseSetDifficulty parses mining.set_difficulty params.
func ParseSetDifficulty(raw json.RawMessage) (SetDifficulty, error) {
	p, err := params(MethodSetDifficulty, raw, 1)
	if err != nil {
		return SetDifficulty{}, err
	}
	d, err := positiveFloat(MethodSetDifficulty, p[0])
	return SetDifficulty{Difficulty: d}, err
}

// SuggestDifficulty is mining.suggest_difficulty([d]). Pools answer it with
// a set_difficulty notification, not a response: do not wait for one.
type SuggestDifficulty struct{ Difficulty float64 }

// Params returns the positional params.
func (s SuggestDifficulty) Params() []any { return []any{s.Difficulty} }

// ParseSuggestDifficulty parses mining.suggest_difficulty params.
func ParseSuggestDifficulty(raw json.RawMessage) (SuggestDifficulty, error) {
	p, err := params(MethodSuggestDifficulty, raw, 1)
	if err != nil {
		return SuggestDifficulty{}, err
	}
	d, err := positiveFloat(MethodSuggestDifficulty, p[0])
	return SuggestDifficulty{Difficulty: d}, err
}

// Configure is mining.configure (BIP 310), limited to the version-rolling
// extension; other requested extensions are kept by name in Extensions.
type Configure struct {
	Extensions []string
	// VersionRolling is set when "version-rolling" is requested.
	VersionRolling bool
	Mask           uint32
	MinBitCount    int
	// Other holds the raw parameters of other extensions, by key.
	Other map[string]json.RawMessage
}

// Params returns the positional params.
func (c Configure) Params() []any {
	exts := c.Extensions
	if exts == nil {
		exts = []string{}
	}
	obj := map[string]any{}
	for k, v := range c.Other {
		obj[k] = v
	}
	if c.VersionRolling {
		obj["version-rolling.mask"] = fmtU32(c.Mask)
		obj["version-rolling.min-bit-count"] = c.MinBitCount
	}
	return []any{exts, obj}
}

// ParseConfigure parses mining.configure params.
func ParseConfigure(raw json.RawMessage) (Configure, error) {
	const m = MethodConfigure
	p, err := params(m, raw, 1)
	if err != nil {
		return Configure{}, err
	}
	var c Configure
	if err := json.Unmarshal(p[0], &c.Extensions); err != nil {
		return c, badParams(m, "extensions are not a string array")
	}
	obj := map[string]json.RawMessage{}
	if len(p) > 1 && !isNull(p[1]) {
		if err := json.Unmarshal(p[1], &obj); err != nil {
			return c, badParams(m, "extension params are not an object")
		}
	}
	for _, e := range c.Extensions {
		if e == "version-rolling" {
			c.VersionRolling = true
		}
	}
	for k, v := range obj {
		switch k {
		case "version-rolling.mask":
			if c.Mask, err = hexU32(m, v, k); err != nil {
				return c, err
			}
		case "version-rolling.min-bit-count":
			if err := json.Unmarshal(v, &c.MinBitCount); err != nil || c.MinBitCount < 0 || c.MinBitCount > 32 {
				return c, badParams(m, "%s %.20s", k, v)
			}
		default:
			if c.Other == nil {
				c.Other = map[string]json.RawMessage{}
			}
			c.Other[k] = v
		}
	}
	return c, nil
}

// ConfigureResult is the version-rolling part of a mining.configure result.
type ConfigureResult struct {
	VersionRolling bool
	Mask           uint32
	// Other holds the other keys of the result, raw.
	Other map[string]json.RawMessage
}

// Result returns the result value to marshal.
func (r ConfigureResult) Result() map[string]any {
	out := map[string]any{"version-rolling": r.VersionRolling}
	for k, v := range r.Other {
		out[k] = v
	}
	if r.VersionRolling {
		out["version-rolling.mask"] = fmtU32(r.Mask)
	}
	return out
}

// ParseConfigureResult parses a mining.configure result. "version-rolling"
// may be true, false or an error string (BIP 310).
func ParseConfigureResult(raw json.RawMessage) (ConfigureResult, error) {
	const m = MethodConfigure + " result"
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return ConfigureResult{}, badParams(m, "result is not an object: %.60s", raw)
	}
	var r ConfigureResult
	for k, v := range obj {
		switch k {
		case "version-rolling":
			_ = json.Unmarshal(v, &r.VersionRolling) // a string means an error: not enabled
		case "version-rolling.mask":
			mask, err := hexU32(m, v, k)
			if err != nil {
				return r, err
			}
			r.Mask = mask
		default:
			if r.Other == nil {
				r.Other = map[string]json.RawMessage{}
			}
			r.Other[k] = v
		}
	}
	return r, nil
}

// NegotiateMask returns the mask a server grants: its own mask ANDed with
// the miner's (BIP 310), and whether it has at least minBits bits.
func NegotiateMask(server, miner uint32, minBits int) (uint32, bool) {
	mask := server & miner
	bits := 0
	for v := mask; v != 0; v &= v - 1 {
		bits++
	}
	return mask, bits >= minBits
}

// SetVersionMask is mining.set_version_mask([mask]).
type SetVersionMask struct{ Mask uint32 }

// Params returns the positional params.
func (s SetVersionMask) Params() []any { return []any{fmtU32(s.Mask)} }

// ParseSetVersionMask parses mining.set_version_mask params.
func ParseSetVersionMask(raw json.RawMessage) (SetVersionMask, error) {
	p, err := params(MethodSetVersionMask, raw, 1)
	if err != nil {
		return SetVersionMask{}, err
	}
	mask, err := hexU32(MethodSetVersionMask, p[0], "mask")
	return SetVersionMask{Mask: mask}, err
}

// SetExtranonce is mining.set_extranonce([extranonce1, extranonce2_size]);
// it applies from the next mining.notify.
type SetExtranonce struct {
	Extranonce1     []byte
	Extranonce2Size int
}

// Params returns the positional params.
func (s SetExtranonce) Params() []any {
	return []any{hex.EncodeToString(s.Extranonce1), s.Extranonce2Size}
}

// ParseSetExtranonce parses mining.set_extranonce params.
func ParseSetExtranonce(raw json.RawMessage) (SetExtranonce, error) {
	const m = MethodSetExtranonce
	p, err := params(m, raw, 2)
	if err != nil {
		return SetExtranonce{}, err
	}
	var s SetExtranonce
	if s.Extranonce1, err = hexBytes(m, p[0], "extranonce1"); err != nil {
		return s, err
	}
	if err := json.Unmarshal(p[1], &s.Extranonce2Size); err != nil || s.Extranonce2Size < 0 || s.Extranonce2Size > 32 {
		return s, badParams(m, "extranonce2_size %.20s", p[1])
	}
	return s, nil
}
