package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/fleet"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
)

func newBenchCmd(logger func() *slog.Logger) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure gridminer's performance on this machine",
	}
	var (
		n           int
		jsonOut     bool
		concurrency int
		timeout     time.Duration
		rampLimit   time.Duration
		cpuProfile  string
		simProfile  string
		firmwares   []string
	)
	fleetCmd := &cobra.Command{
		Use:   "fleet",
		Short: "Measure sleep-all, wake-all, ramps and a full telemetry poll of N virtual miners",
		Long: `bench fleet starts N virtual LuxOS miners in a separate process (gridminer sim)
on loopback and measures, from this process, over real TCP:

  poll               one full telemetry poll (one joined request per miner):
                     wall time and CPU seconds of both processes
  sleep_all_logon    time to put all N to sleep, each until the miner's own state
                     reply confirms it, including the session logon per miner
  ramp_down          time until the fleet's reported power reaches the sleep target
  wake_all_session   time to wake all N, confirmed, reusing the sessions
  ramp_up            time until the fleet's power is back near nominal
  sleep_all_session  sleep-all again, sessions reused
  wake_all_logon     wake-all after every session was dropped (logon per miner)

The simulator runs on the wall clock with LuxOS-like ramps (about 5 s down and
10 s up), so the ramp figures include the machines' own physics.`,
		Example: `  gridminer bench fleet --miners 10000
  gridminer bench fleet --miners 1000 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n <= 0 || n > 60000 {
				return fmt.Errorf("--miners %d: want 1 to 60,000", n)
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			res, err := benchFleet(cmd.Context(), logger(), n, concurrency, timeout, rampLimit, firmwares, simProfile)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			res.print(out)
			return nil
		},
	}
	f := fleetCmd.Flags()
	f.IntVar(&n, "miners", 1000, "number of virtual miners")
	f.BoolVar(&jsonOut, "json", false, "print JSON")
	f.IntVar(&concurrency, "concurrency", 512, "machines talked to at once")
	f.DurationVar(&timeout, "timeout", 5*time.Second, "per-call network deadline")
	f.DurationVar(&rampLimit, "ramp-limit", 60*time.Second, "give up waiting for a ramp after this long")
	f.StringSliceVar(&firmwares, "firmware", []string{"luxos"}, "firmwares of the virtual miners, taken in turn (e.g. luxos,antminer,whatsminer,braiins,avalon)")
	f.StringVar(&simProfile, "sim-cpuprofile", "", "write the simulator process's CPU profile to this file")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write the controller's CPU profile to this file (go tool pprof)")
	cmd.AddCommand(fleetCmd, newBenchOracleCmd(), newBenchUFRCmd(logger),
		newBenchStratumCmd(logger),
		newBenchStratumLoadCmd(),
	)
	return cmd
}

// benchStep is one measured step.
type benchStep struct {
	Name       string  `json:"name"`
	WallS      float64 `json:"wall_seconds"`
	CPUSelfS   float64 `json:"cpu_seconds_controller"`
	CPUSimS    float64 `json:"cpu_seconds_simulator"`
	OK         int     `json:"confirmed"`
	Failed     int     `json:"failed"`
	FirstError string  `json:"first_error,omitempty"`
	Note       string  `json:"note,omitempty"`
}

type benchResult struct {
	Miners      int         `json:"miners"`
	Concurrency int         `json:"concurrency"`
	Firmwares   []string    `json:"firmwares"`
	CPUs        int         `json:"cpus"`
	Steps       []benchStep `json:"steps"`
}

func (r benchResult) print(w io.Writer) {
	fmt.Fprintf(w, "bench fleet: %d virtual miners (%s) in a separate process, concurrency %d\n", r.Miners, strings.Join(r.Firmwares, ", "), r.Concurrency)
	fmt.Fprintf(w, "%-18s %9s %9s %9s %10s %7s  %s\n", "step", "wall s", "cpu ctl", "cpu sim", "confirmed", "failed", "note")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "%-18s %9.3f %9.3f %9.3f %10d %7d  %s", s.Name, s.WallS, s.CPUSelfS, s.CPUSimS, s.OK, s.Failed, s.Note)
		if s.FirstError != "" {
			fmt.Fprintf(w, " first error: %s", s.FirstError)
		}
		fmt.Fprintln(w)
	}
}

// cpuMeter reads CPU time of this process and of the simulator process.
type cpuMeter struct{ simPID int }

func (c cpuMeter) read() (self, sim float64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = tv(ru.Utime) + tv(ru.Stime)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.simPID)); err == nil {
		// Fields after the parenthesised command name: utime is the 14th
		// field and stime the 15th, in clock ticks (100 per second on Linux).
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 13 {
				u, _ := strconv.ParseFloat(f[11], 64)
				st, _ := strconv.ParseFloat(f[12], 64)
				sim = (u + st) / 100
			}
		}
	}
	return self, sim
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// benchRig is a virtual fleet in a separate process (gridminer sim) and
// this process's drivers for it.
type benchRig struct {
	inv   *fleet.Inventory
	ms    []miner.Miner
	addrs []string
	cpu   cpuMeter
	stop  func()
}

// startBenchRig starts n virtual miners of firmwares in a separate process
// and builds a driver for each, learning capabilities once, untimed.
func startBenchRig(ctx context.Context, log *slog.Logger, n, concurrency int, timeout time.Duration, firmwares []string, simProfile string) (rig *benchRig, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	sctx, stopSim := context.WithCancel(ctx)
	args := []string{"sim", "--miners", strconv.Itoa(n), "--port", "0", "--firmware", strings.Join(firmwares, ",")}
	if simProfile != "" {
		args = append(args, "--cpuprofile", simProfile)
	}
	child := exec.CommandContext(sctx, self, args...)
	// Stop the simulator with an interrupt so it can write its profile.
	child.Cancel = func() error { return child.Process.Signal(os.Interrupt) }
	child.WaitDelay = 10 * time.Second
	child.Stderr = os.Stderr
	stdout, err := child.StdoutPipe()
	if err != nil {
		stopSim()
		return nil, err
	}
	if err := child.Start(); err != nil {
		stopSim()
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	rig = &benchRig{stop: func() { stopSim(); _ = child.Wait() }}
	defer func() {
		if err != nil {
			rig.close()
		}
	}()
	sc := bufio.NewScanner(stdout)
	var port, first string
	ports := map[string]int{}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ready ") {
			for _, kv := range strings.Fields(line)[1:] {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "port":
					port = v
				case "first":
					first = v
				default:
					ports[k], _ = strconv.Atoi(v)
				}
			}
			break
		}
	}
	if port == "" {
		return rig, fmt.Errorf("simulator did not report ready")
	}
	go io.Copy(io.Discard, stdout)

	rig.cpu = cpuMeter{simPID: child.Process.Pid}
	addrs, err := simAddrs(first, n, port)
	if err != nil {
		return rig, err
	}
	rig.addrs = addrs
	clk := clock.Real{}
	buffers := &cgminer.BufferPool{}
	registry := drivers()
	opts := func(i int) driverOpts {
		return driverOpts{Addr: addrs[i], WebPort: ports["antminer-web"], GRPCPort: ports["braiins-grpc"],
			V3Port: ports["whatsminer-v3"], Timeout: timeout, Buffers: buffers}
	}
	entry := func(i int) driverEntry { return registry[firmwares[i%len(firmwares)]] }
	for _, fw := range firmwares {
		if _, ok := registry[fw]; !ok {
			return rig, fmt.Errorf("--firmware %q: no such driver (have: %s)", fw, driverNames())
		}
	}
	// Learn every machine's capabilities once, untimed, as a controller
	// does at start; drivers made later reuse them without I/O.
	caps := make([]miner.Capabilities, n)
	capErrs := make([]error, n)
	forEachLimit(ctx, n, concurrency, func(i int) {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		m, err := entry(i).New(cctx, opts(i), clk, log)
		if err != nil {
			capErrs[i] = err
			return
		}
		caps[i] = m.Capabilities()
		closeDriver(m)
	})
	if err := errors.Join(capErrs...); err != nil {
		return rig, fmt.Errorf("learn capabilities: %w", err)
	}
	rig.ms = make([]miner.Miner, n)
	members := make([]fleet.Member, n)
	for i := range n {
		m, err := entry(i).WithCaps(opts(i), caps[i], clk, log)
		if err != nil {
			return rig, err
		}
		rig.ms[i], members[i] = m, fleet.Member{ID: addrs[i], Miner: m}
	}
	if rig.inv, err = fleet.NewInventory(members); err != nil {
		return rig, err
	}
	return rig, nil
}

// close releases the drivers and stops the simulator.
func (r *benchRig) close() {
	for _, m := range r.ms {
		if m != nil {
			closeDriver(m)
		}
	}
	r.stop()
}

func benchFleet(ctx context.Context, log *slog.Logger, n, concurrency int, timeout, rampLimit time.Duration, firmwares []string, simProfile string) (benchResult, error) {
	if len(firmwares) == 0 {
		firmwares = []string{"luxos"}
	}
	res := benchResult{Miners: n, Concurrency: concurrency, CPUs: runtimeCPUs(), Firmwares: firmwares}
	rig, err := startBenchRig(ctx, log, n, concurrency, timeout, firmwares, simProfile)
	if err != nil {
		return res, err
	}
	defer rig.close()
	inv, ms, addrs, cpu, clk := rig.inv, rig.ms, rig.addrs, rig.cpu, clock.Real{}
	pollCfg := fleet.PollConfig{Concurrency: concurrency, Timeout: timeout}
	execCfg := fleet.ExecConfig{Concurrency: concurrency, Timeout: timeout, Verify: true, Retries: -1}

	measure := func(name string, fn func() (ok, failed int, firstErr error, note string)) {
		s0, m0 := cpu.read()
		t0 := time.Now()
		ok, failed, ferr, note := fn()
		wall := time.Since(t0)
		s1, m1 := cpu.read()
		st := benchStep{Name: name, WallS: wall.Seconds(), CPUSelfS: s1 - s0, CPUSimS: m1 - m0, OK: ok, Failed: failed, Note: note}
		if ferr != nil {
			st.FirstError = ferr.Error()
		}
		res.Steps = append(res.Steps, st)
	}
	pollOnce := func() (ok, failed int, firstErr error, power energy.Power) {
		rs, err := fleet.Poll(ctx, inv, clk, pollCfg)
		if err != nil {
			return 0, n, err, 0
		}
		for _, r := range rs {
			if r.Err != nil {
				failed++
				if firstErr == nil {
					firstErr = r.Err
				}
				continue
			}
			ok++
			power += r.Status.Power
		}
		return ok, failed, firstErr, power
	}
	all := func(sp miner.Setpoint) []fleet.Command {
		cmds := make([]fleet.Command, n)
		for i, a := range addrs {
			cmds[i] = fleet.Command{ID: a, Setpoint: sp}
		}
		return cmds
	}
	execute := func(sp miner.Setpoint) (ok, failed int, firstErr error, note string) {
		for _, o := range fleet.Execute(ctx, inv, all(sp), execCfg) {
			if o.Err != nil {
				failed++
				if firstErr == nil {
					firstErr = o.Err
				}
				continue
			}
			ok++
		}
		return ok, failed, firstErr, ""
	}
	// ramp polls until the fleet's reported power satisfies done.
	ramp := func(done func(energy.Power) bool) (ok, failed int, firstErr error, note string) {
		deadline := time.Now().Add(rampLimit)
		polls := 0
		for time.Now().Before(deadline) && ctx.Err() == nil {
			ok, failed, firstErr, p := pollOnce()
			polls++
			if done(p) {
				return ok, failed, firstErr, fmt.Sprintf("fleet at %s after %d polls", p, polls)
			}
		}
		return 0, n, fmt.Errorf("target not reached within %s", rampLimit), ""
	}

	var nominal energy.Power
	measure("poll", func() (int, int, error, string) {
		ok, failed, ferr, p := pollOnce()
		nominal = p
		return ok, failed, ferr, fmt.Sprintf("fleet at %s", p)
	})
	sleepTarget := energy.Power(float64(n) * 30) // ~25 W asleep each, with margin
	measure("sleep_all_logon", func() (int, int, error, string) { return execute(miner.Sleep()) })
	measure("ramp_down", func() (int, int, error, string) {
		return ramp(func(p energy.Power) bool { return p <= sleepTarget })
	})
	measure("wake_all_session", func() (int, int, error, string) { return execute(miner.Run(0)) })
	measure("ramp_up", func() (int, int, error, string) {
		return ramp(func(p energy.Power) bool { return p >= 0.97*nominal })
	})
	measure("sleep_all_session", func() (int, int, error, string) { return execute(miner.Sleep()) })
	// Drop every session, token and digest nonce (untimed) so the wake
	// must log on again, as after a controller restart or an expiry. The
	// drivers keep what they know of their miners, as a controller that
	// just polled would; a firmware without credentials has nothing to drop.
	logoffErrs := make([]error, n)
	forEachLimit(ctx, n, concurrency, func(i int) {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if lo, ok := ms[i].(interface{ Logoff(context.Context) error }); ok {
			logoffErrs[i] = lo.Logoff(cctx)
		}
	})
	if err := errors.Join(logoffErrs...); err != nil {
		return res, fmt.Errorf("logoff before wake_all_logon: %w", err)
	}
	measure("wake_all_logon", func() (int, int, error, string) { return execute(miner.Run(0)) })
	return res, nil
}

// simAddrs lists the addresses gridminer sim gives n miners from first on port.
func simAddrs(first string, n int, port string) ([]string, error) {
	host, _, err := net.SplitHostPort(first)
	if err != nil {
		return nil, fmt.Errorf("simulator first address %q: %w", first, err)
	}
	start, err := netip.ParseAddr(host)
	if err != nil {
		return nil, fmt.Errorf("simulator first address %q: %w", first, err)
	}
	ips, err := fleet.AddrRange(start, n)
	if err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i, ip := range ips {
		out[i] = net.JoinHostPort(ip.String(), port)
	}
	return out, nil
}

func forEachLimit(ctx context.Context, n, limit int, fn func(i int)) {
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i := 0; i < n; i++ {
		g.Go(func() error { fn(i); return nil })
	}
	_ = g.Wait()
}

func runtimeCPUs() int { return runtime.NumCPU() }

// closeDriver releases a driver's connections, for drivers that hold them.
func closeDriver(m miner.Miner) {
	if c, ok := m.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

// startCPUProfile writes a CPU profile to path until the returned stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
