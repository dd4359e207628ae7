// Package backtest replays history through the dispatch policies: for
// every interval it gives a policy only what it would have known at the
// time (the settled prices before the interval, day-ahead prices once
// published, the previous day's bitcoin economics, the 4CP risk from load
// before the hour), lets the simulated fleet do exactly what the plan
// says, and settles the interval at the real price under the site's
// contract. The oracle instead solves the whole period with perfect
// foresight; it is the upper bound the others are measured against.
//
// The fleet is ideal: machines draw and hash exactly what they are told,
// at once. The package reads no files (callers load prices, bitcoin
// history and load) and draws no charts (internal/report does).
package backtest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/price"
)

// Config is one backtest: the site and the history it replays.
type Config struct {
	From, To time.Time     // the period, [From, To), on interval boundaries
	Interval time.Duration // settlement interval (default 15m)
	Units    []dispatch.Unit
	Contract *contract.Contract // nil: index contract at spot
	SiteCap  energy.Power
	PoolFee  float64
	Prices   price.Schedule // real-time settled prices; must cover [From, To) without gaps
	DAM      price.Schedule // day-ahead prices (optional); a policy sees a day once published
	// DAMPublished is the local hour of the day before delivery at
	// which day-ahead prices become known (default 13, ERCOT's ~1 pm).
	DAMPublished int
	// BTC is the daily economics; it must cover every UTC day of the
	// period. Policies see the previous day's (see Warnings).
	BTC []bitcoin.Day
	// Risk is the 4CP peak-risk of each hour (start, UTC) as known before
	// that hour; missing hours have no risk.
	Risk map[time.Time]float64
	// Peaks are the real 4CP monthly peak hours (for settlement and the
	// oracle).
	Peaks       []energy.Interval
	Deployments []contract.Deployment
	// Generation is the behind-the-meter generation per interval start
	// (UTC), watts; policies see the previous interval's (persistence),
	// the oracle and settlement the interval's own.
	Generation map[time.Time]energy.Power
	// Recent is how many settled prices a policy sees (default 16).
	Recent int
	// Progress, if set, is called with the intervals done and the total.
	Progress func(done, total int)
}

// Row is one settled interval of one policy.
type Row struct {
	Interval energy.Interval
	Spot     energy.Price // the settled price
	Expected energy.Price // the price the policy planned with
	Mining   energy.Power // average mining draw
	AI       energy.Power // average AI draw
	Hashrate energy.Hashrate
	Running  int
	BTC      ledger.MilliSats
	Revenue  ledger.Micros // mining revenue, after the pool fee
	Settle   contract.Settlement
	Net      ledger.Micros // Revenue + Settle.Net (the contract's credits net of costs)
	Reason   string
}

// Result is one policy's run over the period.
type Result struct {
	Policy string
	Rows   []Row
	Totals Totals
	// Oracle only: the solver's proven bound and gap.
	Bound, Gap float64
	Method     string
}

// ErrData is wrapped by errors about missing or bad history.
var ErrData = errors.New("backtest data")

func (c *Config) defaults() {
	if c.Interval == 0 {
		c.Interval = 15 * time.Minute
	}
	if c.DAMPublished == 0 {
		c.DAMPublished = 13
	}
	if c.Recent == 0 {
		c.Recent = 16
	}
}

// check validates the period and that the history covers it.
func (c *Config) check() ([]energy.Interval, error) {
	c.defaults()
	if !c.To.After(c.From) {
		return nil, fmt.Errorf("backtest: period %s to %s is empty", c.From.Format(time.RFC3339), c.To.Format(time.RFC3339))
	}
	if c.From.Truncate(c.Interval) != c.From || c.To.Truncate(c.Interval) != c.To {
		return nil, fmt.Errorf("backtest: period %s to %s must start and end on %s boundaries", c.From.Format(time.RFC3339), c.To.Format(time.RFC3339), c.Interval)
	}
	if len(c.Units) == 0 {
		return nil, errors.New("backtest: no fleet")
	}
	if gaps := c.Prices.Gaps(c.From, c.To); len(gaps) > 0 {
		return nil, fmt.Errorf("backtest: prices have %d gaps in the period, the first %s: %w", len(gaps), gaps[0], ErrData)
	}
	var ivs []energy.Interval
	for t := c.From; t.Before(c.To); t = t.Add(c.Interval) {
		ivs = append(ivs, energy.Interval{Start: t, End: t.Add(c.Interval)})
	}
	first := c.From.UTC().Truncate(24 * time.Hour)
	last := c.To.Add(-time.Nanosecond).UTC().Truncate(24 * time.Hour)
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		if _, ok := c.day(d); !ok {
			return nil, fmt.Errorf("backtest: bitcoin data has no %s (the period needs %s to %s, UTC days): %w", d.Format(time.DateOnly), first.Format(time.DateOnly), last.Format(time.DateOnly), ErrData)
		}
	}
	return ivs, nil
}

// Warnings lists what the run had to assume: today only that policies
// saw the first day's own bitcoin economics when the history has no day
// before the period (a day of look-ahead on hashprice).
func (c *Config) Warnings() []string {
	if len(c.BTC) == 0 {
		return nil
	}
	before := c.From.UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	if _, ok := c.day(before); ok {
		return nil
	}
	return []string{fmt.Sprintf("bitcoin data starts %s: policies saw that day's own economics until %s (live policies use the previous day's)",
		c.BTC[0].Date.Format(time.DateOnly), c.BTC[0].Date.AddDate(0, 0, 1).Format(time.DateOnly))}
}

func (c *Config) day(d time.Time) (bitcoin.Day, bool) {
	i, ok := slices.BinarySearchFunc(c.BTC, d, func(x bitcoin.Day, t time.Time) int { return x.Date.Compare(t) })
	if !ok {
		return bitcoin.Day{}, false
	}
	return c.BTC[i], true
}

// economics is the bitcoin economics of t's UTC day.
func (c *Config) economics(t time.Time) bitcoin.Economics {
	d, _ := c.day(t.UTC().Truncate(24 * time.Hour))
	return d.Economics()
}

// known is the economics a policy knows at t: the previous UTC day's, or,
// before the history starts, its first day's (see Warnings).
func (c *Config) known(t time.Time) bitcoin.Economics {
	d, ok := c.day(t.UTC().Truncate(24*time.Hour).AddDate(0, 0, -1))
	if !ok && len(c.BTC) > 0 && t.Before(c.BTC[0].Date.AddDate(0, 0, 1)) {
		d = c.BTC[0]
	}
	return d.Economics()
}

// spotAt returns the settled price in force at t (the point containing
// it: a 15-minute price, or an hourly one for coarser markets).
func (c *Config) spotAt(t time.Time) (energy.Price, bool) {
	p, ok := c.Prices.At(t)
	return p.Price, ok
}

// known returns the day-ahead points published by now.
func (c *Config) damKnown(now time.Time) price.Schedule {
	if len(c.DAM) == 0 {
		return nil
	}
	loc := price.ERCOTLocation()
	l := now.In(loc)
	end := time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
	if l.Hour() >= c.DAMPublished {
		end = end.AddDate(0, 0, 1)
	}
	return c.DAM.Between(now, end)
}

// Run replays the period through p.
func Run(cfg Config, p dispatch.Policy) (Result, error) {
	ivs, err := cfg.check()
	if err != nil {
		return Result{}, err
	}
	res := Result{Policy: p.Name(), Rows: make([]Row, 0, len(ivs))}
	units := slices.Clone(cfg.Units)
	var recent []energy.Price
	if pt, ok := cfg.Prices.At(cfg.From.Add(-cfg.Interval)); ok {
		recent = append(recent, pt.Price)
	}
	var prev energy.Power
	hasPrev := false
	for k, iv := range ivs {
		in := dispatch.Inputs{
			Now: iv.Start, Interval: iv, SiteCap: cfg.SiteCap, Units: units,
			Hashprice: cfg.known(iv.Start).Hashprice(),
			Contract:  cfg.Contract, Deployments: cfg.Deployments,
			Previous: prev, HasPrevious: hasPrev,
			PeakRisk:   cfg.Risk[iv.Start.Truncate(time.Hour)],
			Brief:      true, // the replay keeps only the plan's reason
			Generation: cfg.Generation[iv.Start.Add(-cfg.Interval)],
		}
		in.Forecast = cfg.damKnown(iv.Start)
		switch {
		case len(recent) > 0:
			in.Price = recent[len(recent)-1]
			in.Recent = recent
		case len(in.Forecast) > 0 && in.Forecast[0].Interval.Contains(iv.Start):
			in.Price = in.Forecast[0].Price
		default:
			// Nothing is known before the first interval: plan it at its
			// own price (the only look-ahead the replay allows, once).
			in.Price, _ = cfg.spotAt(iv.Start)
		}
		plan, err := p.Plan(in)
		if err != nil {
			return Result{}, fmt.Errorf("backtest %s: %s: %w", p.Name(), iv, err)
		}
		row, err := cfg.settle(iv, in.Price, units, plan)
		if err != nil {
			return Result{}, fmt.Errorf("backtest %s: %w", p.Name(), err)
		}
		res.Rows = append(res.Rows, row)
		units = advance(units, plan, iv.Start)
		prev, hasPrev = plan.Power, true
		recent = append(recent, row.Spot)
		if len(recent) > cfg.Recent {
			recent = recent[len(recent)-cfg.Recent:]
		}
		if cfg.Progress != nil && (k%96 == 95 || k == len(ivs)-1) {
			cfg.Progress(k+1, len(ivs))
		}
	}
	res.Totals, err = cfg.totals(res.Rows)
	return res, err
}

// The oracle's defaults: it stops once its schedule is within
// OracleTolerance (relative) of its proven bound, and spends at most
// OracleNeighbourhoodWork joint-DP moves (a fraction of a second) improving
// schedules the Lagrangian method leaves short of that. Result.Gap
// reports the gap reached: % of oracle is then good to about that much.
const (
	OracleTolerance         = 5e-4
	OracleNeighbourhoodWork = 50_000_000
)

// RunOracle solves the whole period with perfect foresight and settles it.
func RunOracle(cfg Config, pc dispatch.PlannerConfig) (Result, error) {
	ivs, err := cfg.check()
	if err != nil {
		return Result{}, err
	}
	peak := cfg.peakSet()
	steps := make([]dispatch.Step, len(ivs))
	for i, iv := range ivs {
		spot, _ := cfg.spotAt(iv.Start)
		steps[i] = dispatch.Step{Interval: iv, Price: spot, Hashprice: cfg.economics(iv.Start).Hashprice(), Generation: cfg.Generation[iv.Start]}
		if peak[iv.Start.Truncate(time.Hour)] {
			steps[i].PeakRisk = 1
		}
	}
	in := dispatch.Inputs{Now: cfg.From, Interval: ivs[0], SiteCap: cfg.SiteCap, Units: cfg.Units, Contract: cfg.Contract, Deployments: cfg.Deployments}
	pc.Breakeven.PoolFee = cfg.PoolFee
	pc.Breakeven.FourCP = true
	pc.PerUnit = true
	if pc.Options.Tolerance == 0 {
		pc.Options.Tolerance = OracleTolerance
	}
	if pc.Options.NeighbourhoodWork == 0 {
		pc.Options.NeighbourhoodWork = OracleNeighbourhoodWork
	}
	sched, err := dispatch.Solve(pc, in, steps)
	if err != nil {
		return Result{}, fmt.Errorf("backtest oracle: %w", err)
	}
	res := Result{Policy: dispatch.PolicyOracle, Rows: make([]Row, 0, len(ivs)), Bound: sched.Bound, Gap: sched.Gap, Method: sched.Method}
	units := slices.Clone(cfg.Units)
	for i, iv := range ivs {
		plan := sched.Plans[i]
		row, err := cfg.settle(iv, steps[i].Price, units, plan)
		if err != nil {
			return Result{}, fmt.Errorf("backtest oracle: %w", err)
		}
		res.Rows = append(res.Rows, row)
		units = advance(units, plan, iv.Start)
	}
	res.Totals, err = cfg.totals(res.Rows)
	return res, err
}

// isPeak reports whether iv lies in one of the 4CP peaks (a settlement
// peak only when the contract has a 4CP charge).
func (c *Config) isPeak(iv energy.Interval) bool {
	if c.Contract == nil || c.Contract.FourCP == nil {
		return false
	}
	for _, p := range c.Peaks {
		if !iv.Start.Before(p.Start) && !iv.End.After(p.End) {
			return true
		}
	}
	return false
}

func (c *Config) peakSet() map[time.Time]bool {
	m := make(map[time.Time]bool)
	for _, p := range c.Peaks {
		for t := p.Start; t.Before(p.End); t = t.Add(c.Interval) {
			m[t.Truncate(time.Hour)] = true
		}
	}
	return m
}

// advance applies plan to the units' state in place: the simulated fleet
// does what it is told at the start of the interval. (Policies keep no
// reference to the units they were given, so the replay reuses one slice.)
func advance(units []dispatch.Unit, plan dispatch.Plan, at time.Time) []dispatch.Unit {
	out := units
	for i, up := range plan.Units {
		run := up.Setpoint.Mode == miner.ModeRun
		u := &out[i]
		if run != u.Running {
			u.Since = at
		}
		u.Running = run
		u.State = miner.StateSleeping
		if run {
			u.State = miner.StateMining
		}
	}
	return out
}

// draw is what units draw and hash under plan.
func draw(units []dispatch.Unit, plan dispatch.Plan) (energy.Power, energy.Hashrate, int) {
	var w energy.Power
	var h energy.Hashrate
	n := 0
	for i, up := range plan.Units {
		c := units[i].Caps
		if up.Setpoint.Mode != miner.ModeRun {
			w += c.SleepPower
			continue
		}
		n++
		if up.Setpoint.Power <= 0 || up.Setpoint.Power >= c.NominalPower {
			w += c.NominalPower
			h += c.NominalHashrate
			continue
		}
		if s, ok := c.StepFor(up.Setpoint.Power); ok {
			w += s.Power
			h += s.Hashrate
		} else {
			w += c.SleepPower
		}
	}
	return w, h, n
}

// settle prices one interval of plan at the real price and the day's
// real bitcoin economics.
func (c *Config) settle(iv energy.Interval, expected energy.Price, units []dispatch.Unit, plan dispatch.Plan) (Row, error) {
	spot, ok := c.spotAt(iv.Start)
	if !ok {
		return Row{}, fmt.Errorf("%s: no settled price: %w", iv, ErrData)
	}
	w, h, n := draw(units, plan)
	row := Row{Interval: iv, Spot: spot, Expected: expected, Mining: w, Hashrate: h, Running: n, Reason: plan.Reason}
	e := c.economics(iv.Start)
	msat, rev, err := ledger.Mined(float64(h)*iv.Duration().Seconds()*(1-c.PoolFee), e.BTCPerTHDay(), e.PriceUSD)
	if err != nil {
		return Row{}, fmt.Errorf("%s: %w", iv, err)
	}
	row.BTC, row.Revenue = msat, rev
	var ai []energy.Power
	for _, a := range plan.AI {
		ai = append(ai, a.Power)
		row.AI += a.Power
	}
	ct := c.Contract
	if ct == nil {
		ct = &contract.Contract{}
	}
	f := contract.Facts{Interval: iv, Spot: spot, MiningW: w, AIW: ai, Deployments: c.Deployments, PeakInterval: c.isPeak(iv)}
	if ct.Renewables != nil {
		f.GenW = c.Generation[iv.Start]
	}
	s, err := ct.Settle(f)
	if err != nil {
		return Row{}, fmt.Errorf("%s: settle: %w", iv, err)
	}
	row.Settle = s
	row.Net = rev + s.AIValue - s.NetCost
	return row, nil
}

// Totals are a policy's economics over the period. Money is integer
// micro-dollars summed exactly from the rows; Net = Revenue + AIValue −
// NetCost (energy cost net of resale and export credits, minus DR/AS
// capacity credits, plus penalties) − the 4CP charge the period's peaks
// set − demand charges.
type Totals struct {
	Intervals    int
	Energy       energy.Energy    // mining + AI load drawn
	ImportEnergy energy.Energy    // from the grid
	BTC          ledger.MilliSats // mined, after the pool fee
	Revenue      ledger.Micros    // mining revenue
	PowerCost    ledger.Micros    // fixed-price block + spot purchases
	Resale       ledger.Micros    // unused block power resold
	Export       ledger.Micros    // behind-the-meter generation exported
	EnergyCost   ledger.Micros    // PowerCost − Resale − Export
	DRCredit     ledger.Micros    // demand-response and ancillary capacity payments
	Penalty      ledger.Micros    // missed commitments
	AIValue      ledger.Micros
	FourCPTagKW  float64       // the site's 4CP tag from the period's peaks
	FourCPCharge ledger.Micros // the annual transmission charge that tag sets
	// FourCPPeaksKW is the site's import at each 4CP peak in the period.
	FourCPPeaksKW []float64
	// FourCPLowHours counts hours of the 4CP months the site drew under
	// half its fleet's nominal power (curtailed, for price or peak risk).
	FourCPLowHours float64
	DemandCharge   ledger.Micros
	Uptime         float64      // hash-time / the fleet's nominal hash-time
	EffectivePrice energy.Price // (EnergyCost − DRCredit + Penalty + 4CP + demand) / Energy
	Net            ledger.Micros
}

func (c *Config) totals(rows []Row) (Totals, error) {
	var t Totals
	ct := c.Contract
	if ct == nil {
		ct = &contract.Contract{}
	}
	ss := make([]contract.Settlement, len(rows))
	var hashTime, nominal float64
	var fleetTH energy.Hashrate
	for _, u := range c.Units {
		fleetTH += u.Caps.NominalHashrate
	}
	for i, r := range rows {
		ss[i] = r.Settle
		t.BTC += r.BTC
		t.Revenue += r.Revenue
		t.Net += r.Net
		hashTime += float64(r.Hashrate) * r.Interval.Duration().Seconds()
		nominal += float64(fleetTH) * r.Interval.Duration().Seconds()
	}
	var peaks []energy.Interval
	for _, p := range c.Peaks {
		if !p.Start.Before(c.From) && !p.End.After(c.To) {
			peaks = append(peaks, p)
		}
	}
	if ct.FourCP == nil {
		peaks = nil
	}
	bill, err := ct.Period(ss, peaks)
	if err != nil {
		return Totals{}, fmt.Errorf("backtest: %w", err)
	}
	b := bill.Totals
	t.Intervals = len(rows)
	t.Energy = b.LoadWh
	t.ImportEnergy = b.ImportWh
	t.PowerCost = b.BlockCost + b.SpotCost
	t.Resale, t.Export, t.EnergyCost = b.ResaleCredit, b.ExportCredit, b.EnergyCost
	t.DRCredit, t.Penalty, t.AIValue = b.CapacityCredit, b.Penalty, b.AIValue
	t.FourCPTagKW, t.FourCPCharge = bill.FourCP.TagKW, bill.FourCP.AnnualCharge
	for _, p := range bill.FourCP.Peaks {
		t.FourCPPeaksKW = append(t.FourCPPeaksKW, p.ImportKW)
	}
	if ct.FourCP != nil {
		var fleetW energy.Power
		for _, u := range c.Units {
			fleetW += u.Caps.NominalPower
		}
		months := ct.FourCP.PeakMonths()
		loc := price.ERCOTLocation()
		for _, r := range rows {
			if slices.Contains(months, r.Interval.Start.In(loc).Month()) && r.Mining < fleetW/2 {
				t.FourCPLowHours += r.Interval.Duration().Hours()
			}
		}
	}
	t.DemandCharge = bill.DemandCharge
	t.Net -= t.FourCPCharge + t.DemandCharge
	if nominal > 0 {
		t.Uptime = hashTime / nominal
	}
	if mwh := t.Energy.MWh(); mwh > 0 {
		t.EffectivePrice = energy.Price((t.EnergyCost - t.DRCredit + t.Penalty + t.FourCPCharge + t.DemandCharge).USD() / mwh)
	}
	return t, nil
}
