package price

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
)

var t0 = time.Date(2022, 7, 13, 0, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func pt(fromMin, toMin int, p float64) Point {
	return Point{Interval: energy.Interval{Start: at(fromMin), End: at(toMin)}, Price: energy.Price(p)}
}

// sample has a gap over [30, 60) minutes.
func sample() Schedule {
	return Schedule{pt(0, 15, 10), pt(15, 30, -5), pt(60, 75, 9000), pt(75, 90, 40)}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		s       Schedule
		wantErr string // substring; empty means valid
	}{
		{"empty", nil, ""},
		{"with gap and extreme prices", sample(), ""},
		{"overlap", Schedule{pt(0, 20, 1), pt(15, 30, 2)}, "point 1 [2022-07-13T00:15:00Z, 2022-07-13T00:30:00Z): overlaps point 0"},
		{"unsorted", Schedule{pt(15, 30, 1), pt(0, 15, 2)}, "point 1 [2022-07-13T00:00:00Z, 2022-07-13T00:15:00Z): starts before point 0"},
		{"empty interval", Schedule{pt(0, 15, 1), pt(15, 15, 2)}, "point 1"},
		{"NaN", Schedule{pt(0, 15, math.NaN())}, "point 0"},
		{"Inf", Schedule{pt(0, 15, 1), pt(15, 30, math.Inf(1))}, "point 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestAt(t *testing.T) {
	s := sample()
	tests := []struct {
		t      time.Time
		want   float64
		wantOK bool
	}{
		{at(0), 10, true},
		{at(14), 10, true},
		{at(15), -5, true}, // half-open: 15 belongs to the second point
		{at(29), -5, true},
		{at(30), 0, false}, // gap
		{at(59), 0, false},
		{at(60), 9000, true},
		{at(89), 40, true},
		{at(90), 0, false}, // past the end
		{at(-1), 0, false}, // before the start
	}
	for _, tt := range tests {
		got, ok := s.At(tt.t)
		if ok != tt.wantOK || (ok && float64(got.Price) != tt.want) {
			t.Errorf("At(%v) = %v, %v; want %v, %v", tt.t.Format("15:04"), got.Price, ok, tt.want, tt.wantOK)
		}
	}
	if _, ok := Schedule(nil).At(t0); ok {
		t.Error("At on an empty schedule found a point")
	}
}

func TestBetweenAndGaps(t *testing.T) {
	s := sample()
	iv := func(a, b int) energy.Interval { return energy.Interval{Start: at(a), End: at(b)} }
	tests := []struct {
		name     string
		from, to int
		want     Schedule
		wantGaps []energy.Interval
	}{
		{"all", -15, 105, s, []energy.Interval{iv(-15, 0), iv(30, 60), iv(90, 105)}},
		{"exact", 0, 90, s, []energy.Interval{iv(30, 60)}},
		{"partial overlaps count", 10, 65, Schedule{s[0], s[1], s[2]}, []energy.Interval{iv(30, 60)}},
		{"inside the gap", 35, 50, nil, []energy.Interval{iv(35, 50)}},
		{"touching ends do not overlap", 30, 60, nil, []energy.Interval{iv(30, 60)}},
		{"one point", 75, 90, Schedule{s[3]}, nil},
		{"empty span", 50, 50, nil, nil},
		{"reversed span", 60, 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Between(at(tt.from), at(tt.to))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Between mismatch (-want +got):\n%s", diff)
			}
			gaps := s.Gaps(at(tt.from), at(tt.to))
			if diff := cmp.Diff(tt.wantGaps, gaps); diff != "" {
				t.Errorf("Gaps mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// Appending to a Between result must not clobber the schedule.
	part := s.Between(at(0), at(15))
	_ = append(part, pt(15, 30, 777))
	if s[1].Price != -5 {
		t.Errorf("append to Between result changed the schedule: s[1] = %v, want -5", s[1].Price)
	}
}

func TestStatic(t *testing.T) {
	ctx := context.Background()
	if _, err := NewStatic(Schedule{pt(0, 20, 1), pt(15, 30, 2)}); err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Errorf("NewStatic(overlapping) = %v, want an overlap error", err)
	}
	in := sample()
	src, err := NewStatic(in)
	if err != nil {
		t.Fatal(err)
	}
	in[0].Price = 12345 // the source holds its own copy
	got, err := src.Schedule(ctx, at(0), at(30))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Schedule{pt(0, 15, 10), pt(15, 30, -5)}, got); diff != "" {
		t.Errorf("Schedule mismatch (-want +got):\n%s", diff)
	}
	if _, err := src.Schedule(ctx, at(35), at(50)); !errors.Is(err, ErrNoData) {
		t.Errorf("Schedule in a gap: err = %v, want ErrNoData", err)
	}
	if _, err := src.Schedule(ctx, at(50), at(0)); !errors.Is(err, energy.ErrBadInterval) {
		t.Errorf("Schedule reversed: err = %v, want ErrBadInterval", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := src.Schedule(cctx, at(0), at(30)); !errors.Is(err, context.Canceled) {
		t.Errorf("Schedule with cancelled ctx: err = %v, want context.Canceled", err)
	}
}

func TestERCOTLocation(t *testing.T) {
	loc := ERCOTLocation()
	if got, want := loc.String(), "America/Chicago"; got != want {
		t.Fatalf("location = %q, want %q", got, want)
	}
	tests := []struct {
		utc        time.Time
		wantOffset int
	}{
		{time.Date(2021, 1, 15, 12, 0, 0, 0, time.UTC), -6 * 3600},
		{time.Date(2021, 7, 15, 12, 0, 0, 0, time.UTC), -5 * 3600},
	}
	for _, tt := range tests {
		if _, off := tt.utc.In(loc).Zone(); off != tt.wantOffset {
			t.Errorf("offset at %v = %d, want %d", tt.utc, off, tt.wantOffset)
		}
	}
}
