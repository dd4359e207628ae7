package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridminer/gridminer/internal/backtest"
	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/config"
	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/price/ercot"
	"github.com/gridminer/gridminer/internal/price/pricefile"
	"github.com/gridminer/gridminer/internal/sysload"
)

// historyFlags are the inputs shared by plan and backtest.
type historyFlags struct {
	prices, dam, loads []string
	point, btc, site   string
	fleetFile          string
	contractFile       string
	generation         string
	deployments        string
	from, to           string
	policies           []string
}

func (h *historyFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVar(&h.policies, "policy", nil, "policy to run (repeat or comma-separate): "+strings.Join(dispatch.Names(), ", ")+"; add +fourcp to price 4CP risk")
	f.StringSliceVar(&h.prices, "prices", nil, "real-time price file(s), repeat for several years: ERCOT NP6-905-CD CSV (.csv, .csv.gz, .zip), ERCOT report 13061 (.xlsx or its .zip), or a time,price CSV")
	f.StringVar(&h.point, "point", "HB_WEST", "settlement point (hub or load zone; LZ_WEST_EW for the energy-weighted load zone) whose price the site pays; ignored for a time,price CSV")
	f.StringVar(&h.btc, "btc", "", "daily bitcoin economics CSV (btc_daily.csv layout)")
	f.StringSliceVar(&h.dam, "dam", nil, "ERCOT day-ahead price workbook(s) (DAMLZHBSPP .xlsx): the planner's forecast")
	f.StringSliceVar(&h.loads, "load", nil, "ERCOT native load workbook(s) (.xlsx) or a time,mw CSV: 4CP peaks and peak risk")
	f.StringVar(&h.site, "site", "", "site file with fleet:, contract: and policy: sections")
	f.StringVar(&h.fleetFile, "fleet", "", "a file whose fleet: section replaces the site's")
	f.StringVar(&h.contractFile, "contract", "", "a file whose contract: section replaces the site's")
	f.StringVar(&h.generation, "generation", "", "on-site generation, a time,mw CSV (hourly or 15-minute) for the contract's renewables")
	f.StringVar(&h.deployments, "deployments", "", "demand-response deployments file (deployments: [{commitment, start, end, mw}])")
	f.StringVar(&h.from, "from", "", "first day, YYYY-MM-DD (ERCOT local time; default: where the prices start)")
	f.StringVar(&h.to, "to", "", "last day, YYYY-MM-DD, inclusive (default: where the prices end)")
}

// history is everything loaded for a run.
type history struct {
	cfg  backtest.Config
	file *config.File
	// point names the prices: the settlement point, or "time,price" when
	// every price file is a generic one (which has no points).
	point string
}

func (h *historyFlags) load() (*history, error) {
	var missing []string
	for _, m := range []struct{ name, v string }{{"--btc", h.btc}, {"--site", h.site}} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(h.prices) == 0 {
		missing = append(missing, "--prices")
	}
	if len(h.policies) == 0 {
		missing = append(missing, "--policy")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	for _, p := range h.policies {
		if err := dispatch.Known(p); err != nil {
			return nil, fmt.Errorf("--policy: %w", err)
		}
	}
	file, err := config.LoadOffline(h.site)
	if err != nil {
		return nil, err
	}
	for _, extra := range []string{h.fleetFile, h.contractFile} {
		if extra == "" {
			continue
		}
		e, err := config.LoadOffline(extra)
		if err != nil {
			return nil, err
		}
		file.MergeOffline(e)
	}
	if len(file.Fleet) == 0 {
		return nil, fmt.Errorf("site %s: no fleet: section (plan and backtest simulate the fleet described there)", h.site)
	}
	var scheds []price.Schedule
	point := "time,price"
	for _, p := range h.prices {
		if f, err := pricefile.Detect(p); err == nil && f != pricefile.TimePrice {
			point = h.point
		}
		s, err := pricefile.Open(p, h.point)
		if err != nil {
			return nil, err
		}
		scheds = append(scheds, s)
	}
	prices, err := ercot.MergeSchedules(scheds...)
	if err != nil {
		return nil, fmt.Errorf("--prices: %w", err)
	}
	from, to, err := h.period(prices)
	if err != nil {
		return nil, err
	}
	bf, err := os.Open(h.btc)
	if err != nil {
		return nil, fmt.Errorf("--btc: %w", err)
	}
	days, err := bitcoin.ReadDaily(bf, h.btc)
	bf.Close()
	if err != nil {
		return nil, err
	}
	cfg := backtest.Config{
		From: from.UTC(), To: to.UTC(), Interval: file.Site.Interval.D(),
		Units: config.Units(file.Fleet), SiteCap: energy.Power(file.Site.ImportCapKW * 1e3),
		PoolFee: file.Policy.PoolFee, Prices: prices, BTC: days,
	}
	cfg.Contract = contractFor(file, cfg.Units)
	if h.deployments != "" {
		c := contract.Contract{}
		if cfg.Contract != nil {
			c = *cfg.Contract
		}
		if cfg.Deployments, err = config.LoadDeployments(h.deployments, c); err != nil {
			return nil, err
		}
	}
	if h.generation != "" {
		if cfg.Contract == nil || cfg.Contract.Renewables == nil {
			return nil, fmt.Errorf("--generation: the site's contract has no renewables: section")
		}
		g, err := sysload.Open(h.generation)
		if err != nil {
			return nil, fmt.Errorf("--generation: %w", err)
		}
		cfg.Generation = make(map[time.Time]energy.Power)
		for _, p := range g {
			for t := p.Interval.Start; t.Before(p.Interval.End); t = t.Add(cfg.Interval) {
				cfg.Generation[t] = energy.Power(p.MW * 1e6)
			}
		}
	}
	if len(h.dam) > 0 {
		var ds []price.Schedule
		for _, p := range h.dam {
			s, err := ercot.OpenDAM(p, h.point)
			if err != nil {
				return nil, err
			}
			ds = append(ds, s)
		}
		if cfg.DAM, err = ercot.MergeSchedules(ds...); err != nil {
			return nil, fmt.Errorf("--dam: %w", err)
		}
	}
	if len(h.loads) > 0 {
		var ls []sysload.Series
		for _, p := range h.loads {
			s, err := sysload.Open(p)
			if err != nil {
				return nil, err
			}
			ls = append(ls, s)
		}
		series, err := sysload.Merge(ls...)
		if err != nil {
			return nil, fmt.Errorf("--load: %w", err)
		}
		months := sysload.FourCPMonths()
		if cfg.Contract != nil && cfg.Contract.FourCP != nil {
			months = cfg.Contract.FourCP.PeakMonths()
		}
		for _, p := range sysload.MonthlyPeaks(series, months) {
			cfg.Peaks = append(cfg.Peaks, p.Interval)
		}
		cfg.Risk = peakRisks(series, months)
	}
	return &history{cfg: cfg, file: file, point: point}, nil
}

// contractFor is the site file's contract with its defaults for a fleet
// of units (commitment baselines default to the fleet's power), or nil.
func contractFor(file *config.File, units []dispatch.Unit) *contract.Contract {
	if config.IsZeroContract(file.Contract) {
		return nil
	}
	c := file.Contract
	c.Commitments = slices.Clone(c.Commitments)
	var maxW energy.Power
	for _, u := range units {
		maxW += u.Caps.NominalPower
	}
	c.Defaults(maxW)
	return &c
}

// period is [--from, --to + 1 day) in ERCOT local days; either defaults
// to the prices' own span.
func (h *historyFlags) period(prices price.Schedule) (from, to time.Time, err error) {
	loc := price.ERCOTLocation()
	if len(prices) == 0 {
		return from, to, errors.New("--prices: no prices")
	}
	from, to = prices[0].Interval.Start, prices[len(prices)-1].Interval.End
	if h.from != "" {
		if from, err = time.ParseInLocation(time.DateOnly, h.from, loc); err != nil {
			return from, to, fmt.Errorf("--from %q: want YYYY-MM-DD", h.from)
		}
	}
	if h.to != "" {
		if to, err = time.ParseInLocation(time.DateOnly, h.to, loc); err != nil {
			return from, to, fmt.Errorf("--to %q: want YYYY-MM-DD", h.to)
		}
		to = to.AddDate(0, 0, 1)
	}
	if !to.After(from) {
		return from, to, fmt.Errorf("the period %s to %s is empty (--from %q, --to %q)", from.In(loc).Format(time.DateOnly), to.In(loc).Format(time.DateOnly), h.from, h.to)
	}
	return from.UTC(), to.UTC(), nil
}

// run runs one policy (the oracle offline) over the history.
func (h *history) run(name string) (backtest.Result, error) {
	dc := h.file.Policy.DispatchConfig()
	dc.Breakeven.PoolFee = h.cfg.PoolFee
	if name == dispatch.PolicyOracle || strings.HasPrefix(name, dispatch.PolicyOracle+"+") {
		return backtest.RunOracle(h.cfg, dc.Planner)
	}
	p, err := dispatch.New(name, dc)
	if err != nil {
		return backtest.Result{}, err
	}
	return backtest.Run(h.cfg, p)
}

func newPlanCmd() *cobra.Command {
	var (
		hf       historyFlags
		asJSON   bool
		schedule bool
	)
	cmd := &cobra.Command{
		Use:   "plan --policy NAME --prices FILE --btc FILE --site FILE --from DATE --to DATE",
		Short: "Print the schedule a policy (or the oracle) makes over history, and its economics",
		Long: `plan replays real history through a dispatch policy, exactly as the live
controller would have run it (each interval it sees only what was known
before it), or solves the oracle (perfect foresight, the upper bound), and
prints the schedule and its economics under the site's contract.

The site file's fleet: section describes the machines by class (blocks of
machines are dispatched as units), contract: the power contract and
obligations, policy: the tuning. --dam gives the planner its day-ahead
forecast; --load gives ERCOT load history for the 4CP peaks and peak risk.

Example:
  gridminer plan --policy oracle --prices ../shared/data/ercot/rtm_spp_hubs_2021.csv.gz \
    --point HB_WEST --btc ../shared/data/btc/btc_daily.csv --site examples/site-100mw.yaml \
    --from 2021-02-14 --to 2021-02-20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := hf.load()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var results []backtest.Result
			for _, name := range hf.policies {
				r, err := h.run(name)
				if err != nil {
					return err
				}
				r.Policy = name
				results = append(results, r)
			}
			if asJSON {
				return writePlanJSON(out, results, schedule)
			}
			if schedule || (len(results) == 1 && len(results[0].Rows) <= 3*96) {
				for _, r := range results {
					writeSchedule(out, r)
				}
			}
			writeSummary(out, results)
			return nil
		},
	}
	hf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (with --schedule, every interval too)")
	cmd.Flags().BoolVar(&schedule, "schedule", false, "print every interval (default: only for one policy over at most 3 days)")
	return cmd
}

func writeSchedule(w io.Writer, r backtest.Result) {
	loc := price.ERCOTLocation()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tinterval (CT)\tprice $/MWh\tplanned at\tmining MW\tAI MW\trunning\tnet $\treason\t\n", r.Policy)
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "\t%s\t%.2f\t%.2f\t%.3f\t%.3f\t%d\t%.2f\t%s\t\n", row.Interval.Start.In(loc).Format("2006-01-02 15:04"),
			float64(row.Spot), float64(row.Expected), row.Mining.MW(), row.AI.MW(), row.Running, row.Net.USD(), shorten(row.Reason, 90))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func writeSummary(w io.Writer, results []backtest.Result) {
	var oracle *backtest.Result
	for i := range results {
		if results[i].Policy == dispatch.PolicyOracle {
			oracle = &results[i]
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tMWh\tBTC\tmining $\tpower $\tresale $\tDR/AS $\tpenalty $\t4CP kW\t4CP $\tuptime %\t$/MWh\tnet $\t% of oracle\t")
	for _, r := range results {
		t := r.Totals
		pct := "-"
		if oracle != nil && oracle.Totals.Net > 0 {
			pct = fmt.Sprintf("%.1f", 100*float64(t.Net)/float64(oracle.Totals.Net))
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.4f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%.2f\t%.0f\t%s\t\n", r.Policy, t.Energy.MWh(), t.BTC.BTC(),
			t.Revenue.USD(), t.PowerCost.USD(), t.Resale.USD(), t.DRCredit.USD(), t.Penalty.USD(), t.FourCPTagKW, t.FourCPCharge.USD(),
			t.Uptime*100, float64(t.EffectivePrice), t.Net.USD(), pct)
	}
	tw.Flush()
	for _, r := range results {
		if len(r.Totals.FourCPPeaksKW) == 0 {
			continue
		}
		var kw []string
		for _, k := range r.Totals.FourCPPeaksKW {
			kw = append(kw, fmt.Sprintf("%.0f", k))
		}
		fmt.Fprintf(w, "4CP %s: import at the peaks %s kW; %.0f hours of the 4CP months under half load\n", r.Policy, strings.Join(kw, " / "), r.Totals.FourCPLowHours)
	}
	if oracle != nil {
		fmt.Fprintf(w, "oracle: %s, model objective bound gap %.3g%%\n", oracle.Method, oracle.Gap*100)
	}
}

func writePlanJSON(w io.Writer, results []backtest.Result, rows bool) error {
	type row struct {
		Start    time.Time `json:"start"`
		Price    float64   `json:"price_usd_per_mwh"`
		Expected float64   `json:"planned_price_usd_per_mwh"`
		MiningMW float64   `json:"mining_mw"`
		AIMW     float64   `json:"ai_mw"`
		Running  int       `json:"running"`
		NetUSD   float64   `json:"net_usd"`
		Reason   string    `json:"reason"`
	}
	type out struct {
		Policy    string          `json:"policy"`
		Totals    backtest.Totals `json:"totals"`
		Method    string          `json:"method,omitempty"`
		Gap       float64         `json:"gap,omitempty"`
		Intervals []row           `json:"intervals,omitempty"`
	}
	var all []out
	for _, r := range results {
		o := out{Policy: r.Policy, Totals: r.Totals, Method: r.Method, Gap: r.Gap}
		if rows {
			for _, x := range r.Rows {
				o.Intervals = append(o.Intervals, row{x.Interval.Start, float64(x.Spot), float64(x.Expected), x.Mining.MW(), x.AI.MW(), x.Running, x.Net.USD(), x.Reason})
			}
		}
		all = append(all, o)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(all)
}
