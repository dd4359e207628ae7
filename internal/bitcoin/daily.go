package bitcoin

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Day is one UTC day of network economics, as in btc_daily.csv.
type Day struct {
	Date        time.Time // the UTC day, at midnight UTC
	HeightStart int64     // height of the first block mined that day
	Blocks      int       // blocks mined that day
	PriceUSD    float64   // BTC price in US dollars
	FeesBTC     float64   // total transaction fees paid that day, BTC
	Difficulty  float64   // difficulty in force at 00:00 UTC
}

// Economics returns d as Economics at d.HeightStart, with fees per block
// FeesBTC / Blocks (0 on a day with no blocks). On a day that crosses a
// halving the subsidy of the first block is used for the whole day.
func (d Day) Economics() Economics {
	fees := 0.0
	if d.Blocks > 0 {
		fees = d.FeesBTC / float64(d.Blocks)
	}
	return Economics{
		Height:          d.HeightStart,
		Difficulty:      d.Difficulty,
		PriceUSD:        d.PriceUSD,
		FeesPerBlockBTC: fees,
	}
}

// dailyHeader is the header line ReadDaily requires.
var dailyHeader = []string{"date", "height_start", "block_count", "price_usd", "fees_btc", "difficulty"}

// ErrBadDaily is wrapped by every ReadDaily error about the file's content.
var ErrBadDaily = errors.New("bad btc daily file")

// ReadDaily parses a btc_daily.csv file:
//
//	date,height_start,block_count,price_usd,fees_btc,difficulty
//	2021-01-01,663914,149,29380.6937327878,48.65132609,18599593048299.49
//
// Dates are YYYY-MM-DD UTC days and must strictly increase. Heights and
// block counts must not be negative; price and difficulty must be finite
// and positive, fees finite and not negative. source names the input in
// errors, which also carry the line number. A file with a header and no
// rows gives no days and no error.
func ReadDaily(r io.Reader, source string) ([]Day, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(dailyHeader)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, want header %q: %w", source, strings.Join(dailyHeader, ","), ErrBadDaily)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w: %w", source, ErrBadDaily, err)
	}
	for i, want := range dailyHeader {
		got := strings.TrimSpace(head[i])
		if i == 0 {
			got = strings.TrimPrefix(got, "\ufeff")
		}
		if got != want {
			return nil, fmt.Errorf("%s:1: column %d is %q, want %q: %w", source, i+1, got, want, ErrBadDaily)
		}
	}
	var days []Day
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return days, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", source, ErrBadDaily, err)
		}
		line, _ := cr.FieldPos(0)
		d, err := parseDay(rec)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", source, line, err)
		}
		if n := len(days); n > 0 && !d.Date.After(days[n-1].Date) {
			return nil, fmt.Errorf("%s:%d: date %s does not follow %s: %w", source, line,
				d.Date.Format(time.DateOnly), days[n-1].Date.Format(time.DateOnly), ErrBadDaily)
		}
		days = append(days, d)
	}
}

// parseDay parses one record of dailyHeader's columns.
func parseDay(rec []string) (Day, error) {
	var d Day
	date, err := time.Parse(time.DateOnly, strings.TrimSpace(rec[0]))
	if err != nil {
		return d, fmt.Errorf("date %q: want YYYY-MM-DD: %w", rec[0], ErrBadDaily)
	}
	d.Date = date.UTC()
	if d.HeightStart, err = parseCount("height_start", rec[1]); err != nil {
		return d, err
	}
	blocks, err := parseCount("block_count", rec[2])
	if err != nil {
		return d, err
	}
	if blocks > 1_000_000 {
		return d, fmt.Errorf("block_count %d: not a day's worth of blocks: %w", blocks, ErrBadDaily)
	}
	d.Blocks = int(blocks)
	if d.PriceUSD, err = parseFloat("price_usd", rec[3], true); err != nil {
		return d, err
	}
	if d.FeesBTC, err = parseFloat("fees_btc", rec[4], false); err != nil {
		return d, err
	}
	if d.Difficulty, err = parseFloat("difficulty", rec[5], true); err != nil {
		return d, err
	}
	return d, nil
}

func parseCount(what, s string) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q: want a whole number: %w", what, s, ErrBadDaily)
	}
	if v < 0 {
		return 0, fmt.Errorf("%s %d: must not be negative: %w", what, v, ErrBadDaily)
	}
	return v, nil
}

func parseFloat(what, s string, positive bool) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !finite(v) {
		return 0, fmt.Errorf("%s %q: want a finite number: %w", what, s, ErrBadDaily)
	}
	if positive && v <= 0 {
		return 0, fmt.Errorf("%s %v: must be positive: %w", what, v, ErrBadDaily)
	}
	if v < 0 {
		return 0, fmt.Errorf("%s %v: must not be negative: %w", what, v, ErrBadDaily)
	}
	return v, nil
}
