package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/backtest"
	"github.com/gridminer/gridminer/internal/datafetch/datafetchtest"
	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/shareddata"
	"github.com/gridminer/gridminer/internal/xlsxtest"
)

// writeHistory writes days of ERCOT NP6-905-CD prices for HB_WEST and
// HB_NORTH from local midnight of first (a daily cycle with an evening
// spike) and a daily BTC file covering them, and returns the paths.
func writeHistory(t *testing.T, first time.Time, days int) (prices, btc string) {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("DeliveryDate,DeliveryHour,DeliveryInterval,SettlementPointName,SettlementPointType,SettlementPointPrice,DSTFlag\n")
	for d := range days {
		day := first.AddDate(0, 0, d)
		for h := 1; h <= 24; h++ {
			for i := 1; i <= 4; i++ {
				p := 25 + 15*math.Sin(float64(h)/24*2*math.Pi)
				if h == 19 {
					p = 900 // an evening scarcity spike
				}
				for _, pt := range []string{"HB_NORTH", "HB_WEST"} {
					fmt.Fprintf(&b, "%s,%d,%d,%s,HU,%.2f,N\n", day.Format("01/02/2006"), h, i, pt, p)
				}
			}
		}
	}
	prices = filepath.Join(dir, "rtm.csv")
	if err := os.WriteFile(prices, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.WriteString("date,height_start,block_count,price_usd,fees_btc,difficulty\n")
	for d := -1; d <= days; d++ {
		day := first.AddDate(0, 0, d)
		fmt.Fprintf(&b, "%s,%d,144,%.2f,20,%.0f\n", day.Format(time.DateOnly), 750000+144*(d+1), 30000.0+100*float64(d), 35e12)
	}
	btc = filepath.Join(dir, "btc.csv")
	if err := os.WriteFile(btc, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return prices, btc
}

// readLedger reads ledger.csv into records by policy, with the column index.
func readLedger(t *testing.T, path string) (map[string][][]string, map[string]int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("ledger.csv: %v", err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	by := map[string][][]string{}
	for _, r := range recs[1:] {
		by[r[col["policy"]]] = append(by[r[col["policy"]]], r)
	}
	return by, col
}

func readSummary(t *testing.T, path string) backtest.Summary {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s backtest.Summary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	return s
}

// checkReconciles sums every money column of ledger.csv per policy and
// matches summary.json exactly (the 4CP and demand charges are period
// charges, in the summary only).
func checkReconciles(t *testing.T, dir string) backtest.Summary {
	t.Helper()
	sum := readSummary(t, filepath.Join(dir, "summary.json"))
	ledger, col := readLedger(t, filepath.Join(dir, "ledger.csv"))
	for _, ps := range sum.Policies {
		rows := ledger[ps.Policy]
		if len(rows) != sum.Intervals {
			t.Fatalf("%s: %d ledger rows, summary says %d intervals", ps.Policy, len(rows), sum.Intervals)
		}
		total := func(name string) int64 {
			var s int64
			for _, r := range rows {
				v, err := strconv.ParseInt(r[col[name]], 10, 64)
				if err != nil {
					t.Fatalf("%s: column %s: %v", ps.Policy, name, err)
				}
				s += v
			}
			return s
		}
		for _, c := range []struct {
			what string
			got  int64
			want int64
		}{
			{"mining revenue", int64(ps.MiningRevenue), total("mining_revenue_micro_usd")},
			{"power cost", int64(ps.PowerCost), total("block_cost_micro_usd") + total("spot_cost_micro_usd")},
			{"resale", int64(ps.Resale), total("resale_credit_micro_usd")},
			{"DR/AS", int64(ps.DRCredit), total("dr_as_credit_micro_usd")},
			{"penalty", int64(ps.Penalty), total("penalty_micro_usd")},
			{"BTC msat", ps.MilliSats, total("btc_msat")},
			{"net", int64(ps.Net), total("net_micro_usd") - int64(ps.FourCPCharge) - int64(ps.DemandCharge)},
			{"net again", int64(ps.Net), total("mining_revenue_micro_usd") + total("resale_credit_micro_usd") + total("export_credit_micro_usd") +
				total("dr_as_credit_micro_usd") + total("ai_value_micro_usd") - total("block_cost_micro_usd") - total("spot_cost_micro_usd") -
				total("penalty_micro_usd") - int64(ps.FourCPCharge) - int64(ps.DemandCharge)},
		} {
			if c.got != c.want {
				t.Errorf("%s %s: summary %d µ$, ledger.csv sums to %d µ$", ps.Policy, c.what, c.got, c.want)
			}
		}
	}
	return sum
}

func TestBacktestWritesReconciledOutputs(t *testing.T) {
	loc := price.ERCOTLocation()
	prices, btc := writeHistory(t, time.Date(2022, 7, 11, 0, 0, 0, 0, loc), 3)
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	root := newRoot()
	root.SetArgs([]string{"backtest", "--prices", prices, "--btc", btc, "--site", "../../examples/site-100mw.yaml",
		"--policy", "always-on", "--policy", "breakeven", "--policy", "oracle", "--out", out})
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("backtest: %v\n%s", err, stdout.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr is not a terminal, yet the backtest wrote to it: %q", stderr.String())
	}
	for _, f := range []string{"summary.json", "ledger.csv", "report.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	sum := checkReconciles(t, out)
	// The period defaults to the prices' span: three local days.
	if sum.Intervals != 3*96 || !sum.From.Equal(time.Date(2022, 7, 11, 0, 0, 0, 0, loc)) {
		t.Errorf("period %s + %d intervals, want the prices' three days", sum.From, sum.Intervals)
	}
	if len(sum.Policies) != 3 {
		t.Fatalf("%d policies", len(sum.Policies))
	}
	always, be, oracle := sum.Policies[0], sum.Policies[1], sum.Policies[2]
	// The $900 evening hour: the breakeven policy curtails it, and resells
	// the idle part of the 60 MW block at spot.
	if be.Resale <= always.Resale || be.Net <= always.Net || be.UptimePct >= always.UptimePct {
		t.Errorf("breakeven %+v vs always-on %+v: want more resale, more net, less uptime", be, always)
	}
	if oracle.NetPctOfOracle == nil || *oracle.NetPctOfOracle != 100 || *be.NetPctOfOracle > 100.0001 {
		t.Errorf("%% of oracle: breakeven %v oracle %v", be.NetPctOfOracle, oracle.NetPctOfOracle)
	}
	for _, want := range []string{"always-on", "breakeven", "oracle", "% of oracle", "summary.json"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, chart := range []string{"price-load", "cumulative-net", "price-duration", "monthly-net", "price-event"} {
		if !bytes.Contains(html, []byte("charts/"+chart+".svg")) {
			t.Errorf("report.html does not show %s", chart)
		}
		for _, ext := range []string{".png", ".svg"} {
			if fi, err := os.Stat(filepath.Join(out, "charts", chart+ext)); err != nil || fi.Size() < 1000 {
				t.Errorf("chart %s%s: %v", chart, ext, err)
			}
		}
	}
}

func TestBacktestProgressBarWhenAsked(t *testing.T) {
	loc := price.ERCOTLocation()
	prices, btc := writeHistory(t, time.Date(2022, 7, 11, 0, 0, 0, 0, loc), 2)
	var stdout, stderr bytes.Buffer
	root := newRoot()
	root.SetArgs([]string{"backtest", "--prices", prices, "--btc", btc, "--site", "../../examples/site-100mw.yaml",
		"--policy", "breakeven", "--out", t.TempDir(), "--progress", "always"})
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "backtest") || !strings.Contains(stderr.String(), "/192)") {
		t.Errorf("--progress always: stderr %q, want a bar counting to 192", stderr.String())
	}
}

func TestBacktestRejectsBadInput(t *testing.T) {
	loc := price.ERCOTLocation()
	prices, btc := writeHistory(t, time.Date(2022, 7, 11, 0, 0, 0, 0, loc), 2)
	dir := t.TempDir()
	data, err := os.ReadFile(prices)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	write := func(name string, lines []string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A gap: drop both hubs' rows of 07/11 hour 10 interval 2.
	var gap []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "07/11/2022,10,2,") {
			gap = append(gap, l)
		}
	}
	bad := append([]string(nil), lines...)
	bad[41] = "07/11/2022,6,1,HB_WEST,HU,twelve,N"
	btcData, err := os.ReadFile(btc)
	if err != nil {
		t.Fatal(err)
	}
	btcLines := strings.Split(strings.TrimSpace(string(btcData)), "\n")
	shortBTC := write("btc-short.csv", btcLines[:len(btcLines)-2])
	base := []string{"backtest", "--site", "../../examples/site-100mw.yaml", "--policy", "breakeven", "--out", filepath.Join(dir, "out")}
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"gap", []string{"--prices", write("gap.csv", gap), "--btc", btc}, []string{"gap", "2022-07-11"}},
		{"malformed row", []string{"--prices", write("bad.csv", bad), "--btc", btc}, []string{"bad.csv:42", "twelve"}},
		{"point absent", []string{"--prices", prices, "--btc", btc, "--point", "HB_NOWHERE"}, []string{"HB_NOWHERE", "HB_WEST"}},
		{"btc short", []string{"--prices", prices, "--btc", shortBTC}, []string{"bitcoin data has no 2022-07-12"}},
		{"no out", []string{"--prices", prices, "--btc", btc, "--out", ""}, []string{"missing --out"}},
		{"progress", []string{"--prices", prices, "--btc", btc, "--progress", "sometimes"}, []string{"--progress"}},
	} {
		var out bytes.Buffer
		err := run(t, context.Background(), &out, append(append([]string(nil), base...), tt.args...)...)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: err %q lacks %q", tt.name, err, w)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "summary.json")); err == nil {
		t.Error("a failed backtest left a summary.json")
	}
}

func TestSweepBlockAndStrike(t *testing.T) {
	loc := price.ERCOTLocation()
	prices, btc := writeHistory(t, time.Date(2022, 7, 11, 0, 0, 0, 0, loc), 2)
	out := t.TempDir()
	var stdout bytes.Buffer
	err := run(t, context.Background(), &stdout, "backtest", "sweep", "--param", "block-mw", "--values", "0,60,100",
		"--prices", prices, "--btc", btc, "--site", "../../examples/site-100mw.yaml", "--policy", "breakeven", "--policy", "always-on", "--out", out)
	if err != nil {
		t.Fatalf("sweep: %v\n%s", err, stdout.String())
	}
	data, err := os.ReadFile(filepath.Join(out, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Points []sweepPoint `json:"points"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Points) != 3 || doc.Points[0].Value != 0 || doc.Points[2].Value != 100 {
		t.Fatalf("points %+v", doc.Points)
	}
	// A $28 block under a ~$25-40 market: more block, less net for the
	// always-on site at these prices? Not necessarily; but the resale
	// credit grows with the block for the curtailing policy, and with no
	// block there is none.
	if r := doc.Points[0].Policies[0].Resale; r != 0 {
		t.Errorf("no block, yet resale %d", r)
	}
	if doc.Points[2].Policies[0].Resale <= doc.Points[1].Policies[0].Resale {
		t.Errorf("resale with 100 MW %d not above 60 MW's %d", doc.Points[2].Policies[0].Resale, doc.Points[1].Policies[0].Resale)
	}
	for _, f := range []string{"sweep.csv", "sweep.html", "charts/sweep.png", "charts/sweep.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	// A strike under the spike keeps the fleet off in the $900 hour; a
	// strike above it runs through it and loses money.
	out2 := t.TempDir()
	stdout.Reset()
	if err := run(t, context.Background(), &stdout, "backtest", "sweep", "--param", "strike", "--range", "100:1100:1000",
		"--prices", prices, "--btc", btc, "--site", "../../examples/site-100mw.yaml", "--policy", "breakeven", "--out", out2); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(out2, "sweep.json"))
	doc.Points = nil
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Points) != 2 || doc.Points[0].Policies[0].Net <= doc.Points[1].Policies[0].Net {
		t.Errorf("strike $100 vs $1100: %+v", doc.Points)
	}
	if doc.Points[1].Policies[0].UptimePct < 99.9 {
		t.Errorf("a $1100 strike curtailed: uptime %.2f%%", doc.Points[1].Policies[0].UptimePct)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--param", "colour", "--values", "1"}, "--param"},
		{[]string{"--param", "strike"}, "exactly one of --values and --range"},
		{[]string{"--param", "strike", "--range", "5:1:1"}, "FROM <= TO"},
		{[]string{"--param", "efficiency-mix", "--values", "1.5"}, "between 0 and 1"},
		{[]string{"--param", "fleet-mw", "--values", "x"}, "not a number"},
	} {
		args := append([]string{"backtest", "sweep", "--prices", prices, "--btc", btc, "--site", "../../examples/site-100mw.yaml", "--policy", "breakeven", "--out", t.TempDir()}, tt.args...)
		if err := run(t, context.Background(), &stdout, args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestSweepFleetAndMix(t *testing.T) {
	loc := price.ERCOTLocation()
	prices, btc := writeHistory(t, time.Date(2022, 7, 11, 0, 0, 0, 0, loc), 1)
	for _, tt := range []struct {
		param, values string
	}{{"fleet-mw", "50,100"}, {"efficiency-mix", "0.2,0.8"}} {
		out := t.TempDir()
		var stdout bytes.Buffer
		if err := run(t, context.Background(), &stdout, "backtest", "sweep", "--param", tt.param, "--values", tt.values,
			"--prices", prices, "--btc", btc, "--site", "../../examples/site-100mw.yaml", "--policy", "always-on", "--out", out); err != nil {
			t.Fatalf("%s: %v", tt.param, err)
		}
		var doc struct {
			Points []sweepPoint `json:"points"`
		}
		data, _ := os.ReadFile(filepath.Join(out, "sweep.json"))
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		a, b := doc.Points[0].Policies[0], doc.Points[1].Policies[0]
		switch tt.param {
		case "fleet-mw":
			// Always-on for a day: the fleet draws its nominal power.
			if math.Abs(a.MWh/24-50) > 1 || math.Abs(b.MWh/24-100) > 1 {
				t.Errorf("fleet-mw 50 and 100: %.1f and %.1f MW average", a.MWh/24, b.MWh/24)
			}
		case "efficiency-mix":
			// Same power, more of it in S19 XPs: more bitcoin.
			if math.Abs(a.MWh-b.MWh) > 0.02*a.MWh || b.BTC <= a.BTC {
				t.Errorf("mix 0.2 vs 0.8: %.1f vs %.1f MWh, %.4f vs %.4f BTC", a.MWh, b.MWh, a.BTC, b.BTC)
			}
		}
	}
}

// TestBacktestUriOnRealData runs the README's example over Winter Storm
// Uri on the shared 2021 data and reconciles it.
func TestBacktestUriOnRealData(t *testing.T) {
	prices := shareddata.Path(t, "ercot/rtm_spp_hubs_2021.csv.gz")
	btc := shareddata.Path(t, "btc/btc_daily.csv")
	out := t.TempDir()
	var stdout bytes.Buffer
	err := run(t, context.Background(), &stdout, "backtest", "--prices", prices, "--point", "HB_WEST", "--btc", btc,
		"--site", "../../examples/site-100mw.yaml", "--policy", "always-on", "--policy", "breakeven", "--policy", "oracle",
		"--from", "2021-02-10", "--to", "2021-02-20", "--out", out)
	if err != nil {
		t.Fatalf("backtest: %v\n%s", err, stdout.String())
	}
	sum := checkReconciles(t, out)
	always, be, oracle := sum.Policies[0], sum.Policies[1], sum.Policies[2]
	if always.Net >= 0 || be.Net <= 0 || oracle.Net < be.Net {
		t.Errorf("Uri: always-on %d, breakeven %d, oracle %d µ$: want a loss, a profit, and the oracle on top", always.Net, be.Net, oracle.Net)
	}
	// The ledger's largest price is Uri's, above the $9,000 cap with adders.
	ledger, col := readLedger(t, filepath.Join(out, "ledger.csv"))
	hi := 0.0
	for _, r := range ledger["oracle"] {
		p, _ := strconv.ParseFloat(r[col["price_usd_per_mwh"]], 64)
		hi = math.Max(hi, p)
	}
	if hi < 9000 {
		t.Errorf("highest price %v, want Uri's ≥ $9,000", hi)
	}
}

// TestBacktestReadsEveryPriceFormat runs one backtest from the same prices
// in each format --prices reads: ERCOT's NP6-905-CD CSV, the report 13061
// workbook zip as 'data fetch ercot-rtm' downloads it from a local replay
// of ERCOT's MIS, and a generic time,price CSV. Every run must settle to
// the same micro-dollar.
func TestBacktestReadsEveryPriceFormat(t *testing.T) {
	loc := price.ERCOTLocation()
	first := time.Date(2022, 7, 11, 0, 0, 0, 0, loc)
	prices, btc := writeHistory(t, first, 2)
	dir := t.TempDir()
	recs, err := csv.NewReader(strings.NewReader(mustRead(t, prices))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}

	// The same rows as a 13061 workbook, in the zip ERCOT serves.
	rows := [][]any{{"Delivery Date", "Delivery Hour", "Delivery Interval", "Repeated Hour Flag", "Settlement Point Name", "Settlement Point Type", "Settlement Point Price"}}
	var generic strings.Builder
	generic.WriteString("time,price\n")
	for _, r := range recs[1:] {
		h, _ := strconv.Atoi(r[1])
		iv, _ := strconv.Atoi(r[2])
		p, _ := strconv.ParseFloat(r[5], 64)
		rows = append(rows, []any{r[0], h, iv, r[6], r[3], r[4], p})
		if r[3] == "HB_WEST" {
			d, _ := time.ParseInLocation("01/02/2006", r[0], loc)
			st := d.Add(time.Duration(h-1)*time.Hour + time.Duration(iv-1)*15*time.Minute)
			fmt.Fprintf(&generic, "%s,%s\n", st.Format(time.RFC3339), r[5])
		}
	}
	book := xlsxtest.Bytes(t, xlsxtest.Sheet{Name: "Jul", Rows: rows})
	mis := httptest.NewServer(&datafetchtest.ERCOT{ReportTypeID: 13061, Docs: []datafetchtest.ERCOTDoc{{
		DocID: "900000001", FriendlyName: "RTMLZHBSPP_2022", ConstructedName: "rpt.00013061.0000000000000000.RTMLZHBSPP_2022.zip",
		PublishDate: time.Date(2023, 1, 5, 12, 0, 0, 0, time.UTC),
		Body:        datafetchtest.ZipOf(t, map[string][]byte{"rpt.00013061.0000000000000000.RTMLZHBSPP_2022.xlsx": book})}}})
	defer mis.Close()
	zipPath := filepath.Join(dir, "ercot_rtm_2022.zip")
	var out bytes.Buffer
	if err := run(t, context.Background(), &out, "data", "fetch", "ercot-rtm", "--year", "2022", "--out", zipPath, "--base-url", mis.URL); err != nil {
		t.Fatalf("fetch: %v\n%s", err, out.String())
	}
	genericPath := filepath.Join(dir, "west.csv")
	if err := os.WriteFile(genericPath, []byte(generic.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	var nets []string
	for _, p := range []string{prices, zipPath, genericPath} {
		o := filepath.Join(dir, filepath.Base(p)+"-out")
		out.Reset()
		if err := run(t, context.Background(), &out, "backtest", "--prices", p, "--btc", btc, "--site", "../../examples/site-100mw.yaml",
			"--policy", "breakeven", "--out", o); err != nil {
			t.Fatalf("backtest --prices %s: %v", filepath.Base(p), err)
		}
		sum := readSummary(t, filepath.Join(o, "summary.json"))
		if sum.Intervals != 192 {
			t.Errorf("%s: %d intervals", filepath.Base(p), sum.Intervals)
		}
		if want := map[bool]string{true: "time,price", false: "HB_WEST"}[p == genericPath]; sum.Point != want {
			t.Errorf("%s: summary point %q, want %q", filepath.Base(p), sum.Point, want)
		}
		nets = append(nets, fmt.Sprintf("%d/%d/%d", sum.Policies[0].Net, sum.Policies[0].PowerCost, sum.Policies[0].Resale))
	}
	if nets[0] != nets[1] || nets[0] != nets[2] {
		t.Errorf("net/power cost/resale by format (NP6 CSV, 13061 zip, time,price): %v", nets)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
