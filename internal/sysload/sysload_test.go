package sysload

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
)

func utc(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }

// hr is the point of the hour starting at t.
func hr(t time.Time, mw float64) Point {
	return Point{Interval: energy.Interval{Start: t, End: t.Add(time.Hour)}, MW: mw}
}

// span is the interval [from, from+d).
func span(from time.Time, d time.Duration) energy.Interval {
	return energy.Interval{Start: from, End: from.Add(d)}
}

func TestValidate(t *testing.T) {
	t0 := utc(2022, 7, 1, 5)
	tests := []struct {
		name    string
		s       Series
		wantErr string
		is      error
	}{
		{"empty", nil, "", nil},
		{"hourly with a gap", Series{hr(t0, 1), hr(t0.Add(3*time.Hour), 2)}, "", nil},
		{"hourly then 15-minute", Series{hr(t0, 1), {span(t0.Add(time.Hour), 15*time.Minute), 2}}, "", nil},
		{"empty interval", Series{{span(t0, 0), 1}}, "load point 0", energy.ErrBadInterval},
		{"NaN", Series{hr(t0, math.NaN())}, "load point 0 [2022-07-01T05:00:00Z, 2022-07-01T06:00:00Z): load: NaN", energy.ErrNotFinite},
		{"Inf", Series{hr(t0, math.Inf(1))}, "load: +Inf", energy.ErrNotFinite},
		{"zero", Series{hr(t0, 0)}, "load 0 MW: must be positive", nil},
		{"negative", Series{hr(t0, -5)}, "load -5 MW: must be positive", nil},
		{"unsorted", Series{hr(t0.Add(time.Hour), 1), hr(t0, 1)}, "load point 1 [2022-07-01T05:00:00Z, 2022-07-01T06:00:00Z): starts before point 0", nil},
		{"overlap", Series{hr(t0, 1), {span(t0.Add(30*time.Minute), time.Hour), 1}}, "load point 1 [2022-07-01T05:30:00Z, 2022-07-01T06:30:00Z): overlaps point 0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if tt.wantErr == "" && tt.is == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	t0 := utc(2021, 12, 31, 22)
	a := Series{hr(t0, 10), hr(t0.Add(time.Hour), 11)}
	b := Series{hr(t0.Add(3*time.Hour), 13), hr(t0.Add(4*time.Hour), 14)}
	same := Series{hr(t0.Add(time.Hour), 11), hr(t0.Add(2*time.Hour), 12)}
	tests := []struct {
		name    string
		in      []Series
		want    Series
		wantErr string
	}{
		{"none", nil, Series{}, ""},
		{"later first", []Series{b, a}, Series{a[0], a[1], b[0], b[1]}, ""},
		{"identical overlap kept once", []Series{a, same, b}, Series{a[0], a[1], same[1], b[0], b[1]}, ""},
		{"same hour, other load", []Series{a, {hr(t0, 10.5)}}, nil, "merge load series: [2021-12-31T22:00:00Z, 2021-12-31T23:00:00Z) (10.5 MW) overlaps [2021-12-31T22:00:00Z, 2021-12-31T23:00:00Z) (10 MW)"},
		{"quarter inside an hour", []Series{a, {{span(t0.Add(15*time.Minute), 15*time.Minute), 10}}}, nil, "overlaps [2021-12-31T22:00:00Z"},
		{"invalid input", []Series{a, {hr(t0, -1)}}, nil, "merge load series: input 1: load point 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Merge(tt.in...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Merge = %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
	before := append(Series(nil), a...)
	if _, err := Merge(b, a); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, a); diff != "" {
		t.Errorf("Merge modified an input (-before +after):\n%s", diff)
	}
}

func TestMonthlyPeaks(t *testing.T) {
	// 2022-07-01T04:00Z is 2022-06-30 23:00 CDT: it belongs to June.
	s := Series{
		hr(utc(2022, 6, 30, 20), 70),
		hr(utc(2022, 7, 1, 4), 90), // June, local
		hr(utc(2022, 7, 1, 5), 80), // July 1 00:00 CDT
		hr(utc(2022, 7, 20, 21), 95),
		hr(utc(2022, 7, 21, 21), 95), // tie: the earlier one wins
		hr(utc(2022, 8, 2, 21), 85),
		{span(utc(2022, 9, 1, 5), 15*time.Minute), 60}, // 15-minute points work too
		{span(utc(2022, 9, 1, 5).Add(15*time.Minute), 15*time.Minute), 61},
		hr(utc(2022, 10, 1, 4), 99),  // September 30 23:00 CDT
		hr(utc(2023, 6, 10, 21), 77), // June of another year
	}
	tests := []struct {
		name   string
		months []time.Month
		want   []Peak
	}{
		{"4CP months", FourCPMonths(), []Peak{
			{hr(utc(2022, 7, 1, 4), 0).Interval, 90},
			{hr(utc(2022, 7, 20, 21), 0).Interval, 95},
			{hr(utc(2022, 8, 2, 21), 0).Interval, 85},
			{hr(utc(2022, 10, 1, 4), 0).Interval, 99},
			{hr(utc(2023, 6, 10, 21), 0).Interval, 77},
		}},
		{"July only", []time.Month{time.July}, []Peak{{hr(utc(2022, 7, 20, 21), 0).Interval, 95}}},
		{"no month present", []time.Month{time.January}, nil},
		{"empty means all", nil, []Peak{
			{hr(utc(2022, 7, 1, 4), 0).Interval, 90},
			{hr(utc(2022, 7, 20, 21), 0).Interval, 95},
			{hr(utc(2022, 8, 2, 21), 0).Interval, 85},
			{hr(utc(2022, 10, 1, 4), 0).Interval, 99},
			{hr(utc(2023, 6, 10, 21), 0).Interval, 77},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MonthlyPeaks(s, tt.months)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MonthlyPeaks mismatch (-want +got):\n%s", diff)
			}
		})
	}
	sep := MonthlyPeaks(s[6:8], nil)
	if want := (Peak{span(utc(2022, 9, 1, 5).Add(15*time.Minute), 15*time.Minute), 61}); len(sep) != 1 || sep[0] != want {
		t.Errorf("15-minute peak = %v, want %v", sep, want)
	}
	for _, tt := range []struct {
		p     Peak
		year  int
		month time.Month
	}{
		{Peak{Interval: hr(utc(2022, 7, 1, 4), 0).Interval}, 2022, time.June},
		{Peak{Interval: hr(utc(2022, 7, 1, 5), 0).Interval}, 2022, time.July},
		{Peak{Interval: hr(utc(2023, 1, 1, 5), 0).Interval}, 2022, time.December},
	} {
		if y, m := tt.p.Month(); y != tt.year || m != tt.month {
			t.Errorf("Peak at %v: Month() = %d %v, want %d %v", tt.p.Interval.Start, y, m, tt.year, tt.month)
		}
	}
}

func TestLocalHourStart(t *testing.T) {
	tests := []struct {
		h       localHour
		want    time.Time
		wantErr string
	}{
		{localHour{2021, time.January, 5, 1, false}, utc(2021, 1, 5, 6), ""},
		{localHour{2021, time.January, 5, 24, false}, utc(2021, 1, 6, 5), ""},
		{localHour{2021, time.July, 5, 17, false}, utc(2021, 7, 5, 21), ""},
		{localHour{2021, time.March, 14, 2, false}, utc(2021, 3, 14, 7), ""},
		{localHour{2021, time.March, 14, 3, false}, time.Time{}, "2021-03-14 hour-ending 03:00: local time does not exist"},
		{localHour{2021, time.March, 14, 4, false}, utc(2021, 3, 14, 8), ""},
		{localHour{2021, time.November, 7, 2, false}, utc(2021, 11, 7, 6), ""},
		{localHour{2021, time.November, 7, 2, true}, utc(2021, 11, 7, 7), ""},
		{localHour{2021, time.November, 7, 3, false}, utc(2021, 11, 7, 8), ""},
		{localHour{2021, time.November, 7, 3, true}, time.Time{}, "2021-11-07 hour-ending 03:00 DST: DST suffix on an hour that is not repeated"},
		{localHour{2021, time.February, 29, 1, false}, time.Time{}, "no such day"},
		{localHour{2021, time.February, 1, 25, false}, time.Time{}, "out of range"},
	}
	for _, tt := range tests {
		got, err := tt.h.start()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v.start() = %v, %v; want error containing %q", tt.h, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("%v.start() = %v, %v; want %v", tt.h, got, err, tt.want)
		}
	}
}

func TestPointPower(t *testing.T) {
	if got, want := hr(utc(2022, 1, 1, 0), 1.5).Power(), 1.5*energy.Megawatt; got != want {
		t.Errorf("Power() = %v, want %v", got, want)
	}
}
