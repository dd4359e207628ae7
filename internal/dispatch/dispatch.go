// Package dispatch decides, for one planning interval, which miners run, at
// what power, and which sleep. A Policy takes Inputs (the time, the
// interval, the expected power price, the prices settled before it, any
// price forecast, the hashprice, the site's contract and obligations, the
// 4CP peak risk and the fleet's last observed state) and returns a Plan
// with one setpoint per unit, a decision per AI load and a human-readable
// reason for each.
//
// Policies have one canonical name each (Names, New): always-on,
// breakeven, partial-power, fourcp (a modifier: "+fourcp"), planner, and
// the offline oracle (Solve over a whole period with perfect foresight).
// The per-interval policies share one allocation (allocate.go) that walks
// units in merit order along the contract's cost curve of the site's
// flexible draw, and applies the constraints in a fixed order: the cap
// (site import cap and deployments), the site ramp limit, commitment
// floors, min run and sleep, then economics. The planner and the oracle
// build a scheduling model of classes of identical units and solve it with
// internal/dispatch/optimize.
//
// Dispatch is pure: it does no I/O, reads no clock (Now comes in Inputs),
// starts no goroutine and keeps no state between calls, so the live site
// loop and the backtester run the same code and get the same answers. It
// does not fetch prices or load, talk to miners, check telemetry freshness
// (the caller marks stale units StateOffline), stagger commands in time
// (the live loop does, from Plan.Ramp) or settle money (internal/contract
// and internal/ledger).
package dispatch

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/price"
)

// Unit is one controllable machine as dispatch sees it.
type Unit struct {
	ID    string
	Caps  miner.Capabilities // NominalPower/Hashrate, PowerSteps, SleepPower, CanSleep, ...
	State miner.State        // last observed; StateOffline when telemetry is missing or stale
	// Running is true if the unit is currently mining or waking, as
	// commanded or observed.
	Running bool
	// Since is when Running last changed; zero means unknown, and then no
	// minimum run or sleep duration holds the unit.
	Since time.Time
}

// Inputs is everything a policy may know when planning one interval. No
// field may hold what was not known at Now: the caller (the live loop or
// the backtester) fills Price, Recent, Forecast and PeakRisk from data
// published before Now.
type Inputs struct {
	Now       time.Time
	Interval  energy.Interval   // the interval being planned
	Price     energy.Price      // expected power price for Interval, as known at Now
	Hashprice bitcoin.Hashprice // expected revenue, before pool fees
	Units     []Unit
	SiteCap   energy.Power // site import cap; 0 means none

	// Recent holds the settled market prices of the intervals just before
	// Interval, oldest first (strike-price persistence counts them).
	Recent []energy.Price
	// Forecast holds the prices expected from Interval on, as known at
	// Now (day-ahead prices, or a live curve); the planner optimises over
	// it. It may be empty.
	Forecast price.Schedule
	// Contract is the site's power contract and grid obligations; nil
	// means a plain index contract at Price plus the policy's adder.
	Contract *contract.Contract
	// Generation is the behind-the-meter generation expected in Interval.
	Generation energy.Power
	// Deployments are the demand-response deployments known at Now
	// (active or announced).
	Deployments []contract.Deployment
	// Emergency is a grid emergency: firm AI loads may be curtailed too.
	Emergency bool
	// Floor is a draw a demand-response dispatch setpoint asks the site
	// to keep (W of flexible draw; 0 none). Like a commitment floor it
	// keeps units running that economics would stop, never above the cap.
	Floor energy.Power
	// Brief asks for per-unit reasons that name the rule without its
	// numbers ("above breakeven"), for callers that keep only the plan's
	// summary reason (backtests replaying a year of intervals).
	Brief bool
	// PeakRisk is the estimated probability that Interval falls in its
	// month's 4CP system peak hour (0 when unknown or out of season).
	PeakRisk float64
	// Previous is the site's flexible draw planned for the interval
	// before (the site ramp limit counts from it); HasPrevious says
	// whether it is known.
	Previous    energy.Power
	HasPrevious bool
}

// Segment is one piece of the convex cost curve of the site's flexible
// draw: the next Width watts cost Price.
type Segment struct {
	Width energy.Power // may be +Inf on the last segment
	Price energy.Price
}

// AIPlan is the decision for one AI/GPU load of the contract.
type AIPlan struct {
	Name   string
	Run    bool
	Power  energy.Power
	Firm   bool
	Reason string
}

// UnitPlan is the decision for one unit.
type UnitPlan struct {
	ID       string
	Setpoint miner.Setpoint
	Reason   string
}

// Plan is a policy's decision for one interval.
type Plan struct {
	Policy   string
	Interval energy.Interval
	Price    energy.Price // the input price, without adders
	// Breakeven is the market price (comparable with Price, so net of the
	// policy's adders and pool fee) at which a unit of the fleet's nominal
	// average efficiency (total nominal W / total nominal TH/s) breaks even.
	Breakeven energy.Price
	// Power is the planned site draw: running units at their planned power,
	// sleeping units at SleepPower, and offline units that were last running
	// at NominalPower (reserved for cap safety).
	Power             energy.Power
	Running, Sleeping int
	Units             []UnitPlan // one per input unit, in input order
	AI                []AIPlan   // one per AI load of the contract, in contract order
	// Floor and Cap bound the flexible draw (mining and deferrable AI):
	// Floor is the droppable load commitments keep running, Cap the limit
	// from the site cap and deployments (+Inf when none).
	Floor, Cap energy.Power
	// Ramp is the site's ramp limit in watts per minute (0: none); the
	// live loop staggers its commands so no minute steps more than this.
	Ramp   energy.Power
	Reason string // one-line human explanation
}

// Policy turns Inputs into a Plan. Implementations are deterministic: the
// same Inputs give the same Plan, and the order of Inputs.Units changes
// nothing but the order of Plan.Units.
type Policy interface {
	Name() string
	Plan(in Inputs) (Plan, error)
}

// ErrInvalidInputs is wrapped by every error about bad Inputs.
var ErrInvalidInputs = errors.New("invalid dispatch inputs")

// Validate checks in: a set Now, a non-empty interval, finite price, a
// finite non-negative hashprice and site cap, and units with unique
// non-empty IDs, positive finite nominal power and hashrate, a finite
// non-negative sleep power no greater than nominal power, strictly
// ascending positive power steps and a known state (empty counts as
// unknown). Errors name the unit.
func (in Inputs) Validate() error {
	switch {
	case in.Now.IsZero():
		return fmt.Errorf("now is not set: %w", ErrInvalidInputs)
	case !in.Interval.End.After(in.Interval.Start):
		return fmt.Errorf("interval %v: %w: %w", in.Interval, energy.ErrBadInterval, ErrInvalidInputs)
	}
	if err := energy.Check("price", float64(in.Price)); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalidInputs)
	}
	if err := energy.Check("hashprice", float64(in.Hashprice)); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalidInputs)
	}
	if in.Hashprice < 0 {
		return fmt.Errorf("hashprice %v is negative: %w", float64(in.Hashprice), ErrInvalidInputs)
	}
	if _, err := energy.NewPower("site cap", float64(in.SiteCap)); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalidInputs)
	}
	for i, p := range in.Recent {
		if math.IsNaN(float64(p)) || math.IsInf(float64(p), 0) {
			return fmt.Errorf("%w: %w", energy.Check(fmt.Sprintf("recent price %d", i), float64(p)), ErrInvalidInputs)
		}
	}
	if err := in.Forecast.Validate(); err != nil {
		return fmt.Errorf("forecast: %w: %w", err, ErrInvalidInputs)
	}
	if _, err := energy.NewPower("generation", float64(in.Generation)); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalidInputs)
	}
	if !(in.PeakRisk >= 0 && in.PeakRisk <= 1) {
		return fmt.Errorf("peak risk %v must be in [0, 1]: %w", in.PeakRisk, ErrInvalidInputs)
	}
	if _, err := energy.NewPower("floor", float64(in.Floor)); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalidInputs)
	}
	if _, err := energy.NewPower("previous draw", float64(in.Previous)); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalidInputs)
	}
	if i, j, ok := duplicateID(in.Units); ok {
		return fmt.Errorf("unit %q: duplicate id at indexes %d and %d: %w", in.Units[j].ID, i, j, ErrInvalidInputs)
	}
	for i, u := range in.Units {
		if u.ID == "" {
			return fmt.Errorf("unit at index %d: empty id: %w", i, ErrInvalidInputs)
		}
		if err := validateUnit(u); err != nil {
			return fmt.Errorf("unit %q: %w: %w", u.ID, err, ErrInvalidInputs)
		}
	}
	return nil
}

// duplicateID finds two units with one id (i < j, j the lowest such).
// Fleets of up to 128 units (blocks of machines, as backtests replay
// every interval) are checked through sorted ids on the stack; larger
// ones through a map.
func duplicateID(units []Unit) (i, j int, ok bool) {
	if len(units) > 128 {
		seen := make(map[string]int, len(units))
		for j, u := range units {
			if i, dup := seen[u.ID]; dup {
				return i, j, true
			}
			seen[u.ID] = j
		}
		return 0, 0, false
	}
	var buf [128]string
	ids := buf[:len(units)]
	for k, u := range units {
		ids[k] = u.ID
	}
	slices.Sort(ids)
	for k := 1; k < len(ids); k++ {
		if ids[k] == ids[k-1] {
			// Rare: find the first repeat in index order.
			for j := range units {
				for i := range j {
					if units[i].ID == units[j].ID {
						return i, j, true
					}
				}
			}
		}
	}
	return 0, 0, false
}

func validateUnit(u Unit) error {
	c := u.Caps
	if !positive(float64(c.NominalPower)) {
		return fmt.Errorf("nominal power %v must be finite and positive", float64(c.NominalPower))
	}
	if !positive(float64(c.NominalHashrate)) {
		return fmt.Errorf("nominal hashrate %v must be finite and positive (zero efficiency)", float64(c.NominalHashrate))
	}
	if _, err := energy.NewPower("sleep power", float64(c.SleepPower)); err != nil {
		return err
	}
	if c.SleepPower > c.NominalPower {
		return fmt.Errorf("sleep power %v W exceeds nominal power %v W", float64(c.SleepPower), float64(c.NominalPower))
	}
	var prev energy.Power
	for i, s := range c.PowerSteps {
		if !positive(float64(s.Power)) {
			return fmt.Errorf("power step %d %q: power %v must be finite and positive", i, s.Name, float64(s.Power))
		}
		if h := float64(s.Hashrate); !(h >= 0) || math.IsInf(h, 1) {
			return fmt.Errorf("power step %d %q: hashrate %v must be finite and not negative", i, s.Name, h)
		}
		if i > 0 && s.Power <= prev {
			return fmt.Errorf("power step %d %q: power %v W does not ascend from %v W", i, s.Name, float64(s.Power), float64(prev))
		}
		prev = s.Power
	}
	if u.State != "" && !slices.Contains(miner.States, u.State) {
		return fmt.Errorf("unknown state %q", u.State)
	}
	return nil
}

func positive(v float64) bool { return v > 0 && !math.IsInf(v, 1) }
