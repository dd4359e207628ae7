package dispatch

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
)

// BreakevenConfig tunes the breakeven merit-order policy.
type BreakevenConfig struct {
	// Hysteresis widens the breakeven into a band: a sleeping unit starts
	// only when price+adder <= its breakeven − Hysteresis, and a running
	// unit stops only when price+adder > its breakeven + Hysteresis.
	Hysteresis energy.Price
	// MinRun: a unit that started less than MinRun ago keeps running
	// (unless the site cap forces it off).
	MinRun time.Duration
	// MinSleep: a unit that stopped less than MinSleep ago stays asleep.
	MinSleep time.Duration
	// PowerAdder is added to the market price (transmission, distribution
	// and other per-MWh adders). It may be negative for a credit.
	PowerAdder energy.Price
	// PoolFee is the fraction of revenue the pool keeps, in [0, 1).
	PoolFee float64
}

// Breakeven is the first dispatch policy: every unit whose breakeven power
// price exceeds the all-in price runs, in merit order (most efficient
// first), with hysteresis and minimum run and sleep durations, under a hard
// site import cap.
//
// A unit's breakeven is bitcoin.Breakeven(hashprice × (1 − PoolFee), its
// nominal J/TH), compared with Price + PowerAdder. Decisions, in order:
//
//   - Offline units are planned Sleep ("offline"). One that was last
//     Running has its NominalPower reserved against the cap, since it may
//     still be drawing it.
//   - Units that cannot sleep are planned Run at nominal power, reserved
//     against the cap first.
//   - Every other unit wants to run or sleep by the hysteresis rule, then
//     minimum durations hold it in its current state.
//   - Units that want to run are admitted under the cap: first those held
//     running by MinRun, then the rest, each group in merit order (nominal
//     J/TH ascending, ties by ID), so the cap drops the least efficient
//     first. A unit that does not fit at nominal power runs at its highest
//     PowerStep that fits the remaining headroom (and, unless held, is
//     profitable at the price); otherwise it sleeps ("site cap").
//
// Sleeping units count at SleepPower against the cap. When reservations
// alone exceed the cap nothing else runs and the plan's Reason says so; the
// policy cannot do better than stop every unit it controls. Unit reasons
// quote the all-in price (Price + PowerAdder) and the unit's breakeven net
// of the pool fee; the plan's Reason and Breakeven are in market terms.
type Breakeven struct {
	cfg BreakevenConfig
}

// NewBreakeven validates cfg and returns the policy. Hysteresis must be
// finite and not negative, MinRun and MinSleep not negative, PowerAdder
// finite and PoolFee in [0, 1).
func NewBreakeven(cfg BreakevenConfig) (*Breakeven, error) {
	if err := energy.Check("breakeven policy: hysteresis", float64(cfg.Hysteresis)); err != nil {
		return nil, err
	}
	if cfg.Hysteresis < 0 {
		return nil, fmt.Errorf("breakeven policy: hysteresis %v must not be negative", cfg.Hysteresis)
	}
	if cfg.MinRun < 0 {
		return nil, fmt.Errorf("breakeven policy: min run %v must not be negative", cfg.MinRun)
	}
	if cfg.MinSleep < 0 {
		return nil, fmt.Errorf("breakeven policy: min sleep %v must not be negative", cfg.MinSleep)
	}
	if err := energy.Check("breakeven policy: power adder", float64(cfg.PowerAdder)); err != nil {
		return nil, err
	}
	if !(cfg.PoolFee >= 0 && cfg.PoolFee < 1) {
		return nil, fmt.Errorf("breakeven policy: pool fee %v must be in [0, 1)", cfg.PoolFee)
	}
	return &Breakeven{cfg: cfg}, nil
}

// Name returns "breakeven".
func (b *Breakeven) Name() string { return "breakeven" }

// Config returns the policy's configuration.
func (b *Breakeven) Config() BreakevenConfig { return b.cfg }

// capTolerance absorbs float rounding when units exactly fill the cap.
const capTolerance energy.Power = 1e-6

// candidate is a unit that wants to run, waiting for cap admission.
type candidate struct {
	i    int
	held bool // held running by MinRun
	eff  energy.Efficiency
	id   string
}

// Plan decides every unit for in.Interval. See Breakeven for the rules.
func (b *Breakeven) Plan(in Inputs) (Plan, error) {
	if err := in.Validate(); err != nil {
		return Plan{}, fmt.Errorf("breakeven policy: %w", err)
	}
	cfg := b.cfg
	net := bitcoin.Hashprice(float64(in.Hashprice) * (1 - cfg.PoolFee))
	price := in.Price + cfg.PowerAdder
	r := newReasons(cfg, price)

	plan := Plan{
		Policy:   b.Name(),
		Interval: in.Interval,
		Price:    in.Price,
		Units:    make([]UnitPlan, len(in.Units)),
	}
	var (
		base               energy.Power // reservations + every sleepable unit at SleepPower
		totalW             energy.Power
		totalTH            energy.Hashrate
		cands              = make([]candidate, 0, len(in.Units))
		offline, mustRun   int
		heldRun, heldSleep int
		curtailed, partial int
		reserved           energy.Power
	)
	for i, u := range in.Units {
		totalW += u.Caps.NominalPower
		totalTH += u.Caps.NominalHashrate
		up := &plan.Units[i]
		up.ID = u.ID
		if u.State == miner.StateOffline {
			offline++
			up.Setpoint = miner.Sleep()
			if u.Running {
				base += u.Caps.NominalPower
				reserved += u.Caps.NominalPower
				up.Reason = reasonOfflineReserved
			} else {
				base += u.Caps.SleepPower
				up.Reason = reasonOffline
			}
			continue
		}
		if !u.Caps.CanSleep {
			mustRun++
			base += u.Caps.NominalPower
			reserved += u.Caps.NominalPower
			up.Setpoint = miner.Run(0)
			up.Reason = reasonCannotSleep
			continue
		}
		base += u.Caps.SleepPower
		eff := u.Caps.NominalEfficiency()
		be := bitcoin.Breakeven(net, eff)
		run, kind := b.decide(in.Now, u, price, be)
		switch kind {
		case kindHeldRun:
			heldRun++
		case kindHeldSleep:
			heldSleep++
		}
		if run {
			cands = append(cands, candidate{i: i, held: kind == kindHeldRun, eff: eff, id: u.ID})
			up.Reason = r.get(kind, be, u)
			continue
		}
		up.Setpoint = miner.Sleep()
		up.Reason = r.get(kind, be, u)
	}

	slices.SortFunc(cands, func(a, b candidate) int {
		if a.held != b.held {
			if a.held {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(a.eff, b.eff); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})

	capped := in.SiteCap > 0
	headroom := in.SiteCap - base
	power := base
	for _, c := range cands {
		u := in.Units[c.i]
		up := &plan.Units[c.i]
		delta := u.Caps.NominalPower - u.Caps.SleepPower
		if !capped || delta <= headroom+capTolerance {
			up.Setpoint = miner.Run(0)
			headroom -= delta
			power += delta
			continue
		}
		if step, ok := u.Caps.StepFor(headroom + u.Caps.SleepPower + capTolerance); ok &&
			step.Power > u.Caps.SleepPower &&
			(c.held || price <= bitcoin.Breakeven(net, energy.EfficiencyOf(step.Power, step.Hashrate))) {
			partial++
			d := step.Power - u.Caps.SleepPower
			headroom -= d
			power += d
			up.Setpoint = miner.Run(step.Power)
			up.Reason = r.get(kindCapStep, 0, u, step)
			continue
		}
		curtailed++
		if c.held {
			heldRun--
		}
		up.Setpoint = miner.Sleep()
		up.Reason = r.get(kindCap, 0, u)
	}

	for _, up := range plan.Units {
		if up.Setpoint.Mode == miner.ModeRun {
			plan.Running++
		} else {
			plan.Sleeping++
		}
	}
	plan.Power = power
	if totalTH > 0 {
		plan.Breakeven = bitcoin.Breakeven(net, energy.EfficiencyOf(totalW, totalTH)) - cfg.PowerAdder
	}
	plan.Reason = b.summary(in, plan, summaryCounts{
		offline: offline, mustRun: mustRun, heldRun: heldRun, heldSleep: heldSleep,
		curtailed: curtailed, partial: partial, reserved: reserved, base: base,
	})
	return plan, nil
}

// decision kinds, which also select the unit's reason.
type kind int

const (
	kindBelow     kind = iota // run: price at or under breakeven (− H to start)
	kindBandRun               // run: above breakeven but inside +H, already running
	kindAbove                 // sleep: price above breakeven (+ H to stop)
	kindBandSleep             // sleep: under breakeven but not by H, already asleep
	kindHeldRun               // run: would stop, but started less than MinRun ago
	kindHeldSleep             // sleep: would start, but stopped less than MinSleep ago
	kindCap                   // sleep: no headroom under the site cap
	kindCapStep               // run at a partial step that fits the headroom
)

// decide applies the hysteresis rule and the minimum durations to a
// sleepable, online unit and reports whether it wants to run.
func (b *Breakeven) decide(now time.Time, u Unit, price, be energy.Price) (bool, kind) {
	h := b.cfg.Hysteresis
	if u.Running {
		if price <= be+h {
			if price <= be {
				return true, kindBelow
			}
			return true, kindBandRun
		}
		if held(now, u.Since, b.cfg.MinRun) {
			return true, kindHeldRun
		}
		return false, kindAbove
	}
	if price <= be-h {
		if held(now, u.Since, b.cfg.MinSleep) {
			return false, kindHeldSleep
		}
		return true, kindBelow
	}
	if price <= be {
		return false, kindBandSleep
	}
	return false, kindAbove
}

// held reports whether less than d has passed since since. A zero since
// (unknown) never holds; a since after now (clock skew) holds.
func held(now, since time.Time, d time.Duration) bool {
	return d > 0 && !since.IsZero() && now.Sub(since) < d
}

// Fixed unit reasons.
const (
	reasonOffline         = "offline"
	reasonOfflineReserved = "offline; was running, nominal power reserved against the site cap"
	reasonCannotSleep     = "cannot sleep"
)

// reasons builds per-unit reason strings, caching them per (kind,
// breakeven, power, step) because a fleet has few distinct models and
// formatting thousands of identical strings is most of a plan's cost.
type reasons struct {
	cfg   BreakevenConfig
	price energy.Price
	cache map[reasonKey]string
}

type reasonKey struct {
	kind  kind
	be    energy.Price
	power energy.Power
	step  string
}

func newReasons(cfg BreakevenConfig, price energy.Price) *reasons {
	return &reasons{cfg: cfg, price: price, cache: make(map[reasonKey]string)}
}

func (r *reasons) get(k kind, be energy.Price, u Unit, step ...miner.PowerStep) string {
	key := reasonKey{kind: k, be: be}
	switch k {
	case kindCap:
		key.power = u.Caps.NominalPower - u.Caps.SleepPower
	case kindCapStep:
		key.power, key.step = step[0].Power, step[0].Name
	}
	if s, ok := r.cache[key]; ok {
		return s
	}
	var s string
	p, h := r.price, r.cfg.Hysteresis
	switch k {
	case kindBelow:
		s = fmt.Sprintf("below breakeven: price %s <= breakeven %s", p, be)
	case kindBandRun:
		s = fmt.Sprintf("hysteresis: price %s above breakeven %s by less than %s; keep running", p, be, h)
	case kindAbove:
		s = fmt.Sprintf("above breakeven: price %s > breakeven %s", p, be)
	case kindBandSleep:
		s = fmt.Sprintf("hysteresis: price %s below breakeven %s by less than %s; stay asleep", p, be, h)
	case kindHeldRun:
		s = fmt.Sprintf("min run: started less than %s ago; price %s > breakeven %s", r.cfg.MinRun, p, be)
	case kindHeldSleep:
		s = fmt.Sprintf("min sleep: stopped less than %s ago; price %s <= breakeven %s", r.cfg.MinSleep, p, be)
	case kindCap:
		s = fmt.Sprintf("site cap: no headroom for %s", key.power)
	case kindCapStep:
		s = fmt.Sprintf("site cap: partial power at step %q (%s)", key.step, key.power)
	}
	r.cache[key] = s
	return s
}

type summaryCounts struct {
	offline, mustRun, heldRun, heldSleep, curtailed, partial int
	reserved, base                                           energy.Power
}

// summary writes the plan's one-line reason, e.g. "price $42.10/MWh <
// fleet breakeven $61.00/MWh: 300 of 300 units run; cap not binding".
func (b *Breakeven) summary(in Inputs, p Plan, c summaryCounts) string {
	var sb strings.Builder
	rel := "="
	switch {
	case p.Price < p.Breakeven:
		rel = "<"
	case p.Price > p.Breakeven:
		rel = ">"
	}
	fmt.Fprintf(&sb, "price %s %s fleet breakeven %s", p.Price, rel, p.Breakeven)
	if b.cfg.PowerAdder != 0 || b.cfg.PoolFee != 0 {
		fmt.Fprintf(&sb, " (net of %s adders, %.1f%% pool fee)", b.cfg.PowerAdder, b.cfg.PoolFee*100)
	}
	fmt.Fprintf(&sb, ": %d of %d units run", p.Running, len(in.Units))
	var extra []string
	for _, e := range []struct {
		n    int
		what string
	}{
		{c.offline, "offline"},
		{c.mustRun, "cannot sleep"},
		{c.heldRun, "held by min run"},
		{c.heldSleep, "held by min sleep"},
		{c.partial, "at partial power"},
	} {
		if e.n > 0 {
			extra = append(extra, fmt.Sprintf("%d %s", e.n, e.what))
		}
	}
	if len(extra) > 0 {
		fmt.Fprintf(&sb, " (%s)", strings.Join(extra, ", "))
	}
	switch {
	case in.SiteCap <= 0:
		fmt.Fprintf(&sb, "; no site cap; planned %s", p.Power)
	case c.base > in.SiteCap+capTolerance:
		fmt.Fprintf(&sb, "; cap %s exceeded by reserved and sleeping load %s (%s reserved for offline and can't-sleep units)", in.SiteCap, c.base, c.reserved)
	case c.curtailed > 0 || c.partial > 0:
		fmt.Fprintf(&sb, "; cap %s binding: %d units curtailed, planned %s", in.SiteCap, c.curtailed, p.Power)
	default:
		fmt.Fprintf(&sb, "; cap %s not binding, planned %s", in.SiteCap, p.Power)
	}
	return sb.String()
}

// Compile-time check that Breakeven is a Policy.
var _ Policy = (*Breakeven)(nil)
