// Package jsonscan is a strict, allocation-light JSON scanner for the fast
// paths of miner drivers: a cursor that reads objects, arrays, strings and
// numbers in one pass, skipping what a caller does not want, and reports
// "not handled" (ok=false) on anything it does not fully understand, so the
// caller can fall back to encoding/json. It builds no values of its own and
// knows no reply format; each driver walks its replies with it.
package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxSkipDepth bounds the nesting of skipped values; deeper input is not
// handled.
const maxSkipDepth = 64

// Scanner is a cursor over one reply. Its methods report ok=false on
// anything a fast path does not handle, so the caller can fall back to a
// complete decoder.
type Scanner struct {
	B   []byte // the reply
	I   int    // the cursor: index of the next byte to read
	buf [64]byte
}

func (s *Scanner) WS() {
	for s.I < len(s.B) {
		switch s.B[s.I] {
		case ' ', '\n', '\r', '\t':
			s.I++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end.
func (s *Scanner) Peek() byte {
	if s.I < len(s.B) {
		return s.B[s.I]
	}
	return 0
}

// literal consumes lit (true, false or null).
func (s *Scanner) Literal(lit string) bool {
	if len(s.B)-s.I < len(lit) || string(s.B[s.I:s.I+len(lit)]) != lit {
		return false
	}
	s.I += len(lit)
	return true
}

// object reads an object (or null) whose known keys are names, calling
// field(k) with the cursor on the value of names[k]; other keys' values
// are skipped. It refuses duplicated known keys, keys that equal a known
// one only case-insensitively and non-ASCII keys (encoding/json matches
// names case-insensitively, with Unicode folding).
func (s *Scanner) Object(names []string, field func(k int) bool) bool {
	return s.ObjectX(names, field, true)
}

// ObjectX is Object; with skipUnknown false, an unknown key is refused.
func (s *Scanner) ObjectX(names []string, field func(k int) bool, skipUnknown bool) bool {
	var seen uint32
	more, ok := s.Open('{', '}')
	for more {
		key, kok := s.Key()
		if !kok || !s.Colon() {
			return false
		}
		k := -1
		for j, n := range names {
			if string(key) == n {
				k = j
				break
			}
		}
		switch {
		case k >= 0:
			if seen&(1<<k) != 0 || !field(k) {
				return false
			}
			seen |= 1 << k
		case !skipUnknown:
			return false
		default:
			for _, n := range names {
				if asciiEqualFold(key, n) {
					return false
				}
			}
			if !s.Skip(0) {
				return false
			}
		}
		more, ok = s.Next('}')
	}
	return ok
}

// Open reads the start of an object or array, or null: more reports
// whether members or elements follow; ok is false for anything else.
// With Key, Colon and Next it walks an object whose keys are not known
// in advance:
//
//	more, ok := s.Open('{', '}')
//	for more {
//		key, kok := s.Key()
//		if !kok || !s.Colon() || !readValue(key) {
//			return false
//		}
//		more, ok = s.Next('}')
//	}
//	return ok
func (s *Scanner) Open(opening, closing byte) (more, ok bool) {
	switch s.Peek() {
	case 'n':
		return false, s.Literal("null")
	case opening:
		s.I++
		s.WS()
		if s.Peek() == closing {
			s.I++
			return false, true
		}
		return true, true
	}
	return false, false
}

// Colon reads the ':' after a key and the white space around it.
func (s *Scanner) Colon() bool {
	s.WS()
	if s.Peek() != ':' {
		return false
	}
	s.I++
	s.WS()
	return true
}

// Next reads what follows a member or element: white space, then ','
// (more follows) or the closing byte (the object or array ends, ok).
// Anything else is not handled (more and ok false).
func (s *Scanner) Next(closing byte) (more, ok bool) {
	s.WS()
	switch s.Peek() {
	case ',':
		s.I++
		s.WS()
		return true, true
	case closing:
		s.I++
		return false, true
	}
	return false, false
}

// key reads an object key in an object with known fields, unescaped.
func (s *Scanner) Key() ([]byte, bool) {
	raw, esc, ascii, ok := s.Str()
	if !ok || !ascii {
		return nil, false
	}
	if !esc {
		return raw, true
	}
	v, ok := s.Unescape(raw)
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
func (s *Scanner) Array(elem func(i int) bool) bool {
	more, ok := s.Open('[', ']')
	for i := 0; more; i++ {
		if !elem(i) {
			return false
		}
		more, ok = s.Next(']')
	}
	return ok
}

// str reads a string and returns its raw contents (between the quotes),
// whether it holds escapes and whether it is all ASCII. Escapes are
// checked for syntax; control characters are refused.
func (s *Scanner) Str() (raw []byte, esc, ascii, ok bool) {
	if s.Peek() != '"' {
		return nil, false, false, false
	}
	s.I++
	start := s.I
	ascii = true
	for s.I < len(s.B) {
		// Skip plain bytes eight at a time (SWAR) up to the first '"',
		// '\\', control character or non-ASCII byte. Borrows make the
		// test inexact only above the lowest flagged byte.
		for s.I+8 <= len(s.B) {
			x := binary.LittleEndian.Uint64(s.B[s.I:])
			q, bs := x^(ones*'"'), x^(ones*'\\')
			if m := ((x-ones*0x20)&^x | (q-ones)&^q | (bs-ones)&^bs | x) & highs; m != 0 {
				s.I += bits.TrailingZeros64(m) / 8
				break
			}
			s.I += 8
		}
		if s.I >= len(s.B) {
			break
		}
		c := s.B[s.I]
		switch {
		case c == '"':
			raw = s.B[start:s.I]
			s.I++
			return raw, esc, ascii, true
		case c < 0x20:
			return nil, false, false, false
		case c >= utf8.RuneSelf:
			ascii = false
			s.I++
		case c == '\\':
			esc = true
			if s.I+1 >= len(s.B) {
				return nil, false, false, false
			}
			switch s.B[s.I+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.I += 2
			case 'u':
				if _, ok := hex4(s.B[s.I+2:]); !ok {
					return nil, false, false, false
				}
				s.I += 6
			default:
				return nil, false, false, false
			}
		default:
			s.I++
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
func (s *Scanner) Unescape(raw []byte) ([]byte, bool) {
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
func (s *Scanner) Text() ([]byte, bool) {
	if s.Peek() == 'n' {
		return nil, s.Literal("null")
	}
	raw, esc, ascii, ok := s.Str()
	if !ok || (!ascii && !utf8.Valid(raw)) {
		return nil, false
	}
	if esc {
		return s.Unescape(raw)
	}
	return raw, true
}

// skipString checks a string-typed field (string or null).
func (s *Scanner) SkipString() bool {
	if s.Peek() == 'n' {
		return s.Literal("null")
	}
	_, _, _, ok := s.Str()
	return ok
}

// boolean reads a bool or *bool field (or null, false/nil).
func (s *Scanner) Boolean() (bool, bool) {
	switch s.Peek() {
	case 't':
		return true, s.Literal("true")
	case 'f':
		return false, s.Literal("false")
	case 'n':
		return false, s.Literal("null")
	}
	return false, false
}

// number reads a JSON number's literal and whether it has no fraction or
// exponent.
func (s *Scanner) Number() (lit []byte, integer, ok bool) {
	start := s.I
	if s.Peek() == '-' {
		s.I++
	}
	switch c := s.Peek(); {
	case c == '0':
		s.I++
	case '1' <= c && c <= '9':
		s.Digits()
	default:
		return nil, false, false
	}
	integer = true
	if s.Peek() == '.' {
		integer = false
		s.I++
		if !s.Digits() {
			return nil, false, false
		}
	}
	if c := s.Peek(); c == 'e' || c == 'E' {
		integer = false
		s.I++
		if c := s.Peek(); c == '+' || c == '-' {
			s.I++
		}
		if !s.Digits() {
			return nil, false, false
		}
	}
	return s.B[start:s.I], integer, true
}

// digits consumes [0-9]* and reports whether there was one.
func (s *Scanner) Digits() bool {
	start := s.I
	for s.I < len(s.B) && '0' <= s.B[s.I] && s.B[s.I] <= '9' {
		s.I++
	}
	return s.I > start
}

// integer checks an int or int64 field (number without fraction or
// exponent that fits, or null).
func (s *Scanner) Integer(is64 bool) bool {
	if s.Peek() == 'n' {
		return s.Literal("null")
	}
	lit, integer, ok := s.Number()
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
func (s *Scanner) Float() (float64, bool) {
	if s.Peek() == 'n' {
		return 0, s.Literal("null")
	}
	lit, _, ok := s.Number()
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
func (s *Scanner) Skip(depth int) bool {
	switch c := s.Peek(); {
	case c == '"':
		_, _, _, ok := s.Str()
		return ok
	case c == '{':
		if depth >= maxSkipDepth {
			return false
		}
		s.I++
		s.WS()
		if s.Peek() == '}' {
			s.I++
			return true
		}
		for {
			if _, _, _, ok := s.Str(); !ok || !s.Colon() || !s.Skip(depth+1) {
				return false
			}
			if more, ok := s.Next('}'); !more {
				return ok
			}
		}
	case c == '[':
		if depth >= maxSkipDepth {
			return false
		}
		s.I++
		s.WS()
		if s.Peek() == ']' {
			s.I++
			return true
		}
		for {
			if !s.Skip(depth + 1) {
				return false
			}
			if more, ok := s.Next(']'); !more {
				return ok
			}
		}
	case c == 't':
		return s.Literal("true")
	case c == 'f':
		return s.Literal("false")
	case c == 'n':
		return s.Literal("null")
	default:
		_, _, ok := s.Number()
		return ok
	}
}
