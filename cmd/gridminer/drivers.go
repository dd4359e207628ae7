package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/discovery"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/luxos"
	"github.com/gridminer/gridminer/internal/minersim"
)

// driverOpts is what any driver may need to reach one machine.
type driverOpts struct {
	Addr     string // host:port of the machine's main API
	User     string
	Password string
	WebPort  int // Antminer web CGI
	Timeout  time.Duration
}

// driverFactory creates a driver, reading the machine's capabilities.
type driverFactory func(ctx context.Context, o driverOpts, clk clock.Clock, log *slog.Logger) (miner.Miner, error)

// drivers is the registry of firmware drivers by name; it is built here,
// in cmd, and nowhere else.
func drivers() map[string]driverFactory {
	return map[string]driverFactory{
		"luxos": func(ctx context.Context, o driverOpts, clk clock.Clock, log *slog.Logger) (miner.Miner, error) {
			return luxos.New(ctx, luxos.Config{Addr: o.Addr, Timeout: o.Timeout}, luxos.Deps{Clock: clk, Logger: log})
		},
	}
}

func driverNames() string {
	var names []string
	for n := range drivers() {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// newDriver creates the named driver, or identifies the firmware first
// when name is empty.
func newDriver(ctx context.Context, name string, o driverOpts, clk clock.Clock, log *slog.Logger) (miner.Miner, error) {
	if name == "" {
		host, port, err := net.SplitHostPort(o.Addr)
		if err != nil {
			return nil, fmt.Errorf("%s: want host:port", o.Addr)
		}
		rpc, _ := strconv.Atoi(port)
		f, ok := discovery.Identify(ctx, host, discovery.Config{RPCPort: rpc, WebPort: o.WebPort, Timeout: o.Timeout})
		if !ok {
			return nil, fmt.Errorf("%s: no known miner API answered (give --driver: %s): %w", o.Addr, driverNames(), miner.ErrUnreachable)
		}
		name = f.Driver
		log.Info("identified", "miner", o.Addr, "driver", f.Driver, "model", f.Model, "evidence", f.Evidence)
	}
	factory, ok := drivers()[name]
	if !ok {
		return nil, fmt.Errorf("driver %q: not supported here (supported: %s)", name, driverNames())
	}
	return factory(ctx, o, clk, log)
}

// simDialects is the registry of simulator dialects besides the built-in
// LuxOS, by the same names as the drivers.
func simDialects() map[string]minersim.Dialect {
	return map[string]minersim.Dialect{}
}

// simFirmwares lists every firmware the simulator can speak.
func simFirmwares() []string {
	names := []string{"luxos"}
	for n := range simDialects() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
