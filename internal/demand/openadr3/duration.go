package openadr3

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is an ISO 8601 duration as on the wire, e.g. "PT1H". The
// specification's pattern allows years, months, weeks or days, hours,
// minutes and (fractional) seconds, and a leading minus. "P9999Y" means
// infinity. An empty Duration is absent (the schema's default is PT0S).
type Duration string

// Infinite is the duration meaning "for ever".
const Infinite Duration = "P9999Y"

// ErrBadDuration is wrapped by Parse's errors.
var ErrBadDuration = errors.New("bad ISO 8601 duration")

// Period is a parsed Duration.
type Period struct {
	Neg                        bool
	Years, Months, Weeks, Days int64
	Hours, Minutes             int64
	Seconds                    time.Duration // fractional seconds, to the nanosecond
}

// maxField bounds every field so that arithmetic never overflows.
const maxField = 1 << 31

// Parse parses d. It accepts exactly the specification's pattern
// ^(-?)P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$
func (d Duration) Parse() (Period, error) {
	s := string(d)
	bad := func(why string) (Period, error) {
		return Period{}, fmt.Errorf("duration %q: %s: %w", s, why, ErrBadDuration)
	}
	var p Period
	if strings.HasPrefix(s, "-") {
		p.Neg, s = true, s[1:]
	}
	if !strings.HasPrefix(s, "P") {
		return bad("does not start with P")
	}
	s = s[1:]
	if s == "" || !(isDigit(s[0]) || len(s) > 1 && s[0] == 'T' && isDigit(s[1])) {
		return bad("no number after P")
	}
	date, clock, _ := strings.Cut(s, "T")
	// Date part: [nY][nM][n(D|W)] in this order.
	order := "YMDW"
	last := -1
	for date != "" {
		n, unit, rest, err := leadingNumber(date, false)
		if err != nil {
			return bad(err.Error())
		}
		i := strings.IndexByte(order, unit)
		if i < 0 || i <= last || (unit == 'W' && last == 2) {
			return bad(fmt.Sprintf("unexpected %q in date part", unit))
		}
		if i == 3 {
			last = 3
		} else {
			last = i
		}
		switch unit {
		case 'Y':
			p.Years = int64(n)
		case 'M':
			p.Months = int64(n)
		case 'D':
			p.Days = int64(n)
			last = 3 // nothing may follow D in the date part
		case 'W':
			p.Weeks = int64(n)
		}
		date = rest
	}
	// Time part: [nH][nM][n(.n)S].
	order, last = "HMS", -1
	for clock != "" {
		n, unit, rest, err := leadingNumber(clock, true)
		if err != nil {
			return bad(err.Error())
		}
		i := strings.IndexByte(order, unit)
		if i < 0 || i <= last {
			return bad(fmt.Sprintf("unexpected %q in time part", unit))
		}
		if unit != 'S' && n != math.Trunc(n) {
			return bad("only seconds may have a fraction")
		}
		last = i
		switch unit {
		case 'H':
			p.Hours = int64(n)
		case 'M':
			p.Minutes = int64(n)
		case 'S':
			p.Seconds = time.Duration(math.Round(n * 1e9))
		}
		clock = rest
	}
	return p, nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// leadingNumber reads digits (and, if frac, an optional .digits) and the
// unit letter after them.
func leadingNumber(s string, frac bool) (float64, byte, string, error) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 {
		return 0, 0, "", errors.New("want digits")
	}
	if frac && i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == i+1 {
			return 0, 0, "", errors.New("want digits after the decimal point")
		}
		i = j
	}
	if i >= len(s) {
		return 0, 0, "", errors.New("number without a unit")
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || n >= maxField {
		return 0, 0, "", fmt.Errorf("number %q out of range", s[:i])
	}
	return n, s[i], s[i+1:], nil
}

// IsInfinite reports whether p means "for ever": P9999Y or more.
func (p Period) IsInfinite() bool { return !p.Neg && p.Years >= 9999 }

// IsZero reports whether p is a zero span.
func (p Period) IsZero() bool {
	return p.Years == 0 && p.Months == 0 && p.Weeks == 0 && p.Days == 0 && p.Hours == 0 && p.Minutes == 0 && p.Seconds == 0
}

// AddTo returns t plus p, calendar fields in t's location (UTC on the
// wire). ok is false for an infinite period or one past year 9999.
func (p Period) AddTo(t time.Time) (time.Time, bool) {
	if p.IsInfinite() {
		return time.Time{}, false
	}
	sign := int64(1)
	if p.Neg {
		sign = -1
	}
	if p.Years > 9999 || p.Months > 12*9999 || p.Weeks*7+p.Days > 366*9999 {
		return time.Time{}, false
	}
	t = t.AddDate(int(sign*p.Years), int(sign*p.Months), int(sign*(p.Weeks*7+p.Days)))
	clock, ok := p.clock()
	if !ok {
		return time.Time{}, false
	}
	t = t.Add(time.Duration(sign) * clock)
	if t.Year() > 9999 || t.Year() < 1 {
		return time.Time{}, false
	}
	return t, true
}

// maxClock bounds the hours, minutes and seconds of a period (about 250
// years), far below time.Duration's range.
const maxClock = 250 * 365 * 24 * 3600.0

// clock returns the hours, minutes and seconds of p as a span.
func (p Period) clock() (time.Duration, bool) {
	secs := float64(p.Hours)*3600 + float64(p.Minutes)*60 + p.Seconds.Seconds()
	if secs > maxClock {
		return 0, false
	}
	return time.Duration(p.Hours)*time.Hour + time.Duration(p.Minutes)*time.Minute + p.Seconds, true
}

// Fixed returns p as a fixed span if it has no calendar fields (years,
// months), which vary in length.
func (p Period) Fixed() (time.Duration, bool) {
	if p.Years != 0 || p.Months != 0 || p.Weeks*7+p.Days > 36500 {
		return 0, false
	}
	clock, ok := p.clock()
	if !ok {
		return 0, false
	}
	d := time.Duration(p.Weeks*7+p.Days)*24*time.Hour + clock
	if p.Neg {
		d = -d
	}
	return d, true
}

// DurationOf formats a fixed span: "PT1H30M", "P2DT1H", "PT0.5S".
func DurationOf(d time.Duration) Duration {
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	b.WriteByte('P')
	if days := d / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dD", days)
		d -= days * 24 * time.Hour
	}
	if d == 0 {
		if b.Len() <= 2 {
			b.WriteString("T0S")
		}
		return Duration(b.String())
	}
	b.WriteByte('T')
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dH", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dM", m)
		d -= m * time.Minute
	}
	if d > 0 {
		b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
		b.WriteByte('S')
	}
	return Duration(b.String())
}

// DateTime is an RFC 3339 date-time as on the wire. The specification lets
// an interval period start at "0001-01-01" or "0001-01-01T00:00:00" to mean
// "now"; Parse reports that.
type DateTime string

// Now is the start that means "now".
const Now DateTime = "0001-01-01T00:00:00Z"

// ErrBadDateTime is wrapped by DateTime.Parse's errors.
var ErrBadDateTime = errors.New("bad date-time")

// Parse returns the instant in UTC, or now=true for the "now" convention.
func (d DateTime) Parse() (t time.Time, now bool, err error) {
	switch d {
	case "0001-01-01", "0001-01-01T00:00:00":
		return time.Time{}, true, nil
	}
	t, err = time.Parse(time.RFC3339Nano, string(d))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("date-time %q: %w", string(d), ErrBadDateTime)
	}
	t = t.UTC()
	if t.Equal(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)) {
		return time.Time{}, true, nil
	}
	return t, false, nil
}

// DateTimeOf formats t in UTC (RFC 3339 with the fraction it needs).
func DateTimeOf(t time.Time) DateTime {
	return DateTime(t.UTC().Format(time.RFC3339Nano))
}
