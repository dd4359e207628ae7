// Package live supplies current Bitcoin network economics to the live
// controller (`gridminer run`): a site.EconomicsSource whose height,
// difficulty and fees come from a full node (package node, JSON-RPC) or a
// mempool.space-style explorer (package mempoolapi), and whose BTC price
// comes from an HTTP JSON price feed (package pricefeed).
//
// # Freshness
//
// The two inputs, chain (height, difficulty, fees) and price, are cached
// separately, each stamped with the time it was fetched on the injected
// clock; a price also keeps the time its source says it is for, and its
// age counts from the earlier of the two. Economics never returns an old
// value silently: when an input is older than its MaxAge (default 30
// minutes for chain data, 15 for the price), or was never fetched, it
// returns an error wrapping ErrStale that names the input, its age and the
// last fetch error. A fetched value that fails validation (difficulty or
// price not finite and positive, say) counts as a failed fetch and never
// replaces the cached one.
//
// # Refreshing
//
// Each input is due for a refresh Refresh after its last good fetch
// (default one minute), or 30 seconds (Refresh if shorter) after a failed
// attempt. Run refreshes due inputs in the background, sleeping on the
// injected clock between rounds; run it in the errgroup next to the site
// so that Economics normally answers from the cache without network I/O.
// Without Run the source works lazily: Economics fetches the inputs that
// are due before answering (each fetch bounded by its driver's timeout and
// by ctx). Either way fetches of one input never overlap: Economics waits
// for a fetch already under way (Run's, say) only when it has no usable
// value of that input, so with Run going it answers at once from a fresh
// cache. A failed refresh leaves the last good value in use until it turns
// stale.
//
// # What the site does with ErrStale
//
// internal/site treats any Economics error the same way today: it logs it
// and skips planning the interval, so every machine holds its current
// setpoint (the `hold` fail-safe), whatever site.on_stale_price says; an
// interval whose settlement meets the error stays pending and is settled
// on a later try, with the values current then. Applying a configured
// `sleep` or `run` on stale economics needs internal/site to branch on
// errors.Is(err, live.ErrStale).
//
// The package has no history: Economics returns the newest values whatever
// time it is asked about, and uses that time only to judge staleness (the
// later of the clock and at). It does not decide anything from the
// economics; that is internal/dispatch.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/clock"
)

// ErrStale is wrapped by Economics errors when an input is older than its
// maximum age or was never fetched.
var ErrStale = errors.New("bitcoin input is stale")

// Defaults of Options (and of the YAML refresh and max_age keys).
const (
	DefaultChainRefresh = time.Minute
	DefaultChainMaxAge  = 30 * time.Minute
	DefaultPriceRefresh = time.Minute
	DefaultPriceMaxAge  = 15 * time.Minute
	// maxRetry bounds how long a failed input waits before the next try.
	maxRetry = 30 * time.Second
)

// Chain is the chain state one fetch read.
type Chain struct {
	TipHeight  int64   // height of the best block; mining now earns block TipHeight+1's subsidy
	Difficulty float64 // network difficulty
	// FeesPerBlockBTC is the mean transaction fees per block; FeeBlocks
	// is how many blocks the mean covers (0: the expected fees of the
	// next block, from a block template).
	FeesPerBlockBTC float64
	FeeBlocks       int
	// At is when the value was fetched, on the Source's clock; set by
	// the Source, not the fetcher.
	At time.Time
}

func (c Chain) validate() error {
	switch {
	case c.TipHeight < 0:
		return fmt.Errorf("tip height %d is negative", c.TipHeight)
	case !(c.Difficulty > 0) || math.IsInf(c.Difficulty, 0):
		return fmt.Errorf("difficulty %v must be finite and positive", c.Difficulty)
	case !(c.FeesPerBlockBTC >= 0) || math.IsInf(c.FeesPerBlockBTC, 0):
		return fmt.Errorf("fees per block %v BTC must be finite and not negative", c.FeesPerBlockBTC)
	}
	return nil
}

// Price is the BTC price one fetch read.
type Price struct {
	USD float64 // BTC price in US dollars
	// Published is when the source says the price is for; zero when it
	// does not say.
	Published time.Time
	// At is when the value was fetched, on the Source's clock; set by
	// the Source, not the fetcher.
	At time.Time
}

// AsOf returns the time p describes: the earlier of Published (when
// known) and At, so that a source serving an old price is judged by its
// own time and a source clock running ahead cannot make a price younger.
func (p Price) AsOf() time.Time {
	if !p.Published.IsZero() && p.Published.Before(p.At) {
		return p.Published
	}
	return p.At
}

func (p Price) validate() error {
	if !(p.USD > 0) || math.IsInf(p.USD, 0) {
		return fmt.Errorf("price %v USD must be finite and positive", p.USD)
	}
	return nil
}

// ChainFetcher reads the current chain state (a node or an explorer).
type ChainFetcher interface {
	FetchChain(ctx context.Context) (Chain, error)
}

// PriceFetcher reads the current BTC price.
type PriceFetcher interface {
	FetchPrice(ctx context.Context) (Price, error)
}

// Options are the refresh intervals and maximum ages of the two inputs;
// zero fields take the defaults. A Refresh must be shorter than its
// MaxAge, or values would go stale before being refreshed.
type Options struct {
	ChainRefresh, ChainMaxAge time.Duration
	PriceRefresh, PriceMaxAge time.Duration
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.ChainRefresh, DefaultChainRefresh)
	def(&o.ChainMaxAge, DefaultChainMaxAge)
	def(&o.PriceRefresh, DefaultPriceRefresh)
	def(&o.PriceMaxAge, DefaultPriceMaxAge)
	return o
}

// Validate checks o after defaults are applied.
func (o Options) Validate() error {
	o = o.withDefaults()
	for _, c := range []struct {
		name            string
		refresh, maxAge time.Duration
	}{
		{"chain", o.ChainRefresh, o.ChainMaxAge},
		{"price", o.PriceRefresh, o.PriceMaxAge},
	} {
		switch {
		case c.refresh < 0 || c.maxAge < 0:
			return fmt.Errorf("%s: refresh %s and max_age %s must not be negative", c.name, c.refresh, c.maxAge)
		case c.refresh >= c.maxAge:
			return fmt.Errorf("%s: refresh %s must be shorter than max_age %s", c.name, c.refresh, c.maxAge)
		}
	}
	return nil
}

// Deps are the Source's injected dependencies.
type Deps struct {
	// Clock stamps fetches, judges staleness and paces Run (default the
	// wall clock). Network deadlines stay on wall time.
	Clock  clock.Clock
	Logger *slog.Logger // optional
	// HTTP is the client New gives the drivers (default: a new
	// http.Client); their own timeouts bound each request.
	HTTP *http.Client
}

// Source is a site.EconomicsSource from live inputs. It is safe for
// concurrent use.
type Source struct {
	clk   clock.Clock
	log   *slog.Logger
	chain *input[Chain]
	price *input[Price]
}

// NewSource returns a Source over the two fetchers. A fetcher that
// implements fmt.Stringer is named by it in logs and errors.
func NewSource(chain ChainFetcher, price PriceFetcher, opt Options, deps Deps) (*Source, error) {
	if chain == nil || price == nil {
		return nil, errors.New("live bitcoin: a chain and a price fetcher are required")
	}
	if err := opt.Validate(); err != nil {
		return nil, fmt.Errorf("live bitcoin: %w", err)
	}
	opt = opt.withDefaults()
	s := &Source{clk: deps.Clock, log: deps.Logger}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.chain = &input[Chain]{
		name: "chain", source: describe(chain), refresh: opt.ChainRefresh, maxAge: opt.ChainMaxAge, clk: s.clk, log: s.log,
		fetch: func(ctx context.Context) (Chain, error) {
			c, err := chain.FetchChain(ctx)
			c.At = s.clk.Now()
			return c, err
		},
		check: Chain.validate,
		asOf:  func(c Chain) time.Time { return c.At },
		lock:  make(chan struct{}, 1),
	}
	s.price = &input[Price]{
		name: "price", source: describe(price), refresh: opt.PriceRefresh, maxAge: opt.PriceMaxAge, clk: s.clk, log: s.log,
		fetch: func(ctx context.Context) (Price, error) {
			p, err := price.FetchPrice(ctx)
			p.At = s.clk.Now()
			return p, err
		},
		check: Price.validate,
		asOf:  Price.AsOf,
		lock:  make(chan struct{}, 1),
	}
	return s, nil
}

func describe(v any) string {
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", v)
}

// Economics returns the economics in force: Height is the next block's
// (tip + 1), so its subsidy is what mining earns now. It first refreshes
// inputs that are due (see the package doc), then fails with an error
// wrapping ErrStale if either input is older than its maximum age at the
// later of the clock and at. The result passes bitcoin.Economics.Validate.
func (s *Source) Economics(ctx context.Context, at time.Time) (bitcoin.Economics, error) {
	s.refreshDue(ctx, false)
	if err := ctx.Err(); err != nil {
		return bitcoin.Economics{}, err
	}
	ref := s.clk.Now()
	if at.After(ref) {
		ref = at
	}
	c, cerr := s.chain.fresh(ref)
	p, perr := s.price.fresh(ref)
	switch {
	case cerr != nil && perr != nil:
		return bitcoin.Economics{}, fmt.Errorf("live bitcoin: %w; %w", cerr, perr)
	case cerr != nil:
		return bitcoin.Economics{}, fmt.Errorf("live bitcoin: %w", cerr)
	case perr != nil:
		return bitcoin.Economics{}, fmt.Errorf("live bitcoin: %w", perr)
	}
	e := bitcoin.Economics{Height: c.TipHeight + 1, Difficulty: c.Difficulty, PriceUSD: p.USD, FeesPerBlockBTC: c.FeesPerBlockBTC}
	if err := e.Validate(); err != nil {
		return bitcoin.Economics{}, fmt.Errorf("live bitcoin: %w", err)
	}
	return e, nil
}

// Run refreshes the inputs as they fall due until ctx ends, then returns
// nil. Fetch failures are logged (a warning when an input starts failing,
// then debug until it recovers) and retried.
func (s *Source) Run(ctx context.Context) error {
	for {
		s.refreshDue(ctx, true)
		next := s.chain.nextDue()
		if p := s.price.nextDue(); p.Before(next) {
			next = p
		}
		if err := clock.SleepUntil(ctx, s.clk, next); err != nil {
			return nil
		}
	}
}

// refreshDue refreshes the due inputs, concurrently, and waits for them.
// When another fetch of an input is under way, Run (always) waits for it
// and Economics waits only if the cached value is unusable: an Economics
// call never blocks on Run's fetch while it has a fresh value to answer
// with.
func (s *Source) refreshDue(ctx context.Context, always bool) {
	now := s.clk.Now()
	var wg sync.WaitGroup
	if s.chain.due(now) {
		wait := always || !s.chain.usable(now)
		wg.Go(func() { _ = s.chain.update(ctx, wait) })
	}
	if s.price.due(now) {
		wait := always || !s.price.usable(now)
		wg.Go(func() { _ = s.price.update(ctx, wait) })
	}
	wg.Wait()
}

// Status is what a Source holds: the last good value of each input (zero
// when none yet) and the error of its last fetch attempt (nil after a
// success).
type Status struct {
	Chain    Chain
	ChainErr error
	Price    Price
	PriceErr error
}

// Status returns the cached inputs, for status pages and logs; it does no
// I/O and does not judge staleness.
func (s *Source) Status() Status {
	var st Status
	st.Chain, st.ChainErr = s.chain.last()
	st.Price, st.PriceErr = s.price.last()
	return st
}

// input is one cached, separately refreshed input.
type input[T any] struct {
	name, source    string
	refresh, maxAge time.Duration
	clk             clock.Clock
	log             *slog.Logger
	fetch           func(context.Context) (T, error)
	check           func(T) error
	asOf            func(T) time.Time
	lock            chan struct{} // held while fetching: a mutex that gives up with ctx

	mu       sync.Mutex
	val      T
	have     bool
	fetched  time.Time // clock time of the last good fetch
	tried    time.Time // clock time of the last attempt
	lastErr  error     // error of the last attempt, nil after a success
	failures int       // consecutive failed attempts
}

func (in *input[T]) retry() time.Duration { return min(in.refresh, maxRetry) }

// due reports whether the input should be fetched at now.
func (in *input[T]) due(now time.Time) bool {
	return !now.Before(in.nextDue())
}

// nextDue returns when the input falls due (the zero time: now).
func (in *input[T]) nextDue() time.Time {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.lastErr != nil:
		return in.tried.Add(in.retry())
	case !in.have:
		return time.Time{}
	}
	return in.fetched.Add(in.refresh)
}

// update fetches the input if it is still due once no other fetch of it
// is running; with wait false it returns at once when another fetch is.
func (in *input[T]) update(ctx context.Context, wait bool) error {
	if wait {
		select {
		case in.lock <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	} else {
		select {
		case in.lock <- struct{}{}:
		default:
			return nil
		}
	}
	defer func() { <-in.lock }()
	if !in.due(in.clk.Now()) { // another caller fetched it meanwhile
		return nil
	}
	v, err := in.fetch(ctx)
	if err == nil {
		if cerr := in.check(v); cerr != nil {
			err = fmt.Errorf("%s fetched an invalid value: %w", in.source, cerr)
		}
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // shutting down, not a failing source
	}
	now := in.clk.Now()
	in.mu.Lock()
	in.tried = now
	if err != nil {
		in.lastErr = err
		in.failures++
		failures, have, asOf := in.failures, in.have, in.asOf(in.val)
		in.mu.Unlock()
		attrs := []any{"input", in.name, "source", in.source, "err", err, "failures", failures}
		if have {
			attrs = append(attrs, "age", now.Sub(asOf), "max_age", in.maxAge)
		}
		if failures == 1 {
			in.log.Warn("bitcoin input refresh failed; keeping the last value until it is stale", attrs...)
		} else {
			in.log.Debug("bitcoin input refresh failed again", attrs...)
		}
		return err
	}
	recovered := in.failures
	in.val, in.have, in.fetched, in.lastErr, in.failures = v, true, now, nil, 0
	in.mu.Unlock()
	if recovered > 0 {
		in.log.Info("bitcoin input refresh recovered", "input", in.name, "source", in.source, "after_failures", recovered)
	}
	return nil
}

// usable reports whether a cached value is within its maximum age at now.
func (in *input[T]) usable(now time.Time) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.have && now.Sub(in.asOf(in.val)) <= in.maxAge
}

// fresh returns the cached value if it is no older than maxAge at ref, or
// an error wrapping ErrStale.
func (in *input[T]) fresh(ref time.Time) (T, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	var zero T
	last := ""
	if in.lastErr != nil {
		last = fmt.Sprintf(" (last fetch: %v)", in.lastErr)
	}
	if !in.have {
		return zero, fmt.Errorf("%s from %s: no value fetched yet: %w%s", in.name, in.source, ErrStale, last)
	}
	if age := ref.Sub(in.asOf(in.val)); age > in.maxAge {
		return zero, fmt.Errorf("%s from %s: %s old, max age %s: %w%s", in.name, in.source, age.Round(time.Second), in.maxAge, ErrStale, last)
	}
	return in.val, nil
}

func (in *input[T]) last() (T, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.val, in.lastErr
}
