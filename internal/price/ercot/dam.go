// Day-ahead market prices: ERCOT report DAMLZHBSPP ("Historical DAM Load
// Zone and Hub Prices"), published as one xlsx workbook per year with one
// sheet per month and the columns
//
//	Delivery Date | Hour Ending | Repeated Hour Flag | Settlement Point | Settlement Point Price
//
// Delivery Date is MM/DD/YYYY in America/Chicago (an Excel date serial is
// accepted too); Hour Ending is "01:00" to "24:00" (plain 1–24 and an Excel
// time fraction are accepted too), and hour-ending H covers local
// [H-1:00, H:00). On the spring-forward day hour-ending 03:00 does not exist;
// on the fall-back day hour-ending 02:00 appears twice, the repeated
// (standard-time) pass with Repeated Hour Flag Y. Columns are found by header
// name (case, spaces and underscores ignored, so the CSV spellings
// DeliveryDate, HourEnding, DSTFlag, SettlementPoint also match); the flag
// column is optional.
//
// As for NP6-905-CD files, only rows of the point asked for are checked, and
// prices are kept as published (negative, above the cap). Missing hours are
// not an error: price.Schedule.Gaps finds them.

package ercot

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

// Column headers of the DAMLZHBSPP report, as published.
const (
	damColDate  = "Delivery Date"
	damColHour  = "Hour Ending"
	damColFlag  = "Repeated Hour Flag"
	damColPoint = "Settlement Point"
	damColPrice = "Settlement Point Price"
)

// damColumns holds the index of each DAM column, -1 for an absent flag.
type damColumns struct{ date, hour, flag, point, price int }

// damKeys maps a normalised header (lowercase, no spaces or underscores) to
// the column it names.
var damKeys = map[string]string{
	"deliverydate":         damColDate,
	"hourending":           damColHour,
	"repeatedhourflag":     damColFlag,
	"dstflag":              damColFlag,
	"settlementpoint":      damColPoint,
	"settlementpointname":  damColPoint,
	"settlementpointprice": damColPrice,
}

// normHeader lowercases a header cell and drops spaces and underscores.
func normHeader(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r == ' ' || r == '_' || r == '\t' || r == '\u00a0' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// headerSlot is a column a workbook reader looks for: its name and where
// its index goes (-1 when absent).
type headerSlot struct {
	name string
	idx  *int
}

// mapHeader sets every slot's index from a header row, keys mapping a
// normalised header cell to a slot's name. A column named twice is an
// error.
func mapHeader(cells []string, keys map[string]string, slots []headerSlot) error {
	for _, s := range slots {
		*s.idx = -1
	}
	for i, text := range cells {
		col, known := keys[normHeader(text)]
		if !known {
			continue
		}
		for _, s := range slots {
			if s.name != col {
				continue
			}
			if *s.idx >= 0 {
				return fmt.Errorf("column %q appears twice", col)
			}
			*s.idx = i
		}
	}
	return nil
}

// missingColumns names the required slots a header lacks.
func missingColumns(required ...headerSlot) []string {
	var missing []string
	for _, s := range required {
		if *s.idx < 0 {
			missing = append(missing, s.name)
		}
	}
	return missing
}

// damHeader maps the header row of a sheet. ok is false when the row is not
// a DAM header at all (no Settlement Point Price column); err reports a
// header that is one but is incomplete or ambiguous.
func damHeader(cells []string) (c damColumns, ok bool, err error) {
	slots := []headerSlot{{damColDate, &c.date}, {damColHour, &c.hour}, {damColFlag, &c.flag}, {damColPoint, &c.point}, {damColPrice, &c.price}}
	if err := mapHeader(cells, damKeys, slots); err != nil {
		return c, true, err
	}
	if c.price < 0 && c.point < 0 {
		return c, false, nil
	}
	missing := missingColumns(slots[0], slots[1], slots[3], slots[4])
	if len(missing) > 0 {
		return c, true, fmt.Errorf("header lacks column %s (DAMLZHBSPP layout expected)", strings.Join(missing, ", "))
	}
	return c, true, nil
}

// damRow is one parsed hourly price and where it came from.
type damRow struct {
	start time.Time
	price energy.Price
	sheet string
	row   int
}

// damReader accumulates the rows of one settlement point over the sheets of
// a workbook.
type damReader struct {
	rd   *reader // the NP6-905-CD reader: local-time conversion, date cache, point names
	rows []damRow
}

// ReadDAM reads a DAMLZHBSPP workbook from r and returns the hourly
// schedule of one settlement point. source names the workbook in errors
// ("file.xlsx: sheet Nov row 12: ...").
func ReadDAM(r io.Reader, source, point string) (price.Schedule, error) {
	f, err := excelize.OpenReader(r, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", source, err)
	}
	defer f.Close()
	return readDAMBook(f, source, point)
}

// OpenDAM reads the hourly day-ahead schedule of one settlement point from a
// DAMLZHBSPP xlsx workbook: one point per hour, UTC, sorted and valid. It
// fails with an error wrapping ErrPointNotFound, listing a few of the points
// present, when the workbook has no rows for point.
func OpenDAM(path, point string) (price.Schedule, error) {
	f, err := excelize.OpenFile(path, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	return readDAMBook(f, path, point)
}

// DAMPoints lists, sorted, the settlement point names in a DAMLZHBSPP
// workbook.
func DAMPoints(path string) ([]string, error) {
	f, err := excelize.OpenFile(path, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	dr := &damReader{rd: newReader("")}
	dr.rd.namesOnly = true
	if err := dr.readBook(f, path); err != nil {
		return nil, err
	}
	return dr.rd.names(), nil
}

// readDAMBook reads every sheet of f for point.
func readDAMBook(f *excelize.File, source, point string) (price.Schedule, error) {
	dr := &damReader{rd: newReader(point)}
	if err := dr.readBook(f, source); err != nil {
		return nil, err
	}
	return dr.schedule(source)
}

// readBook reads every sheet in workbook order. Empty sheets are skipped; a
// sheet whose first row is not a DAM header is an error.
func (dr *damReader) readBook(f *excelize.File, source string) error {
	return eachSheet(f, source, func(sheet string) error { return dr.readSheet(f, source, sheet) })
}

// readSheet reads one sheet: a header row, then one price per row.
func (dr *damReader) readSheet(f *excelize.File, source, sheet string) error {
	want := fmt.Sprintf("DAMLZHBSPP header (want %s, %s, %s, %s, %s)", damColDate, damColHour, damColFlag, damColPoint, damColPrice)
	return headedRows(f, source, sheet, damHeader, want, func(n int, cells []string, cols damColumns) error {
		name := cell(cells, cols.point)
		if !dr.rd.wanted(name, false) {
			dr.rd.saw(name, false)
			return nil
		}
		start, p, err := dr.parseRow(cells, cols)
		if err != nil {
			return fmt.Errorf("%s: sheet %s row %d: %w", source, sheet, n, err)
		}
		dr.rows = append(dr.rows, damRow{start: start, price: p, sheet: sheet, row: n})
		return nil
	})
}

// blankRow reports whether every cell of a row is empty.
func blankRow(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// cell returns cells[i], or "" past the end (excelize drops trailing empty
// cells).
func cell(cells []string, i int) string {
	if i < 0 || i >= len(cells) {
		return ""
	}
	return strings.TrimSpace(cells[i])
}

// parseRow converts the cells of one row of the wanted point into the UTC
// start of its hour and its price.
func (dr *damReader) parseRow(cells []string, c damColumns) (time.Time, energy.Price, error) {
	day, err := dr.damDay(cell(cells, c.date))
	if err != nil {
		return time.Time{}, 0, err
	}
	hour, err := parseHourEnding(cell(cells, c.hour))
	if err != nil {
		return time.Time{}, 0, err
	}
	repeated := false
	switch f := cell(cells, c.flag); f {
	case "N", "n", "":
	case "Y", "y":
		repeated = true
	default:
		return time.Time{}, 0, fmt.Errorf("%s %q: want Y or N", damColFlag, f)
	}
	start, err := dr.rd.toUTC(day, hour, 1, repeated)
	if err != nil {
		return time.Time{}, 0, err
	}
	text := cell(cells, c.price)
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("%s %q: not a number", damColPrice, text)
	}
	p, err := energy.NewPrice(damColPrice, v)
	if err != nil {
		return time.Time{}, 0, err
	}
	return start, p, nil
}

// damDay parses a delivery date cell (see reader.sheetDay).
func (dr *damReader) damDay(s string) (dayInfo, error) { return dr.rd.sheetDay(s) }

// sheetDay parses the Delivery Date cell of a workbook row: MM/DD/YYYY
// text, or the serial number of a date-formatted cell (read raw). Dates are
// cached by text.
func (rd *reader) sheetDay(s string) (dayInfo, error) {
	if d, ok := rd.days[s]; ok {
		return d, d.bad
	}
	var d dayInfo
	if strings.Contains(s, "/") {
		d = parseDate(s)
		if d.bad != nil {
			why := "want MM/DD/YYYY"
			if strings.HasSuffix(d.bad.Error(), "no such day") { // parseDate's own wording
				why = "no such day"
			}
			d.bad = fmt.Errorf("%s %q: %s", damColDate, s, why)
		}
	} else {
		d = serialDate(s)
	}
	if len(rd.days) < 4096 {
		rd.days[strings.Clone(s)] = d
	}
	return d, d.bad
}

// excelEpoch is day 0 of Excel's 1900 date system as it counts after
// 1900-02-28 (Excel's phantom 1900-02-29 shifts earlier serials by a day).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// serialDate parses a whole Excel date serial (1900 date system, dates from
// 1900-03-01).
func serialDate(s string) dayInfo {
	bad := dayInfo{bad: fmt.Errorf("%s %q: want MM/DD/YYYY or a date serial", damColDate, s)}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v != math.Trunc(v) || v < 61 || v > 2958465 {
		return bad
	}
	t := excelEpoch.AddDate(0, 0, int(v))
	return dayInfo{y: t.Year(), m: t.Month(), d: t.Day()}
}

// parseHourEnding parses an hour-ending cell: "HH:00" (01:00 to 24:00),
// a whole hour 1 to 24, or an Excel time fraction of a day (1/24 to 1,
// on the hour).
func parseHourEnding(s string) (int, error) {
	bad := fmt.Errorf("%s %q: want 01:00 to 24:00", damColHour, s)
	if hh, mm, ok := strings.Cut(s, ":"); ok {
		if len(hh) < 1 || len(hh) > 2 || mm != "00" {
			return 0, bad
		}
		h, err := strconv.Atoi(hh)
		if err != nil || h < 1 || h > 24 || hh[0] == '+' || hh[0] == '-' {
			return 0, bad
		}
		return h, nil
	}
	if h, err := strconv.Atoi(s); err == nil {
		if h < 1 || h > 24 {
			return 0, bad
		}
		return h, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0 && v <= 1) {
		return 0, bad
	}
	h := math.Round(v * 24)
	if math.Abs(v*24-h) > 1e-6 || h < 1 {
		return 0, bad
	}
	return int(h), nil
}

// schedule sorts the collected rows, rejects duplicates and returns them.
func (dr *damReader) schedule(source string) (price.Schedule, error) {
	if len(dr.rows) == 0 {
		return nil, dr.rd.notFound(source, "workbook")
	}
	slices.SortStableFunc(dr.rows, func(a, b damRow) int { return a.start.Compare(b.start) })
	s := make(price.Schedule, len(dr.rows))
	for i, r := range dr.rows {
		if i > 0 && r.start.Equal(dr.rows[i-1].start) {
			p := dr.rows[i-1]
			return nil, fmt.Errorf("%s: sheet %s row %d: duplicate hour starting %s for %s (also at sheet %s row %d)",
				source, r.sheet, r.row, r.start.Format(time.RFC3339), dr.rd.point, p.sheet, p.row)
		}
		s[i] = price.Point{Interval: energy.Interval{Start: r.start, End: r.start.Add(time.Hour)}, Price: r.price}
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: point %q: %w", source, dr.rd.point, err)
	}
	return s, nil
}

// MergeSchedules joins schedules (for example the DAM workbooks of several
// years) into one sorted schedule. Each input must be valid. A point that
// appears in more than one input with the same interval and price is kept
// once; any other overlap is an error naming both intervals. Gaps between
// the inputs are kept as gaps.
func MergeSchedules(schedules ...price.Schedule) (price.Schedule, error) {
	n := 0
	for i, s := range schedules {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("merge schedules: input %d: %w", i, err)
		}
		n += len(s)
	}
	all := make(price.Schedule, 0, n)
	for _, s := range schedules {
		all = append(all, s...)
	}
	slices.SortStableFunc(all, func(a, b price.Point) int {
		return cmp.Or(a.Interval.Start.Compare(b.Interval.Start), a.Interval.End.Compare(b.Interval.End))
	})
	out := all[:0]
	for _, p := range all {
		if k := len(out); k > 0 {
			last := out[k-1]
			if last.Interval.Start.Equal(p.Interval.Start) && last.Interval.End.Equal(p.Interval.End) && last.Price == p.Price {
				continue
			}
			if p.Interval.Start.Before(last.Interval.End) {
				return nil, fmt.Errorf("merge schedules: %v (%v) overlaps %v (%v)", p.Interval, p.Price, last.Interval, last.Price)
			}
		}
		out = append(out, p)
	}
	return out, nil
}
