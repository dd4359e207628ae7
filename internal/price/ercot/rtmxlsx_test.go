package ercot

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

// rtmHdr is the header row of a report 13061 sheet, as ERCOT publishes it.
var rtmHdr = []any{"Delivery Date", "Delivery Hour", "Delivery Interval", "Repeated Hour Flag", "Settlement Point Name", "Settlement Point Type", "Settlement Point Price"}

// rtmRow is one 13061 row with numeric hour, interval and price cells, as
// in ERCOT's workbook.
func rtmRow(date any, hour, iv int, flag, name, typ string, p float64) []any {
	return []any{date, hour, iv, flag, name, typ, p}
}

func qPt(start time.Time, p energy.Price) price.Point {
	return price.Point{Interval: energy.Interval{Start: start, End: start.Add(15 * time.Minute)}, Price: p}
}

// csvSheet turns an NP6-905-CD fixture into a 13061 sheet holding the same
// rows: the cross-check between the two readers.
func csvSheet(tb testing.TB, path, sheet string) xlsxSheet {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[strings.TrimPrefix(h, "\ufeff")] = i
	}
	rows := [][]any{rtmHdr}
	for _, r := range recs[1:] {
		h, err1 := strconv.Atoi(r[col[colHour]])
		iv, err2 := strconv.Atoi(r[col[colInterval]])
		p, err3 := strconv.ParseFloat(r[col[colPrice]], 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		rows = append(rows, rtmRow(r[col[colDate]], h, iv, r[col[colDST]], r[col[colName]], r[col["SettlementPointType"]], p))
	}
	return xlsxSheet{sheet, rows}
}

// writeFile writes b into a temporary directory under name.
func writeFile(tb testing.TB, name string, b []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// zipFile writes a zip archive of members (name, content) in that order.
func zipFile(tb testing.TB, name string, members ...[2][]byte) string {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.Create(string(m[0]))
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(m[1]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return writeFile(tb, name, buf.Bytes())
}

func member(name string, b []byte) [2][]byte { return [2][]byte{[]byte(name), b} }

const rtmName = "rpt.00013061.0000000000000000.RTMLZHBSPP_2021.xlsx"

// TestRTMWorkbookMatchesCSV reads the normal, spring-forward and fall-back
// day fixtures as 13061 workbooks: every point must come out exactly as the
// NP6-905-CD reader reads the CSV (which TestDays checks value by value).
func TestRTMWorkbookMatchesCSV(t *testing.T) {
	tests := []struct {
		file, sheet string
		wantN       int
		from, to    time.Time
		want        map[time.Time]energy.Price
	}{
		{"normal_day.csv", "Jan", 96, utc(2021, 1, 5, 6, 0), utc(2021, 1, 6, 6, 0), map[time.Time]energy.Price{
			utc(2021, 1, 5, 6, 0): 11.25, utc(2021, 1, 5, 18, 15): 132.25, utc(2021, 1, 6, 5, 45): 244.25,
		}},
		{"spring_forward.csv", "Mar", 92, utc(2021, 3, 14, 6, 0), utc(2021, 3, 15, 5, 0), map[time.Time]energy.Price{
			utc(2021, 3, 14, 7, 45): 24.25, // HE2 I4: 01:45 CST
			utc(2021, 3, 14, 8, 0):  41.25, // HE4 I1: 03:00 CDT, right after
		}},
		{"fall_back.csv", "Nov", 100, utc(2021, 11, 7, 5, 0), utc(2021, 11, 8, 6, 0), map[time.Time]energy.Price{
			utc(2021, 11, 7, 6, 0):  21.25,  // HE2 I1 N: 01:00 CDT
			utc(2021, 11, 7, 7, 0):  -21.25, // HE2 I1 Y: 01:00 CST
			utc(2021, 11, 7, 7, 45): -24.25, // HE2 I4 Y
			utc(2021, 11, 7, 8, 0):  31.25,  // HE3 I1: 02:00 CST
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			book := xlsxBytes(t, csvSheet(t, path, tt.sheet))
			for _, point := range []string{"HB_WEST", "HB_NORTH"} {
				want := mustOpen(t, path, point)
				got, err := ReadRTMWorkbook(bytes.NewReader(book), rtmName, point)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: workbook differs from the CSV reader (-csv +xlsx):\n%s", point, diff)
				}
			}
			got, err := ReadRTMWorkbook(bytes.NewReader(book), rtmName, "HB_WEST")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantN {
				t.Errorf("points = %d, want %d", len(got), tt.wantN)
			}
			checkContiguous(t, got, tt.from, tt.to)
			for at, want := range tt.want {
				if p, ok := got.At(at); !ok || p.Price != want {
					t.Errorf("At(%v) = %v, %v; want %v", at, p.Price, ok, want)
				}
			}
			for i, p := range got {
				if p.Interval.Start.Location() != time.UTC {
					t.Fatalf("point %d start in %v, want UTC", i, p.Interval.Start.Location())
				}
			}
		})
	}
}

// TestRTMSheetsAcrossTheYear has a Dec sheet before a Jan sheet (and the
// reverse), a date serial, a blank row and ERCOT's nameless footer row.
func TestRTMSheetsAcrossTheYear(t *testing.T) {
	dec := xlsxSheet{"Dec", [][]any{
		rtmHdr,
		rtmRow("12/31/2021", 24, 3, "N", "HB_WEST", "HU", 30.5),
		nil, // a blank row is skipped
		rtmRow(44561, 24, 4, "N", "HB_WEST", "HU", -2), // serial 44561 = 2021-12-31
		rtmRow("12/31/2021", 24, 4, "N", "HB_NORTH", "HU", 99),
	}}
	jan := xlsxSheet{"Jan", [][]any{
		rtmHdr,
		rtmRow("01/01/2022", 1, 1, "N", "HB_WEST", "HU", 5000),
		rtmRow("01/01/2022", 1, 2, "", "HB_WEST", "HU", 0.25), // an empty flag is N
		{"Data as of 01/05/2022"},                             // footer: no Settlement Point Name
	}}
	want := price.Schedule{
		qPt(utc(2022, 1, 1, 5, 30), 30.5), // 2021-12-31 23:30 CST
		qPt(utc(2022, 1, 1, 5, 45), -2),
		qPt(utc(2022, 1, 1, 6, 0), 5000), // 2022-01-01 00:00 CST
		qPt(utc(2022, 1, 1, 6, 15), 0.25),
	}
	for _, order := range [][]xlsxSheet{{dec, jan}, {jan, dec}} {
		got, err := ReadRTMWorkbook(bytes.NewReader(xlsxBytes(t, order...)), rtmName, "HB_WEST")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("sheets %s, %s: mismatch (-want +got):\n%s", order[0].name, order[1].name, diff)
		}
	}
	path := writeFile(t, rtmName, xlsxBytes(t, dec, jan))
	names, err := Points(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"HB_NORTH", "HB_WEST"}, names); diff != "" {
		t.Errorf("Points mismatch (-want +got):\n%s", diff)
	}
}

// lzBook has a load zone's LZ and LZEW rows (LZEW first in one interval),
// and a hub.
func lzBook() xlsxSheet {
	return xlsxSheet{"Feb", [][]any{
		rtmHdr,
		rtmRow("02/15/2021", 20, 1, "N", "LZ_WEST", "LZ", 9000),
		rtmRow("02/15/2021", 20, 1, "N", "LZ_WEST", "LZEW", 9001.5),
		rtmRow("02/15/2021", 20, 1, "N", "HB_WEST", "HU", 8999),
		rtmRow("02/15/2021", 20, 2, "N", "LZ_WEST", "LZEW", 9315),
		rtmRow("02/15/2021", 20, 2, "N", "LZ_WEST", "LZ", 9300),
		rtmRow("02/15/2021", 20, 2, "N", "LZ_DC", "LZ_DCEW", 12),
	}}
}

func TestRTMLoadZoneTypes(t *testing.T) {
	book := xlsxBytes(t, lzBook())
	tests := []struct {
		point string
		want  price.Schedule
	}{
		{"LZ_WEST", price.Schedule{qPt(utc(2021, 2, 16, 1, 0), 9000), qPt(utc(2021, 2, 16, 1, 15), 9300)}},
		{"LZ_WEST_EW", price.Schedule{qPt(utc(2021, 2, 16, 1, 0), 9001.5), qPt(utc(2021, 2, 16, 1, 15), 9315)}},
		{"HB_WEST", price.Schedule{qPt(utc(2021, 2, 16, 1, 0), 8999)}},
		{"LZ_DC_EW", price.Schedule{qPt(utc(2021, 2, 16, 1, 15), 12)}},
	}
	for _, tt := range tests {
		got, err := ReadRTMWorkbook(bytes.NewReader(book), rtmName, tt.point)
		if err != nil {
			t.Fatalf("%s: %v", tt.point, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.point, diff)
		}
	}
	names, err := Points(writeFile(t, rtmName, book))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"HB_WEST", "LZ_DC_EW", "LZ_WEST", "LZ_WEST_EW"}, names); diff != "" {
		t.Errorf("Points mismatch (-want +got):\n%s", diff)
	}
	// LZ_DC is only published energy-weighted: asking for the bare name
	// finds nothing rather than the _EW rows.
	_, err = ReadRTMWorkbook(bytes.NewReader(book), rtmName, "LZ_DC")
	if want := `point "LZ_DC": settlement point not in file (it has HB_WEST, LZ_DC_EW, LZ_WEST, LZ_WEST_EW)`; !errors.Is(err, ErrPointNotFound) || !strings.Contains(err.Error(), want) {
		t.Errorf("LZ_DC = %v, want ErrPointNotFound containing %q", err, want)
	}

	// The NP6-905-CD reader names the types the same way.
	in := hdr +
		"02/15/2021,20,1,LZ_WEST,LZEW,9001.5,N\n" +
		"02/15/2021,20,1,LZ_WEST,LZ,9000,N\n"
	for point, want := range map[string]energy.Price{"LZ_WEST": 9000, "LZ_WEST_EW": 9001.5} {
		got, err := ReadSPP(strings.NewReader(in), "x.csv", point)
		if err != nil {
			t.Fatalf("ReadSPP %s: %v", point, err)
		}
		if diff := cmp.Diff(price.Schedule{qPt(utc(2021, 2, 16, 1, 0), want)}, got); diff != "" {
			t.Errorf("ReadSPP %s mismatch (-want +got):\n%s", point, diff)
		}
	}
}

func TestRTMErrors(t *testing.T) {
	ok := rtmRow("01/05/2021", 1, 1, "N", "HB_WEST", "HU", 1.5)
	one := func(rows ...[]any) []xlsxSheet {
		return []xlsxSheet{{"Jan", append([][]any{rtmHdr}, rows...)}}
	}
	raw := func(date, hour, iv, flag, p any) []any { return []any{date, hour, iv, flag, "HB_WEST", "HU", p} }
	noType := []any{"Delivery Date", "Delivery Hour", "Delivery Interval", "Repeated Hour Flag", "Settlement Point Name", "Settlement Point Price"}
	tests := []struct {
		name    string
		book    []xlsxSheet
		wantErr string
		is      error
	}{
		{"malformed price", []xlsxSheet{{"Jan", [][]any{rtmHdr, ok}}, {"Feb", [][]any{rtmHdr, rtmRow("02/01/2021", 1, 1, "N", "HB_NORTH", "HU", 1), raw("02/01/2021", 1, 1, "N", "12,5")}}},
			`x.xlsx: sheet Feb row 3: Settlement Point Price "12,5": not a number`, nil},
		{"price missing", one([]any{"01/05/2021", 1, 1, "N", "HB_WEST", "HU"}), `x.xlsx: sheet Jan row 2: Settlement Point Price "": not a number`, nil},
		{"price NaN", one(raw("01/05/2021", 1, 1, "N", "NaN")), `x.xlsx: sheet Jan row 2: Settlement Point Price: NaN`, energy.ErrNotFinite},
		{"price Inf", one(raw("01/05/2021", 1, 1, "N", "+Inf")), `x.xlsx: sheet Jan row 2: Settlement Point Price: +Inf`, energy.ErrNotFinite},
		{"hour 25", one(ok, raw("01/05/2021", 25, 1, "N", 1)), `x.xlsx: sheet Jan row 3: Delivery Hour "25": want hour-ending 1 to 24`, nil},
		{"hour 0", one(raw("01/05/2021", 0, 1, "N", 1)), `x.xlsx: sheet Jan row 2: Delivery Hour "0"`, nil},
		{"hour fraction", one(raw("01/05/2021", 1.5, 1, "N", 1)), `x.xlsx: sheet Jan row 2: Delivery Hour "1.5"`, nil},
		{"hour text", one(raw("01/05/2021", "01:00", 1, "N", 1)), `x.xlsx: sheet Jan row 2: Delivery Hour "01:00"`, nil},
		{"interval 5", one(raw("01/05/2021", 1, 5, "N", 1)), `x.xlsx: sheet Jan row 2: Delivery Interval "5": want 1 to 4`, nil},
		{"interval missing", one(raw("01/05/2021", 1, nil, "N", 1)), `x.xlsx: sheet Jan row 2: Delivery Interval "": want 1 to 4`, nil},
		{"bad date", one(raw("2021-01-05", 1, 1, "N", 1)), `x.xlsx: sheet Jan row 2: Delivery Date "2021-01-05": want MM/DD/YYYY or a date serial`, nil},
		{"no such day", one(raw("02/29/2021", 1, 1, "N", 1)), `x.xlsx: sheet Jan row 2: Delivery Date "02/29/2021": no such day`, nil},
		{"bad flag", one(raw("01/05/2021", 1, 1, "X", 1)), `x.xlsx: sheet Jan row 2: Repeated Hour Flag "X": want Y or N`, nil},
		{"spring-forward hour", one(raw("03/14/2021", 3, 2, "N", 1)), `x.xlsx: sheet Jan row 2: 2021-03-14 hour-ending 3 interval 2: local time does not exist`, nil},
		{"Y on an ordinary hour", one(raw("01/05/2021", 1, 1, "Y", 1)), `x.xlsx: sheet Jan row 2: 2021-01-05 hour-ending 1 interval 1: DSTFlag Y on an hour that is not repeated`, nil},
		{"fall-back N twice", one(raw("11/07/2021", 2, 3, "N", 1), raw("11/07/2021", 2, 3, "N", 2)),
			`x.xlsx: sheet Jan row 3: duplicate interval starting 2021-11-07T06:30:00Z for HB_WEST (also at x.xlsx: sheet Jan row 2)`, nil},
		{"duplicate across sheets", []xlsxSheet{{"Jan", [][]any{rtmHdr, ok}}, {"Feb", [][]any{rtmHdr, nil, ok}}},
			`x.xlsx: sheet Feb row 3: duplicate interval starting 2021-01-05T06:00:00Z for HB_WEST (also at x.xlsx: sheet Jan row 2)`, nil},
		{"LZ and LZEW without a type column", []xlsxSheet{{"Jan", [][]any{noType, {"01/05/2021", 1, 1, "N", "HB_WEST", 1}, {"01/05/2021", 1, 1, "N", "HB_WEST", 2}}}},
			`x.xlsx: sheet Jan row 3: duplicate interval starting 2021-01-05T06:00:00Z for HB_WEST (also at x.xlsx: sheet Jan row 2)`, nil},
		{"missing column", []xlsxSheet{{"Jan", [][]any{{"Delivery Date", "Delivery Hour", "Settlement Point Name", "Settlement Point Price"}, ok}}},
			`x.xlsx: sheet Jan row 1: header lacks column Delivery Interval (report 13061 RTMLZHBSPP layout expected)`, nil},
		{"a DAM workbook", []xlsxSheet{{"Jan", [][]any{damHdr}}},
			`x.xlsx: sheet Jan row 1: header lacks column Delivery Hour, Delivery Interval (report 13061 RTMLZHBSPP layout expected; an Hour Ending column suggests a day-ahead DAMLZHBSPP workbook, read by OpenDAM)`, nil},
		{"column twice", []xlsxSheet{{"Jan", [][]any{append(append([]any{}, rtmHdr...), "DeliveryInterval")}}}, `x.xlsx: sheet Jan row 1: column "Delivery Interval" appears twice`, nil},
		{"not a header", []xlsxSheet{{"Jan", [][]any{{"Historical RTM Load Zone and Hub Prices"}, rtmHdr, ok}}}, `x.xlsx: sheet Jan row 1: not a report 13061 RTMLZHBSPP header`, nil},
		{"second sheet without a header", []xlsxSheet{{"Jan", [][]any{rtmHdr, ok}}, {"Feb", [][]any{nil, ok}}}, `x.xlsx: sheet Feb row 2: not a report 13061 RTMLZHBSPP header`, nil},
		{"point absent", one(rtmRow("01/05/2021", 1, 1, "N", "HB_NORTH", "HU", 1), rtmRow("01/05/2021", 1, 1, "N", "LZ_WEST", "LZEW", 1)),
			`x.xlsx: point "HB_WEST": settlement point not in file (it has HB_NORTH, LZ_WEST_EW)`, ErrPointNotFound},
		{"header only", one(), `x.xlsx: point "HB_WEST": settlement point not in file (the file has no price rows)`, ErrPointNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadRTMWorkbook(bytes.NewReader(xlsxBytes(t, tt.book...)), "x.xlsx", "HB_WEST")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ReadRTMWorkbook = %d points, %v; want error containing %q", len(s), err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
	if _, err := ReadRTMWorkbook(strings.NewReader(hdr), "x.xlsx", "HB_WEST"); err == nil || !strings.HasPrefix(err.Error(), "read x.xlsx: ") {
		t.Errorf("ReadRTMWorkbook(a CSV) = %v, want an error starting %q", err, "read x.xlsx: ")
	}
	if _, err := OpenRTMWorkbook(filepath.Join(t.TempDir(), "missing.xlsx"), "HB_WEST"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenRTMWorkbook(missing) = %v, want os.ErrNotExist", err)
	}
}

// TestOpenSPPForms reads one set of prices from every form OpenSPP accepts.
func TestOpenSPPForms(t *testing.T) {
	csvPath := filepath.Join("testdata", "normal_day.csv")
	csvBytes, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	want := mustOpen(t, csvPath, "HB_WEST")
	jan := xlsxBytes(t, csvSheet(t, csvPath, "Jan"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(csvBytes)
	zw.Close()

	forms := map[string]string{
		"xlsx":                   writeFile(t, rtmName, jan),
		"xlsx without extension": writeFile(t, "prices", jan),
		"zip of xlsx":            zipFile(t, "RTMLZHBSPP_2021.zip", member(rtmName, jan)),
		"zip of xlsx, nested":    zipFile(t, "y.zip", member("README.txt", []byte("prices")), member("2021/"+strings.ToUpper(rtmName), jan)),
		"gzip named .csv":        writeFile(t, "normal_day.csv", gz.Bytes()),
	}
	for name, path := range forms {
		t.Run(name, func(t *testing.T) {
			got := mustOpen(t, path, "HB_WEST")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mismatch with the CSV (-csv +got):\n%s", diff)
			}
			names, err := Points(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"HB_NORTH", "HB_WEST"}, names); diff != "" {
				t.Errorf("Points mismatch (-want +got):\n%s", diff)
			}
		})
	}
	fromFile, err := OpenRTMWorkbook(forms["xlsx"], "HB_WEST")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, fromFile); diff != "" {
		t.Errorf("OpenRTMWorkbook mismatch (-csv +xlsx):\n%s", diff)
	}

	// A zip mixing a CSV day and a workbook day yields both days.
	mar := xlsxBytes(t, csvSheet(t, filepath.Join("testdata", "spring_forward.csv"), "Mar"))
	mixed := mustOpen(t, zipFile(t, "mixed.zip", member("b.xlsx", mar), member("a.csv", csvBytes)), "HB_WEST")
	if got, want := len(mixed), 96+92; got != want {
		t.Errorf("mixed zip: %d points, want %d", got, want)
	}
	if diff := cmp.Diff(want, mixed[:96]); diff != "" {
		t.Errorf("mixed zip, CSV day (-csv +zip):\n%s", diff)
	}

	// The same interval in two members is an error naming both.
	_, err = OpenSPP(zipFile(t, "dup.zip", member("a.xlsx", jan), member("b.csv", csvBytes)), "HB_WEST")
	if wantErr := `dup.zip:b.csv:3: duplicate interval starting 2021-01-05T06:00:00Z for HB_WEST (also at `; err == nil || !strings.Contains(err.Error(), wantErr) || !strings.Contains(err.Error(), "dup.zip:a.xlsx: sheet Jan row ") {
		t.Errorf("duplicate across members = %v, want error containing %q and the workbook row", err, wantErr)
	}
	// Errors inside a member's workbook name the archive, member, sheet and row.
	bad := xlsxBytes(t, xlsxSheet{"Feb", [][]any{rtmHdr, rtmRow("02/01/2021", 1, 1, "N", "HB_WEST", "HU", 1), {"02/01/2021", 1, 2, "N", "HB_WEST", "HU", "n/a"}}})
	_, err = OpenSPP(zipFile(t, "bad.zip", member(rtmName, bad)), "HB_WEST")
	if wantErr := "bad.zip:" + rtmName + `: sheet Feb row 3: Settlement Point Price "n/a": not a number`; err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("bad member = %v, want error containing %q", err, wantErr)
	}
	_, err = OpenSPP(zipFile(t, "empty.zip", member("README.txt", []byte("x"))), "HB_WEST")
	if wantErr := "empty.zip: zip has no .csv or .xlsx member"; err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("zip without prices = %v, want error containing %q", err, wantErr)
	}
}

// FuzzReadRTMWorkbook feeds arbitrary bytes, seeded with generated
// workbooks, to the workbook reader: it must never panic, every error names
// the source, and whatever it accepts is a valid quarter-hour schedule.
func FuzzReadRTMWorkbook(f *testing.F) {
	f.Add(xlsxBytes(f, xlsxSheet{"Nov", [][]any{
		rtmHdr,
		rtmRow("11/07/2021", 2, 1, "N", "HB_WEST", "HU", 1),
		rtmRow("11/07/2021", 2, 1, "Y", "HB_WEST", "HU", 2),
		rtmRow(44507, 3, 4, "N", "HB_WEST", "HU", -3),
	}}))
	f.Add(xlsxBytes(f, lzBook()))
	f.Add(xlsxBytes(f, xlsxSheet{"Jan", [][]any{rtmHdr, {"01/05/2021", 1, 1, "N", "HB_WEST", "HU", "x"}}}))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte(hdr))
	f.Fuzz(func(t *testing.T, data []byte) {
		// excelize allocates the sizes zip headers declare (up to
		// maxUnzipped): mutated headers declaring large parts only make
		// the fuzzer slow, so they are left out.
		if zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data))); err == nil {
			var declared uint64
			for _, f := range zr.File {
				declared += f.UncompressedSize64
			}
			if declared > 1<<20 {
				t.Skip("declares more than 1 MiB unzipped")
			}
		}
		s, err := ReadRTMWorkbook(bytes.NewReader(data), "fuzz.xlsx", "HB_WEST")
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "fuzz.xlsx") && !strings.HasPrefix(msg, "read fuzz.xlsx") {
				t.Errorf("error %q does not name the source", msg)
			}
			return
		}
		if len(s) == 0 {
			t.Fatal("no error and no points")
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("invalid schedule: %v", err)
		}
		for i, p := range s {
			if p.Interval.Duration() != 15*time.Minute || p.Interval.Start.Minute()%15 != 0 {
				t.Fatalf("point %d %v is not a quarter-hour interval", i, p.Interval)
			}
		}
	})
}

// FuzzRTMRow feeds arbitrary cells to the row parser (cheaper and deeper
// than mutating workbook bytes, whose zip checksums stop most mutations):
// whatever it accepts starts on a UTC quarter hour within a day and a half
// of the delivery date's midnight and has a finite price.
func FuzzRTMRow(f *testing.F) {
	f.Add("01/05/2021", "1", "1", "N", "1.5")
	f.Add("11/07/2021", "2", "4", "Y", "-17.30")
	f.Add("03/14/2021", "3", "1", "N", "1")
	f.Add("44561", "24.0", "4", "", "9315")
	f.Add("02/29/2021", "24", "0", "y", "NaN")
	cols := rtmColumns{date: 0, hour: 1, interval: 2, flag: 3, name: 4, typ: 5, price: 6}
	f.Fuzz(func(t *testing.T, date, hour, iv, flag, p string) {
		rd := newReader("HB_WEST")
		start, got, err := rd.parseRTMRow([]string{date, hour, iv, flag, "HB_WEST", "HU", p}, cols)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if start.Location() != time.UTC || start.Truncate(15*time.Minute) != start {
			t.Errorf("start %v not on a UTC quarter hour", start)
		}
		if err := energy.Check("price", float64(got)); err != nil {
			t.Error(err)
		}
		d, err := rd.sheetDay(strings.TrimSpace(date))
		if err != nil {
			t.Fatalf("parseRTMRow accepted date %q that sheetDay rejects: %v", date, err)
		}
		midnight := time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC)
		if off := start.Sub(midnight); off < 0 || off > 36*time.Hour {
			t.Errorf("start %v is %v after the delivery date's UTC midnight", start, off)
		}
	})
}

// BenchmarkReadRTMWorkbook reads a generated month (31 days, 8 points:
// about 24,000 rows) to size a yearly 13061 workbook.
func BenchmarkReadRTMWorkbook(b *testing.B) {
	rows := [][]any{rtmHdr}
	for d := 1; d <= 31; d++ {
		date := time.Date(2021, 1, d, 0, 0, 0, 0, time.UTC).Format("01/02/2006")
		for h := 1; h <= 24; h++ {
			for i := 1; i <= 4; i++ {
				for _, n := range []string{"HB_HOUSTON", "HB_NORTH", "HB_SOUTH", "HB_WEST", "LZ_HOUSTON", "LZ_NORTH", "LZ_SOUTH", "LZ_WEST"} {
					rows = append(rows, rtmRow(date, h, i, "N", n, "HU", float64(h*4+i)+0.25))
				}
			}
		}
	}
	book := xlsxBytes(b, xlsxSheet{"Jan", rows})
	b.SetBytes(int64(len(book)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := ReadRTMWorkbook(bytes.NewReader(book), rtmName, "HB_WEST")
		if err != nil {
			b.Fatal(err)
		}
		if len(s) != 31*96 {
			b.Fatalf("points = %d", len(s))
		}
	}
}
