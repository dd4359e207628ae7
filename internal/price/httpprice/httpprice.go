// Package httpprice is a price.Source for markets and tariffs gridminer has
// no dedicated reader for: it fetches a price series over HTTP, as JSON or
// CSV, and maps its fields to price points by configuration.
//
// The URL may hold the placeholders {from} and {to}, replaced by the span
// asked for in RFC 3339 UTC (2024-07-01T05:00:00Z, query-escaped), for APIs
// that take the span as parameters; without them the whole document is
// fetched and the span picked from it.
//
// JSON bodies: Items is the dot path to the array of rows ("data.prices";
// "" when the body is the array; numeric segments index arrays), and Start,
// End and Price are dot paths within a row ("start", "price.total",
// or "0" and "1" for rows that are arrays). CSV bodies: the first line names
// the columns, and Start, End and Price are column names (case ignored).
//
// Each row is one interval: [Start, End) when End is set, else [Start,
// Start+Interval). Times are RFC 3339 with an offset (the default), unix
// seconds or milliseconds (numbers or digit strings), or a Go layout read in
// TimeZone. Prices are numbers or numeric strings in $/MWh, or $/kWh
// (multiplied by 1000); the package converts units, not currencies.
//
// Every value is checked at the edge: a row whose time or price cannot be
// read, whose price is NaN or infinite, or whose end is not after its start
// is an error naming the row and the field, and overlapping rows are an
// error; the document is then rejected whole. Missing intervals are gaps
// (price.Schedule.Gaps), never filled.
//
// Responses are cached per resolved URL for TTL on the injected clock, so a
// planner asking every few seconds costs one request per TTL. Headers carry
// API keys (read from the environment by the caller); the package never
// logs them or the URL's query.
//
// The package does not retry, resample, forecast or convert currencies, and
// it reads one series per source.
package httpprice

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

// Formats of the body.
const (
	JSON = "json"
	CSV  = "csv"
)

// Time formats other than a Go layout.
const (
	RFC3339 = "rfc3339"
	Unix    = "unix"
	UnixMS  = "unixms"
)

// Defaults of Config's zero fields.
const (
	DefaultTTL     = 5 * time.Minute
	DefaultTimeout = 30 * time.Second
	maxBody        = 32 << 20
	maxEntries     = 32
)

// ErrBadData is wrapped by the errors of a body that cannot be read.
var ErrBadData = errors.New("bad price data")

// Config describes one HTTP price series.
type Config struct {
	// Name names the source in errors and logs ("": the URL's host).
	Name string `yaml:"name"`
	// URL is fetched with GET; it may hold {from} and {to}.
	URL string `yaml:"url"`
	// Format is "json" (default) or "csv".
	Format string `yaml:"format"`
	// Items is the JSON dot path to the array of rows ("": the body).
	Items string `yaml:"items"`
	// Start, End and Price are the fields (JSON dot paths within a row, or
	// CSV column names) of the interval start, its end (optional) and the
	// price.
	Start string `yaml:"start"`
	End   string `yaml:"end"`
	Price string `yaml:"price"`
	// Interval is each row's length when End is empty.
	Interval time.Duration `yaml:"interval"`
	// TimeFormat is "rfc3339" (default), "unix", "unixms" or a Go layout
	// ("2006-01-02 15:04"), read in TimeZone when it has no zone.
	TimeFormat string `yaml:"time_format"`
	// TimeZone is an IANA zone ("Europe/Berlin") for layouts without one.
	TimeZone string `yaml:"time_zone"`
	// Unit is "$/MWh" (default) or "$/kWh".
	Unit string `yaml:"unit"`
	// Headers are sent with each request (API keys: never logged).
	Headers map[string]string `yaml:"headers"`
	// Comma is the CSV delimiter ("": ",").
	Comma string `yaml:"comma"`
	// TTL is how long a response is reused (0: DefaultTTL).
	TTL time.Duration `yaml:"ttl"`
	// Timeout bounds each request, on wall time (0: DefaultTimeout).
	Timeout time.Duration `yaml:"timeout"`
}

// LogValue logs the config without header values or the URL's query,
// which may carry API keys.
func (c Config) LogValue() slog.Value {
	u := c.URL
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i] + "?[redacted]"
	}
	names := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	return slog.GroupValue(slog.String("name", c.Name), slog.String("url", u), slog.String("format", c.Format),
		slog.String("headers", strings.Join(names, ",")), slog.Duration("ttl", c.TTL))
}

// Deps are the source's collaborators; zero values get defaults.
type Deps struct {
	HTTP   *http.Client // nil: a client with the default transport
	Clock  clock.Clock  // cache freshness (nil: the wall clock)
	Logger *slog.Logger // nil: discarded
}

// Source is a price.Source over one HTTP series. It is safe for concurrent
// use.
type Source struct {
	cfg    Config
	name   string
	scale  float64
	loc    *time.Location
	comma  rune
	http   *http.Client
	clk    clock.Clock
	log    *slog.Logger
	logURL string // the URL without its query, for logs

	mu    sync.Mutex
	cache map[string]entry
}

type entry struct {
	s       price.Schedule
	fetched time.Time
}

// New checks cfg and returns the source. It does no I/O.
func New(cfg Config, deps Deps) (*Source, error) {
	s := &Source{cfg: cfg, http: deps.HTTP, clk: deps.Clock, log: deps.Logger, cache: map[string]entry{}}
	bad := func(format string, a ...any) (*Source, error) {
		name := cfg.Name
		if name == "" {
			name = cfg.URL
		}
		return nil, fmt.Errorf("httpprice %s: %s", name, fmt.Sprintf(format, a...))
	}
	probe := strings.NewReplacer("{from}", "x", "{to}", "x").Replace(cfg.URL)
	u, err := url.Parse(probe)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("url %q: want an http(s) URL", cfg.URL)
	}
	s.name = cfg.Name
	if s.name == "" {
		s.name = u.Host
	}
	s.logURL = u.Scheme + "://" + u.Host + u.Path
	switch strings.ToLower(cfg.Format) {
	case "", JSON:
		s.cfg.Format = JSON
	case CSV:
		s.cfg.Format = CSV
		if cfg.Items != "" {
			return bad("items %q is for json bodies", cfg.Items)
		}
	default:
		return bad("format %q: want json or csv", cfg.Format)
	}
	if cfg.Start == "" || cfg.Price == "" {
		return bad("start and price fields are required")
	}
	switch {
	case cfg.End == "" && cfg.Interval <= 0:
		return bad("set the end field or a positive interval length")
	case cfg.End != "" && cfg.Interval != 0:
		return bad("set the end field or the interval length, not both")
	}
	if s.scale, err = unitScale(cfg.Unit); err != nil {
		return bad("%v", err)
	}
	s.loc = time.UTC
	switch tf := cfg.TimeFormat; tf {
	case "", RFC3339, Unix, UnixMS:
		if tf == "" {
			s.cfg.TimeFormat = RFC3339
		}
		if cfg.TimeZone != "" {
			return bad("time zone %q is only for layouts without a zone", cfg.TimeZone)
		}
	default:
		zoned := strings.Contains(tf, "Z07") || strings.Contains(tf, "-07") || strings.Contains(tf, "MST")
		switch {
		case cfg.TimeZone != "":
			if s.loc, err = time.LoadLocation(cfg.TimeZone); err != nil {
				return bad("time zone %q: %v", cfg.TimeZone, err)
			}
		case !zoned:
			return bad("time format %q has no zone: set time_zone", tf)
		}
	}
	s.comma = ','
	if cfg.Comma != "" {
		r := []rune(cfg.Comma)
		if len(r) != 1 || r[0] == '"' || r[0] == '\n' || r[0] == '\r' {
			return bad("comma %q: want one character", cfg.Comma)
		}
		s.comma = r[0]
	}
	for k, v := range cfg.Headers {
		if k == "" || strings.ContainsAny(k, "\r\n: ") || strings.ContainsAny(v, "\r\n") {
			return bad("header %q: bad name or value", k)
		}
	}
	if cfg.TTL < 0 || cfg.Timeout < 0 {
		return bad("negative ttl or timeout")
	}
	if cfg.TTL == 0 {
		s.cfg.TTL = DefaultTTL
	}
	if cfg.Timeout == 0 {
		s.cfg.Timeout = DefaultTimeout
	}
	if s.http == nil {
		s.http = &http.Client{}
	}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

func unitScale(u string) (float64, error) {
	switch strings.ToLower(strings.ReplaceAll(u, " ", "")) {
	case "", "$/mwh", "usd/mwh", "/mwh", "mwh":
		return 1, nil
	case "$/kwh", "usd/kwh", "/kwh", "kwh":
		return 1000, nil
	}
	return 0, fmt.Errorf("unit %q: want $/MWh or $/kWh", u)
}

// Schedule returns the points of the series overlapping [from, to), or an
// error wrapping price.ErrNoData when none do.
func (s *Source) Schedule(ctx context.Context, from, to time.Time) (price.Schedule, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	span := fmt.Sprintf("[%s, %s)", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	if !to.After(from) {
		return nil, fmt.Errorf("httpprice %s: span %s: %w", s.name, span, energy.ErrBadInterval)
	}
	u := strings.NewReplacer(
		"{from}", url.QueryEscape(from.UTC().Format(time.RFC3339)),
		"{to}", url.QueryEscape(to.UTC().Format(time.RFC3339)),
	).Replace(s.cfg.URL)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	e, ok := s.cache[u]
	if !ok || now.Sub(e.fetched) >= s.cfg.TTL || now.Before(e.fetched) {
		sched, err := s.fetch(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("httpprice %s: %w", s.name, err)
		}
		e = entry{s: sched, fetched: now}
		s.put(u, e)
	}
	got := e.s.Between(from, to)
	if len(got) == 0 {
		return nil, fmt.Errorf("httpprice %s: span %s: %w", s.name, span, price.ErrNoData)
	}
	return slices.Clone(got), nil
}

// put caches e, dropping the oldest entries beyond maxEntries.
func (s *Source) put(u string, e entry) {
	s.cache[u] = e
	for len(s.cache) > maxEntries {
		var oldest string
		var at time.Time
		for k, v := range s.cache {
			if oldest == "" || v.fetched.Before(at) {
				oldest, at = k, v.fetched
			}
		}
		delete(s.cache, oldest)
	}
}

func (s *Source) fetch(ctx context.Context, u string) (price.Schedule, error) {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", s.logURL, err)
	}
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "gridminer (+https://github.com/gridminer/gridminer)")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		// url.Error carries the full URL, whose query may hold a key.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("GET %s: %w", s.logURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: read body: %w", s.logURL, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("GET %s: body larger than %d bytes", s.logURL, maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		detail := strings.Join(strings.Fields(string(body[:min(len(body), 200)])), " ")
		return nil, fmt.Errorf("GET %s: HTTP %s: %s", s.logURL, resp.Status, detail)
	}
	s.log.Debug("httpprice fetched", "source", s.name, "url", s.logURL, "bytes", len(body))
	sched, err := s.decode(body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", s.logURL, err)
	}
	return sched, nil
}

// decode turns a body into a validated schedule.
func (s *Source) decode(body []byte) (price.Schedule, error) {
	var rows []rawRow
	var err error
	if s.cfg.Format == CSV {
		rows, err = s.csvRows(body)
	} else {
		rows, err = s.jsonRows(body)
	}
	if err != nil {
		return nil, err
	}
	out := make(price.Schedule, 0, len(rows))
	for _, r := range rows {
		p, err := s.point(r)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadData, r.pos, err)
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b price.Point) int { return a.Interval.Start.Compare(b.Interval.Start) })
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	return out, nil
}

// rawRow is one row's start, end and price values before conversion.
type rawRow struct {
	pos               string // "row 3" or "line 4"
	start, end, price any
}

func (s *Source) jsonRows(body []byte) ([]rawRow, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrBadData, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: more than one JSON value", ErrBadData)
	}
	v, err := walk(root, s.cfg.Items)
	if err != nil {
		return nil, fmt.Errorf("%w: items %q: %v", ErrBadData, s.cfg.Items, err)
	}
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: items %q: %s, want an array", ErrBadData, s.cfg.Items, kind(v))
	}
	rows := make([]rawRow, 0, len(items))
	for i, it := range items {
		r := rawRow{pos: fmt.Sprintf("row %d", i+1)}
		get := func(field string) (any, error) {
			v, err := walk(it, field)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: field %q: %v", ErrBadData, r.pos, field, err)
			}
			return v, nil
		}
		if r.start, err = get(s.cfg.Start); err != nil {
			return nil, err
		}
		if s.cfg.End != "" {
			if r.end, err = get(s.cfg.End); err != nil {
				return nil, err
			}
		}
		if r.price, err = get(s.cfg.Price); err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// walk follows a dot path through objects (by key) and arrays (by index).
func walk(v any, path string) (any, error) {
	if path == "" {
		return v, nil
	}
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[seg]
			if !ok {
				return nil, fmt.Errorf("no key %q", seg)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("no index %q in an array of %d", seg, len(x))
			}
			v = x[i]
		default:
			return nil, fmt.Errorf("%s has no %q", kind(v), seg)
		}
	}
	return v, nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

func (s *Source) csvRows(body []byte) ([]rawRow, error) {
	cr := csv.NewReader(bytes.NewReader(body))
	cr.Comma = s.comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: empty CSV", ErrBadData)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: CSV header: %v", ErrBadData, err)
	}
	col := func(name string) (int, error) {
		for i, h := range head {
			if strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")), name) {
				return i, nil
			}
		}
		return -1, fmt.Errorf("%w: CSV header has no column %q (it has %s)", ErrBadData, name, strings.Join(head, ", "))
	}
	cStart, err := col(s.cfg.Start)
	if err != nil {
		return nil, err
	}
	cEnd := -1
	if s.cfg.End != "" {
		if cEnd, err = col(s.cfg.End); err != nil {
			return nil, err
		}
	}
	cPrice, err := col(s.cfg.Price)
	if err != nil {
		return nil, err
	}
	var rows []rawRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: CSV: %v", ErrBadData, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		r := rawRow{pos: fmt.Sprintf("line %d", line)}
		cell := func(i int, name string) (any, error) {
			if i >= len(rec) {
				return nil, fmt.Errorf("%w: line %d: no column %q (%d fields)", ErrBadData, line, name, len(rec))
			}
			return strings.TrimSpace(rec[i]), nil
		}
		if r.start, err = cell(cStart, s.cfg.Start); err != nil {
			return nil, err
		}
		if cEnd >= 0 {
			if r.end, err = cell(cEnd, s.cfg.End); err != nil {
				return nil, err
			}
		}
		if r.price, err = cell(cPrice, s.cfg.Price); err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
}

// point converts one row.
func (s *Source) point(r rawRow) (price.Point, error) {
	start, err := s.parseTime(r.start)
	if err != nil {
		return price.Point{}, fmt.Errorf("field %q: %v", s.cfg.Start, err)
	}
	end := start.Add(s.cfg.Interval)
	if s.cfg.End != "" {
		if end, err = s.parseTime(r.end); err != nil {
			return price.Point{}, fmt.Errorf("field %q: %v", s.cfg.End, err)
		}
	}
	iv, err := energy.NewInterval(start, end)
	if err != nil {
		return price.Point{}, fmt.Errorf("field %q: %v", s.cfg.End, err)
	}
	f, err := number(r.price)
	if err != nil {
		return price.Point{}, fmt.Errorf("field %q: %v", s.cfg.Price, err)
	}
	p, err := energy.NewPrice(fmt.Sprintf("field %q", s.cfg.Price), f*s.scale)
	if err != nil {
		return price.Point{}, err
	}
	return price.Point{Interval: iv, Price: p}, nil
}

// number reads a JSON number or a numeric string; NaN and infinities are
// refused here and by energy.NewPrice.
func number(v any) (float64, error) {
	var txt string
	switch x := v.(type) {
	case json.Number:
		txt = x.String()
	case string:
		txt = strings.TrimSpace(x)
	default:
		return 0, fmt.Errorf("%s: want a number", kind(v))
	}
	f, err := strconv.ParseFloat(txt, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: not a number", clip(txt))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q: %w", clip(txt), energy.ErrNotFinite)
	}
	return f, nil
}

func (s *Source) parseTime(v any) (time.Time, error) {
	switch s.cfg.TimeFormat {
	case Unix, UnixMS:
		f, err := number(v)
		if err != nil {
			return time.Time{}, err
		}
		if s.cfg.TimeFormat == UnixMS {
			f /= 1000
		}
		if f < 0 || f > 1e11 {
			return time.Time{}, fmt.Errorf("%v: out of range for unix time", f)
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
	}
	txt, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("%s: want a time string", kind(v))
	}
	txt = strings.TrimSpace(txt)
	if s.cfg.TimeFormat == RFC3339 {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00"} {
			if t, err := time.Parse(layout, txt); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("%q: want RFC 3339 with a zone offset", clip(txt))
	}
	t, err := time.ParseInLocation(s.cfg.TimeFormat, txt, s.loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want the layout %q", clip(txt), s.cfg.TimeFormat)
	}
	return t.UTC(), nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

var _ price.Source = (*Source)(nil)
