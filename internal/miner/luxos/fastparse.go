package luxos

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
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
const maxSkipDepth = 64

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
	s := scanner{b: b}
	s.ws()
	if !s.top(&r) {
		return miner.Status{}, false
	}
	for ; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
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
	return s.object(names[:], func(k int) bool {
		if k == len(names)-1 {
			n, failed, ok := s.statusArray()
			r.topStatusN, r.topStatusFailed = n, failed
			return ok
		}
		return s.array(func(i int) bool {
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
	return s.object(names[:], func(k int) bool {
		if k == 0 {
			n, failed, ok := s.statusArray()
			if rec {
				r.statusN[sub], r.failed[sub] = n, failed
			}
			return ok
		}
		return s.array(func(i int) bool {
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
	ok = s.array(func(int) bool {
		n++
		names := [...]string{"STATUS", "When", "Code", "Msg", "Description"}
		return s.object(names[:], func(k int) bool {
			switch k {
			case 0:
				v, ok := s.text()
				failed = failed || string(v) == "E" || string(v) == "F"
				return ok
			case 1, 2:
				return s.integer(k == 1)
			default:
				return s.skipString()
			}
		})
	})
	return n, failed, ok
}

func (s *scanner) summaryItem(r *fastReply, rec bool) bool {
	names := [...]string{"Elapsed", "GHS 5s", "GHS av", "Accepted", "Rejected"}
	var sm summaryWire
	ok := s.object(names[:], func(k int) bool {
		v, ok := s.float()
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
	return s.object(names[:], func(int) bool {
		v, ok := s.float()
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
	ok := s.object(names[:], func(k int) bool {
		var ok bool
		switch k {
		case 0:
			var v []byte
			v, ok = s.text()
			alive = string(v) == "Alive"
		case 1:
			mhs, ok = s.float()
		case 2:
			temp, ok = s.float()
		default:
			ramping, ok = s.boolean()
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
	ok := s.object(names[:], func(int) bool {
		var ok bool
		rpm, ok = s.float()
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
	return s.object(names[:], func(k int) bool {
		switch k {
		case 0:
			v, ok := s.text()
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
				return s.skipString()
			}
			v, ok := s.text()
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
			_, ok := s.boolean()
			return ok
		default:
			return s.skipString()
		}
	})
}

// scanner is a cursor over one reply. Its methods report ok=false on
// anything the fast path does not handle.
type scanner struct {
	b   []byte
	i   int
	buf [64]byte // unescaped strings
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\n', '\r', '\t':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// literal consumes lit (true, false or null).
func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// object reads an object (or null) whose known keys are names, calling
// field(k) with the cursor on the value of names[k]; other keys' values
// are skipped. It refuses duplicated known keys, keys that equal a known
// one only case-insensitively and non-ASCII keys (encoding/json matches
// names case-insensitively, with Unicode folding).
func (s *scanner) object(names []string, field func(k int) bool) bool {
	if s.peek() == 'n' {
		return s.literal("null")
	}
	if s.peek() != '{' {
		return false
	}
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
		return true
	}
	var seen uint32
	for {
		key, ok := s.key()
		if !ok {
			return false
		}
		s.ws()
		if s.peek() != ':' {
			return false
		}
		s.i++
		s.ws()
		k := -1
		for j, n := range names {
			if string(key) == n {
				k = j
				break
			}
		}
		if k < 0 {
			for _, n := range names {
				if asciiEqualFold(key, n) {
					return false
				}
			}
		}
		if k >= 0 {
			if seen&(1<<k) != 0 {
				return false
			}
			seen |= 1 << k
			if !field(k) {
				return false
			}
		} else if !s.skip(0) {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// key reads an object key in an object with known fields, unescaped.
func (s *scanner) key() ([]byte, bool) {
	raw, esc, ascii, ok := s.str()
	if !ok || !ascii {
		return nil, false
	}
	if !esc {
		return raw, true
	}
	v, ok := s.unescape(raw)
	for _, c := range v {
		if c >= utf8.RuneSelf {
			return nil, false
		}
	}
	return v, ok
}

// asciiEqualFold reports whether a and b are equal under ASCII case
// folding.
func asciiEqualFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// array reads an array (or null), calling elem(i) with the cursor on
// element i.
func (s *scanner) array(elem func(i int) bool) bool {
	if s.peek() == 'n' {
		return s.literal("null")
	}
	if s.peek() != '[' {
		return false
	}
	s.i++
	s.ws()
	if s.peek() == ']' {
		s.i++
		return true
	}
	for i := 0; ; i++ {
		if !elem(i) {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// str reads a string and returns its raw contents (between the quotes),
// whether it holds escapes and whether it is all ASCII. Escapes are
// checked for syntax; control characters are refused.
func (s *scanner) str() (raw []byte, esc, ascii, ok bool) {
	if s.peek() != '"' {
		return nil, false, false, false
	}
	s.i++
	start := s.i
	ascii = true
	for s.i < len(s.b) {
		// Skip plain bytes eight at a time (SWAR) up to the first '"',
		// '\\', control character or non-ASCII byte. Borrows make the
		// test inexact only above the lowest flagged byte.
		for s.i+8 <= len(s.b) {
			x := binary.LittleEndian.Uint64(s.b[s.i:])
			q, bs := x^(ones*'"'), x^(ones*'\\')
			if m := ((x-ones*0x20)&^x | (q-ones)&^q | (bs-ones)&^bs | x) & highs; m != 0 {
				s.i += bits.TrailingZeros64(m) / 8
				break
			}
			s.i += 8
		}
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, esc, ascii, true
		case c < 0x20:
			return nil, false, false, false
		case c >= utf8.RuneSelf:
			ascii = false
			s.i++
		case c == '\\':
			esc = true
			if s.i+1 >= len(s.b) {
				return nil, false, false, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if _, ok := hex4(s.b[s.i+2:]); !ok {
					return nil, false, false, false
				}
				s.i += 6
			default:
				return nil, false, false, false
			}
		default:
			s.i++
		}
	}
	return nil, false, false, false
}

// Constants of the SWAR test in str.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// hex4 decodes the four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// unescape decodes the escapes of a syntax-checked raw string into s.buf
// (or a larger heap buffer). It refuses lone surrogates, which
// encoding/json would replace with U+FFFD.
func (s *scanner) unescape(raw []byte) ([]byte, bool) {
	out := s.buf[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'u':
			r, _ := hex4(raw[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+1 >= len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
					return nil, false
				}
				r2, _ := hex4(raw[i+2:])
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return nil, false
				}
				i += 6
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // '"', '\\', '/'
			c = raw[i+1]
		}
		out = append(out, c)
		i += 2
	}
	return out, true
}

// text reads a string (or null, "") the driver compares or keeps. The
// result may alias the reply or the scanner's buffer.
func (s *scanner) text() ([]byte, bool) {
	if s.peek() == 'n' {
		return nil, s.literal("null")
	}
	raw, esc, ascii, ok := s.str()
	if !ok || (!ascii && !utf8.Valid(raw)) {
		return nil, false
	}
	if esc {
		return s.unescape(raw)
	}
	return raw, true
}

// skipString checks a string-typed field (string or null).
func (s *scanner) skipString() bool {
	if s.peek() == 'n' {
		return s.literal("null")
	}
	_, _, _, ok := s.str()
	return ok
}

// boolean reads a bool or *bool field (or null, false/nil).
func (s *scanner) boolean() (bool, bool) {
	switch s.peek() {
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	case 'n':
		return false, s.literal("null")
	}
	return false, false
}

// number reads a JSON number's literal and whether it has no fraction or
// exponent.
func (s *scanner) number() (lit []byte, integer, ok bool) {
	start := s.i
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return nil, false, false
	}
	integer = true
	if s.peek() == '.' {
		integer = false
		s.i++
		if !s.digits() {
			return nil, false, false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		integer = false
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return nil, false, false
		}
	}
	return s.b[start:s.i], integer, true
}

// digits consumes [0-9]* and reports whether there was one.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// integer checks an int or int64 field (number without fraction or
// exponent that fits, or null).
func (s *scanner) integer(is64 bool) bool {
	if s.peek() == 'n' {
		return s.literal("null")
	}
	lit, integer, ok := s.number()
	if !ok || !integer {
		return false
	}
	if len(lit) <= 18 {
		return true
	}
	bits := 64
	if !is64 {
		bits = strconv.IntSize
	}
	_, err := strconv.ParseInt(string(lit), 10, bits)
	return err == nil
}

// pow10 holds the powers of ten a float64 represents exactly.
func pow10(e int) float64 {
	return [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
		1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}[e]
}

// float reads a float64 field (or null, 0) as strconv.ParseFloat would.
func (s *scanner) float() (float64, bool) {
	if s.peek() == 'n' {
		return 0, s.literal("null")
	}
	lit, _, ok := s.number()
	if !ok {
		return 0, false
	}
	// Exact fast path (Clinger): a mantissa of at most 15 digits and a
	// decimal exponent within ±22 give a correctly rounded result with one
	// multiplication or division.
	i, neg := 0, false
	if lit[0] == '-' {
		neg, i = true, 1
	}
	var mant uint64
	nd, exp := 0, 0
	for ; i < len(lit) && lit[i] >= '0' && lit[i] <= '9'; i++ {
		if mant == 0 && lit[i] == '0' {
			continue
		}
		mant = mant*10 + uint64(lit[i]-'0')
		nd++
	}
	if i < len(lit) && lit[i] == '.' {
		for i++; i < len(lit) && lit[i] >= '0' && lit[i] <= '9'; i++ {
			exp--
			if mant == 0 && lit[i] == '0' {
				continue
			}
			mant = mant*10 + uint64(lit[i]-'0')
			nd++
		}
	}
	if nd <= 15 && i == len(lit) && exp >= -22 {
		f := float64(mant)
		if exp < 0 {
			f /= pow10(-exp)
		}
		if neg {
			f = -f
		}
		return f, true
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	return f, err == nil
}

// skip checks and skips one value of any type.
func (s *scanner) skip(depth int) bool {
	switch c := s.peek(); {
	case c == '"':
		_, _, _, ok := s.str()
		return ok
	case c == '{':
		if depth >= maxSkipDepth {
			return false
		}
		s.i++
		s.ws()
		if s.peek() == '}' {
			s.i++
			return true
		}
		for {
			if _, _, _, ok := s.str(); !ok {
				return false
			}
			s.ws()
			if s.peek() != ':' {
				return false
			}
			s.i++
			s.ws()
			if !s.skip(depth + 1) {
				return false
			}
			s.ws()
			switch s.peek() {
			case ',':
				s.i++
				s.ws()
			case '}':
				s.i++
				return true
			default:
				return false
			}
		}
	case c == '[':
		if depth >= maxSkipDepth {
			return false
		}
		s.i++
		s.ws()
		if s.peek() == ']' {
			s.i++
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			s.ws()
			switch s.peek() {
			case ',':
				s.i++
				s.ws()
			case ']':
				s.i++
				return true
			default:
				return false
			}
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	default:
		_, _, ok := s.number()
		return ok
	}
}
