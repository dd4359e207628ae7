package contract

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

// ercot is the market calendar's zone, loaded once (immutable).
var ercot = sync.OnceValue(price.ERCOTLocation)

// Window says when a commitment holds. Every condition that is set must
// hold; an empty Window always holds. Calendar terms (months, weekdays,
// From/To) are read on the America/Chicago wall clock.
type Window struct {
	// Start and End bound the window absolutely: [Start, End); either may
	// be zero (open). In YAML: RFC 3339 ("2024-06-01T00:00:00-05:00") or a
	// date ("2024-06-01"), meaning local midnight in America/Chicago.
	Start time.Time
	End   time.Time
	// Months limits the window to these local months.
	Months []time.Month
	// Weekdays limits the window to Monday to Friday (local).
	Weekdays bool
	// From and To ("HH:MM", local wall clock) limit the window to
	// [From, To) each day; To may be "24:00", and To before From wraps past
	// midnight. Both or neither are set. Months and Weekdays apply to the
	// local date of the instant tested, so a 22:00–06:00 window on
	// weekdays holds Friday night until midnight and Monday from 00:00.
	// Being wall-clock times, on the autumn DST day a 01:00–02:00 window
	// holds for two hours and on the spring day a 02:00–03:00 one never.
	From string
	To   string
}

// windowYAML is Window as written in YAML.
type windowYAML struct {
	Start    string       `yaml:"start,omitempty"`
	End      string       `yaml:"end,omitempty"`
	Months   []time.Month `yaml:"months,omitempty"`
	Weekdays bool         `yaml:"weekdays,omitempty"`
	From     string       `yaml:"from,omitempty"`
	To       string       `yaml:"to,omitempty"`
}

// UnmarshalYAML decodes a window, parsing start and end strictly (the YAML
// library would silently read a malformed timestamp as zero, i.e. "open").
func (w *Window) UnmarshalYAML(unmarshal func(any) error) error {
	var raw windowYAML
	if err := unmarshal(&raw); err != nil {
		return err
	}
	start, err := parseInstant(raw.Start)
	if err != nil {
		return fmt.Errorf("window start: %w", err)
	}
	end, err := parseInstant(raw.End)
	if err != nil {
		return fmt.Errorf("window end: %w", err)
	}
	*w = Window{Start: start, End: end, Months: raw.Months, Weekdays: raw.Weekdays, From: raw.From, To: raw.To}
	return nil
}

// MarshalYAML encodes a window with RFC 3339 instants.
func (w Window) MarshalYAML() (any, error) {
	raw := windowYAML{Months: w.Months, Weekdays: w.Weekdays, From: w.From, To: w.To}
	if !w.Start.IsZero() {
		raw.Start = w.Start.Format(time.RFC3339Nano)
	}
	if !w.End.IsZero() {
		raw.End = w.End.Format(time.RFC3339Nano)
	}
	return raw, nil
}

// parseInstant reads RFC 3339 or a date (local midnight in America/Chicago);
// "" is the zero time. The result is in UTC.
func parseInstant(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, ercot()); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2024-06-01T00:00:00-05:00) or a date (2024-06-01)", s)
}

// parseClock reads "HH:MM" as minutes after midnight; "24:00" only when
// allow24.
func parseClock(s string, allow24 bool) (int, error) {
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	switch {
	case err1 != nil || err2 != nil || m > 59:
		return 0, fmt.Errorf("%q: want HH:MM", s)
	case h == 24 && m == 0 && allow24:
		return 24 * 60, nil
	case h > 23:
		return 0, fmt.Errorf("%q: want HH:MM from 00:00 to 23:59", s)
	}
	return h*60 + m, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (w Window) validate(v *validator, path string) {
	if !w.Start.IsZero() && !w.End.IsZero() && !w.End.After(w.Start) {
		v.fail(path+".end", "%s: must be after start %s", w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339))
	}
	v.months(path+".months", w.Months)
	if (w.From == "") != (w.To == "") {
		v.fail(path, "from and to: set both or neither")
		return
	}
	if w.From == "" {
		return
	}
	from, err := parseClock(w.From, false)
	if err != nil {
		v.fail(path+".from", "%v", err)
	}
	to, err2 := parseClock(w.To, true)
	if err2 != nil {
		v.fail(path+".to", "%v", err2)
	}
	if err == nil && err2 == nil && from == to {
		v.fail(path+".to", "%q: must differ from from (%q); leave both out for all day", w.To, w.From)
	}
}

// clock returns From and To in minutes and whether they are set and valid.
func (w Window) clock() (from, to int, ok bool) {
	if w.From == "" || w.To == "" {
		return 0, 0, false
	}
	from, err := parseClock(w.From, false)
	if err != nil {
		return 0, 0, false
	}
	to, err = parseClock(w.To, true)
	if err != nil {
		return 0, 0, false
	}
	return from, to, true
}

// Contains reports whether the window holds at t. A window that fails
// Validate may give any answer.
func (w Window) Contains(t time.Time) bool {
	if !w.Start.IsZero() && t.Before(w.Start) {
		return false
	}
	if !w.End.IsZero() && !t.Before(w.End) {
		return false
	}
	if len(w.Months) == 0 && !w.Weekdays && w.From == "" {
		return true
	}
	lt := t.In(ercot())
	if len(w.Months) > 0 && !slices.Contains(w.Months, lt.Month()) {
		return false
	}
	if w.Weekdays && (lt.Weekday() == time.Saturday || lt.Weekday() == time.Sunday) {
		return false
	}
	if w.From == "" && w.To == "" {
		return true
	}
	from, to, ok := w.clock()
	if !ok {
		return false
	}
	tod := time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute +
		time.Duration(lt.Second())*time.Second + time.Duration(lt.Nanosecond())
	f, e := time.Duration(from)*time.Minute, time.Duration(to)*time.Minute
	if f < e {
		return tod >= f && tod < e
	}
	return tod >= f || tod < e
}

// Overlap returns how much of iv the window holds.
func (w Window) Overlap(iv energy.Interval) time.Duration {
	if !iv.End.After(iv.Start) {
		return 0
	}
	var d time.Duration
	cuts := w.breaks(iv, nil)
	cuts = normalizeCuts(iv, cuts)
	for i := 0; i+1 < len(cuts); i++ {
		if w.Contains(cuts[i]) {
			d += cuts[i+1].Sub(cuts[i])
		}
	}
	return d
}

// breaks appends to dst every instant strictly inside iv at which
// Contains may change: the absolute bounds, local midnights, the From and
// To wall-clock times, and DST transitions. Between two consecutive breaks
// Contains is constant (every condition is half-open on the left).
func (w Window) breaks(iv energy.Interval, dst []time.Time) []time.Time {
	add := func(t time.Time) {
		if t.After(iv.Start) && t.Before(iv.End) {
			dst = append(dst, t)
		}
	}
	if !w.Start.IsZero() {
		add(w.Start)
	}
	if !w.End.IsZero() {
		add(w.End)
	}
	if len(w.Months) == 0 && !w.Weekdays && w.From == "" {
		return dst
	}
	walls := []int{0}
	if from, to, ok := w.clock(); ok {
		walls = append(walls, from, to)
	}
	loc := ercot()
	// Within each span of constant UTC offset, the wall clock reads
	// UTC + offset, so wall time x on local date d occurs exactly at
	// d + x − offset (if that falls inside the span).
	for a := iv.Start; a.Before(iv.End); {
		_, next := a.In(loc).ZoneBounds()
		b := iv.End
		if !next.IsZero() && next.Before(b) {
			b = next
			add(next)
		}
		_, off := a.In(loc).Zone()
		offset := time.Duration(off) * time.Second
		first := a.Add(offset).UTC().Truncate(24 * time.Hour)
		last := b.Add(offset).UTC()
		for day := first; !day.After(last); day = day.Add(24 * time.Hour) {
			for _, m := range walls {
				u := day.Add(time.Duration(m)*time.Minute - offset)
				if u.After(a) && u.Before(b) {
					add(u)
				}
			}
		}
		a = b
	}
	return dst
}

// normalizeCuts returns iv.Start, the sorted distinct cuts, iv.End.
func normalizeCuts(iv energy.Interval, cuts []time.Time) []time.Time {
	slices.SortFunc(cuts, func(a, b time.Time) int { return a.Compare(b) })
	out := make([]time.Time, 0, len(cuts)+2)
	out = append(out, iv.Start)
	for _, t := range cuts {
		if t.After(out[len(out)-1]) && t.Before(iv.End) {
			out = append(out, t)
		}
	}
	return append(out, iv.End)
}
