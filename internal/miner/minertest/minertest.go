// Package minertest is the conformance suite every miner driver passes: run
// against the driver's own dialect of internal/minersim over real sockets,
// it checks that the driver identifies the machine, reads status that
// agrees with the simulator's ground truth, sleeps, wakes and sets power
// (or refuses what the firmware cannot do, saying so), rejects wrong
// credentials, and turns timeouts, refusals, garbage and truncated replies
// into the errors callers branch on.
//
// The suite drives the simulator's physics with a clock.Manual, so ramps
// complete deterministically; the network stays real. It holds no driver
// code and knows no firmware.
package minertest

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/minersim"
)

// Harness tells the suite how to run one firmware.
type Harness struct {
	// Driver is the driver's name as Capabilities report it ("luxos").
	Driver string
	// StartSim starts a simulated fleet of one miner of model speaking the
	// firmware's API, with its physics on clk, and returns it once it
	// listens. The fleet must stop when t ends.
	StartSim func(t *testing.T, model string, clk clock.Clock) *minersim.Fleet
	// Dial returns a driver for the miner at addr, with good credentials,
	// stamping status with clk and giving up each call after timeout.
	Dial func(ctx context.Context, addr string, clk clock.Clock, timeout time.Duration) (miner.Miner, error)
	// DialWrongCredentials returns a driver whose credentials the miner
	// rejects; nil for firmwares without credentials.
	DialWrongCredentials func(ctx context.Context, addr string, clk clock.Clock, timeout time.Duration) (miner.Miner, error)
}

// Model is the simulated model the suite uses.
const Model = "S19j Pro"

var t0 = time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC)

type rig struct {
	t   *testing.T
	clk *clock.Manual
	sim *minersim.Miner
	m   miner.Miner
	h   Harness
}

func start(t *testing.T, h Harness) *rig {
	t.Helper()
	clk := clock.NewManual(t0)
	fl := h.StartSim(t, Model, clk)
	addr := fl.Addrs()[0]
	sim, ok := fl.Miner(addr)
	if !ok {
		t.Fatalf("simulator has no miner at its own address %s", addr)
	}
	m, err := h.Dial(context.Background(), addr, clk, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return &rig{t: t, clk: clk, sim: sim, m: m, h: h}
}

func (r *rig) status() miner.Status {
	r.t.Helper()
	st, err := r.m.Status(context.Background())
	if err != nil {
		r.t.Fatalf("status: %v", err)
	}
	return st
}

func (r *rig) apply(sp miner.Setpoint) {
	r.t.Helper()
	if err := r.m.Apply(context.Background(), sp); err != nil {
		r.t.Fatalf("apply %s: %v", sp, err)
	}
}

// settle moves the physics past any ramp.
func (r *rig) settle() { r.clk.Advance(2 * time.Minute) }

func near(got, want, frac float64) bool {
	return math.Abs(got-want) <= frac*math.Abs(want)+1
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("identify", func(t *testing.T) {
		r := start(t, h)
		c := r.m.Capabilities()
		if c.Driver != h.Driver {
			t.Errorf("driver %q, want %q", c.Driver, h.Driver)
		}
		if c.Model == "" || c.Firmware == "" {
			t.Errorf("model %q firmware %q: want both", c.Model, c.Firmware)
		}
		if c.NominalPower <= 0 || c.NominalHashrate <= 0 {
			t.Errorf("nominal %v at %v: want both positive", c.NominalHashrate, c.NominalPower)
		}
		truth := r.sim.Snapshot()
		if tol := map[bool]float64{true: 0.02, false: 0.10}[c.PowerMeasured]; !near(float64(c.NominalPower), float64(truth.ProfilePower), tol) {
			t.Errorf("nominal power %v, simulator's default profile draws %v", c.NominalPower, truth.ProfilePower)
		}
		if !c.CanSleep {
			t.Error("cannot sleep: every supported firmware can")
		}
		if c.Partial() && !(c.MinPower < c.MaxPower) {
			t.Errorf("partial power range %v-%v", c.MinPower, c.MaxPower)
		}
	})

	t.Run("status", func(t *testing.T) {
		r := start(t, h)
		st := r.status()
		truth := r.sim.Snapshot()
		if st.State != miner.StateMining || truth.State != miner.StateMining {
			t.Errorf("state %s, simulator says %s; want mining", st.State, truth.State)
		}
		tol := 0.05
		if st.PowerEstimated {
			tol = 0.10 // a model estimate cannot know the unit's variation
		}
		if !near(float64(st.Power), float64(truth.Power), tol) {
			t.Errorf("power %v (estimated %v), simulator draws %v", st.Power, st.PowerEstimated, truth.Power)
		}
		if !near(float64(st.Hashrate), float64(truth.Hashrate), 0.10) {
			t.Errorf("hashrate %v, simulator hashes %v", st.Hashrate, truth.Hashrate)
		}
		if !st.Time.Equal(r.clk.Now()) {
			t.Errorf("status time %v, the injected clock reads %v", st.Time, r.clk.Now())
		}
		if st.Boards <= 0 || st.BoardsActive != st.Boards {
			t.Errorf("boards %d active of %d", st.BoardsActive, st.Boards)
		}
	})

	t.Run("sleep-and-wake", func(t *testing.T) {
		r := start(t, h)
		nominal := r.sim.Snapshot().Power
		r.apply(miner.Sleep())
		if st := r.status(); st.State != miner.StateRampingDown && st.State != miner.StateSleeping {
			t.Errorf("right after sleep: state %s", st.State)
		}
		r.settle()
		st, truth := r.status(), r.sim.Snapshot()
		if st.State != miner.StateSleeping || truth.State != miner.StateSleeping {
			t.Errorf("after the ramp: state %s, simulator %s; want sleeping", st.State, truth.State)
		}
		if st.Power > nominal/20 || st.Hashrate != 0 {
			t.Errorf("asleep at %v and %v; want near zero (nominal %v)", st.Power, st.Hashrate, nominal)
		}
		r.apply(miner.Run(0))
		if st := r.status(); st.State != miner.StateWaking && st.State != miner.StateMining {
			t.Errorf("right after wake: state %s", st.State)
		}
		r.settle()
		st, truth = r.status(), r.sim.Snapshot()
		if st.State != miner.StateMining || truth.State != miner.StateMining {
			t.Errorf("after the wake ramp: state %s, simulator %s; want mining", st.State, truth.State)
		}
		if tol := map[bool]float64{false: 0.05, true: 0.10}[st.PowerEstimated]; !near(float64(st.Power), float64(nominal), tol) {
			t.Errorf("awake at %v (estimated %v), want about %v", st.Power, st.PowerEstimated, nominal)
		}
	})

	t.Run("set-power", func(t *testing.T) {
		r := start(t, h)
		c := r.m.Capabilities()
		if !c.Partial() {
			err := r.m.Apply(context.Background(), miner.Run(c.NominalPower/2))
			if !errors.Is(err, miner.ErrUnsupported) {
				t.Errorf("half power on a machine without power targets: %v, want ErrUnsupported", err)
			}
			return
		}
		target := (c.MinPower + c.MaxPower) / 2
		r.apply(miner.Run(target))
		r.settle()
		st, truth := r.status(), r.sim.Snapshot()
		if truth.Power > target*1.02 {
			t.Errorf("asked for %v, simulator draws %v", target, truth.Power)
		}
		if st.PowerTarget <= 0 || st.PowerTarget > target {
			t.Errorf("reported target %v for a request of %v", st.PowerTarget, target)
		}
		if truth.Power < c.MinPower*0.9 {
			t.Errorf("asked for %v, simulator draws only %v (below the machine's minimum %v)", target, truth.Power, c.MinPower)
		}
		err := r.m.Apply(context.Background(), miner.Run(c.MinPower/2))
		if !errors.Is(err, miner.ErrUnsupported) {
			t.Errorf("target below the minimum: %v, want ErrUnsupported", err)
		}
		r.apply(miner.Run(0))
		r.settle()
		if truth := r.sim.Snapshot(); !near(float64(truth.Power), float64(c.NominalPower), 0.05) {
			t.Errorf("back to nominal: simulator draws %v, want about %v", truth.Power, c.NominalPower)
		}
	})

	t.Run("logoff", func(t *testing.T) {
		r := start(t, h)
		lo, ok := r.m.(interface{ Logoff(context.Context) error })
		if !ok {
			t.Skipf("%s has no Logoff", h.Driver)
		}
		r.apply(miner.Sleep()) // holds a session or token now, where the firmware has one
		if err := lo.Logoff(context.Background()); err != nil {
			t.Fatalf("logoff: %v", err)
		}
		// The next command authenticates again by itself.
		r.apply(miner.Run(0))
		r.settle()
		if st := r.sim.Snapshot().State; st != miner.StateMining {
			t.Errorf("wake after logoff: simulator %s, want mining", st)
		}
	})

	t.Run("wrong-credentials", func(t *testing.T) {
		if h.DialWrongCredentials == nil {
			t.Skipf("%s has no credentials", h.Driver)
		}
		r := start(t, h)
		bad, err := h.DialWrongCredentials(context.Background(), r.m.Addr(), r.clk, 5*time.Second)
		if err == nil {
			err = bad.Apply(context.Background(), miner.Sleep())
		}
		if !errors.Is(err, miner.ErrDenied) {
			t.Errorf("wrong credentials: %v, want ErrDenied", err)
		}
		if st := r.sim.Snapshot().State; st != miner.StateMining {
			t.Errorf("after a denied command the simulator is %s", st)
		}
	})

	faults := []struct {
		name  string
		fault minersim.Fault
		want  []error // any of
	}{
		{"no-answer", minersim.FaultNoAnswer, []error{miner.ErrUnreachable}},
		{"refused", minersim.FaultRefuse, []error{miner.ErrUnreachable}},
		{"garbage", minersim.FaultGarbage, []error{miner.ErrProtocol, miner.ErrUnreachable}},
		{"truncated", minersim.FaultTruncate, []error{miner.ErrProtocol, miner.ErrUnreachable}},
	}
	for _, f := range faults {
		t.Run("fault-"+f.name, func(t *testing.T) {
			r := start(t, h)
			r.sim.SetFault(f.fault)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			for _, op := range []struct {
				name string
				err  error
			}{
				{"status", func() error { _, err := r.m.Status(ctx); return err }()},
				{"sleep", r.m.Apply(ctx, miner.Sleep())},
			} {
				if op.err == nil {
					t.Errorf("%s with fault %s succeeded", op.name, f.fault)
					continue
				}
				matched := false
				for _, w := range f.want {
					matched = matched || errors.Is(op.err, w)
				}
				if !matched {
					t.Errorf("%s with fault %s: %v, want one of %v", op.name, f.fault, op.err, f.want)
				}
			}
			if st := r.sim.Snapshot().State; st != miner.StateMining {
				t.Errorf("simulator %s after failed commands, want mining", st)
			}
		})
	}
}

// StartFleet starts a simulated fleet for a test, waits until it listens,
// and stops it when the test ends.
func StartFleet(t testing.TB, cfg minersim.Config) *minersim.Fleet {
	t.Helper()
	fl, err := minersim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-fl.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	return fl
}
