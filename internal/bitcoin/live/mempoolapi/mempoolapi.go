// Package mempoolapi reads current chain state from a block explorer that
// serves the mempool.space REST API (mempool.space itself, or a
// self-hosted mempool instance):
//
//	GET /api/blocks/tip/height             the tip height, as plain text
//	GET /api/v1/blocks                     the last 15 blocks, newest first, each
//	                                       with its difficulty and extras.totalFees
//	GET /api/v1/mining/blocks/fees/24h     per-block fees of the last day
//	                                       ({avgHeight, timestamp, avgFees, USD})
//
// Difficulty comes from the newest block of /api/v1/blocks
// (/api/v1/difficulty-adjustment describes the coming retarget, not the
// current difficulty). Fees per block are the mean extras.totalFees of the
// newest FeeBlocks blocks (FeesBlocks, the default) or the mean avgFees of
// the last day (Fees24h). The response shapes follow the API documentation
// of the mempool/mempool project; the replay fixtures in testdata are
// written from it.
//
// The package fetches; it does not cache values for freshness or schedule
// refreshes: internal/bitcoin/live does that.
package mempoolapi

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

// Fee modes of Config.Fees.
const (
	// FeesBlocks averages extras.totalFees over the newest FeeBlocks of
	// the blocks /api/v1/blocks returns (15 on mempool.space).
	FeesBlocks = "blocks"
	// Fees24h averages /api/v1/mining/blocks/fees/24h: every block of the
	// last day (needs an instance with mining indexing enabled).
	Fees24h = "24h"
)

// Defaults.
const (
	DefaultURL       = "https://mempool.space"
	DefaultTimeout   = 10 * time.Second
	DefaultFeeBlocks = 15
	maxFeeBlocks     = 15 // what one /api/v1/blocks call returns
	// maxTipLag is how far the newest block of /api/v1/blocks may trail
	// the tip height (a block can arrive between the two calls; more
	// means the instance's block index is behind).
	maxTipLag        = 2
	maxResponseBytes = 8 << 20
)

// ErrBadResponse is wrapped by errors about a response that is not what
// the API documents.
var ErrBadResponse = errors.New("bad explorer response")

// ErrLagging is wrapped when the explorer's block list trails its tip by
// more than a couple of blocks (its indexer is behind).
var ErrLagging = errors.New("explorer block index lags its tip")

// Config is an explorer's base URL and how to average fees.
type Config struct {
	// URL is the site root the /api paths hang off (default DefaultURL),
	// such as http://umbrel.local:3006 or https://mempool.space.
	URL string `yaml:"url"`
	// Fees is FeesBlocks (default) or Fees24h.
	Fees string `yaml:"fees"`
	// FeeBlocks is how many of the newest blocks FeesBlocks averages
	// (default and at most 15).
	FeeBlocks int `yaml:"fee_blocks"`
	// Timeout bounds each request (default DefaultTimeout).
	Timeout time.Duration `yaml:"timeout"`
}

// Validate checks the configuration without touching the network.
func (c Config) Validate() error {
	if c.URL != "" {
		u, err := endpoint.Check(c.URL)
		switch {
		case err != nil:
			return err
		case u.RawQuery != "" || u.Fragment != "":
			return fmt.Errorf("url %q: want the site root, without query or fragment", c.URL)
		}
	}
	switch c.Fees {
	case "", FeesBlocks:
		if c.FeeBlocks < 0 || c.FeeBlocks > maxFeeBlocks {
			return fmt.Errorf("fee_blocks %d: want 1 to %d (0 for %d)", c.FeeBlocks, maxFeeBlocks, DefaultFeeBlocks)
		}
	case Fees24h:
		if c.FeeBlocks != 0 {
			return fmt.Errorf("fee_blocks applies to fees: %s only", FeesBlocks)
		}
	default:
		return fmt.Errorf("fees %q: want %s or %s", c.Fees, FeesBlocks, Fees24h)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("timeout %s is negative", c.Timeout)
	}
	return nil
}

// Deps are the client's injected dependencies.
type Deps struct {
	// HTTP is the client to use; Config.Timeout bounds each request.
	// Default: a new http.Client.
	HTTP *http.Client
}

// Client reads one explorer. It is safe for concurrent use.
type Client struct {
	base      string // URL without a trailing slash
	name      string // host, for errors and logs
	fees      string
	feeBlocks int
	timeout   time.Duration
	http      *http.Client
}

// New returns a client for cfg; it does not contact the explorer.
func New(cfg Config, deps Deps) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("explorer: %w", err)
	}
	c := &Client{base: strings.TrimRight(cfg.URL, "/"), fees: cfg.Fees, feeBlocks: cfg.FeeBlocks, timeout: cfg.Timeout, http: deps.HTTP}
	if c.base == "" {
		c.base = DefaultURL
	}
	u, _ := url.Parse(c.base) // checked by Validate
	c.name = u.Host
	if c.fees == "" {
		c.fees = FeesBlocks
	}
	if c.feeBlocks == 0 {
		c.feeBlocks = DefaultFeeBlocks
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	return c, nil
}

// String names the explorer for logs: "explorer host".
func (c *Client) String() string { return "explorer " + c.name }

// Snapshot is the chain state one Snapshot call read.
type Snapshot struct {
	TipHeight  int64     // height of the best block
	TipTime    time.Time // timestamp in the best block's header
	Difficulty float64   // difficulty of the newest listed block
	// FeesPerBlockSats is the mean fees per block, in satoshis, over
	// FeeBlocks blocks.
	FeesPerBlockSats float64
	FeeBlocks        int
}

// Snapshot reads the tip height, the recent blocks and, for Fees24h, the
// last day's fees.
func (c *Client) Snapshot(ctx context.Context) (Snapshot, error) {
	tip, err := c.TipHeight(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	blocks, err := c.RecentBlocks(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	newest := blocks[0]
	if newest.Height < tip-maxTipLag {
		return Snapshot{}, fmt.Errorf("explorer %s: newest listed block %d, tip %d: %w", c.name, newest.Height, tip, ErrLagging)
	}
	s := Snapshot{TipHeight: max(tip, newest.Height), Difficulty: newest.Difficulty}
	if newest.Height == s.TipHeight {
		s.TipTime = newest.Time
	}
	switch c.fees {
	case Fees24h:
		points, err := c.BlockFees24h(ctx)
		if err != nil {
			return Snapshot{}, err
		}
		var sum float64
		for _, p := range points {
			sum += float64(p.AvgFeesSats)
		}
		s.FeesPerBlockSats, s.FeeBlocks = sum/float64(len(points)), len(points)
	default:
		n := min(c.feeBlocks, len(blocks))
		var sum float64
		for _, b := range blocks[:n] {
			if !b.HasFees {
				return Snapshot{}, fmt.Errorf("explorer %s: block %d has no extras.totalFees (not a mempool instance? try fees: %s): %w", c.name, b.Height, Fees24h, ErrBadResponse)
			}
			sum += float64(b.TotalFeesSats)
		}
		s.FeesPerBlockSats, s.FeeBlocks = sum/float64(n), n
	}
	return s, nil
}

// TipHeight calls /api/blocks/tip/height.
func (c *Client) TipHeight(ctx context.Context) (int64, error) {
	body, err := c.get(ctx, "/api/blocks/tip/height")
	if err != nil {
		return 0, err
	}
	h, err := ParseTipHeight(body)
	if err != nil {
		return 0, fmt.Errorf("explorer %s: /api/blocks/tip/height: %w", c.name, err)
	}
	return h, nil
}

// RecentBlocks calls /api/v1/blocks: the newest blocks, newest first
// (never empty).
func (c *Client) RecentBlocks(ctx context.Context) ([]Block, error) {
	body, err := c.get(ctx, "/api/v1/blocks")
	if err != nil {
		return nil, err
	}
	blocks, err := ParseBlocks(body)
	if err != nil {
		return nil, fmt.Errorf("explorer %s: /api/v1/blocks: %w", c.name, err)
	}
	return blocks, nil
}

// BlockFees24h calls /api/v1/mining/blocks/fees/24h (never empty).
func (c *Client) BlockFees24h(ctx context.Context) ([]FeePoint, error) {
	body, err := c.get(ctx, "/api/v1/mining/blocks/fees/24h")
	if err != nil {
		return nil, err
	}
	points, err := ParseBlockFees(body)
	if err != nil {
		return nil, fmt.Errorf("explorer %s: /api/v1/mining/blocks/fees/24h: %w", c.name, err)
	}
	return points, nil
}

// get fetches base+path within the client's timeout and returns the body
// of a 200 answer.
func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("explorer %s: %s: %w", c.name, path, err)
	}
	req.Header.Set("Accept", "application/json, text/plain")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("explorer %s: %s: %w", c.name, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("explorer %s: %s: read: %w", c.name, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("explorer %s: %s: http %d: %s", c.name, path, resp.StatusCode, endpoint.Snippet(body))
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("explorer %s: %s: response larger than %d bytes: %w", c.name, path, maxResponseBytes, ErrBadResponse)
	}
	return body, nil
}
