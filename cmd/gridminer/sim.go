package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/minersim"
)

func newSimCmd(logger func() *slog.Logger) *cobra.Command {
	var (
		n          int
		port       int
		file       string
		speed      float64
		list       bool
		asleep     bool
		perPort    bool
		firmwares  []string
		ports      map[string]int
		cpuProfile string
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run a virtual fleet that speaks the LuxOS miner API on loopback",
		Long: `sim starts virtual miners in this process, each speaking the LuxOS miner API
(CGMiner RPC dialect) over real TCP, with a physical model of power, hashrate,
temperatures and sleep/wake ramps. Miners get consecutive loopback addresses from
127.1.0.1 (skipping .0 and .255) on one shared port, so thousands need only one
listening socket. It prints the addresses and a 'miners:' block for a site file,
then runs until interrupted.

A fleet file sets the mix:

  port: 4028
  miners:
    - model: S19j Pro
      count: 100
    - model: S21
      count: 200`,
		Example: `  gridminer sim --miners 300 --port 4028
  gridminer sim --config examples/fleet.yaml --list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := logger()
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			var cfg minersim.Config
			if file != "" {
				c, err := minersim.LoadFile(file)
				if err != nil {
					return err
				}
				cfg = c
				if cmd.Flags().Changed("port") {
					cfg.Port = port
				}
			} else {
				if n <= 0 || n > 60000 {
					return fmt.Errorf("--miners %d: want 1 to 60,000", n)
				}
				for _, fw := range firmwares {
					if !slices.Contains(simFirmwares(), fw) {
						return fmt.Errorf("--firmware %q: the simulator speaks %s", fw, strings.Join(simFirmwares(), ", "))
					}
				}
				cfg = minersim.Config{Miners: minersim.Mix(n, firmwares), Port: port}
			}
			cfg.Dialects = simDialects()
			cfg.Ports = ports
			cfg.PerPort = perPort
			cfg.StartAsleep = asleep
			cfg.Logger = log
			if speed != 1 {
				c, err := clock.NewScaled(time.Now(), speed)
				if err != nil {
					return fmt.Errorf("--speed: %w", err)
				}
				cfg.Clock = c
			} else {
				cfg.Clock = clock.Real{}
			}
			sim, err := minersim.New(cfg)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- sim.Run(ctx) }()
			select {
			case <-sim.Ready():
			case err := <-done:
				return err
			}
			out := cmd.OutOrStdout()
			addrs := sim.Addrs()
			_, p, _ := net.SplitHostPort(addrs[0])
			host0, _, _ := net.SplitHostPort(addrs[0])
			// The first line is machine-readable (bench fleet parses it).
			fmt.Fprintf(out, "ready port=%s miners=%d first=%s last=%s%s\n", p, len(addrs), addrs[0], addrs[len(addrs)-1], listenerPorts(sim))
			if list {
				for _, a := range addrs {
					fmt.Fprintln(out, a)
				}
			}
			if !perPort {
				fmt.Fprintf(out, "# for a site file:\nminers:\n  - driver: luxos\n    first: %s\n    count: %d\n    port: %s\n", host0, len(addrs), p)
			}
			err = <-done
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&n, "miners", 300, "number of virtual machines (a fixed mix of S19j Pro, S19 XP and S21)")
	f.IntVar(&port, "port", 4028, "shared TCP port (0 = any free port)")
	f.StringVar(&file, "config", "", "fleet file (YAML) instead of --miners")
	f.Float64Var(&speed, "speed", 1, "simulated seconds per wall second for ramps and sessions")
	f.BoolVar(&list, "list", false, "print every address")
	f.BoolVar(&asleep, "asleep", false, "start every machine asleep")
	f.BoolVar(&perPort, "per-port", false, "one port per miner on 127.0.0.1 instead of one shared port")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write the simulator's CPU profile to this file (go tool pprof)")
	f.StringToIntVar(&ports, "listener-port", nil, "port of a firmware's extra listener, e.g. antminer-web=8080 (default: any free port; shown on the ready line)")
	f.StringSliceVar(&firmwares, "firmware", []string{"luxos"}, "firmwares the miners speak, taken in turn (e.g. luxos,antminer,whatsminer,braiins,avalon)")
	return cmd
}

// listenerPorts formats the simulator's dialect listener ports for the
// ready line (" antminer-web=41234 ...").
func listenerPorts(sim *minersim.Fleet) string {
	var b strings.Builder
	var names []string
	for _, d := range simDialects() {
		names = append(names, d.Listeners()...)
	}
	slices.Sort(names)
	for _, n := range slices.Compact(names) {
		if p := sim.ListenerPort(n); p > 0 {
			fmt.Fprintf(&b, " %s=%d", n, p)
		}
	}
	return b.String()
}
