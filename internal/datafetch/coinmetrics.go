package datafetch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// cmPage is the wire shape of a Coin Metrics timeseries page:
//
//	{"data":[{"asset":"btc","time":"2021-01-01T00:00:00.000000000Z","PriceUSD":"29380.69","BlkCnt":"149","FeeTotNtv":"48.65"}],
//	 "next_page_token":"…","next_page_url":"https://…&next_page_token=…"}
//
// Values are strings; a metric the API does not serve is absent and one with
// no data is null. Errors come as {"error":{"type":"…","message":"…"}}.
type cmPage struct {
	Data          []map[string]json.RawMessage `json:"data"`
	NextPageToken string                       `json:"next_page_token"`
	NextPageURL   string                       `json:"next_page_url"`
}

type cmError struct {
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// cmDay is one day of Coin Metrics data: price and fees as sent.
type cmDay struct {
	date        time.Time
	price, fees string
	blocks      int64
}

// coinMetricsDays fetches every page of PriceUSD, BlkCnt and FeeTotNtv for
// btc at 1d over [from, to] from the API at base and returns the rows by UTC
// day. Pages follow next_page_url as sent (or next_page_token on the first
// URL when only a token comes).
func (n *Net) coinMetricsDays(ctx context.Context, base string, from, to time.Time, pageSize int) (map[time.Time]cmDay, error) {
	const what = "btc: Coin Metrics"
	q := url.Values{}
	q.Set("assets", "btc")
	q.Set("metrics", coinMetricsMetrics)
	q.Set("frequency", "1d")
	q.Set("start_time", from.Format(time.DateOnly))
	q.Set("end_time", to.Format(time.DateOnly))
	q.Set("paging_from", "start")
	q.Set("page_size", strconv.Itoa(pageSize))
	first := strings.TrimRight(base, "/") + coinMetricsPath
	next := first + "?" + q.Encode()
	days := make(map[time.Time]cmDay)
	seen := make(map[string]bool)
	for page := 1; next != ""; page++ {
		if page > maxPages || seen[next] {
			return nil, fmt.Errorf("%s: paging does not end (page %d, %s)", what, page, next)
		}
		seen[next] = true
		body, err := n.getJSON(ctx, fmt.Sprintf("%s page %d", what, page), next)
		if err != nil {
			return nil, err
		}
		rows, nextURL, token, err := parseCMPage(body)
		if err != nil {
			return nil, fmt.Errorf("%s page %d (%s): %w", what, page, next, err)
		}
		kept := 0
		for _, r := range rows {
			if r.date.Before(from) || r.date.After(to) {
				continue
			}
			if _, dup := days[r.date]; dup {
				return nil, fmt.Errorf("%s page %d: %w: %s appears twice", what, page, ErrBadValue, r.date.Format(time.DateOnly))
			}
			days[r.date] = r
			kept++
		}
		n.progressf("%s page %d: %d day(s) (%s)", what, page, kept, next)
		switch {
		case nextURL != "":
			// As sent; a relative reference is resolved against this page.
			cur, err1 := url.Parse(next)
			ref, err2 := url.Parse(nextURL)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("%s page %d: next_page_url %q: not a URL", what, page, nextURL)
			}
			next = cur.ResolveReference(ref).String()
		case token != "":
			q.Set("next_page_token", token)
			next = first + "?" + q.Encode()
		default:
			next = ""
		}
	}
	return days, nil
}

// parseCMPage reads one page: its days, and the next page's URL or token.
func parseCMPage(body []byte) ([]cmDay, string, string, error) {
	var page cmPage
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", "", fmt.Errorf("not a Coin Metrics page (%s): %v", describeBody("", body[:min(len(body), 200)]), err)
	}
	if page.Data == nil {
		var e cmError
		if json.Unmarshal(body, &e) == nil && e.Error != nil {
			return nil, "", "", fmt.Errorf("API error %s: %s", e.Error.Type, e.Error.Message)
		}
		return nil, "", "", fmt.Errorf("no data in %s", describeBody("", body[:min(len(body), 200)]))
	}
	days := make([]cmDay, 0, len(page.Data))
	for i, row := range page.Data {
		d, err := parseCMRow(row)
		if err != nil {
			return nil, "", "", fmt.Errorf("row %d: %w", i+1, err)
		}
		days = append(days, d)
	}
	return days, page.NextPageURL, page.NextPageToken, nil
}

func parseCMRow(row map[string]json.RawMessage) (cmDay, error) {
	var d cmDay
	ts, ok, err := cmString(row, "time")
	if err != nil || !ok {
		return d, fmt.Errorf("%w: no time", ErrBadValue)
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return d, fmt.Errorf("%w: time %q", ErrBadValue, ts)
	}
	if t = t.UTC(); !t.Equal(utcDay(t)) {
		return d, fmt.Errorf("%w: time %s is not a UTC midnight (want daily rows)", ErrBadValue, ts)
	}
	d.date = t
	day := t.Format(time.DateOnly)
	if asset, ok, _ := cmString(row, "asset"); ok && !strings.EqualFold(asset, "btc") {
		return d, fmt.Errorf("%s: %w: asset %q, want btc", day, ErrBadValue, asset)
	}
	get := func(metric string) (string, error) {
		v, ok, err := cmString(row, metric)
		if err != nil {
			return "", fmt.Errorf("%s: %w: %s: %v", day, ErrBadValue, metric, err)
		}
		if !ok {
			return "", fmt.Errorf("%s: %w: %s is null or absent (no data)", day, ErrMissingDay, metric)
		}
		return v, nil
	}
	if d.price, err = get("PriceUSD"); err != nil {
		return d, err
	}
	if v, ok := finite(d.price); !ok || v <= 0 {
		return d, fmt.Errorf("%s: %w: PriceUSD %q: want a positive number", day, ErrBadValue, d.price)
	}
	if d.fees, err = get("FeeTotNtv"); err != nil {
		return d, err
	}
	if v, ok := finite(d.fees); !ok || v < 0 {
		return d, fmt.Errorf("%s: %w: FeeTotNtv %q: want a number, not negative", day, ErrBadValue, d.fees)
	}
	blk, err := get("BlkCnt")
	if err != nil {
		return d, err
	}
	if d.blocks, err = strconv.ParseInt(blk, 10, 64); err != nil {
		v, ok := finite(blk)
		if !ok || v != math.Trunc(v) || v > 1e6 {
			return d, fmt.Errorf("%s: %w: BlkCnt %q: want a whole number", day, ErrBadValue, blk)
		}
		d.blocks = int64(v)
	}
	if d.blocks < 0 || d.blocks > 1_000_000 {
		return d, fmt.Errorf("%s: %w: BlkCnt %d: not a day's worth of blocks", day, ErrBadValue, d.blocks)
	}
	return d, nil
}

// cmString returns a field as text: a JSON string (trimmed) or number;
// ok is false when it is absent or null.
func cmString(row map[string]json.RawMessage, key string) (string, bool, error) {
	raw, present := row[key]
	raw = bytes.TrimSpace(raw)
	if !present || len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", false, nil
	}
	var f flexString
	if err := json.Unmarshal(raw, &f); err != nil {
		return "", false, fmt.Errorf("not a string or number: %s", clip(string(raw), 40))
	}
	return string(f), true, nil
}

// getJSON fetches url and returns its body (at most maxJSONBytes).
func (n *Net) getJSON(ctx context.Context, what, url string) ([]byte, error) {
	resp, err := n.get(ctx, what, url, "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: GET %s: %w", what, url, err)
	}
	if len(body) > maxJSONBytes {
		return nil, fmt.Errorf("%s: GET %s: response larger than %s", what, url, mib(maxJSONBytes))
	}
	return body, nil
}
