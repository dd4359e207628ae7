package avalon_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/avalon"
	"github.com/gridminer/gridminer/internal/miner/minertest"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/avalonsim"
)

// startSim starts a one-miner fleet speaking the Avalon dialect.
func startSim(t *testing.T, model string, clk clock.Clock) *minersim.Fleet {
	t.Helper()
	fl := minertest.StartFleet(t, minersim.Config{
		Miners:   []minersim.MinerSpec{{Model: model, Seed: 11, Dialect: avalonsim.Name}},
		Dialects: map[string]minersim.Dialect{avalonsim.Name: avalonsim.New()},
		Clock:    clk,
	})
	return fl
}

func TestConformance(t *testing.T) {
	minertest.Run(t, minertest.Harness{
		Driver:   avalon.DriverName,
		StartSim: startSim,
		Dial: func(ctx context.Context, addr string, clk clock.Clock, timeout time.Duration) (miner.Miner, error) {
			return avalon.New(ctx, avalon.Config{Addr: addr, Timeout: timeout}, avalon.Deps{Clock: clk})
		},
	})
}
