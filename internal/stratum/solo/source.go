package solo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
)

// Caller makes one JSON-RPC call to a full node with positional params;
// *node.Client (internal/bitcoin/live/node) is one.
type Caller interface {
	Call(ctx context.Context, method string, params []any, result any) error
}

// Source defaults and limits.
const (
	DefaultPollInterval    = time.Second
	DefaultRefreshInterval = 30 * time.Second
	MaxRefreshInterval     = 60 * time.Second
	DefaultCallTimeout     = 10 * time.Second
)

// SourceConfig sets how often the source looks at the node.
type SourceConfig struct {
	// PollInterval is how often getbestblockhash is asked whether the tip
	// moved (default DefaultPollInterval).
	PollInterval time.Duration
	// RefreshInterval is how often the template is fetched even when the
	// tip did not move, to take in new transactions and a newer curtime
	// (default DefaultRefreshInterval, at most MaxRefreshInterval).
	RefreshInterval time.Duration
	// CallTimeout bounds each RPC call (default DefaultCallTimeout).
	CallTimeout time.Duration
}

// SourceDeps are the source's injected dependencies.
type SourceDeps struct {
	Node  Caller
	Clock clock.Clock // default clock.Real
	Log   *slog.Logger
}

// Update is one new template from the source.
type Update struct {
	Work *Work
	// NewBlock is set when the previous block hash changed: jobs built on
	// earlier work are stale (Stratum clean_jobs).
	NewBlock bool
}

// Source keeps the node's current block template.
type Source struct {
	cfg   SourceConfig
	node  Caller
	clock clock.Clock
	log   *slog.Logger
	poke  chan struct{}

	mu  sync.Mutex
	cur *Work
}

// NewSource checks cfg and returns a source; it does not contact the node.
func NewSource(cfg SourceConfig, deps SourceDeps) (*Source, error) {
	if deps.Node == nil {
		return nil, fmt.Errorf("solo source: no node: %w", ErrBadConfig)
	}
	if cfg.PollInterval < 0 || cfg.RefreshInterval < 0 || cfg.CallTimeout < 0 {
		return nil, fmt.Errorf("solo source: negative interval: %w", ErrBadConfig)
	}
	if cfg.RefreshInterval > MaxRefreshInterval {
		return nil, fmt.Errorf("solo source: refresh interval %s over %s: %w", cfg.RefreshInterval, MaxRefreshInterval, ErrBadConfig)
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	return &Source{cfg: cfg, node: deps.Node, clock: deps.Clock, log: deps.Log, poke: make(chan struct{}, 1)}, nil
}

// templateRequest is getblocktemplate's parameter: the segwit rule
// (Bitcoin Core requires it) and the coinbasevalue capability (btcd
// leaves coinbasevalue out otherwise).
type templateRequest struct {
	Rules        []string `json:"rules"`
	Capabilities []string `json:"capabilities"`
}

func (s *Source) call(ctx context.Context, method string, params []any, result any) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	return s.node.Call(ctx, method, params, result)
}

// Fetch reads a new template from the node. It does not change Current.
func (s *Source) Fetch(ctx context.Context) (*Work, error) {
	var raw json.RawMessage
	req := templateRequest{Rules: []string{"segwit"}, Capabilities: []string{"coinbasevalue"}}
	if err := s.call(ctx, "getblocktemplate", []any{req}, &raw); err != nil {
		return nil, fmt.Errorf("solo: getblocktemplate: %w", err)
	}
	w, err := ParseWork(raw)
	if err != nil {
		return nil, fmt.Errorf("solo: getblocktemplate: %w", err)
	}
	w.Fetched = s.clock.Now()
	return w, nil
}

// BestBlockHash asks the node for its tip (display order hex).
func (s *Source) BestBlockHash(ctx context.Context) (string, error) {
	var h string
	if err := s.call(ctx, "getbestblockhash", nil, &h); err != nil {
		return "", fmt.Errorf("solo: getbestblockhash: %w", err)
	}
	return h, nil
}

// Current returns the latest template, or nil before the first fetch.
func (s *Source) Current() *Work {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Poke makes Run check the node now instead of at its next poll (for
// example right after a block was submitted). It never blocks.
func (s *Source) Poke() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// Step does one poll: it fetches a template when there is none yet, when
// the tip moved, or when the current one is older than RefreshInterval,
// and returns the update (nil when nothing was fetched).
func (s *Source) Step(ctx context.Context) (*Update, error) {
	cur := s.Current()
	newBlock := cur == nil
	if cur != nil {
		best, err := s.BestBlockHash(ctx)
		if err != nil {
			return nil, err
		}
		newBlock = best != cur.PrevHash.String()
		if !newBlock && s.clock.Now().Sub(cur.Fetched) < s.cfg.RefreshInterval {
			return nil, nil
		}
	}
	w, err := s.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	if cur != nil && w.PrevHash != cur.PrevHash {
		newBlock = true
	}
	s.mu.Lock()
	s.cur = w
	s.mu.Unlock()
	return &Update{Work: w, NewBlock: newBlock}, nil
}

// Run polls the node until ctx ends, sending every new template on out.
// Errors from the node are logged and retried at the next poll. It
// returns ctx's error.
func (s *Source) Run(ctx context.Context, out chan<- Update) error {
	for {
		u, err := s.Step(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			s.log.WarnContext(ctx, "solo: template poll failed", "err", err)
		case u != nil:
			s.log.DebugContext(ctx, "solo: new template", "height", u.Work.Height, "new_block", u.NewBlock, "transactions", len(u.Work.Transactions))
			select {
			case out <- *u:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		wait, cancel := context.WithCancel(ctx)
		woke := make(chan struct{})
		go func() { // ends when the sleep does: by time, poke or ctx
			defer close(woke)
			_ = s.clock.Sleep(wait, s.cfg.PollInterval)
		}()
		select {
		case <-woke:
		case <-s.poke:
		case <-ctx.Done():
		}
		cancel()
		<-woke
	}
}
