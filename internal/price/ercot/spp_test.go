package ercot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

const hdr = "DeliveryDate,DeliveryHour,DeliveryInterval,SettlementPointName,SettlementPointType,SettlementPointPrice,DSTFlag\n"

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func mustOpen(t *testing.T, path, point string) price.Schedule {
	t.Helper()
	s, err := OpenSPP(path, point)
	if err != nil {
		t.Fatalf("OpenSPP(%s, %s): %v", path, point, err)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("OpenSPP(%s, %s) returned an invalid schedule: %v", path, point, err)
	}
	return s
}

// checkContiguous asserts that s covers [from, to) exactly, in 15-minute steps.
func checkContiguous(t *testing.T, s price.Schedule, from, to time.Time) {
	t.Helper()
	if gaps := s.Gaps(from, to); len(gaps) != 0 {
		t.Errorf("gaps over [%v, %v): %v, want none", from, to, gaps)
	}
	for i, p := range s {
		if d := p.Interval.Duration(); d != 15*time.Minute {
			t.Fatalf("point %d %v lasts %v, want 15m", i, p.Interval, d)
		}
	}
	if len(s) > 0 && (!s[0].Interval.Start.Equal(from) || !s[len(s)-1].Interval.End.Equal(to)) {
		t.Errorf("schedule spans [%v, %v), want [%v, %v)", s[0].Interval.Start, s[len(s)-1].Interval.End, from, to)
	}
}

func TestDays(t *testing.T) {
	tests := []struct {
		file     string
		from, to time.Time // the local delivery day in UTC
		wantN    int
		// spot checks: UTC start -> price
		want map[time.Time]energy.Price
	}{
		{
			file: "normal_day.csv", from: utc(2021, 1, 5, 6, 0), to: utc(2021, 1, 6, 6, 0), wantN: 96,
			want: map[time.Time]energy.Price{
				utc(2021, 1, 5, 6, 0):   11.25,  // HE1 I1 = local 00:00 CST
				utc(2021, 1, 5, 6, 45):  14.25,  // HE1 I4
				utc(2021, 1, 5, 7, 0):   21.25,  // HE2 I1
				utc(2021, 1, 6, 5, 45):  244.25, // HE24 I4 ends at next local midnight
				utc(2021, 1, 5, 18, 15): 132.25, // HE13 I2 = local 12:15
			},
		},
		{
			file: "spring_forward.csv", from: utc(2021, 3, 14, 6, 0), to: utc(2021, 3, 15, 5, 0), wantN: 92,
			want: map[time.Time]energy.Price{
				utc(2021, 3, 14, 7, 45): 24.25, // HE2 I4: local 01:45 CST
				utc(2021, 3, 14, 8, 0):  41.25, // HE4 I1: local 03:00 CDT, right after
				utc(2021, 3, 15, 4, 45): 244.25,
			},
		},
		{
			file: "fall_back.csv", from: utc(2021, 11, 7, 5, 0), to: utc(2021, 11, 8, 6, 0), wantN: 100,
			want: map[time.Time]energy.Price{
				utc(2021, 11, 7, 6, 0):  21.25,  // HE2 I1 N: local 01:00 CDT
				utc(2021, 11, 7, 6, 45): 24.25,  // HE2 I4 N
				utc(2021, 11, 7, 7, 0):  -21.25, // HE2 I1 Y: local 01:00 CST
				utc(2021, 11, 7, 7, 45): -24.25, // HE2 I4 Y
				utc(2021, 11, 7, 8, 0):  31.25,  // HE3 I1: local 02:00 CST
				utc(2021, 11, 8, 5, 45): 244.25,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := mustOpen(t, filepath.Join("testdata", tt.file), "HB_WEST")
			if got := len(s); got != tt.wantN {
				t.Errorf("points = %d, want %d", got, tt.wantN)
			}
			checkContiguous(t, s, tt.from, tt.to)
			for at, want := range tt.want {
				p, ok := s.At(at)
				if !ok || p.Price != want {
					t.Errorf("At(%v) = %v, %v; want %v", at, p.Price, ok, want)
				}
			}
			for i, p := range s {
				if p.Interval.Start.Location() != time.UTC {
					t.Fatalf("point %d start in %v, want UTC", i, p.Interval.Start.Location())
				}
			}
		})
	}
}

func TestCompressedAndZip(t *testing.T) {
	plain := mustOpen(t, "testdata/normal_day.csv", "HB_WEST")
	gz := mustOpen(t, "testdata/normal_day.csv.gz", "HB_WEST")
	if diff := cmp.Diff(plain, gz); diff != "" {
		t.Errorf(".gz differs from plain (-plain +gz):\n%s", diff)
	}
	z := mustOpen(t, "testdata/two_days.zip", "HB_WEST")
	if got, want := len(z), 192; got != want {
		t.Errorf("zip points = %d, want %d", got, want)
	}
	checkContiguous(t, z, utc(2021, 1, 5, 6, 0), utc(2021, 1, 7, 6, 0))
	if diff := cmp.Diff(plain, z[:96]); diff != "" {
		t.Errorf("zip first day differs from plain (-plain +zip):\n%s", diff)
	}
	// HB_NORTH is only in the first member.
	if got, want := len(mustOpen(t, "testdata/two_days.zip", "HB_NORTH")), 96; got != want {
		t.Errorf("zip HB_NORTH points = %d, want %d", got, want)
	}
	for _, path := range []string{"testdata/two_days.zip", "testdata/normal_day.csv.gz"} {
		got, err := Points(path)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"HB_NORTH", "HB_WEST"}, got); diff != "" {
			t.Errorf("Points(%s) mismatch (-want +got):\n%s", path, diff)
		}
	}
}

func TestReorderedQuotedWithGap(t *testing.T) {
	s := mustOpen(t, "testdata/reordered_gap.csv", "HB_WEST")
	if got, want := len(s), 16; got != want {
		t.Fatalf("points = %d, want %d", got, want)
	}
	gaps := s.Gaps(utc(2021, 1, 5, 6, 0), utc(2021, 1, 5, 11, 15))
	wantGaps := []energy.Interval{
		{Start: utc(2021, 1, 5, 8, 15), End: utc(2021, 1, 5, 8, 30)},   // HE3 I2 missing
		{Start: utc(2021, 1, 5, 10, 15), End: utc(2021, 1, 5, 11, 15)}, // after HE5 I1
	}
	if diff := cmp.Diff(wantGaps, gaps); diff != "" {
		t.Errorf("gaps mismatch (-want +got):\n%s", diff)
	}
	if p, ok := s.At(utc(2021, 1, 5, 10, 0)); !ok || p.Price != 9315 {
		t.Errorf("price above the cap = %v, %v; want 9315 unclamped", p.Price, ok)
	}
	if p, ok := s.At(utc(2021, 1, 5, 9, 0)); !ok || p.Price != -6 {
		t.Errorf("HE4 I1 = %v, %v; want -6", p.Price, ok)
	}
}

func TestErrors(t *testing.T) {
	row := func(date, h, i, name, p, dst string) string {
		return strings.Join([]string{date, h, i, name, "HU", p, dst}, ",") + "\n"
	}
	ok := row("01/05/2021", "1", "1", "HB_WEST", "1.5", "N")
	tests := []struct {
		name    string
		in      string
		wantErr string
		is      error
	}{
		{"empty", "", "x.csv: empty file", nil},
		{"missing column", "DeliveryDate,DeliveryHour,SettlementPointName,SettlementPointPrice\n", "x.csv:1: header lacks column DeliveryInterval", nil},
		{"duplicate column", strings.TrimSuffix(hdr, "\n") + ",DeliveryHour\n", `x.csv:1: column "DeliveryHour" appears twice`, nil},
		{"hour 25", hdr + ok + row("01/05/2021", "25", "1", "HB_WEST", "1", "N"), `x.csv:3: DeliveryHour "25": want hour-ending 1 to 24`, nil},
		{"hour 0", hdr + row("01/05/2021", "0", "1", "HB_WEST", "1", "N"), `x.csv:2: DeliveryHour "0"`, nil},
		{"interval 5", hdr + row("01/05/2021", "1", "5", "HB_WEST", "1", "N"), `x.csv:2: DeliveryInterval "5"`, nil},
		{"bad date", hdr + row("2021-01-05", "1", "1", "HB_WEST", "1", "N"), `x.csv:2: DeliveryDate "2021-01-05": want MM/DD/YYYY`, nil},
		{"no such day", hdr + row("02/30/2021", "1", "1", "HB_WEST", "1", "N"), `x.csv:2: DeliveryDate "02/30/2021": no such day`, nil},
		{"price text", hdr + row("01/05/2021", "1", "1", "HB_WEST", "abc", "N"), `x.csv:2: SettlementPointPrice "abc": not a number`, nil},
		{"price NaN", hdr + row("01/05/2021", "1", "1", "HB_WEST", "NaN", "N"), `x.csv:2: SettlementPointPrice: NaN`, energy.ErrNotFinite},
		{"price Inf", hdr + row("01/05/2021", "1", "1", "HB_WEST", "+Inf", "N"), `x.csv:2: SettlementPointPrice: +Inf`, energy.ErrNotFinite},
		{"bad DST flag", hdr + row("01/05/2021", "1", "1", "HB_WEST", "1", "X"), `x.csv:2: DSTFlag "X"`, nil},
		{"DST Y on ordinary hour", hdr + row("01/05/2021", "1", "1", "HB_WEST", "1", "Y"), `x.csv:2: 2021-01-05 hour-ending 1 interval 1: DSTFlag Y on an hour that is not repeated`, nil},
		{"spring-forward hour", hdr + row("03/14/2021", "3", "1", "HB_WEST", "1", "N"), `x.csv:2: 2021-03-14 hour-ending 3 interval 1: local time does not exist`, nil},
		{"duplicate", hdr + ok + row("01/05/2021", "2", "1", "HB_WEST", "1", "N") + ok, `x.csv:4: duplicate interval starting 2021-01-05T06:00:00Z for HB_WEST (also at x.csv:2)`, nil},
		{"fall-back N twice", hdr + row("11/07/2021", "2", "1", "HB_WEST", "1", "N") + row("11/07/2021", "2", "1", "HB_WEST", "2", "N"), `x.csv:3: duplicate interval`, nil},
		{"wrong field count", hdr + "01/05/2021,1,1,HB_WEST\n", "x.csv:2: wrong number of fields", nil},
		{"bad quote", hdr + `01/05/2021,1,1,"HB_WEST,HU,1,N` + "\n", "x.csv:", nil},
		{"point absent", hdr + row("01/05/2021", "1", "1", "HB_NORTH", "1", "N") + row("01/05/2021", "1", "1", "HB_SOUTH", "1", "N"), `x.csv: point "HB_WEST": settlement point not in file (it has HB_NORTH, HB_SOUTH)`, ErrPointNotFound},
		{"header only", hdr, `x.csv: point "HB_WEST": settlement point not in file (the file has no price rows)`, ErrPointNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadSPP(strings.NewReader(tt.in), "x.csv", "HB_WEST")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ReadSPP = %d points, %v; want error containing %q", len(s), err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
	// A malformed fixture file names the file and line.
	_, err := OpenSPP("testdata/bad_hour.csv", "HB_WEST")
	if want := `testdata/bad_hour.csv:5: DeliveryHour "25"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("OpenSPP(bad_hour.csv) = %v, want error containing %q", err, want)
	}
	if _, err := OpenSPP("testdata/no_such_file.csv", "HB_WEST"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenSPP(missing) = %v, want os.ErrNotExist", err)
	}
	// Many points: the error lists a few, not all.
	var b strings.Builder
	b.WriteString(hdr)
	for _, n := range []string{"A", "B", "C", "D", "E", "F", "G"} {
		b.WriteString(row("01/05/2021", "1", "1", n, "1", "N"))
	}
	_, err = ReadSPP(strings.NewReader(b.String()), "x.csv", "HB_WEST")
	if want := "(it has A, B, C, D, E and 2 more)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ReadSPP(7 other points) = %v, want error containing %q", err, want)
	}
}

func TestOptionalDSTFlag(t *testing.T) {
	in := "DeliveryDate,DeliveryHour,DeliveryInterval,SettlementPointName,SettlementPointPrice\n01/05/2021,1,1,HB_WEST,-3.5\n"
	s, err := ReadSPP(strings.NewReader(in), "x.csv", "HB_WEST")
	if err != nil {
		t.Fatal(err)
	}
	want := price.Schedule{{Interval: energy.Interval{Start: utc(2021, 1, 5, 6, 0), End: utc(2021, 1, 5, 6, 15)}, Price: -3.5}}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func FuzzReadSPP(f *testing.F) {
	for _, name := range []string{"normal_day.csv", "spring_forward.csv", "fall_back.csv", "reordered_gap.csv", "bad_hour.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		// Short seeds keep the fuzzer's minimisation fast.
		lines := strings.SplitAfter(string(b), "\n")
		f.Add([]byte(strings.Join(lines[:min(len(lines), 10)], "")))
	}
	f.Add([]byte(hdr + "11/07/2021,2,1,HB_WEST,HU,1,Y\n11/07/2021,2,1,HB_WEST,HU,1,N\n"))
	f.Add([]byte(hdr + "03/14/2021,3,1,HB_WEST,HU,1,N\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadSPP(strings.NewReader(string(data)), "fuzz.csv", "HB_WEST")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") {
				t.Errorf("error %q does not name the source", err)
			}
			return
		}
		if len(s) == 0 {
			t.Fatal("no error and no points")
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("ReadSPP returned an invalid schedule: %v", err)
		}
		for i, p := range s {
			if p.Interval.Duration() != 15*time.Minute || p.Interval.Start.Minute()%15 != 0 {
				t.Fatalf("point %d %v is not a quarter-hour interval", i, p.Interval)
			}
		}
	})
}
