package stratum

// ParseSubmitLine is a fast path for the hot message, a mining.submit
// request line:
//
//	{"id":<int|"str">,"method":"mining.submit","params":["worker","job","en2","ntime","nonce"(,"vbits"|null)]}
//
// with the keys in any order and JSON whitespace anywhere between tokens.
// It reports ok only when ParseMessage(line) would give a request with that
// method and id and ParseSubmit its params would give the same Submit; for
// anything else (escapes or non-ASCII in strings, other keys, non-integer
// ids, a malformed share, …) it reports !ok and the caller uses the
// general path, which gives the definitive answer or error.
//
// It does not allocate in the steady state: id aliases line, s.Extranonce2
// reuses its backing array, and s.Worker and s.JobID are kept when the line
// repeats them. The caller must therefore not retain s.Extranonce2 across
// calls. On !ok, s is left in an unspecified state.
func ParseSubmitLine(line []byte, s *Submit) (id []byte, ok bool) {
	p := fastParser{b: line}
	p.ws()
	if !p.eat('{') {
		return nil, false
	}
	var seen uint8 // 1: id, 2: method, 4: params
	for {
		p.ws()
		key, ok := p.str()
		if !ok {
			return nil, false
		}
		p.ws()
		if !p.eat(':') {
			return nil, false
		}
		p.ws()
		var bit uint8
		switch string(key) {
		case "id":
			bit = 1
			if id, ok = p.id(); !ok {
				return nil, false
			}
		case "method":
			bit = 2
			if m, ok := p.str(); !ok || string(m) != MethodSubmit {
				return nil, false
			}
		case "params":
			bit = 4
			if !p.submitParams(s) {
				return nil, false
			}
		default:
			// Other keys, and any spelling encoding/json would fold
			// onto a field ("ID", "Params", …), go the general way.
			return nil, false
		}
		if seen&bit != 0 {
			return nil, false // duplicate key: encoding/json keeps the last
		}
		seen |= bit
		p.ws()
		if p.eat(',') {
			continue
		}
		if !p.eat('}') {
			return nil, false
		}
		break
	}
	p.ws()
	if p.i != len(p.b) || seen != 7 {
		return nil, false
	}
	return id, true
}

type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes and returns its
// contents (aliasing the line).
func (p *fastParser) str() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// id reads a string or an integer (JSON grammar, at most 20 digits) and
// returns its raw bytes, quotes included, as encoding/json's RawMessage.
func (p *fastParser) id() ([]byte, bool) {
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '"' {
		if _, ok := p.str(); !ok {
			return nil, false
		}
		return p.b[start:p.i], true
	}
	p.eat('-')
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	n := p.i - digits
	if n == 0 || n > 20 || (n > 1 && p.b[digits] == '0') {
		return nil, false
	}
	// A fraction or exponent would continue the number: leave it to
	// the general path.
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return nil, false
	}
	return p.b[start:p.i], true
}

// submitParams reads the params array into s.
func (p *fastParser) submitParams(s *Submit) bool {
	if !p.eat('[') {
		return false
	}
	var f [6][]byte
	n := 0
	null6 := false
	for {
		p.ws()
		if n == 5 && p.i+4 <= len(p.b) && string(p.b[p.i:p.i+4]) == "null" {
			p.i += 4
			null6 = true
		} else {
			v, ok := p.str()
			if !ok {
				return false
			}
			f[n] = v
		}
		n++
		p.ws()
		if p.eat(']') {
			break
		}
		if n == 6 || !p.eat(',') {
			return false
		}
	}
	if n < 5 {
		return false
	}
	var ok bool
	if s.NTime, ok = hexU32Fast(f[3]); !ok {
		return false
	}
	if s.Nonce, ok = hexU32Fast(f[4]); !ok {
		return false
	}
	s.VersionBits, s.HasVersionBits = 0, false
	if n == 6 && !null6 {
		if s.VersionBits, ok = hexU32Fast(f[5]); !ok {
			return false
		}
		s.HasVersionBits = true
	}
	en2 := f[2]
	if len(en2)%2 != 0 {
		return false
	}
	b := s.Extranonce2[:0]
	for i := 0; i < len(en2); i += 2 {
		hi, ok1 := unhex(en2[i])
		lo, ok2 := unhex(en2[i+1])
		if !ok1 || !ok2 {
			return false
		}
		b = append(b, hi<<4|lo)
	}
	if b == nil {
		b = []byte{} // as hex.DecodeString("")
	}
	s.Extranonce2 = b
	if s.Worker != string(f[0]) { // the comparison does not allocate
		s.Worker = string(f[0])
	}
	if s.JobID != string(f[1]) {
		s.JobID = string(f[1])
	}
	return true
}

// hexU32Fast parses 1-8 hex digits, as hexU32.
func hexU32Fast(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	var n uint32
	for _, c := range b {
		d, ok := unhex(c)
		if !ok {
			return 0, false
		}
		n = n<<4 | uint32(d)
	}
	return n, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
