// Package httpapi serves gridminer's versioned JSON API under /api/v1.
//
// It serves the site status and the grid's view (events in force, the
// meter, under-frequency trips, event credits) and takes operator
// curtailment calls; it holds no state of its own. It does not yet
// authenticate (bind it to loopback).
package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/site"
)

// StatusSource is what the API reads the site state from.
type StatusSource interface{ Snapshot() site.Snapshot }

// Option adds endpoints to the API.
type Option func(mux *http.ServeMux, src StatusSource, log *slog.Logger)

// WithGrid adds the grid endpoints.
func WithGrid(g *Grid) Option {
	return func(mux *http.ServeMux, src StatusSource, log *slog.Logger) { g.routes(mux, src, log) }
}

// WithFleet adds GET /api/v1/miners.
func WithFleet(f *Fleet) Option {
	return func(mux *http.ServeMux, _ StatusSource, log *slog.Logger) { f.routes(mux, log) }
}

// New returns the API handler with the status endpoint and opts'.
func New(src StatusSource, log *slog.Logger, opts ...Option) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	for _, o := range opts {
		o(mux, src, log)
	}
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, log, http.StatusOK, StatusOf(src.Snapshot()))
	})
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, log, http.StatusNotFound, errorBody{Error: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	return mux
}

type errorBody struct {
	Error string `json:"error"`
}

// Status is the body of GET /api/v1/status.
type Status struct {
	Time                 time.Time      `json:"time"`
	Interval             *Interval      `json:"interval,omitempty"`
	PriceUSDPerMWh       *float64       `json:"price_usd_per_mwh"` // null until a price is known
	PriceInterval        *Interval      `json:"price_interval,omitempty"`
	BreakevenUSDPerMWh   float64        `json:"breakeven_usd_per_mwh"`
	HashpriceUSDPerTHDay float64        `json:"hashprice_usd_per_th_day"`
	SitePowerW           float64        `json:"site_power_w"`
	PlannedPowerW        float64        `json:"planned_power_w"`
	HashrateTHs          float64        `json:"hashrate_ths"`
	Miners               map[string]int `json:"miners"`
	Plan                 Plan           `json:"plan"`
	Ledger               Ledger         `json:"ledger"`
	LastPoll             time.Time      `json:"last_poll"`
	PollSeconds          float64        `json:"poll_wall_seconds"`
	// Alerts are the conditions raised now (stale prices or bitcoin
	// inputs, an unreadable meter, draw no machine reports, a trip).
	Alerts []site.Alert `json:"alerts"`
}

// Interval is a half-open UTC interval.
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Plan summarises the current dispatch plan.
type Plan struct {
	Policy   string `json:"policy"`
	Reason   string `json:"reason"`
	Running  int    `json:"running"`
	Sleeping int    `json:"sleeping"`
}

// Ledger carries cumulative totals. Money is in US dollars rounded to the
// micro-dollar the ledger keeps; BTC is expected BTC earned.
type Ledger struct {
	Intervals  int     `json:"intervals"`
	EnergyMWh  float64 `json:"energy_mwh"`
	BTC        float64 `json:"btc"`
	RevenueUSD float64 `json:"revenue_usd"`
	CostUSD    float64 `json:"power_cost_usd"`
	NetUSD     float64 `json:"net_usd"`
}

// StatusOf converts a site snapshot to the API body.
func StatusOf(s site.Snapshot) Status {
	st := Status{
		Time:                 s.Time.UTC(),
		BreakevenUSDPerMWh:   float64(s.Plan.Breakeven),
		HashpriceUSDPerTHDay: float64(s.Hashprice),
		SitePowerW:           s.SitePower.Watts(),
		PlannedPowerW:        s.Plan.Power.Watts(),
		HashrateTHs:          s.Hashrate.THs(),
		Miners:               map[string]int{"total": 0},
		Plan:                 Plan{Policy: s.Plan.Policy, Reason: s.Plan.Reason, Running: s.Plan.Running, Sleeping: s.Plan.Sleeping},
		Ledger: Ledger{
			Intervals:  s.Totals.Intervals,
			EnergyMWh:  s.Totals.Energy.MWh(),
			BTC:        s.Totals.BTC.BTC(),
			RevenueUSD: s.Totals.Revenue.USD(),
			CostUSD:    s.Totals.Cost.USD(),
			NetUSD:     s.Totals.Net.USD(),
		},
		LastPoll:    s.LastPoll.UTC(),
		PollSeconds: s.PollWall.Seconds(),
		Alerts:      s.Alerts,
	}
	if st.Alerts == nil {
		st.Alerts = []site.Alert{}
	}
	for _, state := range miner.States {
		n := s.Miners[state]
		st.Miners[string(state)] = n
		st.Miners["total"] += n
	}
	if !s.Interval.IsZero() {
		st.Interval = &Interval{s.Interval.Start, s.Interval.End}
	}
	if s.PriceKnown {
		p := float64(s.Price.Price)
		st.PriceUSDPerMWh = &p
		st.PriceInterval = &Interval{s.Price.Interval.Start, s.Price.Interval.End}
	}
	return st
}

func writeJSON(w http.ResponseWriter, log *slog.Logger, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		log.Debug("write response", "err", err)
	}
}
