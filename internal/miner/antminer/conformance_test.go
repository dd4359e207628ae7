package antminer_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/antminer"
	"github.com/gridminer/gridminer/internal/miner/minertest"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/antminersim"
)

// startSim starts a fleet of one stock Antminer of model on clk.
func startSim(t *testing.T, model string, clk clock.Clock, d *antminersim.Dialect) *minersim.Fleet {
	t.Helper()
	fl := minertest.StartFleet(t, minersim.Config{
		Miners:   []minersim.MinerSpec{{Model: model, Seed: 11, Dialect: antminersim.Name}},
		Dialects: map[string]minersim.Dialect{antminersim.Name: d},
		Clock:    clk,
	})
	return fl
}

// webAddr is the web CGI address of the miner at rpcAddr in fl.
func webAddr(t testing.TB, fl *minersim.Fleet, rpcAddr string) string {
	host, _, err := net.SplitHostPort(rpcAddr)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(host, strconv.Itoa(fl.ListenerPort(antminersim.WebListener)))
}

func TestConformance(t *testing.T) {
	// Each subtest starts its own fleet; Dial finds it by the RPC address.
	var mu sync.Mutex
	fleets := map[string]*minersim.Fleet{}
	fleetOf := func(t testing.TB, addr string) *minersim.Fleet {
		mu.Lock()
		defer mu.Unlock()
		fl, ok := fleets[addr]
		if !ok {
			t.Fatalf("no fleet serves %s", addr)
		}
		return fl
	}
	dial := func(password string) func(ctx context.Context, addr string, clk clock.Clock, timeout time.Duration) (miner.Miner, error) {
		return func(ctx context.Context, addr string, clk clock.Clock, timeout time.Duration) (miner.Miner, error) {
			cfg := antminer.Config{Addr: addr, WebAddr: webAddr(t, fleetOf(t, addr), addr), Password: password, Timeout: timeout}
			return antminer.New(ctx, cfg, antminer.Deps{Clock: clk})
		}
	}
	minertest.Run(t, minertest.Harness{
		Driver: antminer.DriverName,
		StartSim: func(t *testing.T, model string, clk clock.Clock) *minersim.Fleet {
			fl := startSim(t, model, clk, antminersim.New(antminersim.Config{}))
			addr := fl.Addrs()[0]
			mu.Lock()
			fleets[addr] = fl
			mu.Unlock()
			t.Cleanup(func() { mu.Lock(); delete(fleets, addr); mu.Unlock() })
			return fl
		},
		Dial:                 dial("root"),
		DialWrongCredentials: dial("not-the-password"),
	})
}
