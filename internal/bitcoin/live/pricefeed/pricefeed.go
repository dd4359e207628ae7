// Package pricefeed reads the current BTC price in US dollars from an HTTP
// JSON endpoint: any URL, a dot path to the price in the JSON answer and,
// optionally, a dot path to the time the price is for. Presets fill these
// in for known public sources:
//
//	coinbase  https://api.coinbase.com/v2/prices/BTC-USD/spot
//	          {"data":{"amount":"43753.12","base":"BTC","currency":"USD"}}   path data.amount
//	mempool   https://mempool.space/api/v1/prices
//	          {"time":1703252411,"USD":43753,"EUR":40545,...}                path USD, time_path time
//
// A path is object keys separated by dots, with decimal indexes for array
// elements ("data.amount", "0.price"); keys containing dots cannot be
// addressed. The price may be a JSON number or a string holding a decimal
// number, and must be finite and positive (mempool.space reports -1 when
// it has no price: that is an error here). A time may be Unix seconds,
// Unix milliseconds (values of 1e12 and more), either as a number or a
// string, or an RFC 3339 string.
//
// The package fetches and parses; it does not cache, judge freshness or
// schedule refreshes: internal/bitcoin/live does that.
package pricefeed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin/live/endpoint"
)

// Presets of Config.Preset.
const (
	PresetCoinbase = "coinbase"
	PresetMempool  = "mempool"
)

// DefaultTimeout bounds each request unless Config.Timeout is set.
const DefaultTimeout = 10 * time.Second

const maxResponseBytes = 1 << 20

// ErrBadResponse is wrapped by errors about an answer without a usable
// price (not JSON, path missing, not a finite positive number, bad time).
var ErrBadResponse = errors.New("bad price response")

// Config is a price source.
type Config struct {
	// Preset fills URL, Path and TimePath for a known source
	// (PresetCoinbase or PresetMempool); fields set here override it,
	// such as URL for a self-hosted mempool.
	Preset string `yaml:"preset"`
	// URL answers GET with JSON holding the BTC price in US dollars.
	URL string `yaml:"url"`
	// Path is the dot path to the price; TimePath, optional, to the time
	// the price is for.
	Path     string `yaml:"path"`
	TimePath string `yaml:"time_path"`
	// Timeout bounds each request (default DefaultTimeout).
	Timeout time.Duration `yaml:"timeout"`
}

// withPreset returns c with its preset's fields filled in where c leaves
// them empty.
func (c Config) withPreset() (Config, error) {
	var p Config
	switch c.Preset {
	case "":
		return c, nil
	case PresetCoinbase:
		p = Config{URL: "https://api.coinbase.com/v2/prices/BTC-USD/spot", Path: "data.amount"}
	case PresetMempool:
		p = Config{URL: "https://mempool.space/api/v1/prices", Path: "USD", TimePath: "time"}
	default:
		return c, fmt.Errorf("preset %q: want %s or %s", c.Preset, PresetCoinbase, PresetMempool)
	}
	if c.URL == "" {
		c.URL = p.URL
	}
	if c.Path == "" {
		c.Path, c.TimePath = p.Path, p.TimePath
	}
	return c, nil
}

// Validate checks the configuration without touching the network.
func (c Config) Validate() error {
	c, err := c.withPreset()
	if err != nil {
		return err
	}
	if c.URL == "" {
		return fmt.Errorf("give a preset (%s, %s) or a url and path", PresetCoinbase, PresetMempool)
	}
	if _, err := endpoint.Check(c.URL); err != nil {
		return err
	}
	if err := checkPath(c.Path); err != nil {
		return fmt.Errorf("path: %w", err)
	}
	if c.TimePath != "" {
		if err := checkPath(c.TimePath); err != nil {
			return fmt.Errorf("time_path: %w", err)
		}
	}
	if c.Timeout < 0 {
		return fmt.Errorf("timeout %s is negative", c.Timeout)
	}
	return nil
}

func checkPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty; want a dot path such as data.amount")
	}
	for _, s := range strings.Split(p, ".") {
		if s == "" {
			return fmt.Errorf("%q has an empty segment", p)
		}
	}
	return nil
}

// Deps are the feed's injected dependencies.
type Deps struct {
	// HTTP is the client to use; Config.Timeout bounds each request.
	// Default: a new http.Client.
	HTTP *http.Client
}

// Feed reads one price source. It is safe for concurrent use.
type Feed struct {
	url, path, timePath string
	name                string // host, for errors and logs
	timeout             time.Duration
	http                *http.Client
}

// New returns a feed for cfg; it does not contact the source.
func New(cfg Config, deps Deps) (*Feed, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("price feed: %w", err)
	}
	cfg, _ = cfg.withPreset()
	u, _ := url.Parse(cfg.URL) // checked by Validate
	f := &Feed{url: cfg.URL, path: cfg.Path, timePath: cfg.TimePath, name: u.Host, timeout: cfg.Timeout, http: deps.HTTP}
	if f.timeout == 0 {
		f.timeout = DefaultTimeout
	}
	if f.http == nil {
		f.http = &http.Client{}
	}
	return f, nil
}

// String names the feed for logs: "price feed host".
func (f *Feed) String() string { return "price feed " + f.name }

// Quote is one price reading.
type Quote struct {
	USD float64 // BTC price in US dollars
	// Time is when the source says the price is for; zero when the
	// source gives no time (then only the fetch time is known).
	Time time.Time
}

// Quote fetches the current price.
func (f *Feed) Quote(ctx context.Context) (Quote, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return Quote{}, fmt.Errorf("price feed %s: %w", f.name, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.http.Do(req)
	if err != nil {
		return Quote{}, fmt.Errorf("price feed %s: %w", f.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return Quote{}, fmt.Errorf("price feed %s: read: %w", f.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Quote{}, fmt.Errorf("price feed %s: http %d: %s", f.name, resp.StatusCode, endpoint.Snippet(body))
	}
	if len(body) > maxResponseBytes {
		return Quote{}, fmt.Errorf("price feed %s: response larger than %d bytes: %w", f.name, maxResponseBytes, ErrBadResponse)
	}
	q, err := ParseQuote(body, f.path, f.timePath)
	if err != nil {
		return Quote{}, fmt.Errorf("price feed %s: %w", f.name, err)
	}
	return q, nil
}
