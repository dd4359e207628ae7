package minersim

import (
	"math"
	"strconv"
)

// enc appends one CGMiner-style reply to b, in JSON or in the text form.
// It never allocates beyond growing b.
type enc struct {
	b    []byte
	text bool
	n    int // values written in the current object
}

func (e *enc) openObj(section string) {
	e.n = 0
	if e.text {
		if section != "" {
			e.b = append(e.b, section...)
			e.n = 1
		}
		return
	}
	e.b = append(e.b, '{')
}

func (e *enc) closeObj() {
	if e.text {
		e.b = append(e.b, '|')
		return
	}
	e.b = append(e.b, '}')
}

func (e *enc) key(k string) {
	if e.n > 0 {
		e.b = append(e.b, ',')
	}
	e.n++
	if e.text {
		e.b = appendTextEscaped(e.b, k)
		e.b = append(e.b, '=')
		return
	}
	e.b = appendJSONString(e.b, k)
	e.b = append(e.b, ':')
}

// keyN writes the key prefix+n ("fan1") without allocating.
func (e *enc) keyN(prefix string, n int) {
	if e.n > 0 {
		e.b = append(e.b, ',')
	}
	e.n++
	if !e.text {
		e.b = append(e.b, '"')
	}
	e.b = append(e.b, prefix...)
	e.b = strconv.AppendInt(e.b, int64(n), 10)
	if e.text {
		e.b = append(e.b, '=')
		return
	}
	e.b = append(e.b, '"', ':')
}

func (e *enc) str(k, v string) {
	e.key(k)
	if e.text {
		e.b = appendTextEscaped(e.b, v)
		return
	}
	e.b = appendJSONString(e.b, v)
}

func (e *enc) int(k string, v int64) {
	e.key(k)
	e.b = strconv.AppendInt(e.b, v, 10)
}

func (e *enc) uint(k string, v uint64) {
	e.key(k)
	e.b = strconv.AppendUint(e.b, v, 10)
}

func (e *enc) bool(k string, v bool) {
	e.key(k)
	e.b = strconv.AppendBool(e.b, v)
}

// flt writes v rounded to dec decimals the way serde_json prints an f64:
// shortest form, with ".0" when integral.
func (e *enc) flt(k string, v float64, dec int) {
	e.key(k)
	e.b = appendFloat(e.b, v, dec, true)
}

// fltz is flt but writes an integral value without ".0" ("0", "12").
func (e *enc) fltz(k string, v float64, dec int) {
	e.key(k)
	e.b = appendFloat(e.b, v, dec, false)
}

func appendFloat(b []byte, v float64, dec int, dotZero bool) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	p := math.Pow10(dec)
	v = math.Round(v*p) / p
	if v == 0 {
		v = 0 // no "-0"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		b = strconv.AppendInt(b, int64(v), 10)
		if dotZero {
			b = append(b, '.', '0')
		}
		return b
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendTextEscaped escapes the separators of the text form with a
// backslash, as cgminer does.
func appendTextEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '|', ',', '=', '\\':
			b = append(b, '\\', c)
		case 0:
			// a NUL would end the reply early
		default:
			b = append(b, c)
		}
	}
	return b
}

// reply writes one command's reply: the STATUS section and the command's
// own sections. In JSON the top-level keys come out sorted, as LuxOS writes
// them ({"CURTAIL":..,"STATUS":..,"id":1} but {"STATUS":..,"SUMMARY":..}).
// In the text form STATUS comes first, as in cgminer.
type reply struct {
	e          *enc
	when       int64
	desc       string
	sev        byte
	code       int
	msg        string
	statusDone bool
	sections   int
	items      int
}

func (r *reply) begin() {
	if !r.e.text {
		r.e.b = append(r.e.b, '{')
	}
}

// status sets the reply's status; call it before any section.
func (r *reply) status(sev byte, code int, msg string) { r.sev, r.code, r.msg = sev, code, msg }

func (r *reply) writeStatus() {
	r.statusDone = true
	e := r.e
	if e.text {
		e.b = append(e.b, "STATUS="...)
		e.b = append(e.b, r.sev)
		e.b = append(e.b, ",When="...)
		e.b = strconv.AppendInt(e.b, r.when, 10)
		e.b = append(e.b, ",Code="...)
		e.b = strconv.AppendInt(e.b, int64(r.code), 10)
		e.b = append(e.b, ",Msg="...)
		e.b = appendTextEscaped(e.b, r.msg)
		e.b = append(e.b, ",Description="...)
		e.b = appendTextEscaped(e.b, r.desc)
		e.b = append(e.b, '|')
		return
	}
	if r.sections > 0 {
		e.b = append(e.b, ',')
	}
	r.sections++
	e.b = append(e.b, `"STATUS":[{"Code":`...)
	e.b = strconv.AppendInt(e.b, int64(r.code), 10)
	e.b = append(e.b, `,"Description":`...)
	e.b = appendJSONString(e.b, r.desc)
	e.b = append(e.b, `,"Msg":`...)
	e.b = appendJSONString(e.b, r.msg)
	e.b = append(e.b, `,"STATUS":"`...)
	e.b = append(e.b, r.sev)
	e.b = append(e.b, `","When":`...)
	e.b = strconv.AppendInt(e.b, r.when, 10)
	e.b = append(e.b, "}]"...)
}

// section opens a section; callers then write items with item/endItem and
// close it with endSection. Sections must be opened in sorted order.
func (r *reply) section(name string) {
	if !r.statusDone && (r.e.text || name > "STATUS") {
		r.writeStatus()
	}
	r.items = 0
	if r.e.text {
		return
	}
	if r.sections > 0 {
		r.e.b = append(r.e.b, ',')
	}
	r.sections++
	r.e.b = appendJSONString(r.e.b, name)
	r.e.b = append(r.e.b, ':', '[')
}

// item opens one object of the current section; textName prefixes it in the
// text form.
func (r *reply) item(textName string) {
	if !r.e.text && r.items > 0 {
		r.e.b = append(r.e.b, ',')
	}
	r.items++
	r.e.openObj(textName)
}

func (r *reply) endItem() { r.e.closeObj() }

func (r *reply) endSection() {
	if !r.e.text {
		r.e.b = append(r.e.b, ']')
	}
}

func (r *reply) end() {
	if !r.statusDone {
		r.writeStatus()
	}
	if !r.e.text {
		r.e.b = append(r.e.b, `,"id":1}`...)
	}
}
