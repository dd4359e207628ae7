package site

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
)

// EventCreditsCollection is the store collection of per-event settlements.
const EventCreditsCollection = "demand.credits"

// EventCredit is one settled interval of one demand event: the baseline
// the site is measured against, what it drew, the reduction and its credit.
type EventCredit struct {
	Event    string        `json:"event"`
	Program  string        `json:"program,omitempty"`
	Kind     demand.Kind   `json:"kind"`
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end"`
	Baseline energy.Power  `json:"baseline_w"`
	Actual   energy.Power  `json:"actual_w"`
	Reduced  energy.Energy `json:"reduced_wh"`
	// RateUSDPerMWh is the program's credit for each MWh reduced; Credit
	// is Reduced × rate in micro-dollars, rounded half away from zero.
	RateUSDPerMWh float64       `json:"rate_usd_per_mwh"`
	Credit        ledger.Micros `json:"credit_micro_usd"`
}

// SiteUsage is what the site drew over a span, for event reports.
type SiteUsage struct {
	From, To time.Time
	Energy   energy.Energy // Wh, from the settled ledger
	Demand   energy.Power  // average power over the settled part
	Covered  time.Duration // how much of the span the ledger covers
}

// Usage returns the site's draw over [from, to) from the settled ledger
// (entries are pro-rated where they overlap the span's ends).
func (s *Site) Usage(ctx context.Context, from, to time.Time) (SiteUsage, error) {
	u := SiteUsage{From: from, To: to}
	if !to.After(from) {
		return u, fmt.Errorf("usage %s to %s: empty span", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	entries, err := s.deps.Store.Ledger(ctx, from.Add(-s.cfg.Interval), to)
	if err != nil {
		return u, fmt.Errorf("usage: %w", err)
	}
	for _, e := range entries {
		a, b := maxTime(e.Interval.Start, from), minTime(e.Interval.End, to)
		if !b.After(a) {
			continue
		}
		share := float64(b.Sub(a)) / float64(e.Interval.Duration())
		u.Energy += energy.Energy(float64(e.Energy) * share)
		u.Covered += b.Sub(a)
	}
	if u.Covered > 0 {
		u.Demand = energy.Power(float64(u.Energy) / u.Covered.Hours())
	}
	return u, nil
}

// Baseline is the site's average draw over the baseline window (default
// one hour) before at: what an event starting at at is measured against.
func (s *Site) Baseline(ctx context.Context, at time.Time) (energy.Power, error) {
	u, err := s.Usage(ctx, at.Add(-s.cfg.BaselineWindow), at)
	if err != nil {
		return 0, err
	}
	return u.Demand, nil
}

// creditEvents settles the demand events in force during e's interval:
// each event's baseline (its pre-event average, fixed when first needed),
// the interval's actual draw, the reduction and the program's credit.
func (s *Site) creditEvents(ctx context.Context, e ledger.Entry) {
	if s.deps.Demand == nil {
		return
	}
	for _, ev := range s.deps.Demand.Events() {
		if ev.Cancelled || !ev.Start.Before(e.Interval.End) || (!ev.End.IsZero() && !ev.End.After(e.Interval.Start)) {
			continue
		}
		base, ok := s.baselines[ev.Key()]
		if !ok {
			b, err := s.Baseline(ctx, ev.Start)
			if err != nil {
				s.log.Warn("event baseline unavailable", "event", ev.Key(), "err", err)
			}
			base = b
			s.baselines[ev.Key()] = base
		}
		a, b := maxTime(ev.Start, e.Interval.Start), e.Interval.End
		if !ev.End.IsZero() {
			b = minTime(ev.End, b)
		}
		hours := b.Sub(a).Hours()
		rate := s.cfg.EventCredit[ev.Program]
		if r, ok := s.cfg.EventCredit[ev.Source]; ok && rate == 0 {
			rate = r
		}
		reduced := energy.Energy(math.Max(0, float64(base-e.AvgPower)) * hours)
		c := EventCredit{Event: ev.Key(), Program: ev.Program, Kind: ev.Kind, Start: a, End: b, Baseline: base, Actual: e.AvgPower,
			Reduced: reduced, RateUSDPerMWh: rate, Credit: ledger.Micros(math.Round(reduced.MWh() * rate * 1e6))}
		body, err := json.Marshal(c)
		if err != nil {
			continue
		}
		if err := s.deps.Store.PutObject(ctx, EventCreditsCollection, ev.Key()+"@"+a.UTC().Format(time.RFC3339), body, s.deps.Clock.Now()); err != nil {
			s.log.Error("store event credit", "event", ev.Key(), "err", err)
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
