package report

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gridminer/gridminer/internal/backtest"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

// oracleName is the policy name the net-as-%-of-oracle row looks for.
const oracleName = dispatch.PolicyOracle

// ErrNoResults is returned by Write when there is nothing to report.
var ErrNoResults = errors.New("report: no backtest results")

// Input is one backtest to report.
type Input struct {
	Title string // e.g. "west-texas-100mw · HB_WEST · 2021-01-01 to 2021-12-31"
	// Results in the order the user asked; may include one named
	// "oracle". Every result must have rows; the prices drawn are the
	// first result's (all policies settle on the same history).
	Results []backtest.Result
	// Breakeven is the fleet's breakeven power price over the period
	// ($/MWh), marked on the duration curve and the event zoom. Zero means
	// unknown: no line is drawn and the event finder measures excess over
	// the median price instead.
	Breakeven     energy.Price
	BreakevenNote string   // how it was computed, shown under the chart
	Notes         []string // extra lines shown in the report (inputs used, warnings)
	// Location is the market's local time for axes and months; nil is
	// ERCOT's (America/Chicago).
	Location *time.Location
}

// Write renders the charts as PNG and SVG into dir/charts/ and writes
// dir/report.html, which shows the summary table and embeds the charts
// (as charts/<name>.svg, each linking to its PNG). It creates the
// directories as needed and returns the paths written: the charts' PNG
// and SVG in the order the report shows them, then report.html.
func Write(dir string, in Input) ([]string, error) {
	loc, err := check(dir, in)
	if err != nil {
		return nil, err
	}
	chartsDir := filepath.Join(dir, "charts")
	if err := os.MkdirAll(chartsDir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	d := newData(in, loc)
	builders := []func() chart{
		d.priceLoad,
		d.cumulativeNet,
		d.priceDuration,
		func() chart { return d.monthlyNet(in.Results) },
		func() chart { return d.priceEvent(in.Results) },
	}
	charts := make([]chart, len(builders))
	paths := make([]string, 2*len(builders))
	var g errgroup.Group
	for i, build := range builders {
		g.Go(func() error {
			charts[i] = build()
			// The SVG of the same chart in its own goroutine: the drawing
			// closure builds its plots afresh and only reads charts[i]'s data.
			var sg errgroup.Group
			sg.Go(func() error {
				p, err := render(chartsDir, charts[i], "svg")
				paths[2*i+1] = p
				return err
			})
			p, err := render(chartsDir, charts[i], "png")
			paths[2*i] = p
			return errors.Join(err, sg.Wait())
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	page, err := renderHTML(in, charts)
	if err != nil {
		return nil, err
	}
	html := filepath.Join(dir, "report.html")
	if err := os.WriteFile(html, page, 0o644); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return append(paths, html), nil
}

// check validates the input and returns the local time zone.
func check(dir string, in Input) (*time.Location, error) {
	if dir == "" {
		return nil, errors.New("report: no output directory")
	}
	if len(in.Results) == 0 {
		return nil, ErrNoResults
	}
	for _, r := range in.Results {
		if len(r.Rows) == 0 {
			return nil, fmt.Errorf("report: policy %q has no intervals: %w", r.Policy, ErrNoResults)
		}
		for i, row := range r.Rows {
			for _, v := range []float64{float64(row.Spot), float64(row.Mining), float64(row.AI)} {
				if err := energy.Check("report", v); err != nil {
					return nil, fmt.Errorf("report: policy %q interval %s: %w", r.Policy, row.Interval, err)
				}
			}
			if i > 0 && !row.Interval.Start.After(r.Rows[i-1].Interval.Start) {
				return nil, fmt.Errorf("report: policy %q: interval %s is not after %s", r.Policy, row.Interval, r.Rows[i-1].Interval)
			}
		}
	}
	if err := energy.Check("report: breakeven", float64(in.Breakeven)); err != nil {
		return nil, err
	}
	loc := in.Location
	if loc == nil {
		loc = price.ERCOTLocation()
	}
	return loc, nil
}

// oracleNet returns the oracle's net, USD, and whether the net-as-% row
// applies (an oracle is present and its net is positive).
func oracleNet(results []backtest.Result) (float64, bool) {
	for _, r := range results {
		if r.Policy == oracleName {
			n := r.Totals.Net.USD()
			return n, n > 0 && !math.IsInf(n, 0)
		}
	}
	return 0, false
}
