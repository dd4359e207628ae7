package openadr3

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// specDuration is the specification's duration pattern without its
// lookahead (?=\d|T\d), which Go's regexp lacks; specDurationOK adds it
// back.
var specDuration = regexp.MustCompile(`^(-?)P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

func specDurationOK(s string) bool {
	rest := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "P")
	look := len(rest) > 0 && (isDigit(rest[0]) || len(rest) > 1 && rest[0] == 'T' && isDigit(rest[1]))
	return strings.HasPrefix(strings.TrimPrefix(s, "-"), "P") && look && specDuration.MatchString(s)
}

func TestDurationParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Period
	}{
		{"PT1H", Period{Hours: 1}},
		{"PT30M", Period{Minutes: 30}},
		{"PT0S", Period{}},
		{"PT0.5S", Period{Seconds: 500 * time.Millisecond}},
		{"P9999Y", Period{Years: 9999}},
		{"P1Y2M3DT4H5M6.25S", Period{Years: 1, Months: 2, Days: 3, Hours: 4, Minutes: 5, Seconds: 6250 * time.Millisecond}},
		{"P2W", Period{Weeks: 2}},
		{"-PT15M", Period{Neg: true, Minutes: 15}},
		{"P1DT", Period{Days: 1}}, // the pattern allows a bare T
		{"P7D", Period{Days: 7}},
	} {
		got, err := Duration(tc.in).Parse()
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if !specDurationOK(tc.in) {
			t.Errorf("%q: the specification's pattern rejects it", tc.in)
		}
	}
	for _, in := range []string{"", "P", "PT", "1H", "P1H", "PT1D", "P1W2D", "P1D1M", "PT1.5H", "P0S", "P1Y1Y", "PT1S2M", "P-1D", "p1d", "PT1HX", "P1.5D"} {
		if _, err := Duration(in).Parse(); !errors.Is(err, ErrBadDuration) {
			t.Errorf("Parse(%q) = %v, want ErrBadDuration", in, err)
		}
		if specDurationOK(in) {
			t.Errorf("%q: the specification's pattern accepts it", in)
		}
	}
}

func TestPeriodAddTo(t *testing.T) {
	t0 := time.Date(2024, 1, 31, 22, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"PT1H", t0.Add(time.Hour), true},
		{"P1M", time.Date(2024, 3, 2, 22, 0, 0, 0, time.UTC), true}, // Go's AddDate normalises Feb 31
		{"P1DT2H", t0.Add(26 * time.Hour), true},
		{"-PT30M", t0.Add(-30 * time.Minute), true},
		{"P9999Y", time.Time{}, false},
		{"P2W", t0.Add(14 * 24 * time.Hour), true},
	} {
		p, err := Duration(tc.in).Parse()
		if err != nil {
			t.Fatal(err)
		}
		got, ok := p.AddTo(t0)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("%s after %s = %s, %v; want %s, %v", tc.in, t0, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDurationOf(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want Duration
	}{
		{time.Hour, "PT1H"}, {90 * time.Minute, "PT1H30M"}, {0, "PT0S"}, {26 * time.Hour, "P1DT2H"},
		{48 * time.Hour, "P2D"}, {1500 * time.Millisecond, "PT1.5S"}, {-time.Minute, "-PT1M"},
	} {
		got := DurationOf(tc.d)
		if got != tc.want {
			t.Errorf("DurationOf(%v) = %s, want %s", tc.d, got, tc.want)
		}
		p, err := got.Parse()
		if err != nil {
			t.Fatal(err)
		}
		if f, ok := p.Fixed(); !ok || f != tc.d {
			t.Errorf("%s parses back to %v, %v", got, f, ok)
		}
	}
}

func TestDateTimeParse(t *testing.T) {
	for _, tc := range []struct {
		in   DateTime
		want time.Time
		now  bool
	}{
		{"2023-02-10T00:00:00.000Z", time.Date(2023, 2, 10, 0, 0, 0, 0, time.UTC), false},
		{"2023-02-10T01:00:00+01:00", time.Date(2023, 2, 10, 0, 0, 0, 0, time.UTC), false},
		{"0001-01-01", time.Time{}, true},
		{"0001-01-01T00:00:00", time.Time{}, true},
		{"0001-01-01T00:00:00Z", time.Time{}, true},
		{"0001-01-01T00:00:00.000Z", time.Time{}, true},
	} {
		got, now, err := tc.in.Parse()
		if err != nil || now != tc.now || !got.Equal(tc.want) {
			t.Errorf("Parse(%q) = %s, %v, %v; want %s, %v", tc.in, got, now, err, tc.want, tc.now)
		}
	}
	for _, in := range []DateTime{"", "17:15:16", "2023-02-10", "2023-02-10T00:00:00"} {
		if _, _, err := in.Parse(); !errors.Is(err, ErrBadDateTime) {
			t.Errorf("Parse(%q) = %v, want ErrBadDateTime", in, err)
		}
	}
}

// FuzzDuration checks the parser against the specification's pattern and
// that nothing it accepts makes the arithmetic panic.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{"PT1H", "P9999Y", "-P1Y2M3DT4H5M6.5S", "P2W", "PT", "P1DT", "P99999999999999999999D", "PT9223372036S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Duration(s).Parse()
		if err == nil && !specDurationOK(s) {
			t.Fatalf("%q accepted, but the specification's pattern rejects it", s)
		}
		if err != nil {
			return
		}
		p.AddTo(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
		if d, ok := p.Fixed(); ok && !p.Neg && d < 0 {
			t.Fatalf("%q: fixed span %v is negative", s, d)
		}
	})
}

func FuzzDateTime(f *testing.F) {
	for _, s := range []string{"2023-02-10T00:00:00.000Z", "0001-01-01", "9999-12-31T23:59:59Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, now, err := DateTime(s).Parse()
		if err != nil || now {
			return
		}
		back, now2, err := DateTimeOf(tm).Parse()
		if err != nil || now2 || !back.Equal(tm) {
			t.Fatalf("%q: %s does not format and parse back: %s %v %v", s, tm, back, now2, err)
		}
	})
}
