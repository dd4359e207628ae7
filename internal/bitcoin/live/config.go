package live

import (
	"context"
	"fmt"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/bitcoin/live/mempoolapi"
	"github.com/gridminer/gridminer/internal/bitcoin/live/node"
	"github.com/gridminer/gridminer/internal/bitcoin/live/pricefeed"
)

// Chain source types of ChainConfig.Type.
const (
	ChainNode     = "node"
	ChainExplorer = "explorer"
)

// Config is the live economics section of the site file, for example:
//
//	chain:
//	  type: node                 # or explorer
//	  refresh: 1m                # default 1m
//	  max_age: 30m               # default 30m
//	  node:
//	    url: http://127.0.0.1:8332
//	    cookie_file: /var/lib/bitcoind/.cookie   # or user + password_env / password_file
//	    fees: template           # or blockstats (Bitcoin Core), with fee_blocks: 144
//	  # explorer:
//	  #   url: https://mempool.space
//	  #   fees: blocks           # or 24h
//	price:
//	  preset: coinbase           # or mempool, or url + path (+ time_path)
//	  refresh: 1m                # default 1m
//	  max_age: 15m               # default 15m
//
// Durations are Go duration strings. Decoding is left to the caller
// (internal/config decodes strictly); Validate checks the values.
type Config struct {
	Chain ChainConfig `yaml:"chain"`
	Price PriceConfig `yaml:"price"`
}

// ChainConfig selects where height, difficulty and fees come from.
type ChainConfig struct {
	// Type is ChainNode or ChainExplorer; the matching block below is
	// used and the other must be left out.
	Type     string            `yaml:"type"`
	Node     node.Config       `yaml:"node"`
	Explorer mempoolapi.Config `yaml:"explorer"`
	// Refresh and MaxAge: see Options (defaults DefaultChainRefresh,
	// DefaultChainMaxAge).
	Refresh time.Duration `yaml:"refresh"`
	MaxAge  time.Duration `yaml:"max_age"`
}

// PriceConfig is the BTC price feed (its keys inline: preset, url, path,
// time_path, timeout) and its freshness.
type PriceConfig struct {
	pricefeed.Config `yaml:",inline"`
	// Refresh and MaxAge: see Options (defaults DefaultPriceRefresh,
	// DefaultPriceMaxAge).
	Refresh time.Duration `yaml:"refresh"`
	MaxAge  time.Duration `yaml:"max_age"`
}

func (c Config) options() Options {
	return Options{ChainRefresh: c.Chain.Refresh, ChainMaxAge: c.Chain.MaxAge, PriceRefresh: c.Price.Refresh, PriceMaxAge: c.Price.MaxAge}
}

// Validate checks the configuration without touching the network, the
// environment or the file system (for gridminer check-config).
func (c Config) Validate() error {
	switch c.Chain.Type {
	case ChainNode:
		if c.Chain.Explorer != (mempoolapi.Config{}) {
			return fmt.Errorf("chain: explorer is set but type is %s", ChainNode)
		}
		if err := c.Chain.Node.Validate(); err != nil {
			return fmt.Errorf("chain: node: %w", err)
		}
	case ChainExplorer:
		if c.Chain.Node != (node.Config{}) {
			return fmt.Errorf("chain: node is set but type is %s", ChainExplorer)
		}
		if err := c.Chain.Explorer.Validate(); err != nil {
			return fmt.Errorf("chain: explorer: %w", err)
		}
	case "":
		return fmt.Errorf("chain: type: want %s or %s", ChainNode, ChainExplorer)
	default:
		return fmt.Errorf("chain: type %q: want %s or %s", c.Chain.Type, ChainNode, ChainExplorer)
	}
	if err := c.Price.Config.Validate(); err != nil {
		return fmt.Errorf("price: %w", err)
	}
	if err := c.options().Validate(); err != nil {
		return err
	}
	return nil
}

// New builds the drivers cfg names and a Source over them. It reads
// secrets (password_env, password_file) but contacts nothing: the first
// values are fetched by Run or the first Economics call.
func New(cfg Config, deps Deps) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("live bitcoin: %w", err)
	}
	var chain ChainFetcher
	switch cfg.Chain.Type {
	case ChainNode:
		c, err := node.New(cfg.Chain.Node, node.Deps{HTTP: deps.HTTP})
		if err != nil {
			return nil, fmt.Errorf("live bitcoin: chain: %w", err)
		}
		chain = NodeChain{c}
	case ChainExplorer:
		c, err := mempoolapi.New(cfg.Chain.Explorer, mempoolapi.Deps{HTTP: deps.HTTP})
		if err != nil {
			return nil, fmt.Errorf("live bitcoin: chain: %w", err)
		}
		chain = ExplorerChain{c}
	}
	f, err := pricefeed.New(cfg.Price.Config, pricefeed.Deps{HTTP: deps.HTTP})
	if err != nil {
		return nil, fmt.Errorf("live bitcoin: price: %w", err)
	}
	return NewSource(chain, FeedPrice{f}, cfg.options(), deps)
}

// NodeChain is a ChainFetcher over a full node.
type NodeChain struct{ Client *node.Client }

// FetchChain reads a node snapshot.
func (n NodeChain) FetchChain(ctx context.Context) (Chain, error) {
	s, err := n.Client.Snapshot(ctx)
	if err != nil {
		return Chain{}, err
	}
	return Chain{TipHeight: s.TipHeight, Difficulty: s.Difficulty, FeesPerBlockBTC: s.FeesPerBlockSats / bitcoin.SatsPerBTC, FeeBlocks: s.FeeBlocks}, nil
}

func (n NodeChain) String() string { return n.Client.String() }

// ExplorerChain is a ChainFetcher over a mempool.space-style explorer.
type ExplorerChain struct{ Client *mempoolapi.Client }

// FetchChain reads an explorer snapshot.
func (e ExplorerChain) FetchChain(ctx context.Context) (Chain, error) {
	s, err := e.Client.Snapshot(ctx)
	if err != nil {
		return Chain{}, err
	}
	return Chain{TipHeight: s.TipHeight, Difficulty: s.Difficulty, FeesPerBlockBTC: s.FeesPerBlockSats / bitcoin.SatsPerBTC, FeeBlocks: s.FeeBlocks}, nil
}

func (e ExplorerChain) String() string { return e.Client.String() }

// FeedPrice is a PriceFetcher over a price feed.
type FeedPrice struct{ Feed *pricefeed.Feed }

// FetchPrice reads a quote.
func (f FeedPrice) FetchPrice(ctx context.Context) (Price, error) {
	q, err := f.Feed.Quote(ctx)
	if err != nil {
		return Price{}, err
	}
	return Price{USD: q.USD, Published: q.Time}, nil
}

func (f FeedPrice) String() string { return f.Feed.String() }
