package whatsminersim

import (
	"bytes"
	"math"
	"strconv"

	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/minersim"
)

// Fast paths for the requests a poll sends: the joined summary+edevs and
// the plaintext status. They append the same bytes encoding/json produces
// for the map-based replies in cg.go and whatsminersim.go (keys sorted,
// the same number format), without reflection; TestFastRepliesMatch checks
// that. They decline (ok=false) whatever they cannot encode identically,
// and the reference path answers.

// simpleCmd returns X for a request that is exactly {"cmd":"X"} or
// {"command":"X"} with no escapes in X.
func simpleCmd(in []byte) (string, bool) {
	var rest []byte
	switch {
	case bytes.HasPrefix(in, []byte(`{"cmd":"`)):
		rest = in[len(`{"cmd":"`):]
	case bytes.HasPrefix(in, []byte(`{"command":"`)):
		rest = in[len(`{"command":"`):]
	default:
		return "", false
	}
	if !bytes.HasSuffix(rest, []byte(`"}`)) {
		return "", false
	}
	rest = rest[:len(rest)-2]
	for _, c := range rest {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(rest), true
}

// enc appends JSON values; bad is set when a value cannot be encoded as
// encoding/json would (a non-finite float, a string needing escapes).
type enc struct {
	b   []byte
	bad bool
}

func (e *enc) raw(s string) { e.b = append(e.b, s...) }

func (e *enc) float(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		e.bad = true
		return
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.b = strconv.AppendFloat(e.b, f, format, -1, 64)
	if format == 'e' { // encoding/json writes e-07 as e-7
		n := len(e.b)
		if n >= 4 && e.b[n-4] == 'e' && e.b[n-3] == '-' && e.b[n-2] == '0' {
			e.b[n-2] = e.b[n-1]
			e.b = e.b[:n-1]
		}
	}
}

func (e *enc) int(v int64)   { e.b = strconv.AppendInt(e.b, v, 10) }
func (e *enc) uint(v uint64) { e.b = strconv.AppendUint(e.b, v, 10) }

// str appends a string that needs no escaping (encoding/json also escapes
// <, > and &); anything else marks e bad.
func (e *enc) str(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			e.bad = true
			return
		}
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, s...)
	e.b = append(e.b, '"')
}

func (e *enc) cgStatus(when int64, msg string) {
	e.raw(`[{"STATUS":"S","When":`)
	e.int(when)
	e.raw(`,"Code":11,"Msg":`)
	e.str(msg)
	e.raw(`,"Description":""}]`)
}

// summaryEdevs is serveJoined for "summary+edevs".
func (d *Dialect) summaryEdevs(u *minersim.Miner, out []byte) ([]byte, bool) {
	r := d.read(u)
	s := r.snap
	when := u.Now().Unix()
	e := enc{b: out}
	// edevs first: the reference marshals a map, keys sorted.
	e.raw(`{"edevs":[{"EDEVS":[`)
	upfreq := int64(1)
	if s.State == miner.StateWaking {
		upfreq = 0
	}
	chips := int64(u.Model().ChipsPerBoard)
	serial := u.Identity().Serial
	for i := range r.boards {
		if i > 0 {
			e.raw(",")
		}
		h, ok := r.boardHash(i)
		status := "Alive"
		if !ok && s.State != miner.StateSleeping && s.State != miner.StateRampingDown {
			status = "Dead"
		}
		e.raw(`{"ASC":`)
		e.int(int64(i))
		e.raw(`,"Chip Temp Max":`)
		e.float(round1(s.ChipTempC))
		e.raw(`,"Effective Chips":`)
		e.int(chips)
		e.raw(`,"Enabled":"Y","Factory GHS":`)
		e.float(math.Round(r.factory * 1e3 / float64(r.boards)))
		e.raw(`,"MHS 5s":`)
		e.float(math.Round(h * 1e6))
		e.raw(`,"MHS av":`)
		e.float(math.Round(h * 1e6))
		e.raw(`,"PCB SN":`)
		e.str(serial + "-" + string(rune('0'+i)))
		e.raw(`,"Slot":`)
		e.int(int64(i))
		e.raw(`,"Status":`)
		e.str(status)
		e.raw(`,"Temperature":`)
		e.float(round1(s.BoardTempC))
		e.raw(`,"Upfreq Complete":`)
		e.int(upfreq)
		e.raw("}")
	}
	e.raw(`],"STATUS":`)
	e.cgStatus(when, "EDEVS")
	e.raw(`,"id":1}],"summary":[{"STATUS":`)
	e.cgStatus(when, "SUMMARY")
	mhs := math.Round(float64(s.Hashrate) * 1e6)
	e.raw(`,"SUMMARY":[{"Accepted":`)
	e.uint(s.Accepted)
	e.raw(`,"Chip Temp Avg":`)
	e.float(round1((s.ChipTempC + s.BoardTempC) / 2))
	e.raw(`,"Chip Temp Max":`)
	e.float(round1(s.ChipTempC))
	e.raw(`,"Chip Temp Min":`)
	e.float(round1(s.BoardTempC))
	e.raw(`,"Elapsed":`)
	e.int(r.uptime)
	e.raw(`,"Env Temp":25,"Factory GHS":`)
	e.float(math.Round(r.factory * 1e3))
	e.raw(`,"Fan Speed In":`)
	e.int(int64(fan(r, 0)))
	e.raw(`,"Fan Speed Out":`)
	e.int(int64(fan(r, 1)))
	e.raw(`,"HS RT":`)
	e.float(mhs)
	e.raw(`,"Hash Stable":`)
	e.raw(strconv.FormatBool(s.State == miner.StateMining))
	for _, k := range [...]string{`,"MHS 15m":`, `,"MHS 1m":`, `,"MHS 5m":`, `,"MHS 5s":`, `,"MHS av":`} {
		e.raw(k)
		e.float(mhs)
	}
	e.raw(`,"Power":`)
	e.float(math.Round(float64(s.Power)))
	e.raw(`,"Power Limit":`)
	e.float(r.limit)
	e.raw(`,"Power Mode":"Normal","Power Rate":`)
	e.float(round1(float64(s.Power) / math.Max(float64(s.Hashrate), 1)))
	e.raw(`,"Rejected":`)
	e.uint(s.Rejected)
	e.raw(`,"Target MHS":`)
	e.float(math.Round(float64(s.ProfileHashrate) * 1e6))
	e.raw(`,"Temperature":`)
	e.float(round1(s.BoardTempC))
	e.raw(`,"Uptime":`)
	e.int(r.uptime)
	e.raw(`,"freq_avg":0}],"id":1}]}`)
	return e.b, !e.bad
}

// statusReply is the reply to the plaintext status command.
func (d *Dialect) statusReply(u *minersim.Miner, out []byte) ([]byte, bool) {
	m := d.statusMsg(u)
	e := enc{b: out}
	e.raw(`{"STATUS":"S","When":`)
	e.int(u.Now().Unix())
	e.raw(`,"Code":131,"Msg":{"FirmwareVersion":`)
	e.str(m["FirmwareVersion"])
	for _, k := range [...]string{"hash_percent", "mineroff", "mineroff_reason", "mineroff_time", "power_limit_set", "power_mode"} {
		e.raw(`,"` + k + `":`)
		e.str(m[k])
	}
	e.raw(`},"Description":""}`)
	return e.b, !e.bad
}

// fastRPC answers the requests the fast paths cover; ok is false for the
// rest.
func (d *Dialect) fastRPC(u *minersim.Miner, in, out []byte) ([]byte, bool) {
	cmd, ok := simpleCmd(in)
	if !ok {
		return nil, false
	}
	var b []byte
	switch cmd {
	case "summary+edevs":
		b, ok = d.summaryEdevs(u, out)
	case "status":
		b, ok = d.statusReply(u, out)
	default:
		return nil, false
	}
	if !ok {
		return nil, false
	}
	return b, true
}
