package pricefeed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bounds on a quote's time, Unix seconds: Bitcoin had no price before
// 2009, and a time past the year 3000 is a unit mistake.
const (
	minQuoteUnix = 1230768000  // 2009-01-01T00:00:00Z
	maxQuoteUnix = 32503680000 // 3000-01-01T00:00:00Z
)

// msThreshold separates Unix seconds from milliseconds: 1e12 seconds is
// the year 33658, 1e12 milliseconds is September 2001.
const msThreshold = 1e12

// ParseQuote reads the price at path, and the time at timePath when it is
// not empty, from a JSON document.
func ParseQuote(body []byte, path, timePath string) (Quote, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return Quote{}, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Quote{}, fmt.Errorf("data after the json document: %w", ErrBadResponse)
	}
	v, err := lookup(doc, path)
	if err != nil {
		return Quote{}, err
	}
	usd, err := number(v)
	if err != nil {
		return Quote{}, fmt.Errorf("price at %s: %w", path, err)
	}
	if !(usd > 0) || math.IsInf(usd, 0) {
		return Quote{}, fmt.Errorf("price at %s is %v, want a finite positive number: %w", path, usd, ErrBadResponse)
	}
	q := Quote{USD: usd}
	if timePath != "" {
		tv, err := lookup(doc, timePath)
		if err != nil {
			return Quote{}, err
		}
		if q.Time, err = quoteTime(tv); err != nil {
			return Quote{}, fmt.Errorf("time at %s: %w", timePath, err)
		}
	}
	return q, nil
}

// lookup follows a dot path through objects (keys) and arrays (decimal
// indexes).
func lookup(doc any, path string) (any, error) {
	cur := doc
	for _, seg := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil, fmt.Errorf("no %q at %s: %w", seg, path, ErrBadResponse)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("no element %q in an array of %d at %s: %w", seg, len(c), path, ErrBadResponse)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("%q of %s is inside a %s, not an object or array: %w", seg, path, kind(cur), ErrBadResponse)
		}
	}
	return cur, nil
}

// number reads a JSON number, or a string holding a decimal number.
func number(v any) (float64, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, fmt.Errorf("a %s, want a number: %w", kind(v), ErrBadResponse)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a finite number: %w", truncate(s), ErrBadResponse)
	}
	return f, nil
}

// quoteTime reads Unix seconds or milliseconds (a number or numeric
// string) or an RFC 3339 string.
func quoteTime(v any) (time.Time, error) {
	var t time.Time
	if s, ok := v.(string); ok {
		if p, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s)); err == nil {
			t = p
		}
	}
	if t.IsZero() {
		f, err := number(v)
		if err != nil {
			return time.Time{}, err
		}
		if math.Abs(f) >= msThreshold {
			f /= 1000
		}
		if f < minQuoteUnix || f > maxQuoteUnix {
			return time.Time{}, fmt.Errorf("%v is not a Unix time between 2009 and 3000: %w", f, ErrBadResponse)
		}
		sec, frac := math.Modf(f)
		t = time.Unix(int64(sec), int64(frac*1e9))
	}
	if u := t.Unix(); u < minQuoteUnix || u > maxQuoteUnix {
		return time.Time{}, fmt.Errorf("%s is not between 2009 and 3000: %w", t.Format(time.RFC3339), ErrBadResponse)
	}
	return t.UTC(), nil
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
