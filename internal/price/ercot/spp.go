// Package ercot reads ERCOT real-time settlement point price files in the
// NP6-905-CD CSV layout (15-minute prices at resource nodes, hubs and load
// zones) into price schedules, converting ERCOT's local hour-ending
// delivery calendar to half-open UTC intervals.
//
// Columns are mapped by header name, so their order may vary:
//
//	DeliveryDate,DeliveryHour,DeliveryInterval,SettlementPointName,SettlementPointType,SettlementPointPrice,DSTFlag
//
// DeliveryDate is MM/DD/YYYY in America/Chicago; DeliveryHour is hour-ending
// 1–24; DeliveryInterval is 1–4, and (H, I) covers local
// [H-1:(I-1)×15, H-1:I×15). On the fall-back day hour-ending 2 appears twice:
// DSTFlag N is the first (daylight) pass and Y the repeated (standard) one.
// DSTFlag may be absent, in which case every row is read as N.
//
// Prices are kept exactly as published: negative prices and prices above
// the offer cap (Winter Storm Uri reached $9,315/MWh) are never clamped.
// Missing intervals are not an error here; callers find them with
// price.Schedule.Gaps. The reader only checks rows of the point asked for;
// it does not fetch reports from ERCOT. It reads the day-ahead DAMLZHBSPP
// workbook (OpenDAM) and real-time 15-minute prices (OpenSPP) either in the
// NP6-905-CD CSV layout or in ERCOT's yearly report 13061 workbook
// (RTMLZHBSPP, see OpenRTMWorkbook).
//
// Load zones are published twice per interval, once per Settlement Point
// Type: LZ (the zone's price) and LZEW (its energy-weighted variant, the one
// ERCOT applies to metered load), under the same name. Wherever the type
// column is present, a row whose type ends in EW (LZEW, LZ_DCEW) is read as
// the point NAME_EW, so "LZ_WEST" always means the LZ price and "LZ_WEST_EW"
// the energy-weighted one; the two are never merged.
package ercot

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

// ErrPointNotFound reports that a file holds no rows for the settlement
// point asked for.
var ErrPointNotFound = errors.New("settlement point not in file")

// Column names of the NP6-905-CD layout.
const (
	colDate     = "DeliveryDate"
	colHour     = "DeliveryHour"
	colInterval = "DeliveryInterval"
	colName     = "SettlementPointName"
	colType     = "SettlementPointType"
	colPrice    = "SettlementPointPrice"
	colDST      = "DSTFlag"
)

// ewSuffix is appended to the name of an energy-weighted load zone row
// (Settlement Point Type LZEW or LZ_DCEW) to name its point.
const ewSuffix = "_EW"

// interval is the length of one settlement interval.
const interval = 15 * time.Minute

// columns holds the index of each column used, -1 for an absent optional one.
type columns struct{ date, hour, interval, name, typ, price, dst int }

// row is one parsed price with where it came from, for error messages: a
// line of a CSV stream, or (sheet set) a row of a workbook sheet.
type row struct {
	start  time.Time
	price  energy.Price
	source string
	sheet  string
	line   int
}

// pos names where r came from: "file.csv:12" or "file.xlsx: sheet Feb row 12".
func (r row) pos() string {
	if r.sheet != "" {
		return fmt.Sprintf("%s: sheet %s row %d", r.source, r.sheet, r.line)
	}
	return fmt.Sprintf("%s:%d", r.source, r.line)
}

// pointKey is a point name as published and whether its rows are the
// energy-weighted variant (named name+ewSuffix).
type pointKey struct {
	name string
	ew   bool
}

// reader accumulates the rows of one settlement point over one or more
// CSV streams or workbooks (the members of a zip).
type reader struct {
	point     string
	namesOnly bool // Points: collect names, parse no rows
	loc       *time.Location
	rows      []row
	seen      map[pointKey]struct{} // every point met, to help when point is absent
	days      map[string]dayInfo    // parsed DeliveryDate cache
}

// dayInfo is a parsed delivery date.
type dayInfo struct {
	y   int
	m   time.Month
	d   int
	bad error
}

func newReader(point string) *reader {
	return &reader{point: point, loc: price.ERCOTLocation(), seen: map[pointKey]struct{}{}, days: map[string]dayInfo{}}
}

// energyWeighted reports whether a Settlement Point Type names an
// energy-weighted load zone price (LZEW, LZ_DCEW).
func energyWeighted(typ string) bool {
	typ = strings.TrimSpace(typ)
	return len(typ) >= 2 && strings.EqualFold(typ[len(typ)-2:], "EW")
}

// wanted reports whether rows published as name (energy-weighted or not)
// belong to the point asked for. It does not allocate.
func (rd *reader) wanted(name string, ew bool) bool {
	if rd.namesOnly || name == "" {
		return false
	}
	if !ew {
		return name == rd.point
	}
	return len(rd.point) == len(name)+len(ewSuffix) && strings.HasPrefix(rd.point, name) && strings.HasSuffix(rd.point, ewSuffix)
}

// saw records a point met in a file, for Points and for the error when the
// point asked for is absent.
func (rd *reader) saw(name string, ew bool) {
	if name == "" {
		return
	}
	if _, ok := rd.seen[pointKey{name, ew}]; !ok {
		rd.seen[pointKey{strings.Clone(name), ew}] = struct{}{}
	}
}

// ReadSPP reads an NP6-905-CD CSV stream and returns the schedule of one
// settlement point. source names the stream in errors ("file.csv:12: ...").
func ReadSPP(r io.Reader, source string, point string) (price.Schedule, error) {
	rd := newReader(point)
	if err := rd.read(r, source); err != nil {
		return nil, err
	}
	return rd.schedule(source)
}

// OpenSPP reads the 15-minute real-time schedule of one settlement point
// from a file: an NP6-905-CD CSV, plain or gzip-compressed; a report 13061
// (RTMLZHBSPP) xlsx workbook; or a zip archive, of which every ".csv" and
// ".xlsx" member is read in name order (ERCOT serves both reports as zips).
// The format is recognised from the file's content, not its name. Rows of
// the same interval in two members are an error, as within one.
func OpenSPP(path string, point string) (price.Schedule, error) {
	rd := newReader(point)
	if err := rd.readPath(path); err != nil {
		return nil, err
	}
	return rd.schedule(path)
}

// Points lists, sorted, the settlement point names present in a file (any
// form OpenSPP reads), energy-weighted load zones as NAME_EW.
func Points(path string) ([]string, error) {
	rd := newReader("")
	rd.namesOnly = true
	if err := rd.readPath(path); err != nil {
		return nil, err
	}
	return rd.names(), nil
}

// Leading bytes that tell the containers apart.
const (
	gzipMagic = "\x1f\x8b"
	zipMagic  = "PK\x03\x04"
)

// readPath opens path and reads every price stream in it: the file itself
// when it is a CSV (plain or gzip-compressed) or an xlsx workbook, or each
// ".csv" and ".xlsx" member, in name order, of a zip archive.
func (rd *reader) readPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	magic := make([]byte, len(zipMagic))
	n, err := io.ReadFull(f, magic)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	magic = magic[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	switch {
	case bytes.HasPrefix(magic, []byte(gzipMagic)):
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("read %s: gzip: %w", path, err)
		}
		defer zr.Close()
		return rd.read(zr, path)
	case bytes.HasPrefix(magic, []byte(zipMagic)):
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		zr, err := zip.NewReader(f, st.Size())
		if err != nil {
			return fmt.Errorf("read %s: zip: %w", path, err)
		}
		if isWorkbook(zr) {
			return rd.readWorkbook(f, path)
		}
		return rd.readZip(zr, path)
	}
	return rd.read(f, path)
}

// readZip reads the ".csv" and ".xlsx" members of an archive in name order.
func (rd *reader) readZip(zr *zip.Reader, path string) error {
	files := slices.Clone(zr.File)
	slices.SortFunc(files, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })
	n := 0
	for _, f := range files {
		name := strings.ToLower(f.Name)
		book := strings.HasSuffix(name, ".xlsx")
		if !book && !strings.HasSuffix(name, ".csv") {
			continue
		}
		n++
		source := path + ":" + f.Name
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("open %s: %w", source, err)
		}
		if book {
			err = rd.readWorkbook(rc, source)
		} else {
			err = rd.read(rc, source)
		}
		rc.Close()
		if err != nil {
			return err
		}
	}
	if n == 0 {
		return fmt.Errorf("read %s: zip has no .csv or .xlsx member", path)
	}
	return nil
}

// header maps the column names of the first record.
func header(rec []string, source string) (columns, error) {
	c := columns{-1, -1, -1, -1, -1, -1, -1}
	for i, name := range rec {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))
		var dst *int
		switch name {
		case colDate:
			dst = &c.date
		case colHour:
			dst = &c.hour
		case colInterval:
			dst = &c.interval
		case colName:
			dst = &c.name
		case colType:
			dst = &c.typ
		case colPrice:
			dst = &c.price
		case colDST:
			dst = &c.dst
		default:
			continue
		}
		if *dst >= 0 {
			return c, fmt.Errorf("%s:1: column %q appears twice", source, name)
		}
		*dst = i
	}
	var missing []string
	for _, m := range []struct {
		name string
		idx  int
	}{{colDate, c.date}, {colHour, c.hour}, {colInterval, c.interval}, {colName, c.name}, {colPrice, c.price}} {
		if m.idx < 0 {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("%s:1: header lacks column %s (NP6-905-CD layout expected)", source, strings.Join(missing, ", "))
	}
	return c, nil
}

// read parses one CSV stream, keeping the rows of rd.point.
func (rd *reader) read(r io.Reader, source string) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	rec, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: empty file, want an NP6-905-CD header", source)
	}
	if err != nil {
		return fmt.Errorf("%s: header: %w", source, err)
	}
	cols, err := header(rec, source)
	if err != nil {
		return err
	}
	cr.FieldsPerRecord = len(rec)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return fmt.Errorf("%s:%d: %w", source, pe.Line, pe.Err)
			}
			return fmt.Errorf("%s: %w", source, err)
		}
		line, _ := cr.FieldPos(0)
		name := rec[cols.name]
		ew := cols.typ >= 0 && energyWeighted(rec[cols.typ])
		if !rd.wanted(name, ew) {
			rd.saw(name, ew)
			continue
		}
		rw, err := rd.parseRow(rec, cols)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", source, line, err)
		}
		rw.source, rw.line = source, line
		rd.rows = append(rd.rows, rw)
	}
}

// parseRow converts one record of the wanted point.
func (rd *reader) parseRow(rec []string, c columns) (row, error) {
	day, err := rd.day(rec[c.date])
	if err != nil {
		return row{}, err
	}
	hour, err := strconv.Atoi(rec[c.hour])
	if err != nil || hour < 1 || hour > 24 {
		return row{}, fmt.Errorf("%s %q: want hour-ending 1 to 24", colHour, rec[c.hour])
	}
	iv, err := strconv.Atoi(rec[c.interval])
	if err != nil || iv < 1 || iv > 4 {
		return row{}, fmt.Errorf("%s %q: want 1 to 4", colInterval, rec[c.interval])
	}
	repeated := false
	if c.dst >= 0 {
		switch rec[c.dst] {
		case "N", "n", "":
		case "Y", "y":
			repeated = true
		default:
			return row{}, fmt.Errorf("%s %q: want Y or N", colDST, rec[c.dst])
		}
	}
	start, err := rd.toUTC(day, hour, iv, repeated)
	if err != nil {
		return row{}, err
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(rec[c.price]), 64)
	if err != nil {
		return row{}, fmt.Errorf("%s %q: not a number", colPrice, rec[c.price])
	}
	p, err := energy.NewPrice(colPrice, v)
	if err != nil {
		return row{}, err
	}
	return row{start: start, price: p}, nil
}

// day parses MM/DD/YYYY, caching by text (a file has few distinct dates).
func (rd *reader) day(s string) (dayInfo, error) {
	if d, ok := rd.days[s]; ok {
		return d, d.bad
	}
	d := parseDate(s)
	if len(rd.days) < 4096 {
		rd.days[strings.Clone(s)] = d
	}
	return d, d.bad
}

func parseDate(s string) dayInfo {
	bad := dayInfo{bad: fmt.Errorf("%s %q: want MM/DD/YYYY", colDate, s)}
	parts := strings.Split(s, "/")
	if len(parts) != 3 || len(parts[2]) != 4 {
		return bad
	}
	m, err1 := strconv.Atoi(parts[0])
	d, err2 := strconv.Atoi(parts[1])
	y, err3 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || m < 1 || m > 12 || d < 1 || d > 31 || y < 1900 {
		return bad
	}
	if t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC); t.Day() != d {
		return dayInfo{bad: fmt.Errorf("%s %q: no such day", colDate, s)}
	}
	return dayInfo{y: y, m: time.Month(m), d: d}
}

// toUTC converts the local start of (day, hour-ending, interval) to UTC.
// The wall-clock time is matched against every offset the zone uses around
// it: no match means the hour does not exist (spring forward), two matches
// mean it occurs twice (fall back) and repeated picks the later one.
func (rd *reader) toUTC(d dayInfo, hour, iv int, repeated bool) (time.Time, error) {
	wall := time.Date(d.y, d.m, d.d, hour-1, (iv-1)*15, 0, 0, time.UTC)
	_, off1 := wall.Add(-36 * time.Hour).In(rd.loc).Zone()
	_, off2 := wall.Add(36 * time.Hour).In(rd.loc).Zone()
	var cands []time.Time
	for _, off := range []int{off1, off2} {
		t := wall.Add(-time.Duration(off) * time.Second)
		if _, o := t.In(rd.loc).Zone(); o != off {
			continue
		}
		if len(cands) == 1 && cands[0].Equal(t) {
			continue
		}
		cands = append(cands, t)
	}
	slices.SortFunc(cands, func(a, b time.Time) int { return a.Compare(b) })
	what := fmt.Sprintf("%04d-%02d-%02d hour-ending %d interval %d", d.y, d.m, d.d, hour, iv)
	switch {
	case len(cands) == 0:
		return time.Time{}, fmt.Errorf("%s: local time does not exist in America/Chicago (spring forward)", what)
	case len(cands) == 1 && repeated:
		return time.Time{}, fmt.Errorf("%s: %s Y on an hour that is not repeated", what, colDST)
	case repeated:
		return cands[1], nil
	default:
		return cands[0], nil
	}
}

// schedule sorts the collected rows, rejects duplicates and returns them.
func (rd *reader) schedule(source string) (price.Schedule, error) {
	if len(rd.rows) == 0 {
		return nil, rd.notFound(source, "file")
	}
	slices.SortStableFunc(rd.rows, func(a, b row) int { return a.start.Compare(b.start) })
	s := make(price.Schedule, len(rd.rows))
	for i, r := range rd.rows {
		if i > 0 && r.start.Equal(rd.rows[i-1].start) {
			return nil, fmt.Errorf("%s: duplicate interval starting %s for %s (also at %s)",
				r.pos(), r.start.Format(time.RFC3339), rd.point, rd.rows[i-1].pos())
		}
		s[i] = price.Point{Interval: energy.Interval{Start: r.start, End: r.start.Add(interval)}, Price: r.price}
	}
	return s, nil
}

// names returns the sorted point names seen, including the wanted one.
func (rd *reader) names() []string {
	out := make([]string, 0, len(rd.seen)+1)
	for k := range rd.seen {
		if k.ew {
			out = append(out, k.name+ewSuffix)
		} else {
			out = append(out, k.name)
		}
	}
	if len(rd.rows) > 0 {
		out = append(out, rd.point)
	}
	slices.Sort(out)
	return out
}

// notFound is the error for a point with no rows in a file or workbook
// (what), listing a few of the points it does have.
func (rd *reader) notFound(source, what string) error {
	names := rd.names()
	if len(names) == 0 {
		return fmt.Errorf("%s: point %q: %w (the %s has no price rows)", source, rd.point, ErrPointNotFound, what)
	}
	more := ""
	if len(names) > 5 {
		more = fmt.Sprintf(" and %d more", len(names)-5)
		names = names[:5]
	}
	return fmt.Errorf("%s: point %q: %w (it has %s%s)", source, rd.point, ErrPointNotFound, strings.Join(names, ", "), more)
}
