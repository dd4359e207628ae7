// Package avalonsim is the Avalon (Canaan) dialect of the miner simulator:
// it answers a virtual miner's RPC port as a Canaan AvalonMiner running
// Canaan's cgminer 4.11.1 does, in the plain-text and JSON request forms,
// one request per connection, NUL-terminated replies.
//
// It serves the reads version, summary, estats (with the bracketed
// "MM ID0" string built from the physical model), devs and pools, JSON
// joins of those ("summary+estats"), and the ascset options softoff and
// softon (scheduled at a unix timestamp of the fleet's clock), workmode
// (takes effect after a reboot), hashpower (query, or 0 to cut the hash
// boards until reboot), reboot and help.
//
// Scheduled actions run lazily: when a request arrives at or after their
// timestamp, not at the timestamp itself, so the physics of a scheduled
// softoff starts at the first request after it is due (a command scheduled
// at or before "now" runs at once). There is no goroutine per miner.
//
// It does not model the A10 worklevel option, LED, pool, network, password
// or fan commands, or privileged-access groups (Avalon's API has none), and
// it has no listeners besides the RPC port. The machines it simulates are
// minersim's Antminer-class models: the model strings are theirs.
package avalonsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/minersim"
)

// Name is the dialect's name in minersim.Config.Dialects.
const Name = "avalon"

// RebootTime is how long (fleet clock) a simulated reboot keeps the hash
// boards off before they ramp up again. ASSUMED: real Avalons take minutes.
const RebootTime = 60 * time.Second

// cgminer status codes (api.c) used by the dialect.
const (
	codeInvalidCmd  = 14
	codeAccessDeny  = 45
	codeVersion     = 22
	codeSummary     = 11
	codeStats       = 70
	codeDevs        = 9
	codePools       = 7
	codeInvalidASC  = 107 // ASSUMED number of MSG_INVASC
	codeMissingOpt  = 116
	codeASCSetInfo  = 118
	codeASCSetOK    = 119
	codeASCSetError = 120
)

// Dialect serves the Avalon API for every miner of a fleet that speaks it.
// Per-miner protocol state (scheduled softoff/softon, work mode) lives in
// the dialect, keyed by miner. Safe for concurrent use.
type Dialect struct {
	mu    sync.Mutex
	units map[*minersim.Miner]*unitState
}

// unitState is one miner's Avalon-side state. Timestamps are unix seconds
// on the fleet's clock; zero means none.
type unitState struct {
	offAt, onAt  int64 // scheduled softoff / softon
	rebootWakeAt int64 // a reboot's hash boards come back
	softOff      bool  // last executed soft action was softoff
	hashOff      bool  // hashpower,0 cut the boards until reboot
	workMode     int   // in effect
	nextMode     int   // takes effect at the next reboot
}

// New returns the Avalon dialect.
func New() *Dialect { return &Dialect{units: map[*minersim.Miner]*unitState{}} }

// Listeners returns nil: everything is on the RPC port.
func (d *Dialect) Listeners() []string { return nil }

// ServeListener is never called (the dialect names no listeners).
func (d *Dialect) ServeListener(ctx context.Context, name string, ln net.Listener, f *minersim.Fleet) error {
	return fmt.Errorf("avalonsim: no listener %q", name)
}

// state returns u's state, creating it; callers hold d.mu.
func (d *Dialect) state(u *minersim.Miner) *unitState {
	st, ok := d.units[u]
	if !ok {
		st = &unitState{}
		d.units[u] = st
	}
	return st
}

// tick runs the scheduled actions that are due at now, earliest first.
// Callers hold d.mu.
func (st *unitState) tick(u *minersim.Miner, now int64) {
	for {
		next, at := "", int64(math.MaxInt64)
		for _, c := range []struct {
			name string
			ts   int64
		}{{"softoff", st.offAt}, {"softon", st.onAt}, {"reboot", st.rebootWakeAt}} {
			if c.ts != 0 && c.ts <= now && c.ts < at {
				next, at = c.name, c.ts
			}
		}
		switch next {
		case "":
			return
		case "softoff":
			st.offAt, st.softOff = 0, true
			u.Sleep()
		case "softon":
			st.onAt, st.softOff = 0, false
			if !st.hashOff {
				u.Wake()
			}
		case "reboot":
			st.rebootWakeAt = 0
			if !st.softOff {
				u.Wake()
			}
		}
	}
}

// request is one parsed API request.
type request struct {
	json           bool
	command, param string
}

var errBadRequest = errors.New("bad request")

func parseRequest(b []byte) (request, error) {
	b = bytes.Trim(b, "\x00\r\n\t ")
	if len(b) > 0 && b[0] == '{' {
		var w struct {
			Command   string `json:"command"`
			Parameter any    `json:"parameter"`
		}
		if err := json.Unmarshal(b, &w); err != nil || w.Command == "" {
			return request{json: true}, errBadRequest
		}
		p := ""
		switch v := w.Parameter.(type) {
		case string:
			p = v
		case float64:
			p = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			p = strconv.FormatBool(v)
		}
		return request{json: true, command: w.Command, param: p}, nil
	}
	cmd, param, _ := bytes.Cut(b, []byte{'|'})
	if len(cmd) == 0 {
		return request{}, errBadRequest
	}
	return request{command: string(cmd), param: string(param)}, nil
}

// ServeRPC answers one request for miner u.
func (d *Dialect) ServeRPC(u *minersim.Miner, req, out []byte) []byte {
	now := u.Now().Unix()
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.state(u)
	st.tick(u, now)
	r, err := parseRequest(req)
	if err != nil {
		out = appendReply(out, !r.json, status{"E", now, codeInvalidCmd, "Invalid command"})
		return append(out, 0)
	}
	if strings.Contains(r.command, "+") && r.json {
		return append(d.joined(u, st, now, r.command, out), 0)
	}
	return append(d.one(u, st, now, r, out), 0)
}

// joinable lists the report commands a join may hold.
var joinable = map[string]bool{"version": true, "summary": true, "estats": true, "stats": true, "devs": true, "pools": true}

func (d *Dialect) joined(u *minersim.Miner, st *unitState, now int64, cmds string, out []byte) []byte {
	out = append(out, '{')
	seen := map[string]bool{}
	n := 0
	for _, c := range strings.Split(cmds, "+") {
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = appendJSONString(out, c)
		out = append(out, ":["...)
		if joinable[c] {
			out = d.one(u, st, now, request{json: true, command: c}, out)
		} else {
			out = appendReply(out, false, status{"E", now, codeAccessDeny, fmt.Sprintf("Access denied to '%s' command", c)})
		}
		out = append(out, ']')
	}
	return append(out, `,"id":1}`...)
}

// one answers a single (not joined) command.
func (d *Dialect) one(u *minersim.Miner, st *unitState, now int64, r request, out []byte) []byte {
	text := !r.json
	switch r.command {
	case "version":
		return appendReply(out, text, status{"S", now, codeVersion, "CGMiner versions"}, versionSection(u))
	case "summary":
		return appendReply(out, text, status{"S", now, codeSummary, "Summary"}, summarySection(u, u.Snapshot()))
	case "estats", "stats":
		return appendReply(out, text, status{"S", now, codeStats, "CGMiner stats"}, statsSection(u, st, u.Snapshot()))
	case "devs":
		return appendReply(out, text, status{"S", now, codeDevs, "1 ASC(s)"}, devsSection(u, u.Snapshot()))
	case "pools":
		return appendReply(out, text, status{"S", now, codePools, "1 Pool(s)"}, poolsSection(u))
	case "ascset":
		return d.ascset(u, st, now, text, r.param, out)
	}
	return appendReply(out, text, status{"E", now, codeInvalidCmd, "Invalid command"})
}

// ascset handles "ascset|0,<option>[,<value>]".
func (d *Dialect) ascset(u *minersim.Miner, st *unitState, now int64, text bool, param string, out []byte) []byte {
	dev, rest, ok := strings.Cut(param, ",")
	if strings.TrimSpace(dev) != "0" {
		return appendReply(out, text, status{"E", now, codeInvalidASC, "Invalid ASC id " + dev + " - range is 0 - 0"})
	}
	if !ok || rest == "" {
		return appendReply(out, text, status{"E", now, codeMissingOpt, "Missing option after ASC number"})
	}
	opt, val, _ := strings.Cut(rest, ",")
	info := func(msg string) []byte {
		return appendReply(out, text, status{"I", now, codeASCSetInfo, "ASC 0 set info: " + msg})
	}
	fail := func(msg string) []byte {
		return appendReply(out, text, status{"E", now, codeASCSetError, "ASC 0 set failed: " + msg})
	}
	switch strings.ToLower(opt) {
	case "help":
		return info("led|fan-spd|reboot|softon|softoff|workmode|hashpower|help")
	case "softoff", "softon":
		ts := now
		if val != "" {
			flag, t, ok := strings.Cut(val, ":")
			n, err := strconv.ParseInt(t, 10, 64)
			if !ok || flag != "1" || err != nil || n <= 0 {
				return fail("invalid " + opt + " parameter")
			}
			ts = n
		}
		if opt == "softoff" {
			st.offAt = ts
		} else {
			st.onAt = ts
		}
		st.tick(u, now)
		return info("success " + opt + ":" + strconv.FormatInt(ts, 10))
	case "workmode":
		if val == "" || val == "255" {
			return info("WORKMODE[" + strconv.Itoa(st.workMode) + "]")
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > 1 {
			return fail("invalid workmode " + val)
		}
		st.nextMode = n
		return info("WORKMODE[" + strconv.Itoa(n) + "]")
	case "hashpower":
		if val == "" {
			return info("PS[" + psString(u, u.Snapshot()) + "]")
		}
		if val != "0" {
			return fail("invalid hashpower " + val)
		}
		st.hashOff = true
		u.Sleep()
		return info("PS[" + psString(u, u.Snapshot()) + "]")
	case "reboot":
		st.workMode, st.hashOff, st.softOff = st.nextMode, false, false
		st.offAt, st.onAt = 0, 0
		u.SetProfile(profileForMode(u, st.workMode))
		u.Sleep()
		st.rebootWakeAt = now + int64(RebootTime/time.Second)
		return appendReply(out, text, status{"S", now, codeASCSetOK, "ASC 0 set OK"})
	}
	return fail("unknown option " + opt)
}

// profileForMode maps Avalon work modes to simulator profiles: 0 (normal)
// is the default profile, 1 (high performance) one step above it.
func profileForMode(u *minersim.Miner, mode int) int {
	i := u.DefaultProfileIndex()
	if mode == 1 && i+1 < len(u.Profiles()) {
		return i + 1
	}
	return i
}
