// Package stratum is the Stratum V1 mining protocol: the newline-delimited
// JSON-RPC codec (Decoder, Encoder, Message), typed parameters and results
// for each method, typed pool errors, assembly of 80-byte block headers from
// a mining.notify and a share, and a CPU-mining Client.
//
// It tolerates the quirks of real peers (ckpool's "reject-reason", pings sent
// as requests by the pool, "Initialising" subscribe results, escaped
// slashes). It does not implement a pool, a proxy or getblocktemplate; those
// build on this package. Hashing and targets live in package pow.
package stratum

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// DefaultMaxLine is the default limit on one JSON line, in bytes.
const DefaultMaxLine = 64 << 10

// ErrLineTooLong is returned by Decode for a line longer than the limit.
var ErrLineTooLong = errors.New("stratum line too long")

// ErrMalformed wraps every error about a line that is not a valid message.
var ErrMalformed = errors.New("malformed stratum message")

// Message is one JSON-RPC line: a request (Method set, ID non-null), a
// notification (Method set, ID null) or a response (no Method).
type Message struct {
	// ID is the raw JSON id: a number, a string, or null/absent.
	ID json.RawMessage
	// Method is the method name of a request or notification.
	Method string
	// Params are the raw positional params of a request or notification.
	Params json.RawMessage
	// Result is the raw result of a response ("null" or absent when none).
	Result json.RawMessage
	// Error is the error of a response, nil when null.
	Error *Error
	// RejectReason is ckpool's "reject-reason" field on rejected shares.
	RejectReason string
}

// IsRequest reports whether m is a method call that expects a response.
func (m *Message) IsRequest() bool { return m.Method != "" && !isNull(m.ID) }

// IsNotification reports whether m is a method call with a null id.
func (m *Message) IsNotification() bool { return m.Method != "" && isNull(m.ID) }

// IsResponse reports whether m is a response.
func (m *Message) IsResponse() bool { return m.Method == "" }

// IDUint returns the id as an unsigned integer, if it is one.
func (m *Message) IDUint() (uint64, bool) {
	n, err := strconv.ParseUint(string(bytes.TrimSpace(m.ID)), 10, 64)
	return n, err == nil
}

// ResultBool returns a response's boolean result; false for anything else.
func (m *Message) ResultBool() bool { return string(bytes.TrimSpace(m.Result)) == "true" }

// Err returns the response's outcome as an error: m.Error if set, a
// *RejectError for ckpool's result:false with "reject-reason", nil otherwise.
func (m *Message) Err() error {
	if m.Error != nil {
		return m.Error
	}
	if m.RejectReason != "" {
		return &RejectError{Reason: m.RejectReason}
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	s := bytes.TrimSpace(raw)
	return len(s) == 0 || string(s) == "null"
}

type wireMessage struct {
	ID           json.RawMessage `json:"id"`
	Method       *string         `json:"method"`
	Params       json.RawMessage `json:"params"`
	Result       json.RawMessage `json:"result"`
	Error        json.RawMessage `json:"error"`
	RejectReason string          `json:"reject-reason"`
}

// Decoder reads Messages from a stream, one JSON object per line.
type Decoder struct {
	r       *bufio.Reader
	maxLine int
	line    []byte
}

// NewDecoder reads from r with lines limited to maxLine bytes
// (DefaultMaxLine when maxLine <= 0).
func NewDecoder(r io.Reader, maxLine int) *Decoder {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return &Decoder{r: bufio.NewReaderSize(r, 4096), maxLine: maxLine}
}

// Decode returns the next message. Blank lines are skipped. It returns
// io.EOF at a clean end of stream, io.ErrUnexpectedEOF for a final line
// without newline, ErrLineTooLong (after which the stream is unusable) and
// errors wrapping ErrMalformed for lines that are not a message (the
// stream stays usable).
func (d *Decoder) Decode() (*Message, error) {
	line, err := d.ReadLine()
	if err != nil {
		return nil, err
	}
	return ParseMessage(line)
}

// ReadLine returns the next non-blank line, trimmed of surrounding space,
// without parsing it: the caller may try a fast path (ParseSubmitLine)
// before ParseMessage. The line is valid until the next call. Its errors
// are Decode's, except that it never returns ErrMalformed.
func (d *Decoder) ReadLine() ([]byte, error) {
	for {
		line, err := d.readLine()
		if err != nil {
			return nil, err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		return line, nil
	}
}

func (d *Decoder) readLine() ([]byte, error) {
	d.line = d.line[:0]
	for {
		chunk, err := d.r.ReadSlice('\n')
		if len(d.line)+len(chunk) > d.maxLine+1 {
			return nil, fmt.Errorf("stratum: read line: over %d bytes: %w", d.maxLine, ErrLineTooLong)
		}
		d.line = append(d.line, chunk...)
		switch {
		case err == nil:
			return d.line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(bytes.TrimSpace(d.line)) == 0 {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("stratum: read line: %w", io.ErrUnexpectedEOF)
		default:
			return nil, fmt.Errorf("stratum: read line: %w", err)
		}
	}
}

// ParseMessage parses one JSON line (without its newline).
func ParseMessage(line []byte) (*Message, error) {
	var w wireMessage
	if err := json.Unmarshal(line, &w); err != nil {
		return nil, fmt.Errorf("stratum: %w: %w", ErrMalformed, err)
	}
	m := &Message{ID: w.ID, Params: w.Params, Result: w.Result, RejectReason: w.RejectReason}
	if w.Method != nil {
		if *w.Method == "" {
			return nil, fmt.Errorf("stratum: %w: empty method", ErrMalformed)
		}
		m.Method = *w.Method
	} else if w.Result == nil && w.Error == nil {
		return nil, fmt.Errorf("stratum: %w: neither method nor result", ErrMalformed)
	}
	if !isNull(m.ID) {
		if err := checkID(m.ID); err != nil {
			return nil, err
		}
	}
	if !isNull(w.Error) {
		e, err := parseError(w.Error)
		if err != nil {
			return nil, err
		}
		m.Error = e
	}
	return m, nil
}

func checkID(id json.RawMessage) error {
	switch id[0] {
	case '"':
		return nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return nil
	}
	return fmt.Errorf("stratum: %w: id %s is neither number nor string", ErrMalformed, id)
}

// Encoder writes Messages, one line each.
type Encoder struct {
	w   io.Writer
	buf []byte
}

// NewEncoder writes to w. Each Encode is one Write call.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode writes m as one line. A request or notification is written as
// {"id":…,"method":…,"params":…}; a response as {"id":…,"result":…,"error":…}
// (plus "reject-reason" when set).
func (e *Encoder) Encode(m *Message) error {
	b, err := AppendMessage(e.buf[:0], m)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	e.buf = b
	if _, err := e.w.Write(b); err != nil {
		return fmt.Errorf("stratum: write: %w", err)
	}
	return nil
}

// AppendMessage appends m's JSON encoding (no newline) to b.
func AppendMessage(b []byte, m *Message) ([]byte, error) {
	id := []byte("null")
	if !isNull(m.ID) {
		if !json.Valid(m.ID) {
			return nil, fmt.Errorf("stratum: encode: invalid id %q", m.ID)
		}
		id = m.ID
	}
	b = append(b, `{"id":`...)
	b = append(b, id...)
	if m.Method != "" {
		b = append(b, `,"method":`...)
		mb, err := marshal(m.Method)
		if err != nil {
			return nil, err
		}
		b = append(b, mb...)
		b = append(b, `,"params":`...)
		if len(bytes.TrimSpace(m.Params)) == 0 {
			b = append(b, "[]"...)
		} else {
			if !json.Valid(m.Params) {
				return nil, fmt.Errorf("stratum: encode %s: invalid params", m.Method)
			}
			b = append(b, m.Params...)
		}
		return append(b, '}'), nil
	}
	b = append(b, `,"result":`...)
	if len(bytes.TrimSpace(m.Result)) == 0 {
		b = append(b, "null"...)
	} else {
		if !json.Valid(m.Result) {
			return nil, errors.New("stratum: encode: invalid result")
		}
		b = append(b, m.Result...)
	}
	b = append(b, `,"error":`...)
	if m.Error == nil {
		b = append(b, "null"...)
	} else {
		eb, err := marshal([]any{m.Error.Code, m.Error.Message, m.Error.traceback()})
		if err != nil {
			return nil, err
		}
		b = append(b, eb...)
	}
	if m.RejectReason != "" {
		rb, err := marshal(m.RejectReason)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"reject-reason":`...)
		b = append(b, rb...)
	}
	return append(b, '}'), nil
}

// marshal is json.Marshal without HTML escaping and without a newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("stratum: encode: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// NewRequest returns a request with a numeric id.
func NewRequest(id uint64, method string, params any) (*Message, error) {
	p, err := marshal(params)
	if err != nil {
		return nil, err
	}
	return &Message{ID: json.RawMessage(strconv.FormatUint(id, 10)), Method: method, Params: p}, nil
}

// NewNotification returns a method call with a null id.
func NewNotification(method string, params any) (*Message, error) {
	p, err := marshal(params)
	if err != nil {
		return nil, err
	}
	return &Message{Method: method, Params: p}, nil
}

// NewResponse returns a response to the request with id; result is
// marshaled (nil gives null).
func NewResponse(id json.RawMessage, result any, e *Error) (*Message, error) {
	r, err := marshal(result)
	if err != nil {
		return nil, err
	}
	return &Message{ID: id, Result: r, Error: e}, nil
}
