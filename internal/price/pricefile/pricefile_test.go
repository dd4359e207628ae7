package pricefile

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/price/csvprice"
	"github.com/gridminer/gridminer/internal/price/ercot"
	"github.com/gridminer/gridminer/internal/shareddata"
	"github.com/gridminer/gridminer/internal/xlsxtest"
)

// ercotCSV is an NP6-905-CD fixture of the ercot package, read in place.
var ercotCSV = filepath.Join("..", "ercot", "testdata", "normal_day.csv")

const timePrice = "time,price\n2024-01-05T00:00:00Z,10\n2024-01-05T00:15:00Z,-2.5\n2024-01-05T01:00:00Z,30\n"

func write(tb testing.TB, dir, name string, b []byte) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func gz(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// rtmWorkbook is a report 13061 workbook of two HB_WEST intervals.
func rtmWorkbook(tb testing.TB) []byte {
	return xlsxtest.Bytes(tb, xlsxtest.Sheet{Name: "Jan", Rows: [][]any{
		{"Delivery Date", "Delivery Hour", "Delivery Interval", "Repeated Hour Flag", "Settlement Point Name", "Settlement Point Type", "Settlement Point Price"},
		{"01/05/2021", 1, 1, "N", "HB_WEST", "HU", 11.25},
		{"01/05/2021", 1, 2, "N", "HB_WEST", "HU", 12.25},
		{"01/05/2021", 1, 2, "N", "LZ_WEST", "LZEW", 13},
	}})
}

func TestRoutes(t *testing.T) {
	dir := t.TempDir()
	csvBytes, err := os.ReadFile(ercotCSV)
	if err != nil {
		t.Fatal(err)
	}
	book := rtmWorkbook(t)
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, err := zw.Create("rpt.00013061.0000000000000000.RTMLZHBSPP_2021.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(book)
	zw.Close()

	generic, err := csvprice.Read(strings.NewReader(timePrice), "mem")
	if err != nil {
		t.Fatal(err)
	}
	ercotDay, err := ercot.OpenSPP(ercotCSV, "HB_WEST")
	if err != nil {
		t.Fatal(err)
	}
	ercotBook, err := ercot.ReadRTMWorkbook(bytes.NewReader(book), "mem.xlsx", "HB_WEST")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		path       string
		format     Format
		want       price.Schedule
		wantPoints []string
	}{
		{"time,price CSV", write(t, dir, "prices.csv", []byte(timePrice)), TimePrice, generic, nil},
		{"time,price gzip without .gz", write(t, dir, "prices.dat", gz(t, []byte(timePrice))), TimePrice, generic, nil},
		{"NP6-905-CD CSV", ercotCSV, ERCOT, ercotDay, []string{"HB_NORTH", "HB_WEST"}},
		{"NP6-905-CD gzip", filepath.Join("..", "ercot", "testdata", "normal_day.csv.gz"), ERCOT, ercotDay, []string{"HB_NORTH", "HB_WEST"}},
		{"NP6-905-CD gzip named .csv", write(t, dir, "spp.csv", gz(t, csvBytes)), ERCOT, ercotDay, []string{"HB_NORTH", "HB_WEST"}},
		{"zip of NP6-905-CD CSVs", filepath.Join("..", "ercot", "testdata", "two_days.zip"), ERCOT, nil, []string{"HB_NORTH", "HB_WEST"}},
		{"13061 workbook", write(t, dir, "rtm.xlsx", book), ERCOT, ercotBook, []string{"HB_WEST", "LZ_WEST_EW"}},
		{"zip of a 13061 workbook", write(t, dir, "RTMLZHBSPP_2021.zip", zbuf.Bytes()), ERCOT, ercotBook, []string{"HB_WEST", "LZ_WEST_EW"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Detect(tt.path)
			if err != nil || f != tt.format {
				t.Fatalf("Detect = %v, %v; want %v", f, err, tt.format)
			}
			got, err := Open(tt.path, "HB_WEST")
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Open mismatch (-want +got):\n%s", diff)
				}
			} else if len(got) != 192 {
				t.Errorf("Open: %d points, want 192", len(got))
			}
			names, err := Points(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantPoints, names); diff != "" {
				t.Errorf("Points mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// The point is ignored for a time,price file, and names the series in an ERCOT one.
	if got, err := Open(tests[0].path, ""); err != nil || len(got) != 3 {
		t.Errorf("Open(time,price, \"\") = %d points, %v; want 3", len(got), err)
	}
	if _, err := Open(ercotCSV, "HB_PAN"); !errors.Is(err, ercot.ErrPointNotFound) {
		t.Errorf("Open(ERCOT, HB_PAN) = %v, want ErrPointNotFound", err)
	}
}

func TestUnknownFormats(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content []byte
		wantErr string // after "<path>: "
	}{
		{"other CSV", []byte("date,lmp\n2024-01-05,3\n"), `unknown price file format: first line "date,lmp" (want a CSV headed time,price, an ERCOT NP6-905-CD CSV`},
		{"time,price and more", []byte("time,price,node\n"), `unknown price file format: first line "time,price,node"`},
		{"gzip of another CSV", gz(t, []byte("a,b\r\n1,2\n")), `unknown price file format: first line "a,b"`},
		{"empty", nil, "unknown price file format: the first line is empty"},
		{"xls", []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}, "unknown price file format: an Excel 97-2003 (.xls) workbook; save it as .xlsx"},
		{"binary", []byte{0, 1, 2, 3, 0xff, '\n'}, `unknown price file format: first line "\x00\x01\x02\x03\xff"`},
		{"long line", bytes.Repeat([]byte("x"), 200), `unknown price file format: first line "` + strings.Repeat("x", 120) + `"...`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, dir, strings.ReplaceAll(tt.name, " ", "_"), tt.content)
			for _, call := range []func() error{
				func() error { _, err := Open(path, "HB_WEST"); return err },
				func() error { _, err := Points(path); return err },
			} {
				err := call()
				if !errors.Is(err, ErrUnknownFormat) || !strings.HasPrefix(err.Error(), path+": "+tt.wantErr) {
					t.Errorf("error = %v; want ErrUnknownFormat starting %q", err, path+": "+tt.wantErr)
				}
			}
		})
	}
	// A file of a known format but bad content keeps its reader's error.
	bad := write(t, dir, "bad.csv", []byte("time,price\n2024-01-05T00:00:00,1\n"))
	if _, err := Open(bad, ""); err == nil || !strings.HasPrefix(err.Error(), bad+`:2: time "2024-01-05T00:00:00": no zone offset`) {
		t.Errorf("Open(bad time,price) = %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing"), ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want os.ErrNotExist", err)
	}
}

// TestRealERCOT checks that the NP6-905-CD route reads a real year unchanged.
func TestRealERCOT(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a year of real prices; skipped with -short")
	}
	path := shareddata.Path(t, "ercot/rtm_spp_hubs_2021.csv.gz")
	if f, err := Detect(path); err != nil || f != ERCOT {
		t.Fatalf("Detect = %v, %v; want ERCOT", f, err)
	}
	s, err := Open(path, "HB_WEST")
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 35040 {
		t.Errorf("HB_WEST points = %d, want 35040", len(s))
	}
	loc, _ := time.LoadLocation("America/Chicago")
	from, to := time.Date(2021, 1, 1, 0, 0, 0, 0, loc), time.Date(2022, 1, 1, 0, 0, 0, 0, loc)
	if gaps := s.Gaps(from, to); len(gaps) != 0 {
		t.Errorf("gaps in 2021: %v", gaps)
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
}
