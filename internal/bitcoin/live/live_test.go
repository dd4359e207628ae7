package live_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/bitcoin/live"
	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/site"
)

// A Source is what the site loop takes.
var _ site.EconomicsSource = (*live.Source)(nil)

// fakeChain and fakePrice are in-memory fetchers whose answers a test sets.
type fakeChain struct {
	mu    sync.Mutex
	val   live.Chain
	err   error
	calls int
	gate  chan struct{} // when set, a fetch waits for it to close
}

func (f *fakeChain) FetchChain(context.Context) (live.Chain, error) {
	f.mu.Lock()
	f.calls++
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.val, f.err
}

func (f *fakeChain) setGate(g chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = g
}

func (f *fakeChain) set(v live.Chain, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.val, f.err = v, err
}

func (f *fakeChain) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeChain) String() string { return "fake chain" }

type fakePrice struct {
	mu    sync.Mutex
	val   live.Price
	err   error
	calls int
}

func (f *fakePrice) FetchPrice(context.Context) (live.Price, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.val, f.err
}

func (f *fakePrice) set(v live.Price, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.val, f.err = v, err
}

func (f *fakePrice) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakePrice) String() string { return "fake price" }

var (
	goodChain = live.Chain{TipHeight: 869_999, Difficulty: 90e12, FeesPerBlockBTC: 0.1}
	goodPrice = live.Price{USD: 65_000}
	// goodEcon is what goodChain and goodPrice make: bitcoin.DemoEconomics.
	goodEcon = bitcoin.Economics{Height: 870_000, Difficulty: 90e12, PriceUSD: 65_000, FeesPerBlockBTC: 0.1}
)

var errDown = errors.New("connection refused")

// TestStaleness walks a Source without Run (lazy refreshes) through a
// manual clock: values are refreshed when due, kept through failures while
// fresh, and refused with ErrStale once too old.
func TestStaleness(t *testing.T) {
	t0 := time.Date(2024, 11, 15, 12, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	chain, price := &fakeChain{val: goodChain}, &fakePrice{val: goodPrice}
	var logs bytes.Buffer
	src, err := live.NewSource(chain, price, live.Options{}, live.Deps{Clock: clk, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	higher := live.Chain{TipHeight: 870_100, Difficulty: 91e12, FeesPerBlockBTC: 0.2}

	steps := []struct {
		name                  string
		advance               time.Duration
		setup                 func()
		want                  bitcoin.Economics
		wantStale             []string // inputs named in the ErrStale error
		chainCalls, priceCall int      // total fetches after the step
	}{
		{name: "first call fetches both", want: goodEcon, chainCalls: 1, priceCall: 1},
		{name: "not due yet: from cache", advance: 30 * time.Second, want: goodEcon, chainCalls: 1, priceCall: 1},
		{name: "due: both refreshed", advance: 30 * time.Second, setup: func() { chain.set(higher, nil) },
			want: bitcoin.Economics{Height: 870_101, Difficulty: 91e12, PriceUSD: 65_000, FeesPerBlockBTC: 0.2}, chainCalls: 2, priceCall: 2},
		{name: "chain source down: last value kept", advance: time.Minute, setup: func() { chain.set(live.Chain{}, errDown) },
			want: bitcoin.Economics{Height: 870_101, Difficulty: 91e12, PriceUSD: 65_000, FeesPerBlockBTC: 0.2}, chainCalls: 3, priceCall: 3},
		{name: "retried after 30s, still within max age", advance: 29 * time.Minute,
			want: bitcoin.Economics{Height: 870_101, Difficulty: 91e12, PriceUSD: 65_000, FeesPerBlockBTC: 0.2}, chainCalls: 4, priceCall: 4},
		{name: "chain older than 30m: stale", advance: time.Minute, wantStale: []string{"chain from fake chain: 31m0s old, max age 30m0s", "last fetch: connection refused"}, chainCalls: 5, priceCall: 5},
		{name: "invalid values are not taken", advance: time.Minute, setup: func() { chain.set(live.Chain{TipHeight: 1, Difficulty: math.NaN()}, nil) },
			wantStale: []string{"chain from fake chain", "invalid value: difficulty NaN"}, chainCalls: 6, priceCall: 6},
		{name: "recovered", advance: time.Minute, setup: func() { chain.set(goodChain, nil) }, want: goodEcon, chainCalls: 7, priceCall: 7},
		{name: "price published long ago is stale when fetched", advance: time.Minute,
			setup:     func() { price.set(live.Price{USD: 66_000, Published: t0}, nil) },
			wantStale: []string{"price from fake price: 35m0s old, max age 15m0s"}, chainCalls: 8, priceCall: 8},
		{name: "price dated in the future counts from its fetch", advance: time.Minute,
			setup: func() { price.set(live.Price{USD: 67_000, Published: t0.Add(24 * time.Hour)}, nil) },
			want:  bitcoin.Economics{Height: 870_000, Difficulty: 90e12, PriceUSD: 67_000, FeesPerBlockBTC: 0.1}, chainCalls: 9, priceCall: 9},
		{name: "both down and stale", advance: time.Hour, setup: func() { chain.set(live.Chain{}, errDown); price.set(live.Price{}, errDown) },
			wantStale: []string{"chain from fake chain", "price from fake price"}, chainCalls: 10, priceCall: 10},
	}
	for _, st := range steps {
		clk.Advance(st.advance)
		if st.setup != nil {
			st.setup()
		}
		got, err := src.Economics(context.Background(), clk.Now())
		if st.wantStale != nil {
			if !errors.Is(err, live.ErrStale) {
				t.Fatalf("%s: Economics = %+v, %v; want ErrStale", st.name, got, err)
			}
			for _, s := range st.wantStale {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%s: error %q does not say %q", st.name, err, s)
				}
			}
		} else if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		} else if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("%s: economics (-want +got):\n%s", st.name, diff)
		}
		if c, p := chain.count(), price.count(); c != st.chainCalls || p != st.priceCall {
			t.Errorf("%s: %d chain and %d price fetches, want %d and %d", st.name, c, p, st.chainCalls, st.priceCall)
		}
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"bitcoin input refresh failed"); n != 3 {
		t.Errorf("logged %d refresh-failure warnings, want 3 (one per failing spell):\n%s", n, logs.String())
	}
}

func TestEconomicsAt(t *testing.T) {
	t0 := time.Date(2024, 11, 15, 12, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	src, err := live.NewSource(&fakeChain{val: goodChain}, &fakePrice{val: goodPrice}, live.Options{}, live.Deps{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		at        time.Time
		wantStale bool
	}{
		{name: "now", at: t0},
		{name: "an interval ago (settlement)", at: t0.Add(-15 * time.Minute)},
		{name: "within the price's max age ahead", at: t0.Add(15 * time.Minute)},
		{name: "past the price's max age ahead", at: t0.Add(16 * time.Minute), wantStale: true},
	}
	for _, tt := range tests {
		got, err := src.Economics(context.Background(), tt.at)
		if tt.wantStale {
			if !errors.Is(err, live.ErrStale) {
				t.Errorf("%s: Economics = %+v, %v; want ErrStale", tt.name, got, err)
			}
			continue
		}
		if err != nil || got != goodEcon {
			t.Errorf("%s: Economics = %+v, %v; want %+v", tt.name, got, err, goodEcon)
		}
	}
}

func TestNeverFetched(t *testing.T) {
	clk := clock.NewManual(time.Date(2024, 11, 15, 12, 0, 0, 0, time.UTC))
	src, err := live.NewSource(&fakeChain{err: errDown}, &fakePrice{val: goodPrice}, live.Options{}, live.Deps{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Economics(context.Background(), clk.Now())
	if !errors.Is(err, live.ErrStale) || !strings.Contains(err.Error(), "no value fetched yet") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Economics with a chain never fetched = %v, want ErrStale saying no value was fetched and why", err)
	}
	st := src.Status()
	if !errors.Is(st.ChainErr, errDown) || st.PriceErr != nil || st.Price.USD != goodPrice.USD {
		t.Errorf("Status = %+v", st)
	}
}

func TestCancelledContext(t *testing.T) {
	src, err := live.NewSource(&fakeChain{val: goodChain}, &fakePrice{val: goodPrice}, live.Options{}, live.Deps{Clock: clock.NewManual(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Economics(ctx, time.Now()); !errors.Is(err, context.Canceled) {
		t.Errorf("Economics on a cancelled context = %v, want context.Canceled", err)
	}
}

// TestRun runs the background refresh under testing/synctest with the
// real clock type: the bubble's fake time paces it.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chain, price := &fakeChain{val: goodChain}, &fakePrice{val: goodPrice}
		src, err := live.NewSource(chain, price, live.Options{ChainRefresh: 2 * time.Minute}, live.Deps{Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- src.Run(ctx) }()

		check := func(step string, wantChain, wantPrice int) {
			t.Helper()
			synctest.Wait() // Run is asleep until its next refresh
			if c, p := chain.count(), price.count(); c != wantChain || p != wantPrice {
				t.Errorf("%s: %d chain and %d price fetches, want %d and %d", step, c, p, wantChain, wantPrice)
			}
		}
		check("start", 1, 1)
		if got, err := src.Economics(ctx, time.Now()); err != nil || got != goodEcon {
			t.Errorf("Economics = %+v, %v; want %+v from the cache", got, err, goodEcon)
		}
		check("Economics between refreshes fetches nothing", 1, 1)
		time.Sleep(time.Minute)
		check("after 1m", 1, 2)
		time.Sleep(time.Minute)
		check("after 2m", 2, 3)

		price.set(live.Price{}, errDown)
		time.Sleep(time.Minute)
		check("price fails at 3m", 2, 4)
		time.Sleep(30 * time.Second)
		check("retried 30s later", 2, 5)
		price.set(goodPrice, nil)
		time.Sleep(30 * time.Second)
		check("recovered at 4m", 3, 6)

		cancel()
		synctest.Wait()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v when its context ended, want nil", err)
			}
		default:
			t.Error("Run did not return when its context ended")
		}
	})
}

// TestEconomicsDuringSlowFetch checks that Economics answers from a fresh
// cache without waiting for a fetch Run has under way, and waits for it
// when the cache has nothing usable.
func TestEconomicsDuringSlowFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chain, price := &fakeChain{val: goodChain}, &fakePrice{val: goodPrice}
		gate := make(chan struct{})
		chain.setGate(gate) // the very first chain fetch hangs
		src, err := live.NewSource(chain, price, live.Options{}, live.Deps{Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		runDone := make(chan struct{})
		go func() { _ = src.Run(ctx); close(runDone) }()
		synctest.Wait() // Run is inside the chain fetch

		got := make(chan error, 1)
		go func() {
			_, err := src.Economics(ctx, time.Now())
			got <- err
		}()
		synctest.Wait()
		select {
		case err := <-got:
			t.Fatalf("Economics returned %v with no chain value yet, want it to wait for the fetch under way", err)
		default:
		}
		chain.setGate(nil)
		close(gate)
		synctest.Wait()
		if err := <-got; err != nil {
			t.Fatalf("Economics after the first fetch: %v", err)
		}

		// Next refresh hangs too; the cached chain is fresh, so Economics
		// answers at once (if it waited, synctest would report a deadlock).
		gate = make(chan struct{})
		chain.setGate(gate)
		chain.set(live.Chain{TipHeight: 870_100, Difficulty: 91e12}, nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		if e, err := src.Economics(ctx, time.Now()); err != nil || e != goodEcon {
			t.Errorf("Economics during a hung refresh = %+v, %v; want the cached %+v", e, err, goodEcon)
		}
		close(gate)
		cancel()
		<-runDone
	})
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opt     live.Options
		wantErr string
	}{
		{name: "defaults", opt: live.Options{}},
		{name: "custom", opt: live.Options{ChainRefresh: 5 * time.Minute, ChainMaxAge: time.Hour, PriceRefresh: 30 * time.Second, PriceMaxAge: 5 * time.Minute}},
		{name: "refresh not shorter than max age", opt: live.Options{PriceRefresh: 15 * time.Minute}, wantErr: "price: refresh 15m0s must be shorter than max_age 15m0s"},
		{name: "max age below default refresh", opt: live.Options{ChainMaxAge: 30 * time.Second}, wantErr: "chain: refresh"},
		{name: "negative", opt: live.Options{ChainRefresh: -time.Second}, wantErr: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opt.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestConcurrentUse exercises Economics from several goroutines while Run
// refreshes, for the race detector.
func TestConcurrentUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src, err := live.NewSource(&fakeChain{val: goodChain}, &fakePrice{val: goodPrice}, live.Options{ChainRefresh: time.Second, PriceRefresh: time.Second}, live.Deps{Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = src.Run(ctx) })
		for range 4 {
			wg.Go(func() {
				for range 50 {
					if _, err := src.Economics(ctx, time.Now()); err != nil {
						t.Error(err)
						return
					}
					time.Sleep(300 * time.Millisecond)
				}
			})
		}
		time.Sleep(time.Minute)
		cancel()
		wg.Wait()
	})
}
