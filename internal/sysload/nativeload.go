package sysload

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gridminer/gridminer/internal/energy"
)

// Native Load report headers, normalised (lowercase, no spaces or
// underscores): 2021–2022 workbooks say "Hour Ending", 2020 "HourEnding".
const (
	nlColHour  = "hourending"
	nlColTotal = "ercot"
)

// ReadNativeLoad reads ERCOT's Native Load report (hourly load by weather
// zone, one workbook a year) from r and returns the ERCOT total column as an
// hourly series. source names the workbook in errors ("file.xlsx: sheet
// Sheet1 row 12: ...").
//
// Every non-empty sheet must start with a header row holding an Hour Ending
// (or HourEnding) column and an ERCOT column; other columns (COAST … WEST)
// are ignored. Hour Ending is "MM/DD/YYYY HH:MM" in America/Chicago with
// "24:00" for midnight and a " DST" suffix on the repeated fall-back hour; a
// date-time cell stored as an Excel serial number (as one row of the 2022
// workbook is) is read too, as a non-repeated hour. Loads must be finite and
// positive; a missing hour is a gap, a hour given twice an error.
func ReadNativeLoad(r io.Reader, source string) (Series, error) {
	f, err := excelize.OpenReader(r, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", source, err)
	}
	defer f.Close()
	return readNativeLoad(f, source)
}

// OpenNativeLoad reads a Native Load workbook from a file (see
// ReadNativeLoad).
func OpenNativeLoad(path string) (Series, error) {
	f, err := excelize.OpenFile(path, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	return readNativeLoad(f, path)
}

// located is a parsed point and where it came from.
type located struct {
	Point
	where string
}

func readNativeLoad(f *excelize.File, source string) (Series, error) {
	var rows []located
	for _, sheet := range f.GetSheetList() {
		var err error
		if rows, err = readNativeSheet(f, source, sheet, rows); err != nil {
			return nil, err
		}
	}
	return finish(rows, source)
}

func readNativeSheet(f *excelize.File, source, sheet string, out []located) (_ []located, err error) {
	it, err := f.Rows(sheet)
	if err != nil {
		return nil, fmt.Errorf("read %s: sheet %s: %w", source, sheet, err)
	}
	defer func() {
		if cerr := it.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("read %s: sheet %s: %w", source, sheet, cerr)
		}
	}()
	hourCol, totalCol := -1, -1
	for n := 1; it.Next(); n++ {
		cells, err := it.Columns()
		if err != nil {
			return nil, fmt.Errorf("%s: sheet %s row %d: %w", source, sheet, n, err)
		}
		if blank(cells) {
			continue
		}
		if hourCol < 0 {
			if hourCol, totalCol, err = nativeHeader(cells); err != nil {
				return nil, fmt.Errorf("%s: sheet %s row %d: %w", source, sheet, n, err)
			}
			continue
		}
		p, err := parseNativeRow(cellAt(cells, hourCol), cellAt(cells, totalCol))
		if err != nil {
			return nil, fmt.Errorf("%s: sheet %s row %d: %w", source, sheet, n, err)
		}
		out = append(out, located{p, fmt.Sprintf("sheet %s row %d", sheet, n)})
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("read %s: sheet %s: %w", source, sheet, err)
	}
	return out, nil
}

// nativeHeader finds the hour-ending and ERCOT total columns.
func nativeHeader(cells []string) (hour, total int, err error) {
	hour, total = -1, -1
	for i, c := range cells {
		var dst *int
		switch normHeader(c) {
		case nlColHour:
			dst = &hour
		case nlColTotal:
			dst = &total
		default:
			continue
		}
		if *dst >= 0 {
			return -1, -1, fmt.Errorf("column %q appears twice", strings.TrimSpace(c))
		}
		*dst = i
	}
	if hour < 0 || total < 0 {
		return -1, -1, fmt.Errorf("not a Native Load header (want Hour Ending and ERCOT columns): %q", cells)
	}
	return hour, total, nil
}

// parseNativeRow converts the hour-ending and ERCOT cells of one row.
func parseNativeRow(hourCell, mwCell string) (Point, error) {
	h, err := parseHourEnding(hourCell)
	if err != nil {
		return Point{}, err
	}
	start, err := h.start()
	if err != nil {
		return Point{}, err
	}
	mw, err := strconv.ParseFloat(mwCell, 64)
	if err != nil {
		return Point{}, fmt.Errorf("ERCOT %q: not a number", mwCell)
	}
	if err := checkMW(h.String(), mw); err != nil {
		return Point{}, err
	}
	return Point{Interval: hourAt(start), MW: mw}, nil
}

// parseHourEnding parses a Native Load hour-ending cell: "MM/DD/YYYY HH:MM"
// (HH 01 to 24, MM 00) with an optional " DST" suffix marking the repeated
// fall-back hour, or an Excel date-time serial on the hour (00:00 read as
// hour-ending 24 of the day before).
func parseHourEnding(s string) (localHour, error) {
	bad := fmt.Errorf("Hour Ending %q: want MM/DD/YYYY HH:00 (01:00 to 24:00, optional DST suffix)", s)
	text := strings.TrimSpace(s)
	var h localHour
	if rest, ok := strings.CutSuffix(text, "DST"); ok {
		h.repeated = true
		text = strings.TrimSpace(rest)
	}
	date, clock, ok := strings.Cut(text, " ")
	if !ok {
		if h.repeated {
			return localHour{}, bad
		}
		return serialHour(s)
	}
	clock = strings.TrimSpace(clock)
	parts := strings.Split(date, "/")
	hh, mm, ok := strings.Cut(clock, ":")
	if len(parts) != 3 || !ok || mm != "00" || len(parts[2]) != 4 || !digits(parts[0], 1, 2) || !digits(parts[1], 1, 2) || !digits(parts[2], 4, 4) || !digits(hh, 1, 2) {
		return localHour{}, bad
	}
	mo, _ := strconv.Atoi(parts[0])
	h.day, _ = strconv.Atoi(parts[1])
	h.year, _ = strconv.Atoi(parts[2])
	h.ending, _ = strconv.Atoi(hh)
	if mo < 1 || mo > 12 || h.day < 1 || h.day > 31 || h.ending < 1 || h.ending > 24 || h.year < 1900 {
		return localHour{}, bad
	}
	h.month = time.Month(mo)
	if t := time.Date(h.year, h.month, h.day, 0, 0, 0, 0, time.UTC); t.Day() != h.day {
		return localHour{}, fmt.Errorf("Hour Ending %q: no such day", s)
	}
	return h, nil
}

// digits reports whether s is min to max ASCII digits.
func digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// excelEpoch is day 0 of Excel's 1900 date system as it counts after
// 1900-02-28.
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// serialHour reads an Excel date-time serial (days since excelEpoch, the
// fraction the time of day) that falls on a whole hour.
func serialHour(s string) (localHour, error) {
	bad := fmt.Errorf("Hour Ending %q: want MM/DD/YYYY HH:00 (01:00 to 24:00, optional DST suffix)", s)
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(v >= 61 && v < 2958466) {
		return localHour{}, bad
	}
	minutes := math.Round(v * 24 * 60)
	if math.Abs(v*24*60-minutes) > 0.01 || math.Mod(minutes, 60) != 0 {
		return localHour{}, fmt.Errorf("Hour Ending %q: date-time serial not on the hour", s)
	}
	// The serial is the hour's end on the local clock; midnight ends
	// hour-ending 24 of the day before.
	days := math.Floor(minutes / 1440)
	t := excelEpoch.AddDate(0, 0, int(days)).Add(time.Duration(minutes-days*1440) * time.Minute)
	ending := t.Hour()
	if ending == 0 {
		t, ending = t.AddDate(0, 0, -1), 24
	}
	return localHour{year: t.Year(), month: t.Month(), day: t.Day(), ending: ending}, nil
}

// hourAt returns the hour starting at t.
func hourAt(t time.Time) energy.Interval {
	return energy.Interval{Start: t.UTC(), End: t.UTC().Add(time.Hour)}
}

// normHeader lowercases a header cell and drops spaces and underscores.
func normHeader(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimPrefix(s, "\ufeff")) {
		switch r {
		case ' ', '_', '\t', '\u00a0':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// blank reports whether every cell is empty.
func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// cellAt returns the trimmed cell i, or "" past the end of the row.
func cellAt(cells []string, i int) string {
	if i < 0 || i >= len(cells) {
		return ""
	}
	return strings.TrimSpace(cells[i])
}
