package dispatch

import (
	"fmt"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
)

// BreakevenConfig tunes the breakeven merit-order policy and its variants.
type BreakevenConfig struct {
	// Hysteresis widens the breakeven into a band: a sleeping unit starts
	// only when its price <= its breakeven − Hysteresis, and a running
	// unit stops only when its price > its breakeven + Hysteresis.
	Hysteresis energy.Price
	// MinRun: a unit that started less than MinRun ago keeps running
	// (unless the site cap forces it off).
	MinRun time.Duration
	// MinSleep: a unit that stopped less than MinSleep ago stays asleep.
	MinSleep time.Duration
	// PowerAdder is added to the market price when the site has no
	// contract (Inputs.Contract nil); with a contract its adders apply.
	PowerAdder energy.Price
	// PoolFee is the fraction of revenue the pool keeps, in [0, 1).
	PoolFee float64
	// CurtailAfter is strike-price persistence: a running unit stops only
	// when its price has been above its breakeven (+ Hysteresis) for this
	// many consecutive intervals, this one's expected price and the
	// settled Inputs.Recent ones before it (0 or 1: at once).
	CurtailAfter int
	// ResumeAfter: a sleeping unit starts only after this many
	// consecutive intervals at or under its breakeven (− Hysteresis).
	ResumeAfter int
	// RampPerMinute limits how fast the site's flexible draw may change,
	// in watts per minute (0: no limit). A plan changes the draw by at
	// most RampPerMinute × the interval's minutes from Inputs.Previous.
	RampPerMinute energy.Power
	// Partial runs each unit at the power step that earns the most at its
	// price (efficiency improves at lower power) instead of nominal.
	Partial bool
	// FourCP adds the 4CP transmission charge, weighted by
	// Inputs.PeakRisk, to the price of imported power.
	FourCP bool
	// AlwaysOn runs every unit whatever the price; only the cap,
	// deployments and the ramp limit stop units.
	AlwaysOn bool
	// Strike, when positive, is a fixed curtailment price in $/MWh of
	// power cost: every unit runs while its power costs at most Strike and
	// stops above it, whatever the hashprice (the fixed strike many
	// operators set). Zero: each unit's own breakeven. Partial power steps
	// are not used with a strike.
	Strike energy.Price
}

// Breakeven is the merit-order policy: every unit whose breakeven power
// price is above what its power costs runs, most efficient first, with
// hysteresis, strike-price persistence, minimum run and sleep times, the
// site ramp limit, commitments and the site cap. Its variants (partial
// power, 4CP avoidance, always-on) are flags of the same allocation.
//
// A unit's breakeven is bitcoin.Breakeven(hashprice × (1 − PoolFee), its
// J/TH). What its power costs is the average price of the site's cost
// curve over the unit's draw on top of the units admitted before it: with
// no contract a flat Price + PowerAdder; with one, the contract's curve
// (behind-the-meter generation, the fixed-price block's resale value,
// spot plus adders above it, and the risk-weighted 4CP charge when FourCP
// is set). Decisions, in order:
//
//   - Offline units are planned Sleep ("offline"). One that was last
//     Running has its NominalPower reserved against the cap, since it may
//     still be drawing it. Units that cannot sleep run and are reserved.
//   - A unit stopped less than MinSleep ago stays asleep.
//   - The rest are decided in merit order (held-by-MinRun first, then
//     J/TH ascending, ties by ID) by the hysteresis and persistence rules
//     at their position on the curve. A unit that does not fit under the
//     cap runs at its highest PowerStep that fits (if that still pays, or
//     it is held); otherwise it sleeps ("site cap").
//   - Commitments: while the droppable running load is under the
//     contract's floor, units that priced out run anyway.
//   - The ramp limit: if the draw would rise faster than allowed, the
//     least efficient new starts wait; if it would fall faster, the most
//     efficient stopping units keep running. Deployments and the cap are
//     obligations and are not slowed by the ramp limit.
//
// Sleeping units count at SleepPower. When reservations alone exceed the
// cap nothing else runs and the plan's Reason says so.
type Breakeven struct {
	cfg  BreakevenConfig
	name string
}

// NewBreakeven validates cfg and returns the policy.
func NewBreakeven(cfg BreakevenConfig) (*Breakeven, error) {
	if err := energy.Check("breakeven policy: hysteresis", float64(cfg.Hysteresis)); err != nil {
		return nil, err
	}
	switch {
	case cfg.Hysteresis < 0:
		return nil, fmt.Errorf("breakeven policy: hysteresis %v must not be negative", cfg.Hysteresis)
	case cfg.MinRun < 0:
		return nil, fmt.Errorf("breakeven policy: min run %v must not be negative", cfg.MinRun)
	case cfg.MinSleep < 0:
		return nil, fmt.Errorf("breakeven policy: min sleep %v must not be negative", cfg.MinSleep)
	case cfg.CurtailAfter < 0 || cfg.ResumeAfter < 0:
		return nil, fmt.Errorf("breakeven policy: curtail after %d and resume after %d must not be negative", cfg.CurtailAfter, cfg.ResumeAfter)
	}
	if err := energy.Check("breakeven policy: strike", float64(cfg.Strike)); err != nil || cfg.Strike < 0 {
		return nil, fmt.Errorf("breakeven policy: strike %v must be a price >= 0", cfg.Strike)
	}
	if err := energy.Check("breakeven policy: power adder", float64(cfg.PowerAdder)); err != nil {
		return nil, err
	}
	if !(cfg.PoolFee >= 0 && cfg.PoolFee < 1) {
		return nil, fmt.Errorf("breakeven policy: pool fee %v must be in [0, 1)", cfg.PoolFee)
	}
	if _, err := energy.NewPower("breakeven policy: ramp per minute", float64(cfg.RampPerMinute)); err != nil {
		return nil, err
	}
	name := PolicyBreakeven
	switch {
	case cfg.AlwaysOn:
		name = PolicyAlwaysOn
	case cfg.Partial:
		name = PolicyPartialPower
	}
	if cfg.FourCP {
		name += "+" + PolicyFourCP
	}
	return &Breakeven{cfg: cfg, name: name}, nil
}

// Name returns the policy's canonical name: "breakeven", "partial-power"
// or "always-on", with "+fourcp" when FourCP is set.
func (b *Breakeven) Name() string { return b.name }

// Config returns the policy's configuration.
func (b *Breakeven) Config() BreakevenConfig { return b.cfg }

// Plan decides every unit for in.Interval. See Breakeven for the rules.
func (b *Breakeven) Plan(in Inputs) (Plan, error) {
	if err := in.Validate(); err != nil {
		return Plan{}, fmt.Errorf("%s policy: %w", b.name, err)
	}
	cfg := b.cfg
	fr, err := frameFor(in, cfg.PowerAdder, cfg.RampPerMinute, cfg.FourCP)
	if err != nil {
		return Plan{}, fmt.Errorf("%s policy: %w", b.name, err)
	}
	net := bitcoin.Hashprice(float64(in.Hashprice) * (1 - cfg.PoolFee))
	r := newReasons(cfg)
	r.brief = in.Brief
	a := &allocator{minRun: cfg.MinRun, minSleep: cfg.MinSleep, net: net, always: cfg.AlwaysOn, r: r}
	plan := Plan{Policy: b.name, Interval: in.Interval, Price: in.Price, Ramp: cfg.RampPerMinute}
	st := a.run(in, fr, &plan, b.chooser(in, net, r))

	plan.Breakeven = fleetBreakeven(in.Units, net, fr.curve[0].Price-in.Price)
	plan.Reason = b.summary(in, fr, plan, st)
	return plan, nil
}

// chooser returns the breakeven decision rule for in.
func (b *Breakeven) chooser(in Inputs, net bitcoin.Hashprice, r *reasons) chooser {
	cfg := b.cfg
	h := cfg.Hysteresis
	return func(c cand, u *Unit, priceFor pricer) choice {
		caps := u.Caps
		delta := caps.NominalPower - caps.SleepPower
		if cfg.AlwaysOn {
			return choice{run: true, sp: miner.Run(0), delta: delta, reason: reasonAlwaysOn}
		}
		sp := miner.Run(0)
		price := priceFor.at(delta)
		be := bitcoin.Breakeven(net, caps.NominalEfficiency())
		switch {
		case cfg.Strike > 0:
			be = cfg.Strike
		case cfg.Partial && len(caps.PowerSteps) > 0:
			sp, delta, price, be = bestStep(caps, net, priceFor)
		}
		offset := price - in.Price
		if c.running {
			switch {
			case price <= be:
				return choice{true, sp, delta, r.get(kindBelow, price, be, sp)}
			case price <= be+h:
				return choice{true, sp, delta, r.get(kindBandRun, price, be, sp)}
			case cfg.CurtailAfter > 1 && streak(in.Recent, offset, func(p energy.Price) bool { return p > be+h }) < cfg.CurtailAfter-1:
				return choice{true, sp, delta, r.get(kindPersistRun, price, be, sp)}
			}
			return choice{false, miner.Sleep(), 0, r.get(kindAbove, price, be, sp)}
		}
		switch {
		case price <= be-h:
			if cfg.ResumeAfter > 1 && streak(in.Recent, offset, func(p energy.Price) bool { return p <= be-h }) < cfg.ResumeAfter-1 {
				return choice{false, miner.Sleep(), 0, r.get(kindPersistSleep, price, be, sp)}
			}
			return choice{true, sp, delta, r.get(kindBelow, price, be, sp)}
		case price <= be:
			return choice{false, miner.Sleep(), 0, r.get(kindBandSleep, price, be, sp)}
		}
		return choice{false, miner.Sleep(), 0, r.get(kindAbove, price, be, sp)}
	}
}

// fleetBreakeven is the market price at which a unit of the fleet's
// average nominal efficiency breaks even, offset being what the cheapest
// power costs above the market price (adders); 0 for an empty fleet.
func fleetBreakeven(units []Unit, net bitcoin.Hashprice, offset energy.Price) energy.Price {
	var w energy.Power
	var th energy.Hashrate
	for _, u := range units {
		w += u.Caps.NominalPower
		th += u.Caps.NominalHashrate
	}
	if th <= 0 {
		return 0
	}
	return bitcoin.Breakeven(net, energy.EfficiencyOf(w, th)) - offset
}

// bestStep picks the operating point (a power step, or nominal) that
// earns the most per hour at its price, returning its setpoint, power
// over sleep, price and breakeven.
func bestStep(caps miner.Capabilities, net bitcoin.Hashprice, priceFor pricer) (miner.Setpoint, energy.Power, energy.Price, energy.Price) {
	type opt struct {
		sp        miner.Setpoint
		p         energy.Power
		h         energy.Hashrate
		price, be energy.Price
		margin    float64
	}
	var best opt
	consider := func(sp miner.Setpoint, p energy.Power, h energy.Hashrate) {
		d := p - caps.SleepPower
		price := priceFor.at(d)
		o := opt{sp: sp, p: p, h: h, price: price, be: bitcoin.Breakeven(net, energy.EfficiencyOf(p, h))}
		// $ per hour: hashing value minus the cost of the extra draw.
		o.margin = float64(h)*float64(net)/24 - float64(d)*1e-6*float64(price)
		if best.p == 0 || o.margin > best.margin {
			best = o
		}
	}
	consider(miner.Run(0), caps.NominalPower, caps.NominalHashrate)
	for _, s := range caps.PowerSteps {
		if s.Power < caps.NominalPower && s.Hashrate > 0 {
			consider(miner.Run(s.Power), s.Power, s.Hashrate)
		}
	}
	return best.sp, best.p - caps.SleepPower, best.price, best.be
}

// streak counts how many of the most recent settled prices, shifted by
// offset (the unit's position on the cost curve), satisfy ok in a row.
func streak(recent []energy.Price, offset energy.Price, ok func(energy.Price) bool) int {
	n := 0
	for i := len(recent) - 1; i >= 0 && ok(recent[i]+offset); i-- {
		n++
	}
	return n
}

// decision kinds, which also select the unit's reason.
type kind int

const (
	kindBelow        kind = iota // run: price at or under breakeven (− H to start)
	kindBandRun                  // run: above breakeven but inside +H, already running
	kindAbove                    // sleep: price above breakeven (+ H to stop)
	kindBandSleep                // sleep: under breakeven but not by H, already asleep
	kindHeldRun                  // run: would stop, but started less than MinRun ago
	kindHeldSleep                // sleep: stopped less than MinSleep ago
	kindPersistRun               // run: above breakeven, but not for CurtailAfter intervals yet
	kindPersistSleep             // sleep: under breakeven, but not for ResumeAfter intervals yet
)

// Fixed unit reasons.
const (
	reasonOffline         = "offline"
	reasonOfflineReserved = "offline; was running, nominal power reserved against the site cap"
	reasonCannotSleep     = "cannot sleep"
	reasonAlwaysOn        = "always on"
)

// reasons builds per-unit reason strings, caching them because a fleet
// has few distinct models and prices, and formatting thousands of
// identical strings is most of a plan's cost.
type reasons struct {
	cfg   BreakevenConfig
	cache map[reasonKey]string
	brief bool // the rule only, without its numbers (Inputs.Brief)
}

type reasonKey struct {
	kind      kind
	price, be energy.Price
	power     energy.Power
	name      string
	d         time.Duration
}

func newReasons(cfg BreakevenConfig) *reasons {
	return &reasons{cfg: cfg, cache: make(map[reasonKey]string)}
}

func (r *reasons) memo(k reasonKey, f func() string) string {
	if s, ok := r.cache[k]; ok {
		return s
	}
	s := f()
	r.cache[k] = s
	return s
}

// get is the reason for an economic decision at price against be; sp is
// the operating point (a partial power when sp.Power > 0).
func (r *reasons) get(k kind, p, be energy.Price, sp miner.Setpoint) string {
	if r.brief {
		s := briefReasons[k]
		if sp.Power > 0 {
			s += " (partial power)"
		}
		if r.cfg.Strike > 0 {
			s = strings.ReplaceAll(s, "breakeven", "strike")
		}
		return s
	}
	return r.memo(reasonKey{kind: k, price: p, be: be, power: sp.Power}, func() string {
		h := r.cfg.Hysteresis
		var s string
		switch k {
		case kindBelow:
			s = fmt.Sprintf("below breakeven: price %s <= breakeven %s", p, be)
		case kindBandRun:
			s = fmt.Sprintf("hysteresis: price %s above breakeven %s by less than %s; keep running", p, be, h)
		case kindAbove:
			s = fmt.Sprintf("above breakeven: price %s > breakeven %s", p, be)
		case kindBandSleep:
			s = fmt.Sprintf("hysteresis: price %s below breakeven %s by less than %s; stay asleep", p, be, h)
		case kindPersistRun:
			s = fmt.Sprintf("strike persistence: price %s > breakeven %s for fewer than %d intervals; keep running", p, be, r.cfg.CurtailAfter)
		case kindPersistSleep:
			s = fmt.Sprintf("strike persistence: price %s <= breakeven %s for fewer than %d intervals; stay asleep", p, be, r.cfg.ResumeAfter)
		}
		if sp.Power > 0 {
			s += fmt.Sprintf(" (at %s, its best margin)", sp.Power)
		}
		if r.cfg.Strike > 0 {
			s = strings.ReplaceAll(s, "breakeven", "strike")
		}
		return s
	})
}

// briefReasons name each economic rule without its numbers (Inputs.Brief).
var briefReasons = map[kind]string{
	kindBelow:        "below breakeven",
	kindBandRun:      "hysteresis: above breakeven inside the band; keep running",
	kindAbove:        "above breakeven",
	kindBandSleep:    "hysteresis: below breakeven inside the band; stay asleep",
	kindPersistRun:   "strike persistence: keep running",
	kindPersistSleep: "strike persistence: stay asleep",
}

// fixed is the reason for a min run or min sleep hold.
func (r *reasons) fixed(k kind, d time.Duration) string {
	return r.memo(reasonKey{kind: k, d: d}, func() string {
		if k == kindHeldRun {
			return fmt.Sprintf("min run: started less than %s ago", d)
		}
		return fmt.Sprintf("min sleep: stopped less than %s ago", d)
	})
}

func (r *reasons) capStep(step miner.PowerStep) string {
	return r.memo(reasonKey{kind: -1, power: step.Power, name: step.Name}, func() string {
		return fmt.Sprintf("site cap: partial power at step %q (%s)", step.Name, step.Power)
	})
}

func (r *reasons) capNoRoom(d energy.Power) string {
	return r.memo(reasonKey{kind: -2, power: d}, func() string {
		return fmt.Sprintf("site cap: no headroom for %s", d)
	})
}

// summary writes the plan's one-line reason, e.g. "price $42.10/MWh <
// fleet breakeven $61.00/MWh: 300 of 300 units run; cap not binding".
func (b *Breakeven) summary(in Inputs, fr frame, p Plan, c alloc) string {
	var sb strings.Builder
	rel := "="
	switch {
	case p.Price < p.Breakeven:
		rel = "<"
	case p.Price > p.Breakeven:
		rel = ">"
	}
	if b.cfg.AlwaysOn {
		sb.WriteString("always on: ")
	}
	fmt.Fprintf(&sb, "price %s %s fleet breakeven %s", p.Price, rel, p.Breakeven)
	if in.Contract == nil && (b.cfg.PowerAdder != 0 || b.cfg.PoolFee != 0) {
		fmt.Fprintf(&sb, " (net of %s adders, %.1f%% pool fee)", b.cfg.PowerAdder, b.cfg.PoolFee*100)
	} else if b.cfg.PoolFee != 0 {
		fmt.Fprintf(&sb, " (net of %.1f%% pool fee)", b.cfg.PoolFee*100)
	}
	if fr.peakAdd > 0 {
		fmt.Fprintf(&sb, "; 4CP peak risk %.1f%% adds %s to imported power", in.PeakRisk*100, fr.peakAdd)
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
		{c.floorRun, "kept for commitments"},
		{c.ramped, "held by the ramp limit"},
	} {
		if e.n > 0 {
			extra = append(extra, fmt.Sprintf("%d %s", e.n, e.what))
		}
	}
	if len(extra) > 0 {
		fmt.Fprintf(&sb, " (%s)", strings.Join(extra, ", "))
	}
	for _, a := range p.AI {
		if !a.Firm && a.Run {
			fmt.Fprintf(&sb, "; AI %s runs", a.Name)
		}
	}
	for _, n := range fr.notes {
		fmt.Fprintf(&sb, "; %s", n)
	}
	switch {
	case fr.cap == inf:
		fmt.Fprintf(&sb, "; no site cap; planned %s", p.Power)
	case c.base > fr.cap+capTolerance:
		fmt.Fprintf(&sb, "; cap %s exceeded by reserved and sleeping load %s (%s reserved for offline and can't-sleep units)", fr.cap, c.base, c.reserved)
	case c.curtailed > 0 || c.partial > 0:
		fmt.Fprintf(&sb, "; cap %s binding: %d units curtailed, planned %s", fr.cap, c.curtailed, p.Power)
	default:
		fmt.Fprintf(&sb, "; cap %s not binding, planned %s", fr.cap, p.Power)
	}
	return sb.String()
}

// Compile-time check that Breakeven is a Policy.
var _ Policy = (*Breakeven)(nil)
