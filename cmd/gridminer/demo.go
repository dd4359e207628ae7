package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/config"
	"github.com/gridminer/gridminer/internal/meter"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/antminersim"
	"github.com/gridminer/gridminer/internal/minersim/braiinssim"
	"github.com/gridminer/gridminer/internal/minersim/metersim"
	"github.com/gridminer/gridminer/internal/minersim/whatsminersim"
	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/site"
)

type demoOpts struct {
	miners    int
	speed     float64
	forWall   time.Duration
	db        string
	http      string
	seed      int64
	start     string
	onStop    string
	policy    string
	capKW     float64
	pollWall  time.Duration
	firmwares []string
	dip       string
	vtn       string
}

func newDemoCmd(logger func() *slog.Logger) *cobra.Command {
	o := demoOpts{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a whole simulated site: virtual fleet, synthetic ERCOT prices, live controller",
		Long: `demo starts a simulated mining site on this machine and controls it live:

  - a virtual fleet (default 300 machines: Antminer S19j Pro, S19 XP and S21) on
    loopback addresses 127.1.0.x, speaking in turn the LuxOS, stock Antminer,
    Whatsminer, Braiins OS and Avalon APIs over real TCP (--firmware to choose);
  - an embedded synthetic real-time price feed shaped like ERCOT's West hub
    (15-minute intervals) and embedded Bitcoin economics;
  - the controller: every interval it runs the machines whose breakeven beats the
    latest published price, most efficient first, and sleeps the rest;
  - a SQLite store (a temp dir unless --db) with telemetry, decisions and a ledger;
  - GET /api/v1/status on --http.

Simulated time runs --speed times faster than the wall clock (default 288: a day in
5 minutes); machines and the controller share that clock, network timeouts do not.
One line is printed per settled 15-minute interval. Ctrl-C (or --for) stops it
cleanly: machines are left as --on-stop says and the store is flushed.`,
		Example: `  gridminer demo
  gridminer demo --for 90s --speed 1440 --http 127.0.0.1:0
  gridminer demo --miners 1000 --db site.db --on-stop sleep`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), cmd.OutOrStdout(), logger(), o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.miners, "miners", 300, "number of virtual machines (a fixed mix of three models)")
	f.Float64Var(&o.speed, "speed", 288, "simulated seconds per wall second (288 = a day in 5 minutes)")
	f.DurationVar(&o.forWall, "for", 0, "stop after this much wall time (0 = until Ctrl-C)")
	f.StringVar(&o.db, "db", "", "SQLite database path to keep (default: a temp dir removed at exit)")
	f.StringVar(&o.http, "http", "127.0.0.1:8080", "status API listen address (host:port, port 0 = any free port, or off)")
	f.Int64Var(&o.seed, "seed", 1, "seed of the synthetic price model")
	f.StringVar(&o.start, "start", "2024-06-10", "simulated start date (YYYY-MM-DD, midnight America/Chicago)")
	f.StringVar(&o.onStop, "on-stop", "sleep", "state to leave machines in at exit: hold, sleep or run")
	f.StringVar(&o.policy, "policy", "breakeven", "dispatch policy: always-on, breakeven, partial-power, fourcp or planner (+fourcp); the planner forecasts with the synthetic model minus its spikes")
	f.Float64Var(&o.capKW, "import-cap-kw", 0, "site import cap in kW (0 = none)")
	f.StringVar(&o.vtn, "vtn", "", "also run an OpenADR 3 VTN on this address (e.g. 127.0.0.1:0) whose events the site's VEN follows; prints how to post one")
	f.StringVar(&o.dip, "frequency-dip", "", "simulated time of day (HH:MM) at which grid frequency dips to 59.6 Hz for a minute, tripping the under-frequency relay")
	f.StringSliceVar(&o.firmwares, "firmware", []string{"luxos", "antminer", "whatsminer", "braiins", "avalon"}, "firmwares the virtual miners speak, taken in turn")
	return cmd
}

func runDemo(ctx context.Context, out io.Writer, log *slog.Logger, o demoOpts) error {
	if o.miners <= 0 || o.miners > 50000 {
		return fmt.Errorf("--miners %d: want 1 to 50,000", o.miners)
	}
	if _, err := site.ParseFailSafe(o.onStop); err != nil {
		return fmt.Errorf("--on-stop: %w", err)
	}
	loc := price.ERCOTLocation()
	day, err := time.ParseInLocation("2006-01-02", o.start, loc)
	if err != nil {
		return fmt.Errorf("--start %q: want YYYY-MM-DD", o.start)
	}
	clk, err := clock.NewScaled(day, o.speed)
	if err != nil {
		return fmt.Errorf("--speed: %w", err)
	}
	if o.forWall > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.forWall)
		defer cancel()
	}

	db := o.db
	if db == "" {
		dir, err := os.MkdirTemp("", "gridminer-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		db = filepath.Join(dir, "demo.db")
	}

	// The fleet outlives the controller so the controller can leave the
	// machines in their stop state before they disappear.
	simCtx, stopSim := context.WithCancel(context.Background())
	defer stopSim()
	for _, fw := range o.firmwares {
		if !slices.Contains(simFirmwares(), fw) {
			return fmt.Errorf("--firmware %q: the simulator speaks %s", fw, strings.Join(simFirmwares(), ", "))
		}
	}
	sim, err := minersim.New(minersim.Config{Miners: minersim.Mix(o.miners, o.firmwares), Clock: clk, Logger: log, Dialects: simDialects()})
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(simCtx) }()
	select {
	case <-sim.Ready():
	case err := <-simDone:
		return fmt.Errorf("simulator: %w", err)
	case <-ctx.Done():
		return nil
	}

	// The site meter: a simulated SunSpec meter following the fleet's
	// actual draw, read over Modbus TCP like a real one.
	var trace []metersim.FrequencyPoint
	if o.dip != "" {
		at, err := time.ParseInLocation("15:04", o.dip, loc)
		if err != nil {
			return fmt.Errorf("--frequency-dip %q: want HH:MM", o.dip)
		}
		off := time.Duration(at.Hour())*time.Hour + time.Duration(at.Minute())*time.Minute
		trace = []metersim.FrequencyPoint{{Offset: 0, Hz: 60}, {Offset: off, Hz: 59.6}, {Offset: off + time.Minute, Hz: 60}}
	}
	msim, err := metersim.New(metersim.Config{Map: meter.MapSunSpec, SunSpecModel: 203, Clock: clk, Logger: log,
		Draw: sim.TotalPower, Noise: 200, Seed: uint64(o.seed), Trace: trace})
	if err != nil {
		return fmt.Errorf("simulated meter: %w", err)
	}
	if err := msim.Listen(); err != nil {
		return fmt.Errorf("simulated meter: %w", err)
	}
	meterDone := make(chan error, 1)
	go func() { meterDone <- msim.Run(simCtx) }()
	defer func() { stopSim(); <-meterDone }()

	cfg := &config.File{}
	cfg.Site = config.Site{Name: "demo", OnStop: o.onStop, ImportCapKW: o.capKW}
	cfg.Meter = config.Meter{Type: "modbus", Address: msim.Addr(), Map: meter.MapSunSpec203, Timeout: config.Duration(2 * time.Second)}
	cfg.UFR = config.UFR{Enabled: true, SampleEvery: config.Duration(5 * time.Second)}
	for i, a := range sim.Addrs() {
		cfg.Miners = append(cfg.Miners, config.Miners{
			Driver: o.firmwares[i%len(o.firmwares)], Addr: a, Timeout: config.Duration(2 * time.Second),
			WebPort:  sim.ListenerPort(antminersim.WebListener),
			GRPCPort: sim.ListenerPort(braiinssim.Listener),
			V3Port:   sim.ListenerPort(whatsminersim.ListenerV3),
		})
	}
	cfg.Price = config.Price{Type: "synthetic", Seed: o.seed}
	cfg.Store.Path = db
	cfg.HTTP.Listen = o.http
	cfg.Policy.Type = o.policy
	cfg.Policy.HysteresisUSDPerMWh = 2
	cfg.Poll.Every = config.Duration(30 * time.Second)
	// Network round trips take wall time, which the accelerated clock
	// magnifies: allow half a wall second of latency per poll on top of
	// three missed polls before a machine's telemetry counts as stale.
	cfg.Poll.StaleAfter = config.Duration(90*time.Second + time.Duration(o.speed*float64(500*time.Millisecond)))
	if err := config.Complete("demo", cfg); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}

	var vtn *demoVTN
	if o.vtn != "" {
		vdir, err := os.MkdirTemp("", "gridminer-demo-vtn-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(vdir)
		if vtn, err = startDemoVTN(ctx, cfg, o.vtn, vdir, clk, log); err != nil {
			return err
		}
		defer vtn.stop()
	}
	p := newPrinter(out, loc)
	ctl, err := buildController(ctx, cfg, clk, log, hooks{settle: p.line, trip: p.trip})
	if err != nil {
		return err
	}
	addr := "off"
	if ctl.ln != nil {
		addr = "http://" + ctl.ln.Addr().String() + "/api/v1/status"
	}
	fmt.Fprintf(out, "gridminer demo: %d virtual miners (%s) on %s…, simulated from %s at %gx, store %s, status %s\n",
		len(sim.Addrs()), strings.Join(o.firmwares, ", "), sim.Addrs()[0], day.Format("2006-01-02 15:04 MST"), o.speed, db, addr)
	if vtn != nil {
		vtn.banner(out)
	}
	p.header()
	err = ctl.run(ctx)
	stopSim()
	if serr := <-simDone; serr != nil && !errors.Is(serr, context.Canceled) && err == nil {
		err = fmt.Errorf("simulator: %w", serr)
	}
	snap := ctl.site.Snapshot()
	fmt.Fprintf(out, "stopped at %s: machines left %s; %d intervals settled, net %s\n",
		snap.Time.In(loc).Format("2006-01-02 15:04 MST"), o.onStop, snap.Totals.Intervals, snap.Totals.Net)
	return err
}

// printer writes the live terminal line per settled interval.
type printer struct {
	w   io.Writer
	loc *time.Location
}

func newPrinter(w io.Writer, loc *time.Location) *printer { return &printer{w: w, loc: loc} }

func (p *printer) header() {
	fmt.Fprintf(p.w, "%-20s %10s %10s %8s %6s %6s %4s %10s %11s %12s %12s %12s\n",
		"interval end", "price/MWh", "breakeven", "site MW", "mining", "asleep", "off", "fleet TH/s", "BTC", "revenue", "power cost", "net")
}

func (p *printer) line(s site.Settlement) {
	e := s.Entry
	asleep := s.Counts[miner.StateSleeping] + s.Counts[miner.StateRampingDown]
	mining := s.Counts[miner.StateMining] + s.Counts[miner.StateWaking]
	note := ""
	if e.Covered < e.Interval.Duration() {
		note = fmt.Sprintf("  (%.0f%% of interval sampled)", 100*e.Covered.Seconds()/e.Interval.Duration().Seconds())
	}
	fmt.Fprintf(p.w, "%-20s %10.2f %10.2f %8.3f %6d %6d %4d %10.0f %11.6f %12s %12s %12s%s\n",
		e.Interval.End.In(p.loc).Format("2006-01-02 15:04 MST"),
		float64(e.Price), float64(s.Breakeven), e.AvgPower.MW(),
		mining, asleep, s.Counts[miner.StateOffline]+s.Counts[miner.StateUnknown],
		s.Hashrate.THs(), s.Totals.BTC.BTC(),
		s.Totals.Revenue, s.Totals.Cost, s.Totals.Net, note)
}

// trip prints an under-frequency trip or reset.
func (p *printer) trip(ev site.TripEvent) {
	if ev.Reset {
		fmt.Fprintf(p.w, "%-20s under-frequency trip reset: %.2f Hz, %d machines back to the plan\n", ev.At.In(p.loc).Format("2006-01-02 15:04 MST"), ev.Frequency, ev.Machines)
		return
	}
	fmt.Fprintf(p.w, "%-20s UNDER-FREQUENCY TRIP at %.2f Hz: %d machines (%s) asleep in %.0f ms, %d failed\n",
		ev.At.In(p.loc).Format("2006-01-02 15:04 MST"), ev.Frequency, ev.Machines, ev.Shed, float64(ev.Latency.Microseconds())/1000, ev.Failed)
}
