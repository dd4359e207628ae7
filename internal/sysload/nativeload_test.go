package sysload

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/xlsxtest"
)

// xlsxSheet is one sheet of a generated workbook (see xlsxtest.Sheet).
type xlsxSheet struct {
	name string
	rows [][]any
}

func xlsxBytes(tb testing.TB, sheets ...xlsxSheet) []byte {
	out := make([]xlsxtest.Sheet, len(sheets))
	for i, s := range sheets {
		out[i] = xlsxtest.Sheet{Name: s.name, Rows: s.rows}
	}
	return xlsxtest.Bytes(tb, out...)
}

func writeFile(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

var (
	// The 2021–2022 layout, and the 2020 one (sheet and first column named
	// differently).
	hdr2021 = []any{"Hour Ending", "COAST", "EAST", "FWEST", "NORTH", "NCENT", "SOUTH", "SCENT", "WEST", "ERCOT"}
	hdr2020 = []any{"HourEnding", "COAST", "EAST", "FWEST", "NORTH", "NCENT", "SOUTH", "SCENT", "WEST", "ERCOT"}
)

// nlRow is a Native Load row whose zones are filler and whose total is mw.
func nlRow(hour any, mw any) []any { return []any{hour, 1, 2, 3, 4, 5, 6, 7, 8, mw} }

func TestReadNativeLoad(t *testing.T) {
	tests := []struct {
		name  string
		sheet xlsxSheet
		want  Series
	}{
		{"2021 layout across both DST days", xlsxSheet{"Sheet1", [][]any{
			hdr2021,
			nlRow("03/14/2021 01:00", 33483.790201000003),
			nlRow("03/14/2021 02:00", 32296.896734999998),
			nlRow("03/14/2021 04:00", 31390.578169), // 03:00 does not exist
			nil,                                     // a blank row is skipped
			nlRow("11/07/2021 01:00", 34000),
			nlRow("11/07/2021 02:00", 33049.815345000003),
			nlRow("11/07/2021 02:00 DST", 32661.760943000001),
			nlRow("11/07/2021 03:00", 32500),
			nlRow("12/31/2021 24:00", 39270.591872999998),
		}}, Series{
			hr(utc(2021, 3, 14, 6), 33483.790201000003),
			hr(utc(2021, 3, 14, 7), 32296.896734999998),
			hr(utc(2021, 3, 14, 8), 31390.578169),
			hr(utc(2021, 11, 7, 5), 34000),
			hr(utc(2021, 11, 7, 6), 33049.815345000003),
			hr(utc(2021, 11, 7, 7), 32661.760943000001),
			hr(utc(2021, 11, 7, 8), 32500),
			hr(utc(2022, 1, 1, 5), 39270.591872999998),
		}},
		{"2020 layout, rows out of order, a date-time serial", xlsxSheet{"Native Load Report", [][]any{
			hdr2020,
			nlRow("12/01/2022 02:00", 41853.512863000004),
			nlRow(44896.041666666664, 42313.989670000003), // 12/01/2022 01:00, as in the 2022 workbook
			nlRow(44896.0, 43364.593395999997),            // midnight: 11/30/2022 24:00
			nlRow(" 01/01/2020 01:00 ", "36824.115099000002"),
		}}, Series{
			hr(utc(2020, 1, 1, 6), 36824.115099000002),
			hr(utc(2022, 12, 1, 5), 43364.593395999997),
			hr(utc(2022, 12, 1, 6), 42313.989670000003),
			hr(utc(2022, 12, 1, 7), 41853.512863000004),
		}},
		{"only the two columns used", xlsxSheet{"x", [][]any{
			{"ERCOT", "hour ending"},
			{50000.5, "07/20/2022 17:00"},
		}}, Series{hr(utc(2022, 7, 20, 21), 50000.5)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := xlsxBytes(t, tt.sheet)
			got, err := ReadNativeLoad(bytes.NewReader(data), "x.xlsx")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadNativeLoad mismatch (-want +got):\n%s", diff)
			}
			for _, open := range []func(string) (Series, error){OpenNativeLoad, Open} {
				fromFile, err := open(writeFile(t, "load.xlsx", data))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(got, fromFile); diff != "" {
					t.Errorf("reading the file differs (-reader +file):\n%s", diff)
				}
			}
		})
	}
}

func TestReadNativeLoadErrors(t *testing.T) {
	one := func(rows ...[]any) xlsxSheet { return xlsxSheet{"Sheet1", append([][]any{hdr2021}, rows...)} }
	ok := nlRow("07/20/2022 17:00", 80000)
	tests := []struct {
		name    string
		sheets  []xlsxSheet
		wantErr string
		is      error
	}{
		{"bad hour ending", []xlsxSheet{one(ok, nlRow("07/20/2022 25:00", 1))}, `x.xlsx: sheet Sheet1 row 3: Hour Ending "07/20/2022 25:00": want MM/DD/YYYY HH:00`, nil},
		{"ISO date", []xlsxSheet{one(nlRow("2022-07-20 17:00", 1))}, `x.xlsx: sheet Sheet1 row 2: Hour Ending "2022-07-20 17:00"`, nil},
		{"half hour", []xlsxSheet{one(nlRow("07/20/2022 17:30", 1))}, `Hour Ending "07/20/2022 17:30"`, nil},
		{"no such day", []xlsxSheet{one(nlRow("02/29/2022 17:00", 1))}, `Hour Ending "02/29/2022 17:00": no such day`, nil},
		{"serial off the hour", []xlsxSheet{one(nlRow(44896.05, 1))}, `Hour Ending "44896.05": date-time serial not on the hour`, nil},
		{"spring-forward hour", []xlsxSheet{one(nlRow("03/13/2022 03:00", 1))}, `x.xlsx: sheet Sheet1 row 2: 2022-03-13 hour-ending 03:00: local time does not exist in America/Chicago`, nil},
		{"DST on an ordinary hour", []xlsxSheet{one(nlRow("07/20/2022 17:00 DST", 1))}, `2022-07-20 hour-ending 17:00 DST: DST suffix on an hour that is not repeated`, nil},
		{"load text", []xlsxSheet{one(nlRow("07/20/2022 17:00", "n/a"))}, `x.xlsx: sheet Sheet1 row 2: ERCOT "n/a": not a number`, nil},
		{"load missing", []xlsxSheet{one([]any{"07/20/2022 17:00", 1, 2})}, `ERCOT "": not a number`, nil},
		{"load NaN", []xlsxSheet{one(nlRow("07/20/2022 17:00", "NaN"))}, `x.xlsx: sheet Sheet1 row 2: 2022-07-20 hour-ending 17:00: load: NaN`, energy.ErrNotFinite},
		{"load zero", []xlsxSheet{one(nlRow("07/20/2022 17:00", 0))}, `load 0 MW: must be positive`, nil},
		{"load negative", []xlsxSheet{one(nlRow("07/20/2022 17:00", -3))}, `load -3 MW: must be positive`, nil},
		{"hour twice", []xlsxSheet{one(ok, nlRow("07/20/2022 18:00", 1), ok)}, `x.xlsx: sheet Sheet1 row 4: hour starting 2022-07-20T21:00:00Z given twice (also at sheet Sheet1 row 2)`, nil},
		{"fall-back hour twice without DST", []xlsxSheet{one(nlRow("11/06/2022 02:00", 1), nlRow("11/06/2022 02:00", 2))}, `given twice`, nil},
		{"hour twice across sheets", []xlsxSheet{one(ok), {"Sheet2", [][]any{hdr2020, ok}}}, `x.xlsx: sheet Sheet2 row 2: hour starting 2022-07-20T21:00:00Z given twice (also at sheet Sheet1 row 2)`, nil},
		{"no ERCOT column", []xlsxSheet{{"Sheet1", [][]any{{"Hour Ending", "COAST"}, {"07/20/2022 17:00", 1}}}}, `x.xlsx: sheet Sheet1 row 1: not a Native Load header (want Hour Ending and ERCOT columns)`, nil},
		{"column twice", []xlsxSheet{{"Sheet1", [][]any{{"Hour Ending", "ERCOT", "ERCOT"}}}}, `x.xlsx: sheet Sheet1 row 1: column "ERCOT" appears twice`, nil},
		{"header only", []xlsxSheet{one()}, `x.xlsx: no load rows`, nil},
		{"empty workbook", []xlsxSheet{{"Sheet1", nil}}, `x.xlsx: no load rows`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadNativeLoad(bytes.NewReader(xlsxBytes(t, tt.sheets...)), "x.xlsx")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ReadNativeLoad = %d points, %v; want error containing %q", len(s), err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
	if _, err := ReadNativeLoad(strings.NewReader("Hour Ending,ERCOT\n"), "x.xlsx"); err == nil || !strings.HasPrefix(err.Error(), "read x.xlsx: ") {
		t.Errorf("ReadNativeLoad(not a workbook) = %v, want an error starting %q", err, "read x.xlsx: ")
	}
	if _, err := OpenNativeLoad(filepath.Join(t.TempDir(), "missing.xlsx")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenNativeLoad(missing) = %v, want os.ErrNotExist", err)
	}
}

func TestParseHourEnding(t *testing.T) {
	tests := []struct {
		in      string
		want    localHour
		wantErr string
	}{
		{"01/01/2020 01:00", localHour{2020, time.January, 1, 1, false}, ""},
		{"12/31/2022 24:00", localHour{2022, time.December, 31, 24, false}, ""},
		{"11/06/2022 02:00 DST", localHour{2022, time.November, 6, 2, true}, ""},
		{"11/06/2022 02:00DST", localHour{2022, time.November, 6, 2, true}, ""},
		{"1/6/2022 2:00", localHour{2022, time.January, 6, 2, false}, ""},
		{"44896.041666666664", localHour{2022, time.December, 1, 1, false}, ""},
		{"44896.99999999", localHour{2022, time.December, 1, 24, false}, ""},
		{"44896", localHour{2022, time.November, 30, 24, false}, ""},
		{"44896.5", localHour{2022, time.December, 1, 12, false}, ""},
		{"2958465.5", localHour{9999, time.December, 31, 12, false}, ""}, // the last day Excel knows
		{"2958466", localHour{}, "want MM/DD/YYYY HH:00"},
		{"12/31/2022 00:00", localHour{}, "want MM/DD/YYYY HH:00"},
		{"12/31/2022 25:00", localHour{}, "want MM/DD/YYYY HH:00"},
		{"13/01/2022 01:00", localHour{}, "want MM/DD/YYYY HH:00"},
		{"12/31/22 01:00", localHour{}, "want MM/DD/YYYY HH:00"},
		{"12/31/2022 01:00:00", localHour{}, "want MM/DD/YYYY HH:00"},
		{"12/31/2022 +1:00", localHour{}, "want MM/DD/YYYY HH:00"},
		{"12/31/2022", localHour{}, "want MM/DD/YYYY HH:00"},
		{"DST", localHour{}, "want MM/DD/YYYY HH:00"},
		{"44896 DST", localHour{}, "want MM/DD/YYYY HH:00"},
		{"04/31/2022 01:00", localHour{}, "no such day"},
		{"44896.01", localHour{}, "not on the hour"},
		{"60", localHour{}, "want MM/DD/YYYY HH:00"},
		{"NaN", localHour{}, "want MM/DD/YYYY HH:00"},
		{"", localHour{}, "want MM/DD/YYYY HH:00"},
	}
	for _, tt := range tests {
		got, err := parseHourEnding(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseHourEnding(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseHourEnding(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParseHourEnding checks that any accepted hour-ending cell names a
// real local day and hour 1–24, and that converting it to UTC never panics
// and, when it succeeds, lands within a day and a half of the day's UTC
// midnight, on the hour.
func FuzzParseHourEnding(f *testing.F) {
	for _, s := range []string{"01/01/2020 01:00", "12/31/2022 24:00", "11/06/2022 02:00 DST", "03/13/2022 03:00", "44896.041666666664", "44896", "2/29/2024 7:00", "99999999"} {
		f.Add(s, 1.5)
	}
	f.Fuzz(func(t *testing.T, cell string, mw float64) {
		h, err := parseHourEnding(cell)
		if err != nil {
			return
		}
		if h.ending < 1 || h.ending > 24 || h.year < 1900 || h.year > 9999 {
			t.Fatalf("parseHourEnding(%q) = %+v: out of range", cell, h)
		}
		if d := time.Date(h.year, h.month, h.day, 0, 0, 0, 0, time.UTC); d.Day() != h.day || d.Month() != h.month {
			t.Fatalf("parseHourEnding(%q) = %+v: no such day", cell, h)
		}
		start, err := h.start()
		if err != nil {
			return
		}
		midnight := time.Date(h.year, h.month, h.day, 0, 0, 0, 0, time.UTC)
		if off := start.Sub(midnight); off < 0 || off > 36*time.Hour || start.Truncate(time.Hour) != start {
			t.Errorf("%+v starts %v, %v after the day's UTC midnight", h, start, off)
		}
		p, err := parseNativeRow(cell, fmt.Sprint(mw))
		if err == nil && (!p.Interval.Start.Equal(start) || p.Interval.Duration() != time.Hour || p.MW != mw) {
			t.Errorf("parseNativeRow(%q, %v) = %+v, want the hour starting %v", cell, mw, p, start)
		}
	})
}
