package datafetch

import (
	"bytes"
	"cmp"
	"net/http"
	"slices"
	"testing"
	"time"
)

// The parsers read what the network sends: none may panic, and what they
// accept must keep their promises.

func FuzzParseDocList(f *testing.F) {
	f.Add(readTestdata(f, "ercot/doclist.json"))
	f.Add([]byte(`{"ListDocsByRptTypeRes":{"DocumentList":{"Document":{"DocID":1,"FriendlyName":"RTMLZHBSPP_2021"}}}}`))
	f.Add([]byte(`<html><title>x</title></html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		docs, err := parseDocList(bytes.NewReader(body), "")
		if err != nil {
			return
		}
		for _, d := range docs {
			if d.DocID == "" {
				t.Errorf("document without DocID accepted: %+v", d)
			}
			if d.Year != 0 && (d.Year < 1900 || d.Year > 2099) {
				t.Errorf("year %d from %q / %q", d.Year, d.FriendlyName, d.ConstructedName)
			}
		}
		for _, y := range []int{2021, 2015} {
			if d, err := pickYear(docs, y); err == nil && d.Year != y {
				t.Errorf("pickYear(%d) = %+v", y, d)
			}
		}
	})
}

func FuzzParseCMPage(f *testing.F) {
	f.Add(readTestdata(f, "btc/coinmetrics_page1.json"))
	f.Add(readTestdata(f, "btc/coinmetrics_page2.json"))
	f.Add([]byte(`{"error":{"type":"forbidden","message":"no"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		days, _, _, err := parseCMPage(body)
		if err != nil {
			return
		}
		for _, d := range days {
			if !d.date.Equal(utcDay(d.date)) || d.blocks < 0 {
				t.Errorf("accepted %+v", d)
			}
			if p, ok := finite(d.price); !ok || p <= 0 {
				t.Errorf("accepted price %q", d.price)
			}
			if v, ok := finite(d.fees); !ok || v < 0 {
				t.Errorf("accepted fees %q", d.fees)
			}
		}
	})
}

func FuzzParseMempool(f *testing.F) {
	f.Add(readTestdata(f, "btc/mempool_difficulty_adjustments.json"))
	f.Add(readTestdata(f, "btc/mempool_block_before_start.json"))
	f.Add([]byte(`{"height":1,"timestamp":12}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if adjs, err := parseAdjustments(body); err == nil {
			if len(adjs) == 0 || !slices.IsSortedFunc(adjs, func(a, b adjustment) int { return cmp.Compare(a.height, b.height) }) {
				t.Errorf("adjustments empty or unsorted: %+v", adjs)
			}
			for _, a := range adjs {
				if !(a.difficulty > 0) || a.height < 0 {
					t.Errorf("accepted %+v", a)
				}
			}
		}
		if b, err := parseBlockAt(body); err == nil && b.height < 0 {
			t.Errorf("accepted height %d", b.height)
		}
	})
}

func TestRetryDelay(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		header  http.Header
		attempt int
		want    time.Duration
	}{
		{"Retry-After seconds", http.Header{"Retry-After": {"7"}}, 1, 7 * time.Second},
		{"Retry-After date", http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 1, 90 * time.Second},
		{"Retry-After date past", http.Header{"Retry-After": {now.Add(-time.Hour).Format(http.TimeFormat)}}, 1, 0},
		{"Retry-After wins over X-RateLimit-Reset", http.Header{"Retry-After": {"2"}, "X-Ratelimit-Reset": {"5"}}, 1, 2 * time.Second},
		{"X-RateLimit-Reset", http.Header{"X-Ratelimit-Reset": {"5"}}, 3, 5 * time.Second},
		{"unreadable Retry-After falls back", http.Header{"Retry-After": {"soon"}}, 2, 4 * time.Second},
		{"backoff 1", nil, 1, 2 * time.Second},
		{"backoff 3", nil, 3, 8 * time.Second},
		{"backoff capped", nil, 12, time.Minute},
	} {
		if got := retryDelay(tt.header, tt.attempt, now); got != tt.want {
			t.Errorf("%s: retryDelay = %s, want %s", tt.name, got, tt.want)
		}
	}
}
