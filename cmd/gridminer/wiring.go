package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/bitcoin/live"
	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/config"
	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/fleet"
	"github.com/gridminer/gridminer/internal/httpapi"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/price/ercot"
	"github.com/gridminer/gridminer/internal/price/synthetic"
	"github.com/gridminer/gridminer/internal/site"
	"github.com/gridminer/gridminer/internal/store/sqlite"
)

// controller is a site built from a config, ready to run.
type controller struct {
	site  *site.Site
	store *sqlite.Store
	grid  *gridParts
	// runners are input feeds that refresh beside the loop.
	runners []func(context.Context) error
	http    *http.Server
	ln      net.Listener
	log     *slog.Logger
}

// hooks are what the terminal (demo, run) shows as it happens.
type hooks struct {
	settle func(site.Settlement)
	trip   func(site.TripEvent)
}

// buildController turns a validated config into running parts. It dials
// every miner once to learn its capabilities; miners that cannot be reached
// are still controlled (as offline until they answer) with capabilities
// left empty, and reported in the returned warnings count. extraDemand
// adds demand sources beyond the config's (the demo's VEN).
func buildController(ctx context.Context, cfg *config.File, clk clock.Clock, log *slog.Logger, h hooks, extraDemand ...demand.Source) (*controller, error) {
	inv, err := buildFleet(ctx, cfg, clk, log)
	if err != nil {
		return nil, err
	}
	prices, err := buildPrices(cfg, clk, log)
	if err != nil {
		return nil, err
	}
	econ, econRun, err := buildEconomics(cfg, clk, log)
	if err != nil {
		return nil, err
	}
	policy, err := dispatch.New(cfg.Policy.Type, cfg.Policy.DispatchConfig())
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	var ct *contract.Contract
	if !config.IsZeroContract(cfg.Contract) {
		c := cfg.Contract
		ct = &c
	}
	st, err := sqlite.Open(ctx, cfg.Store.Path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	readings := &siteReadings{}
	grid, err := buildGrid(cfg, clk, log, st, readings, extraDemand...)
	if err != nil {
		st.Close()
		return nil, err
	}
	onStale, _ := site.ParseFailSafe(cfg.Site.OnStalePrice)
	onStop, _ := site.ParseFailSafe(cfg.Site.OnStop)
	s, err := site.New(site.Config{
		Name:           cfg.Site.Name,
		Interval:       cfg.Site.Interval.D(),
		PollEvery:      cfg.Poll.Every.D(),
		TelemetryEvery: cfg.Poll.Telemetry.D(),
		StaleAfter:     cfg.Poll.StaleAfter.D(),
		SiteCap:        energy.Power(cfg.Site.ImportCapKW * 1e3),
		OnStalePrice:   onStale,
		OnStop:         onStop,
		Contract:       ct,
		Overhead:       energy.Power(cfg.Site.OverheadWPerMachine),
		MeterBase:      energy.Power(cfg.Meter.BaseKW * 1e3),
		MeterTolerance: energy.Power(cfg.Meter.ToleranceKW * 1e3),
		Trip:           grid.trip,
		Tiers:          tiers(cfg),
		EventCredit:    cfg.Demand.CreditUSDPerMWh,
		BaselineWindow: cfg.Demand.BaselineWindow.D(),
		Poll:           fleet.PollConfig{Concurrency: cfg.Poll.Concurrency, Timeout: maxTimeout(cfg)},
		Exec: fleet.ExecConfig{
			Concurrency: cfg.Execute.Concurrency,
			Retries:     cfg.Execute.Retries,
			Backoff:     cfg.Execute.Backoff.D(),
			Timeout:     cfg.Execute.Timeout.D(),
			Verify:      true,
		},
	}, site.Deps{
		Clock: clk, Logger: log, Fleet: inv, Policy: policy, Prices: prices,
		Bitcoin: econ, Store: st, OnSettle: h.settle, OnTrip: h.trip,
		Forecast: forecastFor(cfg, prices), PeakRisk: peakRiskFor(cfg), Deployments: deploymentsFor(cfg, log),
		Demand: grid.demand, Meter: grid.read, Relay: grid.relay,
	})
	if err != nil {
		st.Close()
		grid.close()
		return nil, err
	}
	readings.site, readings.set = s, grid.demand
	c := &controller{site: s, store: st, log: log, grid: grid}
	if econRun != nil {
		c.runners = append(c.runners, econRun)
	}
	px, err := buildProxy(cfg, clk, log)
	if err != nil {
		st.Close()
		grid.close()
		return nil, err
	}
	fleetAPI := &httpapi.Fleet{Miners: s.Miners}
	if px != nil {
		c.runners = append(c.runners, px.Run)
		fleetAPI.Measured = measuredByHost(px)
	}
	if cfg.HTTP.Listen != "off" {
		ln, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			st.Close()
			grid.close()
			return nil, fmt.Errorf("http: listen on %s: %w (use --http to pick another address)", cfg.HTTP.Listen, err)
		}
		c.ln = ln
		api := httpapi.New(s, log,
			httpapi.WithGrid(&httpapi.Grid{Events: grid.demand.Events, Calls: grid.manual, Objects: st.Objects, Now: clk.Now}),
			httpapi.WithFleet(fleetAPI))
		c.http = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	}
	return c, nil
}

// run runs the loop and the API until ctx ends, then stops the loop (which
// leaves miners in the configured state), the API, and closes the store.
func (c *controller) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.site.Run(gctx) })
	for _, r := range c.runners {
		g.Go(func() error { return r(gctx) })
	}
	if c.http != nil {
		g.Go(func() error {
			if err := c.http.Serve(c.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("http: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return c.http.Shutdown(sctx)
		})
	}
	err := g.Wait()
	c.grid.close()
	if cerr := c.store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("store: close: %w", cerr)
	}
	return err
}

func maxTimeout(cfg *config.File) time.Duration {
	var d time.Duration
	for _, m := range cfg.Miners {
		if m.Timeout.D() > d {
			d = m.Timeout.D()
		}
	}
	return d
}

// buildFleet creates a driver per configured machine, reading each one's
// capabilities concurrently. A machine that does not answer is still
// controlled: its driver is created when it first answers, and until then
// it counts as offline and is left out of plans.
func buildFleet(ctx context.Context, cfg *config.File, clk clock.Clock, log *slog.Logger) (*fleet.Inventory, error) {
	type job struct {
		driver string
		opts   driverOpts
	}
	var jobs []job
	for i, g := range cfg.Miners {
		addrs, err := g.Addrs()
		if err != nil {
			return nil, err
		}
		password, err := g.Password()
		if err != nil {
			return nil, fmt.Errorf("config: miners[%d].%w", i, err)
		}
		for _, a := range addrs {
			jobs = append(jobs, job{g.Driver, driverOpts{Addr: a, User: g.User, Password: password,
				WebPort: g.WebPort, GRPCPort: g.GRPCPort, V3Port: g.V3Port, Timeout: g.Timeout.D()}})
		}
	}
	registry := drivers()
	members := make([]fleet.Member, len(jobs))
	errs := make([]error, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(64)
	for i, j := range jobs {
		entry, ok := registry[j.driver]
		if !ok {
			return nil, fmt.Errorf("miner %s: driver %q is not built into this binary (have: %s)", j.opts.Addr, j.driver, driverNames())
		}
		g.Go(func() error {
			m, err := fleet.Lazy(gctx, j.opts.Addr, func(ctx context.Context) (miner.Miner, error) {
				cctx, cancel := context.WithTimeout(ctx, j.opts.Timeout)
				defer cancel()
				return entry.New(cctx, j.opts, clk, log)
			})
			errs[i] = err
			members[i] = fleet.Member{ID: j.opts.Addr, Miner: m}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	down := 0
	for i, err := range errs {
		if err != nil {
			down++
			if down <= 5 {
				log.Warn("miner did not answer at start; controlling it as offline until it does", "miner", jobs[i].opts.Addr, "err", err)
			}
		}
	}
	if down > 0 {
		log.Warn("miners unreachable at start", "count", down, "of", len(jobs))
	}
	return fleet.NewInventory(members)
}

func buildPrices(cfg *config.File, clk clock.Clock, log *slog.Logger) (price.Source, error) {
	switch cfg.Price.Type {
	case "ercot-api", "http":
		return livePrices(cfg, clk, log)
	case "synthetic":
		g, err := synthetic.New(synthetic.DefaultParams(), cfg.Price.Seed)
		if err != nil {
			return nil, fmt.Errorf("price: %w", err)
		}
		return g, nil
	case "ercot-csv":
		s, err := ercot.OpenSPP(cfg.Price.Path, cfg.Price.Point)
		if err != nil {
			return nil, fmt.Errorf("price: %w", err)
		}
		return price.NewStatic(s)
	}
	return nil, fmt.Errorf("price: unknown type %q", cfg.Price.Type)
}

func buildEconomics(cfg *config.File, clk clock.Clock, log *slog.Logger) (site.EconomicsSource, func(context.Context) error, error) {
	if cfg.Bitcoin.Type == "live" {
		src, err := live.New(*cfg.Bitcoin.Live, live.Deps{Clock: clk, Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("bitcoin: %w", err)
		}
		return src, src.Run, nil
	}
	e, err := offlineEconomics(cfg)
	return e, nil, err
}

func offlineEconomics(cfg *config.File) (site.EconomicsSource, error) {
	if cfg.Bitcoin.Type == "daily" {
		f, err := os.Open(cfg.Bitcoin.Path)
		if err != nil {
			return nil, fmt.Errorf("bitcoin: %w", err)
		}
		defer f.Close()
		days, err := bitcoin.ReadDaily(f, cfg.Bitcoin.Path)
		if err != nil {
			return nil, fmt.Errorf("bitcoin: %w", err)
		}
		return dailyEconomics(days), nil
	}
	e := bitcoin.DemoEconomics()
	if cfg.Bitcoin.Type == "static" {
		e = bitcoin.Economics{Height: cfg.Bitcoin.Height, Difficulty: cfg.Bitcoin.Difficulty, PriceUSD: cfg.Bitcoin.PriceUSD, FeesPerBlockBTC: cfg.Bitcoin.FeesPerBlockBTC}
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("bitcoin: %w", err)
	}
	return site.StaticEconomics(e), nil
}
