package bitcoin

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/shareddata"
)

const dailyHead = "date,height_start,block_count,price_usd,fees_btc,difficulty\n"

func TestReadDaily(t *testing.T) {
	in := dailyHead +
		"2024-04-19,839857,143,63800,35.75,86388558925171.1\n" +
		"2024-04-20,840000,160,64900,160,86388558925171.1\n"
	got, err := ReadDaily(strings.NewReader(in), "test.csv")
	if err != nil {
		t.Fatalf("ReadDaily: %v", err)
	}
	want := []Day{
		{Date: time.Date(2024, 4, 19, 0, 0, 0, 0, time.UTC), HeightStart: 839_857, Blocks: 143, PriceUSD: 63_800, FeesBTC: 35.75, Difficulty: 86388558925171.1},
		{Date: time.Date(2024, 4, 20, 0, 0, 0, 0, time.UTC), HeightStart: 840_000, Blocks: 160, PriceUSD: 64_900, FeesBTC: 160, Difficulty: 86388558925171.1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ReadDaily mismatch (-want +got):\n%s", diff)
	}
	// Fees per block: 35.75 / 143 = 0.25 BTC; 160 / 160 = 1 BTC.
	wantEcon := []Economics{
		{Height: 839_857, Difficulty: 86388558925171.1, PriceUSD: 63_800, FeesPerBlockBTC: 0.25},
		{Height: 840_000, Difficulty: 86388558925171.1, PriceUSD: 64_900, FeesPerBlockBTC: 1},
	}
	for i, d := range got {
		if diff := cmp.Diff(wantEcon[i], d.Economics()); diff != "" {
			t.Errorf("day %d Economics mismatch (-want +got):\n%s", i, diff)
		}
	}
	if got := (Day{FeesBTC: 3}).Economics().FeesPerBlockBTC; got != 0 {
		t.Errorf("fees per block with no blocks = %v, want 0", got)
	}
}

func TestReadDailyErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // substring of the error
	}{
		{"empty", "", "test.csv: empty file"},
		{"wrong header", "date,height,block_count,price_usd,fees_btc,difficulty\n", `test.csv:1: column 2 is "height"`},
		{"short row", dailyHead + "2021-01-01,1,2,3\n", "line 2"},
		{"bad date", dailyHead + "01/01/2021,1,2,3,4,5\n", `test.csv:2: date "01/01/2021"`},
		{"bad height", dailyHead + "2021-01-01,x,2,3,4,5\n", `test.csv:2: height_start "x"`},
		{"negative blocks", dailyHead + "2021-01-01,1,-2,3,4,5\n", "test.csv:2: block_count -2"},
		{"zero price", dailyHead + "2021-01-01,1,2,0,4,5\n", "test.csv:2: price_usd 0"},
		{"NaN fees", dailyHead + "2021-01-01,1,2,3,NaN,5\n", `test.csv:2: fees_btc "NaN"`},
		{"negative fees", dailyHead + "2021-01-01,1,2,3,-4,5\n", "test.csv:2: fees_btc -4"},
		{"Inf difficulty", dailyHead + "2021-01-01,1,2,3,4,Inf\n", `test.csv:2: difficulty "Inf"`},
		{"repeated date", dailyHead + "2021-01-01,1,2,3,4,5\n2021-01-01,3,2,3,4,5\n", "test.csv:3: date 2021-01-01 does not follow 2021-01-01"},
		{"date going back", dailyHead + "2021-01-02,1,2,3,4,5\n2021-01-01,3,2,3,4,5\n", "test.csv:3: date 2021-01-01 does not follow"},
	}
	for _, tt := range tests {
		_, err := ReadDaily(strings.NewReader(tt.in), "test.csv")
		if err == nil {
			t.Errorf("%s: ReadDaily accepted %q", tt.name, tt.in)
			continue
		}
		if !errors.Is(err, ErrBadDaily) {
			t.Errorf("%s: err = %v, want ErrBadDaily", tt.name, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %q, want it to contain %q", tt.name, err, tt.want)
		}
	}
	days, err := ReadDaily(strings.NewReader(dailyHead), "test.csv")
	if err != nil || len(days) != 0 {
		t.Errorf("header only: got %v, %v; want no days, no error", days, err)
	}
}

// TestRealDaily reads the project's real daily economics file.
func TestRealDaily(t *testing.T) {
	path := shareddata.Path(t, "btc/btc_daily.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	days, err := ReadDaily(f, path)
	if err != nil {
		t.Fatalf("ReadDaily(%s): %v", path, err)
	}
	if len(days) < 1000 {
		t.Fatalf("got %d days, want the 2020-01-01..2023-01-07 series (>1000)", len(days))
	}
	byDate := make(map[string]Day, len(days))
	for i, d := range days {
		byDate[d.Date.Format(time.DateOnly)] = d
		// Heights chain: each day starts where the previous one ended.
		if i > 0 && days[i-1].Date.AddDate(0, 0, 1).Equal(d.Date) {
			if got, want := d.HeightStart, days[i-1].HeightStart+int64(days[i-1].Blocks); got != want {
				t.Errorf("%s: height_start = %d, want %d", d.Date.Format(time.DateOnly), got, want)
			}
		}
		if err := d.Economics().Validate(); err != nil {
			t.Errorf("%s: %v", d.Date.Format(time.DateOnly), err)
		}
	}
	tests := []struct {
		date             string
		subsidy          int64
		minPerPH, maxPer float64 // plausible hashprice band, $/PH/s/day
	}{
		// 2020-05-01: before the 2020 halving (height 630,000 on 2020-05-11).
		{"2020-05-01", 1_250_000_000, 80, 250},
		// 2021-01-01: height 663,914, difficulty 18.6 T, BTC $29,381, fees
		// 48.65/149 = 0.3265 BTC per block: 86400e12/(18.5996e12·2^32) =
		// 1.0816e-6 blocks × 6.5765 BTC × $29,381 ≈ $209/PH/day.
		{"2021-01-01", 625_000_000, 150, 300},
		// 2022-11-21: the FTX-collapse trough, hashprice near $60/PH/day.
		{"2022-11-21", 625_000_000, 40, 90},
	}
	for _, tt := range tests {
		d, ok := byDate[tt.date]
		if !ok {
			t.Errorf("%s: no row", tt.date)
			continue
		}
		e := d.Economics()
		if got := SubsidySats(e.Height); got != tt.subsidy {
			t.Errorf("%s: subsidy = %d sat, want %d", tt.date, got, tt.subsidy)
		}
		if got := e.Hashprice().PerPHDay(); got < tt.minPerPH || got > tt.maxPer {
			t.Errorf("%s: hashprice = $%.2f/PH/day, want within [%v, %v]", tt.date, got, tt.minPerPH, tt.maxPer)
		}
	}
}

func FuzzReadDaily(f *testing.F) {
	f.Add(dailyHead + "2021-01-01,663914,149,29380.6937327878,48.65132609,18599593048299.49\n")
	f.Add(dailyHead + "2024-04-20,840000,160,64900,160,86388558925171.1\n2024-04-21,840160,150,64900,20,86388558925171.1\n")
	f.Add(dailyHead)
	f.Add("")
	f.Add("\ufeff" + dailyHead + "2021-01-01,1,0,1,0,1\r\n")
	f.Add(dailyHead + "2021-01-01,\"1\",2,3,4,5\n")
	f.Add(dailyHead + "2021-01-01,1,2,3,4,1e400\n")
	f.Add(dailyHead + "2021-01-01,99999999999999999999,2,3,4,5\n")
	f.Fuzz(func(t *testing.T, in string) {
		days, err := ReadDaily(strings.NewReader(in), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrBadDaily) {
				t.Fatalf("error %v does not wrap ErrBadDaily", err)
			}
			return
		}
		for i, d := range days {
			if err := d.Economics().Validate(); err != nil {
				t.Fatalf("accepted day %d does not validate: %v", i, err)
			}
			if i > 0 && !d.Date.After(days[i-1].Date) {
				t.Fatalf("accepted days out of order at %d", i)
			}
			if d.Date.Location() != time.UTC {
				t.Fatalf("day %d not in UTC", i)
			}
			_ = d.Economics().Hashprice()
		}
	})
}
