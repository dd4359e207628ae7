// Package csvprice reads energy price histories of any market from a plain
// CSV file of one series: a header line time,price and one row per
// interval,
//
//	time,price
//	2021-11-07T01:45:00-05:00,31.5
//	2021-11-07T01:00:00-06:00,-4.25
//
// time is the START of the interval, in RFC 3339 with a zone offset or Z
// (2021-11-07T07:00:00Z); a space may stand for the T, as pandas writes
// timestamps. Times without a zone are rejected: local times are ambiguous
// at a daylight-saving change, and an offset says which instant is meant.
// price is in $/MWh; negative prices are kept, NaN and ±Inf rejected.
//
// The header must be exactly the two columns time and price (case and
// surrounding space ignored) and every row must have both: a third column
// is an error rather than ignored, so that a file holding several series
// (a point or market column) is never read as one.
//
// The interval length is not written in the file: it is the smallest
// spacing between consecutive rows, which must be 5, 15 or 30 minutes or an
// hour, and every spacing must be a whole multiple of it. A larger multiple
// is a gap in the data, kept as a gap (price.Schedule.Gaps reports it),
// never filled. Rows must be in strictly increasing time; a duplicate or
// out-of-order time is an error naming its line. A file needs at least two
// rows, since one row says nothing about the interval length.
//
// The package reads files only; it does not fetch, resample or fill prices.
// ERCOT's own report layouts are read by package price/ercot, and package
// price/pricefile picks the reader for a file.
package csvprice

import (
	"bufio"
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

// intervals are the interval lengths a file may have, shortest first.
var intervals = [...]time.Duration{5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour}

// IsHeader reports whether the fields of a CSV file's first line are the
// header this package reads: exactly time and price, case and surrounding
// space ignored, a leading byte-order mark allowed.
func IsHeader(fields []string) bool {
	return len(fields) == 2 &&
		strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(fields[0], "\ufeff")), "time") &&
		strings.EqualFold(strings.TrimSpace(fields[1]), "price")
}

// row is one parsed price and the line it came from.
type row struct {
	start time.Time
	price energy.Price
	line  int
}

// Read reads a time,price CSV stream and returns its schedule: UTC, sorted
// and valid, every interval of the file's interval length. source names the
// stream in errors ("prices.csv:12: time ...").
func Read(r io.Reader, source string) (price.Schedule, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // counted here, for a clearer message
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file, want a time,price header", source)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", source, csvErr(err))
	}
	if !IsHeader(head) {
		return nil, fmt.Errorf("%s:1: header %q: want exactly time,price", source, strings.Join(head, ","))
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s:%d: %w", source, pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != 2 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 2 (time,price)", source, line, len(rec))
		}
		rw, err := parseRow(rec)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", source, line, err)
		}
		rw.line = line
		if n := len(rows); n > 0 {
			prev := rows[n-1]
			switch rw.start.Compare(prev.start) {
			case 0:
				return nil, fmt.Errorf("%s:%d: time %s: duplicate of line %d", source, line, rw.start.Format(time.RFC3339), prev.line)
			case -1:
				return nil, fmt.Errorf("%s:%d: time %s: before line %d (%s); rows must be in increasing time",
					source, line, rw.start.Format(time.RFC3339), prev.line, prev.start.Format(time.RFC3339))
			}
		}
		rows = append(rows, rw)
	}
	switch len(rows) {
	case 0:
		return nil, fmt.Errorf("%s: no price rows after the header", source)
	case 1:
		return nil, fmt.Errorf("%s:%d: only one price row: the interval length cannot be inferred (need at least two rows)", source, rows[0].line)
	}
	step, err := intervalOf(rows, source)
	if err != nil {
		return nil, err
	}
	s := make(price.Schedule, len(rows))
	for i, r := range rows {
		s[i] = price.Point{Interval: energy.Interval{Start: r.start, End: r.start.Add(step)}, Price: r.price}
	}
	return s, nil
}

// parseRow converts the two fields of a data row.
func parseRow(rec []string) (row, error) {
	start, err := parseTime(strings.TrimSpace(rec[0]))
	if err != nil {
		return row{}, err
	}
	text := strings.TrimSpace(rec[1])
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return row{}, fmt.Errorf("price %q: not a number ($/MWh)", text)
	}
	p, err := energy.NewPrice("price", v)
	if err != nil {
		return row{}, err
	}
	return row{start: start, price: p}, nil
}

// parseTime parses an RFC 3339 time with a zone offset (a space may stand
// for the T) and returns it in UTC.
func parseTime(s string) (time.Time, error) {
	norm := s
	if len(norm) > 10 && norm[10] == ' ' {
		norm = norm[:10] + "T" + norm[11:]
	}
	t, err := time.Parse(time.RFC3339Nano, norm)
	if err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04"} {
		if _, e := time.Parse(layout, norm); e == nil {
			return time.Time{}, fmt.Errorf("time %q: no zone offset; local times are ambiguous across daylight-saving changes, add Z or an offset such as -06:00", s)
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 with a zone offset, e.g. 2021-11-07T01:00:00-06:00 or 2021-11-07T07:00:00Z", s)
}

// intervalOf returns the interval length of a file: the smallest spacing of
// consecutive rows, which must be one of intervals and divide every other
// spacing.
func intervalOf(rows []row, source string) (time.Duration, error) {
	step, at := time.Duration(0), 0
	for i := 1; i < len(rows); i++ {
		if d := rows[i].start.Sub(rows[i-1].start); step == 0 || d < step {
			step, at = d, i
		}
	}
	if !slices.Contains(intervals[:], step) {
		return 0, fmt.Errorf("%s:%d: %v after line %d, the smallest spacing of the file: the interval must be 5m, 15m, 30m or 1h",
			source, rows[at].line, step, rows[at-1].line)
	}
	for i := 1; i < len(rows); i++ {
		if d := rows[i].start.Sub(rows[i-1].start); d%step != 0 {
			return 0, fmt.Errorf("%s:%d: time %s: %v after line %d, not a whole number of %v intervals",
				source, rows[i].line, rows[i].start.Format(time.RFC3339), d, rows[i-1].line, step)
		}
	}
	return step, nil
}

// csvErr unwraps the line from a csv.ParseError of the header.
func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Open reads a time,price CSV file, plain or gzip-compressed (recognised by
// its content, whatever the file is called).
func Open(path string) (price.Schedule, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read %s: gzip: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	return Read(r, path)
}
