package solo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin/live/btcdtest"
	"github.com/gridminer/gridminer/internal/bitcoin/live/node"
	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/stratum/solo"
)

// TestSourceStepOnBtcd drives the source's poll step against a real
// btcd with a manual clock: no fetch while nothing changed, a clean
// update on a new block, a plain refresh after RefreshInterval.
func TestSourceStepOnBtcd(t *testing.T) {
	n := btcdtest.Start(t)
	n.Generate(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := node.New(node.Config{URL: n.URL, User: n.User, Password: n.Password, Network: "regtest"}, node.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	src, err := solo.NewSource(solo.SourceConfig{RefreshInterval: 30 * time.Second}, solo.SourceDeps{Node: c, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	step := func(name string, wantUpdate, wantNew bool, wantHeight int64) {
		t.Helper()
		u, err := src.Step(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch {
		case (u != nil) != wantUpdate:
			t.Fatalf("%s: update %v, want %v", name, u != nil, wantUpdate)
		case u == nil:
		case u.NewBlock != wantNew || u.Work.Height != wantHeight:
			t.Errorf("%s: new block %v height %d, want %v %d", name, u.NewBlock, u.Work.Height, wantNew, wantHeight)
		}
	}
	step("first", true, true, 2)
	step("unchanged", false, false, 0)
	n.Generate(t, 1)
	step("new block", true, true, 3)
	clk.Advance(31 * time.Second)
	step("refresh", true, false, 3)

	// Run sends the current template and stops with its context.
	runCtx, stop := context.WithCancel(ctx)
	out := make(chan solo.Update)
	done := make(chan error, 1)
	go func() { done <- src.Run(runCtx, out) }()
	n.Generate(t, 1)
	src.Poke()
	for u := range out {
		if u.Work.Height == 4 && u.NewBlock {
			break
		}
		src.Poke()
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

func TestNewSourceRejects(t *testing.T) {
	if _, err := solo.NewSource(solo.SourceConfig{}, solo.SourceDeps{}); !errors.Is(err, solo.ErrBadConfig) {
		t.Errorf("no node: %v", err)
	}
	if _, err := solo.NewSource(solo.SourceConfig{RefreshInterval: 2 * time.Minute}, solo.SourceDeps{Node: &node.Client{}}); !errors.Is(err, solo.ErrBadConfig) {
		t.Errorf("refresh over a minute: %v", err)
	}
}
