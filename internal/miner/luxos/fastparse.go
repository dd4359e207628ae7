package luxos

import (
	"math"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/jsonscan"
)

// Fast path for the status reply.
//
// parseStatusFast walks the reply to summary+power+devs+fans+config once,
// with a hand-written scanner (no reflection, no encoding/json), and reads
// only the fields parseStatusReference uses. It is an optimisation, not a
// second parser: it reports handled=false on anything it does not fully
// understand and parseStatus then falls back to the reference path
// (cgminer.Unmarshal into the wire structs), which stays the definition of
// what a reply means. Whenever it reports handled=true, its result equals
// the reference's; FuzzFastParseStatus checks that.
//
// It handles strict JSON (RFC 8259) as encoding/json accepts it: any key
// order, unknown keys and sections of any shape (skipped after a syntax
// check), numbers in any JSON form, escaped strings, whitespace, trailing
// NULs and whitespace after the reply, null for a known field (the zero
// value), and empty arrays.
//
// It refuses (falls back on):
//   - anything that is not valid JSON: truncation, "}{", ",}", "[,", bare or
//     quoted inf/nan, a leading NUL, nesting deeper than maxSkipDepth;
//   - a known field of an unexpected type (a string where a number is
//     expected, a fraction in an integer field, a number out of range);
//   - a known key given twice in one object, or a key that matches a
//     known one only case-insensitively (encoding/json would fold it), or
//     a non-ASCII key in an object with known fields;
//   - a string the driver reads (STATUS, Status, Profile, CurtailMode) that
//     is not valid UTF-8 or holds a lone UTF-16 surrogate escape;
//   - every reply the reference turns into an error (E/F status, a missing
//     sub-reply or section, a negative reading), so errors are always
//     built by the reference path.

// maxSkipDepth bounds the nesting of skipped values; deeper input is left
// to the reference path (encoding/json allows 10,000 levels).

// Indices of the sub-replies in fastReply, in the reference's check order.
const (
	subSummary = iota
	subPower
	subDevs
	subFans
	subConfig
	numSubs
)

// curtail classifies config CurtailMode.
type curtail uint8

const (
	curtailNone  curtail = iota // "" or "None"
	curtailSleep                // "Sleep"
	curtailOther                // anything else
)

// fastReply is what the scanner gathers; it mirrors what
// parseStatusReference reads from statusReply.
type fastReply struct {
	caps miner.Capabilities

	topStatusN      int // entries of a top-level STATUS
	topStatusFailed bool

	subN     [numSubs]int  // elements of each sub-reply array
	statusN  [numSubs]int  // STATUS entries of element 0
	failed   [numSubs]bool // an E/F entry in element 0's STATUS
	sectionN [numSubs]int  // entries of element 0's data section

	sm      summaryWire // SUMMARY[0] of summary[0]
	watts   float64     // POWER[0] of power[0]
	profile string      // CONFIG[0] of config[0]
	curtail curtail

	boards, active   int
	hashing, ramping bool
	tempMax          float64
	fans             []int
}

// parseStatusFast is the fast path of parseStatus; see the comment above.
// ok is false when the reply must go to the reference path.
func parseStatusFast(b []byte, caps miner.Capabilities) (st miner.Status, ok bool) {
	r := fastReply{caps: caps, tempMax: math.Inf(-1)}
	s := scanner{jsonscan.Scanner{B: b}}
	s.WS()
	if !s.top(&r) {
		return miner.Status{}, false
	}
	for ; s.I < len(s.B); s.I++ {
		switch s.B[s.I] {
		case 0, ' ', '\n', '\r', '\t':
		default:
			return miner.Status{}, false
		}
	}
	if r.topStatusN > 0 && r.topStatusFailed {
		return miner.Status{}, false
	}
	for i := range numSubs {
		if r.subN[i] == 0 || r.statusN[i] == 0 || r.failed[i] {
			return miner.Status{}, false
		}
	}
	if r.sectionN[subSummary] == 0 || r.sectionN[subPower] == 0 || r.sectionN[subConfig] == 0 {
		return miner.Status{}, false
	}
	sm := r.sm
	for _, v := range [...]float64{r.watts, sm.GHS5s, sm.GHSav, sm.Elapsed} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 { // as energy.Check
			return miner.Status{}, false
		}
	}
	st = miner.Status{
		Power:        energy.Power(r.watts),
		Profile:      r.profile,
		Hashrate:     energy.Hashrate(sm.GHS5s / 1000),
		HashrateAvg:  energy.Hashrate(sm.GHSav / 1000),
		Uptime:       time.Duration(sm.Elapsed * float64(time.Second)),
		Accepted:     uint64(max(sm.Accepted, 0)),
		Rejected:     uint64(max(sm.Rejected, 0)),
		Boards:       r.boards,
		BoardsActive: r.active,
		TempMaxC:     r.tempMax,
		FanRPM:       r.fans,
	}
	for _, ps := range caps.PowerSteps {
		if ps.Name == r.profile {
			st.PowerTarget = ps.Power
		}
	}
	if st.Boards == 0 {
		st.TempMaxC = 0
	}
	hashing := r.hashing || st.Hashrate > 0
	switch {
	case r.curtail == curtailSleep && hashing:
		st.State = miner.StateRampingDown
	case r.curtail == curtailSleep:
		st.State = miner.StateSleeping
	case r.curtail == curtailOther:
		st.State = miner.StateUnknown
	case r.ramping || !hashing:
		st.State = miner.StateWaking
	default:
		st.State = miner.StateMining
	}
	return st, true
}

// top reads the top-level object.
func (s *scanner) top(r *fastReply) bool {
	names := [...]string{"summary", "power", "devs", "fans", "config", "STATUS"}
	return s.Object(names[:], func(k int) bool {
		if k == len(names)-1 {
			n, failed, ok := s.statusArray()
			r.topStatusN, r.topStatusFailed = n, failed
			return ok
		}
		return s.Array(func(i int) bool {
			r.subN[k]++
			return s.subReply(r, k, i == 0)
		})
	})
}

// subReply reads one element of a sub-reply array ({"STATUS":[..],
// "SUMMARY":[..]}); rec says whether it is element 0, the one the driver
// uses. A null element is a sub-reply without STATUS.
func (s *scanner) subReply(r *fastReply, sub int, rec bool) bool {
	section := [numSubs]string{"SUMMARY", "POWER", "DEVS", "FANS", "CONFIG"}[sub]
	names := [...]string{"STATUS", section}
	return s.Object(names[:], func(k int) bool {
		if k == 0 {
			n, failed, ok := s.statusArray()
			if rec {
				r.statusN[sub], r.failed[sub] = n, failed
			}
			return ok
		}
		return s.Array(func(i int) bool {
			if rec {
				r.sectionN[sub]++
			}
			switch sub {
			case subSummary:
				return s.summaryItem(r, rec && i == 0)
			case subPower:
				return s.powerItem(r, rec && i == 0)
			case subDevs:
				return s.devItem(r, rec)
			case subFans:
				return s.fanItem(r, rec)
			default:
				return s.configItem(r, rec && i == 0)
			}
		})
	})
}

// statusArray reads a STATUS section: its entry count and whether one of
// them is E or F. Only STATUS is read; When, Code, Msg and Description are
// type-checked (errors are left to the reference path).
func (s *scanner) statusArray() (n int, failed bool, ok bool) {
	ok = s.Array(func(int) bool {
		n++
		names := [...]string{"STATUS", "When", "Code", "Msg", "Description"}
		return s.Object(names[:], func(k int) bool {
			switch k {
			case 0:
				v, ok := s.Text()
				failed = failed || string(v) == "E" || string(v) == "F"
				return ok
			case 1, 2:
				return s.Integer(k == 1)
			default:
				return s.SkipString()
			}
		})
	})
	return n, failed, ok
}

func (s *scanner) summaryItem(r *fastReply, rec bool) bool {
	names := [...]string{"Elapsed", "GHS 5s", "GHS av", "Accepted", "Rejected"}
	var sm summaryWire
	ok := s.Object(names[:], func(k int) bool {
		v, ok := s.Float()
		switch k {
		case 0:
			sm.Elapsed = v
		case 1:
			sm.GHS5s = v
		case 2:
			sm.GHSav = v
		case 3:
			sm.Accepted = v
		default:
			sm.Rejected = v
		}
		return ok
	})
	if rec {
		r.sm = sm
	}
	return ok
}

func (s *scanner) powerItem(r *fastReply, rec bool) bool {
	names := [...]string{"Watts"}
	return s.Object(names[:], func(int) bool {
		v, ok := s.Float()
		if rec {
			r.watts = v
		}
		return ok
	})
}

func (s *scanner) devItem(r *fastReply, rec bool) bool {
	names := [...]string{"Status", "MHS 5s", "Temperature", "IsRamping"}
	var (
		alive, ramping bool
		mhs, temp      float64
	)
	ok := s.Object(names[:], func(k int) bool {
		var ok bool
		switch k {
		case 0:
			var v []byte
			v, ok = s.Text()
			alive = string(v) == "Alive"
		case 1:
			mhs, ok = s.Float()
		case 2:
			temp, ok = s.Float()
		default:
			ramping, ok = s.Boolean()
		}
		return ok
	})
	if ok && rec {
		r.boards++
		if alive && mhs > 0 {
			r.active++
		}
		r.hashing = r.hashing || mhs > 0
		r.ramping = r.ramping || ramping
		if temp > r.tempMax {
			r.tempMax = temp
		}
	}
	return ok
}

func (s *scanner) fanItem(r *fastReply, rec bool) bool {
	names := [...]string{"RPM"}
	var rpm float64
	ok := s.Object(names[:], func(int) bool {
		var ok bool
		rpm, ok = s.Float()
		return ok
	})
	if ok && rec {
		if r.fans == nil {
			r.fans = make([]int, 0, 8)
		}
		r.fans = append(r.fans, int(max(rpm, 0)))
	}
	return ok
}

func (s *scanner) configItem(r *fastReply, rec bool) bool {
	names := [...]string{"CurtailMode", "Profile", "IsAtmEnabled", "IsPowerSupplyOn", "Model", "Type", "ProfileStep"}
	return s.Object(names[:], func(k int) bool {
		switch k {
		case 0:
			v, ok := s.Text()
			if rec {
				switch string(v) {
				case "", "None":
					r.curtail = curtailNone
				case "Sleep":
					r.curtail = curtailSleep
				default:
					r.curtail = curtailOther
				}
			}
			return ok
		case 1:
			if !rec {
				return s.SkipString()
			}
			v, ok := s.Text()
			r.profile = ""
			if len(v) == 0 {
				return ok
			}
			for _, ps := range r.caps.PowerSteps {
				if ps.Name == string(v) {
					r.profile = ps.Name // no allocation for a known profile
					return ok
				}
			}
			r.profile = string(v)
			return ok
		case 2, 3:
			_, ok := s.Boolean()
			return ok
		default:
			return s.SkipString()
		}
	})
}

// scanner walks a reply with the shared JSON scanner.
type scanner struct{ jsonscan.Scanner }
