package antminer

import (
	"math"
	"strconv"
	"strings"
)

// Fast path for the status reply.
//
// parseStatusFast walks bmminer's summary+stats reply once with a
// hand-written scanner (no reflection, no encoding/json) and reads only the
// fields parseStatusReference uses. It is an optimisation, not a second
// parser: it reports handled=false on anything it does not fully
// understand, and parseStatusReply then falls back to the reference path
// (cgminer.ParseJoined and encoding/json), which stays the definition of
// what a reply means. Whenever it reports handled=true its result equals
// the reference's; FuzzFastParseStatus checks that.
//
// It accepts strict JSON plus bmminer's missing comma between objects of
// an array ("}{", with or without white space), which cgminer.Sanitize
// repairs the same way. It refuses (falls back on):
//   - anything else cgminer.Sanitize would change: truncation, stray
//     commas, bare or quoted inf/nan (any string spelling one, anywhere),
//     an empty string followed by a key byte ("" x);
//   - a top-level key other than summary, stats and id; a sub-reply that
//     is not an array of objects; a missing SUMMARY or STATS section;
//   - an escaped or duplicate key where the reference looks keys up, a
//     non-ASCII key in a STATUS entry (encoding/json folds case there);
//   - an escaped string where a known field holds one;
//   - every reply the reference turns into an error (E/F or no STATUS, a
//     bad reading), so errors are always built by the reference path;
//   - nesting deeper than maxSkipDepth.

// maxSkipDepth bounds the nesting of skipped values.
const maxSkipDepth = 64

// fastSummary holds the raw values of the SUMMARY object's fields.
type fastSummary struct {
	ghs5s, ghsAv, elapsed, accepted, rejected []byte
}

// fastStats holds the raw values of a STATS object's fields.
type fastStats struct {
	ghs5s, minerCount, elapsed, ideal, rateUnit, freq, fanNum []byte
	chainRate, tempChip, temp2, fan                           [maxChains][]byte
}

type fastScanner struct {
	b []byte
	i int
	// lastArrayLen is the length of the array array last closed.
	lastArrayLen int
}

// parseStatusFast parses the summary+stats reply; ok is false when the
// reference path must decide.
func parseStatusFast(b []byte) (telemetry, bool) {
	s := fastScanner{b: b}
	var (
		sm           fastSummary
		st, cand     fastStats
		haveSm, have bool
		seenSum      bool
		seenStats    bool
		seenID       bool
	)
	s.ws()
	ok := s.object(func(k []byte) bool {
		switch string(k) {
		case "summary":
			if seenSum {
				return false
			}
			seenSum = true
			return s.subReply("SUMMARY", func(i int) bool {
				if i > 0 {
					return s.skipObject()
				}
				haveSm = true
				return s.object(func(k []byte) bool { return s.slot(summarySlot(&sm, k)) })
			})
		case "stats":
			if seenStats {
				return false
			}
			seenStats = true
			return s.subReply("STATS", func(int) bool {
				if have {
					return s.skipObject()
				}
				cand = fastStats{}
				if !s.object(func(k []byte) bool { return s.slot(statsSlot(&cand, k)) }) {
					return false
				}
				if cand.ghs5s != nil || cand.minerCount != nil {
					st, have = cand, true
				}
				return true
			})
		case "id":
			if seenID {
				return false
			}
			seenID = true
			return s.skip(0)
		}
		return false
	})
	if !ok || !seenSum || !seenStats || !haveSm || !have {
		return telemetry{}, false
	}
	for ; s.i < len(b); s.i++ {
		switch b[s.i] {
		case 0, ' ', '\t', '\r', '\n':
		default:
			return telemetry{}, false
		}
	}
	return fastTelemetry(&sm, &st)
}

func summarySlot(sm *fastSummary, k []byte) *[]byte {
	switch string(k) {
	case "GHS 5s":
		return &sm.ghs5s
	case "GHS av":
		return &sm.ghsAv
	case "Elapsed":
		return &sm.elapsed
	case "Accepted":
		return &sm.accepted
	case "Rejected":
		return &sm.rejected
	}
	return nil
}

func statsSlot(st *fastStats, k []byte) *[]byte {
	switch string(k) {
	case "GHS 5s":
		return &st.ghs5s
	case "miner_count":
		return &st.minerCount
	case "Elapsed":
		return &st.elapsed
	case "total_rateideal":
		return &st.ideal
	case "rate_unit":
		return &st.rateUnit
	case "frequency":
		return &st.freq
	case "fan_num":
		return &st.fanNum
	}
	for _, p := range []struct {
		prefix string
		arr    *[maxChains][]byte
	}{{"chain_rate", &st.chainRate}, {"temp_chip", &st.tempChip}, {"temp2_", &st.temp2}, {"fan", &st.fan}} {
		if len(k) > len(p.prefix) && string(k[:len(p.prefix)]) == p.prefix {
			if n, ok := chainIndex(k[len(p.prefix):]); ok {
				return &p.arr[n-1]
			}
			return nil
		}
	}
	return nil
}

// chainIndex reads the 1..maxChains suffix as strconv.Itoa writes it.
func chainIndex(d []byte) (int, bool) {
	if len(d) == 0 || len(d) > 2 || d[0] < '1' || d[0] > '9' {
		return 0, false
	}
	n := int(d[0] - '0')
	if len(d) == 2 {
		if d[1] < '0' || d[1] > '9' {
			return 0, false
		}
		n = n*10 + int(d[1]-'0')
	}
	return n, n <= maxChains
}

// slot scans a value into *dst (nil: skip it); a second value for the
// same slot is refused.
func (s *fastScanner) slot(dst *[]byte) bool {
	if dst == nil {
		return s.skip(0)
	}
	if *dst != nil {
		return false
	}
	start := s.i
	if !s.skip(0) {
		return false
	}
	*dst = s.b[start:s.i]
	return true
}

// subReply reads a sub-reply: an array of objects whose first element
// holds STATUS (checked) and the section, which is an array of objects
// passed to elem.
func (s *fastScanner) subReply(section string, elem func(i int) bool) bool {
	return s.array(func(i int) bool {
		if i > 0 {
			return s.skipObject()
		}
		var seenStatus, seenSection, seenID bool
		if !s.object(func(k []byte) bool {
			switch string(k) {
			case "STATUS":
				if seenStatus {
					return false
				}
				seenStatus = true
				return s.statusArray()
			case "id":
				if seenID {
					return false
				}
				seenID = true
				return s.skip(0)
			case section:
				if seenSection {
					return false
				}
				seenSection = true
				n := 0
				if !s.array(func(i int) bool { n++; return elem(i) }) {
					return false
				}
				return n > 0
			}
			return s.skip(0)
		}) {
			return false
		}
		return seenStatus && seenSection
	}) && s.lastArrayLen > 0
}

// statusArray checks a STATUS array: at least one entry, none E or F,
// every field of the type cgminer.StatusEntry takes.
func (s *fastScanner) statusArray() bool {
	n := 0
	if !s.array(func(int) bool {
		n++
		var seen [5]bool
		return s.object(func(k []byte) bool {
			f := -1
			for j, name := range [5]string{"status", "when", "code", "msg", "description"} {
				if asciiEqualFold(k, name) {
					f = j
				}
			}
			for _, c := range k {
				if c >= 0x80 {
					return false
				}
			}
			if f < 0 {
				return s.skip(0)
			}
			if seen[f] {
				return false
			}
			seen[f] = true
			if s.peek() == 'n' {
				return s.literal("null")
			}
			switch f {
			case 1, 2:
				lit, integer, ok := s.number()
				if !ok || !integer {
					return false
				}
				_, err := strconv.ParseInt(string(lit), 10, 64)
				return err == nil
			default:
				raw, esc, ok := s.str()
				if !ok || esc {
					return false
				}
				return f != 0 || (string(raw) != "E" && string(raw) != "F")
			}
		})
	}) {
		return false
	}
	return n > 0
}

func asciiEqualFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != b[i] {
			return false
		}
	}
	return true
}

func (s *fastScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *fastScanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *fastScanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// object reads an object, calling field after each key with the scanner
// at the value, which field must consume. Keys with escapes are refused.
func (s *fastScanner) object(field func(k []byte) bool) bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		if s.peek() != '"' {
			return false
		}
		k, esc, ok := s.str()
		if !ok || esc {
			return false
		}
		if s.peek() != ':' {
			return false
		}
		s.i++
		s.ws()
		if !field(k) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *fastScanner) skipObject() bool {
	if s.peek() != '{' {
		return false
	}
	return s.skip(0)
}

// array reads an array, calling elem with the scanner at each element.
// Objects may follow objects without a comma (bmminer's "}{").
func (s *fastScanner) array(elem func(i int) bool) bool {
	s.lastArrayLen = 0
	if s.peek() != '[' {
		return false
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		return true
	}
	for n := 0; ; n++ {
		s.ws()
		start := s.i
		if !elem(n) {
			return false
		}
		wasObject := s.b[start] == '{'
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.lastArrayLen = n + 1
			return true
		case '{':
			if !wasObject {
				return false
			}
		default:
			return false
		}
	}
}

// str reads a string and returns its raw content; esc reports escapes.
// Strings cgminer.Sanitize would rewrite are refused.
func (s *fastScanner) str() (raw []byte, esc, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, false
	}
	start := s.i + 1
	for i := start; i < len(s.b); i++ {
		c := s.b[i]
		switch {
		case c == '"':
			raw = s.b[start:i]
			s.i = i + 1
			if len(raw) == 0 && s.i < len(s.b) && isKeyByte(s.b[s.i]) {
				return nil, false, false
			}
			if !esc && nonFiniteWord(raw) {
				return nil, false, false
			}
			return raw, esc, true
		case c == '\\':
			esc = true
			i++
			if i >= len(s.b) {
				return nil, false, false
			}
			switch s.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s.b) {
					return nil, false, false
				}
				for _, h := range s.b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return nil, false, false
					}
				}
				i += 4
			default:
				return nil, false, false
			}
		case c < 0x20:
			return nil, false, false
		}
	}
	return nil, false, false
}

// isKeyByte mirrors cgminer's test for a doubled quote before a key.
func isKeyByte(c byte) bool {
	return c == '_' || c == ' ' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// nonFiniteWord reports a string cgminer.Sanitize may turn into null.
func nonFiniteWord(w []byte) bool {
	if len(w) < 3 || len(w) > 9 {
		return false
	}
	for _, nf := range [...]string{"-infinity", "infinity", "-inf", "+inf", "inf", "-nan", "nan"} {
		if len(w) == len(nf) && strings.EqualFold(string(w), nf) {
			return true
		}
	}
	return false
}

// number reads a JSON number literal; integer is false if it has a
// fraction or exponent.
func (s *fastScanner) number() (lit []byte, integer, ok bool) {
	start := s.i
	b := s.b
	i := s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, false, false
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		integer = false
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return nil, false, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return nil, false, false
		}
	}
	s.i = i
	return b[start:i], integer, true
}

// skip validates and consumes one value.
func (s *fastScanner) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	switch s.peek() {
	case '{':
		return s.object(func([]byte) bool { return s.skip(depth + 1) })
	case '[':
		return s.array(func(int) bool { return s.skip(depth + 1) })
	case '"':
		_, _, ok := s.str()
		return ok
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, _, ok := s.number()
		return ok
	}
}

// fastNum mirrors num: known is false when it cannot tell without
// encoding/json (an escaped string).
func fastNum(raw []byte) (f float64, ok, known bool) {
	switch {
	case len(raw) == 0:
		return 0, false, false
	case raw[0] == 'n' || raw[0] == 't' || raw[0] == 'f' || raw[0] == '{' || raw[0] == '[':
		return 0, false, true
	case raw[0] == '"':
		c := raw[1 : len(raw)-1]
		for _, x := range c {
			if x == '\\' {
				return 0, false, false
			}
		}
		t := strings.TrimSpace(string(c))
		if strings.IndexByte(t, ',') >= 0 {
			t = strings.ReplaceAll(t, ",", "")
		}
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false, true
		}
		return f, true, true
	default:
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return 0, false, true
		}
		return f, true, true
	}
}

// fastNonNeg mirrors nonNeg; ok is false where the reference fails or
// the fast path cannot tell.
func fastNonNeg(raw []byte) (float64, bool) {
	if raw == nil {
		return 0, true
	}
	f, ok, known := fastNum(raw)
	if !known || !ok || f < 0 {
		return 0, false
	}
	return f, true
}

// fastString reads a raw value the way json.Unmarshal into a string
// does for the reference's purposes: isStr for a string or null (""),
// known false for an escaped string.
func fastString(raw []byte) (s string, isStr, known bool) {
	switch raw[0] {
	case 'n':
		return "", true, true
	case '"':
		c := raw[1 : len(raw)-1]
		for _, x := range c {
			if x == '\\' {
				return "", false, false
			}
		}
		return string(c), true, true
	}
	return "", false, true
}

// fastTelemetry applies parseSummary, parseStats and parseStatusReply's
// rules to the raw fields.
func fastTelemetry(sm *fastSummary, o *fastStats) (telemetry, bool) {
	var t telemetry
	var ok bool
	for _, f := range []struct {
		raw []byte
		dst *float64
	}{{sm.ghs5s, &t.GHS5s}, {sm.ghsAv, &t.GHSAv}, {sm.elapsed, &t.Elapsed}} {
		if *f.dst, ok = fastNonNeg(f.raw); !ok {
			return telemetry{}, false
		}
	}
	acc, ok := fastNonNeg(sm.accepted)
	if !ok {
		return telemetry{}, false
	}
	rej, ok := fastNonNeg(sm.rejected)
	if !ok {
		return telemetry{}, false
	}
	t.Accepted, t.Rejected = uint64(min(acc, 1e18)), uint64(min(rej, 1e18))

	if t.IdealGHS, ok = fastNonNeg(o.ideal); !ok {
		return telemetry{}, false
	}
	if o.rateUnit != nil {
		u, _, known := fastString(o.rateUnit)
		if !known {
			return telemetry{}, false
		}
		switch strings.ToUpper(strings.TrimSuffix(u, "/s")) {
		case "", "GH":
		case "TH":
			t.IdealGHS *= 1000
		case "MH":
			t.IdealGHS /= 1000
		default:
			return telemetry{}, false
		}
	}
	if t.FreqMHz, ok = fastNonNeg(o.freq); !ok {
		return telemetry{}, false
	}
	count, ok := fastNonNeg(o.minerCount)
	if !ok {
		return telemetry{}, false
	}
	present, active := 0, 0
	for _, raw := range o.chainRate {
		if raw == nil {
			continue
		}
		s, isStr, known := fastString(raw)
		if !known {
			return telemetry{}, false
		}
		if isStr && strings.TrimSpace(s) == "" {
			continue
		}
		r, ok, known := fastNum(raw)
		if !known || !ok || r < 0 {
			return telemetry{}, false
		}
		present++
		if r > 0 {
			active++
		}
	}
	t.Boards = present
	if c := int(min(count, maxChains)); c > present {
		t.Boards = c
	}
	t.BoardsActive = min(active, t.Boards)
	t.TempMaxC = 0
	for i := range maxChains {
		for _, raw := range [2][]byte{o.tempChip[i], o.temp2[i]} {
			if raw == nil {
				continue
			}
			if !fastTemps(raw, &t.TempMaxC) {
				return telemetry{}, false
			}
		}
	}
	fans := 0
	if f, ok, known := fastNum(o.fanNum); o.fanNum != nil && !known {
		return telemetry{}, false
	} else if ok && f > 0 {
		fans = int(min(f, maxChains))
	}
	for i := 1; i <= fans; i++ {
		f, ok, known := fastNum(o.fan[i-1])
		if o.fan[i-1] != nil && !known {
			return telemetry{}, false
		}
		if !ok || f < 0 {
			f = 0
		}
		t.FanRPM = append(t.FanRPM, int(min(f, 1e6)))
	}
	if t.Elapsed == 0 && o.elapsed != nil {
		f, ok, known := fastNum(o.elapsed)
		if !known {
			return telemetry{}, false
		}
		if ok {
			t.Elapsed = max(f, 0)
		}
	}
	return t, true
}

// fastTemps mirrors tempValues, folding the readings into *maxC.
func fastTemps(raw []byte, maxC *float64) bool {
	f, ok, known := fastNum(raw)
	if !known {
		return false
	}
	if ok {
		*maxC = max(*maxC, f)
		return true
	}
	s, isStr, known := fastString(raw)
	if !known {
		return false
	}
	if !isStr {
		return true
	}
	for part := range strings.SplitSeq(s, "-") {
		f, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err == nil && f > 0 && f < 200 {
			*maxC = max(*maxC, f)
		}
	}
	return true
}
