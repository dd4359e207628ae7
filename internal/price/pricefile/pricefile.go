// Package pricefile opens a price history file of any format gridminer
// reads, for the backtester and other offline tools: it looks at the file's
// content (not its name) and hands it to the reader of that format.
//
//   - A CSV, plain or gzip-compressed, whose first line is the header
//     time,price: one generic series, read by package price/csvprice.
//   - Anything else ERCOT publishes for real-time prices, read by
//     ercot.OpenSPP: an NP6-905-CD CSV (plain or gzip-compressed), a report
//     13061 RTMLZHBSPP xlsx workbook, or a zip of either (the form ERCOT
//     serves).
//
// A CSV is told apart by its first line; a zip (and so an xlsx workbook) by
// its leading bytes. Any other file is an error naming the file, what its
// first line was and what was expected. The package does not fetch,
// resample or merge prices, and it reads no day-ahead workbook (ercot.OpenDAM
// does).
package pricefile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/price/csvprice"
	"github.com/gridminer/gridminer/internal/price/ercot"
)

// Format is a kind of price file.
type Format int

const (
	// TimePrice is a generic time,price CSV (package csvprice).
	TimePrice Format = iota + 1
	// ERCOT is a real-time price file in an ERCOT layout: NP6-905-CD CSV,
	// report 13061 workbook, or a zip of them (ercot.OpenSPP).
	ERCOT
)

func (f Format) String() string {
	switch f {
	case TimePrice:
		return "time,price CSV"
	case ERCOT:
		return "ERCOT real-time prices"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ErrUnknownFormat reports a file that is none of the formats read here.
var ErrUnknownFormat = errors.New("unknown price file format")

// expected says what a price file may be, for errors.
const expected = "want a CSV headed time,price, an ERCOT NP6-905-CD CSV " +
	"(DeliveryDate,DeliveryHour,DeliveryInterval,SettlementPointName,...), " +
	"plain or gzip-compressed, or an ERCOT xlsx workbook or zip"

// maxHeader bounds the first line read to tell a CSV's format.
const maxHeader = 64 << 10

// Leading bytes of the binary formats.
const (
	gzipMagic = "\x1f\x8b"
	zipMagic  = "PK\x03\x04"
	oleMagic  = "\xd0\xcf\x11\xe0" // Excel 97-2003 .xls
)

// Detect reports the format of the file at path from its content.
func Detect(path string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(len(zipMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	var text io.Reader = br
	switch {
	case bytes.HasPrefix(magic, []byte(zipMagic)):
		return ERCOT, nil
	case bytes.HasPrefix(magic, []byte(oleMagic)):
		return 0, fmt.Errorf("%s: %w: an Excel 97-2003 (.xls) workbook; save it as .xlsx (%s)", path, ErrUnknownFormat, expected)
	case bytes.HasPrefix(magic, []byte(gzipMagic)):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("read %s: gzip: %w", path, err)
		}
		defer zr.Close()
		text = zr
	}
	line, err := firstLine(text)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	if strings.TrimSpace(line) == "" {
		return 0, fmt.Errorf("%s: %w: the first line is empty (%s)", path, ErrUnknownFormat, expected)
	}
	fields, err := csv.NewReader(strings.NewReader(line)).Read()
	if err == nil {
		if csvprice.IsHeader(fields) {
			return TimePrice, nil
		}
		if ercotHeader(fields) {
			return ERCOT, nil
		}
	}
	return 0, fmt.Errorf("%s: %w: first line %s (%s)", path, ErrUnknownFormat, quote(line), expected)
}

// firstLine returns the first line of r without its line ending, or the
// first maxHeader bytes of r when it has no line ending that soon.
func firstLine(r io.Reader) (string, error) {
	b, err := bufio.NewReaderSize(r, maxHeader).ReadSlice('\n')
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// ercotHeader reports whether a CSV header names the NP6-905-CD columns a
// settlement point price file must have (ercot.ReadSPP checks the rest).
func ercotHeader(fields []string) bool {
	var date, price bool
	for _, f := range fields {
		switch strings.TrimSpace(strings.TrimPrefix(f, "\ufeff")) {
		case "DeliveryDate":
			date = true
		case "SettlementPointPrice":
			price = true
		}
	}
	return date && price
}

// quote shows the start of a line in an error, however binary it is.
func quote(line string) string {
	const max = 120
	if len(line) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		return fmt.Sprintf("%q...", line[:cut])
	}
	return fmt.Sprintf("%q", line)
}

// Open reads the price schedule in the file at path. For an ERCOT file it
// is the 15-minute schedule of the settlement point point (an energy-weighted
// load zone as NAME_EW, see package ercot). A time,price CSV holds a single
// unnamed series, so point is ignored for it: any value, including "", reads
// the file's one series.
func Open(path, point string) (price.Schedule, error) {
	f, err := Detect(path)
	if err != nil {
		return nil, err
	}
	if f == TimePrice {
		return csvprice.Open(path)
	}
	return ercot.OpenSPP(path, point)
}

// Points lists, sorted, the settlement point names in an ERCOT file. A
// time,price CSV names no point: for it Points returns nil and no error
// (and Open reads its one series whatever point it is given).
func Points(path string) ([]string, error) {
	f, err := Detect(path)
	if err != nil {
		return nil, err
	}
	if f == TimePrice {
		return nil, nil
	}
	return ercot.Points(path)
}
