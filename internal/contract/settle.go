package contract

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
)

// Facts is what happened over one settlement interval.
type Facts struct {
	Interval energy.Interval
	// Spot is the interval's settlement point price.
	Spot energy.Price
	// MiningW is the average mining draw.
	MiningW energy.Power
	// AIW is the average draw of each AI load, in Contract.AI order; nil
	// means no AI load ran.
	AIW []energy.Power
	// GenW is the average on-site generation available.
	GenW energy.Power
	// Deployments are the deployments known for the interval (any may
	// start or end outside it).
	Deployments []Deployment
	// PeakInterval marks the interval as a 4CP monthly system peak.
	PeakInterval bool
}

// Settlement is one interval settled under the contract. Energies are
// watt-hours over the interval; money is in micro-dollars, costs and
// credits both positive, rounded as the package doc says.
type Settlement struct {
	Interval     energy.Interval
	Spot         energy.Price
	PeakInterval bool

	// ImportW is the average grid import, max(0, load − generation); 4CP
	// tags and demand charges are measured on it.
	ImportW energy.Power

	MiningWh      energy.Energy
	AIWh          energy.Energy // all AI loads
	LoadWh        energy.Energy // MiningWh + AIWh
	GenWh         energy.Energy // generation available
	GenUsedWh     energy.Energy // generation serving the load: min(gen, load)
	ExportWh      energy.Energy // surplus generation exported (none unless the export price is above 0)
	SpillWh       energy.Energy // surplus generation spilled (all of it unless the export price is above 0)
	ImportWh      energy.Energy // LoadWh − GenUsedWh
	BlockWh       energy.Energy // import served by the block
	BlockUnusedWh energy.Energy // block energy resold
	SpotWh        energy.Energy // import above the block

	BlockCost    ledger.Micros // block MW × hours × block price, used or not
	SpotCost     ledger.Micros // SpotWh × (spot + index adder)
	ResaleCredit ledger.Micros // BlockUnusedWh × (spot + resale adder); negative when that price is
	ExportCredit ledger.Micros // ExportWh × export price; never negative (no export at a price ≤ 0)
	// EnergyCost = BlockCost + SpotCost − ResaleCredit − ExportCredit.
	EnergyCost     ledger.Micros
	CapacityCredit ledger.Micros // Σ Commitments[i].CapacityCredit
	Penalty        ledger.Micros // Σ Commitments[i].Penalty
	// NetCost = EnergyCost − CapacityCredit + Penalty: what the site pays
	// for power this interval (mining revenue is the ledger's business).
	NetCost ledger.Micros
	// AIValue is Σ AI[i].Value, the value the AI loads produced; margins
	// net of power are AIValue − NetCost (+ mining revenue).
	AIValue ledger.Micros
	// FourCPAccrual is this interval's share of next year's 4CP charge when
	// it is a peak interval: ImportW × FourCPCostPerW. Reported, not in
	// NetCost (see the package doc).
	FourCPAccrual ledger.Micros

	AI          []AIResult
	Commitments []CommitmentResult
}

// AIResult is one AI load's interval.
type AIResult struct {
	Name  string
	Wh    energy.Energy
	Value ledger.Micros // Wh × ValueUSDPerMWh
}

// CommitmentResult is one commitment's interval.
type CommitmentResult struct {
	Name string
	// ActiveHours is how long the window held; DeployedHours how long a
	// deployment was in force; ObligatedHours how long a deployment bound
	// the draw (past its deadline, within its hold).
	ActiveHours    float64
	DeployedHours  float64
	ObligatedHours float64
	// ShortfallWh is the reduction not delivered while obligated: watts
	// above the cap (at most the reduction called) × hours.
	ShortfallWh energy.Energy
	// FloorShortfallWh is committed load not running while active and not
	// deployed: watts below the commitment's share of the floor × hours.
	FloorShortfallWh energy.Energy
	CapacityCredit   ledger.Micros // CapacityUSDPerMWh × MW×1e6 × ActiveHours
	Penalty          ledger.Micros // PenaltyUSDPerMWh × (ShortfallWh + FloorShortfallWh)
}

// Settle settles one interval exactly. See the package doc for the rules
// and the rounding. It rejects an empty interval, NaN or infinite inputs,
// negative powers (prices may be negative), an AIW list that does not match
// Contract.AI, generation without Renewables, invalid deployments, a peak
// flag without FourCP or outside its months, a deployment to be measured
// from an unset baseline (ErrNoBaseline), and amounts that overflow. The
// contract itself is assumed valid (Validate).
func (c Contract) Settle(f Facts) (Settlement, error) {
	s, err := c.settle(f)
	if err != nil {
		return Settlement{}, fmt.Errorf("contract: settle %s: %w", f.Interval, err)
	}
	return s, nil
}

func (c Contract) settle(f Facts) (Settlement, error) {
	length := f.Interval.Duration()
	if length <= 0 {
		return Settlement{}, fmt.Errorf("interval: %w", energy.ErrBadInterval)
	}
	if err := energy.Check("spot", float64(f.Spot)); err != nil {
		return Settlement{}, err
	}
	if err := power("mining", f.MiningW); err != nil {
		return Settlement{}, err
	}
	if err := power("generation", f.GenW); err != nil {
		return Settlement{}, err
	}
	if f.GenW > 0 && c.Renewables == nil {
		return Settlement{}, fmt.Errorf("generation %v: the contract has no renewables", f.GenW)
	}
	if f.AIW != nil && len(f.AIW) != len(c.AI) {
		return Settlement{}, fmt.Errorf("ai draws: %d given for %d ai loads", len(f.AIW), len(c.AI))
	}
	for i, w := range f.AIW {
		if err := power(fmt.Sprintf("ai load %q", c.AI[i].Name), w); err != nil {
			return Settlement{}, err
		}
	}
	if err := c.ValidateDeployments(f.Deployments); err != nil {
		return Settlement{}, err
	}
	if f.PeakInterval {
		if c.FourCP == nil {
			return Settlement{}, fmt.Errorf("peak interval: the contract has no fourcp")
		}
		if m := f.Interval.Start.In(ercot()).Month(); !slices.Contains(c.FourCP.PeakMonths(), m) {
			return Settlement{}, fmt.Errorf("peak interval: %s is not a 4CP month", m)
		}
	}

	h := length.Hours()
	a := &acc{}
	s := Settlement{Interval: f.Interval, Spot: f.Spot, PeakInterval: f.PeakInterval}

	// Power balance, in average watts.
	mining := float64(f.MiningW)
	var ai float64
	if len(c.AI) > 0 {
		s.AI = make([]AIResult, len(c.AI))
	}
	for i, l := range c.AI {
		var w float64
		if f.AIW != nil {
			w = float64(f.AIW[i])
		}
		ai += w
		s.AI[i] = AIResult{Name: l.Name, Wh: energy.Energy(w * h)}
		s.AI[i].Value = a.round("ai value "+l.Name, l.ValueUSDPerMWh*float64(s.AI[i].Wh))
		s.AIValue = a.add("ai value", s.AIValue, s.AI[i].Value)
	}
	load := mining + ai
	gen := float64(f.GenW)
	genUsed := min(gen, load)
	surplus := gen - genUsed
	// Surplus is exported, up to the limit, only at a positive export
	// price; otherwise the site curtails and the surplus is spilled.
	var export float64
	if r := c.Renewables; r != nil {
		if _, ok := r.exportAt(f.Spot); ok {
			export = min(surplus, r.ExportLimitMW*1e6)
		}
	}
	spill := surplus - export
	imp := load - genUsed
	var blockW, blockUsed float64
	if b := c.Block; b != nil {
		blockW = b.MW * 1e6
		blockUsed = min(imp, blockW)
	}
	spotW := imp - blockUsed

	s.ImportW = energy.Power(imp)
	s.MiningWh = energy.Energy(mining * h)
	s.AIWh = energy.Energy(ai * h)
	s.LoadWh = energy.Energy(load * h)
	s.GenWh = energy.Energy(gen * h)
	s.GenUsedWh = energy.Energy(genUsed * h)
	s.ExportWh = energy.Energy(export * h)
	s.SpillWh = energy.Energy(spill * h)
	s.ImportWh = energy.Energy(imp * h)
	s.BlockWh = energy.Energy(blockUsed * h)
	s.BlockUnusedWh = energy.Energy((blockW - blockUsed) * h)
	s.SpotWh = energy.Energy(spotW * h)

	// Energy money: $/MWh × Wh = µ$.
	if b := c.Block; b != nil {
		s.BlockCost = a.round("block cost", b.PriceUSDPerMWh*(blockW*h))
		s.ResaleCredit = a.round("resale credit", float64(f.Spot+energy.Price(b.ResaleAdderUSDPerMWh))*float64(s.BlockUnusedWh))
	}
	s.SpotCost = a.round("spot cost", float64(f.Spot+energy.Price(c.Index.AdderUSDPerMWh))*float64(s.SpotWh))
	if r := c.Renewables; r != nil {
		s.ExportCredit = a.round("export credit", float64(r.ExportPriceAt(f.Spot))*float64(s.ExportWh))
	}
	s.EnergyCost = a.sub("energy cost", a.sub("energy cost", a.add("energy cost", s.BlockCost, s.SpotCost), s.ResaleCredit), s.ExportCredit)

	// Commitments.
	var err error
	s.Commitments, err = c.settleCommitments(f, mining, a)
	if err != nil {
		return Settlement{}, err
	}
	for _, r := range s.Commitments {
		s.CapacityCredit = a.add("capacity credit", s.CapacityCredit, r.CapacityCredit)
		s.Penalty = a.add("penalty", s.Penalty, r.Penalty)
	}
	s.NetCost = a.add("net cost", a.sub("net cost", s.EnergyCost, s.CapacityCredit), s.Penalty)
	if f.PeakInterval {
		s.FourCPAccrual = a.round("4cp accrual", c.FourCPCostPerW()*imp*1e6)
	}
	if a.err != nil {
		return Settlement{}, a.err
	}
	return s, nil
}

// settleCommitments measures each commitment over the interval's pieces.
func (c Contract) settleCommitments(f Facts, mining float64, a *acc) ([]CommitmentResult, error) {
	if len(c.Commitments) == 0 {
		return nil, nil
	}
	obls, _ := c.resolve(f.Deployments) // validated: none unknown
	res := make([]CommitmentResult, len(c.Commitments))
	type sums struct {
		active, deployed, obligated time.Duration
		short, floorShort           float64 // W × hours
	}
	tally := make([]sums, len(c.Commitments))
	cuts := c.cuts(f.Interval, obls)
	for k := 0; k+1 < len(cuts); k++ {
		t := cuts[k]
		d := cuts[k+1].Sub(t)
		dh := d.Hours()
		// The mining draw covers the floors of the active, undeployed
		// commitments in list order.
		left := mining
		for i, m := range c.Commitments {
			active := m.Active(t)
			if active {
				tally[i].active += d
			}
			o, deployed := deploymentAt(obls, i, t)
			switch {
			case deployed:
				tally[i].deployed += d
				if !o.obligatedAt(t) {
					continue
				}
				tally[i].obligated += d
				if m.BaselineMW == 0 {
					return nil, fmt.Errorf("commitment %q deployed at %s: %w", m.Name, stamp(o.start), ErrNoBaseline)
				}
				cap := max(0, m.BaselineMW*1e6-o.w)
				tally[i].short += min(o.w, max(0, mining-cap)) * dh
			case active:
				need := m.MW * 1e6
				got := min(need, left)
				left -= got
				tally[i].floorShort += (need - got) * dh
			}
		}
	}
	for i, m := range c.Commitments {
		r := &res[i]
		r.Name = m.Name
		r.ActiveHours = tally[i].active.Hours()
		r.DeployedHours = tally[i].deployed.Hours()
		r.ObligatedHours = tally[i].obligated.Hours()
		r.ShortfallWh = energy.Energy(tally[i].short)
		r.FloorShortfallWh = energy.Energy(tally[i].floorShort)
		r.CapacityCredit = a.round("capacity credit "+m.Name, m.CapacityUSDPerMWh*(m.MW*1e6*r.ActiveHours))
		r.Penalty = a.round("penalty "+m.Name, m.PenaltyUSDPerMWh*float64(r.ShortfallWh+r.FloorShortfallWh))
	}
	return res, nil
}

// power checks an average power: finite and not negative.
func power(what string, w energy.Power) error {
	if err := energy.Check(what, float64(w)); err != nil {
		return err
	}
	if w < 0 {
		return fmt.Errorf("%s %v: must not be negative", what, w)
	}
	return nil
}

// acc does money arithmetic, keeping the first error.
type acc struct{ err error }

// round rounds v micro-dollars half away from zero, rejecting values
// outside int64 with ledger.ErrOverflow. Inputs are checked finite first, so
// a NaN or infinite amount can only come from a float64 overflow on the way
// and is reported as one.
func (a *acc) round(what string, v float64) ledger.Micros {
	if a.err != nil {
		return 0
	}
	r := math.Round(v)
	if math.IsNaN(r) || r >= 0x1p63 || r < -0x1p63 {
		a.err = fmt.Errorf("%s: %v µ$: %w", what, v, ledger.ErrOverflow)
		return 0
	}
	return ledger.Micros(r)
}

func (a *acc) add(what string, x, y ledger.Micros) ledger.Micros {
	if a.err != nil {
		return 0
	}
	s := x + y
	if (x > 0 && y > 0 && s < 0) || (x < 0 && y < 0 && s >= 0) {
		a.err = fmt.Errorf("%s: %d + %d µ$: %w", what, x, y, ledger.ErrOverflow)
		return 0
	}
	return s
}

func (a *acc) sub(what string, x, y ledger.Micros) ledger.Micros {
	if a.err != nil {
		return 0
	}
	d := x - y
	if (y < 0 && x >= 0 && d < 0) || (y > 0 && x < 0 && d >= 0) {
		a.err = fmt.Errorf("%s: %d − %d µ$: %w", what, x, y, ledger.ErrOverflow)
		return 0
	}
	return d
}
