package cgminer

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gridminer/gridminer/internal/miner"
)

// escapeParam escapes the separators of a cgminer parameter list: a comma
// inside one parameter becomes "\," and a backslash "\\" (API-README).
func escapeParam(p string) string {
	if !strings.ContainsAny(p, `,\`) {
		return p
	}
	p = strings.ReplaceAll(p, `\`, `\\`)
	return strings.ReplaceAll(p, `,`, `\,`)
}

func joinParams(params []string) string {
	switch len(params) {
	case 0:
		return ""
	case 1:
		return escapeParam(params[0])
	}
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(escapeParam(p))
	}
	return b.String()
}

// EncodePlain returns the plain-text request "cmd" or "cmd|p1,p2". The
// miner answers a plain request in the text form (see ParseText).
func EncodePlain(cmd string, params ...string) []byte {
	if len(params) == 0 {
		return []byte(cmd)
	}
	return []byte(cmd + "|" + joinParams(params))
}

// EncodeJSON returns the JSON request {"command":"cmd"} or
// {"command":"cmd","parameter":"p1,p2"}. Joined report commands are
// passed as one cmd, "summary+pools".
func EncodeJSON(cmd string, params ...string) []byte {
	b := make([]byte, 0, 32+len(cmd))
	b = append(b, `{"command":`...)
	b = strconv.AppendQuote(b, cmd)
	if len(params) > 0 {
		b = append(b, `,"parameter":`...)
		b = strconv.AppendQuote(b, joinParams(params))
	}
	return append(b, '}')
}

// checkCommand rejects command names that would change the request's
// meaning (separators, quotes, control bytes).
func checkCommand(cmd string) error {
	if cmd == "" {
		return fmt.Errorf("empty command: %w", miner.ErrUnsupported)
	}
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		if c < 0x21 || c > 0x7e || c == '|' || c == '"' || c == '\\' || c == ',' {
			return fmt.Errorf("command %q: byte %d is not allowed: %w", cmd, i, miner.ErrUnsupported)
		}
	}
	return nil
}

// ParseText parses a text-form reply:
//
//	STATUS=S,When=1,Code=11,Msg=Summary,Description=cgminer 4.11.1|SUMMARY,Elapsed=5,MHS av=1.5|
//
// Sections become JSON arrays of objects so Reply.Decode works on both
// forms. A segment that starts with a bare name ("SUMMARY,") names its
// section; one that starts "ASC=0," goes to section "ASC" (cgminer's devs
// list). Values that parse as numbers become JSON numbers, the rest
// strings. Backslash escapes ("\,", "\|", "\=", "\\") are honoured.
func ParseText(b []byte) (Reply, error) {
	b = trimTail(b)
	if len(b) == 0 {
		return Reply{}, fmt.Errorf("empty reply: %w", miner.ErrProtocol)
	}
	segs := splitEsc(string(b), '|')
	r := Reply{Sections: map[string]json.RawMessage{}}
	grouped := map[string][]map[string]any{}
	var order []string
	for si, seg := range segs {
		if seg == "" {
			continue
		}
		fields := splitEsc(seg, ',')
		obj := make(map[string]any, len(fields))
		name := ""
		for fi, f := range fields {
			k, v, ok := cutEsc(f)
			if !ok {
				if fi == 0 {
					name = unesc(f)
					continue
				}
				if f == "" {
					continue
				}
				return Reply{}, fmt.Errorf("text reply segment %d field %d %q: no '=': %w", si, fi, f, miner.ErrProtocol)
			}
			if fi == 0 && name == "" {
				name = k
			}
			obj[k] = textValue(v)
		}
		if name == "STATUS" {
			st := StatusEntry{}
			if s, ok := obj["STATUS"].(string); ok {
				st.Status = s
			}
			st.When = int64(num(obj["When"]))
			st.Code = int(num(obj["Code"]))
			st.Msg = fmt.Sprint(strOr(obj["Msg"]))
			st.Description = fmt.Sprint(strOr(obj["Description"]))
			r.Status = append(r.Status, st)
			continue
		}
		if name == "" {
			return Reply{}, fmt.Errorf("text reply segment %d has no name: %w", si, miner.ErrProtocol)
		}
		if _, seen := grouped[name]; !seen {
			order = append(order, name)
		}
		grouped[name] = append(grouped[name], obj)
	}
	for _, name := range order {
		raw, err := json.Marshal(grouped[name])
		if err != nil {
			return Reply{}, fmt.Errorf("text reply section %s: %v: %w", name, err, miner.ErrProtocol)
		}
		r.Sections[name] = raw
	}
	if len(r.Status) == 0 {
		return Reply{}, fmt.Errorf("text reply has no STATUS: %w", miner.ErrProtocol)
	}
	return r, nil
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func strOr(v any) any {
	if v == nil {
		return ""
	}
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return v
}

func textValue(v string) any {
	if v != "" && (v[0] == '-' || v[0] == '.' || (v[0] >= '0' && v[0] <= '9')) {
		if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	}
	return v
}

// splitEsc splits s at sep bytes not preceded by a backslash escape.
func splitEsc(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// cutEsc splits "k=v" at the first unescaped '=' and unescapes both.
func cutEsc(f string) (k, v string, ok bool) {
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '\\':
			i++
		case '=':
			return unesc(f[:i]), unesc(f[i+1:]), true
		}
	}
	return "", "", false
}

func unesc(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
