package avalon_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/avalon"
	"github.com/gridminer/gridminer/internal/minersim"
)

var t0 = time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC)

func dial(t *testing.T, cfg avalon.Config) (*clock.Manual, *minersim.Miner, *avalon.Miner) {
	t.Helper()
	clk := clock.NewManual(t0)
	fl := startSim(t, "S19j Pro", clk)
	u, _ := fl.Miner(fl.Addrs()[0])
	cfg.Addr, cfg.Timeout = u.Addr(), 5*time.Second
	m, err := avalon.New(context.Background(), cfg, avalon.Deps{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return clk, u, m
}

func TestScheduledSleepWithLead(t *testing.T) {
	ctx := context.Background()
	clk, u, m := dial(t, avalon.Config{Lead: 30 * time.Second})
	if err := m.Apply(ctx, miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance   time.Duration
		want, sim miner.State
	}{
		{0, miner.StateRampingDown, miner.StateMining}, // scheduled, not due: the driver knows
		{29 * time.Second, miner.StateRampingDown, miner.StateMining},
		{time.Second, miner.StateRampingDown, miner.StateRampingDown}, // due: the firmware acts
		{time.Minute, miner.StateSleeping, miner.StateSleeping},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		st, err := m.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Snapshot().State; st.State != s.want || got != s.sim {
			t.Errorf("step %d: driver %s, simulator %s; want %s, %s", i, st.State, got, s.want, s.sim)
		}
	}
	// Sleeping again sends nothing; waking schedules a softon.
	if err := m.Apply(ctx, miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(ctx, miner.Run(0)); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Status(ctx); st.State != miner.StateWaking {
		t.Errorf("softon scheduled: %s, want waking", st.State)
	}
	clk.Advance(31 * time.Second)
	m.Status(ctx) // the firmware acts on the first request after the timestamp
	clk.Advance(time.Minute)
	if st, _ := m.Status(ctx); st.State != miner.StateMining || u.Snapshot().State != miner.StateMining {
		t.Errorf("after wake: driver %s, simulator %s", st.State, u.Snapshot().State)
	}
}

func TestSleepThenWakeBeforeDue(t *testing.T) {
	ctx := context.Background()
	clk, u, m := dial(t, avalon.Config{Lead: 30 * time.Second})
	if err := m.Apply(ctx, miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	if err := m.Apply(ctx, miner.Run(0)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Minute)
	m.Status(ctx)
	clk.Advance(5 * time.Minute)
	if st, _ := m.Status(ctx); st.State != miner.StateMining || u.Snapshot().State != miner.StateMining {
		t.Errorf("wake scheduled after the pending sleep: driver %s, simulator %s", st.State, u.Snapshot().State)
	}
}

func TestApplyPower(t *testing.T) {
	ctx := context.Background()
	_, u, m := dial(t, avalon.Config{})
	c := m.Capabilities()
	if c.Partial() || len(c.PowerSteps) > 0 {
		t.Errorf("capabilities offer partial power: %+v", c)
	}
	tests := []struct {
		sp   miner.Setpoint
		want error
	}{
		{miner.Run(c.NominalPower * 0.9), miner.ErrUnsupported},
		{miner.Run(-1), miner.ErrUnsupported},
		{miner.Setpoint{Mode: "dance"}, miner.ErrUnsupported},
		{miner.Run(c.NominalPower), nil},
		{miner.Run(c.NominalPower * 2), nil},
	}
	for _, tt := range tests {
		if err := m.Apply(ctx, tt.sp); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("apply %s: %v, want %v", tt.sp, err, tt.want)
		}
	}
	if st := u.Snapshot().State; st != miner.StateMining {
		t.Errorf("simulator %s, want mining", st)
	}
}

func TestConfigErrors(t *testing.T) {
	clk := clock.NewManual(t0)
	for _, tt := range []struct {
		cfg  avalon.Config
		deps avalon.Deps
	}{
		{avalon.Config{}, avalon.Deps{Clock: clk}},
		{avalon.Config{Addr: "127.0.0.1"}, avalon.Deps{}},
		{avalon.Config{Addr: "127.0.0.1", Lead: -time.Second}, avalon.Deps{Clock: clk}},
	} {
		if _, err := avalon.NewWithCapabilities(tt.cfg, tt.deps, miner.Capabilities{}); err == nil {
			t.Errorf("config %+v accepted", tt.cfg)
		}
	}
}
