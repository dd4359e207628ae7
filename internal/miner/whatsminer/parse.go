package whatsminer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
	"github.com/gridminer/gridminer/internal/miner/whatsminer/btcrypt"
)

// btminer API v2 status codes (API document V2.0.4/2.0.5).
const (
	CodeInvalidCmd    = 14
	CodeInvalidJSON   = 23
	CodeDenied        = 45
	CodeOK            = 131
	CodeCmdError      = 132
	CodeTokenOK       = 134
	CodeTokenError    = 135
	CodeTooManyTokens = 136
	CodeBase64Error   = 137
)

// errToken is a 135 reply: the miner did not accept the token (expired,
// or signed with the wrong password). writeV2 turns it into a retry or
// miner.ErrDenied.
var errToken = errors.New("token rejected (code 135)")

// ErrTooManyTokens is a 136 reply: the miner has issued its maximum of
// live tokens (32 per client IP); they expire after 30 min.
var ErrTooManyTokens = fmt.Errorf("too many tokens (code 136): %w", miner.ErrRejected)

// Reply is one btminer v2 reply in its own shape:
// {"STATUS":"S","When":..,"Code":131,"Msg":..,"Description":".."}. A
// cgminer-style STATUS array is folded into the same fields.
type Reply struct {
	Status      string
	When        int64
	Code        int
	Msg         json.RawMessage // object or string
	Description string
}

// Err maps the reply's code to an error.
func (r Reply) Err() error {
	msg := r.msgText()
	switch r.Code {
	case CodeOK, CodeTokenOK:
		return nil
	case CodeTokenError:
		return errToken
	case CodeTooManyTokens:
		return ErrTooManyTokens
	case CodeDenied:
		return fmt.Errorf("code %d %q: %w", r.Code, msg, miner.ErrDenied)
	case CodeInvalidCmd:
		return fmt.Errorf("code %d %q: %w", r.Code, msg, miner.ErrUnsupported)
	}
	if r.Status == "E" || r.Status == "F" || r.Code == CodeCmdError || r.Code == CodeInvalidJSON || r.Code == CodeBase64Error {
		return fmt.Errorf("code %d %q: %w", r.Code, msg, miner.ErrRejected)
	}
	return nil
}

func (r Reply) msgText() string {
	var s string
	if json.Unmarshal(r.Msg, &s) == nil {
		return s
	}
	return ""
}

type replyWire struct {
	Status      json.RawMessage `json:"STATUS"`
	When        int64           `json:"When"`
	Code        int             `json:"Code"`
	Msg         json.RawMessage `json:"Msg"`
	Description string          `json:"Description"`
	Enc         json.RawMessage `json:"enc"`
}

// ParseReply parses a plaintext v2 reply (a trailing NUL is allowed).
func ParseReply(b []byte) (Reply, error) {
	w, err := decodeReply(b)
	if err != nil {
		return Reply{}, err
	}
	if len(w.Enc) > 0 {
		return Reply{}, fmt.Errorf("encrypted reply to a plaintext request: %w", miner.ErrProtocol)
	}
	return replyFrom(w)
}

func decodeReply(b []byte) (replyWire, error) {
	b = bytes.TrimRight(b, "\x00 \r\n\t")
	var w replyWire
	if err := cgminer.Unmarshal(b, &w); err != nil {
		return replyWire{}, fmt.Errorf("parse reply: %w", err)
	}
	return w, nil
}

func replyFrom(w replyWire) (Reply, error) {
	r := Reply{When: w.When, Code: w.Code, Msg: w.Msg, Description: w.Description}
	st := bytes.TrimSpace(w.Status)
	switch {
	case len(st) == 0:
		return Reply{}, fmt.Errorf("reply without STATUS: %w", miner.ErrProtocol)
	case st[0] == '"':
		if err := json.Unmarshal(st, &r.Status); err != nil {
			return Reply{}, fmt.Errorf("STATUS: %w: %w", err, miner.ErrProtocol)
		}
	case st[0] == '[':
		var es []cgminer.StatusEntry
		if err := json.Unmarshal(st, &es); err != nil || len(es) == 0 {
			return Reply{}, fmt.Errorf("STATUS: %v: %w", err, miner.ErrProtocol)
		}
		r.Status, r.When, r.Code, r.Description = es[0].Status, es[0].When, es[0].Code, es[0].Description
		r.Msg, _ = json.Marshal(es[0].Msg)
	default:
		return Reply{}, fmt.Errorf("STATUS is neither string nor array: %w", miner.ErrProtocol)
	}
	return r, nil
}

// OpenReply parses the reply to an encrypted request: {"enc":"<base64>"}
// decrypted with key, or a plaintext reply (btminer answers errors it
// meets before decrypting, such as a bad token, in plaintext).
func OpenReply(key [32]byte, b []byte) (Reply, error) {
	w, err := decodeReply(b)
	if err != nil {
		return Reply{}, err
	}
	if len(w.Enc) == 0 {
		return replyFrom(w)
	}
	var enc string
	if err := json.Unmarshal(w.Enc, &enc); err != nil {
		return Reply{}, fmt.Errorf("enc is not a string: %w", miner.ErrProtocol)
	}
	plain, err := btcrypt.Open(key, enc)
	if err != nil {
		return Reply{}, fmt.Errorf("decrypt reply: %w: %w", err, miner.ErrProtocol)
	}
	return ParseReply(plain)
}

// Wire types. Numbers arrive as JSON numbers; cgminer.Unmarshal repairs
// the usual firmware quirks.

type tokenWire struct {
	Time    string `json:"time"`
	Salt    string `json:"salt"`
	NewSalt string `json:"newsalt"`
}

type versionWire struct {
	APIVer   string `json:"api_ver"`
	FwVer    string `json:"fw_ver"`
	Platform string `json:"platform"`
	Chip     string `json:"chip"`
}

type devDetailsWire struct {
	Model string `json:"Model"`
}

type summaryWire struct {
	Elapsed     int64   `json:"Elapsed"`
	MHSav       float64 `json:"MHS av"`
	MHS5s       float64 `json:"MHS 5s"`
	Accepted    int64   `json:"Accepted"`
	Rejected    int64   `json:"Rejected"`
	Temperature float64 `json:"Temperature"`
	ChipTempMax float64 `json:"Chip Temp Max"`
	FanSpeedIn  float64 `json:"Fan Speed In"`
	FanSpeedOut float64 `json:"Fan Speed Out"`
	Power       float64 `json:"Power"`
	PowerLimit  float64 `json:"Power Limit"`
	FactoryGHS  float64 `json:"Factory GHS"`
}

type edevWire struct {
	Slot           int     `json:"Slot"`
	Status         string  `json:"Status"`
	Temperature    float64 `json:"Temperature"`
	ChipTempMax    float64 `json:"Chip Temp Max"`
	MHSav          float64 `json:"MHS av"`
	MHS5s          float64 `json:"MHS 5s"`
	UpfreqComplete *int    `json:"Upfreq Complete"`
}

type statusWire struct {
	MinerOff      string `json:"mineroff"`
	BtMinerOff    string `json:"btmineroff"`
	PowerLimitSet string `json:"power_limit_set"`
}

// off reports whether the miner says it is powered off.
func (sw statusWire) off() bool { return sw.MinerOff == "true" || sw.BtMinerOff == "true" }
