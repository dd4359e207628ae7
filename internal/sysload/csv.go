package sysload

import (
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
)

// ReadCSV reads a load series (typically a live load forecast) from CSV:
//
//	time,mw
//	2022-07-20T15:00:00-05:00,74100.5
//
// The header must name a time column and an mw column (case and spaces
// ignored; other columns are ignored, lines starting with # are comments).
// time is the RFC 3339 start of the interval, in any offset (converted to
// UTC); mw its average load, finite and positive. Rows must be in strictly
// increasing time. Every interval lasts the file's step, the smallest gap
// between consecutive starts, which must be 15 minutes or an hour (a file of
// one row is hourly), and starts on a multiple of it. source names the
// stream in errors ("file.csv:12: ...").
func ReadCSV(r io.Reader, source string) (Series, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.ReuseRecord = true
	rec, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file, want a time,mw header", source)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", source, csvErr(err))
	}
	timeCol, mwCol := -1, -1
	for i, name := range rec {
		var dst *int
		switch normHeader(name) {
		case "time":
			dst = &timeCol
		case "mw":
			dst = &mwCol
		default:
			continue
		}
		if *dst >= 0 {
			return nil, fmt.Errorf("%s:1: column %q appears twice", source, strings.TrimSpace(name))
		}
		*dst = i
	}
	if timeCol < 0 || mwCol < 0 {
		return nil, fmt.Errorf("%s:1: header %q: want columns time and mw", source, rec)
	}
	cr.FieldsPerRecord = len(rec)
	type row struct {
		start time.Time
		mw    float64
		line  int
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, csvErr(err))
		}
		line, _ := cr.FieldPos(0)
		ts := strings.TrimSpace(rec[timeCol])
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: time %q: want RFC 3339 (2006-01-02T15:04:05-07:00)", source, line, ts)
		}
		t = t.UTC()
		if y := t.Year(); y < 1900 || y > 9999 {
			return nil, fmt.Errorf("%s:%d: time %q: year out of range", source, line, ts)
		}
		text := strings.TrimSpace(rec[mwCol])
		mw, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: mw %q: not a number", source, line, text)
		}
		if err := checkMW(fmt.Sprintf("%s:%d: %s", source, line, t.Format(time.RFC3339)), mw); err != nil {
			return nil, err
		}
		if n := len(rows); n > 0 && !t.After(rows[n-1].start) {
			return nil, fmt.Errorf("%s:%d: time %s not after the previous row's %s (line %d)",
				source, line, t.Format(time.RFC3339), rows[n-1].start.Format(time.RFC3339), rows[n-1].line)
		}
		rows = append(rows, row{t, mw, line})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no load rows", source)
	}
	step := time.Hour
	if len(rows) > 1 {
		step = rows[1].start.Sub(rows[0].start)
		for i := 2; i < len(rows); i++ {
			step = min(step, rows[i].start.Sub(rows[i-1].start))
		}
		if step != 15*time.Minute && step != time.Hour {
			return nil, fmt.Errorf("%s: rows %v apart: want 15m or 1h intervals", source, step)
		}
	}
	s := make(Series, len(rows))
	for i, r := range rows {
		if !r.start.Truncate(step).Equal(r.start) {
			return nil, fmt.Errorf("%s:%d: time %s: not on a %v boundary", source, r.line, r.start.Format(time.RFC3339), step)
		}
		s[i] = Point{Interval: energy.Interval{Start: r.start, End: r.start.Add(step)}, MW: r.mw}
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return s, nil
}

// csvErr unwraps a csv.ParseError to its line and cause.
func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d: %w", pe.Line, pe.Err)
	}
	return err
}

// Open reads a load series from a file, by extension: ".xlsx" is an ERCOT
// Native Load workbook (ReadNativeLoad); ".csv" or ".csv.gz" a time,mw CSV
// (ReadCSV).
func Open(path string) (Series, error) {
	lower := strings.ToLower(path)
	switch {
	case strings.HasSuffix(lower, ".xlsx"):
		return OpenNativeLoad(path)
	case strings.HasSuffix(lower, ".csv"), strings.HasSuffix(lower, ".csv.gz"):
	default:
		return nil, fmt.Errorf("open %s: unknown load file type (want .xlsx, .csv or .csv.gz)", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(lower, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: gzip: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	return ReadCSV(r, path)
}

// finish sorts parsed points, rejects an interval given twice (naming both
// places) and validates the result.
func finish(rows []located, source string) (Series, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no load rows", source)
	}
	slices.SortStableFunc(rows, func(a, b located) int { return a.Interval.Start.Compare(b.Interval.Start) })
	s := make(Series, len(rows))
	for i, r := range rows {
		if i > 0 && r.Interval.Start.Before(rows[i-1].Interval.End) {
			return nil, fmt.Errorf("%s: %s: hour starting %s given twice (also at %s)",
				source, r.where, r.Interval.Start.Format(time.RFC3339), rows[i-1].where)
		}
		s[i] = r.Point
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return s, nil
}
