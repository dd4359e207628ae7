package whatsminer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
	"github.com/gridminer/gridminer/internal/miner/jsonscan"
)

// Fast paths for the two API v2 replies a Status reads: the joined
// summary+edevs and the plaintext status.
//
// parseSummaryEdevsFast and parseStatusFast walk a reply once with the
// shared scanner (no reflection, no encoding/json) and read only the
// fields buildStatusV2 uses (checking the type of every other field the
// reference decodes). They are optimisations, not second parsers: they
// report ok=false on anything they do not fully understand and the caller
// falls back to the reference path (cgminer.ParseJoined / ParseReply and
// encoding/json into the wire structs), which stays the definition of what
// a reply means and builds every error. Whenever a fast path reports
// ok=true its result equals the reference's; FuzzFastParse checks that.
//
// They refuse (fall back on):
//   - anything that is not strict JSON, and any reply holding "}{" (which
//     cgminer.Unmarshal repairs before parsing, even inside strings);
//   - a top-level null, a joined reply with a top-level STATUS or a key
//     other than summary, edevs and id, a sub-reply that is not an array;
//   - a known field of an unexpected type, a known key given twice or
//     matching a known one only case-insensitively, a non-ASCII key in an
//     object with known fields, a string the driver compares that is not
//     valid UTF-8 or holds a lone surrogate escape;
//   - a STATUS array in the plaintext reply (the cgminer form), an enc key;
//   - every reply the reference turns into an error (E/F status, a missing
//     sub-reply or section, a failing code), so errors are always built by
//     the reference path.

type scanner struct{ jsonscan.Scanner }

// end reports whether only NULs and whitespace follow the cursor.
func (s *scanner) end() bool {
	for ; s.I < len(s.B); s.I++ {
		switch s.B[s.I] {
		case 0, ' ', '\n', '\r', '\t':
		default:
			return false
		}
	}
	return true
}

// int64Field reads an int64 field (or null, 0).
func (s *scanner) int64Field(bitSize int) (int64, bool) {
	if s.Peek() == 'n' {
		return 0, s.Literal("null")
	}
	lit, integer, ok := s.Number()
	if !ok || !integer {
		return 0, false
	}
	if len(lit) <= 18 {
		var v int64
		neg := lit[0] == '-'
		for _, c := range lit[btoi(neg):] {
			v = v*10 + int64(c-'0')
		}
		if neg {
			v = -v
		}
		if bitSize == 32 && int64(int32(v)) != v {
			return 0, false
		}
		return v, true
	}
	v, err := strconv.ParseInt(string(lit), 10, bitSize)
	return v, err == nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// intField reads an int field (or null, 0).
func (s *scanner) intField() (int, bool) {
	v, ok := s.int64Field(strconv.IntSize)
	return int(v), ok
}

// statusArray reads a cgminer STATUS array ([]cgminer.StatusEntry) and
// returns its length and whether an entry failed (E or F).
func (s *scanner) statusArray() (n int, failed, ok bool) {
	if s.Peek() != '[' {
		return 0, false, false // null: no STATUS, an error
	}
	names := [...]string{"STATUS", "When", "Code", "Msg", "Description"}
	ok = s.Array(func(int) bool {
		n++
		return s.Object(names[:], func(k int) bool {
			switch k {
			case 0:
				v, ok := s.Text()
				if string(v) == "E" || string(v) == "F" {
					failed = true
				}
				return ok
			case 1:
				return s.Integer(true)
			case 2:
				return s.Integer(false)
			default:
				return s.SkipString()
			}
		})
	})
	return n, failed, ok
}

// sumEdevs is what parseSummaryEdevsFast gathers.
type sumEdevs struct {
	sum         summaryWire
	devs        []edevWire
	sumN        int // elements of SUMMARY
	seen        [2]bool
	sectionSeen [2]bool
}

// parseSummaryEdevsFast is the fast path of parseSummaryEdevs; see above.
func parseSummaryEdevsFast(b []byte) (summaryWire, []edevWire, bool) {
	if bytes.Contains(b, []byte("}{")) {
		return summaryWire{}, nil, false
	}
	s := scanner{jsonscan.Scanner{B: b}}
	s.WS()
	if s.Peek() != '{' {
		return summaryWire{}, nil, false
	}
	var r sumEdevs
	names := [...]string{"summary", "edevs", "id"}
	ok := s.ObjectX(names[:], func(k int) bool {
		if k == 2 {
			return s.Skip(0)
		}
		r.seen[k] = true
		if s.Peek() != '[' {
			return false
		}
		n := 0
		return s.Array(func(i int) bool {
			n++
			if i > 0 {
				if c := s.Peek(); c != '{' && c != 'n' {
					return false
				}
				return s.Skip(0)
			}
			return s.subReply(&r, k)
		})
	}, false)
	if !ok || !s.end() || !r.seen[0] || !r.seen[1] || !r.sectionSeen[0] || !r.sectionSeen[1] || r.sumN == 0 {
		return summaryWire{}, nil, false
	}
	return r.sum, r.devs, true
}

// subReply reads element 0 of a sub-reply array: {"STATUS":[..],
// "SUMMARY"|"EDEVS":[..]}.
func (s *scanner) subReply(r *sumEdevs, sub int) bool {
	if s.Peek() != '{' {
		return false // null: a sub-reply without STATUS
	}
	names := [...]string{"STATUS", [2]string{"SUMMARY", "EDEVS"}[sub]}
	statusSeen := false
	ok := s.Object(names[:], func(k int) bool {
		if k == 0 {
			n, failed, ok := s.statusArray()
			statusSeen = true
			return ok && n > 0 && !failed
		}
		r.sectionSeen[sub] = true
		if sub == 0 {
			if s.Peek() != '[' {
				return false // null or other: an empty SUMMARY
			}
			return s.Array(func(i int) bool {
				r.sumN++
				var w summaryWire
				if !s.summaryItem(&w) {
					return false
				}
				if i == 0 {
					r.sum = w
				}
				return true
			})
		}
		return s.Array(func(int) bool {
			var d edevWire
			if !s.edevItem(&d) {
				return false
			}
			r.devs = append(r.devs, d)
			return true
		})
	})
	return ok && statusSeen
}

func (s *scanner) summaryItem(w *summaryWire) bool {
	names := [...]string{"Elapsed", "MHS av", "MHS 5s", "Accepted", "Rejected", "Temperature",
		"Chip Temp Max", "Fan Speed In", "Fan Speed Out", "Power", "Power Limit", "Factory GHS"}
	return s.Object(names[:], func(k int) bool {
		var ok bool
		switch k {
		case 0:
			w.Elapsed, ok = s.int64Field(64)
		case 3:
			w.Accepted, ok = s.int64Field(64)
		case 4:
			w.Rejected, ok = s.int64Field(64)
		case 1:
			w.MHSav, ok = s.Float()
		case 2:
			w.MHS5s, ok = s.Float()
		case 5:
			w.Temperature, ok = s.Float()
		case 6:
			w.ChipTempMax, ok = s.Float()
		case 7:
			w.FanSpeedIn, ok = s.Float()
		case 8:
			w.FanSpeedOut, ok = s.Float()
		case 9:
			w.Power, ok = s.Float()
		case 10:
			w.PowerLimit, ok = s.Float()
		default:
			w.FactoryGHS, ok = s.Float()
		}
		return ok
	})
}

func (s *scanner) edevItem(d *edevWire) bool {
	names := [...]string{"Slot", "Status", "Temperature", "Chip Temp Max", "MHS av", "MHS 5s", "Upfreq Complete"}
	return s.Object(names[:], func(k int) bool {
		var ok bool
		switch k {
		case 0:
			d.Slot, ok = s.intField()
		case 1:
			var v []byte
			v, ok = s.Text()
			switch string(v) {
			case "Dead":
				d.Status = "Dead"
			case "Alive":
				d.Status = "Alive"
			default:
				d.Status = string(v)
			}
		case 6:
			if s.Peek() == 'n' {
				d.UpfreqComplete = nil
				return s.Literal("null")
			}
			var v int
			v, ok = s.intField()
			d.UpfreqComplete = &v
		case 2:
			d.Temperature, ok = s.Float()
		case 3:
			d.ChipTempMax, ok = s.Float()
		case 4:
			d.MHSav, ok = s.Float()
		default:
			d.MHS5s, ok = s.Float()
		}
		return ok
	})
}

// parseStatusFast is the fast path of parseStatus: it reports whether the
// miner says it is off.
func parseStatusFast(b []byte) (off, ok bool) {
	if bytes.Contains(b, []byte("}{")) {
		return false, false
	}
	s := scanner{jsonscan.Scanner{B: b}}
	s.WS()
	if s.Peek() != '{' {
		return false, false
	}
	var (
		statusEF        bool // STATUS is E or F
		code            int
		statusSeen      bool
		msgSeen         bool
		minerOff, btOff bool
	)
	names := [...]string{"STATUS", "When", "Code", "Msg", "Description", "enc"}
	ok = s.Object(names[:], func(k int) bool {
		switch k {
		case 0:
			if s.Peek() != '"' {
				return false
			}
			statusSeen = true
			v, ok := s.Text()
			statusEF = string(v) == "E" || string(v) == "F"
			return ok
		case 1:
			return s.Integer(true)
		case 2:
			var ok bool
			code, ok = s.intField()
			return ok
		case 3:
			msgSeen = true
			if c := s.Peek(); c != '{' && c != 'n' {
				return false
			}
			mnames := [...]string{"mineroff", "btmineroff", "power_limit_set"}
			return s.Object(mnames[:], func(k int) bool {
				v, ok := s.Text()
				switch k {
				case 0:
					minerOff = string(v) == "true"
				case 1:
					btOff = string(v) == "true"
				}
				return ok
			})
		case 4:
			return s.SkipString()
		default:
			return false // enc: an encrypted reply to a plaintext request
		}
	})
	if !ok || !s.end() || !statusSeen || !msgSeen || replyFails(statusEF, code) {
		return false, false
	}
	return minerOff || btOff, true
}

// replyFails reports whether Reply.Err is not nil for a reply with this
// Code and a STATUS that is E or F (ef) or not.
func replyFails(ef bool, code int) bool {
	switch code {
	case CodeOK, CodeTokenOK:
		return false
	case CodeTokenError, CodeTooManyTokens, CodeDenied, CodeInvalidCmd:
		return true
	}
	return ef || code == CodeCmdError || code == CodeInvalidJSON || code == CodeBase64Error
}

// Reference paths and dispatch.

const joinedSummaryEdevs = "summary+edevs"

// parseSummaryEdevs parses the reply to summary+edevs, with the errors
// cgminer.Client.Joined and statusV2 have always returned.
func parseSummaryEdevs(body []byte) (summaryWire, []edevWire, error) {
	if sum, devs, ok := parseSummaryEdevsFast(body); ok {
		return sum, devs, nil
	}
	return parseSummaryEdevsRef(body)
}

// parseSummaryEdevsRef is the reference: cgminer.Client.Joined after its
// request, then decodeSummary and the EDEVS section.
func parseSummaryEdevsRef(body []byte) (summaryWire, []edevWire, error) {
	rs, err := cgminer.ParseJoined(body)
	if err != nil {
		return summaryWire{}, nil, fmt.Errorf("%s: %w", joinedSummaryEdevs, err)
	}
	for _, cmd := range [...]string{"summary", "edevs"} {
		r, ok := rs[cmd]
		if !ok {
			return summaryWire{}, nil, fmt.Errorf("%s: no reply for %s: %w", joinedSummaryEdevs, cmd, miner.ErrProtocol)
		}
		if err := r.Err(); err != nil {
			return summaryWire{}, nil, fmt.Errorf("%s: %s: %w", joinedSummaryEdevs, cmd, err)
		}
	}
	sum, err := decodeSummary(rs["summary"])
	if err != nil {
		return summaryWire{}, nil, err
	}
	var devs []edevWire
	if err := rs["edevs"].Decode("EDEVS", &devs); err != nil {
		return summaryWire{}, nil, fmt.Errorf("edevs: %w", err)
	}
	return sum, devs, nil
}

// parseStatus parses the reply to the plaintext status command and
// reports whether the miner is off, with the errors readV2 and statusV2
// have always returned.
func parseStatus(body []byte) (bool, error) {
	if off, ok := parseStatusFast(body); ok {
		return off, nil
	}
	sw, err := parseStatusRef(body)
	if err != nil {
		return false, fmt.Errorf("status: %w", err)
	}
	return sw.off(), nil
}

// parseStatusRef is the reference: readV2 after its request, then
// encoding/json into statusWire. Errors are not prefixed with "status".
func parseStatusRef(body []byte) (statusWire, error) {
	r, err := ParseReply(body)
	if err != nil {
		return statusWire{}, err
	}
	if err := r.Err(); err != nil {
		return statusWire{}, err
	}
	var sw statusWire
	if err := json.Unmarshal(r.Msg, &sw); err != nil {
		return statusWire{}, fmt.Errorf("%w: %w", err, miner.ErrProtocol)
	}
	return sw, nil
}
