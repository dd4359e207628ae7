package whatsminer_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/minertest"
	"github.com/gridminer/gridminer/internal/miner/whatsminer"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/whatsminersim"
)

// startSim starts a one-miner whatsminer fleet and returns it with its
// v3 port.
func startSim(t *testing.T, model string, clk clock.Clock, sim whatsminersim.Config) *minersim.Fleet {
	t.Helper()
	fl := minertest.StartFleet(t, minersim.Config{
		Miners:   []minersim.MinerSpec{{Model: model, Seed: 3, Dialect: whatsminersim.Name}},
		Dialects: map[string]minersim.Dialect{whatsminersim.Name: whatsminersim.New(sim)},
		Clock:    clk,
	})
	return fl
}

const simPassword = "s3cret"

func harness(api whatsminer.API) minertest.Harness {
	var v3port int // set by StartSim; the suite dials right after starting
	dial := func(password string) func(ctx context.Context, addr string, clk clock.Clock, timeout time.Duration) (miner.Miner, error) {
		return func(ctx context.Context, addr string, clk clock.Clock, timeout time.Duration) (miner.Miner, error) {
			return whatsminer.New(ctx, whatsminer.Config{
				Addr: addr, API: api, V3Port: v3port, Timeout: timeout,
				Password: password, V3Password: password,
			}, whatsminer.Deps{Clock: clk})
		}
	}
	return minertest.Harness{
		Driver: whatsminer.Driver,
		StartSim: func(t *testing.T, model string, clk clock.Clock) *minersim.Fleet {
			fl := startSim(t, model, clk, whatsminersim.Config{Password: simPassword, V3Password: simPassword})
			v3port = fl.ListenerPort(whatsminersim.ListenerV3)
			return fl
		},
		Dial:                 dial(simPassword),
		DialWrongCredentials: dial("wrong-password"),
	}
}

func TestConformanceV2(t *testing.T) { minertest.Run(t, harness(whatsminer.APIV2)) }

func TestConformanceV3(t *testing.T) { minertest.Run(t, harness(whatsminer.APIV3)) }
