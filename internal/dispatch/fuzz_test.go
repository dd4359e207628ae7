package dispatch

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
)

// FuzzBreakevenPlan checks the policy's invariants over arbitrary prices,
// hashprices, caps and configurations: it never panics, bad numbers are
// errors, the cap holds whenever reservations leave room, every unit gets
// one decision in input order, and planning twice gives the same plan.
func FuzzBreakevenPlan(f *testing.F) {
	f.Add(50.0, 0.05, 0.0, 3.0, 0.02, 2.0, int64(30), int64(15), uint64(1), uint8(40))
	f.Add(-30.0, 0.05, 40000.0, 0.0, 0.0, 0.0, int64(0), int64(0), uint64(2), uint8(100))
	f.Add(9315.0, 0.12, 5000.0, 10.0, 0.05, 7.5, int64(60), int64(60), uint64(3), uint8(10))
	f.Add(math.NaN(), 0.05, 0.0, 0.0, 0.0, 0.0, int64(0), int64(0), uint64(4), uint8(3))
	f.Add(70.0, -0.01, 0.0, 0.0, 0.0, 0.0, int64(0), int64(0), uint64(5), uint8(3))
	f.Add(70.0, 0.05, 1.0, 0.0, 0.0, 0.0, int64(0), int64(0), uint64(6), uint8(0))
	f.Add(70.0, 0.05, 90000.0, 2.0, 0.02, 0.0, int64(30), int64(15), uint64(0x6d)<<56|7, uint8(60))
	f.Add(300.0, 0.05, 0.0, 0.0, 0.0, 0.0, int64(0), int64(0), uint64(0x25)<<56|8, uint8(30))
	f.Fuzz(func(t *testing.T, price, hashprice, siteCap, hyst, poolFee, adder float64, minRun, minSleep int64, seed uint64, n uint8) {
		// The seed's high bits pick the variants: partial power, strike
		// persistence, a ramp limit with a previous draw, and a contract
		// with a block, a commitment (deployed or not) and AI loads.
		flags := seed >> 56
		p, err := NewBreakeven(BreakevenConfig{
			Hysteresis: energy.Price(hyst), MinRun: time.Duration(minRun) * time.Minute,
			MinSleep: time.Duration(minSleep) * time.Minute, PowerAdder: energy.Price(adder), PoolFee: poolFee,
			Partial: flags&1 != 0, CurtailAfter: int(flags>>1) & 3, ResumeAfter: int(flags>>3) & 3,
			RampPerMinute: energy.Power(float64(flags&4) * 250),
		})
		if err != nil {
			return
		}
		in := inputs(energy.Price(price), energy.Power(siteCap), randomUnits(int(n), seed))
		in.Hashprice = bitcoin.Hashprice(hashprice)
		in.Recent = []energy.Price{energy.Price(price) - 20, energy.Price(price) + 20}
		if flags&4 != 0 {
			in.Previous, in.HasPrevious = energy.Power(float64(n)*1500), true
		}
		if flags&32 != 0 {
			c := &contract.Contract{Block: &contract.Block{MW: 0.1, PriceUSDPerMWh: 30},
				AI:          []contract.AILoad{{Name: "firm", MW: 0.01, ValueUSDPerMWh: 500, Firm: true}, {Name: "batch", MW: 0.02, ValueUSDPerMWh: 90}},
				Commitments: []contract.Commitment{commitment(0.05)}}
			c.Defaults(energy.Power(float64(n) * 3500))
			in.Contract = c
			if flags&64 != 0 {
				in.Deployments = []contract.Deployment{{Commitment: "ers", Start: testNow.Add(-time.Hour)}}
			}
		}
		plan, err := p.Plan(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidInputs) {
				t.Fatalf("error %v does not wrap ErrInvalidInputs", err)
			}
			return
		}
		if len(plan.Units) != len(in.Units) || plan.Running+plan.Sleeping != len(in.Units) {
			t.Fatalf("plan has %d units (%d running, %d sleeping), want %d", len(plan.Units), plan.Running, plan.Sleeping, len(in.Units))
		}
		var reserved energy.Power
		for i, u := range plan.Units {
			if u.ID != in.Units[i].ID || u.Reason == "" {
				t.Fatalf("unit %d = %+v, want id %q and a reason", i, u, in.Units[i].ID)
			}
			iu := in.Units[i]
			switch {
			case iu.State == miner.StateOffline && iu.Running:
				reserved += iu.Caps.NominalPower
			case iu.State == miner.StateOffline:
				reserved += iu.Caps.SleepPower
			case !iu.Caps.CanSleep:
				reserved += iu.Caps.NominalPower
			default:
				reserved += iu.Caps.SleepPower
			}
		}
		if in.SiteCap > 0 && in.Contract == nil && reserved <= in.SiteCap && plan.Power > in.SiteCap+1e-3 {
			t.Fatalf("planned %v W over cap %v W with only %v W reserved", float64(plan.Power), float64(in.SiteCap), float64(reserved))
		}
		if reserved <= plan.Cap && plan.Power > plan.Cap+1e-3 {
			t.Fatalf("planned %v W over the flexible cap %v W with only %v W reserved", float64(plan.Power), float64(plan.Cap), float64(reserved))
		}
		again, err := p.Plan(in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(plan, again); diff != "" {
			t.Fatalf("planning twice differs (-first +again):\n%s", diff)
		}
	})
}
