package datafetch

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
)

// The public APIs btc_daily.csv is built from.
const (
	// DefaultCoinMetricsURL is the Coin Metrics community API v4 (no key;
	// 10 requests per 6 seconds per IP address).
	DefaultCoinMetricsURL = "https://community-api.coinmetrics.io/v4"
	// DefaultMempoolURL is mempool.space; any mempool instance with mining
	// indexes serves the same API.
	DefaultMempoolURL = "https://mempool.space"

	coinMetricsPath        = "/timeseries/asset-metrics"
	coinMetricsMetrics     = "PriceUSD,BlkCnt,FeeTotNtv"
	mempoolAdjustmentsPath = "/api/v1/mining/difficulty-adjustments/all"
	mempoolBlockAtPath     = "/api/v1/mining/blocks/timestamp/"
	defaultPageSize        = 10000 // Coin Metrics' maximum
	maxPages               = 1000
	maxJSONBytes           = 64 << 20

	// endAnchorTolerance is how far, in blocks, the block mempool finds at
	// the end of the span may sit from the derived last block before it is
	// an error: block timestamps are not ordered, so a block or two near
	// midnight can count on either side, but more means wrong data.
	endAnchorTolerance = 3
)

var (
	// ErrMissingDay is wrapped when a day of the span has no row, or a null
	// value, in the Coin Metrics data.
	ErrMissingDay = errors.New("day missing from the data")
	// ErrBadValue is wrapped when an API value is not a number, or not a
	// sensible one (a negative fee, a fractional block count).
	ErrBadValue = errors.New("bad value")
	// ErrHeightMismatch is wrapped when the heights derived from the anchor
	// block and the daily block counts disagree with a difficulty adjustment
	// or with the block mempool finds at the end of the span.
	ErrHeightMismatch = errors.New("derived block heights disagree")
)

// BTCDailyOptions configures FetchBTCDaily.
type BTCDailyOptions struct {
	Net
	// From and To are the first and last UTC days, inclusive (their time of
	// day is ignored). To must be a day that has ended.
	From, To time.Time
	// Out is the file to write; "" is btc_daily.csv in the working directory.
	Out string
	// CoinMetricsURL replaces DefaultCoinMetricsURL (the API root, ending
	// in /v4).
	CoinMetricsURL string
	// MempoolURL replaces DefaultMempoolURL (the site root; /api/v1/... is
	// appended).
	MempoolURL string
	// PageSize is the Coin Metrics rows asked per page (0: 10000, the most
	// the API gives).
	PageSize int
}

// BTCDailyResult says what FetchBTCDaily wrote.
type BTCDailyResult struct {
	Path        string
	Bytes       int64
	Days        int
	From, To    time.Time
	HeightStart int64 // the first block of From
	HeightEnd   int64 // one past the last block of To
	// Adjustments is the number of difficulty adjustments inside the span
	// the heights were checked against.
	Adjustments int
}

// dailyRow is one line of btc_daily.csv; price and fees stay the text
// Coin Metrics sent.
type dailyRow struct {
	date        time.Time
	heightStart int64
	blocks      int64
	price, fees string
	difficulty  float64
}

// FetchBTCDaily writes btc_daily.csv for [From, To]: date, height of the
// day's first block, blocks that day, PriceUSD, FeeTotNtv (total fees, BTC)
// and the difficulty in force at 00:00 UTC.
//
// Price, fees and block counts come from Coin Metrics (asset-metrics, btc,
// frequency 1d, every page). From mempool.space come the difficulty
// adjustments (the difficulty at 00:00 UTC of a day is that of the last
// adjustment mined at or before it) and the anchor: the block at or before
// the last second before From, whose height plus one is From's first block;
// later days add the block counts. Every difficulty adjustment inside the
// span must fall, by its height, on the day it was mined, and the block at
// or before the end of To must be the derived last block (within a few
// blocks of timestamp disorder); otherwise nothing is written. The file is
// checked with bitcoin.ReadDaily before it is renamed into place.
func FetchBTCDaily(ctx context.Context, opts BTCDailyOptions) (BTCDailyResult, error) {
	const what = "btc"
	var res BTCDailyResult
	from, to := utcDay(opts.From), utcDay(opts.To)
	if opts.From.IsZero() || opts.To.IsZero() {
		return res, fmt.Errorf("%s: both the first and the last day are needed", what)
	}
	if to.Before(from) {
		return res, fmt.Errorf("%s: last day %s is before the first %s", what, to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	if today := utcDay(opts.clock().Now()); !to.Before(today) {
		return res, fmt.Errorf("%s: last day %s has not ended (today is %s UTC): Coin Metrics publishes a day's values after the day; the last complete day is %s",
			what, to.Format(time.DateOnly), today.Format(time.DateOnly), today.AddDate(0, 0, -1).Format(time.DateOnly))
	}
	out := cmp.Or(opts.Out, "btc_daily.csv")
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	ndays := int(to.Sub(from)/(24*time.Hour)) + 1

	pageSize := opts.PageSize
	if pageSize <= 0 {
		pageSize = defaultPageSize
	}
	cm, err := opts.coinMetricsDays(ctx, cmp.Or(strings.TrimRight(opts.CoinMetricsURL, "/"), DefaultCoinMetricsURL), from, to, pageSize)
	if err != nil {
		return res, err
	}
	var missing []string
	for i := range ndays {
		if _, ok := cm[from.AddDate(0, 0, i)]; !ok {
			missing = append(missing, from.AddDate(0, 0, i).Format(time.DateOnly))
		}
	}
	if len(missing) > 0 {
		return res, fmt.Errorf("%s: Coin Metrics: %w: %d of %d days have no row: %s", what, ErrMissingDay, len(missing), ndays, listSome(missing, 8))
	}

	mp := cmp.Or(strings.TrimRight(opts.MempoolURL, "/"), DefaultMempoolURL)
	adjs, err := opts.mempoolAdjustments(ctx, mp)
	if err != nil {
		return res, err
	}
	anchor, err := opts.mempoolBlockAt(ctx, mp, from.Unix()-1)
	if err != nil {
		return res, err
	}
	opts.progressf("%s: anchor: block %d%s is the last before %s 00:00 UTC, so %s starts at height %d", what,
		anchor.height, minedAt(anchor.time), from.Format(time.DateOnly), from.Format(time.DateOnly), anchor.height+1)

	rows := make([]dailyRow, ndays)
	h := anchor.height + 1
	for i := range rows {
		d := from.AddDate(0, 0, i)
		c := cm[d]
		diff, ok := difficultyAt(adjs, d)
		if !ok {
			return res, fmt.Errorf("%s: mempool: no difficulty adjustment at or before %s 00:00 UTC", what, d.Format(time.DateOnly))
		}
		rows[i] = dailyRow{date: d, heightStart: h, blocks: c.blocks, price: c.price, fees: c.fees, difficulty: diff}
		h += c.blocks
	}
	res.HeightStart, res.HeightEnd = rows[0].heightStart, h

	checked, err := checkAdjustments(rows, adjs)
	if err != nil {
		return res, fmt.Errorf("%s: %w; nothing written", what, err)
	}
	res.Adjustments = len(checked)
	if len(checked) == 0 {
		opts.progressf("%s: no difficulty adjustment was mined in the span; the heights rest on the two anchors", what)
	} else {
		opts.progressf("%s: heights agree with %d difficulty adjustment(s) in the span (%s)", what, len(checked), strings.Join(checked, ", "))
	}

	end, err := opts.mempoolBlockAt(ctx, mp, to.AddDate(0, 0, 1).Unix()-1)
	if err != nil {
		return res, err
	}
	if off := end.height - (res.HeightEnd - 1); off != 0 {
		if off > endAnchorTolerance || off < -endAnchorTolerance {
			return res, fmt.Errorf("%s: %w: the last block at or before %s 23:59:59 UTC is %d%s, but the anchor and the Coin Metrics block counts make it %d (%+d blocks); nothing written",
				what, ErrHeightMismatch, to.Format(time.DateOnly), end.height, minedAt(end.time), res.HeightEnd-1, off)
		}
		opts.progressf("%s: end check: block %d is the last at or before %s 23:59:59 UTC, %+d from the derived %d (within timestamp disorder)",
			what, end.height, to.Format(time.DateOnly), off, res.HeightEnd-1)
	} else {
		opts.progressf("%s: end check: block %d is the last at or before %s 23:59:59 UTC, as derived", what, end.height, to.Format(time.DateOnly))
	}

	body, err := renderDaily(rows)
	if err != nil {
		return res, fmt.Errorf("%s: %w", what, err)
	}
	if got, err := bitcoin.ReadDaily(bytes.NewReader(body), out); err != nil {
		return res, fmt.Errorf("%s: the file built does not read back: %w", what, err)
	} else if len(got) != len(rows) {
		return res, fmt.Errorf("%s: the file built reads back %d days, want %d", what, len(got), len(rows))
	}
	n, err := writeAtomic(out, func(w io.Writer) error {
		_, err := w.Write(body)
		return err
	}, nil)
	if err != nil {
		return res, fmt.Errorf("%s: write %s: %w", what, out, err)
	}
	res.Path, res.Bytes, res.Days, res.From, res.To = out, n, len(rows), from, to
	return res, nil
}

func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func minedAt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " (mined " + t.UTC().Format(time.RFC3339) + ")"
}

func listSome(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(" and %d more", len(s)-n)
}

// difficultyAt returns the difficulty in force at t: that of the adjustment
// of greatest height mined at or before t.
func difficultyAt(adjs []adjustment, t time.Time) (float64, bool) {
	best := -1
	for i, a := range adjs {
		if !a.time.After(t) && (best < 0 || a.height > adjs[best].height) {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	return adjs[best].difficulty, true
}

// checkAdjustments checks that every difficulty adjustment mined in the span
// or whose height is in it lies, by height, in the day it was mined on. It
// returns the adjustments checked, as "height on date".
func checkAdjustments(rows []dailyRow, adjs []adjustment) ([]string, error) {
	from := rows[0].date
	end := rows[len(rows)-1].date.AddDate(0, 0, 1)
	lo, hi := rows[0].heightStart, rows[len(rows)-1].heightStart+rows[len(rows)-1].blocks
	dayByHeight := func(h int64) int {
		for i, r := range rows {
			if h >= r.heightStart && h < r.heightStart+r.blocks {
				return i
			}
		}
		return -1
	}
	var checked []string
	for _, a := range adjs {
		byTime, byHeight := -1, -1
		if !a.time.Before(from) && a.time.Before(end) {
			byTime = int(a.time.Sub(from) / (24 * time.Hour))
		}
		if a.height >= lo && a.height < hi {
			byHeight = dayByHeight(a.height)
		}
		if byTime < 0 && byHeight < 0 {
			continue
		}
		if byTime != byHeight {
			mined := "outside the span"
			if byTime >= 0 {
				r := rows[byTime]
				mined = fmt.Sprintf("on %s, whose derived heights are [%d, %d)", r.date.Format(time.DateOnly), r.heightStart, r.heightStart+r.blocks)
			}
			put := fmt.Sprintf("outside the span's derived heights [%d, %d)", lo, hi)
			if byHeight >= 0 {
				r := rows[byHeight]
				put = fmt.Sprintf("on %s [%d, %d)", r.date.Format(time.DateOnly), r.heightStart, r.heightStart+r.blocks)
			}
			return nil, fmt.Errorf("%w: the difficulty adjustment at height %d was mined %s (%s), but the heights put it %s: the anchor block or the Coin Metrics block counts are off",
				ErrHeightMismatch, a.height, a.time.UTC().Format(time.RFC3339), mined, put)
		}
		checked = append(checked, fmt.Sprintf("%d on %s", a.height, rows[byTime].date.Format(time.DateOnly)))
	}
	return checked, nil
}

// renderDaily writes rows in the layout bitcoin.ReadDaily reads.
func renderDaily(rows []dailyRow) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write([]string{"date", "height_start", "block_count", "price_usd", "fees_btc", "difficulty"}); err != nil {
		return nil, err
	}
	for _, r := range rows {
		rec := []string{
			r.date.Format(time.DateOnly),
			strconv.FormatInt(r.heightStart, 10),
			strconv.FormatInt(r.blocks, 10),
			r.price,
			r.fees,
			strconv.FormatFloat(r.difficulty, 'f', -1, 64),
		}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// finite parses s as a finite float.
func finite(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
}
