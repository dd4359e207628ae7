package httpapi

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gridminer/gridminer/internal/shares"
	"github.com/gridminer/gridminer/internal/site"
)

// Fleet is what GET /api/v1/miners reads: the machines as the loop sees
// them and, when the site runs a Stratum proxy, what each submits.
type Fleet struct {
	Miners func() []site.MinerView
	// Measured returns share statistics by the miner's host (IP address,
	// as it connects to the proxy); nil when there is no proxy.
	Measured func() map[string]shares.Stats
}

// MinerBody is one machine in GET /api/v1/miners: what it reports next
// to what its shares measure.
type MinerBody struct {
	ID          string    `json:"id"`
	Model       string    `json:"model"`
	Driver      string    `json:"driver"`
	State       string    `json:"state"`
	PowerW      float64   `json:"power_w"`
	ReportedTHs float64   `json:"reported_ths"`
	Setpoint    string    `json:"setpoint,omitempty"`
	LastSeen    time.Time `json:"last_seen"`
	Offline     string    `json:"offline,omitempty"`
	Measured    *Measured `json:"measured"`
}

// Measured is the hashrate a machine's accepted shares show, with its 95%
// interval, and its share counts.
type Measured struct {
	THs       float64   `json:"ths"`
	LowTHs    float64   `json:"low_ths"`
	HighTHs   float64   `json:"high_ths"`
	Accepted  int       `json:"accepted"`
	Rejected  int       `json:"rejected"`
	Stale     int       `json:"stale"`
	LastShare time.Time `json:"last_share"`
	WindowS   float64   `json:"window_seconds"`
}

func (f *Fleet) routes(mux *http.ServeMux, log *slog.Logger) {
	mux.HandleFunc("GET /api/v1/miners", func(w http.ResponseWriter, r *http.Request) {
		var measured map[string]shares.Stats
		if f.Measured != nil {
			measured = f.Measured()
		}
		out := []MinerBody{}
		for _, m := range f.Miners() {
			b := MinerBody{ID: m.ID, Model: m.Model, Driver: m.Driver, State: string(m.State), PowerW: m.Power.Watts(),
				ReportedTHs: m.Hashrate.THs(), Setpoint: m.Setpoint, LastSeen: m.LastOK.UTC(), Offline: m.Offline}
			host, _, err := net.SplitHostPort(m.ID)
			if err != nil {
				host = m.ID
			}
			if st, ok := measured[host]; ok {
				b.Measured = &Measured{THs: st.Hashrate.THs(), LowTHs: st.Low.THs(), HighTHs: st.High.THs(), Accepted: st.Accepted,
					Rejected: st.Rejected, Stale: st.Stale, LastShare: st.LastShare.UTC(), WindowS: st.Window.Seconds()}
			}
			out = append(out, b)
		}
		writeJSON(w, log, http.StatusOK, out)
	})
}
