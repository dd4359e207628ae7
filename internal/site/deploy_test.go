package site

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/miner"
)

// TestDeploymentReplansAtOnce drives the loop with a commitment and a
// deployment that appears mid-interval: the next poll re-plans under the
// deployment's cap instead of waiting for the next interval.
func TestDeploymentReplansAtOnce(t *testing.T) {
	r := newRig(t, 20)
	var full float64
	for _, m := range r.inv.Members() {
		full += float64(m.Miner.Capabilities().NominalPower)
	}
	c := &contract.Contract{Commitments: []contract.Commitment{{Name: "ers", Product: contract.ERS10, MW: full / 2 / 1e6,
		CapacityUSDPerMWh: 5, PenaltyUSDPerMWh: 100}}}
	var mu sync.Mutex
	var deps []contract.Deployment
	pol, err := dispatch.NewBreakeven(dispatch.BreakevenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{OnStop: Hold, StaleAfter: 10 * time.Minute, Contract: c}, Deps{
		Clock: r.clk, Fleet: r.inv, Policy: pol, Prices: flat(t, 10),
		Bitcoin: StaticEconomics(bitcoin.DemoEconomics()), Store: r.store,
		OnPlan: func(p dispatch.Plan) { r.plans <- p },
		Deployments: func() []contract.Deployment {
			mu.Lock()
			defer mu.Unlock()
			return deps
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Defaults(0) // baseline: the fleet's draw, set by Constraints' maxMiningW
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	first := <-r.plans
	if first.Running != 20 {
		t.Fatalf("first plan: %d running, want 20 at $10/MWh (%s)", first.Running, first.Reason)
	}
	mu.Lock()
	deps = []contract.Deployment{{Commitment: "ers", Start: r.clk.Now()}}
	mu.Unlock()
	p := <-r.plans
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !p.Interval.Contains(p.Interval.Start) || p.Interval != first.Interval {
		t.Errorf("re-plan for %s, want the same interval %s (not the next one)", p.Interval, first.Interval)
	}
	if p.Power > p.Cap || p.Running >= 20 || float64(p.Cap) > full/2+1 {
		t.Errorf("after the deployment: %d running, %v planned under cap %v; want at most half the fleet (%s)", p.Running, p.Power, p.Cap, p.Reason)
	}
	if r.simStates()[miner.StateMining] >= 20 {
		t.Errorf("simulator: %v, want some machines asleep", r.simStates())
	}
}
