package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/gridminer/gridminer/internal/backtest"
	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/report"
)

// backtestFlags are backtest's own flags beside the history.
type backtestFlags struct {
	out        string
	progress   string
	cpuProfile string
}

func (b *backtestFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&b.out, "out", "", "directory for summary.json, ledger.csv and report.html (created; files in it are replaced)")
	cmd.Flags().StringVar(&b.progress, "progress", "auto", "progress bar on stderr: auto (only on a terminal), always or never")
	cmd.Flags().StringVar(&b.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the run to this file")
	cmd.Flags().MarkHidden("cpuprofile")
}

// profile starts the CPU profile asked for, returning its stop.
func (b *backtestFlags) profile() (func(), error) {
	if b.cpuProfile == "" {
		return func() {}, nil
	}
	f, err := os.Create(b.cpuProfile)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func newBacktestCmd() *cobra.Command {
	var (
		hf historyFlags
		bf backtestFlags
	)
	cmd := &cobra.Command{
		Use:   "backtest --prices FILE... --btc FILE --site FILE --policy NAME... --out DIR",
		Short: "Replay real price history through dispatch policies and report what each would have earned",
		Long: `backtest replays real prices and bitcoin economics through one or more dispatch
policies, exactly as the live controller would have run them (each interval a
policy sees only what was known before it), settles every interval under the
site's contract, and writes to --out:

  summary.json  per policy: MWh drawn, BTC mined, mining revenue, power cost,
                resale and DR/AS credits, penalties, 4CP tag and charge,
                uptime, effective $/MWh, net, and net as % of the oracle
  ledger.csv    every interval of every policy; money in integer micro-USD,
                and every total in summary.json is the exact sum of its column
  report.html   the summary and charts (charts/*.png and *.svg): price vs
                site load, cumulative net, price duration with the breakeven,
                monthly net, and a zoom on the largest price event

Prices: ERCOT NP6-905-CD CSV (.csv, .csv.gz, or .zip of CSVs), ERCOT's annual
RTM hub and load-zone workbook (report 13061: .xlsx, or the .zip ERCOT serves;
see 'gridminer data fetch ercot-rtm'), or a generic CSV with the header
time,price (interval start in RFC 3339, $/MWh) for other markets. Give several
files (e.g. a year each) by repeating --prices. Bitcoin economics: the daily
CSV of 'gridminer data fetch btc'. The period defaults to the prices' span.

Policies (repeat --policy): ` + strings.Join(dispatch.Names(), ", ") + `.
The oracle solves the whole period with perfect foresight: the upper bound.

Example (Winter Storm Uri, 2021):
  gridminer backtest --prices ../shared/data/ercot/rtm_spp_hubs_2021.csv.gz --point HB_WEST \
    --btc ../shared/data/btc/btc_daily.csv --site examples/site-100mw.yaml \
    --policy always-on --policy breakeven --policy oracle --out out/2021`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bf.out == "" {
				return fmt.Errorf("missing --out (the directory for summary.json, ledger.csv and report.html)")
			}
			if err := bf.check(); err != nil {
				return err
			}
			stop, err := bf.profile()
			if err != nil {
				return err
			}
			defer stop()
			start := time.Now()
			h, err := hf.load()
			if err != nil {
				return err
			}
			bar := newProgress(cmd.ErrOrStderr(), bf.progress, "backtest", len(hf.policies)*h.intervals())
			results, err := h.runAll(hf.policies, bar.add)
			bar.finish()
			if err != nil {
				return err
			}
			paths, err := h.writeOutputs(bf.out, hf, results)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			writeSummary(out, results)
			for _, w := range h.cfg.Warnings() {
				fmt.Fprintf(out, "note: %s\n", w)
			}
			fmt.Fprintf(out, "wrote %s (%d files) in %.2f s\n", strings.Join(paths[:min(3, len(paths))], ", "), len(paths), time.Since(start).Seconds())
			return nil
		},
	}
	hf.register(cmd)
	bf.register(cmd)
	cmd.AddCommand(newSweepCmd())
	return cmd
}

func (b *backtestFlags) check() error {
	switch b.progress {
	case "auto", "always", "never":
		return nil
	}
	return fmt.Errorf("--progress %q: want auto, always or never", b.progress)
}

// intervals is the number of settlement intervals in the period.
func (h *history) intervals() int {
	iv := h.cfg.Interval
	if iv <= 0 {
		iv = 15 * time.Minute
	}
	return int(h.cfg.To.Sub(h.cfg.From) / iv)
}

// runAll runs the policies concurrently (one per core) and returns the
// results in the order asked. progress is told of intervals done.
func (h *history) runAll(policies []string, progress func(int)) ([]backtest.Result, error) {
	results := make([]backtest.Result, len(policies))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, name := range policies {
		g.Go(func() error {
			r, err := h.runWithProgress(name, progress)
			if err != nil {
				return err
			}
			r.Policy = name
			results[i] = r
			return nil
		})
	}
	return results, g.Wait()
}

// writeOutputs writes summary.json, ledger.csv and the report into dir.
func (h *history) writeOutputs(dir string, hf historyFlags, results []backtest.Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	loc := price.ERCOTLocation()
	sum := backtest.Summary{
		Site: h.file.Site.Name, Point: h.point, From: h.cfg.From, To: h.cfg.To, Interval: h.cfg.Interval.String(),
		Intervals: h.intervals(), MoneyUnit: backtest.MoneyUnit, Policies: backtest.Summarize(results),
	}
	sum.Inputs = append(sum.Inputs, hf.inputs()...)
	sum.Inputs = append(sum.Inputs, h.cfg.Warnings()...)
	be, note := h.breakeven()
	title := fmt.Sprintf("%s · %s · %s to %s", orDefault(h.file.Site.Name, "site"), h.point,
		h.cfg.From.In(loc).Format(time.DateOnly), h.cfg.To.Add(-time.Nanosecond).In(loc).Format(time.DateOnly))
	var (
		g     errgroup.Group
		mu    sync.Mutex
		paths []string
	)
	add := func(p ...string) {
		mu.Lock()
		paths = append(paths, p...)
		mu.Unlock()
	}
	g.Go(func() error {
		p := filepath.Join(dir, "summary.json")
		if err := writeFileAtomic(p, func(w io.Writer) error { return backtest.WriteSummary(w, sum) }); err != nil {
			return err
		}
		add(p)
		return nil
	})
	g.Go(func() error {
		p := filepath.Join(dir, "ledger.csv")
		if err := writeFileAtomic(p, func(w io.Writer) error { return h.cfg.WriteLedger(w, results) }); err != nil {
			return err
		}
		add(p)
		return nil
	})
	g.Go(func() error {
		ps, err := report.Write(dir, report.Input{Title: title, Results: results, Breakeven: be, BreakevenNote: note, Notes: sum.Inputs})
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		add(ps...)
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// summary.json, ledger.csv and report.html first.
	order := map[string]int{"summary.json": 0, "ledger.csv": 1, "report.html": 2}
	sortPaths(paths, order)
	return paths, nil
}

func sortPaths(paths []string, first map[string]int) {
	rank := func(p string) int {
		if r, ok := first[filepath.Base(p)]; ok {
			return r
		}
		return len(first)
	}
	for i := 1; i < len(paths); i++ {
		for j := i; j > 0 && rank(paths[j]) < rank(paths[j-1]); j-- {
			paths[j], paths[j-1] = paths[j-1], paths[j]
		}
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// inputs describes the files a run read, for the summary and report.
func (hf historyFlags) inputs() []string {
	var out []string
	add := func(what string, files ...string) {
		if len(files) > 0 && files[0] != "" {
			out = append(out, what+": "+strings.Join(files, ", "))
		}
	}
	add("prices", hf.prices...)
	add("day-ahead prices", hf.dam...)
	add("bitcoin", hf.btc)
	add("site", hf.site)
	add("fleet", hf.fleetFile)
	add("contract", hf.contractFile)
	add("load", hf.loads...)
	add("generation", hf.generation)
	add("deployments", hf.deployments)
	return out
}

// breakeven is the market price at which a machine of the fleet's average
// efficiency breaks even at the period's mean hashprice, net of the pool
// fee and the contract's index adder, and how it was computed.
func (h *history) breakeven() (energy.Price, string) {
	var w energy.Power
	var th energy.Hashrate
	for _, u := range h.cfg.Units {
		w += u.Caps.NominalPower
		th += u.Caps.NominalHashrate
	}
	var sum float64
	n := 0
	for _, d := range h.cfg.BTC {
		if !d.Date.Before(h.cfg.From.Truncate(24*time.Hour)) && d.Date.Before(h.cfg.To) {
			sum += float64(d.Economics().Hashprice())
			n++
		}
	}
	if n == 0 || th == 0 {
		return 0, "no breakeven: no bitcoin days or no fleet"
	}
	hp := bitcoin.Hashprice(sum / float64(n) * (1 - h.cfg.PoolFee))
	eff := energy.EfficiencyOf(w, th)
	be := bitcoin.Breakeven(hp, eff)
	adder := 0.0
	if h.cfg.Contract != nil {
		adder = h.cfg.Contract.Index.AdderUSDPerMWh
	}
	be -= energy.Price(adder)
	return be, fmt.Sprintf("fleet-average %.1f J/TH at the period's mean hashprice $%.4f/TH/day after a %.1f%% pool fee, less the $%.2f/MWh index adder",
		float64(eff), float64(hp), 100*h.cfg.PoolFee, adder)
}

// writeFileAtomic writes path through a temporary file renamed into place,
// so a failed run never leaves a half-written output.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
