package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/datafetch/datafetchtest"
)

func TestDataFetchAgainstLocalServers(t *testing.T) {
	dir := t.TempDir()

	// ERCOT's MIS with two years listed.
	zip2021 := datafetchtest.RTMZip(t, 2021)
	mis := httptest.NewServer(&datafetchtest.ERCOT{ReportTypeID: 13061, Docs: []datafetchtest.ERCOTDoc{
		{DocID: "744903251", FriendlyName: "RTMLZHBSPP_2020", ConstructedName: "rpt.00013061.0000000000000000.RTMLZHBSPP_2020.zip",
			PublishDate: time.Date(2021, 1, 6, 17, 20, 5, 0, time.UTC), Body: datafetchtest.RTMZip(t, 2020)},
		{DocID: "823517760", FriendlyName: "RTMLZHBSPP_2021", ConstructedName: "rpt.00013061.0000000000000000.RTMLZHBSPP_2021.zip",
			PublishDate: time.Date(2022, 2, 14, 15, 3, 58, 0, time.UTC), Body: zip2021},
	}})
	defer mis.Close()
	var out bytes.Buffer
	zipPath := filepath.Join(dir, "rtm.zip")
	if err := run(t, context.Background(), &out, "data", "fetch", "ercot-rtm", "--year", "2021", "--out", zipPath, "--base-url", mis.URL); err != nil {
		t.Fatalf("ercot-rtm: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	if got, err := os.ReadFile(zipPath); err != nil || !bytes.Equal(got, zip2021) {
		t.Errorf("%s: %d bytes (%v), want the %d served", zipPath, len(got), err, len(zip2021))
	}
	for _, want := range []string{"listing documents of report type 13061", "saved " + zipPath, "RTMLZHBSPP_2021 (doc 823517760, published 2022-02-14)",
		"workbook rpt.00013061.0000000000000000.RTMLZHBSPP_2021.xlsx"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("ercot-rtm output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	err := run(t, context.Background(), &out, "data", "fetch", "ercot-rtm", "--year", "2016", "--out", filepath.Join(dir, "none.zip"), "--base-url", mis.URL)
	if err == nil || !strings.Contains(err.Error(), "years available: 2020-2021") {
		t.Errorf("ercot-rtm --year 2016: %v, want the years available", err)
	}

	// Coin Metrics (two pages) and mempool, over four days with a
	// difficulty adjustment on the second.
	day := func(s string, hs, n int64, price, fees string) datafetchtest.Day {
		d, _ := time.Parse(time.DateOnly, s)
		return datafetchtest.Day{Date: d, HeightStart: hs, Blocks: n, PriceUSD: price, FeesBTC: fees}
	}
	days := []datafetchtest.Day{
		day("2022-02-28", 725856, 144, "43500", "10"),
		day("2022-03-01", 726000, 144, "43000.5", "10.25"),
		day("2022-03-02", 726144, 150, "44000.25", "12.5"),
		day("2022-03-03", 726294, 140, "42000.125", "9.75"),
		day("2022-03-04", 726434, 146, "39000", "11"),
	}
	cm := httptest.NewServer(&datafetchtest.CoinMetrics{Days: days, PageSize: 2})
	defer cm.Close()
	mp := httptest.NewServer(&datafetchtest.Mempool{
		Adjustments: []datafetchtest.Adjustment{
			{Time: time.Date(2022, 2, 20, 12, 0, 0, 0, time.UTC), Height: 724176, Difficulty: 27000000000000.5},
			{Time: time.Date(2022, 3, 2, 18, 30, 0, 0, time.UTC), Height: 726192, Difficulty: 27500000000000.25},
		},
		Blocks: datafetchtest.BlocksFromDays(days),
	})
	defer mp.Close()
	out.Reset()
	csvPath := filepath.Join(dir, "btc", "btc_daily.csv")
	if err := run(t, context.Background(), &out, "data", "fetch", "btc", "--from", "2022-03-01", "--to", "2022-03-04", "--out", csvPath,
		"--coinmetrics-url", cm.URL+"/v4", "--mempool-url", mp.URL, "--timeout", "1m"); err != nil {
		t.Fatalf("btc: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	for _, want := range []string{"page 2: 2 day(s)", "saved " + csvPath + ": 4 days 2022-03-01 to 2022-03-04, heights 726000 to 726579, checked against 1 difficulty adjustment(s)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("btc output lacks %q:\n%s", want, out.String())
		}
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := bitcoin.ReadDaily(f, csvPath)
	if err != nil {
		t.Fatal(err)
	}
	date := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	want := []bitcoin.Day{
		{Date: date("2022-03-01"), HeightStart: 726000, Blocks: 144, PriceUSD: 43000.5, FeesBTC: 10.25, Difficulty: 27000000000000.5},
		{Date: date("2022-03-02"), HeightStart: 726144, Blocks: 150, PriceUSD: 44000.25, FeesBTC: 12.5, Difficulty: 27000000000000.5},
		{Date: date("2022-03-03"), HeightStart: 726294, Blocks: 140, PriceUSD: 42000.125, FeesBTC: 9.75, Difficulty: 27500000000000.25},
		{Date: date("2022-03-04"), HeightStart: 726434, Blocks: 146, PriceUSD: 39000, FeesBTC: 11, Difficulty: 27500000000000.25},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", csvPath, diff)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"data", "fetch", "btc", "--from", "2022-03-01"}, "missing --from or --to"},
		{[]string{"data", "fetch", "btc", "--from", "2022-3-1", "--to", "2022-03-04"}, `--from "2022-3-1": want YYYY-MM-DD`},
		{[]string{"data", "fetch", "ercot-rtm"}, "missing --year"},
	} {
		if err := run(t, context.Background(), &out, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.args, err, tt.want)
		}
	}
}
