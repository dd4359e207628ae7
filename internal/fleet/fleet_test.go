package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
)

// fake is an in-process miner for unit tests of the fleet logic. Tests that
// need the wire protocol use minersim and a real driver instead.
type fake struct {
	id string

	mu        sync.Mutex
	state     miner.State
	failApply []error // errors returned by successive Apply calls
	applies   int
	statusErr error
	hang      bool // Status blocks until ctx ends
	lie       bool // accept commands but never change state
}

func (f *fake) Addr() string                     { return f.id }
func (f *fake) Capabilities() miner.Capabilities { return miner.Capabilities{Driver: "fake"} }

func (f *fake) Status(ctx context.Context) (miner.Status, error) {
	if f.hang {
		<-ctx.Done()
		return miner.Status{}, fmt.Errorf("fake %s: status: %w", f.id, ctx.Err())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.statusErr != nil {
		return miner.Status{}, f.statusErr
	}
	return miner.Status{State: f.state, Power: 3000}, nil
}

func (f *fake) Apply(ctx context.Context, sp miner.Setpoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applies++
	if len(f.failApply) > 0 {
		err := f.failApply[0]
		f.failApply = f.failApply[1:]
		if err != nil {
			return err
		}
	}
	if f.lie {
		return nil
	}
	if sp.Mode == miner.ModeSleep {
		f.state = miner.StateSleeping
	} else {
		f.state = miner.StateMining
	}
	return nil
}

func inventory(t *testing.T, fs ...*fake) *Inventory {
	t.Helper()
	ms := make([]Member, len(fs))
	for i, f := range fs {
		ms[i] = Member{ID: f.id, Miner: f}
	}
	inv, err := NewInventory(ms)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestNewInventoryRejectsDuplicatesAndEmpty(t *testing.T) {
	a := &fake{id: "a"}
	if _, err := NewInventory([]Member{{ID: "a", Miner: a}, {ID: "a", Miner: a}}); err == nil {
		t.Error("duplicate ids accepted")
	}
	if _, err := NewInventory([]Member{{ID: "", Miner: a}}); err == nil {
		t.Error("empty id accepted")
	}
	if _, err := NewInventory([]Member{{ID: "x"}}); err == nil {
		t.Error("nil miner accepted")
	}
}

func TestPollMarksUnreachableOfflineWithoutStallingOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ok := &fake{id: "ok", state: miner.StateMining}
		dead := &fake{id: "dead", statusErr: fmt.Errorf("dial: %w", miner.ErrUnreachable)}
		slow := &fake{id: "slow", hang: true}
		inv := inventory(t, ok, dead, slow)
		start := time.Now()
		got, err := Poll(context.Background(), inv, clock.Real{}, PollConfig{Timeout: 2 * time.Second, Concurrency: 3})
		if err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el != 2*time.Second {
			t.Errorf("poll took %v of bubble time, want exactly the 2s per-call deadline", el)
		}
		if got[0].Err != nil || got[0].Status.State != miner.StateMining {
			t.Errorf("healthy miner: %+v", got[0])
		}
		for i, want := range []string{"", "unreachable", "timeout"} {
			off, why := got[i].Offline()
			if off != (want != "") || why != want {
				t.Errorf("reading %s: offline=%v reason=%q, want reason %q", got[i].ID, off, why, want)
			}
			if off && got[i].Status.State != miner.StateOffline {
				t.Errorf("reading %s: state %s, want offline", got[i].ID, got[i].Status.State)
			}
		}
	})
}

func TestExecuteRetriesTransientAndVerifies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		flaky := &fake{id: "flaky", state: miner.StateMining, failApply: []error{miner.ErrUnreachable, miner.ErrUnreachable}}
		rejecting := &fake{id: "rej", state: miner.StateMining, failApply: []error{miner.ErrRejected}}
		liar := &fake{id: "liar", state: miner.StateMining, lie: true}
		fine := &fake{id: "fine", state: miner.StateSleeping}
		inv := inventory(t, flaky, rejecting, liar, fine)
		cmds := []Command{
			{ID: "flaky", Setpoint: miner.Sleep()},
			{ID: "rej", Setpoint: miner.Sleep()},
			{ID: "liar", Setpoint: miner.Sleep()},
			{ID: "fine", Setpoint: miner.Run(0)},
			{ID: "ghost", Setpoint: miner.Sleep()},
		}
		got := Execute(context.Background(), inv, cmds, ExecConfig{Verify: true, Retries: 2, Backoff: 100 * time.Millisecond})
		type row struct {
			ID       string
			Attempts int
			Verified bool
			Err      string
		}
		var rows []row
		for _, o := range got {
			r := row{ID: o.ID, Attempts: o.Attempts, Verified: o.Verified}
			switch {
			case o.Err == nil:
			case errors.Is(o.Err, ErrNotConfirmed):
				r.Err = "not confirmed"
			case errors.Is(o.Err, miner.ErrRejected):
				r.Err = "rejected"
			case errors.Is(o.Err, ErrUnknownMiner):
				r.Err = "unknown"
			default:
				r.Err = o.Err.Error()
			}
			rows = append(rows, r)
		}
		want := []row{
			{"flaky", 3, true, ""},
			{"rej", 1, false, "rejected"},
			{"liar", 1, false, "not confirmed"},
			{"fine", 1, true, ""},
			{"ghost", 0, false, "unknown"},
		}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		if flaky.state != miner.StateSleeping {
			t.Errorf("flaky miner state %s after retries, want sleeping", flaky.state)
		}
	})
}

func TestExecuteGivesUpAfterRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := &fake{id: "down", failApply: []error{miner.ErrUnreachable, miner.ErrUnreachable, miner.ErrUnreachable, miner.ErrUnreachable}}
		got := Execute(context.Background(), inventory(t, down), []Command{{ID: "down", Setpoint: miner.Sleep()}}, ExecConfig{Retries: 2})
		if got[0].Attempts != 3 || !errors.Is(got[0].Err, miner.ErrUnreachable) {
			t.Errorf("got %d attempts, err %v; want 3 attempts ending unreachable", got[0].Attempts, got[0].Err)
		}
	})
}

func TestConfirms(t *testing.T) {
	tests := []struct {
		st   miner.Status
		sp   miner.Setpoint
		want bool
	}{
		{miner.Status{State: miner.StateSleeping}, miner.Sleep(), true},
		{miner.Status{State: miner.StateRampingDown}, miner.Sleep(), true},
		{miner.Status{State: miner.StateMining}, miner.Sleep(), false},
		{miner.Status{State: miner.StateWaking}, miner.Run(0), true},
		{miner.Status{State: miner.StateSleeping}, miner.Run(0), false},
		{miner.Status{State: miner.StateMining, PowerTarget: 2000}, miner.Run(2500), true},
		{miner.Status{State: miner.StateMining, PowerTarget: 3000}, miner.Run(2500), false},
		{miner.Status{State: miner.StateOffline}, miner.Run(0), false},
	}
	for _, tt := range tests {
		if got := Confirms(tt.st, tt.sp); got != tt.want {
			t.Errorf("Confirms(%s, %s) = %v, want %v", tt.st.State, tt.sp, got, tt.want)
		}
	}
}

func TestAddrRangeSkipsNetworkAndBroadcast(t *testing.T) {
	got, err := AddrRange(netip.MustParseAddr("127.1.0.253"), 4)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, a := range got {
		s = append(s, a.String())
	}
	want := []string{"127.1.0.253", "127.1.0.254", "127.1.1.1", "127.1.1.2"}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("range (-want +got):\n%s", diff)
	}
	if _, err := AddrRange(netip.MustParseAddr("255.255.255.250"), 10); err == nil {
		t.Error("range past the end of IPv4 space accepted")
	}
	if _, err := AddrRange(netip.MustParseAddr("::1"), 1); err == nil {
		t.Error("IPv6 start accepted")
	}
}

func TestLazyCreatesOnFirstSuccess(t *testing.T) {
	attempts := 0
	real := &fake{id: "m", state: miner.StateMining}
	create := func(ctx context.Context) (miner.Miner, error) {
		attempts++
		if attempts < 3 {
			return nil, fmt.Errorf("m: %w", miner.ErrUnreachable)
		}
		return real, nil
	}
	l, err := Lazy(context.Background(), "m", create)
	if !errors.Is(err, miner.ErrUnreachable) {
		t.Fatalf("first creation: %v, want unreachable", err)
	}
	if got := l.Capabilities(); got.Driver != "" {
		t.Errorf("capabilities before creation: %+v", got)
	}
	if _, err := l.Status(context.Background()); !errors.Is(err, miner.ErrUnreachable) {
		t.Errorf("status while unreachable: %v", err)
	}
	st, err := l.Status(context.Background())
	if err != nil || st.State != miner.StateMining {
		t.Fatalf("status once reachable: %+v, %v", st, err)
	}
	if l.Capabilities().Driver != "fake" || l.Addr() != "m" {
		t.Errorf("capabilities %+v addr %q after creation", l.Capabilities(), l.Addr())
	}
	if err := l.Apply(context.Background(), miner.Sleep()); err != nil || attempts != 3 {
		t.Errorf("apply: %v after %d creations, want nil after 3", err, attempts)
	}
}
