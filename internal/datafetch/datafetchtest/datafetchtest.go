// Package datafetchtest serves local replicas of the public APIs that
// internal/datafetch reads, in their real wire formats, for tests: ERCOT's
// MIS document list and download servlets, the Coin Metrics community API's
// asset-metrics timeseries (string values, next_page_token/next_page_url
// paging, the {"error":…} envelope) and mempool.space's mining endpoints
// (difficulty adjustments as [time, height, difficulty, change] newest first,
// the block at or before a time). Each replica is an http.Handler serving the
// data it is given; tests wrap them to inject failures (429s, HTML pages).
//
// It is test support only: nothing in gridminer's controller imports it, and
// it reaches no network.
package datafetchtest

import (
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/xlsxtest"
)

// ERCOTDoc is one document of the replica MIS.
type ERCOTDoc struct {
	DocID           string
	FriendlyName    string // e.g. RTMLZHBSPP_2021
	ConstructedName string // e.g. rpt.00013061.0000000000000000.RTMLZHBSPP_2021.zip
	PublishDate     time.Time
	Body            []byte // what mirDownload serves
	ContentType     string // "" is application/zip
	Status          int    // 0 is 200
}

// ERCOT replicates ERCOT's MIS for one report type:
//
//	GET /misapp/servlets/IceDocListJsonWS?reportTypeId=N  the document list (JSON)
//	GET /misdownload/servlets/mirDownload?doclookupId=ID  a document
//
// DocList, when set, is served verbatim as the list instead of one built
// from Docs (a hand-written fixture).
type ERCOT struct {
	ReportTypeID int
	Docs         []ERCOTDoc
	DocList      []byte
}

func (e *ERCOT) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/misapp/servlets/IceDocListJsonWS":
		w.Header().Set("Content-Type", "application/json")
		if e.DocList != nil {
			w.Write(e.DocList)
			return
		}
		id, _ := strconv.Atoi(r.URL.Query().Get("reportTypeId"))
		type doc struct {
			ReportTypeID    int    `json:"ReportTypeID"`
			DocID           string `json:"DocID"`
			FriendlyName    string `json:"FriendlyName"`
			ConstructedName string `json:"ConstructedName"`
			Extension       string `json:"Extension"`
			PublishDate     string `json:"PublishDate"`
			ContentSize     string `json:"ContentSize"`
		}
		list := []map[string]doc{}
		if id == e.ReportTypeID {
			cst := time.FixedZone("CST", -6*3600)
			for _, d := range e.Docs {
				list = append(list, map[string]doc{"Document": {
					ReportTypeID: id, DocID: d.DocID, FriendlyName: d.FriendlyName, ConstructedName: d.ConstructedName,
					Extension: "zip", PublishDate: d.PublishDate.In(cst).Format("2006-01-02T15:04:05-07:00"),
					ContentSize: strconv.Itoa(len(d.Body)),
				}})
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"ListDocsByRptTypeRes": map[string]any{"DocumentList": list}})
	case "/misdownload/servlets/mirDownload":
		id := r.URL.Query().Get("doclookupId")
		for _, d := range e.Docs {
			if d.DocID != id {
				continue
			}
			w.Header().Set("Content-Type", cmp.Or(d.ContentType, "application/zip"))
			w.Header().Set("Content-Disposition", "attachment; filename="+d.ConstructedName)
			w.WriteHeader(cmp.Or(d.Status, http.StatusOK))
			w.Write(d.Body)
			return
		}
		http.Error(w, "<html><head><title>Document not found</title></head></html>", http.StatusNotFound)
	default:
		http.NotFound(w, r)
	}
}

// RTMZip returns a zip shaped like ERCOT's yearly RTMLZHBSPP report: one
// xlsx workbook named after the year, with a January sheet in the report's
// columns and a few 15-minute prices.
func RTMZip(tb testing.TB, year int) []byte {
	tb.Helper()
	date := fmt.Sprintf("01/01/%d", year)
	book := xlsxtest.Bytes(tb, xlsxtest.Sheet{Name: "Jan", Rows: [][]any{
		{"Delivery Date", "Delivery Hour", "Delivery Interval", "Repeated Hour Flag", "Settlement Point Name", "Settlement Point Type", "Settlement Point Price"},
		{date, 1, 1, "N", "HB_BUSAVG", "SH", 15.54},
		{date, 1, 1, "N", "HB_WEST", "HU", 14.92},
		{date, 1, 2, "N", "HB_WEST", "HU", 15.01},
	}})
	return ZipOf(tb, map[string][]byte{fmt.Sprintf("rpt.00013061.0000000000000000.RTMLZHBSPP_%d.xlsx", year): book})
}

// ZipOf returns a zip archive of files, in name order.
func ZipOf(tb testing.TB, files map[string][]byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := f.Write(files[name]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// Day is one UTC day of Bitcoin history, with price and fees as text (as
// Coin Metrics sends them and btc_daily.csv keeps them).
type Day struct {
	Date        time.Time // UTC midnight
	HeightStart int64
	Blocks      int64
	PriceUSD    string
	FeesBTC     string
}

// Adjustment is a difficulty adjustment: the block that began it.
type Adjustment struct {
	Time       time.Time
	Height     int64
	Difficulty float64
}

// Block is a block's height and header timestamp.
type Block struct {
	Height int64
	Time   time.Time
}

// CoinMetrics replicates GET …/timeseries/asset-metrics of the Coin Metrics
// API v4 for asset btc at frequency 1d and the metrics PriceUSD, BlkCnt and
// FeeTotNtv, over Days. start_time and end_time (inclusive) filter the days;
// pages hold PageSize rows (0: the request's page_size, default 100) and
// carry next_page_token and next_page_url while rows remain.
type CoinMetrics struct {
	Days     []Day
	PageSize int
}

func (c *CoinMetrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/timeseries/asset-metrics") {
		cmError(w, http.StatusNotFound, "not_found", "Requested resource was not found.")
		return
	}
	q := r.URL.Query()
	if q.Get("assets") != "btc" {
		cmError(w, http.StatusBadRequest, "bad_parameter", "Bad parameter 'assets': this replica serves btc only.")
		return
	}
	if f := q.Get("frequency"); f != "1d" {
		cmError(w, http.StatusBadRequest, "bad_parameter", fmt.Sprintf("Bad parameter 'frequency'. Value '%s' is not supported.", f))
		return
	}
	metrics := strings.Split(q.Get("metrics"), ",")
	for _, m := range metrics {
		if m != "PriceUSD" && m != "BlkCnt" && m != "FeeTotNtv" {
			cmError(w, http.StatusBadRequest, "bad_parameter", fmt.Sprintf("Bad parameter 'metrics'. Value '%s' is not supported.", m))
			return
		}
	}
	start, err1 := cmTime(q.Get("start_time"), time.Time{})
	end, err2 := cmTime(q.Get("end_time"), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	if err1 != nil || err2 != nil {
		cmError(w, http.StatusBadRequest, "bad_parameter", "Bad parameter 'start_time' or 'end_time'.")
		return
	}
	var rows []Day
	for _, d := range c.Days {
		if !d.Date.Before(start) && !d.Date.After(end) {
			rows = append(rows, d)
		}
	}
	slices.SortFunc(rows, func(a, b Day) int { return a.Date.Compare(b.Date) })
	size := c.PageSize
	if size <= 0 {
		size = 100
		if v, err := strconv.Atoi(q.Get("page_size")); err == nil && v > 0 {
			size = v
		}
	}
	from := 0
	if tok := q.Get("next_page_token"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		v, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || v < 0 || v > len(rows) {
			cmError(w, http.StatusBadRequest, "bad_parameter", "Bad parameter 'next_page_token'.")
			return
		}
		from = v
	}
	to := min(from+size, len(rows))
	data := []map[string]string{}
	for _, d := range rows[from:to] {
		row := map[string]string{"asset": "btc", "time": d.Date.UTC().Format("2006-01-02T15:04:05.000000000Z")}
		for _, m := range metrics {
			switch m {
			case "PriceUSD":
				row[m] = d.PriceUSD
			case "BlkCnt":
				row[m] = strconv.FormatInt(d.Blocks, 10)
			case "FeeTotNtv":
				row[m] = d.FeesBTC
			}
		}
		data = append(data, row)
	}
	page := map[string]any{"data": data}
	if to < len(rows) {
		tok := base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(to)))
		q.Set("next_page_token", tok)
		page["next_page_token"] = tok
		page["next_page_url"] = "http://" + r.Host + r.URL.Path + "?" + q.Encode()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(page)
}

func cmTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func cmError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"type": typ, "message": msg}})
}

// Mempool replicates two mining endpoints of mempool.space:
//
//	GET /api/v1/mining/difficulty-adjustments[/:interval]  [[time, height, difficulty, change], …], newest first
//	GET /api/v1/mining/blocks/timestamp/:t                 {"height","hash","timestamp"} of the block of
//	                                                       greatest timestamp at or before t
//
// The interval is ignored (every adjustment is served). Errors are answered
// as mempool does: status 500 and a plain-text message.
type Mempool struct {
	Adjustments []Adjustment
	Blocks      []Block
}

var unixSeconds = regexp.MustCompile(`^[1-9][0-9]*$`)

func (m *Mempool) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/api/v1/mining/difficulty-adjustments" || strings.HasPrefix(p, "/api/v1/mining/difficulty-adjustments/"):
		adjs := slices.Clone(m.Adjustments)
		slices.SortFunc(adjs, func(a, b Adjustment) int { return cmp.Compare(a.Height, b.Height) })
		out := make([][]any, 0, len(adjs))
		for i, a := range adjs {
			change := 1.0
			if i > 0 {
				change = a.Difficulty / adjs[i-1].Difficulty
			}
			out = append(out, []any{a.Time.Unix(), a.Height, a.Difficulty, change})
		}
		slices.Reverse(out)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	case strings.HasPrefix(p, "/api/v1/mining/blocks/timestamp/"):
		s := strings.TrimPrefix(p, "/api/v1/mining/blocks/timestamp/")
		if !unixSeconds.MatchString(s) {
			http.Error(w, "Invalid timestamp, value must be Unix seconds", http.StatusInternalServerError)
			return
		}
		ts, _ := strconv.ParseInt(s, 10, 64)
		best := -1
		for i, b := range m.Blocks {
			if b.Time.Unix() > ts {
				continue
			}
			if best < 0 || b.Time.After(m.Blocks[best].Time) || (b.Time.Equal(m.Blocks[best].Time) && b.Height > m.Blocks[best].Height) {
				best = i
			}
		}
		if best < 0 {
			http.Error(w, fmt.Sprintf("No block was found before timestamp %d", ts), http.StatusInternalServerError)
			return
		}
		b := m.Blocks[best]
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"height":    b.Height,
			"hash":      fmt.Sprintf("%064x", b.Height),
			"timestamp": b.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
		})
	default:
		http.NotFound(w, r)
	}
}

// BlocksFromDays lays each day's blocks evenly over the day, from its
// HeightStart: enough of a chain for the block-at-time endpoint.
func BlocksFromDays(days []Day) []Block {
	var blocks []Block
	for _, d := range days {
		for i := range d.Blocks {
			blocks = append(blocks, Block{Height: d.HeightStart + i, Time: d.Date.Add(time.Duration(i*86400/d.Blocks) * time.Second)})
		}
	}
	return blocks
}

// ReadDailyCSV reads a btc_daily.csv file (date,height_start,block_count,
// price_usd,fees_btc,difficulty) keeping price and fees as text, and returns
// the days in [from, to] and the file's lines for them, header excluded.
func ReadDailyCSV(tb testing.TB, path string, from, to time.Time) ([]Day, []string) {
	tb.Helper()
	recs := readCSV(tb, path, []string{"date", "height_start", "block_count", "price_usd", "fees_btc", "difficulty"})
	var days []Day
	var lines []string
	for _, rec := range recs {
		date, err := time.Parse(time.DateOnly, rec[0])
		if err != nil {
			tb.Fatalf("%s: date %q: %v", path, rec[0], err)
		}
		if date.Before(from) || date.After(to) {
			continue
		}
		hs, err1 := strconv.ParseInt(rec[1], 10, 64)
		n, err2 := strconv.ParseInt(rec[2], 10, 64)
		if err1 != nil || err2 != nil {
			tb.Fatalf("%s: %s: bad height or block count", path, rec[0])
		}
		days = append(days, Day{Date: date, HeightStart: hs, Blocks: n, PriceUSD: rec[3], FeesBTC: rec[4]})
		lines = append(lines, strings.Join(rec, ","))
	}
	return days, lines
}

// ReadAdjustmentsCSV reads a difficulty_adjustments.csv file
// (time_utc,height,difficulty).
func ReadAdjustmentsCSV(tb testing.TB, path string) []Adjustment {
	tb.Helper()
	var adjs []Adjustment
	for _, rec := range readCSV(tb, path, []string{"time_utc", "height", "difficulty"}) {
		t, err1 := time.Parse(time.RFC3339, rec[0])
		h, err2 := strconv.ParseInt(rec[1], 10, 64)
		d, err3 := strconv.ParseFloat(rec[2], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			tb.Fatalf("%s: bad row %q", path, rec)
		}
		adjs = append(adjs, Adjustment{Time: t, Height: h, Difficulty: d})
	}
	return adjs
}

func readCSV(tb testing.TB, path string, header []string) [][]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = len(header)
	head, err := cr.Read()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if !slices.Equal(head, header) {
		tb.Fatalf("%s: header %q, want %q", path, head, header)
	}
	var recs [][]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		recs = append(recs, rec)
	}
}
