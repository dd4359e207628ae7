package antminer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/gridminer/gridminer/internal/miner"
)

// Miner modes of the stock firmware: written as "miner-mode" to
// set_miner_conf.cgi, read back as "bitmain-work-mode" from
// get_miner_conf.cgi (pyasic, MiningOS).
const (
	modeNormal   = 0
	modeSleep    = 1
	modeLowPower = 3
)

// confMember is one key of the miner's configuration object with its value
// as the miner wrote it.
type confMember struct {
	key string
	val json.RawMessage
}

// minerConf is get_miner_conf.cgi's object, in the miner's key order.
type minerConf []confMember

// maxConf bounds a configuration body.
const maxConf = 256 << 10

// parseConf splits the configuration object into its members, keeping
// each value byte for byte so that writing it back changes nothing the
// driver did not mean to change.
func parseConf(b []byte) (minerConf, error) {
	if len(b) > maxConf {
		return nil, fmt.Errorf("configuration of %d bytes: %w", len(b), miner.ErrProtocol)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	bad := func(err error) (minerConf, error) {
		return nil, fmt.Errorf("configuration: %v: %w", err, miner.ErrProtocol)
	}
	tok, err := dec.Token()
	if err != nil {
		return bad(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return bad(errors.New("not a JSON object"))
	}
	var out minerConf
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad(err)
		}
		k, ok := tok.(string)
		if !ok {
			return bad(errors.New("key is not a string"))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return bad(err)
		}
		out = append(out, confMember{k, v})
	}
	if _, err := dec.Token(); err != nil {
		return bad(err)
	}
	if _, err := dec.Token(); err == nil {
		return bad(errors.New("data after the object"))
	}
	return out, nil
}

// get returns the value of the last member called key.
func (c minerConf) get(key string) (json.RawMessage, bool) {
	for i := len(c) - 1; i >= 0; i-- {
		if c[i].key == key {
			return c[i].val, true
		}
	}
	return nil, false
}

// with returns a copy of c in which key has value val: the first member of
// that name is replaced in place (later duplicates dropped), or the member
// is appended.
func (c minerConf) with(key string, val json.RawMessage) minerConf {
	out := make(minerConf, 0, len(c)+1)
	done := false
	for _, m := range c {
		if m.key != key {
			out = append(out, m)
		} else if !done {
			out = append(out, confMember{key, val})
			done = true
		}
	}
	if !done {
		out = append(out, confMember{key, val})
	}
	return out
}

// marshal writes c back as one JSON object.
func (c minerConf) marshal() []byte {
	b := []byte{'{'}
	for i, m := range c {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(m.key)
		b = append(b, k...)
		b = append(b, ':')
		b = append(b, m.val...)
	}
	return append(b, '}')
}

// mode returns the miner's work mode: "bitmain-work-mode" (what the miner
// reports), else "miner-mode" (what was last written); ok is false when
// neither holds an integer.
func (c minerConf) mode() (int, bool) {
	for _, k := range []string{"bitmain-work-mode", "miner-mode"} {
		if v, found := c.get(k); found {
			return intValue(v)
		}
	}
	return 0, false
}

// intValue reads an integer written as a JSON number or string.
func intValue(v json.RawMessage) (int, bool) {
	var s string
	if json.Unmarshal(v, &s) == nil {
		v = json.RawMessage(s)
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
	return n, err == nil
}

// withMode returns the configuration to POST to set_miner_conf.cgi: every
// member as read, "miner-mode" set to mode (a number, or a string when
// asString), and "freq-level" copied from "bitmain-freq-level" when the
// miner did not report it, since set_miner_conf.cgi takes the level
// under that name (pyasic) and would otherwise fall back to its default.
func (c minerConf) withMode(mode int, asString bool) minerConf {
	v := json.RawMessage(strconv.Itoa(mode))
	if asString {
		v = json.RawMessage(strconv.Quote(strconv.Itoa(mode)))
	}
	out := c.with("miner-mode", v)
	if _, ok := c.get("freq-level"); !ok {
		if lvl, ok := c.get("bitmain-freq-level"); ok {
			out = out.with("freq-level", lvl)
		}
	}
	return out
}

// setConfReply is set_miner_conf.cgi's answer.
type setConfReply struct {
	Stats string `json:"stats"`
	Code  string `json:"code"`
	Msg   string `json:"msg"`
}

// checkSetConf reads set_miner_conf.cgi's answer: an empty body or
// "stats":"success" is success, "stats":"error" a rejection.
func checkSetConf(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	var r setConfReply
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("reply: %v: %w", err, miner.ErrProtocol)
	}
	switch r.Stats {
	case "success", "":
		if r.Stats == "" && r.Code == "" {
			return fmt.Errorf("reply without stats or code: %w", miner.ErrProtocol)
		}
		return nil
	default:
		return fmt.Errorf("%s %s %q: %w", r.Stats, r.Code, r.Msg, miner.ErrRejected)
	}
}
