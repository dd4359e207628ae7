package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/gridminer/gridminer/internal/backtest"
	"github.com/gridminer/gridminer/internal/config"
	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/report"
)

// sweepParams are the parameters a sweep can vary, with their units.
var sweepParams = map[string]struct{ label, unit, help string }{
	"fleet-mw":       {"fleet MW", "MW", "the fleet's nominal power: every class's count scaled alike (the mix kept)"},
	"block-mw":       {"fixed-price block MW", "MW", "the take-or-pay block of the site's contract (0: none); needs a contract block: section"},
	"strike":         {"strike $/MWh", "$/MWh", "a fixed curtailment price replacing each machine's breakeven (0: breakeven)"},
	"efficiency-mix": {"share of the most efficient class", "fraction", "the share (0-1) of the fleet's power in its most efficient class, total power kept"},
}

func sweepParamNames() []string {
	var names []string
	for n := range sweepParams {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// sweepPoint is one value of a sweep: the policies' summaries there.
type sweepPoint struct {
	Value    float64                  `json:"value"`
	Policies []backtest.PolicySummary `json:"policies"`
}

func newSweepCmd() *cobra.Command {
	var (
		hf             historyFlags
		bf             backtestFlags
		param, values  string
		rangeSpec      string
		describeParams strings.Builder
	)
	for _, n := range sweepParamNames() {
		fmt.Fprintf(&describeParams, "  %-15s %s\n", n, sweepParams[n].help)
	}
	cmd := &cobra.Command{
		Use:   "sweep --param NAME (--values V,V,... | --range FROM:TO:STEP) [backtest flags] --out DIR",
		Short: "Vary one parameter over a range and chart each policy's net against it",
		Long: `sweep runs the backtest once per value of one parameter and charts each
policy's net against it: the sizing question (how big a fleet, how large a
fixed-price block, which strike, which efficiency mix) a project developer asks.
It takes every backtest flag and writes to --out: sweep.json (every value's
summary), sweep.csv (value, policy, net and the main totals), sweep.html and
charts/sweep.png and .svg.

Parameters:
` + describeParams.String() + `
Example:
  gridminer backtest sweep --param block-mw --range 0:100:20 \
    --prices ../shared/data/ercot/rtm_spp_hubs_2021.csv.gz --btc ../shared/data/btc/btc_daily.csv \
    --site examples/site-100mw.yaml --policy breakeven --policy oracle --out out/sweep-block`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, ok := sweepParams[param]
			if !ok {
				return fmt.Errorf("--param %q: want one of %s", param, strings.Join(sweepParamNames(), ", "))
			}
			vals, err := sweepValues(values, rangeSpec)
			if err != nil {
				return err
			}
			if bf.out == "" {
				return fmt.Errorf("missing --out (the directory for sweep.json, sweep.csv and sweep.html)")
			}
			if err := bf.check(); err != nil {
				return err
			}
			start := time.Now()
			h, err := hf.load()
			if err != nil {
				return err
			}
			variants := make([]*history, len(vals))
			for i, v := range vals {
				if variants[i], err = h.vary(param, v); err != nil {
					return err
				}
			}
			bar := newProgress(cmd.ErrOrStderr(), bf.progress, "sweep", len(vals)*len(hf.policies)*h.intervals())
			points := make([]sweepPoint, len(vals))
			var g errgroup.Group
			g.SetLimit(runtime.GOMAXPROCS(0))
			for i, hv := range variants {
				g.Go(func() error {
					var rs []backtest.Result
					for _, name := range hf.policies {
						r, err := hv.runWithProgress(name, bar.add)
						if err != nil {
							return fmt.Errorf("%s = %g: %w", param, vals[i], err)
						}
						r.Policy = name
						rs = append(rs, r)
					}
					points[i] = sweepPoint{Value: vals[i], Policies: backtest.Summarize(rs)}
					return nil
				})
			}
			err = g.Wait()
			bar.finish()
			if err != nil {
				return err
			}
			paths, err := writeSweep(bf.out, param, p.label, hf, h, points)
			if err != nil {
				return err
			}
			writeSweepTable(cmd.OutOrStdout(), p.label, hf.policies, points)
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s in %.2f s\n", strings.Join(paths, ", "), time.Since(start).Seconds())
			return nil
		},
	}
	hf.register(cmd)
	bf.register(cmd)
	cmd.Flags().StringVar(&param, "param", "", "the parameter to vary: "+strings.Join(sweepParamNames(), ", "))
	cmd.Flags().StringVar(&values, "values", "", "comma-separated values, e.g. 20,40,60")
	cmd.Flags().StringVar(&rangeSpec, "range", "", "FROM:TO:STEP, inclusive, e.g. 0:100:20")
	return cmd
}

// sweepValues parses --values or --range (exactly one), ascending.
func sweepValues(values, rng string) ([]float64, error) {
	if (values == "") == (rng == "") {
		return nil, fmt.Errorf("give exactly one of --values and --range")
	}
	var out []float64
	if values != "" {
		for _, f := range strings.Split(values, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("--values: %q is not a number", f)
			}
			out = append(out, v)
		}
	} else {
		parts := strings.Split(rng, ":")
		if len(parts) != 3 {
			return nil, fmt.Errorf("--range %q: want FROM:TO:STEP", rng)
		}
		var x [3]float64
		for i, f := range parts {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("--range %q: %q is not a number", rng, f)
			}
			x[i] = v
		}
		if x[2] <= 0 || x[1] < x[0] {
			return nil, fmt.Errorf("--range %q: want FROM <= TO and STEP > 0", rng)
		}
		n := int(math.Floor((x[1]-x[0])/x[2]+1e-9)) + 1
		if n > 200 {
			return nil, fmt.Errorf("--range %q: %d values; at most 200", rng, n)
		}
		for k := range n {
			out = append(out, x[0]+float64(k)*x[2])
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	return out, nil
}

// vary returns a copy of h with param set to v.
func (h *history) vary(param string, v float64) (*history, error) {
	hv := *h
	f := *h.file
	hv.file = &f
	if v < 0 {
		return nil, fmt.Errorf("%s = %g: must not be negative", param, v)
	}
	switch param {
	case "fleet-mw":
		if v == 0 {
			return nil, fmt.Errorf("fleet-mw = 0: a fleet needs power")
		}
		var w float64
		for _, c := range f.Fleet {
			w += float64(c.Count) * (c.PowerW + c.OverheadW)
		}
		f.Fleet = slices.Clone(f.Fleet)
		for i := range f.Fleet {
			f.Fleet[i].Count = max(1, int(math.Round(float64(f.Fleet[i].Count)*v*1e6/w)))
		}
	case "efficiency-mix":
		if v > 1 {
			return nil, fmt.Errorf("efficiency-mix = %g: a share between 0 and 1", v)
		}
		if len(f.Fleet) < 2 {
			return nil, fmt.Errorf("efficiency-mix: the fleet has one class; a mix needs two or more")
		}
		f.Fleet = slices.Clone(f.Fleet)
		best := 0
		var total, others float64
		perW := func(c config.FleetClass) float64 { return c.PowerW + c.OverheadW }
		for i, c := range f.Fleet {
			total += float64(c.Count) * perW(c)
			if c.PowerW/c.HashrateTHs < f.Fleet[best].PowerW/f.Fleet[best].HashrateTHs {
				best = i
			}
		}
		for i, c := range f.Fleet {
			if i != best {
				others += float64(c.Count) * perW(c)
			}
		}
		for i := range f.Fleet {
			c := &f.Fleet[i]
			share := v
			if i != best {
				share = (1 - v) * float64(c.Count) * perW(*c) / others
			}
			c.Count = int(math.Round(share * total / perW(*c)))
		}
		f.Fleet = slices.DeleteFunc(f.Fleet, func(c config.FleetClass) bool { return c.Count == 0 })
	case "block-mw":
		if h.cfg.Contract == nil || h.cfg.Contract.Block == nil {
			return nil, fmt.Errorf("block-mw: the site's contract has no block: section to size (add one with its price)")
		}
		c := *h.cfg.Contract
		if v == 0 {
			c.Block = nil
		} else {
			b := *c.Block
			b.MW = v
			c.Block = &b
		}
		hv.cfg.Contract = &c
		return &hv, nil
	case "strike":
		f.Policy.StrikeUSDPerMWh = v
		return &hv, nil
	}
	hv.cfg.Units = config.Units(f.Fleet)
	hv.cfg.Contract = contractFor(&f, hv.cfg.Units)
	return &hv, nil
}

// runWithProgress runs one policy, telling progress of intervals done.
func (h *history) runWithProgress(name string, progress func(int)) (backtest.Result, error) {
	hh := *h
	last := 0
	hh.cfg.Progress = func(done, _ int) {
		progress(done - last)
		last = done
	}
	r, err := hh.run(name)
	if err == nil {
		progress(len(r.Rows) - last)
	}
	return r, err
}

func writeSweep(dir, param, label string, hf historyFlags, h *history, points []sweepPoint) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	jp := filepath.Join(dir, "sweep.json")
	doc := struct {
		Param     string       `json:"param"`
		Label     string       `json:"label"`
		From      time.Time    `json:"from"`
		To        time.Time    `json:"to"`
		MoneyUnit string       `json:"money_unit"`
		Inputs    []string     `json:"inputs"`
		Points    []sweepPoint `json:"points"`
	}{param, label, h.cfg.From, h.cfg.To, backtest.MoneyUnit, hf.inputs(), points}
	if err := writeFileAtomic(jp, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}); err != nil {
		return nil, err
	}
	cp := filepath.Join(dir, "sweep.csv")
	if err := writeFileAtomic(cp, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{param, "policy", "mwh_drawn", "btc_mined", "mining_revenue_micro_usd", "power_cost_micro_usd", "resale_credit_micro_usd",
			"dr_as_credit_micro_usd", "fourcp_charge_micro_usd", "uptime_pct", "net_micro_usd"})
		for _, p := range points {
			for _, s := range p.Policies {
				cw.Write([]string{strconv.FormatFloat(p.Value, 'g', -1, 64), s.Policy, strconv.FormatFloat(s.MWh, 'f', 3, 64),
					strconv.FormatFloat(s.BTC, 'f', 8, 64), strconv.FormatInt(int64(s.MiningRevenue), 10), strconv.FormatInt(int64(s.PowerCost), 10),
					strconv.FormatInt(int64(s.Resale), 10), strconv.FormatInt(int64(s.DRCredit), 10), strconv.FormatInt(int64(s.FourCPCharge), 10),
					strconv.FormatFloat(s.UptimePct, 'f', 3, 64), strconv.FormatInt(int64(s.Net), 10)})
			}
		}
		cw.Flush()
		return cw.Error()
	}); err != nil {
		return nil, err
	}
	loc := price.ERCOTLocation()
	in := report.SweepInput{Title: fmt.Sprintf("%s · %s · %s to %s", orDefault(h.file.Site.Name, "site"), h.point,
		h.cfg.From.In(loc).Format(time.DateOnly), h.cfg.To.Add(-time.Nanosecond).In(loc).Format(time.DateOnly)), Param: label, Policies: hf.policies,
		Notes: hf.inputs()}
	in.Net = make([][]float64, len(hf.policies))
	for _, p := range points {
		in.Values = append(in.Values, p.Value)
		for i, s := range p.Policies {
			in.Net[i] = append(in.Net[i], s.Net.USD())
		}
	}
	ps, err := report.WriteSweep(dir, in)
	if err != nil {
		return nil, fmt.Errorf("sweep report: %w", err)
	}
	return append([]string{jp, cp}, ps...), nil
}

func writeSweepTable(w io.Writer, label string, policies []string, points []sweepPoint) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\t", label)
	for _, p := range policies {
		fmt.Fprintf(tw, "%s net $\t", p)
	}
	fmt.Fprintln(tw)
	for _, pt := range points {
		fmt.Fprintf(tw, "%g\t", pt.Value)
		for _, s := range pt.Policies {
			fmt.Fprintf(tw, "%.0f\t", s.Net.USD())
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
