package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/config"
	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/price/ercot"
	"github.com/gridminer/gridminer/internal/price/synthetic"
	"github.com/gridminer/gridminer/internal/sysload"
)

// forecastFor returns the price forecast the planner sees live: day-ahead
// prices from a workbook, or, for the synthetic source, the same model
// without the parts nobody can foresee (interval jitter and scarcity
// spikes). Nil when there is none.
func forecastFor(cfg *config.File, _ price.Source) price.Source {
	switch {
	case cfg.Price.Type == "synthetic":
		p := synthetic.DefaultParams()
		p.IntervalSigma, p.SpikesPerYear = 0, 0
		g, err := synthetic.New(p, cfg.Price.Seed)
		if err != nil {
			return nil
		}
		return g
	case cfg.Price.DAMPath != "":
		s, err := ercot.OpenDAM(cfg.Price.DAMPath, cfg.Price.Point)
		if err != nil {
			return nil
		}
		src, err := price.NewStatic(s)
		if err != nil {
			return nil
		}
		return src
	}
	return nil
}

// peakRiskFor returns the live 4CP peak-risk estimate from the site's
// load file, re-read on every call, with the embedded default model; nil
// without a load file.
func peakRiskFor(cfg *config.File) func(context.Context, time.Time) (float64, error) {
	path := cfg.Site.LoadForecast
	if path == "" {
		return nil
	}
	model := sysload.Default()
	return func(_ context.Context, hour time.Time) (float64, error) {
		s, err := sysload.Open(path)
		if err != nil {
			return 0, fmt.Errorf("load forecast: %w", err)
		}
		var actual, forecast sysload.Series
		for _, p := range s {
			if !p.Interval.End.After(hour) {
				actual = append(actual, p)
			} else if !p.Interval.Start.Before(hour) {
				forecast = append(forecast, p)
			}
		}
		return model.Risk(actual, forecast, hour), nil
	}
}

// peakRisks is the risk of every hour of series in months, each from the
// load before it, keyed by the hour's start.
func peakRisks(series sysload.Series, months []time.Month) map[time.Time]float64 {
	out := make(map[time.Time]float64)
	for _, r := range sysload.Default().Risks(series, months) {
		out[r.Hour] = r.Risk
	}
	return out
}

// deploymentsFor returns the manual deployment source: the site's
// deployments file, re-read on every call; a file that fails to read or
// validate is logged and its last good content kept, so a bad edit
// never cancels a deployment in force.
func deploymentsFor(cfg *config.File, log *slog.Logger) func() []contract.Deployment {
	path := cfg.Site.DeploymentsFile
	if path == "" {
		return nil
	}
	var last []contract.Deployment
	return func() []contract.Deployment {
		d, err := config.LoadDeployments(path, cfg.Contract)
		if err != nil {
			log.Error("deployments file", "err", err)
			return last
		}
		last = d
		return d
	}
}

// dailyEconomics serves the daily bitcoin history: at any time, the
// previous UTC day's values, the latest complete day known then.
type dailyEconomics []bitcoin.Day

func (d dailyEconomics) Economics(_ context.Context, at time.Time) (bitcoin.Economics, error) {
	if len(d) == 0 {
		return bitcoin.Economics{}, fmt.Errorf("bitcoin history is empty")
	}
	day := at.UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	i, ok := slices.BinarySearchFunc(d, day, func(x bitcoin.Day, t time.Time) int { return x.Date.Compare(t) })
	if !ok {
		return bitcoin.Economics{}, fmt.Errorf("bitcoin history has no %s (it covers %s to %s)", day.Format(time.DateOnly),
			d[0].Date.Format(time.DateOnly), d[len(d)-1].Date.Format(time.DateOnly))
	}
	return d[i].Economics(), nil
}
