package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
)

type minerOpts struct {
	driver      string
	webPort     int
	grpcPort    int
	v3Port      int
	user        string
	passwordEnv string
	timeout     time.Duration
	jsonOut     bool
	watts       float64
}

func newMinerCmd(logger func() *slog.Logger) *cobra.Command {
	o := &minerOpts{}
	cmd := &cobra.Command{
		Use:   "miner",
		Short: "Read or command one miner directly",
		Long: `miner talks to one machine over its own API: read its status, put it to sleep,
wake it, or set a power target. ADDR is host or host:port (default port 4028).`,
	}
	cmd.PersistentFlags().StringVar(&o.driver, "driver", "", "firmware API (default: identify it by probing the machine)")
	cmd.PersistentFlags().IntVar(&o.webPort, "web-port", 80, "web UI port, for identification and drivers that use it")
	cmd.PersistentFlags().IntVar(&o.grpcPort, "grpc-port", 50051, "Braiins OS gRPC port")
	cmd.PersistentFlags().IntVar(&o.v3Port, "v3-port", 4433, "Whatsminer API v3 port")
	cmd.PersistentFlags().StringVar(&o.user, "user", "", "API user, for firmwares with credentials")
	cmd.PersistentFlags().StringVar(&o.passwordEnv, "password-env", "GRIDMINER_MINER_PASSWORD", "environment variable holding the API password")
	cmd.PersistentFlags().DurationVar(&o.timeout, "timeout", 5*time.Second, "network deadline for each call")
	status := &cobra.Command{
		Use:   "status ADDR",
		Short: "Print a miner's capabilities and current status",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := dialMiner(cmd.Context(), args[0], o, logger())
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			st, err := m.Status(ctx)
			if err != nil {
				return err
			}
			return printStatus(cmd.OutOrStdout(), m, st, o.jsonOut)
		},
	}
	status.Flags().BoolVar(&o.jsonOut, "json", false, "print JSON")
	sleep := &cobra.Command{
		Use:   "sleep ADDR",
		Short: "Put a miner to sleep (low-power, fans and control board on)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return applyOne(cmd, args[0], o, logger(), miner.Sleep())
		},
	}
	wake := &cobra.Command{
		Use:   "wake ADDR",
		Short: "Wake a sleeping miner to its default operating point",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return applyOne(cmd, args[0], o, logger(), miner.Run(0))
		},
	}
	power := &cobra.Command{
		Use:   "power ADDR --watts W",
		Short: "Run a miner at the highest operating point that fits under W watts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := energy.NewPower("--watts", o.watts)
			if err != nil || p <= 0 {
				return fmt.Errorf("--watts %v: want a positive number of watts", o.watts)
			}
			return applyOne(cmd, args[0], o, logger(), miner.Run(p))
		},
	}
	power.Flags().Float64Var(&o.watts, "watts", 0, "power target in watts")
	cmd.AddCommand(status, sleep, wake, power)
	return cmd
}

func dialMiner(ctx context.Context, addr string, o *minerOpts, log *slog.Logger) (miner.Miner, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "4028")
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	opts := driverOpts{Addr: addr, User: o.user, Password: os.Getenv(o.passwordEnv), WebPort: o.webPort, GRPCPort: o.grpcPort, V3Port: o.v3Port, Timeout: o.timeout}
	return newDriver(ctx, o.driver, opts, clock.Real{}, log)
}

func applyOne(cmd *cobra.Command, addr string, o *minerOpts, log *slog.Logger, sp miner.Setpoint) error {
	m, err := dialMiner(cmd.Context(), addr, o, log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	defer cancel()
	if err := m.Apply(ctx, sp); err != nil {
		return err
	}
	st, err := m.Status(ctx)
	if err != nil {
		return fmt.Errorf("%s: accepted %s, but reading it back failed: %w", m.Addr(), sp, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %s accepted; now %s at %s, %s\n", m.Addr(), sp, st.State, st.Power, st.Hashrate)
	return nil
}

func printStatus(w io.Writer, m miner.Miner, st miner.Status, asJSON bool) error {
	caps := m.Capabilities()
	if asJSON {
		type step struct {
			Name     string  `json:"name"`
			Watts    float64 `json:"watts"`
			Hashrate float64 `json:"hashrate_ths"`
		}
		out := struct {
			Addr           string    `json:"addr"`
			Driver         string    `json:"driver"`
			Model          string    `json:"model"`
			Firmware       string    `json:"firmware"`
			Time           time.Time `json:"time"`
			State          string    `json:"state"`
			PowerW         float64   `json:"power_w"`
			PowerEstimated bool      `json:"power_estimated"`
			PowerTargetW   float64   `json:"power_target_w"`
			Profile        string    `json:"profile"`
			HashrateTHs    float64   `json:"hashrate_ths"`
			HashrateAvgTHs float64   `json:"hashrate_avg_ths"`
			TempMaxC       float64   `json:"temp_max_c"`
			FanRPM         []int     `json:"fan_rpm"`
			Boards         int       `json:"boards"`
			BoardsActive   int       `json:"boards_active"`
			UptimeSeconds  float64   `json:"uptime_seconds"`
			Accepted       uint64    `json:"accepted"`
			Rejected       uint64    `json:"rejected"`
			MinPowerW      float64   `json:"min_power_w"`
			MaxPowerW      float64   `json:"max_power_w"`
			Steps          []step    `json:"power_steps"`
		}{
			Addr: m.Addr(), Driver: caps.Driver, Model: caps.Model, Firmware: caps.Firmware,
			Time: st.Time.UTC(), State: string(st.State), PowerW: st.Power.Watts(), PowerEstimated: st.PowerEstimated,
			PowerTargetW: st.PowerTarget.Watts(), Profile: st.Profile, HashrateTHs: st.Hashrate.THs(),
			HashrateAvgTHs: st.HashrateAvg.THs(), TempMaxC: st.TempMaxC, FanRPM: st.FanRPM, Boards: st.Boards,
			BoardsActive: st.BoardsActive, UptimeSeconds: st.Uptime.Seconds(), Accepted: st.Accepted, Rejected: st.Rejected,
			MinPowerW: caps.MinPower.Watts(), MaxPowerW: caps.MaxPower.Watts(),
		}
		for _, s := range caps.PowerSteps {
			out.Steps = append(out.Steps, step{s.Name, s.Power.Watts(), s.Hashrate.THs()})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(w, "%s  %s (%s, %s)\n", m.Addr(), caps.Model, caps.Driver, caps.Firmware)
	fmt.Fprintf(w, "  state      %s\n", st.State)
	est := ""
	if st.PowerEstimated {
		est = " (estimated)"
	}
	fmt.Fprintf(w, "  power      %s%s, target %s, profile %q\n", st.Power, est, st.PowerTarget, st.Profile)
	fmt.Fprintf(w, "  hashrate   %s (avg %s), %s\n", st.Hashrate, st.HashrateAvg, energy.EfficiencyOf(st.Power, st.Hashrate))
	fmt.Fprintf(w, "  boards     %d of %d hashing, hottest %.1f °C, fans %v rpm\n", st.BoardsActive, st.Boards, st.TempMaxC, st.FanRPM)
	fmt.Fprintf(w, "  shares     %d accepted, %d rejected; up %s\n", st.Accepted, st.Rejected, st.Uptime.Round(time.Second))
	if caps.Partial() {
		fmt.Fprintf(w, "  power range %s – %s in %d steps\n", caps.MinPower, caps.MaxPower, len(caps.PowerSteps))
	}
	return nil
}
