package datafetch

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/datafetch/datafetchtest"
	"github.com/gridminer/gridminer/internal/shareddata"
)

// fixtureServer replays the hand-written files of testdata/btc byte for
// byte: Coin Metrics' two pages under /v4 and mempool's answers at the
// root. Any other request is answered 404 (and fails the fetch).
func fixtureServer(t *testing.T) (*httptest.Server, *recorder) {
	t.Helper()
	page1 := readTestdata(t, "btc/coinmetrics_page1.json")
	page2 := readTestdata(t, "btc/coinmetrics_page2.json")
	files := map[string][]byte{
		"/api/v1/mining/difficulty-adjustments/all":  readTestdata(t, "btc/mempool_difficulty_adjustments.json"),
		"/api/v1/mining/blocks/timestamp/1646092799": readTestdata(t, "btc/mempool_block_before_start.json"), // 2022-02-28T23:59:59Z
		"/api/v1/mining/blocks/timestamp/1646438399": readTestdata(t, "btc/mempool_block_before_end.json"),   // 2022-03-04T23:59:59Z
	}
	var srv *httptest.Server
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v4/timeseries/asset-metrics" {
			switch r.URL.Query().Get("next_page_token") {
			case "":
				w.Write(bytes.ReplaceAll(page1, []byte("{{BASE}}"), []byte(srv.URL)))
			case "MjAyMi0wMy0wMg":
				w.Write(page2)
			default:
				http.Error(w, `{"error":{"type":"bad_parameter","message":"Bad parameter 'next_page_token'."}}`, http.StatusBadRequest)
			}
			return
		}
		if b, ok := files[r.URL.Path]; ok {
			w.Write(b)
			return
		}
		http.NotFound(w, r)
	})
	rec := &recorder{h: mux}
	srv = httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv, rec
}

func TestFetchBTCDailyFromDocumentedResponses(t *testing.T) {
	srv, rec := fixtureServer(t)
	net, clk, progress := testNet(t)
	out := filepath.Join(t.TempDir(), "btc_daily.csv")
	res, err := FetchBTCDaily(context.Background(), BTCDailyOptions{
		Net: net, From: mustDate(t, "2022-03-01"), To: mustDate(t, "2022-03-04"), Out: out,
		CoinMetricsURL: srv.URL + "/v4", MempoolURL: srv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := readTestdata(t, "btc/want_btc_daily.csv"); !bytes.Equal(got, want) {
		t.Errorf("btc_daily.csv:\n%s\nwant:\n%s", got, want)
	}
	wantRes := BTCDailyResult{Path: out, Bytes: int64(len(got)), Days: 4, From: mustDate(t, "2022-03-01"), To: mustDate(t, "2022-03-04"),
		HeightStart: 726000, HeightEnd: 726580, Adjustments: 1}
	if diff := cmp.Diff(wantRes, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}

	// What the backtester reads back.
	days, err := bitcoin.ReadDaily(bytes.NewReader(got), out)
	if err != nil {
		t.Fatal(err)
	}
	wantDays := []bitcoin.Day{
		{Date: mustDate(t, "2022-03-01"), HeightStart: 726000, Blocks: 144, PriceUSD: 43000.5, FeesBTC: 10.25, Difficulty: 27000000000000.5},
		{Date: mustDate(t, "2022-03-02"), HeightStart: 726144, Blocks: 150, PriceUSD: 44000.25, FeesBTC: 12.5, Difficulty: 27000000000000.5},
		{Date: mustDate(t, "2022-03-03"), HeightStart: 726294, Blocks: 140, PriceUSD: 42000.125, FeesBTC: 9.75, Difficulty: 27500000000000.25},
		{Date: mustDate(t, "2022-03-04"), HeightStart: 726434, Blocks: 146, PriceUSD: 39000, FeesBTC: 11, Difficulty: 27500000000000.25},
	}
	if diff := cmp.Diff(wantDays, days); diff != "" {
		t.Errorf("ReadDaily (-want +got):\n%s", diff)
	}

	reqs := rec.requests()
	if len(reqs) != 5 {
		t.Fatalf("%d requests, want 2 Coin Metrics pages, the adjustments and 2 anchors: %+v", len(reqs), reqs)
	}
	if want := "assets=btc&end_time=2022-03-04&frequency=1d&metrics=PriceUSD%2CBlkCnt%2CFeeTotNtv&page_size=10000&paging_from=start&start_time=2022-03-01"; reqs[0].query != want {
		t.Errorf("first Coin Metrics query %q, want %q", reqs[0].query, want)
	}
	for _, r := range reqs {
		if !strings.Contains(r.userAgent, "gridminer") {
			t.Errorf("%s: User-Agent %q does not name gridminer", r.path, r.userAgent)
		}
	}
	if len(clk.sleeps()) != 0 {
		t.Errorf("waited %v with no rate limiting", clk.sleeps())
	}
	for _, want := range []string{"page 2: 2 day(s)", "2022-03-01 starts at height 726000", "726192 on 2022-03-02", "as derived"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress)
		}
	}
}

// TestFetchBTCDailyMatchesRealHistory replays real values: the local
// servers serve the shared btc_daily.csv rows of 2021-02-09..21 as Coin
// Metrics (4 rows a page) and the real difficulty adjustments as mempool,
// with a chain laid out from the real block counts; the file fetched for
// 2021-02-10..20 must equal the shared rows, byte for byte. The span holds
// the adjustment at 671328 (2021-02-19T22:00:36Z) and Winter Storm Uri.
func TestFetchBTCDailyMatchesRealHistory(t *testing.T) {
	dailyPath := shareddata.Path(t, "btc/btc_daily.csv")
	adjPath := shareddata.Path(t, "btc/difficulty_adjustments.csv")
	from, to := mustDate(t, "2021-02-10"), mustDate(t, "2021-02-20")
	served, _ := datafetchtest.ReadDailyCSV(t, dailyPath, from.AddDate(0, 0, -1), to.AddDate(0, 0, 1))
	_, wantLines := datafetchtest.ReadDailyCSV(t, dailyPath, from, to)
	if len(wantLines) != 11 {
		t.Fatalf("shared file has %d rows for %s..%s, want 11", len(wantLines), from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	cm := httptest.NewServer(&datafetchtest.CoinMetrics{Days: served, PageSize: 4})
	defer cm.Close()
	mp := httptest.NewServer(&datafetchtest.Mempool{Adjustments: datafetchtest.ReadAdjustmentsCSV(t, adjPath), Blocks: datafetchtest.BlocksFromDays(served)})
	defer mp.Close()

	net, _, progress := testNet(t)
	out := filepath.Join(t.TempDir(), "btc_daily.csv")
	res, err := FetchBTCDaily(context.Background(), BTCDailyOptions{Net: net, From: from, To: to, Out: out, CoinMetricsURL: cm.URL + "/v4", MempoolURL: mp.URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := "date,height_start,block_count,price_usd,fees_btc,difficulty\n" + strings.Join(wantLines, "\n") + "\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("fetched file differs from the shared rows (-want +got):\n%s", diff)
	}
	if res.Adjustments != 1 || res.HeightStart != 669920 || res.HeightEnd != 671486 {
		t.Errorf("result %+v, want heights [669920, 671486) checked against 1 adjustment", res)
	}
	if !strings.Contains(progress.String(), "page 3: 3 day(s)") {
		t.Errorf("expected 3 Coin Metrics pages of 4 rows:\n%s", progress)
	}
}

// synthDays is testdata/btc's history as the replica servers hold it, with
// the days either side.
func synthDays(t *testing.T) []datafetchtest.Day {
	day := func(s string, hs, n int64, price, fees string) datafetchtest.Day {
		return datafetchtest.Day{Date: mustDate(t, s), HeightStart: hs, Blocks: n, PriceUSD: price, FeesBTC: fees}
	}
	return []datafetchtest.Day{
		day("2022-02-28", 725856, 144, "43500", "10"),
		day("2022-03-01", 726000, 144, "43000.5", "10.25"),
		day("2022-03-02", 726144, 150, "44000.25", "12.5"),
		day("2022-03-03", 726294, 140, "42000.125", "9.75"),
		day("2022-03-04", 726434, 146, "39000", "11"),
		day("2022-03-05", 726580, 150, "39100", "10"),
	}
}

func synthAdjustments() []datafetchtest.Adjustment {
	return []datafetchtest.Adjustment{
		{Time: time.Date(2022, 2, 20, 12, 0, 0, 0, time.UTC), Height: 724176, Difficulty: 27000000000000.5},
		{Time: time.Date(2022, 3, 2, 18, 30, 0, 0, time.UTC), Height: 726192, Difficulty: 27500000000000.25},
		{Time: time.Date(2022, 3, 16, 7, 41, 12, 0, time.UTC), Height: 728208, Difficulty: 28000000000000},
	}
}

// btcEnv is a pair of replica servers: Coin Metrics serving cmDays (through
// wrap, when set) and mempool with a chain laid out from chainDays.
type btcEnv struct {
	cm, mp *recorder
	opts   BTCDailyOptions
	clk    *recClock
	log    *logWriter
}

func startBTC(t *testing.T, cmDays, chainDays []datafetchtest.Day, wrap func(http.Handler) http.Handler) *btcEnv {
	t.Helper()
	var h http.Handler = &datafetchtest.CoinMetrics{Days: cmDays, PageSize: 3}
	if wrap != nil {
		h = wrap(h)
	}
	e := &btcEnv{cm: &recorder{h: h}, mp: &recorder{h: &datafetchtest.Mempool{Adjustments: synthAdjustments(), Blocks: datafetchtest.BlocksFromDays(chainDays)}}}
	cm := httptest.NewServer(e.cm)
	mp := httptest.NewServer(e.mp)
	t.Cleanup(cm.Close)
	t.Cleanup(mp.Close)
	var net Net
	net, e.clk, e.log = testNet(t)
	e.opts = BTCDailyOptions{Net: net, From: mustDate(t, "2022-03-01"), To: mustDate(t, "2022-03-04"),
		Out: filepath.Join(t.TempDir(), "btc_daily.csv"), CoinMetricsURL: cm.URL + "/v4", MempoolURL: mp.URL}
	return e
}

func (e *btcEnv) checkWritten(t *testing.T) {
	t.Helper()
	got, err := os.ReadFile(e.opts.Out)
	if err != nil {
		t.Fatal(err)
	}
	if want := readTestdata(t, "btc/want_btc_daily.csv"); !bytes.Equal(got, want) {
		t.Errorf("btc_daily.csv:\n%s\nwant:\n%s", got, want)
	}
}

func (e *btcEnv) checkNothingWritten(t *testing.T) {
	t.Helper()
	if names := dirEntries(t, filepath.Dir(e.opts.Out)); len(names) != 0 {
		t.Errorf("files left behind: %q", names)
	}
}

func TestFetchBTCDailyFromReplicaServers(t *testing.T) {
	e := startBTC(t, synthDays(t), synthDays(t), nil)
	if _, err := FetchBTCDaily(context.Background(), e.opts); err != nil {
		t.Fatal(err)
	}
	e.checkWritten(t)
}

// rateLimited answers the first n requests with HTTP 429 and header, as
// Coin Metrics does past 10 requests per 6 seconds.
func rateLimited(n int, header, value string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		var mu sync.Mutex
		seen := 0
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen++
			limited := n < 0 || seen <= n
			mu.Unlock()
			if limited {
				if header != "" {
					w.Header().Set(header, value)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				w.Write([]byte(`{"error":{"type":"too_many_requests","message":"Requests rate limit exceeded."}}`))
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

func TestFetchBTCDailyWaitsOutRateLimits(t *testing.T) {
	for _, tt := range []struct {
		name       string
		wrap       func(http.Handler) http.Handler
		wantSleeps []time.Duration
	}{
		{"Retry-After in seconds", rateLimited(1, "Retry-After", "7"), []time.Duration{7 * time.Second}},
		{"X-RateLimit-Reset", rateLimited(2, "X-RateLimit-Reset", "3"), []time.Duration{3 * time.Second, 3 * time.Second}},
		{"no hint: exponential backoff", rateLimited(3, "", ""), []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := startBTC(t, synthDays(t), synthDays(t), tt.wrap)
			if _, err := FetchBTCDaily(context.Background(), e.opts); err != nil {
				t.Fatal(err)
			}
			e.checkWritten(t)
			if diff := cmp.Diff(tt.wantSleeps, e.clk.sleeps()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if !strings.Contains(e.log.String(), "HTTP 429, waiting") {
				t.Errorf("no progress line about the wait:\n%s", e.log)
			}
		})
	}
}

func TestFetchBTCDailyGivesUpOnRateLimits(t *testing.T) {
	t.Run("still limited after every attempt", func(t *testing.T) {
		e := startBTC(t, synthDays(t), synthDays(t), rateLimited(-1, "Retry-After", "1"))
		e.opts.MaxAttempts = 3
		_, err := FetchBTCDaily(context.Background(), e.opts)
		if !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "after 3 attempts") {
			t.Errorf("error %v, want ErrRateLimited after 3 attempts", err)
		}
		if n := len(e.cm.requests()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
		if diff := cmp.Diff([]time.Duration{time.Second, time.Second}, e.clk.sleeps()); diff != "" {
			t.Errorf("waits (-want +got):\n%s", diff)
		}
		e.checkNothingWritten(t)
	})
	t.Run("asked to wait too long", func(t *testing.T) {
		e := startBTC(t, synthDays(t), synthDays(t), rateLimited(-1, "Retry-After", "3600"))
		_, err := FetchBTCDaily(context.Background(), e.opts)
		if !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "wait 1h0m0s") {
			t.Errorf("error %v, want ErrRateLimited saying the wait asked", err)
		}
		if s := e.clk.sleeps(); len(s) != 0 {
			t.Errorf("waited %v", s)
		}
		e.checkNothingWritten(t)
	})
	t.Run("canceled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cancelOn429 := func(h http.Handler) http.Handler {
			inner := rateLimited(-1, "Retry-After", "5")(h)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inner.ServeHTTP(w, r)
				cancel() // the user presses ^C while the fetcher waits
			})
		}
		e := startBTC(t, synthDays(t), synthDays(t), cancelOn429)
		_, err := FetchBTCDaily(ctx, e.opts)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		e.checkNothingWritten(t)
	})
}

func TestFetchBTCDailyRejectsBadData(t *testing.T) {
	edit := func(t *testing.T, f func(days []datafetchtest.Day) []datafetchtest.Day) []datafetchtest.Day {
		return f(synthDays(t))
	}
	for _, tt := range []struct {
		name      string
		cm, chain func(days []datafetchtest.Day) []datafetchtest.Day
		wantIs    error
		wantMsg   string
	}{
		{
			name:    "a day missing",
			cm:      func(d []datafetchtest.Day) []datafetchtest.Day { return append(d[:3], d[4:]...) },
			wantIs:  ErrMissingDay,
			wantMsg: "1 of 4 days have no row: 2022-03-03",
		},
		{
			name:    "price not a number",
			cm:      func(d []datafetchtest.Day) []datafetchtest.Day { d[2].PriceUSD = "n/a"; return d },
			wantIs:  ErrBadValue,
			wantMsg: `2022-03-02: bad value: PriceUSD "n/a"`,
		},
		{
			name:    "negative fees",
			cm:      func(d []datafetchtest.Day) []datafetchtest.Day { d[1].FeesBTC = "-0.5"; return d },
			wantIs:  ErrBadValue,
			wantMsg: `FeeTotNtv "-0.5"`,
		},
		{
			// The anchor block is 60 too high (another chain, a stale
			// index): the adjustment at 726192, mined on 03-02, lands on
			// 03-01 by height.
			name:    "heights disagree with a difficulty adjustment",
			chain:   func(d []datafetchtest.Day) []datafetchtest.Day { return shiftHeights(d, 0, 60) },
			wantIs:  ErrHeightMismatch,
			wantMsg: "the difficulty adjustment at height 726192 was mined 2022-03-02T18:30:00Z (on 2022-03-02, whose derived heights are [726204, 726354)), but the heights put it on 2022-03-01 [726060, 726204)",
		},
		{
			// Coin Metrics counts 5 blocks too many on 03-03, after the
			// adjustment: only the end anchor can tell.
			name:    "heights disagree with the block at the end",
			cm:      func(d []datafetchtest.Day) []datafetchtest.Day { d[3].Blocks += 5; return d },
			wantIs:  ErrHeightMismatch,
			wantMsg: "the last block at or before 2022-03-04 23:59:59 UTC is 726579 (mined 2022-03-04T23:50:08Z), but the anchor and the Coin Metrics block counts make it 726584 (-5 blocks)",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmDays, chain := synthDays(t), synthDays(t)
			if tt.cm != nil {
				cmDays = edit(t, tt.cm)
			}
			if tt.chain != nil {
				chain = edit(t, tt.chain)
			}
			e := startBTC(t, cmDays, chain, nil)
			_, err := FetchBTCDaily(context.Background(), e.opts)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v, want %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q\ndoes not say %q", err, tt.wantMsg)
			}
			e.checkNothingWritten(t)
		})
	}
}

// shiftHeights adds by to the heights of days[from:].
func shiftHeights(days []datafetchtest.Day, from int, by int64) []datafetchtest.Day {
	for i := from; i < len(days); i++ {
		days[i].HeightStart += by
	}
	return days
}

func TestFetchBTCDailyToleratesTimestampDisorderAtTheEnd(t *testing.T) {
	cm := synthDays(t)
	cm[4].Blocks += 2 // 2 blocks more on the last day than the chain's timestamps put there
	e := startBTC(t, cm, synthDays(t), nil)
	res, err := FetchBTCDaily(context.Background(), e.opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.HeightEnd != 726582 {
		t.Errorf("height end %d, want 726582 (from the Coin Metrics counts)", res.HeightEnd)
	}
	if !strings.Contains(e.log.String(), "-2 from the derived 726581 (within timestamp disorder)") {
		t.Errorf("progress does not report the small disagreement:\n%s", e.log)
	}
}

func TestFetchBTCDailyHTTPErrors(t *testing.T) {
	t.Run("mempool has no block before the span", func(t *testing.T) {
		e := startBTC(t, synthDays(t), synthDays(t)[3:], nil)
		_, err := FetchBTCDaily(context.Background(), e.opts)
		var herr *HTTPError
		if !errors.As(err, &herr) || herr.StatusCode != http.StatusInternalServerError || !strings.Contains(err.Error(), "No block was found before timestamp 1646092799") {
			t.Errorf("error %v, want mempool's HTTP 500 and its message", err)
		}
		e.checkNothingWritten(t)
	})
	t.Run("Coin Metrics refuses the request", func(t *testing.T) {
		e := startBTC(t, synthDays(t), synthDays(t), func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				w.Write([]byte(`{"error":{"type":"forbidden","message":"Requested metric 'BlkCnt' with frequency '1d' for asset 'btc' is not available with supplied credentials."}}`))
			})
		})
		_, err := FetchBTCDaily(context.Background(), e.opts)
		var herr *HTTPError
		if !errors.As(err, &herr) || herr.StatusCode != http.StatusForbidden || !strings.Contains(err.Error(), "not available with supplied credentials") {
			t.Errorf("error %v, want HTTP 403 with the API's message", err)
		}
		if n := len(e.cm.requests()); n != 1 {
			t.Errorf("%d requests: a 403 must not be retried", n)
		}
	})
}

func TestFetchBTCDailyChecksTheSpanBeforeAnyRequest(t *testing.T) {
	for _, tt := range []struct {
		name     string
		from, to string
		now      time.Time
		want     string
	}{
		{"last day not over", "2022-03-01", "2022-03-04", time.Date(2022, 3, 4, 23, 0, 0, 0, time.UTC),
			"last day 2022-03-04 has not ended (today is 2022-03-04 UTC): Coin Metrics publishes a day's values after the day; the last complete day is 2022-03-03"},
		{"reversed", "2022-03-04", "2022-03-01", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "last day 2022-03-01 is before the first 2022-03-04"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := startBTC(t, synthDays(t), synthDays(t), nil)
			e.clk.now = tt.now
			e.opts.From, e.opts.To = mustDate(t, tt.from), mustDate(t, tt.to)
			_, err := FetchBTCDaily(context.Background(), e.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
			if n := len(e.cm.requests()) + len(e.mp.requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestParseCMRow(t *testing.T) {
	row := func(blk, price, fees string) string {
		return `{"data":[{"asset":"btc","time":"2021-02-10T00:00:00.000000000Z","BlkCnt":` + blk + `,"PriceUSD":` + price + `,"FeeTotNtv":` + fees + `}]}`
	}
	for _, tt := range []struct {
		name   string
		body   string
		want   cmDay
		wantIs error
	}{
		{name: "strings", body: row(`"143"`, `"45078.128350263"`, `"170.13010658"`),
			want: cmDay{date: time.Date(2021, 2, 10, 0, 0, 0, 0, time.UTC), blocks: 143, price: "45078.128350263", fees: "170.13010658"}},
		{name: "numbers", body: row(`143.0`, `45078.5`, `0`),
			want: cmDay{date: time.Date(2021, 2, 10, 0, 0, 0, 0, time.UTC), blocks: 143, price: "45078.5", fees: "0"}},
		{name: "fractional block count", body: row(`"143.5"`, `"1"`, `"1"`), wantIs: ErrBadValue},
		{name: "negative block count", body: row(`"-1"`, `"1"`, `"1"`), wantIs: ErrBadValue},
		{name: "zero price", body: row(`"143"`, `"0"`, `"1"`), wantIs: ErrBadValue},
		{name: "NaN fees", body: row(`"143"`, `"1"`, `"NaN"`), wantIs: ErrBadValue},
		{name: "null price", body: row(`"143"`, `null`, `"1"`), wantIs: ErrMissingDay},
		{name: "metric absent", body: `{"data":[{"asset":"btc","time":"2021-02-10T00:00:00.000000000Z","PriceUSD":"1","FeeTotNtv":"1"}]}`, wantIs: ErrMissingDay},
		{name: "not midnight", body: `{"data":[{"asset":"btc","time":"2021-02-10T06:00:00Z","BlkCnt":"1","PriceUSD":"1","FeeTotNtv":"1"}]}`, wantIs: ErrBadValue},
		{name: "another asset", body: `{"data":[{"asset":"eth","time":"2021-02-10T00:00:00Z","BlkCnt":"1","PriceUSD":"1","FeeTotNtv":"1"}]}`, wantIs: ErrBadValue},
		{name: "an object for a value", body: row(`{"v":1}`, `"1"`, `"1"`), wantIs: ErrBadValue},
	} {
		t.Run(tt.name, func(t *testing.T) {
			days, _, _, err := parseCMPage([]byte(tt.body))
			if tt.wantIs != nil {
				if !errors.Is(err, tt.wantIs) {
					t.Errorf("error %v, want %v", err, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]cmDay{tt.want}, days, cmp.AllowUnexported(cmDay{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, _, _, err := parseCMPage([]byte(`{"error":{"type":"bad_parameter","message":"Bad parameter 'metrics'."}}`)); err == nil || !strings.Contains(err.Error(), "Bad parameter 'metrics'") {
		t.Errorf("error envelope: %v", err)
	}
}

func TestParseMempool(t *testing.T) {
	adjs, err := parseAdjustments(readTestdata(t, "btc/mempool_difficulty_adjustments.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []adjustment{
		{time: time.Date(2022, 2, 20, 12, 0, 0, 0, time.UTC), height: 724176, difficulty: 27000000000000.5},
		{time: time.Date(2022, 3, 2, 18, 30, 0, 0, time.UTC), height: 726192, difficulty: 27500000000000.25},
		{time: time.Date(2022, 3, 16, 7, 41, 12, 0, time.UTC), height: 728208, difficulty: 28000000000000},
	}
	if diff := cmp.Diff(want, adjs, cmp.AllowUnexported(adjustment{})); diff != "" {
		t.Errorf("adjustments (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{}`, `[]`, `[[1,2]]`, `[[1,2,-3,1]]`, `[[1.5,2,3,1]]`, `[[1,2,3,1],[4,2,5,1]]`} {
		if _, err := parseAdjustments([]byte(bad)); err == nil {
			t.Errorf("parseAdjustments(%s): no error", bad)
		}
	}

	for _, tt := range []struct {
		body string
		want blockAt
	}{
		{`{"height":725999,"hash":"ab","timestamp":"2022-02-28T23:52:10.000Z"}`, blockAt{height: 725999, hash: "ab", time: time.Date(2022, 2, 28, 23, 52, 10, 0, time.UTC)}},
		{`{"height":725999,"hash":"ab","timestamp":1646092330}`, blockAt{height: 725999, hash: "ab", time: time.Date(2022, 2, 28, 23, 52, 10, 0, time.UTC)}},
		{`{"height":725999}`, blockAt{height: 725999}},
	} {
		got, err := parseBlockAt([]byte(tt.body))
		if err != nil {
			t.Errorf("parseBlockAt(%s): %v", tt.body, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(blockAt{})); diff != "" {
			t.Errorf("parseBlockAt(%s) (-want +got):\n%s", tt.body, diff)
		}
	}
	for _, bad := range []string{`{"hash":"ab"}`, `{"height":-1}`, `{"height":"x"}`, `No block was found`} {
		if _, err := parseBlockAt([]byte(bad)); err == nil {
			t.Errorf("parseBlockAt(%s): no error", bad)
		}
	}
}

func TestCoinMetricsPaging(t *testing.T) {
	row := func(day, blk string) string {
		return `{"asset":"btc","time":"` + day + `T00:00:00.000000000Z","BlkCnt":"` + blk + `","FeeTotNtv":"1.5","PriceUSD":"40000"}`
	}
	for _, tt := range []struct {
		name  string
		first string // the first page's paging fields
	}{
		{"relative next_page_url", `"next_page_url":"/v4/timeseries/asset-metrics?next_page_token=p2"`},
		{"token only", `"next_page_token":"p2"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("next_page_token") == "p2" {
					w.Write([]byte(`{"data":[` + row("2021-02-11", "129") + `]}`))
					return
				}
				w.Write([]byte(`{"data":[` + row("2021-02-10", "143") + `],` + tt.first + `}`))
			})}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			net, _, _ := testNet(t)
			days, err := net.coinMetricsDays(context.Background(), srv.URL+"/v4", mustDate(t, "2021-02-10"), mustDate(t, "2021-02-11"), 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(days) != 2 || days[mustDate(t, "2021-02-11")].blocks != 129 {
				t.Errorf("days = %+v, want both pages", days)
			}
			if reqs := rec.requests(); len(reqs) != 2 || reqs[1].path != "/v4/timeseries/asset-metrics" {
				t.Errorf("requests %+v", reqs)
			}
		})
	}
	t.Run("paging that never ends", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"data":[],"next_page_token":"again"}`))
		}))
		defer srv.Close()
		net, _, _ := testNet(t)
		_, err := net.coinMetricsDays(context.Background(), srv.URL, mustDate(t, "2021-02-10"), mustDate(t, "2021-02-11"), 1)
		if err == nil || !strings.Contains(err.Error(), "paging does not end") {
			t.Errorf("error %v, want paging does not end", err)
		}
	})
}
