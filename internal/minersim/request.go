package minersim

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// request is one parsed API request.
type request struct {
	json    bool
	command string
	param   string
}

// Request errors, answered with cgminer's codes.
var (
	errInvalidJSON = errors.New("invalid json")
	errMissingCmd  = errors.New("missing command")
)

// parseRequest reads a CGMiner request: JSON when it starts with '{'
// (after blanks), else "command" or "command|parameter". A trailing NUL
// and line ending are ignored.
func parseRequest(b []byte) (request, error) {
	b = bytes.TrimRight(b, "\x00\r\n\t ")
	b = bytes.TrimLeft(b, "\r\n\t ")
	if len(b) > 0 && b[0] == '{' {
		return parseJSONRequest(b)
	}
	cmd, param, _ := bytes.Cut(b, []byte{'|'})
	if len(cmd) == 0 {
		return request{}, errMissingCmd
	}
	return request{command: string(cmd), param: string(param)}, nil
}

// parseJSONRequest scans one flat JSON object. "command" must be a string;
// "parameter" may be a string, number or boolean; other keys are ignored.
func parseJSONRequest(b []byte) (request, error) {
	req := request{json: true}
	s := jsonScanner{b: b}
	if !s.lit('{') {
		return req, errInvalidJSON
	}
	gotCmd := false
	if s.lit('}') {
		return req, errMissingCmd
	}
	for {
		k, ok := s.str()
		if !ok || !s.lit(':') {
			return req, errInvalidJSON
		}
		v, isStr, ok := s.value()
		if !ok {
			return req, errInvalidJSON
		}
		switch k {
		case "command":
			if !isStr {
				return req, errMissingCmd
			}
			req.command, gotCmd = v, true
		case "parameter":
			req.param = v
		}
		if s.lit(',') {
			continue
		}
		if !s.lit('}') {
			return req, errInvalidJSON
		}
		break
	}
	s.ws()
	if s.i != len(s.b) {
		return req, errInvalidJSON
	}
	if !gotCmd || req.command == "" {
		return req, errMissingCmd
	}
	return req, nil
}

type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *jsonScanner) lit(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// value reads a string, number, true, false or null, returning its text.
func (s *jsonScanner) value() (v string, isStr, ok bool) {
	s.ws()
	if s.i >= len(s.b) {
		return "", false, false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		v, ok = s.str()
		return v, true, ok
	case c == '-' || (c >= '0' && c <= '9'):
		j := s.i
		for s.i < len(s.b) && strings.IndexByte("+-.eE0123456789", s.b[s.i]) >= 0 {
			s.i++
		}
		if _, err := strconv.ParseFloat(string(s.b[j:s.i]), 64); err != nil {
			return "", false, false
		}
		return string(s.b[j:s.i]), false, true
	}
	for _, w := range [...]string{"true", "false", "null"} {
		if bytes.HasPrefix(s.b[s.i:], []byte(w)) {
			s.i += len(w)
			if w == "null" {
				return "", false, true
			}
			return w, false, true
		}
	}
	return "", false, false
}

// str reads a JSON string with escapes.
func (s *jsonScanner) str() (string, bool) {
	if !s.lit('"') {
		return "", false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '"' {
			out := string(s.b[start:s.i])
			s.i++
			return out, true
		}
		if c == '\\' || c < 0x20 {
			break
		}
		s.i++
	}
	// slow path: escapes
	var out []byte
	out = append(out, s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			return "", false
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if s.i+4 > len(s.b) {
				return "", false
			}
			n, err := strconv.ParseUint(string(s.b[s.i:s.i+4]), 16, 16)
			if err != nil {
				return "", false
			}
			s.i += 4
			out = utf8.AppendRune(out, rune(n))
		default:
			return "", false
		}
	}
	return "", false
}
