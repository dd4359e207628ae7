package fleet_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/fleet"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/luxos"
	"github.com/gridminer/gridminer/internal/minersim"
)

// TestFaultsOverRealSockets drives the real LuxOS driver against virtual
// miners with injected faults: every fault ends in an offline reading or a
// failed command for that machine alone, and the healthy machines are read
// and commanded with their state confirmed by their own replies.
func TestFaultsOverRealSockets(t *testing.T) {
	sim, err := minersim.New(minersim.Config{Miners: minersim.DefaultMix(12), Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-sim.Ready()

	addrs := sim.Addrs()
	var members []fleet.Member
	for _, a := range addrs {
		m, err := luxos.New(ctx, luxos.Config{Addr: a, Timeout: 2 * time.Second}, luxos.Deps{Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, fleet.Member{ID: a, Miner: m})
	}
	inv, err := fleet.NewInventory(members)
	if err != nil {
		t.Fatal(err)
	}
	faults := map[string]struct {
		fault  minersim.Fault
		reason string
	}{
		addrs[1]: {minersim.FaultNoAnswer, "timeout"},
		addrs[4]: {minersim.FaultRefuse, "unreachable"},
		addrs[7]: {minersim.FaultGarbage, "bad reply"},
		addrs[9]: {minersim.FaultTruncate, "unreachable"},
	}
	for a, f := range faults {
		m, _ := sim.Miner(a)
		m.SetFault(f.fault)
	}

	readings, err := fleet.Poll(ctx, inv, clock.Real{}, fleet.PollConfig{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range readings {
		off, why := r.Offline()
		want, faulty := faults[r.ID]
		switch {
		case faulty && (!off || why != want.reason):
			t.Errorf("%s with fault %s: offline=%v reason %q, want reason %q (err %v)", r.ID, want.fault, off, why, want.reason, r.Err)
		case !faulty && (off || r.Status.State != miner.StateMining || r.Status.Power <= 0):
			t.Errorf("healthy %s: offline=%v state %s power %v err %v", r.ID, off, r.Status.State, r.Status.Power, r.Err)
		}
	}

	var cmds []fleet.Command
	for _, a := range addrs {
		cmds = append(cmds, fleet.Command{ID: a, Setpoint: miner.Sleep()})
	}
	outs := fleet.Execute(ctx, inv, cmds, fleet.ExecConfig{Timeout: 300 * time.Millisecond, Retries: 1, Backoff: time.Millisecond, Verify: true})
	for _, o := range outs {
		_, faulty := faults[o.ID]
		if faulty {
			if o.Err == nil || o.Verified {
				t.Errorf("faulty %s: command succeeded (verified %v)", o.ID, o.Verified)
			}
			continue
		}
		if o.Err != nil || !o.Verified {
			t.Errorf("healthy %s: err %v verified %v", o.ID, o.Err, o.Verified)
		}
		m, _ := sim.Miner(o.ID)
		if st := m.Snapshot().State; st != miner.StateRampingDown && st != miner.StateSleeping {
			t.Errorf("healthy %s: simulator says %s after a confirmed sleep", o.ID, st)
		}
	}
	// Transient faults are retried: a miner that refuses is tried twice.
	for _, o := range outs {
		if o.ID == addrs[4] && (o.Attempts != 2 || !errors.Is(o.Err, miner.ErrUnreachable)) {
			t.Errorf("refusing miner: %d attempts, err %v; want 2 attempts ending unreachable", o.Attempts, o.Err)
		}
	}
}
