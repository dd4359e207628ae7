package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/loadgen"
	"github.com/gridminer/gridminer/internal/stratum/server"
)

// benchStratumOpts are bench stratum's settings.
type benchStratumOpts struct {
	Conns      int
	Rate       float64 // per connection, open loop
	Inflight   int     // per connection, closed loop
	Duration   time.Duration
	Mix        loadgen.Mix
	Difficulty float64
	JobEvery   time.Duration
	SourceIPs  int
	Pool       int
	CPUProfile string
}

func newBenchStratumCmd(logger func() *slog.Logger) *cobra.Command {
	var (
		o       benchStratumOpts
		mix     string
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "stratum",
		Short: "Measure the Stratum V1 server's share validation under many miner connections",
		Long: `bench stratum runs the Stratum V1 server in this process on loopback with a fixed
share difficulty and a job source that sends a new clean job every --job-every
(the network target is impossible: no blocks), and a load generator in a
separate process (gridminer bench stratum-load) that opens --conns miner
connections, subscribes and authorizes each, precomputes shares by hashing,
then submits them for --duration:

  open loop    --shares-per-conn-per-sec R: each connection sends R shares/s
  closed loop  --inflight K: each connection keeps K submits outstanding

The mix is valid (meet the share target, unique: accepted), stale (a cleaned
job's id: rejected 21) and invalid (a nonce that misses the target: rejected
23). Latency is per request, from its write to its response. "validated" is
what the server rebuilt a header for and hashed (its accepted + rejected
counts; stale shares are answered without hashing), per second of the phase.`,
		Example: `  gridminer bench stratum --conns 10000 --shares-per-conn-per-sec 5 --duration 30s
  gridminer bench stratum --conns 5000 --inflight 16 --duration 20s --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Mix, err = loadgen.ParseMix(mix); err != nil {
				return err
			}
			if o.Conns <= 0 || o.Conns > 60000 {
				return fmt.Errorf("--conns %d: want 1 to 60,000", o.Conns)
			}
			if (o.Rate > 0) == (o.Inflight > 0) {
				return fmt.Errorf("want exactly one of --shares-per-conn-per-sec and --inflight")
			}
			res, err := benchStratum(cmd.Context(), o, spawnStratumLoad)
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
	f := cmd.Flags()
	f.IntVar(&o.Conns, "conns", 1000, "miner connections")
	f.Float64Var(&o.Rate, "shares-per-conn-per-sec", 0, "open loop: shares per second per connection")
	f.IntVar(&o.Inflight, "inflight", 0, "closed loop: submits outstanding per connection")
	f.DurationVar(&o.Duration, "duration", 20*time.Second, "timed phase")
	f.StringVar(&mix, "mix", "90,5,5", "percent valid,stale,invalid shares")
	f.Float64Var(&o.Difficulty, "difficulty", math.Ldexp(1, -28), "share difficulty (2^-28: about 1 hash in 16 is a share)")
	f.DurationVar(&o.JobEvery, "job-every", 5*time.Second, "a new clean job this often")
	f.IntVar(&o.SourceIPs, "source-ips", 0, "spread connections over this many 127.0.0.x addresses (0: one per 10,000)")
	f.IntVar(&o.Pool, "pool", 0, "valid shares precomputed per connection (0: from the rate)")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write the server process's CPU profile of the timed phase to this file")
	f.BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

// newBenchStratumLoadCmd is the load generator process bench stratum starts.
func newBenchStratumLoadCmd() *cobra.Command {
	var (
		cfg loadgen.Config
		mix string
	)
	cmd := &cobra.Command{
		Use:    "stratum-load",
		Short:  "The load generator process of bench stratum",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.Mix, err = loadgen.ParseMix(mix); err != nil {
				return err
			}
			if _, err := loadgen.RaiseFileLimit(); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var mu sync.Mutex
			cfg.OnPhase = func(started bool) {
				mu.Lock()
				defer mu.Unlock()
				if started {
					fmt.Fprintln(out, "phase start")
				} else {
					fmt.Fprintln(out, "phase end")
				}
			}
			res, err := loadgen.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			b, err := json.Marshal(res)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			_, err = fmt.Fprintf(out, "result %s\n", b)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", "", "server address")
	f.IntVar(&cfg.Conns, "conns", 1000, "connections")
	f.Float64Var(&cfg.Rate, "rate", 0, "open loop shares/s per connection")
	f.IntVar(&cfg.Inflight, "inflight", 0, "closed loop submits outstanding per connection")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, "timed phase")
	f.StringVar(&mix, "mix", "90,5,5", "percent valid,stale,invalid")
	f.StringVar(&cfg.StaleJob, "stale-job", "", "a job id the server has cleaned")
	f.IntVar(&cfg.SourceIPs, "source-ips", 0, "127.0.0.x source addresses")
	f.IntVar(&cfg.Pool, "pool", 0, "valid shares precomputed per connection")
	return cmd
}

// loadRunner runs the load generator against addr, calling phase at the
// timed phase's start and end; loadPID is its process (0: this one).
type loadRunner func(ctx context.Context, cfg loadgen.Config, phase func(started bool), loadPID func(int)) (loadgen.Result, error)

// spawnStratumLoad runs the load generator as gridminer bench stratum-load.
func spawnStratumLoad(ctx context.Context, cfg loadgen.Config, phase func(bool), loadPID func(int)) (loadgen.Result, error) {
	self, err := os.Executable()
	if err != nil {
		return loadgen.Result{}, err
	}
	args := []string{"bench", "stratum-load", "--addr", cfg.Addr, "--conns", strconv.Itoa(cfg.Conns),
		"--duration", cfg.Duration.String(), "--mix", cfg.Mix.String(), "--stale-job", cfg.StaleJob,
		"--source-ips", strconv.Itoa(cfg.SourceIPs), "--pool", strconv.Itoa(cfg.Pool)}
	if cfg.Inflight > 0 {
		args = append(args, "--inflight", strconv.Itoa(cfg.Inflight))
	} else {
		args = append(args, "--rate", strconv.FormatFloat(cfg.Rate, 'g', -1, 64))
	}
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	child := exec.CommandContext(lctx, self, args...)
	child.Cancel = func() error { return child.Process.Signal(os.Interrupt) }
	child.WaitDelay = 10 * time.Second
	child.Stderr = os.Stderr
	stdout, err := child.StdoutPipe()
	if err != nil {
		return loadgen.Result{}, err
	}
	if err := child.Start(); err != nil {
		return loadgen.Result{}, fmt.Errorf("start load generator: %w", err)
	}
	loadPID(child.Process.Pid)
	var res loadgen.Result
	got := false
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "phase start":
			phase(true)
		case line == "phase end":
			phase(false)
		case strings.HasPrefix(line, "result "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "result ")), &res); err != nil {
				return res, fmt.Errorf("load generator result: %w", err)
			}
			got = true
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	if err := child.Wait(); err != nil {
		return res, fmt.Errorf("load generator: %w", err)
	}
	if !got {
		return res, fmt.Errorf("load generator gave no result")
	}
	return res, nil
}

// benchStratumJobs is the bench's job source: job "1", then job "2" clean
// at once (so "1" is a known stale id), then a clean job every `every`. Every
// job has the same header fields, so precomputed shares stay valid; only the
// id (and with it the duplicate table) changes.
type benchStratumJobs struct{ every time.Duration }

// benchStaleJob is the id the bench's job source cleans first.
const benchStaleJob = "1"

func benchJobNotify(id int) stratum.Notify {
	coinb1, coinb2 := make([]byte, 60), make([]byte, 120)
	for i := range coinb1 {
		coinb1[i] = byte(i)
	}
	for i := range coinb2 {
		coinb2[i] = byte(3 * i)
	}
	branch := make([][32]byte, 12) // a block of a few thousand transactions
	for i := range branch {
		branch[i][0] = byte(i + 1)
	}
	var prev [32]byte
	prev[31] = 0x42
	return stratum.Notify{JobID: strconv.Itoa(id), PrevHash: prev, Coinb1: coinb1, Coinb2: coinb2, MerkleBranch: branch,
		Version: 0x20000000, NBits: 0x1702f128, NTime: 0x66000000, CleanJobs: true}
}

func (j benchStratumJobs) Run(ctx context.Context, out chan<- server.Job) error {
	send := func(id int) bool {
		// The zero Target never matches: no block candidates.
		select {
		case out <- server.Job{Notify: benchJobNotify(id)}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	id := 1
	if !send(id) {
		return nil
	}
	id++
	if !send(id) {
		return nil
	}
	t := time.NewTicker(j.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			id++
			if !send(id) {
				return nil
			}
		}
	}
}

// benchStratumResult is bench stratum's report.
type benchStratumResult struct {
	CPUs       int     `json:"cpus"`
	Conns      int     `json:"conns"`
	Difficulty float64 `json:"share_difficulty"`
	JobEveryS  float64 `json:"job_every_seconds"`
	// Server counts of the shares sent in the timed phase, read after the
	// drain (the server's own statistics).
	ServerAccepted int `json:"server_accepted"`
	ServerRejected int `json:"server_rejected"`
	ServerStale    int `json:"server_stale"`
	Validated      int `json:"validated"`
	// ValidatedInPhase is accepted + rejected between the phase's start
	// and end; ValidatedPerS is it per second of the phase.
	ValidatedInPhase int     `json:"validated_in_phase"`
	ValidatedPerS    float64 `json:"validated_per_second"`
	PhaseS           float64 `json:"phase_seconds"`
	CPUServerS       float64 `json:"cpu_seconds_server"`
	CPULoadS         float64 `json:"cpu_seconds_loadgen"`
	ServerConnsPeak  int     `json:"server_conns"`
	// Load is the load generator's own report.
	Load loadgen.Result `json:"load"`
}

func (r benchStratumResult) print(w io.Writer) {
	l := r.Load
	mode := fmt.Sprintf("open loop, %g shares/s per connection (offered %.0f/s)", l.Rate, l.TargetPerS)
	if l.Mode == "closed" {
		mode = fmt.Sprintf("closed loop, %d in flight per connection", l.Inflight)
	}
	fmt.Fprintf(w, "bench stratum: %d connections from a separate process, %s, mix %s, share difficulty %g, %d CPUs\n",
		r.Conns, mode, l.Mix, r.Difficulty, r.CPUs)
	fmt.Fprintf(w, "setup %.1f s; timed phase %.1f s; CPU seconds in the phase: server %.1f, load generator %.1f\n",
		l.SetupS, r.PhaseS, r.CPUServerS, r.CPULoadS)
	fmt.Fprintf(w, "%-8s %10s %10s %10s %10s %10s  %s\n", "kind", "sent", "answered", "expected", "rot-stale", "unexpected", "first unexpected")
	for _, k := range l.Kinds {
		fmt.Fprintf(w, "%-8s %10d %10d %10d %10d %10d  %s\n", k.Kind, k.Sent, k.Answered, k.Expected, k.RotationStale, k.Unexpected, k.FirstUnexpected)
	}
	fmt.Fprintf(w, "server: accepted %d, rejected after hashing %d, stale (not hashed) %d\n", r.ServerAccepted, r.ServerRejected, r.ServerStale)
	fmt.Fprintf(w, "validated (header rebuilt and hashed) during the phase: %d = %.0f shares/s\n", r.ValidatedInPhase, r.ValidatedPerS)
	fmt.Fprintf(w, "responses: %.0f/s; lost %d; latency p50 %.2f ms, p99 %.2f ms (p99/p50 %.1f), max %.2f ms\n",
		l.ResponsesPerS, l.Lost, l.P50Ms, l.P99Ms, ratio(l.P99Ms, l.P50Ms), l.MaxMs)
	fmt.Fprintf(w, "fairness: per-connection p99: median %.2f ms, p99 %.2f ms, slowest %.2f ms; answers per connection %d to %d\n",
		l.ConnP99P50Ms, l.ConnP99P99Ms, l.ConnP99MaxMs, l.ConnAnswersMin, l.ConnAnswersMax)
	if l.Behind > 0 {
		fmt.Fprintf(w, "open loop: %d sends were more than 10 ms late (the generator fell behind)\n", l.Behind)
	}
	if l.ConnErrors > 0 {
		fmt.Fprintf(w, "connection errors: %d, first: %s\n", l.ConnErrors, l.FirstError)
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// benchStratum runs the server here and the load through run.
func benchStratum(ctx context.Context, o benchStratumOpts, run loadRunner) (benchStratumResult, error) {
	res := benchStratumResult{CPUs: runtimeCPUs(), Conns: o.Conns, Difficulty: o.Difficulty, JobEveryS: o.JobEvery.Seconds()}
	if o.Difficulty <= 0 {
		o.Difficulty = math.Ldexp(1, -28)
	}
	if o.JobEvery <= 0 {
		o.JobEvery = 5 * time.Second
	}
	if _, err := loadgen.RaiseFileLimit(); err != nil {
		return res, err
	}
	srv, err := server.New(server.Config{Listen: "127.0.0.1:0", ShareDifficulty: o.Difficulty, MaxConns: o.Conns + 64},
		server.Deps{Jobs: benchStratumJobs{every: o.JobEvery}})
	if err != nil {
		return res, err
	}
	sctx, stopSrv := context.WithCancel(ctx)
	defer stopSrv()
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Run(sctx) }()
	select {
	case <-srv.Ready():
	case err := <-srvDone:
		return res, fmt.Errorf("stratum server: %w", err)
	}
	cpu := cpuMeter{}
	counts := func() (acc, rej, stale int) {
		for _, m := range srv.Stats() {
			acc, rej, stale = acc+m.Accepted, rej+m.Rejected, stale+m.Stale
		}
		return
	}
	var (
		a0, r0, s0           int
		cs0, cl0             float64
		t0                   time.Time
		stopProf             func()
		phaseMu              sync.Mutex
		phaseStarted, phased bool
	)
	phase := func(started bool) {
		phaseMu.Lock()
		defer phaseMu.Unlock()
		if started {
			if o.CPUProfile != "" {
				if stop, err := startCPUProfile(o.CPUProfile); err == nil {
					stopProf = stop
				}
			}
			a0, r0, s0 = counts()
			cs0, cl0 = cpuRead(cpu)
			t0, phaseStarted = time.Now(), true
			return
		}
		if !phaseStarted {
			return
		}
		res.PhaseS = time.Since(t0).Seconds()
		res.ServerConnsPeak = srv.Conns()
		cs1, cl1 := cpuRead(cpu)
		if stopProf != nil {
			stopProf()
		}
		a1, r1, _ := counts()
		res.ValidatedInPhase = a1 - a0 + r1 - r0
		res.CPUServerS, res.CPULoadS = cs1-cs0, cl1-cl0
		phased = true
	}
	cfg := loadgen.Config{Addr: srv.Addr().String(), Conns: o.Conns, Rate: o.Rate, Inflight: o.Inflight, Duration: o.Duration,
		Mix: o.Mix, SourceIPs: o.SourceIPs, Pool: o.Pool, StaleJob: benchStaleJob}
	load, err := run(ctx, cfg, phase, func(pid int) { cpu.simPID = pid })
	res.Load = load
	if phased {
		// After the drain: every share sent in the phase has been answered.
		a1, r1, s1 := counts()
		res.ServerAccepted, res.ServerRejected, res.ServerStale = a1-a0, r1-r0, s1-s0
	}
	stopSrv()
	<-srvDone
	if err != nil {
		return res, err
	}
	if !phased {
		return res, fmt.Errorf("the load generator never reported its timed phase")
	}
	res.Validated = res.ServerAccepted + res.ServerRejected
	if res.PhaseS > 0 {
		res.ValidatedPerS = float64(res.ValidatedInPhase) / res.PhaseS
	}
	return res, nil
}

// cpuRead is cpuMeter.read, with the load generator's CPU taken as 0 when
// it runs in this process.
func cpuRead(c cpuMeter) (self, load float64) {
	if c.simPID == 0 {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			self = tv(ru.Utime) + tv(ru.Stime)
		}
		return self, 0
	}
	return c.read()
}
