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
	"github.com/gridminer/gridminer/internal/miner/antminer"
	"github.com/gridminer/gridminer/internal/miner/avalon"
	"github.com/gridminer/gridminer/internal/miner/braiins"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
	"github.com/gridminer/gridminer/internal/miner/luxos"
	"github.com/gridminer/gridminer/internal/miner/whatsminer"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/antminersim"
	"github.com/gridminer/gridminer/internal/minersim/avalonsim"
	"github.com/gridminer/gridminer/internal/minersim/braiinssim"
	"github.com/gridminer/gridminer/internal/minersim/whatsminersim"
)

// driverOpts is what any driver may need to reach one machine.
type driverOpts struct {
	Addr     string // host:port of the machine's RPC API (port 4028 on real machines)
	User     string
	Password string
	WebPort  int // web UI port (Antminer control)
	GRPCPort int // Braiins OS public API port
	V3Port   int // Whatsminer API v3 port
	Timeout  time.Duration
	// Buffers, when set, is shared by the CGMiner-RPC drivers of a fleet.
	Buffers *cgminer.BufferPool
}

// host returns the host part of Addr.
func (o driverOpts) host() string {
	h, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return o.Addr
	}
	return h
}

// on returns host:port for another port of the same machine.
func (o driverOpts) on(port int) string { return net.JoinHostPort(o.host(), strconv.Itoa(port)) }

// driverEntry creates one firmware's drivers: New reads the machine's
// capabilities; WithCaps takes them as known, without I/O.
type driverEntry struct {
	New      func(ctx context.Context, o driverOpts, clk clock.Clock, log *slog.Logger) (miner.Miner, error)
	WithCaps func(o driverOpts, caps miner.Capabilities, clk clock.Clock, log *slog.Logger) (miner.Miner, error)
}

// drivers is the registry of firmware drivers by name; it is built here,
// in cmd, and nowhere else.
func drivers() map[string]driverEntry {
	return map[string]driverEntry{
		"braiins": {
			New: func(ctx context.Context, o driverOpts, clk clock.Clock, log *slog.Logger) (miner.Miner, error) {
				return braiins.New(ctx, braiinsConfig(o), braiins.Deps{Clock: clk, Logger: log})
			},
			WithCaps: func(o driverOpts, caps miner.Capabilities, clk clock.Clock, log *slog.Logger) (miner.Miner, error) {
				return braiins.NewWithCapabilities(braiinsConfig(o), braiins.Deps{Clock: clk, Logger: log}, caps)
			},
		},
		"luxos": {
			New: func(ctx context.Context, o driverOpts, clk clock.Clock, log *slog.Logger) (miner.Miner, error) {
				return luxos.New(ctx, luxos.Config{Addr: o.Addr, Timeout: o.Timeout}, luxos.Deps{Clock: clk, Logger: log, Buffers: o.Buffers})
			},
			WithCaps: func(o driverOpts, caps miner.Capabilities, clk clock.Clock, log *slog.Logger) (miner.Miner, error) {
				return luxos.NewWithCapabilities(luxos.Config{Addr: o.Addr, Timeout: o.Timeout}, luxos.Deps{Clock: clk, Logger: log, Buffers: o.Buffers}, caps)
			},
		},
		"antminer": {
			New: func(ctx context.Context, o driverOpts, clk clock.Clock, log *slog.Logger) (miner.Miner, error) {
				return antminer.New(ctx, antminerConfig(o), antminer.Deps{Clock: clk, Logger: log, Buffers: o.Buffers})
			},
			WithCaps: func(o driverOpts, caps miner.Capabilities, clk clock.Clock, log *slog.Logger) (miner.Miner, error) {
				return antminer.NewWithCapabilities(antminerConfig(o), antminer.Deps{Clock: clk, Logger: log, Buffers: o.Buffers}, caps)
			},
		},
		"avalon": {
			New: func(ctx context.Context, o driverOpts, clk clock.Clock, log *slog.Logger) (miner.Miner, error) {
				return avalon.New(ctx, avalon.Config{Addr: o.Addr, Timeout: o.Timeout}, avalon.Deps{Clock: clk, Logger: log, Buffers: o.Buffers})
			},
			WithCaps: func(o driverOpts, caps miner.Capabilities, clk clock.Clock, log *slog.Logger) (miner.Miner, error) {
				return avalon.NewWithCapabilities(avalon.Config{Addr: o.Addr, Timeout: o.Timeout}, avalon.Deps{Clock: clk, Logger: log, Buffers: o.Buffers}, caps)
			},
		},
		"whatsminer": {
			New: func(ctx context.Context, o driverOpts, clk clock.Clock, log *slog.Logger) (miner.Miner, error) {
				return whatsminer.New(ctx, whatsminerConfig(o), whatsminer.Deps{Clock: clk, Logger: log})
			},
			WithCaps: func(o driverOpts, caps miner.Capabilities, clk clock.Clock, log *slog.Logger) (miner.Miner, error) {
				cfg := whatsminerConfig(o)
				cfg.API = whatsminer.APIV2 // known capabilities skip the probe; v2 is every firmware's
				return whatsminer.NewWithCapabilities(cfg, whatsminer.Deps{Clock: clk, Logger: log}, caps)
			},
		},
	}
}

// antminerConfig maps driver options to the stock Antminer driver: RPC
// reads on Addr, control on the web port of the same host.
func antminerConfig(o driverOpts) antminer.Config {
	return antminer.Config{Addr: o.Addr, WebPort: o.WebPort, Username: o.User, Password: o.Password, Timeout: o.Timeout}
}

// braiinsConfig maps driver options to the Braiins OS driver, which speaks
// gRPC on its own port of the machine.
func braiinsConfig(o driverOpts) braiins.Config {
	port := o.GRPCPort
	if port == 0 {
		port, _ = strconv.Atoi(braiins.DefaultPort)
	}
	return braiins.Config{Addr: o.on(port), User: o.User, Password: o.Password, Timeout: o.Timeout}
}

// whatsminerConfig maps driver options to the Whatsminer driver: the
// password is the v2 admin password; with a user it is also that v3
// account's password (without one, the v3 default account is used).
func whatsminerConfig(o driverOpts) whatsminer.Config {
	c := whatsminer.Config{Addr: o.Addr, V3Port: o.V3Port, Password: o.Password, Timeout: o.Timeout}
	if o.User != "" {
		c.V3Account, c.V3Password = o.User, o.Password
	}
	return c
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
		f, ok := discovery.Identify(ctx, host, discovery.Config{RPCPort: rpc, WebPort: o.WebPort, GRPCPort: o.GRPCPort, Timeout: o.Timeout})
		if !ok {
			return nil, fmt.Errorf("%s: no known miner API answered (give --driver: %s): %w", o.Addr, driverNames(), miner.ErrUnreachable)
		}
		name = f.Driver
		log.Info("identified", "miner", o.Addr, "driver", f.Driver, "model", f.Model, "evidence", f.Evidence)
	}
	entry, ok := drivers()[name]
	if !ok {
		return nil, fmt.Errorf("driver %q: not supported here (supported: %s)", name, driverNames())
	}
	return entry.New(ctx, o, clk, log)
}

// simDialects is the registry of simulator dialects besides the built-in
// LuxOS, by the same names as the drivers.
func simDialects() map[string]minersim.Dialect {
	return map[string]minersim.Dialect{
		whatsminersim.Name: whatsminersim.New(whatsminersim.Config{}),
		antminersim.Name:   antminersim.New(antminersim.Config{}),
		avalonsim.Name:     avalonsim.New(),
		braiinssim.Name:    braiinssim.New(braiinssim.Config{}),
	}
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
