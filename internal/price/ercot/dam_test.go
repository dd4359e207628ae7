package ercot

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
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

// xlsxFile writes a generated workbook into a temporary directory.
func xlsxFile(tb testing.TB, sheets ...xlsxSheet) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "dam.xlsx")
	if err := os.WriteFile(path, xlsxBytes(tb, sheets...), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

var damHdr = []any{"Delivery Date", "Hour Ending", "Repeated Hour Flag", "Settlement Point", "Settlement Point Price"}

func hourPt(start time.Time, p energy.Price) price.Point {
	return price.Point{Interval: energy.Interval{Start: start, End: start.Add(time.Hour)}, Price: p}
}

// dstBook has both DST transitions of 2021 and a sheet of numeric cells.
// Sheets are out of calendar order and HB_NORTH rows are interleaved.
func dstBook() []xlsxSheet {
	return []xlsxSheet{
		{"Nov", [][]any{
			damHdr,
			{"11/07/2021", "01:00", "N", "HB_NORTH", "13.00"},
			{"11/07/2021", "01:00", "N", "HB_WEST", "13.79"},
			{"11/07/2021", "02:00", "N", "HB_WEST", "6.59"},
			{"11/07/2021", "02:00", "N", "HB_NORTH", "7.00"},
			{"11/07/2021", "02:00", "Y", "HB_WEST", "23.20"},
			{"11/07/2021", "03:00", "N", "HB_WEST", "18.33"},
		}},
		{"Mar", [][]any{
			damHdr,
			{"03/14/2021", "01:00", "N", "HB_WEST", "16.00"},
			nil, // a blank row is skipped
			{"03/14/2021", "02:00", "N", "HB_WEST", "15.63"},
			{"03/14/2021", "04:00", "N", "HB_WEST", "14.44"}, // 03:00 does not exist
		}},
		{"Dec", [][]any{
			damHdr,
			{44561, "23:00", "N", "HB_WEST", 26.5}, // date serial 2021-12-31
			{"12/31/2021", 24, "N", "HB_WEST", -1.25},                     // whole hour
			{"01/01/2022", 1.0 / 24, "N", "HB_WEST", 9315},                // time fraction, above the cap
			{"01/01/2022", "02:00", nil, "HB_WEST", 0.5},                  // empty flag is N
			{"01/01/2022", "03:00", "N", " HB_WEST ", " 7 "},              // padded text
			{"01/01/2022", "04:00", "N", "LZ_WEST", "not checked: other"}, // other points are not parsed
		}},
	}
}

func TestDAMFixture(t *testing.T) {
	want := price.Schedule{
		hourPt(utc(2021, 3, 14, 6, 0), 16),    // HE01 00:00 CST
		hourPt(utc(2021, 3, 14, 7, 0), 15.63), // HE02 01:00 CST
		hourPt(utc(2021, 3, 14, 8, 0), 14.44), // HE04 03:00 CDT
		hourPt(utc(2021, 11, 7, 5, 0), 13.79), // HE01 00:00 CDT
		hourPt(utc(2021, 11, 7, 6, 0), 6.59),  // HE02 N 01:00 CDT
		hourPt(utc(2021, 11, 7, 7, 0), 23.20), // HE02 Y 01:00 CST
		hourPt(utc(2021, 11, 7, 8, 0), 18.33), // HE03 02:00 CST
		hourPt(utc(2022, 1, 1, 4, 0), 26.5),   // 2021-12-31 HE23
		hourPt(utc(2022, 1, 1, 5, 0), -1.25),  // 2021-12-31 HE24
		hourPt(utc(2022, 1, 1, 6, 0), 9315),   // 2022-01-01 HE01
		hourPt(utc(2022, 1, 1, 7, 0), 0.5),
		hourPt(utc(2022, 1, 1, 8, 0), 7),
	}
	path := xlsxFile(t, dstBook()...)
	got, err := OpenDAM(path, "HB_WEST")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OpenDAM mismatch (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("OpenDAM returned an invalid schedule: %v", err)
	}
	for i, p := range got {
		if p.Interval.Start.Location() != time.UTC || p.Interval.End.Location() != time.UTC {
			t.Errorf("point %d %v not in UTC", i, p.Interval)
		}
	}
	fromReader, err := ReadDAM(bytes.NewReader(xlsxBytes(t, dstBook()...)), "mem.xlsx", "HB_WEST")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, fromReader); diff != "" {
		t.Errorf("ReadDAM differs from OpenDAM (-open +read):\n%s", diff)
	}
	north, err := OpenDAM(path, "HB_NORTH")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(price.Schedule{hourPt(utc(2021, 11, 7, 5, 0), 13), hourPt(utc(2021, 11, 7, 6, 0), 7)}, north); diff != "" {
		t.Errorf("HB_NORTH mismatch (-want +got):\n%s", diff)
	}
	names, err := DAMPoints(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"HB_NORTH", "HB_WEST", "LZ_WEST"}, names); diff != "" {
		t.Errorf("DAMPoints mismatch (-want +got):\n%s", diff)
	}
}

func TestDAMCSVSpellings(t *testing.T) {
	// The CSV edition of the report spells the headers without spaces and
	// calls the flag DSTFlag; columns may come in any order.
	book := xlsxSheet{"Sheet1", [][]any{
		{"SettlementPointPrice", "DSTFlag", "SettlementPoint", "HourEnding", "DeliveryDate"},
		{"-3.5", "N", "HB_WEST", "01:00", "01/05/2021"},
	}}
	got, err := ReadDAM(bytes.NewReader(xlsxBytes(t, book)), "x.xlsx", "HB_WEST")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(price.Schedule{hourPt(utc(2021, 1, 5, 6, 0), -3.5)}, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestDAMErrors(t *testing.T) {
	row := func(date, hour, flag, point, p any) []any { return []any{date, hour, flag, point, p} }
	ok := row("01/05/2021", "01:00", "N", "HB_WEST", "1.5")
	one := func(rows ...[]any) []xlsxSheet {
		return []xlsxSheet{{"Jan", append([][]any{damHdr}, rows...)}}
	}
	tests := []struct {
		name    string
		book    []xlsxSheet
		wantErr string
		is      error
	}{
		{"hour 25", one(ok, row("01/05/2021", "25:00", "N", "HB_WEST", "1")), `x.xlsx: sheet Jan row 3: Hour Ending "25:00": want 01:00 to 24:00`, nil},
		{"half hour", one(row("01/05/2021", "01:30", "N", "HB_WEST", "1")), `x.xlsx: sheet Jan row 2: Hour Ending "01:30"`, nil},
		{"hour 0", one(row("01/05/2021", 0, "N", "HB_WEST", "1")), `x.xlsx: sheet Jan row 2: Hour Ending "0"`, nil},
		{"bad date", one(row("2021-01-05", "01:00", "N", "HB_WEST", "1")), `x.xlsx: sheet Jan row 2: Delivery Date "2021-01-05": want MM/DD/YYYY or a date serial`, nil},
		{"no such day", one(row("02/30/2021", "01:00", "N", "HB_WEST", "1")), `x.xlsx: sheet Jan row 2: Delivery Date "02/30/2021": no such day`, nil},
		{"fractional serial", one(row(44200.5, "01:00", "N", "HB_WEST", "1")), `Delivery Date "44200.5"`, nil},
		{"bad flag", one(row("01/05/2021", "01:00", "X", "HB_WEST", "1")), `x.xlsx: sheet Jan row 2: Repeated Hour Flag "X": want Y or N`, nil},
		{"price text", one(row("01/05/2021", "01:00", "N", "HB_WEST", "abc")), `x.xlsx: sheet Jan row 2: Settlement Point Price "abc": not a number`, nil},
		{"price missing", one([]any{"01/05/2021", "01:00", "N", "HB_WEST"}), `x.xlsx: sheet Jan row 2: Settlement Point Price "": not a number`, nil},
		{"price NaN", one(row("01/05/2021", "01:00", "N", "HB_WEST", "NaN")), `x.xlsx: sheet Jan row 2: Settlement Point Price: NaN`, energy.ErrNotFinite},
		{"price Inf", one(row("01/05/2021", "01:00", "N", "HB_WEST", "-Inf")), `x.xlsx: sheet Jan row 2: Settlement Point Price: -Inf`, energy.ErrNotFinite},
		{"spring-forward hour", one(row("03/14/2021", "03:00", "N", "HB_WEST", "1")), `x.xlsx: sheet Jan row 2: 2021-03-14 hour-ending 3 interval 1: local time does not exist`, nil},
		{"Y on an ordinary hour", one(row("01/05/2021", "01:00", "Y", "HB_WEST", "1")), `x.xlsx: sheet Jan row 2: 2021-01-05 hour-ending 1 interval 1: DSTFlag Y on an hour that is not repeated`, nil},
		{"fall-back N twice", one(row("11/07/2021", "02:00", "N", "HB_WEST", "1"), row("11/07/2021", "02:00", "N", "HB_WEST", "2")), `x.xlsx: sheet Jan row 3: duplicate hour starting 2021-11-07T06:00:00Z for HB_WEST (also at sheet Jan row 2)`, nil},
		{"duplicate across sheets", []xlsxSheet{{"Jan", [][]any{damHdr, ok}}, {"Feb", [][]any{damHdr, nil, ok}}}, `x.xlsx: sheet Feb row 3: duplicate hour starting 2021-01-05T06:00:00Z for HB_WEST (also at sheet Jan row 2)`, nil},
		{"missing column", []xlsxSheet{{"Jan", [][]any{{"Delivery Date", "Settlement Point", "Settlement Point Price"}}}}, `x.xlsx: sheet Jan row 1: header lacks column Hour Ending (DAMLZHBSPP layout expected)`, nil},
		{"column twice", []xlsxSheet{{"Jan", [][]any{append(append([]any{}, damHdr...), "Hour Ending")}}}, `x.xlsx: sheet Jan row 1: column "Hour Ending" appears twice`, nil},
		{"not a header", []xlsxSheet{{"Notes", [][]any{nil, {"Prices are in $/MWh"}}}}, `x.xlsx: sheet Notes row 2: not a DAMLZHBSPP header`, nil},
		{"point absent", one(row("01/05/2021", "01:00", "N", "HB_NORTH", "1"), row("01/05/2021", "01:00", "N", "HB_SOUTH", "1")), `x.xlsx: point "HB_WEST": settlement point not in file (it has HB_NORTH, HB_SOUTH)`, ErrPointNotFound},
		{"many points absent", one(row("1/5/2021", "1", "N", "A", "1"), row("1/5/2021", "1", "N", "B", "1"), row("1/5/2021", "1", "N", "C", "1"), row("1/5/2021", "1", "N", "D", "1"), row("1/5/2021", "1", "N", "E", "1"), row("1/5/2021", "1", "N", "F", "1")), `(it has A, B, C, D, E and 1 more)`, ErrPointNotFound},
		{"header only", one(), `x.xlsx: point "HB_WEST": settlement point not in file (the workbook has no price rows)`, ErrPointNotFound},
		{"empty sheets", []xlsxSheet{{"Jan", nil}}, `x.xlsx: point "HB_WEST": settlement point not in file (the workbook has no price rows)`, ErrPointNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadDAM(bytes.NewReader(xlsxBytes(t, tt.book...)), "x.xlsx", "HB_WEST")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ReadDAM = %d points, %v; want error containing %q", len(s), err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
	if _, err := ReadDAM(strings.NewReader("DeliveryDate,HourEnding\n"), "x.xlsx", "HB_WEST"); err == nil || !strings.HasPrefix(err.Error(), "read x.xlsx: ") {
		t.Errorf("ReadDAM(not a workbook) = %v, want an error starting %q", err, "read x.xlsx: ")
	}
	if _, err := OpenDAM(filepath.Join(t.TempDir(), "missing.xlsx"), "HB_WEST"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenDAM(missing) = %v, want os.ErrNotExist", err)
	}
	if _, err := DAMPoints(filepath.Join(t.TempDir(), "missing.xlsx")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("DAMPoints(missing) = %v, want os.ErrNotExist", err)
	}
}

func TestParseHourEnding(t *testing.T) {
	tests := []struct {
		in   string
		want int // 0: error
	}{
		{"01:00", 1}, {"1:00", 1}, {"09:00", 9}, {"24:00", 24}, {"7", 7}, {"24", 24},
		{"0.041666666666666664", 1}, {"0.5", 12}, {"1", 1}, {"1.0", 24}, {"0.95833333333333337", 23},
		{"00:00", 0}, {"25:00", 0}, {"01:30", 0}, {"01:00:00", 0}, {"+1:00", 0}, {"-1:00", 0}, {"001:00", 0},
		{"0", 0}, {"25", 0}, {"0.06", 0}, {"1.5", 0}, {"NaN", 0}, {"", 0}, {"HE01", 0}, {"-0.5", 0},
	}
	for _, tt := range tests {
		got, err := parseHourEnding(tt.in)
		if tt.want == 0 {
			if err == nil {
				t.Errorf("parseHourEnding(%q) = %d, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseHourEnding(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestMergeSchedules(t *testing.T) {
	a := price.Schedule{hourPt(utc(2021, 12, 31, 22, 0), 1), hourPt(utc(2021, 12, 31, 23, 0), 2)}
	b := price.Schedule{hourPt(utc(2022, 1, 1, 1, 0), 4), hourPt(utc(2022, 1, 1, 2, 0), 5)}
	overlapSame := price.Schedule{hourPt(utc(2021, 12, 31, 23, 0), 2), hourPt(utc(2022, 1, 1, 0, 0), 3)}
	quarter := price.Schedule{{Interval: energy.Interval{Start: utc(2022, 1, 1, 1, 15), End: utc(2022, 1, 1, 1, 30)}, Price: 4}}
	tests := []struct {
		name    string
		in      []price.Schedule
		want    price.Schedule
		wantErr string
	}{
		{"none", nil, price.Schedule{}, ""},
		{"one", []price.Schedule{a}, a, ""},
		{"later first, with a gap", []price.Schedule{b, a}, append(append(price.Schedule{}, a...), b...), ""},
		{"identical overlap kept once", []price.Schedule{a, overlapSame, b}, price.Schedule{a[0], a[1], overlapSame[1], b[0], b[1]}, ""},
		{"same hour, other price", []price.Schedule{a, {hourPt(utc(2021, 12, 31, 23, 0), 2.5)}}, nil, "merge schedules: [2021-12-31T23:00:00Z, 2022-01-01T00:00:00Z) ($2.50/MWh) overlaps [2021-12-31T23:00:00Z, 2022-01-01T00:00:00Z) ($2.00/MWh)"},
		{"partial overlap", []price.Schedule{b, quarter}, nil, "merge schedules: [2022-01-01T01:15:00Z, 2022-01-01T01:30:00Z) ($4.00/MWh) overlaps [2022-01-01T01:00:00Z"},
		{"invalid input", []price.Schedule{a, {b[1], b[0]}}, nil, "merge schedules: input 1: schedule point 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MergeSchedules(tt.in...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("MergeSchedules = %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("merged schedule invalid: %v", err)
			}
		})
	}
	// The inputs are not modified.
	in := price.Schedule{b[1], b[0]}
	in = in[1:]
	before := append(price.Schedule{}, a...)
	if _, err := MergeSchedules(a, in); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, a); diff != "" {
		t.Errorf("MergeSchedules modified its input (-before +after):\n%s", diff)
	}
}

// FuzzDAMRow feeds arbitrary cells to the row parser: it must never panic,
// and whatever it accepts is an hour starting on the UTC hour whose price is
// finite, within a day and a half of the delivery date's midnight.
func FuzzDAMRow(f *testing.F) {
	f.Add("01/05/2021", "01:00", "N", "1.5")
	f.Add("11/07/2021", "02:00", "Y", "-17.30")
	f.Add("03/14/2021", "03:00", "N", "1")
	f.Add("12/31/2021", "24:00", "", "9315")
	f.Add("44561", "0.9583333333333334", "n", "1e3")
	f.Add("02/29/2021", "24", "y", "NaN")
	f.Add("1/1/1900", "1:00", "N", "0x1p-2")
	cols := damColumns{date: 0, hour: 1, flag: 2, point: 3, price: 4}
	f.Fuzz(func(t *testing.T, date, hour, flag, p string) {
		dr := &damReader{rd: newReader("HB_WEST")}
		start, got, err := dr.parseRow([]string{date, hour, flag, "HB_WEST", p}, cols)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if start.Location() != time.UTC || start.Truncate(time.Hour) != start {
			t.Errorf("start %v not on the UTC hour", start)
		}
		if err := energy.Check("price", float64(got)); err != nil {
			t.Error(err)
		}
		d, err := dr.damDay(strings.TrimSpace(date))
		if err != nil {
			t.Fatalf("parseRow accepted date %q that damDay rejects: %v", date, err)
		}
		midnight := time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC)
		if off := start.Sub(midnight); off < 0 || off > 36*time.Hour {
			t.Errorf("start %v is %v after the delivery date's UTC midnight", start, off)
		}
	})
}
