package ercot

import (
	"os"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/price"
	"github.com/gridminer/gridminer/internal/shareddata"
)

// realFile returns the path of a file in the shared ERCOT data directory,
// skipping the test when it is absent.
func realFile(tb testing.TB, name string) string {
	tb.Helper()
	return shareddata.Path(tb, "ercot/"+name)
}

func TestRealYears(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a year of real prices; skipped with -short")
	}
	tests := []struct {
		year     int
		wantN    int
		springFw time.Time // local date of the spring-forward day
		fallBack time.Time
	}{
		{2020, 35136, date(2020, 3, 8), date(2020, 11, 1)},
		{2021, 35040, date(2021, 3, 14), date(2021, 11, 7)},
	}
	for _, tt := range tests {
		t.Run(time.Date(tt.year, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006"), func(t *testing.T) {
			path := realFile(t, "rtm_spp_hubs_"+time.Date(tt.year, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006")+".csv.gz")
			s := mustOpen(t, path, "HB_WEST")
			if got := len(s); got != tt.wantN {
				t.Errorf("HB_WEST points = %d, want %d", got, tt.wantN)
			}
			// The local year: 00:00 CST Jan 1 to 00:00 CST Jan 1 next year.
			checkContiguous(t, s, time.Date(tt.year, 1, 1, 6, 0, 0, 0, time.UTC), time.Date(tt.year+1, 1, 1, 6, 0, 0, 0, time.UTC))
			for _, d := range []struct {
				day  time.Time
				want int
			}{{tt.springFw, 92}, {tt.fallBack, 100}, {tt.springFw.AddDate(0, 0, 1), 96}} {
				from, to := localDay(d.day)
				if got := len(s.Between(from, to)); got != d.want {
					t.Errorf("points on %s = %d, want %d", d.day.Format("2006-01-02"), got, d.want)
				}
			}
		})
	}
}

func TestRealUri(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a year of real prices; skipped with -short")
	}
	s := mustOpen(t, realFile(t, "rtm_spp_hubs_2021.csv.gz"), "HB_WEST")
	from, _ := localDay(date(2021, 2, 15))
	_, to := localDay(date(2021, 2, 18))
	var max float64
	over9000 := 0
	for _, p := range s.Between(from, to) {
		v := p.Price.USDPerMWh()
		if v > max {
			max = v
		}
		if v > 9000 {
			over9000++
		}
	}
	if max < 9000 || over9000 == 0 {
		t.Errorf("Uri Feb 15-18 2021: max %v, %d intervals over $9,000; want prices above the $9,000 cap kept unclamped", max, over9000)
	}
	t.Logf("Uri: max $%.2f/MWh, %d intervals over $9,000", max, over9000)
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// localDay returns the UTC span of an ERCOT delivery day given as a date.
func localDay(d time.Time) (time.Time, time.Time) {
	loc := price.ERCOTLocation()
	from := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
	to := time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
	return from.UTC(), to.UTC()
}

func BenchmarkOpenSPP2021(b *testing.B) {
	path := realFile(b, "rtm_spp_hubs_2021.csv.gz")
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size()) // compressed bytes read per op
	b.ReportAllocs()
	for b.Loop() {
		s, err := OpenSPP(path, "HB_WEST")
		if err != nil {
			b.Fatal(err)
		}
		if len(s) != 35040 {
			b.Fatalf("points = %d", len(s))
		}
	}
}
