package antminersim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/minersim"
)

// CGMiner status codes (api.c).
const (
	codePools        = 7
	codeSummary      = 11
	codeInvalidCmd   = 14
	codeVersion      = 22
	codeInvalidJSON  = 23
	codeMissingCmd   = 24
	codeAccessDenied = 45
	codeStats        = 70
)

// allowed reports whether cmd is in the stock "api-groups" A group, the
// only group "api-allow" grants (A:0/0).
func allowed(cmd string) bool {
	switch cmd {
	case "stats", "pools", "devs", "summary", "version":
		return true
	}
	return false
}

// known reports whether cmd is another cgminer command, answered "access
// denied" rather than "invalid command".
func known(cmd string) bool {
	switch cmd {
	case "config", "edevs", "estats", "devdetails", "coin", "check",
		"switchpool", "enablepool", "disablepool", "addpool", "removepool",
		"poolpriority", "poolquota", "ascset", "ascenable", "ascdisable",
		"restart", "quit", "privileged", "notify", "lcd", "asccount",
		"save", "setconfig", "zero", "debug", "hotplug", "lockstats":
		return true
	}
	return false
}

// kv is one field of a reply object; v is a string, int64, uint64, bool or f2
// (a float printed with two decimals).
type kv struct {
	k string
	v any
}

type f2 float64

// obj is one object of a reply section.
type obj []kv

// section is one named array of objects (SUMMARY, STATS, ...).
type section struct {
	name string
	objs []obj
	// quirk drops the comma between objects, as bmminer does in STATS.
	quirk bool
}

// ServeRPC answers one request for miner u: JSON requests in JSON, plain
// ones in cgminer's text form; every reply ends with a NUL.
func (d *Dialect) ServeRPC(u *minersim.Miner, req, out []byte) []byte {
	s := d.unitOf(u)
	t := u.Now()
	cmd, isJSON, code := parseRequest(req)
	w := writer{b: out, text: !isJSON}
	switch {
	case code != 0:
		msg := map[int]string{codeInvalidJSON: "Invalid JSON", codeMissingCmd: "Missing JSON 'command'", codeInvalidCmd: "Invalid command"}[code]
		w.reply(t, 'E', code, msg, nil)
	case strings.Contains(cmd, "+"):
		d.joined(&w, u, s, t, cmd)
	default:
		d.one(&w, u, s, t, cmd)
	}
	return append(w.b, 0)
}

// one writes the reply to a single command.
func (d *Dialect) one(w *writer, u *minersim.Miner, s *unit, t time.Time, cmd string) {
	switch {
	case cmd == "version":
		w.reply(t, 'S', codeVersion, "CGMiner versions", []section{{name: "VERSION", objs: []obj{{
			{"BMMiner", bmminerVersion}, {"API", apiVersion}, {"Miner", minerVersion},
			{"CompileTime", compileTime}, {"Type", u.Model().Type},
		}}}})
	case cmd == "summary":
		w.reply(t, 'S', codeSummary, "Summary", []section{{name: "SUMMARY", objs: []obj{d.summary(u, s)}}})
	case cmd == "stats":
		w.reply(t, 'S', codeStats, "CGMiner stats", []section{{name: "STATS", quirk: true, objs: []obj{{
			{"BMMiner", bmminerVersion}, {"Miner", minerVersion}, {"CompileTime", compileTime}, {"Type", u.Model().Type},
		}, d.stats(u, s)}}})
	case cmd == "pools":
		w.reply(t, 'S', codePools, "3 Pool(s)", []section{{name: "POOLS", objs: d.pools(u, s)}})
	case cmd == "devs":
		w.reply(t, 'S', 9, "0 ASC(s)", []section{{name: "DEVS"}})
	case known(cmd):
		w.reply(t, 'E', codeAccessDenied, "Access denied to '"+cmd+"' command", nil)
	default:
		w.reply(t, 'E', codeInvalidCmd, "Invalid command", nil)
	}
}

// joined answers "a+b": each distinct command's reply in a one-element
// array under its name (cgminer api.c head_join), in request order.
func (d *Dialect) joined(w *writer, u *minersim.Miner, s *unit, t time.Time, cmds string) {
	if !w.text {
		w.b = append(w.b, '{')
	}
	seen := map[string]bool{}
	n := 0
	for _, c := range strings.Split(cmds, "+") {
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		if w.text {
			w.b = append(w.b, "CMD="...)
			w.b = append(w.b, c...)
			w.b = append(w.b, '|')
		} else {
			if n > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendJSONString(w.b, c)
			w.b = append(w.b, ":["...)
		}
		n++
		if allowed(c) {
			d.one(w, u, s, t, c)
		} else if known(c) {
			w.reply(t, 'E', codeAccessDenied, "Access denied to '"+c+"' command", nil)
		} else {
			w.reply(t, 'E', codeInvalidCmd, "Invalid command", nil)
		}
		if !w.text {
			w.b = append(w.b, ']')
		}
	}
	if !w.text {
		w.b = append(w.b, `,"id":1}`...)
	}
}

// live is what bmminer reports now, from the model's ground truth.
type live struct {
	snap    minersim.Snapshot
	elapsed int64
	ghs     float64 // GH/s now
	ideal   float64 // GH/s of the current profile
	acc     uint64
	rej     uint64
}

func (d *Dialect) live(u *minersim.Miner, s *unit) live {
	snap := u.Snapshot()
	s.mu.Lock()
	started, accBase, rejBase := s.started, s.accBase, s.rejBase
	s.mu.Unlock()
	l := live{snap: snap, ghs: float64(snap.Hashrate) * 1000, ideal: float64(snap.ProfileHashrate) * 1000}
	if snap.Time.After(started) {
		l.elapsed = int64(snap.Time.Sub(started) / time.Second)
	}
	if snap.Accepted > accBase {
		l.acc = snap.Accepted - accBase
	}
	if snap.Rejected > rejBase {
		l.rej = snap.Rejected - rejBase
	}
	return l
}

func (d *Dialect) summary(u *minersim.Miner, s *unit) obj {
	l := d.live(u, s)
	getworks := l.elapsed/30 + 1
	return obj{
		{"Elapsed", l.elapsed}, {"GHS 5s", f2(l.ghs)}, {"GHS av", f2(l.ghs)}, {"GHS 30m", f2(l.ghs)},
		{"Found Blocks", int64(0)}, {"Getworks", getworks}, {"Accepted", l.acc}, {"Rejected", l.rej},
		{"Hardware Errors", l.acc / 500}, {"Utility", f2(float64(l.acc) * 60 / math.Max(float64(l.elapsed), 1))},
		{"Discarded", getworks * 131}, {"Stale", int64(0)}, {"Get Failures", int64(0)}, {"Local Work", getworks * 140},
		{"Remote Failures", int64(0)}, {"Network Blocks", l.elapsed / 600}, {"Total MH", f2(l.ghs * 1000 * float64(l.elapsed))},
		{"Work Utility", f2(float64(l.acc) * 65536 * 60 / math.Max(float64(l.elapsed), 1))},
		{"Difficulty Accepted", f2(float64(l.acc) * 65536)}, {"Difficulty Rejected", f2(float64(l.rej) * 65536)},
		{"Difficulty Stale", f2(0)}, {"Best Share", l.acc * 65536 * 3},
		{"Device Hardware%", f2(0)}, {"Device Rejected%", f2(pct(l.rej, l.acc+l.rej))},
		{"Pool Rejected%", f2(pct(l.rej, l.acc+l.rej))}, {"Pool Stale%", f2(0)}, {"Last getwork", l.snap.Time.Unix()},
	}
}

func pct(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) * 100 / float64(b)
}

// chainSlots is how many chain slots bmminer reports (S19 control boards
// have four connectors; unused ones are empty).
const chainSlots = 4

func (d *Dialect) stats(u *minersim.Miner, s *unit) obj {
	l := d.live(u, s)
	m := u.Model()
	pr := u.Profiles()[u.ProfileIndex()]
	slots := max(chainSlots, m.Boards)
	dead := l.snap.Fault == minersim.FaultDeadBoard
	asleep := l.snap.State == miner.StateSleeping
	alive := m.Boards
	if dead {
		alive--
	}
	o := obj{
		{"STATS", int64(0)}, {"ID", "BTM_SOC0"}, {"Elapsed", l.elapsed}, {"Calls", int64(0)}, {"Wait", int64(0)},
		{"Max", int64(0)}, {"Min", int64(99999999)}, {"GHS 5s", f2(l.ghs)}, {"GHS av", f2(l.ghs)}, {"rate_30m", f2(l.ghs)},
		{"Mode", int64(2)}, {"miner_count", int64(m.Boards)}, {"frequency", int64(pr.FreqMHz)},
		{"fan_num", int64(len(l.snap.FanRPM))},
	}
	for i, rpm := range l.snap.FanRPM {
		o = append(o, kv{"fan" + strconv.Itoa(i+1), int64(rpm)})
	}
	o = append(o, kv{"temp_num", int64(m.Boards)})
	chip := int64(math.Round(l.snap.ChipTempC))
	pcb := int64(math.Round(l.snap.BoardTempC))
	for i := 1; i <= m.Boards; i++ {
		o = append(o, kv{"temp" + strconv.Itoa(i), pcb}, kv{"temp2_" + strconv.Itoa(i), chip})
	}
	quad := func(v int64) string { return fmt.Sprintf("%d-%d-%d-%d", v-4, v-4, v, v) }
	for i := 1; i <= slots; i++ {
		n := strconv.Itoa(i)
		if i > m.Boards {
			o = append(o, kv{"temp_pcb" + n, "0-0-0-0"}, kv{"temp_chip" + n, "0-0-0-0"}, kv{"temp_pic" + n, "0-0-0-0"})
			continue
		}
		o = append(o, kv{"temp_pcb" + n, quad(pcb)}, kv{"temp_chip" + n, quad(chip + int64(i%3))}, kv{"temp_pic" + n, quad(pcb - 10)})
	}
	o = append(o,
		kv{"total_rateideal", f2(l.ideal)}, kv{"rate_unit", "GH"}, kv{"total_freqavg", int64(pr.FreqMHz)},
		kv{"total_acn", int64(alive * m.ChipsPerBoard)}, kv{"total rate", f2(l.ghs)},
		kv{"temp_max", chip + 2}, kv{"no_matching_work", int64(0)},
	)
	acs := strings.TrimSpace(strings.Repeat("oooooooo ", m.ChipsPerBoard/8) + strings.Repeat("o", m.ChipsPerBoard%8))
	for i := 1; i <= m.Boards; i++ {
		n := int64(m.ChipsPerBoard)
		if dead && i == 1 {
			n = 0
		}
		o = append(o, kv{"chain_acn" + strconv.Itoa(i), n})
	}
	for i := 1; i <= slots; i++ {
		v := ""
		if i <= m.Boards && !(dead && i == 1) {
			v = acs
		}
		o = append(o, kv{"chain_acs" + strconv.Itoa(i), v})
	}
	for i := 1; i <= m.Boards; i++ {
		o = append(o, kv{"chain_hw" + strconv.Itoa(i), l.acc / 1500})
	}
	for i := 1; i <= slots; i++ {
		v := ""
		if i <= m.Boards {
			r := 0.0
			if !(dead && i == 1) && alive > 0 && !asleep {
				r = l.ghs / float64(alive)
			}
			v = strconv.FormatFloat(r, 'f', 2, 64)
		}
		o = append(o, kv{"chain_rate" + strconv.Itoa(i), v})
	}
	for i := 1; i <= slots; i++ {
		f := int64(0)
		if i <= m.Boards {
			f = int64(pr.FreqMHz)
		}
		o = append(o, kv{"freq" + strconv.Itoa(i), f})
	}
	return append(o, kv{"miner_version", minerVersion}, kv{"miner_id", minerID(u)})
}

func minerID(u *minersim.Miner) string {
	return fmt.Sprintf("%016x", uint64(len(u.Identity().Serial))*0x9e3779b97f4a7c15^hash(u.Identity().Serial))
}

func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

func (d *Dialect) pools(u *minersim.Miner, s *unit) []obj {
	s.mu.Lock()
	conf := s.conf
	s.mu.Unlock()
	type pool struct {
		URL  string `json:"url"`
		User string `json:"user"`
	}
	var ps []pool
	if ms, err := parseObject(conf); err == nil {
		if v, ok := lookup(ms, "pools"); ok {
			json.Unmarshal(v, &ps)
		}
	}
	l := d.live(u, s)
	var out []obj
	for i, p := range ps {
		acc := uint64(0)
		if i == 0 {
			acc = l.acc
		}
		out = append(out, obj{
			{"POOL", int64(i)}, {"URL", p.URL}, {"Status", "Alive"}, {"Priority", int64(i)}, {"Quota", int64(1)},
			{"Getworks", l.elapsed / 30}, {"Accepted", acc}, {"Rejected", int64(0)}, {"Discarded", int64(0)},
			{"Stale", int64(0)}, {"Get Failures", int64(0)}, {"Remote Failures", int64(0)}, {"User", p.User},
			{"Diff", "65.5K"}, {"Stratum Active", i == 0}, {"Stratum URL", strings.TrimPrefix(p.URL, "stratum+tcp://")},
		})
	}
	return out
}

// parseRequest reads a cgminer request: JSON {"command":..,"parameter":..}
// or plain "cmd|param". code is non-zero for a request that gets an error
// status.
func parseRequest(b []byte) (cmd string, isJSON bool, code int) {
	b = bytes.TrimRight(b, "\x00\r\n\t ")
	b = bytes.TrimLeft(b, "\r\n\t ")
	if len(b) > 0 && b[0] == '{' {
		var r struct {
			Command *string `json:"command"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return "", true, codeInvalidJSON
		}
		if r.Command == nil || *r.Command == "" {
			return "", true, codeMissingCmd
		}
		return strings.TrimSpace(*r.Command), true, 0
	}
	c, _, _ := bytes.Cut(b, []byte{'|'})
	if len(c) == 0 {
		return "", false, codeInvalidCmd
	}
	return string(c), false, 0
}

// writer appends replies in JSON or cgminer's text form.
type writer struct {
	b    []byte
	text bool
}

// reply writes one complete reply object: STATUS, the sections, id.
func (w *writer) reply(t time.Time, st byte, code int, msg string, secs []section) {
	status := obj{{"STATUS", string(st)}, {"When", t.Unix()}, {"Code", int64(code)}, {"Msg", msg}, {"Description", description}}
	if w.text {
		w.textObj(status)
		for _, s := range secs {
			for i, o := range s.objs {
				w.b = append(w.b, s.name...)
				w.b = append(w.b, '=')
				w.b = strconv.AppendInt(w.b, int64(i), 10)
				if len(o) > 0 {
					w.b = append(w.b, ',')
				}
				w.textObj(o)
			}
		}
		return
	}
	w.b = append(w.b, `{"STATUS":[`...)
	w.jsonObj(status)
	w.b = append(w.b, ']')
	for _, s := range secs {
		w.b = append(w.b, ',')
		w.b = appendJSONString(w.b, s.name)
		w.b = append(w.b, ":["...)
		for i, o := range s.objs {
			if i > 0 && !s.quirk {
				w.b = append(w.b, ',')
			}
			w.jsonObj(o)
		}
		w.b = append(w.b, ']')
	}
	w.b = append(w.b, `,"id":1}`...)
}

func (w *writer) jsonObj(o obj) {
	w.b = append(w.b, '{')
	for i, f := range o {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendJSONString(w.b, f.k)
		w.b = append(w.b, ':')
		w.value(f.v, true)
	}
	w.b = append(w.b, '}')
}

func (w *writer) textObj(o obj) {
	for i, f := range o {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = append(w.b, textEscape(f.k)...)
		w.b = append(w.b, '=')
		w.value(f.v, false)
	}
	w.b = append(w.b, '|')
}

func (w *writer) value(v any, js bool) {
	switch x := v.(type) {
	case string:
		if js {
			w.b = appendJSONString(w.b, x)
		} else {
			w.b = append(w.b, textEscape(x)...)
		}
	case int64:
		w.b = strconv.AppendInt(w.b, x, 10)
	case uint64:
		w.b = strconv.AppendUint(w.b, x, 10)
	case bool:
		w.b = strconv.AppendBool(w.b, x)
	case f2:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			f = 0
		}
		w.b = strconv.AppendFloat(w.b, f, 'f', 2, 64)
	}
}

// appendJSONString appends s as a JSON string, as json.Marshal writes it
// (printable ASCII needing no escape is copied as it is; anything else
// goes through json.Marshal).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// textEscape escapes cgminer's text separators.
func textEscape(s string) string {
	if !strings.ContainsAny(s, `,|=\`) {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `|`, `\|`, `=`, `\=`)
	return r.Replace(s)
}
