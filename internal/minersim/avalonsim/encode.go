package avalonsim

import (
	"encoding/json"
	"strconv"
)

// field is one key=value of a cgminer reply object. str marks values that
// are strings in the JSON form (quoted); numbers are written as they are.
type field struct {
	k, v string
	str  bool
}

func s(k, v string) field       { return field{k: k, v: v, str: true} }
func i(k string, v int64) field { return field{k: k, v: strconv.FormatInt(v, 10)} }
func f(k string, v float64, prec int) field {
	return field{k: k, v: strconv.FormatFloat(v, 'f', prec, 64)}
}

// section is one top-level list of a reply ("SUMMARY", "STATS", ...).
// bare says the text form opens each entry with the bare section name
// ("SUMMARY,Elapsed=..."), as cgminer does for single-object sections;
// otherwise the entry's first field names it ("STATS=0,ID=...").
type section struct {
	name    string
	bare    bool
	entries [][]field
}

// status is the STATUS entry of a reply.
type status struct {
	sev  string // S, I, W, E
	when int64
	code int
	msg  string
}

const description = "cgminer 4.11.1"

// appendReply appends one complete reply (JSON or text form) without its
// terminator.
func appendReply(b []byte, text bool, st status, secs ...section) []byte {
	stFields := []field{s("STATUS", st.sev), i("When", st.when), i("Code", int64(st.code)), s("Msg", st.msg), s("Description", description)}
	if text {
		b = appendTextObj(b, "", stFields)
		for _, sec := range secs {
			for _, e := range sec.entries {
				name := ""
				if sec.bare {
					name = sec.name
				}
				b = appendTextObj(b, name, e)
			}
		}
		return b
	}
	b = append(b, `{"STATUS":[`...)
	b = appendJSONObj(b, stFields)
	b = append(b, ']')
	for _, sec := range secs {
		b = append(b, ',')
		b = appendJSONString(b, sec.name)
		b = append(b, ":["...)
		for n, e := range sec.entries {
			if n > 0 {
				b = append(b, ',')
			}
			b = appendJSONObj(b, e)
		}
		b = append(b, ']')
	}
	return append(b, `,"id":1}`...)
}

// appendTextObj writes "name,k=v,k=v|" (or "k=v,...|" without a name).
// Like cgminer's api_add_string values, text values are not escaped: the
// Avalon MM string keeps its commas (see the driver's testdata/README.md).
func appendTextObj(b []byte, name string, fs []field) []byte {
	b = append(b, name...)
	for n, fl := range fs {
		if n > 0 || name != "" {
			b = append(b, ',')
		}
		b = append(b, fl.k...)
		b = append(b, '=')
		b = append(b, fl.v...)
	}
	return append(b, '|')
}

func appendJSONObj(b []byte, fs []field) []byte {
	b = append(b, '{')
	for n, fl := range fs {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, fl.k)
		b = append(b, ':')
		if fl.str {
			b = appendJSONString(b, fl.v)
		} else {
			b = append(b, fl.v...)
		}
	}
	return append(b, '}')
}

// appendJSONString appends v quoted as encoding/json does. Plain
// printable ASCII without '"', '\\', '<', '>' or '&' (every key and
// nearly every value) is copied as is; anything else goes to json.Marshal.
func appendJSONString(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(v) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"')
}
