package luxos_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/luxos"
	"github.com/gridminer/gridminer/internal/miner/minertest"
	"github.com/gridminer/gridminer/internal/minersim"
)

func TestConformance(t *testing.T) {
	minertest.Run(t, minertest.Harness{
		Driver: "luxos",
		StartSim: func(t *testing.T, model string, clk clock.Clock) *minersim.Fleet {
			fl := minertest.StartFleet(t, minersim.Config{Miners: []minersim.MinerSpec{{Model: model, Seed: 7}}, Clock: clk})
			return fl
		},
		Dial: func(ctx context.Context, addr string, clk clock.Clock, timeout time.Duration) (miner.Miner, error) {
			return luxos.New(ctx, luxos.Config{Addr: addr, Timeout: timeout}, luxos.Deps{Clock: clk})
		},
	})
}
