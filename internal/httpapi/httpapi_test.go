package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/site"
)

type snap site.Snapshot

func (s snap) Snapshot() site.Snapshot { return site.Snapshot(s) }

func TestStatusEndpoint(t *testing.T) {
	t0 := time.Date(2024, 6, 10, 17, 5, 0, 0, time.UTC)
	iv := energy.IntervalOf(t0, 15*time.Minute)
	prev := energy.Interval{Start: iv.Start.Add(-15 * time.Minute), End: iv.Start}
	s := snap{
		Time: t0, Interval: iv, Price: price.Point{Interval: prev, Price: 42.5}, PriceKnown: true,
		Hashprice: 0.05, SitePower: 900e3, Hashrate: 40000,
		Miners:   map[miner.State]int{miner.StateMining: 280, miner.StateSleeping: 15, miner.StateOffline: 5},
		Plan:     dispatch.Plan{Policy: "breakeven", Reason: "r", Running: 280, Sleeping: 20, Breakeven: 83.4, Power: 910e3},
		Totals:   ledger.Totals{Intervals: 4, Energy: 3.6e6, Cost: 150_250_000, Revenue: 300_000_000, Net: 149_750_000, BTC: 4_600_000_000},
		LastPoll: t0,
		Alerts:   []site.Alert{{Kind: site.AlertStalePrice, Since: t0, Message: "no price"}},
	}
	srv := httptest.NewServer(New(s, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var got Status
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	p := 42.5
	want := Status{
		Time: t0, Interval: &Interval{iv.Start, iv.End}, PriceUSDPerMWh: &p, PriceInterval: &Interval{prev.Start, prev.End},
		BreakevenUSDPerMWh: 83.4, HashpriceUSDPerTHDay: 0.05, SitePowerW: 900e3, PlannedPowerW: 910e3, HashrateTHs: 40000,
		Miners:   map[string]int{"total": 300, "mining": 280, "sleeping": 15, "offline": 5, "waking": 0, "ramping_down": 0, "unknown": 0},
		Plan:     Plan{Policy: "breakeven", Reason: "r", Running: 280, Sleeping: 20},
		Ledger:   Ledger{Intervals: 4, EnergyMWh: 3.6, BTC: 0.046, RevenueUSD: 300, CostUSD: 150.25, NetUSD: 149.75},
		LastPoll: t0,
		Alerts:   []site.Alert{{Kind: site.AlertStalePrice, Since: t0, Message: "no price"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}

func TestStatusBeforeAnyPriceHasNullPrice(t *testing.T) {
	rec := httptest.NewRecorder()
	New(snap{}, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/status", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if v, ok := body["price_usd_per_mwh"]; !ok || v != nil {
		t.Errorf("price_usd_per_mwh = %v (present %v), want null before a price is known", v, ok)
	}
}

func TestUnknownAndWrongMethod(t *testing.T) {
	h := New(snap{}, nil)
	for _, tt := range []struct{ method, path string }{{"GET", "/api/v1/nope"}, {"POST", "/api/v1/status"}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code < 400 || rec.Code >= 500 {
			t.Errorf("%s %s: code %d, want 4xx", tt.method, tt.path, rec.Code)
		}
	}
}
