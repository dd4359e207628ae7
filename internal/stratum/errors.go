package stratum

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Sentinel errors for the Stratum V1 error codes; a *Error matches the one
// of its code with errors.Is.
var (
	ErrOther         = errors.New("other/unknown")   // 20
	ErrJobNotFound   = errors.New("job not found")   // 21 (stale)
	ErrDuplicate     = errors.New("duplicate share") // 22
	ErrLowDifficulty = errors.New("low difficulty")  // 23
	ErrUnauthorized  = errors.New("unauthorized")    // 24
	ErrNotSubscribed = errors.New("not subscribed")  // 25
	ErrRejected      = errors.New("share rejected")  // result false, error null
)

// Stratum V1 error codes.
const (
	CodeOther         = 20
	CodeJobNotFound   = 21
	CodeDuplicate     = 22
	CodeLowDifficulty = 23
	CodeUnauthorized  = 24
	CodeNotSubscribed = 25
)

// Error is a Stratum error: [code, "message", traceback|null] on the wire.
type Error struct {
	Code      int
	Message   string
	Traceback json.RawMessage // raw JSON, nil for null
}

func (e *Error) Error() string { return fmt.Sprintf("stratum error %d: %s", e.Code, e.Message) }

// Is matches the sentinel of e's code.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case CodeOther:
		return target == ErrOther
	case CodeJobNotFound:
		return target == ErrJobNotFound
	case CodeDuplicate:
		return target == ErrDuplicate
	case CodeLowDifficulty:
		return target == ErrLowDifficulty
	case CodeUnauthorized:
		return target == ErrUnauthorized
	case CodeNotSubscribed:
		return target == ErrNotSubscribed
	}
	return false
}

func (e *Error) traceback() any {
	if isNull(e.Traceback) {
		return nil
	}
	return e.Traceback
}

// NewError returns an Error with code and message.
func NewError(code int, msg string) *Error { return &Error{Code: code, Message: msg} }

// RejectError is ckpool's rejection: result false, error null, and a
// "reject-reason" field. It matches ErrRejected.
type RejectError struct{ Reason string }

func (e *RejectError) Error() string        { return "share rejected: " + e.Reason }
func (e *RejectError) Is(target error) bool { return target == ErrRejected }

// parseError accepts the standard array form, an object with code and
// message (seen in some pools), or a bare string.
func parseError(raw json.RawMessage) (*Error, error) {
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err == nil {
		e := &Error{Code: CodeOther}
		if len(arr) > 0 {
			var code float64
			if err := json.Unmarshal(arr[0], &code); err != nil {
				return nil, fmt.Errorf("stratum: %w: error code %s", ErrMalformed, arr[0])
			}
			e.Code = int(code)
		}
		if len(arr) > 1 {
			if err := json.Unmarshal(arr[1], &e.Message); err != nil {
				e.Message = string(arr[1])
			}
		}
		if len(arr) > 2 && !isNull(arr[2]) {
			e.Traceback = arr[2]
		}
		return e, nil
	}
	var obj struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(raw, &obj); err == nil {
		return &Error{Code: obj.Code, Message: obj.Message}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return &Error{Code: CodeOther, Message: s}, nil
	}
	return nil, fmt.Errorf("stratum: %w: error field %s", ErrMalformed, raw)
}
