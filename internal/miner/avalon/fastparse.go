package avalon

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/gridminer/gridminer/internal/miner/jsonscan"
)

// Fast path for the status reply.
//
// parseReadingFast walks the reply to summary+estats once with the
// shared scanner of internal/miner/jsonscan (no reflection, no encoding/json)
// and reads only what parseReadingReference uses; parseEstatsFast reads
// the "MM ID" string without building ParseEstats' Raw map. They are
// optimisations, not second parsers: parseReadingFast reports
// handled=false on anything it does not fully understand and parseReading
// then falls back to the reference path, which stays the definition of
// what a reply means. Whenever it reports handled=true its reading equals
// the reference's (Estats.Raw aside, which the reading never uses);
// FuzzFastParseReading and FuzzParseEstatsFast check that.
//
// It handles strict JSON (RFC 8259) as encoding/json accepts it: any key
// order, unknown keys in the sub-replies and STATS entries, numbers in any
// JSON form, escaped strings, whitespace, trailing NULs and whitespace,
// null where encoding/json accepts it, and further elements of the
// sub-reply, SUMMARY and STATS arrays.
//
// It refuses (falls back on):
//   - anything that is not valid JSON, or any reply containing "}{" (the
//     reference repairs such replies before decoding);
//   - a top-level key other than summary, estats and id (the reference
//     decodes every sub-reply), and a sub-reply that is not an array;
//   - a known key given twice in one object, a key that matches a known
//     one only case-insensitively, or a non-ASCII key in an object with
//     known fields;
//   - a known field of an unexpected type or out of range, and an "MM ID"
//     string that is not valid UTF-8 or holds a lone surrogate escape;
//   - every reply the reference turns into an error (a top-level STATUS,
//     an E/F or missing status, a missing or empty section, no "MM ID"
//     string), so errors are always built by the reference path.

// fastReading is what the scanner gathers from the reply.
type fastReading struct {
	subN     [2]int  // elements of the summary and estats arrays
	statusN  [2]int  // STATUS entries of element 0
	failed   [2]bool // an E/F entry in element 0's STATUS
	sectionN [2]int  // entries of element 0's SUMMARY / STATS (-1: absent)
	when     int64   // When of estats' first STATUS entry

	sum     [numSumFields]float64 // SUMMARY[0]
	sumHas  [numSumFields]bool
	elapsed int64 // first valid non-zero STATS Elapsed
	mm      []mmEntry
}

// mmEntry is one "MM ID<n>" string of STATS.
type mmEntry struct {
	key, val string
}

const (
	subSum = iota
	subEst
)

// Fields of summaryWire, in names order.
const (
	sumElapsed = iota
	sumMHSav
	sumMHS30s
	sumMHS5s
	sumMHS1m
	sumAccepted
	sumRejected
	numSumFields
)

var sumNames = [numSumFields]string{"Elapsed", "MHS av", "MHS 30s", "MHS 5s", "MHS 1m", "Accepted", "Rejected"}

// parseReadingFast is the fast path of parseReading; see the comment
// above. ok is false when the reply must go to the reference path.
func parseReadingFast(b []byte) (rd reading, ok bool) {
	if bytes.Contains(b, []byte("}{")) {
		return reading{}, false
	}
	r := fastReading{sectionN: [2]int{-1, -1}}
	s := scanner{jsonscan.Scanner{B: b}}
	s.WS()
	if s.Peek() != '{' || !s.top(&r) {
		return reading{}, false
	}
	for ; s.I < len(s.B); s.I++ {
		switch s.B[s.I] {
		case 0, ' ', '\n', '\r', '\t':
		default:
			return reading{}, false
		}
	}
	for k := range 2 {
		if r.subN[k] == 0 || r.statusN[k] == 0 || r.failed[k] || r.sectionN[k] <= 0 {
			return reading{}, false
		}
	}
	if len(r.mm) == 0 {
		return reading{}, false
	}
	// The reference keeps the last string per key and joins them in key
	// order.
	mm := r.mm[0].val
	if len(r.mm) > 1 {
		slices.SortStableFunc(r.mm, func(a, b mmEntry) int { return strings.Compare(a.key, b.key) })
		parts := make([]string, 0, len(r.mm))
		for i, e := range r.mm {
			if i+1 < len(r.mm) && r.mm[i+1].key == e.key {
				continue // a later STATS entry overrides
			}
			parts = append(parts, e.val)
		}
		mm = strings.Join(parts, " ")
	}
	rd.when = r.when
	rd.e = parseEstatsFast(mm)
	rd.elapsed = r.elapsed
	get := func(k int) (float64, bool) {
		v := r.sum[k]
		if !r.sumHas[k] || v < 0 { // the scanner's numbers are finite
			return 0, false
		}
		return v, true
	}
	for _, k := range [...]int{sumMHS30s, sumMHS5s, sumMHS1m} {
		if v, ok := get(k); ok {
			rd.mhs30s, rd.hasMHS = v, true
			break
		}
	}
	rd.mhsAv, _ = get(sumMHSav)
	if v, ok := get(sumElapsed); ok && v < 1e12 {
		rd.elapsed = int64(v)
	}
	if v, ok := get(sumAccepted); ok && v < 1e19 {
		rd.accepted = uint64(v)
	}
	if v, ok := get(sumRejected); ok && v < 1e19 {
		rd.rejected = uint64(v)
	}
	return rd, true
}

// top reads the top-level object {"summary":[..],"estats":[..],"id":1}.
func (s *scanner) top(r *fastReading) bool {
	names := [...]string{"summary", "estats", "id", "STATUS"}
	return s.ObjectX(names[:], func(k int) bool {
		switch k {
		case 2:
			return s.Skip(0)
		case 3:
			return false // the whole request was refused
		}
		if s.Peek() != '[' {
			return false
		}
		return s.Array(func(i int) bool {
			r.subN[k]++
			return s.subReply(r, k, i == 0)
		})
	}, false)
}

// subReply reads one element of a sub-reply array; rec says whether it is
// element 0, the one the reference reads. Other elements need only be
// objects (or null).
func (s *scanner) subReply(r *fastReading, sub int, rec bool) bool {
	if !rec {
		if s.Peek() == 'n' {
			return s.Literal("null")
		}
		if s.Peek() != '{' {
			return false
		}
		return s.Skip(0)
	}
	if s.Peek() != '{' {
		return false // null: no STATUS, an error
	}
	section := [2]string{"SUMMARY", "STATS"}[sub]
	names := [...]string{"STATUS", section}
	return s.Object(names[:], func(k int) bool {
		if k == 0 {
			n, failed, when, ok := s.statusArray()
			r.statusN[sub], r.failed[sub] = n, failed
			if sub == subEst {
				r.when = when
			}
			return ok
		}
		if s.Peek() != '[' {
			return false // null or not an array: missing or empty
		}
		r.sectionN[sub] = 0
		return s.Array(func(i int) bool {
			r.sectionN[sub]++
			if sub == subSum {
				return s.summaryItem(r, i == 0)
			}
			return s.statsItem(r)
		})
	})
}

// statusArray reads a STATUS section: its entry count, whether one of
// them is E or F, and the first entry's When. Code, Msg and Description
// are type-checked.
func (s *scanner) statusArray() (n int, failed bool, when int64, ok bool) {
	if s.Peek() != '[' {
		return 0, false, 0, false
	}
	ok = s.Array(func(int) bool {
		n++
		names := [...]string{"STATUS", "When", "Code", "Msg", "Description"}
		return s.Object(names[:], func(k int) bool {
			switch k {
			case 0:
				v, ok := s.Text()
				failed = failed || string(v) == "E" || string(v) == "F"
				return ok
			case 1:
				if n > 1 {
					return s.Integer(true)
				}
				if s.Peek() == 'n' {
					return s.Literal("null")
				}
				lit, integer, ok := s.Number()
				if !ok || !integer {
					return false
				}
				v, err := strconv.ParseInt(string(lit), 10, 64)
				when = v
				return err == nil
			case 2:
				return s.Integer(false)
			default:
				return s.SkipString()
			}
		})
	})
	return n, failed, when, ok
}

// summaryItem reads one SUMMARY entry (*float64 fields); rec keeps it.
func (s *scanner) summaryItem(r *fastReading, rec bool) bool {
	return s.Object(sumNames[:], func(k int) bool {
		if s.Peek() == 'n' {
			return s.Literal("null") // a nil pointer
		}
		v, ok := s.Float()
		if rec {
			r.sum[k], r.sumHas[k] = v, true
		}
		return ok
	})
}

// statsItem reads one STATS entry, a map: keys are matched exactly (no
// case folding), "MM ID*" strings and Elapsed are kept, the rest skipped.
func (s *scanner) statsItem(r *fastReading) bool {
	first := len(r.mm)
	seenElapsed := false
	more, ok := s.Open('{', '}')
	for more {
		key, kok := s.Key()
		if !kok || !s.Colon() || !s.statsMember(r, key, first, &seenElapsed) {
			return false
		}
		more, ok = s.Next('}')
	}
	return ok
}

// statsMember reads the value of one STATS key.
func (s *scanner) statsMember(r *fastReading, key []byte, first int, seenElapsed *bool) bool {
	switch {
	case bytes.HasPrefix(key, []byte("MM ID")):
		for _, e := range r.mm[first:] {
			if e.key == string(key) {
				return false // a duplicated key: the map keeps the last
			}
		}
		k := string(key)
		switch s.Peek() {
		case '"', 'n':
			v, ok := s.Text()
			if !ok {
				return false
			}
			r.mm = append(r.mm, mmEntry{key: k, val: string(v)})
			return true
		default:
			return s.Skip(0) // not a string: the reference skips it
		}
	case string(key) == "Elapsed":
		if *seenElapsed {
			return false
		}
		*seenElapsed = true
		switch c := s.Peek(); {
		case c == 'n':
			return s.Literal("null")
		case c == '-' || ('0' <= c && c <= '9'):
			f, ok := s.Float()
			if !ok {
				return false
			}
			if r.elapsed == 0 && f >= 0 && f < 1e12 {
				r.elapsed = int64(f)
			}
			return true
		default:
			return s.Skip(0) // not a number: the reference skips it
		}
	default:
		return s.Skip(0)
	}
}

// estatsKey identifies the MM string keys parseEstatsFast reads.
type estatsKey uint8

const (
	kVer estatsKey = iota
	kSystemStatu
	kSoftOff
	kPS
	kWallPower
	kMPO
	kWorkMode
	kGHSspd
	kGHSmm
	kGHSavg
	kTMax
	kTAvg
	kTemp
	kElapsed
	kFanR
	kMGHS
	numEstatsKeys
)

// maxFastFans is how many FanN keys parseEstatsFast tracks; more go to
// ParseEstats.
const maxFastFans = 16

func estatsKeyOf(key string) (estatsKey, bool) {
	switch key {
	case "Ver":
		return kVer, true
	case "SYSTEMSTATU":
		return kSystemStatu, true
	case "SoftOFF":
		return kSoftOff, true
	case "PS":
		return kPS, true
	case "WALLPOWER":
		return kWallPower, true
	case "MPO":
		return kMPO, true
	case "WORKMODE":
		return kWorkMode, true
	case "GHSspd":
		return kGHSspd, true
	case "GHSmm":
		return kGHSmm, true
	case "GHSavg":
		return kGHSavg, true
	case "TMax":
		return kTMax, true
	case "TAvg":
		return kTAvg, true
	case "Temp":
		return kTemp, true
	case "Elapsed":
		return kElapsed, true
	case "FanR":
		return kFanR, true
	case "MGHS":
		return kMGHS, true
	}
	return 0, false
}

// fanIndex returns n for a key "Fan<n>" with n written as strconv.Itoa
// does (no sign, no leading zero), n >= 1.
func fanIndex(key string) (int, bool) {
	d, ok := strings.CutPrefix(key, "Fan")
	if !ok || d == "" || d[0] == '0' || len(d) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
		n = n*10 + int(d[i]-'0')
	}
	return n, true
}

// parseEstatsFast is ParseEstats without the Raw map: the same fields,
// Raw nil. It scans the string once, keeping the first value of each key
// it reads.
func parseEstatsFast(s string) Estats {
	var (
		vals    [numEstatsKeys]string
		has     [numEstatsKeys]bool
		fans    [maxFastFans + 1]string
		fanHas  [maxFastFans + 1]bool
		fanMore bool
	)
	all := s
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t\r\n")
		open := strings.IndexByte(s, '[')
		if open < 0 {
			break
		}
		key := s[:open]
		if sp := strings.LastIndexAny(key, " \t"); sp >= 0 {
			key = key[sp+1:]
		}
		end := strings.IndexByte(s[open+1:], ']')
		if end < 0 {
			break
		}
		val := s[open+1 : open+1+end]
		s = s[open+1+end+1:]
		if k, ok := estatsKeyOf(key); ok {
			if !has[k] {
				vals[k], has[k] = val, true
			}
		} else if n, ok := fanIndex(key); ok {
			if n > maxFastFans {
				fanMore = true
			} else if !fanHas[n] {
				fans[n], fanHas[n] = val, true
			}
		}
	}
	var e Estats
	if has[kVer] {
		e.Ver = strings.Clone(vals[kVer])
	}
	if has[kSystemStatu] {
		for rest, more := vals[kSystemStatu], true; more; {
			var part string
			part, rest, more = strings.Cut(rest, ",")
			k, val, _ := strings.Cut(part, ":")
			switch strings.TrimSpace(k) {
			case "Work":
				e.WorkState = strings.Clone(strings.TrimSpace(val))
			case "Hash Board":
				e.HashBoards, _ = strconv.Atoi(strings.TrimSpace(val))
			}
		}
	}
	if has[kSoftOff] {
		if n, err := strconv.Atoi(strings.TrimSpace(vals[kSoftOff])); err == nil {
			e.SoftOff, e.HasSoftOff = n != 0, true
		}
	}
	if has[kPS] {
		for w := range strings.FieldsSeq(vals[kPS]) {
			n, err := strconv.ParseInt(w, 10, 64)
			if err != nil {
				e.PS = nil
				break
			}
			if e.PS == nil {
				e.PS = make([]int64, 0, 6)
			}
			e.PS = append(e.PS, n)
		}
		if len(e.PS) >= 5 && e.PS[4] >= 0 {
			e.BoardWatts, e.HasPS = float64(e.PS[4]), true
		}
	}
	numOf := func(k estatsKey) (float64, bool) {
		if !has[k] {
			return 0, false
		}
		return numVal(vals[k])
	}
	e.WallPower, e.HasWallPower = numOf(kWallPower)
	e.MPO, _ = numOf(kMPO)
	if v, ok := numOf(kWorkMode); ok && v < 1e6 {
		e.WorkMode, e.HasMode = int(v), true
	}
	e.GHSspd, _ = numOf(kGHSspd)
	e.GHSmm, _ = numOf(kGHSmm)
	e.GHSavg, _ = numOf(kGHSavg)
	e.TMax, _ = numOf(kTMax)
	e.TAvg, _ = numOf(kTAvg)
	e.Temp, _ = numOf(kTemp)
	if v, ok := numOf(kElapsed); ok && v < 1e12 {
		e.Elapsed = int64(v)
	}
	if has[kFanR] {
		if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(vals[kFanR]), "%")); err == nil && n >= 0 {
			e.FanPct = n
		}
	}
	for n := 1; ; n++ {
		if n > maxFastFans {
			if fanMore {
				return ParseEstats(all) // more fans than tracked: rare
			}
			break
		}
		if !fanHas[n] {
			break
		}
		v, ok := numVal(fans[n])
		if !ok || v > 1e6 {
			break
		}
		if e.Fans == nil {
			e.Fans = make([]int, 0, 4)
		}
		e.Fans = append(e.Fans, int(v))
	}
	if has[kMGHS] {
		for w := range strings.FieldsSeq(vals[kMGHS]) {
			x, err := strconv.ParseFloat(w, 64)
			if err != nil || !finite(x) || x < 0 {
				e.MGHS = nil
				break
			}
			if e.MGHS == nil {
				e.MGHS = make([]float64, 0, 4)
			}
			e.MGHS = append(e.MGHS, x)
		}
	}
	return e
}

// scanner walks a reply with the shared JSON scanner.
type scanner struct{ jsonscan.Scanner }
