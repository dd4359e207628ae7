package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/config"
	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/demand/ercotgrid"
	"github.com/gridminer/gridminer/internal/demand/manual"
	"github.com/gridminer/gridminer/internal/demand/openadr3"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/meter"
	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/price/ercotapi"
	"github.com/gridminer/gridminer/internal/price/httpprice"
	"github.com/gridminer/gridminer/internal/site"
	"github.com/gridminer/gridminer/internal/store"
)

// gridParts are the grid-signal parts of a site: the meter (and its relay
// output), the under-frequency trip and the demand-event sources.
type gridParts struct {
	meter  *meter.Meter
	read   func(ctx context.Context) (site.MeterSample, error)
	relay  func(ctx context.Context, open bool) error
	trip   *site.TripConfig
	demand *demand.Set
	manual *manual.Source
	close  func()
}

// buildGrid builds what cfg's meter:, ufr: and demand: sections name, plus
// any extra demand sources. The VEN keeps its event lifecycle in st and
// reports what readings give.
func buildGrid(cfg *config.File, clk clock.Clock, log *slog.Logger, st store.Store, readings openadr3.Readings, extra ...demand.Source) (*gridParts, error) {
	g := &gridParts{close: func() {}}
	if o := cfg.Demand.OpenADR3; o != nil {
		secret, err := readSecret(o.ClientSecretEnv, o.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("demand: openadr3: %w", err)
		}
		vc := openadr3.VENConfig{BaseURL: o.URL, Version: openadr3.V310, ClientID: o.ClientID, ClientSecret: secret, VENName: o.VENName,
			ProgramNames: o.Programs, PollEvery: o.Poll.D()}
		if o.Version == "3.0.1" {
			vc.Version = openadr3.V301
		}
		if o.WebhookListen != "" {
			vc.Webhook = &openadr3.WebhookConfig{Listen: o.WebhookListen, CallbackURL: o.CallbackURL}
		}
		ven, err := openadr3.NewVEN(vc, openadr3.VENDeps{Store: st, Readings: readings, Clock: clk, Log: log})
		if err != nil {
			return nil, fmt.Errorf("demand: openadr3: %w", err)
		}
		extra = append(extra, ven)
	}
	if cfg.Meter.Type == "modbus" {
		m, err := meter.New(cfg.Meter.Driver(), meter.WithClock(clk), meter.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("meter: %w", err)
		}
		g.meter = m
		g.close = func() { m.Close() }
		g.read = meterReader(m)
		if c := cfg.UFR.RelayCoil; c != nil {
			coil := uint16(*c)
			g.relay = func(ctx context.Context, open bool) error { return m.SetCoil(ctx, coil, open) }
		}
	}
	if u := cfg.UFR; u.Enabled {
		g.trip = &site.TripConfig{Below: u.BelowHz, For: u.For.D(), Restore: u.RestoreHz, RestoreAfter: u.RestoreAfter.D(),
			SampleEvery: u.SampleEvery.D(), Shed: energy.Power(u.ShedMW * 1e6)}
	}
	sources := append([]demand.Source(nil), extra...)
	ms, err := manual.New(manual.Config{Path: cfg.Demand.ManualFile}, manual.Deps{Clock: clk, Logger: log})
	if err != nil {
		g.close()
		return nil, fmt.Errorf("demand: manual calls: %w", err)
	}
	g.manual = ms
	sources = append(sources, ms)
	if e := cfg.Demand.ERCOTGrid; e != nil {
		gc := ercotgrid.Config{URL: e.URL, Interval: e.Every.D()}
		if len(e.EEALevels) > 0 {
			gc.Conditions = map[ercotgrid.Condition]ercotgrid.Action{}
			for i, lvl := range e.EEALevels {
				gc.Conditions[[]ercotgrid.Condition{ercotgrid.EEA1, ercotgrid.EEA2, ercotgrid.EEA3}[i]] = ercotgrid.Action{Kind: demand.Level, Level: lvl}
			}
		}
		src, err := ercotgrid.New(gc, ercotgrid.Deps{Clock: clk, Logger: log})
		if err != nil {
			g.close()
			return nil, fmt.Errorf("demand: ercot_grid: %w", err)
		}
		sources = append(sources, src)
	}
	g.demand = demand.NewSet(log, sources...)
	return g, nil
}

// meterReader reads m as the site's meter samples (a Meter is safe for
// the loop and the trip to share).
func meterReader(m *meter.Meter) func(ctx context.Context) (site.MeterSample, error) {
	return func(ctx context.Context) (site.MeterSample, error) {
		r, err := m.Read(ctx)
		if err != nil {
			return site.MeterSample{}, err
		}
		return site.MeterSample{Time: r.Time, Import: r.Import, Frequency: r.Frequency, HasFrequency: r.HasFrequency}, nil
	}
}

// tiers are the site's SIMPLE tiers from demand.tiers_mw (nil: defaults).
func tiers(cfg *config.File) demand.Tiers {
	var t demand.Tiers
	for _, mw := range cfg.Demand.TiersMW {
		t = append(t, energy.Power(mw*1e6))
	}
	return t
}

// livePrices builds the live price sources (ercot-api, http).
func livePrices(cfg *config.File, clk clock.Clock, log *slog.Logger) (price.Source, error) {
	switch cfg.Price.Type {
	case "ercot-api":
		a := cfg.Price.ERCOTAPI
		env := func(name string) (string, error) {
			v, ok := os.LookupEnv(name)
			if !ok || v == "" {
				return "", fmt.Errorf("price: ercot_api: environment variable %s is not set", name)
			}
			return v, nil
		}
		user, err := env(a.UsernameEnv)
		if err != nil {
			return nil, err
		}
		pass, err := env(a.PasswordEnv)
		if err != nil {
			return nil, err
		}
		key, err := env(a.SubscriptionKeyEnv)
		if err != nil {
			return nil, err
		}
		c, err := ercotapi.NewClient(ercotapi.Config{BaseURL: a.BaseURL, Username: user, Password: pass, SubscriptionKey: key},
			ercotapi.Deps{Clock: clk, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("price: %w", err)
		}
		if a.Product == "lmp5" {
			return ercotapi.NewLMP5(c, cfg.Price.Point, ercotapi.Options{})
		}
		return ercotapi.NewRealTimeSPP(c, cfg.Price.Point, ercotapi.Options{})
	case "http":
		h := cfg.Price.HTTP
		headers := map[string]string{}
		for k, name := range h.HeadersEnv {
			v, ok := os.LookupEnv(name)
			if !ok {
				return nil, fmt.Errorf("price: http: headers_env %s: environment variable %s is not set", k, name)
			}
			headers[k] = v
		}
		return httpprice.New(httpprice.Config{URL: h.URL, Format: h.Format, Items: h.Items, Start: h.Start, End: h.End, Price: h.Price,
			Interval: h.Interval.D(), TimeFormat: h.TimeFormat, TimeZone: h.TimeZone, Unit: h.Unit, Headers: headers, TTL: h.TTL.D()},
			httpprice.Deps{Clock: clk, Logger: log})
	}
	return nil, fmt.Errorf("price: unknown type %q", cfg.Price.Type)
}

// siteReadings reports the site's usage to the VEN: energy and demand from
// the settled ledger, and the baseline of the earliest event in force.
type siteReadings struct {
	site *site.Site
	set  *demand.Set
}

func (r *siteReadings) Usage(ctx context.Context, from, to time.Time) (openadr3.Usage, error) {
	if r.site == nil {
		return openadr3.Usage{}, fmt.Errorf("site not running")
	}
	u, err := r.site.Usage(ctx, from, to)
	if err != nil {
		return openadr3.Usage{}, err
	}
	start := from
	if r.set != nil {
		for _, e := range r.set.Events() {
			if e.In(from) && e.Start.Before(start) {
				start = e.Start
			}
		}
	}
	base, err := r.site.Baseline(ctx, start)
	if err != nil {
		return openadr3.Usage{}, err
	}
	return openadr3.Usage{Energy: u.Energy, Demand: u.Demand, Baseline: base, OK: u.Covered >= to.Sub(from)*9/10}, nil
}
