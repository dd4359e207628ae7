package ercotapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/price"
)

// fakeAPI is an httptest server speaking the documented shapes of ERCOT's
// B2C token endpoint and public-reports API: form-posted ROPC, bearer token
// and subscription key on every request, the _meta/report/fields/data
// envelope, page and size paging, and the query filters the sources use.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	tokens    map[string]bool
	tokenHits int
	expiresIn string
	// reject401 makes the next n API calls answer 401 (a revoked token).
	reject401 int
	// busy holds responses the next API calls get instead of data.
	busy []busyReply
	// pages, when set, replays fixture pages by page number for PathSPP.
	pages map[int][]byte
	// calls records each API request's path and query.
	calls []string
	// data rows by path, ordered as fieldsOf(path).
	rows map[string][][]any
}

type busyReply struct {
	status     int
	retryAfter string
	body       string
}

const (
	fakeUser = "operator@example.com"
	fakePass = "correct horse"
	fakeKey  = "sub-key-123"
)

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, tokens: map[string]bool{}, expiresIn: "3600", rows: map[string][][]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /api/public-reports/", f.report)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) config() Config {
	return Config{
		BaseURL:         f.srv.URL + "/api/public-reports",
		TokenURL:        f.srv.URL + "/token",
		Username:        fakeUser,
		Password:        fakePass,
		SubscriptionKey: fakeKey,
	}
}

func (f *fakeAPI) client(t *testing.T, clk clock.Clock, mod func(*Config)) *Client {
	t.Helper()
	cfg := f.config()
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg, Deps{HTTP: f.srv.Client(), Clock: clk})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func (f *fakeAPI) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenHits++
	w.Header().Set("Content-Type", "application/json")
	if r.PostForm.Get("grant_type") != "password" || r.PostForm.Get("client_id") != DefaultClientID ||
		r.PostForm.Get("response_type") != "id_token" || !strings.Contains(r.PostForm.Get("scope"), DefaultClientID) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_request","error_description":"AADB2C90117: The scope provided in the request is not supported."}`)
		return
	}
	if r.PostForm.Get("username") != fakeUser || r.PostForm.Get("password") != fakePass {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant","error_description":"AADB2C90225: The username or password provided in the request are invalid."}`)
		return
	}
	id := fmt.Sprintf("id-token-%d", f.tokenHits)
	f.tokens[id] = true
	fmt.Fprintf(w, `{"access_token":"access-%d","token_type":"Bearer","expires_in":%q,"refresh_token":"r","id_token":%q,"id_token_expires_in":%q}`,
		f.tokenHits, f.expiresIn, id, f.expiresIn)
}

func (f *fakeAPI) report(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/api/public-reports")
	f.calls = append(f.calls, path+"?"+r.URL.RawQuery)
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Ocp-Apim-Subscription-Key") != fakeKey {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"statusCode":401,"message":"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}`)
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !f.tokens[tok] || f.reject401 > 0 {
		if f.reject401 > 0 {
			f.reject401--
			delete(f.tokens, tok)
		}
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"statusCode":401,"message":"Unauthorized. Access token is missing or invalid."}`)
		return
	}
	if len(f.busy) > 0 {
		b := f.busy[0]
		f.busy = f.busy[1:]
		if b.retryAfter != "" {
			w.Header().Set("Retry-After", b.retryAfter)
		}
		w.WriteHeader(b.status)
		fmt.Fprint(w, b.body)
		return
	}
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	if f.pages != nil && path == PathSPP {
		body, ok := f.pages[page]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Write(body)
		return
	}
	fields, ok := fieldsOf[path]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"timestamp":"2024-01-01T00:00:00","code":404,"status":"NOT_FOUND","message":"No static resource.","data":{}}`)
		return
	}
	size, _ := strconv.Atoi(q.Get("size"))
	if page < 1 || size < 1 {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"timestamp":"2024-01-01T00:00:00","code":400,"status":"BAD_REQUEST","message":"page and size must be positive","data":{}}`)
		return
	}
	var match [][]any
	for _, row := range f.rows[path] {
		if keep(path, q, row) {
			match = append(match, row)
		}
	}
	total := (len(match) + size - 1) / size
	lo, hi := min((page-1)*size, len(match)), min(page*size, len(match))
	env := map[string]any{
		"_meta": map[string]any{"totalRecords": len(match), "pageSize": size, "totalPages": total, "currentPage": page,
			"query": map[string]any{"parameterCount": len(q), "parameters": map[string]any{}, "sortedBy": ""}},
		"report": map[string]any{"reportEMIL": strings.ToUpper(strings.Split(path, "/")[1])},
		"fields": fields,
		"data":   match[lo:hi],
		"links":  []any{},
	}
	if err := json.NewEncoder(w).Encode(env); err != nil {
		f.t.Error(err)
	}
}

// keep applies the query filters the sources send.
func keep(path string, q map[string][]string, row []any) bool {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	switch path {
	case PathSPP:
		date := row[0].(string)
		if v := get("deliveryDateFrom"); v != "" && date < v {
			return false
		}
		if v := get("deliveryDateTo"); v != "" && date > v {
			return false
		}
		if v := get("deliveryHourFrom"); v != "" {
			h, _ := strconv.Atoi(v)
			if row[1].(int) < h {
				return false
			}
		}
		return get("settlementPoint") == "" || row[3] == get("settlementPoint")
	case PathLMP:
		at := row[0].(string)
		if v := get("SCEDTimestampFrom"); v != "" && at < v {
			return false
		}
		if v := get("SCEDTimestampTo"); v != "" && at > v {
			return false
		}
		return get("settlementPoint") == "" || row[2] == get("settlementPoint")
	case PathRTD:
		if v := get("RTDTimestampFrom"); v != "" && row[0].(string) < v {
			return false
		}
		return get("settlementPoint") == "" || row[5] == get("settlementPoint")
	}
	return true
}

func field(name, label, typ string) map[string]any {
	return map[string]any{"name": name, "label": label, "cardinality": 0, "dataType": typ, "searchable": true, "sortable": true, "hasRange": typ != "STRING"}
}

var fieldsOf = map[string][]map[string]any{
	PathSPP: {
		field("deliveryDate", "Delivery Date", "DATE"),
		field("deliveryHour", "Delivery Hour", "INTEGER"),
		field("deliveryInterval", "Delivery Interval", "INTEGER"),
		field("settlementPoint", "Settlement Point Name", "STRING"),
		field("settlementPointType", "Settlement Point Type", "STRING"),
		field("settlementPointPrice", "Settlement Point Price", "DOUBLE"),
		field("DSTFlag", "DST Flag", "BOOLEAN"),
	},
	PathLMP: {
		field("SCEDTimestamp", "SCED Time Stamp", "DATETIME"),
		field("repeatHourFlag", "Repeated Hour Flag", "BOOLEAN"),
		field("settlementPoint", "Settlement Point", "STRING"),
		field("LMP", "LMP", "DOUBLE"),
	},
	PathRTD: {
		field("RTDTimestamp", "RTD Timestamp", "DATETIME"),
		field("repeatHourFlag", "Repeat Hour Flag", "BOOLEAN"),
		field("intervalId", "Interval ID", "INTEGER"),
		field("intervalEnding", "Interval Ending", "DATETIME"),
		field("intervalRepeatHourFlag", "Interval Repeat Hour Flag", "BOOLEAN"),
		field("settlementPoint", "Settlement Point", "STRING"),
		field("settlementPointType", "Settlement Point Type", "STRING"),
		field("LMP", "LMP", "DOUBLE"),
	},
}

func (f *fakeAPI) setRows(path string, rows [][]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows[path] = rows
}

func (f *fakeAPI) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeAPI) tokenCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenHits
}

// sppDay generates the NP6-905-CD rows of one local day of point, with the
// API's spellings (yyyy-MM-dd, boolean DSTFlag), independently of the code
// under test: labels come from the local reading of each UTC start.
func sppDay(y int, m time.Month, d int, point, typ string, priceAt func(time.Time) float64) [][]any {
	loc := price.ERCOTLocation()
	start := time.Date(y, m, d, 0, 0, 0, 0, loc)
	end := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	fallBack := end.Sub(start) > 24*time.Hour
	var rows [][]any
	for t := start; t.Before(end); t = t.Add(15 * time.Minute) {
		l := t.In(loc)
		_, off := l.Zone()
		repeated := fallBack && l.Hour() == 1 && off == -6*3600
		rows = append(rows, []any{l.Format("2006-01-02"), l.Hour() + 1, l.Minute()/15 + 1, point, typ, priceAt(t.UTC()), repeated})
	}
	return rows
}

// stepClock is a clock whose Sleep records the wait and moves time on at
// once: retries and pacing run without real waiting.
type stepClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *stepClock) WallDuration(d time.Duration) time.Duration { return d }

func (c *stepClock) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}
