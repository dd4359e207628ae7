package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/discovery"
	"github.com/gridminer/gridminer/internal/miner"
)

// scanRow is one machine found, with what its driver read.
type scanRow struct {
	discovery.Found
	HashrateTHs float64 `json:"hashrate_ths"`
	PowerW      float64 `json:"power_w"`
	State       string  `json:"state"`
	Error       string  `json:"error,omitempty"`
}

func newScanCmd(logger func() *slog.Logger) *cobra.Command {
	var (
		cfg        discovery.Config
		jsonOut    bool
		configOut  string
		noStatus   bool
		maxHosts   int
		passwordEv string
		user       string
	)
	cmd := &cobra.Command{
		Use:   "scan CIDR|ADDR...",
		Short: "Find miners on a network and identify their firmware",
		Long: `scan probes every address in the given prefixes the way fleet tools do: a
CGMiner-style version request on the RPC port, GET / on the web port (Antminer's
digest realm and page markers), and the Braiins OS gRPC port. For each machine
it recognises it reads status with the matching driver and prints a table of
address, make, model, firmware, driver, TH/s, W and state (or JSON). With
--config-out it writes a miners: block for a site file.

Concurrency and per-host deadlines are bounded; a progress line is shown on a
terminal and nothing in a pipe.`,
		Example: `  gridminer scan 10.20.0.0/22
  gridminer scan 127.1.0.0/24 --rpc-port 4028 --json
  gridminer scan 10.20.1.0/24 --config-out miners.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefixes, err := discovery.ParsePrefixes(args)
			if err != nil {
				return err
			}
			hosts, err := discovery.Hosts(prefixes, maxHosts)
			if err != nil {
				return fmt.Errorf("%w (raise --max-hosts to scan more)", err)
			}
			log := logger()
			progress := newProgress(os.Stderr, "auto", "probed", 0)
			started := time.Now()
			found, err := discovery.Scan(cmd.Context(), hosts, cfg, progress.update)
			progress.finish()
			if err != nil {
				return err
			}
			rows := make([]scanRow, len(found))
			var wg sync.WaitGroup
			sem := make(chan struct{}, 256)
			for i, f := range found {
				rows[i] = scanRow{Found: f}
				if noStatus {
					continue
				}
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					readRow(cmd.Context(), &rows[i], cfg, user, os.Getenv(passwordEv), log)
				})
			}
			wg.Wait()
			out := cmd.OutOrStdout()
			if configOut != "" {
				if err := writeMinersBlock(configOut, rows, cfg); err != nil {
					return err
				}
			}
			if jsonOut {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			printScan(out, rows)
			fmt.Fprintf(out, "%d miners in %d addresses, %.1f s\n", len(rows), len(hosts), time.Since(started).Seconds())
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.RPCPort, "rpc-port", 4028, "CGMiner-style API port")
	f.IntVar(&cfg.WebPort, "web-port", 80, "web UI port")
	f.IntVar(&cfg.GRPCPort, "grpc-port", 50051, "Braiins OS gRPC port")
	f.DurationVar(&cfg.Timeout, "timeout", time.Second, "per-host deadline for all probes")
	f.IntVar(&cfg.Concurrency, "concurrency", 1024, "hosts probed at once")
	f.IntVar(&maxHosts, "max-hosts", 1<<16, "refuse to scan more addresses than this")
	f.BoolVar(&jsonOut, "json", false, "print JSON")
	f.BoolVar(&noStatus, "no-status", false, "only identify; do not read status")
	f.StringVar(&configOut, "config-out", "", "write the machines found as a miners: block to this file")
	f.StringVar(&user, "user", "", "API user, for firmwares with credentials")
	f.StringVar(&passwordEv, "password-env", "GRIDMINER_MINER_PASSWORD", "environment variable holding the API password")
	return cmd
}

// readRow fills a row with what the machine's driver reads.
func readRow(ctx context.Context, r *scanRow, cfg discovery.Config, user, password string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 2*cfg.Timeout+time.Second)
	defer cancel()
	addr := r.RPCAddr
	if addr == "" {
		addr = r.GRPCAddr
	}
	if addr == "" {
		addr = net.JoinHostPort(r.Host, strconv.Itoa(cfg.RPCPort))
	}
	m, err := newDriver(ctx, r.Driver, driverOpts{Addr: addr, User: user, Password: password, WebPort: cfg.WebPort, GRPCPort: cfg.GRPCPort, Timeout: cfg.Timeout}, clock.Real{}, log)
	if err != nil {
		r.Error = err.Error()
		return
	}
	st, err := m.Status(ctx)
	if err != nil {
		r.Error = err.Error()
		return
	}
	if c := m.Capabilities(); r.Model == "" {
		r.Model = c.Model
	}
	if c := m.Capabilities(); r.Firmware == "" {
		r.Firmware = c.Firmware
	}
	r.HashrateTHs, r.PowerW, r.State = st.Hashrate.THs(), st.Power.Watts(), string(st.State)
	if st.State == "" {
		r.State = string(miner.StateUnknown)
	}
}

func printScan(w io.Writer, rows []scanRow) {
	fmt.Fprintf(w, "%-16s %-11s %-20s %-30s %-10s %9s %8s  %s\n", "address", "make", "model", "firmware", "driver", "TH/s", "W", "state")
	for _, r := range rows {
		state := r.State
		if r.Error != "" {
			state = "error: " + r.Error
		}
		fw := r.Firmware
		if len(fw) > 30 {
			fw = fw[:29] + "…"
		}
		fmt.Fprintf(w, "%-16s %-11s %-20s %-30s %-10s %9.1f %8.0f  %s\n", r.Host, r.Make, r.Model, fw, r.Driver, r.HashrateTHs, r.PowerW, state)
	}
}

// writeMinersBlock writes the rows as a site file's miners: section,
// with the ports the scan used where they are not the defaults.
func writeMinersBlock(path string, rows []scanRow, cfg discovery.Config) error {
	var b strings.Builder
	b.WriteString("# written by gridminer scan; merge into a site file\nminers:\n")
	for _, r := range rows {
		addr := r.RPCAddr
		if addr == "" {
			addr = r.GRPCAddr
		}
		if addr == "" {
			continue
		}
		if r.RPCAddr == "" {
			addr = net.JoinHostPort(r.Host, strconv.Itoa(cfg.RPCPort)) // the site file names machines by their RPC address
		}
		fmt.Fprintf(&b, "  - driver: %s  # %s %s\n    addr: %s\n", r.Driver, r.Make, r.Model, addr)
		if r.Driver == "antminer" && cfg.WebPort != 80 {
			fmt.Fprintf(&b, "    web_port: %d\n", cfg.WebPort)
		}
		if r.Driver == "braiins" && cfg.GRPCPort != 50051 {
			fmt.Fprintf(&b, "    grpc_port: %d\n", cfg.GRPCPort)
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("--config-out: %w", err)
	}
	return nil
}
