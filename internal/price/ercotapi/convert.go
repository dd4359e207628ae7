package ercotapi

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
)

// civilDay is a delivery (operating) day in ERCOT's local calendar.
type civilDay struct {
	y int
	m time.Month
	d int
}

func dayOf(t time.Time, loc *time.Location) civilDay {
	y, m, d := t.In(loc).Date()
	return civilDay{y, m, d}
}

// start is the day's local midnight (which exists every day in
// America/Chicago: its changes are at 2 a.m.).
func (c civilDay) start(loc *time.Location) time.Time {
	return time.Date(c.y, c.m, c.d, 0, 0, 0, 0, loc)
}

func (c civilDay) next() civilDay {
	t := time.Date(c.y, c.m, c.d+1, 0, 0, 0, 0, time.UTC)
	return civilDay{t.Year(), t.Month(), t.Day()}
}

func (c civilDay) end(loc *time.Location) time.Time { return c.next().start(loc) }

func (c civilDay) String() string { return fmt.Sprintf("%04d-%02d-%02d", c.y, c.m, c.d) }

// days lists the local days overlapping [from, to).
func days(from, to time.Time, loc *time.Location) []civilDay {
	var out []civilDay
	for d := dayOf(from, loc); d.start(loc).Before(to); d = d.next() {
		out = append(out, d)
	}
	return out
}

// wallToUTC returns the instant a wall-clock reading in loc stands for. The
// reading is given in wall's fields (its own location is ignored). The
// reading is matched against every offset loc uses within 36 hours of it:
// no match means the reading does not exist (the hour skipped when clocks
// spring forward), two mean it occurs twice (the hour repeated when they
// fall back) and repeated picks the later one. This is the rule of the
// NP6-905-CD CSV reader in package price/ercot.
func wallToUTC(loc *time.Location, wall time.Time, repeated bool) (time.Time, error) {
	w := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), time.UTC)
	_, off1 := w.Add(-36 * time.Hour).In(loc).Zone()
	_, off2 := w.Add(36 * time.Hour).In(loc).Zone()
	var cands []time.Time
	for _, off := range []int{off1, off2} {
		t := w.Add(-time.Duration(off) * time.Second)
		if _, o := t.In(loc).Zone(); o != off {
			continue
		}
		if len(cands) == 1 && cands[0].Equal(t) {
			continue
		}
		cands = append(cands, t)
	}
	slices.SortFunc(cands, func(a, b time.Time) int { return a.Compare(b) })
	what := w.Format("2006-01-02 15:04:05")
	switch {
	case len(cands) == 0:
		return time.Time{}, fmt.Errorf("local time %s does not exist in %s (spring forward)", what, loc)
	case len(cands) == 1 && repeated:
		return time.Time{}, fmt.Errorf("local time %s is flagged repeated but occurs once", what)
	case repeated:
		return cands[1], nil
	default:
		return cands[0], nil
	}
}

// wallString formats t as the API's query timestamps: its wall-clock
// reading in loc, yyyy-MM-ddTHH:mm:ss.
func wallString(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02T15:04:05")
}

// Value readers. Row values are string, json.Number, bool or nil.

func valueString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), nil
	case json.Number:
		return x.String(), nil
	}
	return "", fmt.Errorf("%s: want text", show(v))
}

func valueInt(v any, lo, hi int) (int, error) {
	var n int64
	var err error
	switch x := v.(type) {
	case json.Number:
		n, err = x.Int64()
		if err != nil {
			var f float64
			if f, err = x.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1e9 {
				n = int64(f)
			} else {
				err = fmt.Errorf("not a whole number")
			}
		}
	case string:
		n, err = strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	default:
		err = fmt.Errorf("want a number")
	}
	if err != nil || n < int64(lo) || n > int64(hi) {
		return 0, fmt.Errorf("%s: want a whole number %d to %d", show(v), lo, hi)
	}
	return int(n), nil
}

func valuePrice(v any, what string) (energy.Price, error) {
	var f float64
	var err error
	switch x := v.(type) {
	case json.Number:
		f, err = strconv.ParseFloat(x.String(), 64)
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
	default:
		return 0, fmt.Errorf("%s: want a number", show(v))
	}
	if err != nil {
		return 0, fmt.Errorf("%s: not a number", show(v))
	}
	return energy.NewPrice(what, f)
}

// valueFlag reads a DST or repeated-hour flag: a JSON boolean (what the API
// sends) or the files' "Y"/"N"; null or "" is false.
func valueFlag(v any) (bool, error) {
	switch x := v.(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "", "n", "false", "0":
			return false, nil
		case "y", "true", "1":
			return true, nil
		}
	case json.Number:
		switch x.String() {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
	}
	return false, fmt.Errorf("%s: want true or false", show(v))
}

// valueDate reads a delivery date: yyyy-MM-dd (the API), MM/DD/YYYY (the
// files), or a yyyy-MM-ddT00:00:00 timestamp.
func valueDate(v any) (civilDay, error) {
	s, err := valueString(v)
	if err != nil {
		return civilDay{}, err
	}
	for _, layout := range []string{"2006-01-02", "01/02/2006", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1900 || t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 {
				break
			}
			return civilDay{t.Year(), t.Month(), t.Day()}, nil
		}
	}
	return civilDay{}, fmt.Errorf("%s: want a date yyyy-MM-dd", show(v))
}

// valueWall reads a local timestamp yyyy-MM-ddTHH:mm:ss (fractions and a
// space for the T allowed) as a wall reading (in UTC fields), or a
// timestamp with an offset, returned with offset=true.
func valueWall(v any) (t time.Time, offset bool, err error) {
	s, err := valueString(v)
	if err != nil {
		return time.Time{}, false, err
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() >= 1900 {
			return t, false, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%s: want a timestamp yyyy-MM-ddTHH:mm:ss", show(v))
}

// show quotes a value for an error message.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return strconv.Quote(x)
	}
	s := fmt.Sprint(v)
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}
