package braiins_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/braiins"
	"github.com/gridminer/gridminer/internal/miner/minertest"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/braiinssim"
)

const simPassword = "sim-secret"

// startFleet runs a fleet of one braiins miner until t ends.
func startFleet(t *testing.T, model string, clk clock.Clock, d *braiinssim.Dialect) *minersim.Fleet {
	t.Helper()
	fl := minertest.StartFleet(t, minersim.Config{
		Miners:   []minersim.MinerSpec{{Model: model, Seed: 7, Dialect: braiinssim.Name}},
		Dialects: map[string]minersim.Dialect{braiinssim.Name: d},
		Clock:    clk,
	})
	return fl
}

// grpcAddr maps a miner's address (RPC port or gRPC port) to its gRPC
// address: same loopback IP, the fleet's braiins-grpc port.
func grpcAddr(fl *minersim.Fleet, addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return net.JoinHostPort(host, strconv.Itoa(fl.ListenerPort(braiinssim.Listener)))
}

func TestConformance(t *testing.T) {
	var (
		mu     sync.Mutex
		fleet  *minersim.Fleet // the current subtest's; subtests run one at a time
		miners []*braiins.Miner
	)
	t.Cleanup(func() {
		for _, m := range miners {
			m.Close()
		}
	})
	dial := func(ctx context.Context, addr string, clk clock.Clock, timeout time.Duration, pass string) (miner.Miner, error) {
		mu.Lock()
		fl := fleet
		mu.Unlock()
		m, err := braiins.New(ctx, braiins.Config{Addr: grpcAddr(fl, addr), Password: pass, Timeout: timeout}, braiins.Deps{Clock: clk})
		if err != nil {
			return nil, err
		}
		mu.Lock()
		miners = append(miners, m)
		mu.Unlock()
		return m, nil
	}
	minertest.Run(t, minertest.Harness{
		Driver: braiins.Name,
		StartSim: func(t *testing.T, model string, clk clock.Clock) *minersim.Fleet {
			fl := startFleet(t, model, clk, braiinssim.New(braiinssim.Config{Password: simPassword}))
			mu.Lock()
			fleet = fl
			mu.Unlock()
			return fl
		},
		Dial: func(ctx context.Context, addr string, clk clock.Clock, timeout time.Duration) (miner.Miner, error) {
			return dial(ctx, addr, clk, timeout, simPassword)
		},
		DialWrongCredentials: func(ctx context.Context, addr string, clk clock.Clock, timeout time.Duration) (miner.Miner, error) {
			return dial(ctx, addr, clk, timeout, "wrong")
		},
	})
}
