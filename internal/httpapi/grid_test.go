package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/demand/manual"
	"github.com/gridminer/gridminer/internal/site"
)

// TestGridCallsRoundTrip: an operator's call posted to the API is in the
// manual source (and so in the site's events) and in GET /api/v1/grid;
// bad calls get 400 naming the field; a cancel ends it.
func TestGridCallsRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 8, 3, 20, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	calls, err := manual.New(manual.Config{Path: filepath.Join(t.TempDir(), "calls.yaml")}, manual.Deps{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	s := snap{Time: t0, Grid: demand.Constraint{Cap: 40e6, HasCap: true, Events: []string{"manual/c1"}, Reason: "cap 40 MW (manual/c1)"},
		Meter: site.MeterState{Sample: site.MeterSample{Time: t0, Import: 41e6}, OK: true, Excess: 1e6}}
	srv := httptest.NewServer(New(s, nil, WithGrid(&Grid{Events: calls.Events, Calls: calls, Now: clk.Now})))
	defer srv.Close()
	post := func(body string) (*http.Response, map[string]any) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/api/v1/grid/calls", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}
	resp, got := post(`{"id":"c1","kind":"cap","mw":40,"end":"2026-08-03T22:00:00Z","reason":"ERCOT voluntary LFL call"}`)
	if resp.StatusCode != http.StatusCreated || got["key"] != "manual/c1" || got["power_w"] != 4e7 || got["status"] != "active" {
		t.Fatalf("post: %d %v", resp.StatusCode, got)
	}
	if evs := calls.Events(); len(evs) != 1 || evs[0].Power != 40e6 || !evs[0].End.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("manual source after the post: %+v", evs)
	}
	for body, want := range map[string]string{
		`{"kind":"cap"}`:              "needs mw",
		`{"kind":"shed","mw":1}`:      "kind",
		`{"kind":"level","level":7}`:  "level",
		`{"kind":"cap","mw":-5}`:      "mw",
		`{"kind":"cap","mw":1,"x":1}`: "unknown field",
		`not json`:                    "call",
	} {
		resp, got := post(body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(got["error"].(string), want) {
			t.Errorf("%s: %d %v, want 400 naming %q", body, resp.StatusCode, got, want)
		}
	}
	if resp, _ := post(`{"id":"c1","kind":"cap","mw":10}`); resp.StatusCode != http.StatusConflict {
		t.Errorf("duplicate id: %d", resp.StatusCode)
	}
	r, err := http.Get(srv.URL + "/api/v1/grid")
	if err != nil {
		t.Fatal(err)
	}
	var gs GridStatus
	if err := json.NewDecoder(r.Body).Decode(&gs); err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if gs.Constraint.CapW == nil || *gs.Constraint.CapW != 40e6 || len(gs.Events) != 1 || gs.Events[0].Status != "active" || gs.Meter == nil || gs.Meter.Excess != 1e6 {
		t.Errorf("grid status %+v", gs)
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/api/v1/grid/calls/c1", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !calls.Events()[0].Cancelled {
		t.Errorf("cancel: %d, %+v", resp.StatusCode, calls.Events())
	}
	req, _ = http.NewRequest(http.MethodDelete, srv.URL+"/api/v1/grid/calls/nope", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("cancel unknown: %v %v", resp.StatusCode, err)
	}
}
