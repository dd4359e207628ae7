// Package node reads current chain state from a Bitcoin full node over its
// JSON-RPC interface (Bitcoin Core, or btcd): the tip height and
// difficulty from getblockchaininfo, and transaction fees per block either
// from getblocktemplate (the fees of the block the node would mine next)
// or from getblockstats over the last N blocks (Bitcoin Core only).
//
// The client is a minimal JSON-RPC 1.0 client written for this job rather
// than btcd's rpcclient: every call takes a context and carries a deadline,
// the client starts no goroutines and keeps no package-level state, it
// sends exactly what both nodes accept ("jsonrpc":"1.0", positional
// params, a non-null id; btcd answers nothing otherwise), it reads Bitcoin
// Core's error replies that come with HTTP 500/404, and it is tested
// against an httptest replay as well as a real btcd. Authentication is
// HTTP basic auth with a user and password, or Bitcoin Core's cookie file.
//
// The package fetches; it does not cache values for freshness, schedule
// refreshes or turn them into hashprice: internal/bitcoin/live does that.
package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin/live/endpoint"
)

// Fee modes of Config.Fees.
const (
	// FeesTemplate takes the fees of the block template the node would
	// mine next (getblocktemplate): the sum of its transactions' fees.
	// Works with Bitcoin Core and btcd. On mainnet a template moves
	// several megabytes per call.
	FeesTemplate = "template"
	// FeesBlockStats averages getblockstats totalfee over the last
	// FeeBlocks blocks (Bitcoin Core 0.17 and later; btcd lacks the call).
	// Blocks a few confirmations deep are cached, so a refresh costs a
	// handful of small calls.
	FeesBlockStats = "blockstats"
)

// Defaults.
const (
	DefaultURL       = "http://127.0.0.1:8332"
	DefaultTimeout   = 10 * time.Second
	DefaultFeeBlocks = 144 // a day of blocks
	DefaultNetwork   = "main"
	maxFeeBlocks     = 2016
	// finalDepth is how deep a block must be before its getblockstats
	// result is cached (a reorg deeper than this is not followed).
	finalDepth = 6
)

// Config is a full node's JSON-RPC endpoint. Field names in YAML are given
// in the tags; the password itself never appears in a file.
type Config struct {
	// URL is the node's RPC endpoint, http://host:port (default
	// DefaultURL). Credentials in the URL are rejected.
	URL string `yaml:"url"`
	// User and a password from PasswordEnv (an environment variable) or
	// PasswordFile (its first line) authenticate with HTTP basic auth.
	User         string `yaml:"user"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// Password is for programmatic use (tests); it is never read from YAML.
	Password string `yaml:"-"`
	// CookieFile is Bitcoin Core's .cookie file (datadir/.cookie), read
	// on every call; it replaces User and the password.
	CookieFile string `yaml:"cookie_file"`
	// Network is the chain the node must be on, as getblockchaininfo names
	// it (main, test, testnet4, signet, regtest; btcd's mainnet, testnet3
	// and simnet are accepted too). Default main: a node on another
	// network is an error, not a hashprice.
	Network string `yaml:"network"`
	// Fees is FeesTemplate (default) or FeesBlockStats.
	Fees string `yaml:"fees"`
	// FeeBlocks is how many recent blocks FeesBlockStats averages
	// (default DefaultFeeBlocks, at most 2016).
	FeeBlocks int `yaml:"fee_blocks"`
	// Timeout bounds each RPC call (default DefaultTimeout).
	Timeout time.Duration `yaml:"timeout"`
}

// Validate checks the configuration without touching the network or the
// file system.
func (c Config) Validate() error {
	if c.URL != "" {
		u, err := endpoint.Check(c.URL)
		switch {
		case err != nil:
			return err
		case u.User != nil:
			return fmt.Errorf("url: credentials in the url are not allowed; use user with password_env, password_file or cookie_file")
		}
	}
	secrets := 0
	for _, s := range []string{c.PasswordEnv, c.PasswordFile, c.Password, c.CookieFile} {
		if s != "" {
			secrets++
		}
	}
	if secrets > 1 {
		return fmt.Errorf("give one of password_env, password_file or cookie_file")
	}
	if c.CookieFile != "" && c.User != "" {
		return fmt.Errorf("cookie_file carries its own user; leave user empty")
	}
	if c.Network != "" && canonicalNetwork(c.Network) == "" {
		return fmt.Errorf("network %q: want main, test, testnet4, signet, regtest or simnet", c.Network)
	}
	switch c.Fees {
	case "", FeesTemplate:
		if c.FeeBlocks != 0 {
			return fmt.Errorf("fee_blocks applies to fees: %s only", FeesBlockStats)
		}
	case FeesBlockStats:
		if c.FeeBlocks < 0 || c.FeeBlocks > maxFeeBlocks {
			return fmt.Errorf("fee_blocks %d: want 1 to %d (0 for %d)", c.FeeBlocks, maxFeeBlocks, DefaultFeeBlocks)
		}
	default:
		return fmt.Errorf("fees %q: want %s or %s", c.Fees, FeesTemplate, FeesBlockStats)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("timeout %s is negative", c.Timeout)
	}
	return nil
}

// Deps are the client's injected dependencies.
type Deps struct {
	// HTTP is the client to use; its Timeout is not relied on
	// (Config.Timeout bounds each call). Default: a new http.Client.
	HTTP *http.Client
}

// Client is a JSON-RPC client of one node. It is safe for concurrent use.
type Client struct {
	url        string
	name       string // host:port, for errors and logs
	user, pass string
	cookieFile string
	network    string
	fees       string
	feeBlocks  int
	timeout    time.Duration
	http       *http.Client
	nextID     atomic.Uint64

	mu         sync.Mutex
	feeByBlock map[int64]int64 // getblockstats totalfee of final blocks, by height
}

// New returns a client for cfg. It resolves the password from the
// environment or its file but does not contact the node.
func New(cfg Config, deps Deps) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	c := &Client{
		url:        cfg.URL,
		user:       cfg.User,
		pass:       cfg.Password,
		cookieFile: cfg.CookieFile,
		network:    canonicalNetwork(cfg.Network),
		fees:       cfg.Fees,
		feeBlocks:  cfg.FeeBlocks,
		timeout:    cfg.Timeout,
		http:       deps.HTTP,
		feeByBlock: make(map[int64]int64),
	}
	if c.url == "" {
		c.url = DefaultURL
	}
	u, _ := url.Parse(c.url) // checked by Validate
	c.name = u.Host
	if c.network == "" {
		c.network = DefaultNetwork
	}
	if c.fees == "" {
		c.fees = FeesTemplate
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
	switch {
	case cfg.PasswordEnv != "":
		v, ok := os.LookupEnv(cfg.PasswordEnv)
		if !ok {
			return nil, fmt.Errorf("node %s: password_env: environment variable %s is not set", c.name, cfg.PasswordEnv)
		}
		c.pass = v
	case cfg.PasswordFile != "":
		b, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("node %s: password_file: %w", c.name, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		c.pass = strings.TrimRight(line, "\r")
	}
	return c, nil
}

// String names the node for logs: "node host:port".
func (c *Client) String() string { return "node " + c.name }

// ErrSyncing is wrapped by Snapshot while the node is in initial block
// download: its tip and difficulty are history, not the network's state.
var ErrSyncing = errors.New("node is in initial block download")

// ErrWrongNetwork is wrapped by Snapshot when the node is on another chain
// than Config.Network.
var ErrWrongNetwork = errors.New("node is on the wrong network")

// Snapshot is the chain state one Snapshot call read.
type Snapshot struct {
	Network    string  // chain as the node names it (main, regtest, ...)
	TipHeight  int64   // height of the best block
	TipHash    string  // hash of the best block
	Difficulty float64 // difficulty of the best block (see ChainInfo)
	// FeesPerBlockSats is the mean transaction fees per block, in
	// satoshis: the template's fees (FeeBlocks 0) or the mean over
	// FeeBlocks recent blocks.
	FeesPerBlockSats float64
	FeeBlocks        int
}

// Snapshot reads the tip, difficulty and fees per block. It fails with
// ErrSyncing while the node is in initial block download, and with
// ErrWrongNetwork on another chain than configured.
func (c *Client) Snapshot(ctx context.Context) (Snapshot, error) {
	info, err := c.ChainInfo(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	if got := canonicalNetwork(info.Chain); got != c.network {
		return Snapshot{}, fmt.Errorf("node %s: on %q, want %q: %w", c.name, info.Chain, c.network, ErrWrongNetwork)
	}
	if info.InitialBlockDownload {
		return Snapshot{}, fmt.Errorf("node %s: at height %d of %d headers: %w", c.name, info.Blocks, info.Headers, ErrSyncing)
	}
	s := Snapshot{Network: info.Chain, TipHeight: info.Blocks, TipHash: info.BestBlockHash, Difficulty: info.Difficulty}
	switch c.fees {
	case FeesBlockStats:
		mean, n, err := c.meanBlockFees(ctx, s.TipHeight)
		if err != nil {
			return Snapshot{}, err
		}
		s.FeesPerBlockSats, s.FeeBlocks = mean, n
	default:
		t, err := c.BlockTemplate(ctx)
		if err != nil {
			return Snapshot{}, err
		}
		if t.Height-1 > s.TipHeight { // a block arrived between the two calls
			s.TipHeight, s.TipHash = t.Height-1, t.PreviousBlockHash
		}
		fees, err := t.FeesSats()
		if err != nil {
			return Snapshot{}, fmt.Errorf("node %s: getblocktemplate: %w", c.name, err)
		}
		s.FeesPerBlockSats = float64(fees)
	}
	return s, nil
}

// ChainInfo calls getblockchaininfo.
func (c *Client) ChainInfo(ctx context.Context) (ChainInfo, error) {
	var raw rawJSON
	if err := c.Call(ctx, "getblockchaininfo", nil, &raw); err != nil {
		return ChainInfo{}, err
	}
	info, err := ParseChainInfo(raw)
	if err != nil {
		return ChainInfo{}, fmt.Errorf("node %s: getblockchaininfo: %w", c.name, err)
	}
	return info, nil
}

// templateRequest is getblocktemplate's one positional parameter. Bitcoin
// Core requires the segwit rule; btcd leaves out coinbasevalue unless it
// is among the capabilities (or coinbasetxn is not).
type templateRequest struct {
	Rules        []string `json:"rules"`
	Capabilities []string `json:"capabilities"`
}

// BlockTemplate calls getblocktemplate for the next block.
func (c *Client) BlockTemplate(ctx context.Context) (Template, error) {
	var raw rawJSON
	if err := c.Call(ctx, "getblocktemplate", []any{templateRequest{Rules: []string{"segwit"}, Capabilities: []string{"coinbasevalue"}}}, &raw); err != nil {
		return Template{}, err
	}
	t, err := ParseTemplate(raw)
	if err != nil {
		return Template{}, fmt.Errorf("node %s: getblocktemplate: %w", c.name, err)
	}
	return t, nil
}

// BlockStats calls getblockstats for the block at height, asking only for
// its height and total fee.
func (c *Client) BlockStats(ctx context.Context, height int64) (BlockStats, error) {
	var raw rawJSON
	if err := c.Call(ctx, "getblockstats", []any{height, []string{"height", "totalfee"}}, &raw); err != nil {
		return BlockStats{}, err
	}
	st, err := ParseBlockStats(raw)
	if err != nil {
		return BlockStats{}, fmt.Errorf("node %s: getblockstats %d: %w", c.name, height, err)
	}
	if st.Height != height {
		return BlockStats{}, fmt.Errorf("node %s: getblockstats %d: answered for height %d: %w", c.name, height, st.Height, ErrBadResponse)
	}
	return st, nil
}

// meanBlockFees averages the total fees of the last feeBlocks blocks up to
// tip (the genesis block, which has none, is left out). It returns the
// mean in satoshis and the number of blocks averaged.
func (c *Client) meanBlockFees(ctx context.Context, tip int64) (float64, int, error) {
	from := max(1, tip-int64(c.feeBlocks)+1)
	if tip < from {
		return 0, 0, nil
	}
	var sum float64
	for h := from; h <= tip; h++ {
		c.mu.Lock()
		fee, ok := c.feeByBlock[h]
		c.mu.Unlock()
		if !ok {
			st, err := c.BlockStats(ctx, h)
			if err != nil {
				return 0, 0, err
			}
			fee = st.TotalFeeSats
			if h <= tip-finalDepth {
				c.mu.Lock()
				c.feeByBlock[h] = fee
				c.mu.Unlock()
			}
		}
		sum += float64(fee)
	}
	c.mu.Lock()
	for h := range c.feeByBlock {
		if h < from || h > tip-finalDepth {
			delete(c.feeByBlock, h)
		}
	}
	c.mu.Unlock()
	n := int(tip - from + 1)
	return sum / float64(n), n, nil
}

// canonicalNetwork maps the chain names Bitcoin Core and btcd report to
// Core's names, or "" for an unknown name.
func canonicalNetwork(s string) string {
	switch strings.ToLower(s) {
	case "main", "mainnet":
		return "main"
	case "test", "testnet", "testnet3":
		return "test"
	case "testnet4":
		return "testnet4"
	case "signet":
		return "signet"
	case "regtest":
		return "regtest"
	case "simnet":
		return "simnet"
	}
	return ""
}
