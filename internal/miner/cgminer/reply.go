// Package cgminer speaks the CGMiner RPC protocol that almost every Bitcoin
// ASIC firmware reuses on TCP port 4028: it encodes requests (plain
// "cmd|param" and JSON {"command":..,"parameter":..}, including joined
// "a+b+c" report commands), sends one request per connection, reads the
// NUL-terminated reply, repairs the malformed JSON real firmwares emit, and
// parses the STATUS section into errors callers can branch on.
//
// It is a codec and a client only. It knows no firmware's commands beyond
// the protocol's envelope: drivers (luxos, antminer, ...) decode the
// sections they need. It has no server side; the simulator writes its own
// encoder so that both are independent implementations of the format.
//
// Errors name the command and the failing step ("summary: read reply: ...")
// and wrap miner.ErrUnreachable (no connection, deadline, reply cut short),
// miner.ErrProtocol (reply not understood), miner.ErrRejected (E/F status)
// or miner.ErrDenied (access denied, code 45). They do not name the device:
// the driver that owns the client adds it once.
package cgminer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gridminer/gridminer/internal/miner"
)

// CodeAccessDenied is the cgminer status code for "Access denied to '%s'
// command" (MSG_ACCDENY in api.c).
const CodeAccessDenied = 45

// ErrTruncated reports a reply that ends inside a JSON value: the peer cut
// the connection (or its buffer) short. It wraps miner.ErrUnreachable
// because the cure is the same as for a dropped connection: try again.
var ErrTruncated = fmt.Errorf("reply truncated: %w", miner.ErrUnreachable)

// StatusEntry is one element of a reply's STATUS section.
type StatusEntry struct {
	Status      string `json:"STATUS"` // S, I, W, E or F
	When        int64  `json:"When"`
	Code        int    `json:"Code"`
	Msg         string `json:"Msg"`
	Description string `json:"Description"`
}

// Failed reports whether the entry is an error (E) or fatal (F) status.
func (s StatusEntry) Failed() bool { return s.Status == "E" || s.Status == "F" }

// StatusError is an E or F status returned by the miner. It wraps
// miner.ErrDenied for access-denied statuses and miner.ErrRejected otherwise.
type StatusError struct {
	Entry StatusEntry
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("status %s code %d: %s", e.Entry.Status, e.Entry.Code, e.Entry.Msg)
}

// Unwrap returns the sentinel the status maps to.
func (e *StatusError) Unwrap() error {
	if e.Entry.Code == CodeAccessDenied || strings.HasPrefix(strings.ToLower(e.Entry.Msg), "access denied") {
		return miner.ErrDenied
	}
	return miner.ErrRejected
}

// CheckStatus returns a *StatusError for the first E or F entry, a
// protocol error when there is no entry at all, and nil otherwise.
func CheckStatus(st []StatusEntry) error {
	if len(st) == 0 {
		return fmt.Errorf("no STATUS section: %w", miner.ErrProtocol)
	}
	for _, s := range st {
		if s.Failed() {
			return &StatusError{Entry: s}
		}
	}
	return nil
}

// Reply is one parsed cgminer reply.
type Reply struct {
	Status []StatusEntry
	// Sections holds every top-level key except STATUS and id, raw (and
	// already repaired), e.g. Sections["SUMMARY"].
	Sections map[string]json.RawMessage
	ID       int
}

// Err returns CheckStatus(r.Status).
func (r Reply) Err() error { return CheckStatus(r.Status) }

// Decode unmarshals section into v, repairing firmware quirks if needed.
func (r Reply) Decode(section string, v any) error {
	raw, ok := r.Sections[section]
	if !ok {
		return fmt.Errorf("decode %s: section missing: %w", section, miner.ErrProtocol)
	}
	if err := Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s: %w", section, err)
	}
	return nil
}

// Parse parses one JSON-form reply (a trailing NUL is allowed). It does
// not turn E/F statuses into errors; call Reply.Err for that.
func Parse(b []byte) (Reply, error) {
	var top map[string]json.RawMessage
	if err := Unmarshal(b, &top); err != nil {
		return Reply{}, err
	}
	return replyOf(top)
}

func replyOf(top map[string]json.RawMessage) (Reply, error) {
	r := Reply{Sections: make(map[string]json.RawMessage, len(top))}
	for k, v := range top {
		switch k {
		case "STATUS":
			if err := Unmarshal(v, &r.Status); err != nil {
				return Reply{}, fmt.Errorf("STATUS: %w", err)
			}
		case "id":
			var id float64
			if err := json.Unmarshal(v, &id); err == nil {
				r.ID = int(id)
			}
		default:
			r.Sections[k] = v
		}
	}
	return r, nil
}

// ParseJoined parses the reply to a joined request ("summary+pools"): one
// Reply per command, keyed by command name. When the miner rejected the
// whole request (a top-level STATUS, e.g. access denied), it returns that
// status as a *StatusError.
func ParseJoined(b []byte) (map[string]Reply, error) {
	var top map[string]json.RawMessage
	if err := Unmarshal(b, &top); err != nil {
		return nil, err
	}
	if st, ok := top["STATUS"]; ok {
		var entries []StatusEntry
		if err := Unmarshal(st, &entries); err != nil {
			return nil, fmt.Errorf("STATUS: %w", err)
		}
		if err := CheckStatus(entries); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("joined reply has a top-level STATUS and no sub-replies: %w", miner.ErrProtocol)
	}
	out := make(map[string]Reply, len(top))
	// In key order, so a reply with several bad sub-replies always gets
	// the same error.
	for _, k := range slices.Sorted(maps.Keys(top)) {
		v := top[k]
		if k == "id" {
			continue
		}
		var subs []map[string]json.RawMessage
		if err := Unmarshal(v, &subs); err != nil {
			// api-README shows {"cmd":{...}} without the array.
			var one map[string]json.RawMessage
			if err2 := Unmarshal(v, &one); err2 != nil {
				return nil, fmt.Errorf("sub-reply %q: %w", k, err)
			}
			subs = append(subs, one)
		}
		if len(subs) == 0 {
			return nil, fmt.Errorf("sub-reply %q is empty: %w", k, miner.ErrProtocol)
		}
		r, err := replyOf(subs[0])
		if err != nil {
			return nil, fmt.Errorf("sub-reply %q: %w", k, err)
		}
		out[k] = r
	}
	return out, nil
}

// Unmarshal decodes a reply (or part of one) into v. It tries
// encoding/json on the bytes as they are (minus trailing NULs) first and
// repairs them with Sanitize only when that fails. A reply that ends inside
// a value is reported as ErrTruncated; anything else unreadable wraps
// miner.ErrProtocol.
func Unmarshal(b []byte, v any) error {
	b = trimTail(b)
	// bmminer's stats always carry "}{" between objects: repair first
	// rather than parse twice. Anything else gets the strict parse first.
	if !bytes.Contains(b, []byte("}{")) && json.Unmarshal(b, v) == nil {
		return nil
	}
	fixed, serr := Sanitize(b)
	if serr != nil {
		return serr
	}
	if err2 := json.Unmarshal(fixed, v); err2 != nil {
		var se *json.SyntaxError
		if errors.As(err2, &se) {
			return fmt.Errorf("invalid JSON at byte %d: %v: %w", se.Offset, err2, miner.ErrProtocol)
		}
		return fmt.Errorf("%v: %w", err2, miner.ErrProtocol)
	}
	return nil
}

func trimTail(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case 0, ' ', '\n', '\r', '\t':
			b = b[:len(b)-1]
		default:
			return b
		}
	}
	return b
}

// Sanitize repairs the malformed JSON that cgminer-family firmwares emit
// and returns a new slice:
//   - trailing NUL bytes and a leading ',' are dropped;
//   - "}{" between objects (bmminer STATS) gets its missing comma;
//   - ",}" ",]" and "[," lose the stray comma;
//   - bare or quoted inf, -inf, nan (any case) become null;
//   - a doubled quote before a key (btminer `""temp0`) is collapsed.
//
// It returns ErrTruncated when the input ends inside a string or with
// unclosed brackets, and a miner.ErrProtocol error when brackets do not
// match or the input is empty.
func Sanitize(in []byte) ([]byte, error) {
	in = trimTail(in)
	in = bytes.TrimLeft(in, " \t\r\n,")
	if len(in) == 0 {
		return nil, fmt.Errorf("empty reply: %w", miner.ErrProtocol)
	}
	out := make([]byte, 0, len(in)+16)
	var stack []byte
	inStr := false
	for i := 0; i < len(in); i++ {
		c := in[i]
		if inStr {
			out = append(out, c)
			switch c {
			case '\\':
				if i+1 < len(in) {
					i++
					out = append(out, in[i])
				}
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			// ""key": collapse a doubled opening quote.
			if i+2 < len(in) && in[i+1] == '"' && isKeyByte(in[i+2]) && prevSig(out) != ':' {
				i++
			}
			if w, n := quotedNonFinite(in[i:]); n > 0 {
				out = append(out, w...)
				i += n - 1
				continue
			}
			inStr = true
			out = append(out, c)
		case '{', '[':
			if c == '{' && prevSig(out) == '}' {
				out = append(out, ',')
			}
			stack = append(stack, c)
			out = append(out, c)
		case '}', ']':
			if len(stack) == 0 || (c == '}') != (stack[len(stack)-1] == '{') {
				return nil, fmt.Errorf("unbalanced %q at byte %d: %w", c, i, miner.ErrProtocol)
			}
			stack = stack[:len(stack)-1]
			out = trimComma(out)
			out = append(out, c)
		case ',':
			if p := prevSig(out); p == '[' || p == ',' || p == '{' {
				continue
			}
			out = append(out, c)
		case 'i', 'I', 'n', 'N', '-':
			if n := bareNonFinite(in[i:]); n > 0 {
				out = append(out, "null"...)
				i += n - 1
				continue
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	if inStr || len(stack) > 0 {
		return nil, ErrTruncated
	}
	return out, nil
}

func isKeyByte(c byte) bool {
	return c == '_' || c == ' ' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// prevSig returns the last non-space byte of b, or 0.
func prevSig(b []byte) byte {
	for i := len(b) - 1; i >= 0; i-- {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return b[i]
		}
	}
	return 0
}

// trimComma drops a trailing comma (and the space after it) from b.
func trimComma(b []byte) []byte {
	i := len(b) - 1
	for i >= 0 && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i--
	}
	if i >= 0 && b[i] == ',' {
		return b[:i]
	}
	return b
}

var nonFinite = []string{"-infinity", "infinity", "-inf", "+inf", "inf", "-nan", "nan"}

// bareNonFinite returns the length of an unquoted inf/nan token at the
// start of b, or 0.
func bareNonFinite(b []byte) int {
	for _, w := range nonFinite {
		if len(b) >= len(w) && strings.EqualFold(string(b[:len(w)]), w) {
			if len(b) == len(w) || !isKeyByte(b[len(w)]) {
				return len(w)
			}
		}
	}
	return 0
}

// quotedNonFinite recognises "inf", "nan", ... used as a value (followed by
// , } or ]) and returns null and the length consumed.
func quotedNonFinite(b []byte) ([]byte, int) {
	if len(b) < 2 || b[0] != '"' {
		return nil, 0
	}
	end := bytes.IndexByte(b[1:], '"')
	if end < 0 {
		return nil, 0
	}
	word := b[1 : 1+end]
	if bareNonFinite(word) != len(word) || len(word) == 0 {
		return nil, 0
	}
	rest := bytes.TrimLeft(b[2+end:], " \t\r\n")
	if len(rest) > 0 && rest[0] == ':' {
		return nil, 0 // a key named "nan"
	}
	return []byte("null"), 2 + end
}
