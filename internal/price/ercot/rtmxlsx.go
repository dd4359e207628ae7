// Real-time market prices as ERCOT publishes them per year: report type
// 13061, NP6-785-ER "Historical RTM Load Zone and Hub Prices", a zip holding
// one workbook (rpt.00013061.0000000000000000.RTMLZHBSPP_2021.xlsx) with one
// sheet per month ("Jan", "Feb", ...) and the columns
//
//	Delivery Date | Delivery Hour | Delivery Interval | Repeated Hour Flag | Settlement Point Name | Settlement Point Type | Settlement Point Price
//
// Delivery Date is MM/DD/YYYY in America/Chicago (an Excel date serial is
// accepted too: pandas readers see both in the same workbook); Delivery Hour
// is hour-ending 1–24 and Delivery Interval 1–4, (H, I) covering local
// [H-1:(I-1)×15, H-1:I×15) as in NP6-905-CD. On the fall-back day
// hour-ending 2 appears twice, the repeated (standard-time) pass with
// Repeated Hour Flag Y; on the spring-forward day hour-ending 3 is absent.
//
// Columns are found by header name as for DAMLZHBSPP (case, spaces and
// underscores ignored, so the NP6-905-CD spellings DeliveryHour, DSTFlag ...
// match too). Repeated Hour Flag is optional (absent: every row is N), and
// so is Settlement Point Type; without it LZ and LZEW rows cannot be told
// apart and a load zone's second row for an interval is reported as a
// duplicate rather than merged. Sheets are read in workbook order and may
// come in any order (the schedule is sorted); the first non-blank row of
// every sheet must be the header. Rows without a Settlement Point Name are
// skipped: ERCOT ends the workbook with such a non-data footer row.

package ercot

import (
	"archive/zip"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

// Column headers of report 13061, as published.
const (
	rtmColDate     = "Delivery Date"
	rtmColHour     = "Delivery Hour"
	rtmColInterval = "Delivery Interval"
	rtmColFlag     = "Repeated Hour Flag"
	rtmColName     = "Settlement Point Name"
	rtmColType     = "Settlement Point Type"
	rtmColPrice    = "Settlement Point Price"
)

// rtmColumns holds the index of each column, -1 for an absent optional one.
type rtmColumns struct{ date, hour, interval, flag, name, typ, price int }

// rtmKeys maps a normalised header (see normHeader) to the column it names.
var rtmKeys = map[string]string{
	"deliverydate":         rtmColDate,
	"deliveryhour":         rtmColHour,
	"deliveryinterval":     rtmColInterval,
	"repeatedhourflag":     rtmColFlag,
	"dstflag":              rtmColFlag,
	"settlementpointname":  rtmColName,
	"settlementpoint":      rtmColName,
	"settlementpointtype":  rtmColType,
	"settlementpointprice": rtmColPrice,
}

// rtmHeader maps the header row of a sheet. ok is false when the row is not
// a price header at all (neither a name nor a price column); err reports a
// header that is one but is incomplete or ambiguous.
func rtmHeader(cells []string) (c rtmColumns, ok bool, err error) {
	slots := []headerSlot{{rtmColDate, &c.date}, {rtmColHour, &c.hour}, {rtmColInterval, &c.interval}, {rtmColFlag, &c.flag},
		{rtmColName, &c.name}, {rtmColType, &c.typ}, {rtmColPrice, &c.price}}
	if err := mapHeader(cells, rtmKeys, slots); err != nil {
		return c, true, err
	}
	if c.price < 0 && c.name < 0 {
		return c, false, nil
	}
	hourEnding := slices.ContainsFunc(cells, func(s string) bool { return normHeader(s) == "hourending" })
	missing := missingColumns(slots[0], slots[1], slots[2], slots[4], slots[6])
	if len(missing) > 0 {
		hint := ""
		if hourEnding {
			hint = "; an Hour Ending column suggests a day-ahead DAMLZHBSPP workbook, read by OpenDAM"
		}
		return c, true, fmt.Errorf("header lacks column %s (report 13061 RTMLZHBSPP layout expected%s)", strings.Join(missing, ", "), hint)
	}
	return c, true, nil
}

// ReadRTMWorkbook reads a report 13061 (RTMLZHBSPP) workbook from r and
// returns the 15-minute schedule of one settlement point: UTC, sorted and
// valid. Energy-weighted load zone rows are the point NAME_EW (see the
// package documentation). source names the workbook in errors
// ("rpt.xlsx: sheet Feb row 1234: ..."). It fails with an error wrapping
// ErrPointNotFound, listing a few of the points present, when the workbook
// has no rows for point.
func ReadRTMWorkbook(r io.Reader, source, point string) (price.Schedule, error) {
	rd := newReader(point)
	if err := rd.readWorkbook(r, source); err != nil {
		return nil, err
	}
	return rd.schedule(source)
}

// OpenRTMWorkbook reads the schedule of one settlement point from a report
// 13061 xlsx file (the workbook itself, not the zip ERCOT serves it in:
// OpenSPP reads both).
func OpenRTMWorkbook(path, point string) (price.Schedule, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	return ReadRTMWorkbook(f, path, point)
}

// isWorkbook reports whether a zip archive is an Office Open XML package
// (an xlsx workbook) rather than an archive of report files.
func isWorkbook(zr *zip.Reader) bool {
	rc, err := zr.Open("[Content_Types].xml")
	if err != nil {
		return false
	}
	rc.Close()
	return true
}

// maxUnzipped bounds the uncompressed size of a workbook's parts. excelize
// allocates what a part's zip header declares before reading it, so a
// damaged header could otherwise ask for up to its default of 16 GiB. A
// year of report 13061 (about 25 points × 35,040 intervals) is a few
// hundred MB of XML.
const maxUnzipped = 2 << 30

// readWorkbook reads every sheet of a 13061 workbook in workbook order.
func (rd *reader) readWorkbook(r io.Reader, source string) error {
	f, err := excelize.OpenReader(r, excelize.Options{RawCellValue: true, UnzipSizeLimit: maxUnzipped})
	if err != nil {
		return fmt.Errorf("read %s: %w", source, err)
	}
	defer f.Close()
	return eachSheet(f, source, func(sheet string) error { return rd.readRTMSheet(f, source, sheet) })
}

// readRTMSheet reads one sheet: a header row, then one price per row.
func (rd *reader) readRTMSheet(f *excelize.File, source, sheet string) error {
	want := fmt.Sprintf("report 13061 RTMLZHBSPP header (want %s, %s, %s, %s, %s, %s, %s)",
		rtmColDate, rtmColHour, rtmColInterval, rtmColFlag, rtmColName, rtmColType, rtmColPrice)
	return headedRows(f, source, sheet, rtmHeader, want, func(n int, cells []string, cols rtmColumns) error {
		name := cell(cells, cols.name)
		ew := cols.typ >= 0 && energyWeighted(cell(cells, cols.typ))
		if !rd.wanted(name, ew) {
			rd.saw(name, ew)
			return nil
		}
		start, p, err := rd.parseRTMRow(cells, cols)
		if err != nil {
			return fmt.Errorf("%s: sheet %s row %d: %w", source, sheet, n, err)
		}
		rd.rows = append(rd.rows, row{start: start, price: p, source: source, sheet: sheet, line: n})
		return nil
	})
}

// parseRTMRow converts the cells of one row of the wanted point into the
// UTC start of its interval and its price.
func (rd *reader) parseRTMRow(cells []string, c rtmColumns) (time.Time, energy.Price, error) {
	day, err := rd.sheetDay(cell(cells, c.date))
	if err != nil {
		return time.Time{}, 0, err
	}
	text := cell(cells, c.hour)
	hour, ok := wholeNumber(text)
	if !ok || hour < 1 || hour > 24 {
		return time.Time{}, 0, fmt.Errorf("%s %q: want hour-ending 1 to 24", rtmColHour, text)
	}
	text = cell(cells, c.interval)
	iv, ok := wholeNumber(text)
	if !ok || iv < 1 || iv > 4 {
		return time.Time{}, 0, fmt.Errorf("%s %q: want 1 to 4", rtmColInterval, text)
	}
	repeated := false
	switch f := cell(cells, c.flag); f {
	case "N", "n", "":
	case "Y", "y":
		repeated = true
	default:
		return time.Time{}, 0, fmt.Errorf("%s %q: want Y or N", rtmColFlag, f)
	}
	start, err := rd.toUTC(day, hour, iv, repeated)
	if err != nil {
		return time.Time{}, 0, err
	}
	text = cell(cells, c.price)
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("%s %q: not a number", rtmColPrice, text)
	}
	p, err := energy.NewPrice(rtmColPrice, v)
	if err != nil {
		return time.Time{}, 0, err
	}
	return start, p, nil
}

// wholeNumber parses a small whole number written as an integer ("3") or as
// a numeric cell's float text ("3.0").
func wholeNumber(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, true
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v != math.Trunc(v) || math.Abs(v) > 1e6 {
		return 0, false
	}
	return int(v), true
}

// eachSheet calls fn with every sheet of f in workbook order; a workbook
// without sheets is an error.
func eachSheet(f *excelize.File, source string, fn func(sheet string) error) error {
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return fmt.Errorf("read %s: workbook has no sheets", source)
	}
	for _, sheet := range sheets {
		if err := fn(sheet); err != nil {
			return err
		}
	}
	return nil
}

// headedRows reads a sheet whose first non-blank row is a header: header
// maps its columns (ok false: not this report's header, an error naming
// want), then row gets every later non-blank row with the columns.
func headedRows[C any](f *excelize.File, source, sheet string, header func([]string) (C, bool, error), want string,
	row func(n int, cells []string, cols C) error) error {
	var cols C
	haveHeader := false
	return eachSheetRow(f, source, sheet, func(n int, cells []string) error {
		if haveHeader {
			return row(n, cells, cols)
		}
		c, ok, err := header(cells)
		if err != nil {
			return fmt.Errorf("%s: sheet %s row %d: %w", source, sheet, n, err)
		}
		if !ok {
			return fmt.Errorf("%s: sheet %s row %d: not a %s: %q", source, sheet, n, want, cells)
		}
		cols, haveHeader = c, true
		return nil
	})
}

// eachSheetRow calls fn with the number (1-based, as Excel shows it) and
// cells of every non-blank row of a sheet, in order, and returns the first
// error fn returns as is. It is shared by the workbook readers (DAMLZHBSPP,
// RTMLZHBSPP).
func eachSheetRow(f *excelize.File, source, sheet string, fn func(n int, cells []string) error) (err error) {
	rows, err := f.Rows(sheet)
	if err != nil {
		return fmt.Errorf("read %s: sheet %s: %w", source, sheet, err)
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("read %s: sheet %s: %w", source, sheet, cerr)
		}
	}()
	for n := 1; rows.Next(); n++ {
		cells, err := rows.Columns()
		if err != nil {
			return fmt.Errorf("%s: sheet %s row %d: %w", source, sheet, n, err)
		}
		if blankRow(cells) {
			continue
		}
		if err := fn(n, cells); err != nil {
			return err
		}
	}
	if err := rows.Error(); err != nil {
		return fmt.Errorf("read %s: sheet %s: %w", source, sheet, err)
	}
	return nil
}
