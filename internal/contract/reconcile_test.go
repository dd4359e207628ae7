package contract

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
)

// The reference below settles an interval independently of Settle: exact
// rational arithmetic on the same float64 inputs, and commitments walked
// second by second rather than split at computed breakpoints. Settle rounds
// float64 results, so an amount may differ from the reference by at most
// 1 µ$ (only when the exact value lies within float64 error of a half
// micro-dollar); totals must equal the sum of their parts exactly.

func rat(x float64) *big.Rat { return new(big.Rat).SetFloat64(x) }

func rmin(a, b *big.Rat) *big.Rat {
	if a.Cmp(b) <= 0 {
		return a
	}
	return b
}

func rmax(a, b *big.Rat) *big.Rat {
	if a.Cmp(b) >= 0 {
		return a
	}
	return b
}

func radd(xs ...*big.Rat) *big.Rat {
	s := new(big.Rat)
	for _, x := range xs {
		s.Add(s, x)
	}
	return s
}

func rmul(xs ...*big.Rat) *big.Rat {
	s := big.NewRat(1, 1)
	for _, x := range xs {
		s.Mul(s, x)
	}
	return s
}

func rsub(a, b *big.Rat) *big.Rat { return new(big.Rat).Sub(a, b) }

// roundRat rounds r half away from zero.
func roundRat(r *big.Rat) int64 {
	n := new(big.Int).Abs(r.Num())
	d := r.Denom()
	// floor((2|n| + d) / 2d)
	q := new(big.Int).Add(new(big.Int).Lsh(n, 1), d)
	q.Quo(q, new(big.Int).Lsh(d, 1))
	if r.Sign() < 0 {
		q.Neg(q)
	}
	return q.Int64()
}

type reference struct {
	energies                                          map[string]*big.Rat // Wh
	block, spot, resale, export, ai, accrual          int64
	capacity, penalty                                 []int64
	perAI                                             []int64
	activeSec, deployedSec, obligatedSec              []int64
	shortWh, floorShortWh                             []*big.Rat
	capacityTotal, penaltyTotal, aiTotal, energy, net int64
}

// referenceStep is a minute when every deployment's start, deadline, hold
// end and end lie on whole minutes from the interval's start (windows and
// intervals always do here), else a second.
func referenceStep(c Contract, f Facts) time.Duration {
	for _, d := range f.Deployments {
		m := c.Commitments[c.commitmentIndex(d.Commitment)]
		deadline := d.Start.Add(m.EffectiveDeadline())
		for _, x := range []time.Time{d.Start, deadline, deadline.Add(m.EffectiveMaxHold()), d.End} {
			if !x.IsZero() && x.Sub(f.Interval.Start)%time.Minute != 0 {
				return time.Second
			}
		}
	}
	return time.Minute
}

func referenceSettle(c Contract, f Facts) reference {
	ns := f.Interval.Duration().Nanoseconds()
	h := big.NewRat(ns, int64(time.Hour))
	mw := big.NewRat(1_000_000, 1)
	ref := reference{energies: map[string]*big.Rat{}}

	mining := rat(float64(f.MiningW))
	ai := new(big.Rat)
	for i, l := range c.AI {
		w := new(big.Rat)
		if f.AIW != nil {
			w = rat(float64(f.AIW[i]))
		}
		ai = radd(ai, w)
		v := roundRat(rmul(rat(l.ValueUSDPerMWh), w, h))
		ref.perAI = append(ref.perAI, v)
		ref.aiTotal += v
	}
	load := radd(mining, ai)
	gen := rat(float64(f.GenW))
	genUsed := rmin(gen, load)
	surplus := rsub(gen, genUsed)
	// Surplus is exported, up to the limit, only at a positive export
	// price; at a price of 0 or below it is all spilled.
	export := new(big.Rat)
	exportPrice := rat(float64(f.Spot))
	if r := c.Renewables; r != nil {
		if r.ExportPrice == ExportFixed {
			exportPrice = rat(r.ExportPriceUSDPerMWh)
		}
		if exportPrice.Sign() > 0 {
			export = rmin(surplus, rmul(rat(r.ExportLimitMW), mw))
		}
	}
	imp := rsub(load, genUsed)
	blockW, blockUsed := new(big.Rat), new(big.Rat)
	if b := c.Block; b != nil {
		blockW = rmul(rat(b.MW), mw)
		blockUsed = rmin(imp, blockW)
		ref.block = roundRat(rmul(rat(b.PriceUSDPerMWh), blockW, h))
		ref.resale = roundRat(rmul(radd(rat(float64(f.Spot)), rat(b.ResaleAdderUSDPerMWh)), rsub(blockW, blockUsed), h))
	}
	spotW := rsub(imp, blockUsed)
	ref.spot = roundRat(rmul(radd(rat(float64(f.Spot)), rat(c.Index.AdderUSDPerMWh)), spotW, h))
	if c.Renewables != nil {
		ref.export = roundRat(rmul(exportPrice, export, h))
	}
	for name, w := range map[string]*big.Rat{
		"mining": mining, "ai": ai, "load": load, "gen": gen, "genUsed": genUsed, "export": export,
		"spill": rsub(surplus, export), "import": imp, "block": blockUsed, "blockUnused": rsub(blockW, blockUsed), "spotW": spotW,
	} {
		ref.energies[name] = rmul(w, h)
	}
	if f.PeakInterval {
		n := int64(len(c.FourCP.PeakMonths()))
		ref.accrual = roundRat(rmul(rat(c.FourCP.RateUSDPerKWYear), big.NewRat(1, 1000*n), imp, mw))
	}

	// Commitments, one second at a time (every state change in these tests
	// falls on a whole second).
	n := len(c.Commitments)
	ref.capacity = make([]int64, n)
	ref.penalty = make([]int64, n)
	ref.activeSec = make([]int64, n)
	ref.deployedSec = make([]int64, n)
	ref.obligatedSec = make([]int64, n)
	short := make([]*big.Rat, n)  // W·s
	floorS := make([]*big.Rat, n) // W·s
	for i := range n {
		short[i], floorS[i] = new(big.Rat), new(big.Rat)
	}
	step := referenceStep(c, f)
	perStep := int64(step / time.Second)
	for t := f.Interval.Start; t.Before(f.Interval.End); t = t.Add(step) {
		left := new(big.Rat).Set(mining)
		for i, m := range c.Commitments {
			active := m.Window.Contains(t)
			if active {
				ref.activeSec[i] += perStep
			}
			var dep *Deployment
			for k := range f.Deployments {
				d := &f.Deployments[k]
				if d.Commitment == m.Name && !t.Before(d.Start) && (d.End.IsZero() || t.Before(d.End)) {
					dep = d
				}
			}
			if dep != nil {
				ref.deployedSec[i] += perStep
				deadline := dep.Start.Add(m.EffectiveDeadline())
				obligated := !t.Before(deadline)
				if hold := m.EffectiveMaxHold(); hold > 0 && !t.Before(deadline.Add(hold)) {
					obligated = false
				}
				if obligated {
					ref.obligatedSec[i] += perStep
					called := rat(dep.MW)
					if dep.MW == 0 {
						called = rat(m.MW)
					}
					called = rmul(called, mw)
					capW := rmax(new(big.Rat), rsub(rmul(rat(m.BaselineMW), mw), called))
					short[i] = radd(short[i], rmul(big.NewRat(perStep, 1), rmin(called, rmax(new(big.Rat), rsub(mining, capW)))))
				}
				continue
			}
			if active {
				need := rmul(rat(m.MW), mw)
				got := rmin(need, left)
				left = rsub(left, got)
				floorS[i] = radd(floorS[i], rmul(big.NewRat(perStep, 1), rsub(need, got)))
			}
		}
	}
	sec := big.NewRat(1, 3600)
	for i, m := range c.Commitments {
		ref.shortWh = append(ref.shortWh, rmul(short[i], sec))
		ref.floorShortWh = append(ref.floorShortWh, rmul(floorS[i], sec))
		ref.capacity[i] = roundRat(rmul(rat(m.CapacityUSDPerMWh), rat(m.MW), mw, big.NewRat(ref.activeSec[i], 3600)))
		ref.penalty[i] = roundRat(rmul(rat(m.PenaltyUSDPerMWh), radd(ref.shortWh[i], ref.floorShortWh[i])))
		ref.capacityTotal += ref.capacity[i]
		ref.penaltyTotal += ref.penalty[i]
	}
	ref.energy = ref.block + ref.spot - ref.resale - ref.export
	ref.net = ref.energy - ref.capacityTotal + ref.penaltyTotal
	return ref
}

// checkAgainst compares s with the reference and returns it and how many
// amounts were 1 µ$ off (more is an error).
func checkAgainst(t *testing.T, c Contract, f Facts, s Settlement) (ref reference, offByOne int) {
	t.Helper()
	ref = referenceSettle(c, f)
	money := func(what string, got ledger.Micros, want int64) {
		t.Helper()
		switch d := int64(got) - want; {
		case d == 0:
		case d == 1 || d == -1:
			offByOne++
		default:
			t.Errorf("%s: %s = %d µ$, reference %d µ$", f.Interval, what, got, want)
		}
	}
	money("block cost", s.BlockCost, ref.block)
	money("spot cost", s.SpotCost, ref.spot)
	money("resale credit", s.ResaleCredit, ref.resale)
	money("export credit", s.ExportCredit, ref.export)
	money("4cp accrual", s.FourCPAccrual, ref.accrual)
	for i := range c.AI {
		money("ai value "+c.AI[i].Name, s.AI[i].Value, ref.perAI[i])
	}
	for i, m := range c.Commitments {
		r := s.Commitments[i]
		money("capacity "+m.Name, r.CapacityCredit, ref.capacity[i])
		money("penalty "+m.Name, r.Penalty, ref.penalty[i])
		for _, x := range []struct {
			what string
			got  float64
			sec  int64
		}{{"active", r.ActiveHours, ref.activeSec[i]}, {"deployed", r.DeployedHours, ref.deployedSec[i]}, {"obligated", r.ObligatedHours, ref.obligatedSec[i]}} {
			if want := float64(x.sec) / 3600; math.Abs(x.got-want) > 1e-12 {
				t.Errorf("%s: %s %s hours = %v, reference %v", f.Interval, m.Name, x.what, x.got, want)
			}
		}
		closeWh(t, f.Interval, m.Name+" shortfall", r.ShortfallWh, ref.shortWh[i])
		closeWh(t, f.Interval, m.Name+" floor shortfall", r.FloorShortfallWh, ref.floorShortWh[i])
	}
	for name, got := range map[string]energy.Energy{
		"mining": s.MiningWh, "ai": s.AIWh, "load": s.LoadWh, "gen": s.GenWh, "genUsed": s.GenUsedWh, "export": s.ExportWh,
		"spill": s.SpillWh, "import": s.ImportWh, "block": s.BlockWh, "blockUnused": s.BlockUnusedWh, "spotW": s.SpotWh,
	} {
		closeWh(t, f.Interval, name, got, ref.energies[name])
	}
	// The package's own totals are exact integer sums of its parts.
	var capacity, penalty, ai ledger.Micros
	for _, r := range s.Commitments {
		capacity += r.CapacityCredit
		penalty += r.Penalty
	}
	for _, r := range s.AI {
		ai += r.Value
	}
	exact := []struct {
		what      string
		got, want ledger.Micros
	}{
		{"energy cost", s.EnergyCost, s.BlockCost + s.SpotCost - s.ResaleCredit - s.ExportCredit},
		{"capacity credit", s.CapacityCredit, capacity},
		{"penalty", s.Penalty, penalty},
		{"net cost", s.NetCost, s.EnergyCost - s.CapacityCredit + s.Penalty},
		{"ai value", s.AIValue, ai},
	}
	for _, x := range exact {
		if x.got != x.want {
			t.Errorf("%s: %s = %d, want the sum of its parts %d", f.Interval, x.what, x.got, x.want)
		}
	}
	return ref, offByOne
}

func closeWh(t *testing.T, iv energy.Interval, what string, got energy.Energy, want *big.Rat) {
	t.Helper()
	w, _ := want.Float64()
	if math.Abs(float64(got)-w) > 1e-9*math.Max(1, math.Abs(w)) {
		t.Errorf("%s: %s = %v Wh, reference %v Wh", iv, what, float64(got), w)
	}
}

// randomContract draws a valid contract; every window bound is a whole
// minute.
func randomContract(r *rand.Rand) Contract {
	var c Contract
	c.Index.AdderUSDPerMWh = r.Float64()*15 - 5
	if r.IntN(3) > 0 {
		c.Block = &Block{MW: 1 + r.Float64()*99, PriceUSDPerMWh: r.Float64() * 80, ResaleAdderUSDPerMWh: r.Float64()*10 - 5}
	}
	if r.IntN(2) == 0 {
		c.Renewables = &Renewables{CapacityMW: 1 + r.Float64()*60}
		if r.IntN(3) > 0 {
			c.Renewables.ExportLimitMW = r.Float64() * 20
		}
		if r.IntN(2) == 0 {
			c.Renewables.ExportPrice, c.Renewables.ExportPriceUSDPerMWh = ExportFixed, r.Float64()*60-10
		}
	}
	c.FourCP = &FourCP{RateUSDPerKWYear: r.Float64() * 150}
	c.Demand = &DemandCharge{RateUSDPerKWMonth: r.Float64() * 10}
	for i := range r.IntN(3) {
		c.AI = append(c.AI, AILoad{Name: fmt.Sprintf("ai%d", i), MW: 1 + r.Float64()*10, ValueUSDPerMWh: r.Float64() * 500, Firm: r.IntN(2) == 0})
	}
	products := Products()
	for i := range r.IntN(4) {
		m := Commitment{
			Name: fmt.Sprintf("c%d", i), Product: products[r.IntN(len(products))], MW: 1 + r.Float64()*40,
			CapacityUSDPerMWh: r.Float64() * 30, PenaltyUSDPerMWh: r.Float64() * 200,
		}
		if r.IntN(4) > 0 {
			from, to := r.IntN(24*60), r.IntN(24*60)
			if from == to {
				to = (to + 61) % (24 * 60)
			}
			m.Window.From = fmt.Sprintf("%02d:%02d", from/60, from%60)
			m.Window.To = fmt.Sprintf("%02d:%02d", to/60, to%60)
		}
		if r.IntN(3) == 0 {
			m.Window.Weekdays = true
		}
		if r.IntN(3) == 0 {
			for month := time.January; month <= time.December; month++ {
				if r.IntN(3) == 0 {
					m.Window.Months = append(m.Window.Months, month)
				}
			}
		}
		if r.IntN(3) == 0 {
			m.Deadline = Duration(time.Duration(1+r.IntN(40)) * time.Minute)
		}
		if r.IntN(3) == 0 {
			m.MaxHold = Duration(time.Duration(1+r.IntN(120)) * time.Minute)
		}
		c.Commitments = append(c.Commitments, m)
	}
	c.Defaults(energy.Power(50e6 + r.Float64()*100e6))
	return c
}

// randomFacts draws facts for iv; deployments start and end on whole
// seconds.
func randomFacts(r *rand.Rand, c Contract, iv energy.Interval) Facts {
	f := Facts{Interval: iv, Spot: energy.Price(r.Float64()*400 - 60), MiningW: energy.Power(r.Float64() * 150e6)}
	switch r.IntN(10) {
	case 0:
		f.Spot = energy.Price(r.Float64() * 5000)
	case 1:
		f.MiningW = 0
	}
	if c.Renewables != nil {
		f.GenW = energy.Power(r.Float64() * c.Renewables.CapacityMW * 1e6)
	}
	if len(c.AI) > 0 && r.IntN(4) > 0 {
		for _, l := range c.AI {
			f.AIW = append(f.AIW, energy.Power(r.Float64()*l.MW*1e6))
		}
	}
	for _, m := range c.Commitments {
		if r.IntN(3) != 0 {
			continue
		}
		unit := time.Minute // mostly whole minutes; whole seconds sometimes
		if r.IntN(4) == 0 {
			unit = time.Second
		}
		n := int(time.Hour / unit)
		d := Deployment{Commitment: m.Name, Start: iv.Start.Add(time.Duration(r.IntN(4*n)-3*n) * unit)}
		if r.IntN(2) == 0 {
			d.End = d.Start.Add(time.Duration(1+r.IntN(3*n)) * unit)
		}
		if r.IntN(2) == 0 {
			d.MW = r.Float64() * m.MW
		}
		f.Deployments = append(f.Deployments, d)
	}
	return f
}

func TestSettleReconcilesWithReference(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 6))
	offByOne, amounts := 0, 0
	seen := map[string]int{}
	for k := range 300 {
		c := randomContract(r)
		if err := c.Validate(); err != nil {
			t.Fatalf("random contract %d invalid: %v", k, err)
		}
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(366*24*4)) * 15 * time.Minute)
		length := []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour}[r.IntN(3)]
		iv := energy.Interval{Start: start, End: start.Add(length)}
		f := randomFacts(r, c, iv)
		f.PeakInterval = r.IntN(4) == 0 && iv.Start.In(ercot()).Month() >= 6 && iv.Start.In(ercot()).Month() <= 9
		s, err := c.Settle(f)
		if err != nil {
			t.Fatalf("contract %d: %v", k, err)
		}
		_, n := checkAgainst(t, c, f, s)
		offByOne += n
		for _, m := range s.Commitments {
			if m.ShortfallWh > 0 {
				seen["deployment shortfall"]++
			}
			if m.FloorShortfallWh > 0 {
				seen["floor shortfall"]++
			}
			if m.ObligatedHours > 0 && m.ObligatedHours < m.DeployedHours {
				seen["deadline or hold inside the interval"]++
			}
			if m.ActiveHours > 0 && m.ActiveHours < length.Hours() {
				seen["window edge inside the interval"]++
			}
		}
		if s.ExportWh > 0 && s.SpillWh > 0 {
			seen["export and spill"]++
		}
		if rn := c.Renewables; rn != nil && rn.ExportLimitMW > 0 && rn.ExportPriceAt(f.Spot) <= 0 && s.SpillWh > 0 {
			seen["surplus spilled at an export price ≤ 0"]++
		}
		if s.BlockWh > 0 && s.BlockUnusedWh > 0 {
			seen["block part used"]++
		}
		if s.SpotWh > 0 {
			seen["spot import"]++
		}
		amounts += 5 + len(c.AI) + 2*len(c.Commitments)
		checkCurve(t, c, f, s)
	}
	// Surplus generation at export prices around and below $0/MWh, which
	// the draw above seldom reaches: little mining, generation near
	// capacity, spot in [−60, 20) and sometimes exactly 0.
	for k := 0; k < 100; {
		c := randomContract(r)
		if c.Renewables == nil {
			continue
		}
		k++
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(366*24*4)) * 15 * time.Minute)
		f := randomFacts(r, c, energy.Interval{Start: start, End: start.Add(15 * time.Minute)})
		f.Spot = energy.Price(r.Float64()*80 - 60)
		if r.IntN(5) == 0 {
			f.Spot = 0
		}
		f.GenW = energy.Power((0.5 + r.Float64()/2) * c.Renewables.CapacityMW * 1e6)
		f.MiningW = energy.Power(r.Float64()) * f.GenW / 2
		s, err := c.Settle(f)
		if err != nil {
			t.Fatalf("surplus contract %d: %v", k, err)
		}
		_, n := checkAgainst(t, c, f, s)
		offByOne += n
		amounts += 5 + len(c.AI) + 2*len(c.Commitments)
		if rn := c.Renewables; rn.ExportLimitMW > 0 && rn.ExportPriceAt(f.Spot) <= 0 && s.SpillWh > 0 {
			seen["surplus spilled at an export price ≤ 0"]++
		}
		if s.ExportWh > 0 && s.SpillWh > 0 {
			seen["export and spill"]++
		}
		checkCurve(t, c, f, s)
	}
	t.Logf("%d of %d amounts 1 µ$ off the exact reference", offByOne, amounts)
	// The draw must exercise every rule, or the comparison proves little.
	for _, what := range []string{"deployment shortfall", "floor shortfall", "deadline or hold inside the interval",
		"window edge inside the interval", "export and spill", "surplus spilled at an export price ≤ 0", "block part used", "spot import"} {
		if seen[what] < 5 {
			t.Errorf("only %d settlements with %s", seen[what], what)
		}
	}
	t.Logf("cases seen: %v", seen)
}

// checkCurve checks that the cost curve prices the mining draw exactly as
// Settle does: EnergyCost(with mining) − EnergyCost(without) equals
// CurveCost, up to the rounding of the four energy amounts.
func checkCurve(t *testing.T, c Contract, f Facts, s Settlement) {
	t.Helper()
	idle := f
	idle.MiningW = 0
	idle.Deployments = nil
	s0, err := c.Settle(idle)
	if err != nil {
		t.Fatalf("settle without mining: %v", err)
	}
	var ai energy.Power
	for _, w := range f.AIW {
		ai += w
	}
	curve := c.CostCurve(f.Spot, f.GenW, ai, f.Interval.Duration().Hours())
	got := CurveCost(curve, float64(f.MiningW))
	want := float64(s.EnergyCost-s0.EnergyCost) / 1e6
	if math.Abs(got-want) > 4e-6+1e-12*math.Abs(want) {
		t.Errorf("%s: curve cost of %v mining = $%.6f, settlement difference $%.6f", f.Interval, f.MiningW, got, want)
	}
}
