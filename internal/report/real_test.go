package report

import (
	"os"
	"testing"

	"github.com/gridminer/gridminer/internal/backtest"
	"github.com/gridminer/gridminer/internal/price/ercot"
	"github.com/gridminer/gridminer/internal/shareddata"
)

// TestRealYear renders the report for real HB_WEST 2021 prices (Winter
// Storm Uri included) with synthetic loads. Set GRIDMINER_REPORT_DIR to
// keep the output for looking at it.
func TestRealYear(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a year of real prices; skipped with -short")
	}
	path := shareddata.Path(t, "ercot/rtm_spp_hubs_2021.csv.gz")
	s, err := ercot.OpenSPP(path, "HB_WEST")
	if err != nil {
		t.Fatal(err)
	}
	ps := make([]float64, len(s))
	for i, p := range s {
		ps[i] = float64(p.Price)
	}
	start := s[0].Interval.Start
	in := Input{
		Title:         "west-texas-100mw · HB_WEST · 2021 (synthetic loads)",
		Results:       []backtest.Result{synth(t, alwaysOn, start, ps), synth(t, cut60, start, ps), synth(t, oracleRule, start, ps)},
		Breakeven:     hashValue,
		BreakevenNote: "synthetic: a flat $55 of mining revenue per MWh",
		Notes:         []string{"prices: ERCOT RTM SPP HB_WEST 2021", "loads are synthetic: always on; off above $60/MWh; off above $55/MWh"},
	}
	dir := os.Getenv("GRIDMINER_REPORT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	paths, err := Write(dir, in)
	if err != nil {
		t.Fatal(err)
	}
	checkOutputs(t, dir, paths, len(in.Results))
	ev := largestEvent(in.Results[0].Rows, in.Breakeven, loc(t))
	// Winter Storm Uri: ERCOT held prices at the $9,000 cap from the night
	// of Feb 15 to the morning of Feb 19, 2021.
	if got := ev.Day.Format("2006-01-02"); got < "2021-02-14" || got > "2021-02-19" {
		t.Errorf("largest event on %s, want a day of Winter Storm Uri (Feb 14-19 2021)", got)
	}
}
