package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/shares"
	"github.com/gridminer/gridminer/internal/site"
)

// TestMinersShowMeasuredNextToReported: a machine's reported hashrate sits
// beside what its shares at the proxy measure (matched by its IP address);
// a machine the proxy has not seen has no measurement.
func TestMinersShowMeasuredNextToReported(t *testing.T) {
	t0 := time.Date(2026, 8, 3, 20, 0, 0, 0, time.UTC)
	views := []site.MinerView{
		{ID: "10.0.0.7:4028", Model: "S19j Pro", Driver: "luxos", State: miner.StateMining, Power: 3050, Hashrate: 104, LastOK: t0},
		{ID: "10.0.0.8:4028", Model: "S19j Pro", Driver: "luxos", State: miner.StateMining, Power: 3050, Hashrate: 104, LastOK: t0},
	}
	measured := map[string]shares.Stats{"10.0.0.7": {Accepted: 210, Stale: 1, Hashrate: 98, Low: 85, High: 112, Shares: 210, Window: 10 * time.Minute, LastShare: t0}}
	srv := httptest.NewServer(New(snap{}, nil, WithFleet(&Fleet{Miners: func() []site.MinerView { return views },
		Measured: func() map[string]shares.Stats { return measured }})))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/miners")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []MinerBody
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ReportedTHs != 104 || got[0].Measured == nil || got[0].Measured.THs != 98 ||
		got[0].Measured.LowTHs != 85 || got[0].Measured.Accepted != 210 || got[1].Measured != nil {
		t.Errorf("miners %+v", got)
	}
}
