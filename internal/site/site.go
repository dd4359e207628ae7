// Package site is the live control loop of one mining site: gather
// telemetry, check freshness, plan, apply, verify, record. It wires the
// pure parts (dispatch, ledger) to the I/O parts (fleet, price and Bitcoin
// sources, store) on one injected clock.
//
// The loop polls the fleet every PollEvery of clock time, integrates site
// power into the ledger per settlement interval, and at the start of each
// interval asks the dispatch policy for a plan using only what was known
// then (the latest published real-time price, never the interval's own).
// Between plans it reconciles: a machine whose read-back state contradicts
// its setpoint after its ramp time is commanded again. The package does not
// decide economics (dispatch does) or speak any miner protocol (drivers do).
package site

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/fleet"
	"github.com/gridminer/gridminer/internal/ledger"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/store"
)

// FailSafe says what the site does when it cannot trust its inputs (no
// fresh price). It is explicit config, never implicit.
type FailSafe string

// Fail-safe and stop actions.
const (
	// Hold keeps every machine at its current setpoint.
	Hold FailSafe = "hold"
	// SleepAll puts every machine to sleep.
	SleepAll FailSafe = "sleep"
	// RunAll runs every machine at its nominal point.
	RunAll FailSafe = "run"
)

// ParseFailSafe checks a config value.
func ParseFailSafe(s string) (FailSafe, error) {
	switch f := FailSafe(s); f {
	case Hold, SleepAll, RunAll:
		return f, nil
	}
	return "", fmt.Errorf("%q: want one of hold, sleep, run", s)
}

// Config tunes the loop. Zero values take the documented defaults.
type Config struct {
	Name string
	// Interval is the settlement interval (default 15 minutes).
	Interval time.Duration
	// PollEvery is the clock time between telemetry polls (default 30 s).
	PollEvery time.Duration
	// TelemetryEvery is the clock time between stored telemetry snapshots
	// (default 5 minutes; every poll still feeds the ledger).
	TelemetryEvery time.Duration
	// StaleAfter is how old a machine's last good reading may be before
	// dispatch treats it as offline (default 3 × PollEvery).
	StaleAfter time.Duration
	// MaxSampleGap is the longest clock time one telemetry sample is held
	// for in the ledger; a longer gap between polls is not integrated (the
	// interval's Covered shows it). Default StaleAfter.
	MaxSampleGap time.Duration
	// PriceStaleAfter is how old the newest published price may be before
	// the site falls back to OnStalePrice (default 2 × Interval).
	PriceStaleAfter time.Duration
	// SiteCap is the import cap in watts; 0 means none.
	SiteCap energy.Power
	// OnStalePrice is the fail-safe when no fresh price is known (default hold).
	OnStalePrice FailSafe
	// OnStop is the state machines are left in when the loop stops (default hold).
	OnStop FailSafe
	// ReconcileGrace is the clock time beyond a machine's ramp time that a
	// contradicting read-back is tolerated before the setpoint is resent
	// (default 2 × PollEvery).
	ReconcileGrace time.Duration
	// StopTimeout bounds, on wall time, applying OnStop at shutdown (default 30 s).
	StopTimeout time.Duration
	// MeterBase is the site load the meter sees besides the fleet
	// (offices, transformers), in watts.
	MeterBase energy.Power
	// MeterTolerance is how far the metered import may exceed the plan
	// before the loop sheds load (default 1% of the fleet plus 5 kW).
	MeterTolerance energy.Power
	// EventCredit is the credit for each MWh a demand event reduces the
	// site's draw below its baseline, $/MWh, by program name or source.
	EventCredit map[string]float64
	// BaselineWindow is how long before an event its baseline is
	// averaged over (default 1 hour).
	BaselineWindow time.Duration
	// Trip, if set (with Deps.Meter), runs the software under-frequency
	// relay beside the loop.
	Trip *TripConfig
	// Tiers maps OpenADR SIMPLE levels 1-3 to import caps (default
	// demand.DefaultTiers of the site cap, or of the fleet's power without
	// one).
	Tiers demand.Tiers
	// Contract is the site's power contract and grid obligations; nil is
	// a plain index contract.
	Contract *contract.Contract
	// Recent is how many settled prices the policy sees (default 16).
	Recent int
	// Overhead is the cooling and site load each running machine adds
	// (W); dispatch counts it in every machine's power and breakeven, and
	// the commands carry the machines' own power.
	Overhead energy.Power
	// ForecastAhead is how far ahead the forecast is read (default 48h).
	ForecastAhead time.Duration

	Poll fleet.PollConfig
	Exec fleet.ExecConfig
}

func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = 15 * time.Minute
	}
	if c.PollEvery <= 0 {
		c.PollEvery = 30 * time.Second
	}
	if c.BaselineWindow <= 0 {
		c.BaselineWindow = time.Hour
	}
	if c.TelemetryEvery <= 0 {
		c.TelemetryEvery = 5 * time.Minute
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = 3 * c.PollEvery
	}
	if c.MaxSampleGap <= 0 {
		c.MaxSampleGap = c.StaleAfter
	}
	if c.PriceStaleAfter <= 0 {
		c.PriceStaleAfter = 2 * c.Interval
	}
	if c.OnStalePrice == "" {
		c.OnStalePrice = Hold
	}
	if c.OnStop == "" {
		c.OnStop = Hold
	}
	if c.ReconcileGrace <= 0 {
		c.ReconcileGrace = 2 * c.PollEvery
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = 30 * time.Second
	}
	if c.Recent <= 0 {
		c.Recent = 16
	}
	if c.ForecastAhead <= 0 {
		c.ForecastAhead = 48 * time.Hour
	}
	return c
}

// EconomicsSource supplies the Bitcoin inputs in force at a time.
type EconomicsSource interface {
	Economics(ctx context.Context, at time.Time) (bitcoin.Economics, error)
}

// StaticEconomics is an EconomicsSource that never changes.
type StaticEconomics bitcoin.Economics

// Economics returns e.
func (e StaticEconomics) Economics(context.Context, time.Time) (bitcoin.Economics, error) {
	return bitcoin.Economics(e), nil
}

// Deps are the parts the loop drives.
type Deps struct {
	Clock    clock.Clock
	Logger   *slog.Logger
	Fleet    *fleet.Inventory
	Policy   dispatch.Policy
	Prices   price.Source
	Bitcoin  EconomicsSource
	Store    store.Store
	OnSettle func(Settlement)    // called after each interval is settled (may be nil)
	OnPlan   func(dispatch.Plan) // called after each plan is applied and recorded (may be nil)
	// Forecast, if set, supplies expected prices ahead (day-ahead prices
	// or a live curve) for the look-ahead planner.
	Forecast price.Source
	// PeakRisk, if set, estimates the probability that the hour starting
	// at hour is its month's 4CP system peak, from load known at the call.
	PeakRisk func(ctx context.Context, hour time.Time) (float64, error)
	// Deployments, if set, returns the demand-response deployments known
	// now.
	Deployments func() []contract.Deployment
	// Demand, if set, is the union of the site's demand-response and grid
	// event sources (OpenADR 3, ERCOT grid conditions, an operator); the
	// site runs it, plans with the constraint its events set, and re-plans
	// at once when they change or one starts or ends.
	Demand *demand.Set
	// Meter, if set, reads the site meter at every poll: the loop sheds
	// load when the measured import exceeds the plan (see checkMeter).
	Meter func(ctx context.Context) (MeterSample, error)
	// Relay, if set, opens (true) or closes the under-frequency relay
	// output (a Modbus coil driving a breaker or PDU).
	Relay func(ctx context.Context, open bool) error
	// OnTrip, if set, is called after each under-frequency trip and reset.
	OnTrip func(TripEvent)
}

// Settlement is one settled interval with the site's state at that time,
// for the live terminal line and alerts.
type Settlement struct {
	Entry     ledger.Entry
	Totals    ledger.Totals
	Breakeven energy.Price
	Counts    map[miner.State]int
	Hashrate  energy.Hashrate
}

// unit is the loop's memory of one machine.
type unit struct {
	caps    miner.Capabilities
	last    fleet.Reading // most recent reading (may be a failure)
	lastOK  time.Time     // clock time of the last good reading
	okState miner.Status  // last good status
	reason  string        // offline reason

	desired   miner.Setpoint
	hasDesire bool
	sentAt    time.Time // clock time the desired setpoint was last sent
	running   bool      // commanded (or, before any command, observed) running
	since     time.Time // when running last changed
}

// Site is the live loop. Create with New, start with Run.
type Site struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	units []*unit // inventory order
	meter *ledger.Meter

	mu       sync.RWMutex
	snap     Snapshot
	totals   ledger.Totals
	plan     dispatch.Plan
	pending  []ledger.Usage // closed intervals waiting for their price
	lastTele time.Time
	// staged holds the later batches of a plan applied under the site ramp
	// limit, sent one a minute.
	staged []stagedBatch
	// lastDeploy is the deployments the last plan saw, to notice changes.
	lastDeploy string
	// grid is the demand constraint the last plan saw.
	grid demand.Constraint
	// The meter loop: the import no machine reports, machines shed this
	// interval, and when the last shed will have ramped.
	unaccounted energy.Power
	meterShed   int
	shedSettle  time.Time
	// trip is the under-frequency relay (nil: none); targets the running
	// machines it may drop, kept by apply under mu; wake wakes the loop.
	trip    *Trip
	targets []TripTarget
	wake    chan struct{}
	// baselines are the demand events' baselines, fixed when first needed.
	baselines map[string]energy.Power
	// alerts are the raised alerts by kind (under mu).
	alerts map[string]Alert
	// views are the machines as the last poll saw them (under mu).
	views []MinerView
	// carried is what an earlier run of the controller metered in an
	// interval it stopped in the middle of; it is added to this run's
	// usage of that interval so a restart loses no energy.
	carried map[time.Time]ledger.Usage
}

// New checks deps and prepares a loop.
func New(cfg Config, deps Deps) (*Site, error) {
	cfg = cfg.withDefaults()
	switch {
	case deps.Clock == nil:
		return nil, errors.New("site: no clock")
	case deps.Fleet == nil || deps.Fleet.Len() == 0:
		return nil, errors.New("site: empty fleet")
	case deps.Policy == nil:
		return nil, errors.New("site: no dispatch policy")
	case deps.Prices == nil:
		return nil, errors.New("site: no price source")
	case deps.Bitcoin == nil:
		return nil, errors.New("site: no bitcoin economics source")
	case deps.Store == nil:
		return nil, errors.New("site: no store")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	meter, err := ledger.NewMeter(cfg.Interval, cfg.MaxSampleGap)
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	s := &Site{cfg: cfg, deps: deps, log: deps.Logger, meter: meter, wake: make(chan struct{}, 1), baselines: map[string]energy.Power{}}
	for _, m := range deps.Fleet.Members() {
		s.units = append(s.units, &unit{caps: m.Miner.Capabilities()})
	}
	if cfg.Trip != nil {
		if deps.Meter == nil {
			return nil, errors.New("site: an under-frequency trip needs the site meter")
		}
		s.trip, err = NewTrip(*cfg.Trip, TripDeps{Clock: deps.Clock, Logger: deps.Logger, Fleet: deps.Fleet,
			Exec:   fleet.ExecConfig{Concurrency: cfg.Exec.Concurrency, Timeout: cfg.Exec.Timeout, Retries: -1},
			Sample: deps.Meter, Targets: s.tripTargets, Relay: deps.Relay, OnEvent: s.onTrip})
		if err != nil {
			return nil, fmt.Errorf("site: %w", err)
		}
	}
	return s, nil
}

// Run drives the loop until ctx ends, then leaves machines in the OnStop
// state, settles what it can, and returns nil. It returns an error only for
// failures that make control impossible (the store refusing writes at start).
func (s *Site) Run(ctx context.Context) error {
	totals, err := s.deps.Store.LedgerTotals(ctx)
	if err != nil {
		return fmt.Errorf("site: read ledger totals: %w", err)
	}
	s.mu.Lock()
	s.totals = totals
	s.mu.Unlock()

	clk := s.deps.Clock
	if err := s.carryPartial(ctx, energy.IntervalOf(clk.Now(), s.cfg.Interval)); err != nil {
		return fmt.Errorf("site: read the ledger of the current interval: %w", err)
	}
	// Signals that must not wait for the next poll (grid events, the
	// under-frequency trip) run beside the loop and wake it.
	sctx, stopSignals := context.WithCancel(ctx)
	var signals sync.WaitGroup
	defer func() { stopSignals(); signals.Wait() }()
	if s.deps.Demand != nil {
		signals.Go(func() { s.deps.Demand.Run(sctx) })
		signals.Go(func() {
			for {
				select {
				case <-s.deps.Demand.Changed():
					s.signal()
				case <-sctx.Done():
					return
				}
			}
		})
	}
	if s.trip != nil {
		signals.Go(func() { s.trip.Run(sctx) })
	}
	s.poll(ctx)
	current := energy.IntervalOf(clk.Now(), s.cfg.Interval)
	s.planInterval(ctx, current)
	nextPoll := clk.Now().Add(s.cfg.PollEvery)
	for ctx.Err() == nil {
		wake := nextPoll
		if current.End.Before(wake) {
			wake = current.End
		}
		if len(s.staged) > 0 && s.staged[0].due.Before(wake) {
			wake = s.staged[0].due
		}
		edge, hasEdge := time.Time{}, false
		if s.deps.Demand != nil {
			if edge, hasEdge = demand.Next(s.deps.Demand.Events(), clk.Now()); hasEdge && edge.Before(wake) {
				wake = edge
			}
		}
		woken, err := clock.SleepUntilOr(ctx, clk, wake, s.wake)
		if err != nil {
			break
		}
		now := clk.Now()
		if woken || (hasEdge && !now.Before(edge)) {
			// A grid event arrived, changed, started or ended: it must be
			// met within its deadline (seconds to minutes), so re-plan now.
			if iv := energy.IntervalOf(now, s.cfg.Interval); iv.Start.After(current.Start) {
				current = iv
			}
			s.log.Warn("grid signals changed; re-planning now", "interval", current.String())
			s.planInterval(ctx, current)
			continue
		}
		for len(s.staged) > 0 && !now.Before(s.staged[0].due) {
			b := s.staged[0]
			s.staged = s.staged[1:]
			s.execute(ctx, b.cmds, "plan (ramp-staggered batch)")
		}
		if !now.Before(nextPoll) {
			s.poll(ctx)
			if s.deploymentsChanged() {
				// A deployment must be met within its deadline (minutes):
				// re-plan now rather than at the next interval.
				s.log.Warn("demand-response deployments changed; re-planning now", "interval", current.String())
				s.planInterval(ctx, current)
			}
			s.reconcile(ctx)
			s.checkMeter(ctx)
			for !nextPoll.After(now) {
				nextPoll = nextPoll.Add(s.cfg.PollEvery)
			}
		}
		if iv := energy.IntervalOf(clk.Now(), s.cfg.Interval); iv.Start.After(current.Start) {
			current = iv
			s.planInterval(ctx, current)
		}
	}
	s.stop()
	return nil
}

// poll reads the fleet, feeds the ledger meter, settles closed intervals
// and stores telemetry when due.
func (s *Site) poll(ctx context.Context) {
	clk := s.deps.Clock
	started := time.Now()
	readings, err := fleet.Poll(ctx, s.deps.Fleet, clk, s.cfg.Poll)
	if err != nil {
		return // ctx ended
	}
	pollWall := time.Since(started)
	now := clk.Now()
	var power energy.Power
	var hash energy.Hashrate
	for i, r := range readings {
		u := s.units[i]
		u.last = r
		if u.caps.NominalPower <= 0 && r.Err == nil {
			u.caps = s.deps.Fleet.Members()[i].Miner.Capabilities()
		}
		if off, why := r.Offline(); off {
			u.reason = why
			continue
		}
		u.reason = ""
		u.lastOK = r.Status.Time
		u.okState = r.Status
		power += r.Status.Power
		hash += r.Status.Hashrate
		if !u.hasDesire && u.since.IsZero() {
			u.running = r.Status.State.Active()
		}
	}
	usages, err := s.meter.Add(ledger.Sample{Time: now, Power: power, Hashrate: hash})
	if err != nil {
		s.log.Warn("ledger sample rejected", "err", err)
	}
	s.mu.Lock()
	s.pending = append(s.pending, usages...)
	s.mu.Unlock()
	s.settle(ctx)

	counts := s.counts(now)
	views := make([]MinerView, len(s.units))
	for i, m := range s.deps.Fleet.Members() {
		u := s.units[i]
		v := MinerView{ID: m.ID, Model: u.caps.Model, Driver: u.caps.Driver, State: s.state(u, now), LastOK: u.lastOK, Offline: u.reason}
		if !u.lastOK.IsZero() {
			v.Power, v.Hashrate = u.okState.Power, u.okState.Hashrate
		}
		if u.hasDesire {
			v.Setpoint = u.desired.String()
		}
		views[i] = v
	}
	s.mu.Lock()
	s.views = views
	s.snap.Time = now
	s.snap.SitePower = power
	s.snap.Hashrate = hash
	s.snap.Miners = counts
	s.snap.LastPoll = now
	s.snap.PollWall = pollWall
	teleDue := s.lastTele.IsZero() || now.Sub(s.lastTele) >= s.cfg.TelemetryEvery
	if teleDue {
		s.lastTele = now
	}
	s.mu.Unlock()

	if teleDue {
		rows := make([]store.Telemetry, len(readings))
		for i, r := range readings {
			rows[i] = store.Telemetry{MinerID: r.ID, Status: r.Status}
			if r.Err != nil {
				rows[i].Err = r.Err.Error()
			}
		}
		if err := s.deps.Store.AddTelemetry(ctx, rows); err != nil && ctx.Err() == nil {
			s.log.Error("store telemetry", "err", err)
		}
	}
}

// state returns what dispatch should believe about u at now.
func (s *Site) state(u *unit, now time.Time) miner.State {
	if u.lastOK.IsZero() || u.last.Err != nil || now.Sub(u.lastOK) > s.cfg.StaleAfter {
		return miner.StateOffline
	}
	return u.okState.State
}

func (s *Site) counts(now time.Time) map[miner.State]int {
	c := make(map[miner.State]int, len(miner.States))
	for _, u := range s.units {
		c[s.state(u, now)]++
	}
	return c
}

// settledPrices returns the prices published by now (their intervals
// ended at or before now) over the longer of the staleness window and the
// Recent window, oldest first: one read of the price source per plan.
func (s *Site) settledPrices(ctx context.Context, now time.Time) (price.Schedule, error) {
	back := max(s.cfg.PriceStaleAfter, time.Duration(s.cfg.Recent)*s.cfg.Interval)
	sched, err := s.deps.Prices.Schedule(ctx, now.Add(-back), now)
	if err != nil && !errors.Is(err, price.ErrNoData) {
		return nil, err
	}
	var out price.Schedule
	for _, p := range sched {
		if !p.Interval.End.After(now) {
			out = append(out, p)
		}
	}
	return out, nil
}

// latestPrice returns the newest of the settled prices if it is fresh: its
// interval ended within PriceStaleAfter of now.
func (s *Site) latestPrice(settled price.Schedule, now time.Time) (price.Point, bool) {
	if n := len(settled); n > 0 && settled[n-1].Interval.End.After(now.Add(-s.cfg.PriceStaleAfter)) {
		return settled[n-1], true
	}
	return price.Point{}, false
}

// planInterval asks the policy for a plan for iv and applies it.
func (s *Site) planInterval(ctx context.Context, iv energy.Interval) {
	now := s.deps.Clock.Now()
	econ, econErr := s.deps.Bitcoin.Economics(ctx, now)
	if econErr == nil {
		econErr = econ.Validate()
	}
	var hp bitcoin.Hashprice
	if econErr == nil {
		hp = econ.Hashprice()
	}
	settled, err := s.settledPrices(ctx, now)
	if err != nil {
		s.log.Error("price source", "err", err)
	}
	pt, ok := s.latestPrice(settled, now)
	in := dispatch.Inputs{Now: now, Interval: iv, Price: pt.Price, Hashprice: hp, SiteCap: s.cfg.SiteCap, Contract: s.cfg.Contract}
	for _, p := range settled[max(0, len(settled)-s.cfg.Recent):] {
		in.Recent = append(in.Recent, p.Price)
	}
	s.knownInputs(ctx, &in)
	grid := s.gridConstraint(now)
	if grid.HasCap && (in.SiteCap <= 0 || grid.Cap < in.SiteCap) {
		in.SiteCap = max(grid.Cap, 1) // 0 W means "no cap" to dispatch
	}
	in.Floor = grid.Floor
	if tol := s.meterTolerance(); in.SiteCap > 0 && s.unaccounted > tol {
		// A machine draws what it does not report: keep the cap for real.
		in.SiteCap = max(1, in.SiteCap-s.unaccounted)
		grid.Reason = strings.TrimPrefix(grid.Reason+fmt.Sprintf("; %s unaccounted at the meter left out of the cap", s.unaccounted), "; ")
	}
	s.meterShed = 0
	if grid.HasPrice {
		pt, ok = price.Point{Interval: iv, Price: grid.Price}, true
		in.Price = grid.Price
	}
	unknown := 0
	for i, m := range s.deps.Fleet.Members() {
		u := s.units[i]
		if u.caps.NominalPower <= 0 || u.caps.NominalHashrate <= 0 {
			unknown++ // never answered: left alone until its capabilities are known
			continue
		}
		in.Units = append(in.Units, dispatch.Unit{ID: m.ID, Caps: withOverhead(u.caps, s.cfg.Overhead), State: s.state(u, now), Running: u.running, Since: u.since})
	}
	if unknown > 0 {
		s.log.Warn("machines left out of the plan until they answer with their capabilities", "count", unknown)
	}
	s.setAlert(AlertStaleBitcoin, econErr != nil, fmt.Sprintf("bitcoin economics unavailable: %v", econErr))
	s.setAlert(AlertStalePrice, !ok && econErr == nil, fmt.Sprintf("no price published in the last %s: fail-safe %s", s.cfg.PriceStaleAfter, s.cfg.OnStalePrice))
	var plan dispatch.Plan
	if econErr != nil {
		// Stale or missing bitcoin inputs never drive dispatch: the
		// configured fail-safe does, as for a stale price.
		ok = false
		s.log.Error("bitcoin economics unavailable", "fail_safe", s.cfg.OnStalePrice, "err", econErr)
	}
	if ok {
		plan, err = s.deps.Policy.Plan(in)
		if err != nil {
			s.log.Error("dispatch plan failed; holding current setpoints", "policy", s.deps.Policy.Name(), "err", err)
			return
		}
		if s.cfg.Overhead > 0 {
			for i := range plan.Units {
				if sp := &plan.Units[i].Setpoint; sp.Mode == miner.ModeRun && sp.Power > 0 {
					sp.Power -= s.cfg.Overhead
				}
			}
		}
	} else {
		why := fmt.Sprintf("fail-safe %s: no price published in the last %s", s.cfg.OnStalePrice, s.cfg.PriceStaleAfter)
		if econErr != nil {
			why = fmt.Sprintf("fail-safe %s: bitcoin economics unavailable: %v", s.cfg.OnStalePrice, econErr)
		} else {
			s.log.Warn("no fresh price", "fail_safe", s.cfg.OnStalePrice, "interval", iv.String())
		}
		plan = s.failSafePlan(in, s.cfg.OnStalePrice, why)
		if grid.HasCap {
			// No price, but the grid's cap still binds: sleep what it must.
			plan = s.capPlan(in, plan)
		}
	}
	if grid.Reason != "" {
		plan.Reason += "; grid: " + grid.Reason
	}
	if s.trip != nil {
		if held := s.trip.Tripped(); held != nil {
			// The under-frequency trip holds its machines asleep until
			// frequency has recovered for its restore time.
			for i := range plan.Units {
				up := &plan.Units[i]
				if !held[up.ID] || up.Setpoint.Mode != miner.ModeRun {
					continue
				}
				if i < len(in.Units) && in.Units[i].ID == up.ID {
					c := in.Units[i].Caps
					plan.Power -= powerOf(c, up.Setpoint) - c.SleepPower
				}
				up.Setpoint, up.Reason = miner.Sleep(), "under-frequency trip"
				plan.Running--
				plan.Sleeping++
			}
			plan.Reason += fmt.Sprintf("; under-frequency trip holds %d machines asleep", len(held))
		}
	}
	s.apply(ctx, plan)

	dec := store.Decision{Time: now, Interval: iv, Policy: plan.Policy, Price: plan.Price, Breakeven: plan.Breakeven, PlannedPower: plan.Power, Reason: plan.Reason}
	for _, up := range plan.Units {
		dec.Setpoints = append(dec.Setpoints, store.Setpoint{MinerID: up.ID, Mode: up.Setpoint.Mode, Power: up.Setpoint.Power, Reason: up.Reason})
	}
	if err := s.deps.Store.AddDecision(ctx, dec); err != nil && ctx.Err() == nil {
		s.log.Error("store decision", "err", err)
	}
	s.mu.Lock()
	s.plan = plan
	s.grid = grid
	s.snap.Grid = grid
	s.snap.Interval = iv
	s.snap.Price = pt
	s.snap.PriceKnown = ok
	s.snap.Hashprice = hp
	s.mu.Unlock()
	if s.deps.OnPlan != nil {
		s.deps.OnPlan(plan)
	}
}

// knownInputs adds to in what else was known at in.Now: the forecast, the
// 4CP peak risk, deployments and the previous plan.
func (s *Site) knownInputs(ctx context.Context, in *dispatch.Inputs) {
	if s.deps.Forecast != nil {
		f, err := s.deps.Forecast.Schedule(ctx, in.Interval.Start, in.Interval.Start.Add(s.cfg.ForecastAhead))
		if err == nil && f.Validate() == nil {
			in.Forecast = f
		} else if err != nil && !errors.Is(err, price.ErrNoData) {
			s.log.Warn("price forecast unavailable", "err", err)
		}
	}
	if s.deps.PeakRisk != nil {
		r, err := s.deps.PeakRisk(ctx, in.Interval.Start.Truncate(time.Hour))
		if err != nil {
			s.log.Warn("4CP peak risk unavailable", "err", err)
		} else if r >= 0 && r <= 1 {
			in.PeakRisk = r
		}
	}
	if s.deps.Deployments != nil {
		in.Deployments = s.deps.Deployments()
		s.lastDeploy = fmt.Sprint(in.Deployments)
	}
	s.mu.RLock()
	if !s.plan.Interval.IsZero() && s.plan.Interval.End.Equal(in.Interval.Start) {
		in.Previous, in.HasPrevious = s.plan.Power, true
	}
	s.mu.RUnlock()
}

// deploymentsChanged reports whether the known deployments differ from
// those the last plan saw.
func (s *Site) deploymentsChanged() bool {
	if s.deps.Deployments == nil {
		return false
	}
	return fmt.Sprint(s.deps.Deployments()) != s.lastDeploy
}

// failSafePlan builds the plan for a fail-safe action.
func (s *Site) failSafePlan(in dispatch.Inputs, fs FailSafe, reason string) dispatch.Plan {
	p := dispatch.Plan{Policy: "fail-safe:" + string(fs), Interval: in.Interval, Price: in.Price, Reason: reason}
	for _, u := range in.Units {
		var sp miner.Setpoint
		switch fs {
		case SleepAll:
			sp = miner.Sleep()
		case RunAll:
			sp = miner.Run(0)
		default:
			if idx, ok := s.deps.Fleet.Index(u.ID); ok && s.units[idx].hasDesire {
				sp = s.units[idx].desired
			} else if u.Running {
				sp = miner.Run(0)
			} else {
				sp = miner.Sleep()
			}
		}
		if sp.Mode == miner.ModeSleep {
			p.Sleeping++
		} else {
			p.Running++
		}
		p.Units = append(p.Units, dispatch.UnitPlan{ID: u.ID, Setpoint: sp, Reason: reason})
	}
	return p
}

// apply sends every setpoint that differs from the machine's desired one,
// or whose machine contradicts it, and records the new desired state.
func (s *Site) apply(ctx context.Context, plan dispatch.Plan) {
	now := s.deps.Clock.Now()
	var cmds []fleet.Command
	var deltas []energy.Power
	s.staged = nil // a new plan replaces what is left of the last one
	for _, up := range plan.Units {
		idx, ok := s.deps.Fleet.Index(up.ID)
		if !ok {
			s.log.Error("plan names a machine not in the fleet", "miner", up.ID)
			continue
		}
		u := s.units[idx]
		changed := !u.hasDesire || u.desired != up.Setpoint
		contradicted := u.last.Err == nil && !u.lastOK.IsZero() && !fleet.Confirms(u.okState, up.Setpoint)
		if changed || contradicted {
			cmds = append(cmds, fleet.Command{ID: up.ID, Setpoint: up.Setpoint})
		}
		run := up.Setpoint.Mode == miner.ModeRun
		if run != u.running {
			u.since = now
		}
		if changed || contradicted {
			was := u.desired
			if !u.hasDesire {
				was = miner.Sleep()
				if u.running {
					was = miner.Run(0)
				}
			}
			deltas = append(deltas, powerOf(u.caps, up.Setpoint)-powerOf(u.caps, was))
		}
		u.running = run
		u.desired = up.Setpoint
		u.hasDesire = true
		if changed || contradicted {
			u.sentAt = now
		}
	}
	// The meter judges the plan only once the machines commanded have
	// had their ramp time (and a poll) to get there.
	var ramp time.Duration
	for _, c := range cmds {
		if idx, ok := s.deps.Fleet.Index(c.ID); ok {
			ramp = max(ramp, s.units[idx].caps.RampDown, s.units[idx].caps.RampUp)
		}
	}
	if len(cmds) > 0 {
		s.shedSettle = now.Add(ramp + s.cfg.PollEvery)
	}
	var targets []TripTarget
	for i, m := range s.deps.Fleet.Members() {
		u := s.units[i]
		if u.hasDesire && u.desired.Mode == miner.ModeRun && u.caps.CanSleep {
			c := withOverhead(u.caps, s.cfg.Overhead)
			targets = append(targets, TripTarget{ID: m.ID, Power: powerOf(c, u.desired), Efficiency: c.NominalEfficiency()})
		}
	}
	s.mu.Lock()
	s.targets = targets
	s.mu.Unlock()
	batches := stagger(cmds, deltas, plan.Ramp)
	for i, b := range batches[1:] {
		s.staged = append(s.staged, stagedBatch{due: now.Add(time.Duration(i+1) * time.Minute), cmds: b})
	}
	if len(batches) > 1 {
		s.shedSettle = now.Add(time.Duration(len(batches)-1)*time.Minute + ramp + s.cfg.PollEvery)
		s.log.Info("plan staggered under the site ramp limit", "batches", len(batches), "ramp_per_minute", plan.Ramp.String())
	}
	s.execute(ctx, batches[0], "plan")
}

// withOverhead adds w to every running power level of c.
func withOverhead(c miner.Capabilities, w energy.Power) miner.Capabilities {
	if w <= 0 {
		return c
	}
	c = c.Clone()
	c.NominalPower += w
	for i := range c.PowerSteps {
		c.PowerSteps[i].Power += w
	}
	return c
}

// stagedBatch is a batch of commands due at a time.
type stagedBatch struct {
	due  time.Time
	cmds []fleet.Command
}

// stagger splits cmds into batches, one per minute, so that no batch
// changes the site's draw by more than ramp (W per minute): decreases
// first (they relieve the grid), then increases. A single command larger
// than ramp gets a batch of its own. With ramp 0 everything is one batch.
func stagger(cmds []fleet.Command, deltas []energy.Power, ramp energy.Power) [][]fleet.Command {
	if ramp <= 0 || len(cmds) == 0 {
		return [][]fleet.Command{cmds}
	}
	idx := make([]int, len(cmds))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(deltas[a], deltas[b]) })
	var out [][]fleet.Command
	var cur []fleet.Command
	var step energy.Power
	for _, i := range idx {
		d := deltas[i]
		if d < 0 {
			d = -d
		}
		if len(cur) > 0 && step+d > ramp {
			out = append(out, cur)
			cur, step = nil, 0
		}
		cur = append(cur, cmds[i])
		step += d
	}
	return append(out, cur)
}

// powerOf is what a machine with caps draws at sp (nominal for Run(0) or
// an unset setpoint).
func powerOf(c miner.Capabilities, sp miner.Setpoint) energy.Power {
	switch {
	case sp.Mode == miner.ModeSleep:
		return c.SleepPower
	case sp.Power > 0 && sp.Power < c.NominalPower:
		return sp.Power
	}
	return c.NominalPower
}

// reconcile resends setpoints that machines contradict after their ramp
// time plus grace.
func (s *Site) reconcile(ctx context.Context) {
	now := s.deps.Clock.Now()
	var cmds []fleet.Command
	for i, m := range s.deps.Fleet.Members() {
		u := s.units[i]
		if !u.hasDesire || u.last.Err != nil || u.lastOK.IsZero() {
			continue
		}
		if fleet.Confirms(u.okState, u.desired) {
			continue
		}
		ramp := u.caps.RampUp
		if u.caps.RampDown > ramp {
			ramp = u.caps.RampDown
		}
		if now.Sub(u.sentAt) < ramp+s.cfg.ReconcileGrace {
			continue
		}
		u.sentAt = now
		cmds = append(cmds, fleet.Command{ID: m.ID, Setpoint: u.desired})
	}
	s.execute(ctx, cmds, "reconcile")
}

func (s *Site) execute(ctx context.Context, cmds []fleet.Command, why string) {
	if len(cmds) == 0 {
		return
	}
	outs := fleet.Execute(ctx, s.deps.Fleet, cmds, s.cfg.Exec)
	if ctx.Err() != nil {
		s.log.Info("commands cut short: the controller is stopping", "why", why, "count", len(cmds))
		return
	}
	failed := 0
	for _, o := range outs {
		if o.Err != nil {
			failed++
			if failed <= 5 {
				s.log.Warn("command failed", "why", why, "miner", o.ID, "setpoint", o.Setpoint.String(), "attempts", o.Attempts, "err", o.Err)
			}
			continue
		}
		if idx, ok := s.deps.Fleet.Index(o.ID); ok && o.Verified {
			u := s.units[idx]
			u.okState = o.Status
			u.lastOK = o.Status.Time
			u.last = fleet.Reading{ID: o.ID, Status: o.Status}
		}
	}
	s.log.Info("commands sent", "why", why, "count", len(cmds), "failed", failed)
	s.mu.Lock()
	s.snap.LastCommands = len(cmds)
	s.snap.LastCommandFailures = failed
	s.mu.Unlock()
}

// settle prices closed intervals whose prices are published and records them.
func (s *Site) settle(ctx context.Context) {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	var keep []ledger.Usage
	for _, u := range pending {
		e, err := s.settleOne(ctx, u)
		if err != nil {
			s.log.Warn("interval not settled yet", "interval", u.Interval.String(), "err", err)
			keep = append(keep, u)
			continue
		}
		if err := s.deps.Store.PutLedger(ctx, e); err != nil {
			s.log.Error("store ledger entry", "interval", u.Interval.String(), "err", err)
			keep = append(keep, u)
			continue
		}
		s.creditEvents(ctx, e)
		// The stored totals are the truth (an entry may have replaced an
		// earlier partial one); fall back to adding if they cannot be read.
		stored, terr := s.deps.Store.LedgerTotals(ctx)
		s.mu.Lock()
		if terr == nil {
			s.totals = stored
		} else {
			s.totals.Add(e)
		}
		tot := s.totals
		s.snap.LastSettled = e
		br := s.plan.Breakeven
		s.mu.Unlock()
		if s.deps.OnSettle != nil {
			now := s.deps.Clock.Now()
			var hash energy.Hashrate
			for _, un := range s.units {
				if s.state(un, now) != miner.StateOffline {
					hash += un.okState.Hashrate
				}
			}
			s.deps.OnSettle(Settlement{Entry: e, Totals: tot, Breakeven: br, Counts: s.counts(now), Hashrate: hash})
		}
	}
	s.mu.Lock()
	s.pending = append(keep, s.pending...)
	s.mu.Unlock()
}

// carryPartial loads a partial entry an earlier run stored for iv (it
// stopped inside iv), to be merged into this run's usage of iv.
func (s *Site) carryPartial(ctx context.Context, iv energy.Interval) error {
	entries, err := s.deps.Store.Ledger(ctx, iv.Start, iv.End)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Interval == iv && e.Covered < iv.Duration() {
			s.carried = map[time.Time]ledger.Usage{iv.Start: {
				Interval: iv,
				Energy:   e.Energy,
				HashTHs:  float64(e.AvgHashrate) * iv.Duration().Seconds(),
				Covered:  e.Covered,
			}}
			s.log.Info("continuing a partly metered interval from an earlier run", "interval", iv.String(), "covered", e.Covered)
		}
	}
	return nil
}

func (s *Site) settleOne(ctx context.Context, u ledger.Usage) (ledger.Entry, error) {
	if c, ok := s.carried[u.Interval.Start]; ok {
		u.Energy += c.Energy
		u.HashTHs += c.HashTHs
		u.Covered = min(u.Covered+c.Covered, u.Interval.Duration())
	}
	sched, err := s.deps.Prices.Schedule(ctx, u.Interval.Start, u.Interval.End)
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("price for %s: %w", u.Interval, err)
	}
	pt, ok := sched.At(u.Interval.Start)
	if !ok || pt.Interval != u.Interval {
		return ledger.Entry{}, fmt.Errorf("price for %s: %w", u.Interval, price.ErrNoData)
	}
	econ, err := s.deps.Bitcoin.Economics(ctx, u.Interval.Start)
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("bitcoin economics for %s: %w", u.Interval, err)
	}
	return ledger.Settle(u, pt.Price, econ.BTCPerTHDay(), econ.PriceUSD)
}

// stop leaves machines in the OnStop state and settles the partial interval.
func (s *Site) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.StopTimeout)
	defer cancel()
	if s.cfg.OnStop != Hold {
		now := s.deps.Clock.Now()
		in := dispatch.Inputs{Now: now, Interval: energy.IntervalOf(now, s.cfg.Interval)}
		for i, m := range s.deps.Fleet.Members() {
			in.Units = append(in.Units, dispatch.Unit{ID: m.ID, Caps: s.units[i].caps, Running: s.units[i].running})
		}
		plan := s.failSafePlan(in, s.cfg.OnStop, "controller stopping")
		var cmds []fleet.Command
		for _, up := range plan.Units {
			cmds = append(cmds, fleet.Command{ID: up.ID, Setpoint: up.Setpoint})
		}
		s.execute(ctx, cmds, "stop")
	}
	usages := s.meter.Flush(s.deps.Clock.Now())
	s.mu.Lock()
	s.pending = append(s.pending, usages...)
	s.mu.Unlock()
	s.settle(ctx)
	s.mu.RLock()
	left := len(s.pending)
	s.mu.RUnlock()
	if left > 0 {
		s.log.Error("intervals left unsettled at stop (no published price)", "count", left)
	}
}

// Snapshot is the site's current state for the API and dashboard.
type Snapshot struct {
	Time                time.Time
	Interval            energy.Interval
	Price               price.Point
	PriceKnown          bool
	Hashprice           bitcoin.Hashprice
	SitePower           energy.Power
	Hashrate            energy.Hashrate
	Miners              map[miner.State]int
	LastPoll            time.Time
	PollWall            time.Duration
	LastCommands        int
	LastCommandFailures int
	LastSettled         ledger.Entry
	Plan                dispatch.Plan
	// Grid is the constraint the grid's events set on the current plan.
	Grid demand.Constraint
	// Meter is the meter loop's last view.
	Meter MeterState
	// Trip is the last under-frequency trip or reset.
	Trip TripEvent
	// Alerts are the conditions raised now, oldest first.
	Alerts []Alert
	Totals ledger.Totals
}

// MinerView is one machine as the loop's last poll saw it.
type MinerView struct {
	ID, Model, Driver string
	State             miner.State
	// Power and Hashrate are what the machine last reported.
	Power    energy.Power
	Hashrate energy.Hashrate
	// Setpoint is what the loop last told it ("" before any command).
	Setpoint string
	LastOK   time.Time
	// Offline says why the machine counts as offline ("" when it does not).
	Offline string
}

// Miners returns every machine as the last poll saw it, in inventory
// order. Safe for concurrent use.
func (s *Site) Miners() []MinerView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.views)
}

// Snapshot returns a copy of the current state. Safe for concurrent use.
func (s *Site) Snapshot() Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	snap := s.snap
	snap.Alerts = s.alertListLocked()
	snap.Plan = s.plan
	snap.Plan.Units = nil // large; the API exposes them separately
	snap.Totals = s.totals
	m := make(map[miner.State]int, len(s.snap.Miners))
	for k, v := range s.snap.Miners {
		m[k] = v
	}
	snap.Miners = m
	return snap
}
