package sysload

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/shareddata"
)

var update = flag.Bool("update", false, "rewrite default_model.json from the real 2020–2021 load files")

// realYear reads one year of ERCOT native load, skipping the test when the
// file is absent.
func realYear(tb testing.TB, year int) Series {
	tb.Helper()
	s, err := Open(shareddata.Path(tb, fmt.Sprintf("ercot/original/native_load_hourly_%d.xlsx", year)))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func realYears(tb testing.TB, years ...int) Series {
	tb.Helper()
	var all []Series
	for _, y := range years {
		all = append(all, realYear(tb, y))
	}
	s, err := Merge(all...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestRealNativeLoad(t *testing.T) {
	tests := []struct {
		year         int
		hours        int
		spring, fall time.Time // local DST days
		want         map[time.Time]float64
	}{
		{2020, 8784, localDate(2020, 3, 8), localDate(2020, 11, 1), map[time.Time]float64{
			utc(2020, 1, 1, 6):  36824.115099000002, // row 2: 01/01/2020 01:00
			utc(2020, 3, 8, 8):  33265.497285999998, // row 1612: 03/08/2020 04:00 (03:00 CDT)
			utc(2020, 11, 1, 6): 30650.118113,       // row 7322: 11/01/2020 02:00
			utc(2020, 11, 1, 7): 30232.558551999999, // row 7323: 11/01/2020 02:00 DST
		}},
		{2021, 8760, localDate(2021, 3, 14), localDate(2021, 11, 7), map[time.Time]float64{
			utc(2021, 2, 15, 1): 69692.485102999999, // row 1077: 02/14/2021 20:00, the February peak (Uri)
			utc(2021, 3, 14, 7): 32296.896734999998, // row 1731: 03/14/2021 02:00
			utc(2021, 3, 14, 8): 31390.578169,       // row 1732: 03/14/2021 04:00
			utc(2021, 11, 7, 7): 32661.760943000001, // row 7443: 11/07/2021 02:00 DST
		}},
		{2022, 8760, localDate(2022, 3, 13), localDate(2022, 11, 6), map[time.Time]float64{
			utc(2022, 7, 20, 21): 80037.836007000005, // row 4817: 07/20/2022 17:00
			utc(2022, 11, 6, 7):  34067.955296,       // row 7419: 11/06/2022 02:00 DST
			utc(2022, 12, 1, 6):  42313.989670000003, // row 8018: a date-time serial cell, 12/01/2022 01:00
			utc(2023, 1, 1, 5):   36399.307917999999, // row 8761: 12/31/2022 24:00
		}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.year), func(t *testing.T) {
			s := realYear(t, tt.year)
			if len(s) != tt.hours {
				t.Errorf("%d hours, want %d", len(s), tt.hours)
			}
			from := time.Date(tt.year, 1, 1, 0, 0, 0, 0, market).UTC()
			for i, p := range s {
				want := from.Add(time.Duration(i) * time.Hour)
				if !p.Interval.Start.Equal(want) || p.Interval.Duration() != time.Hour {
					t.Fatalf("point %d is %v, want the hour starting %v (contiguous local year)", i, p.Interval, want)
				}
			}
			for start, want := range tt.want {
				i := int(start.Sub(from) / time.Hour)
				if i < 0 || i >= len(s) || s[i].MW != want {
					t.Errorf("hour starting %v: got point %d %+v, want %v MW", start, i, s[min(max(i, 0), len(s)-1)], want)
				}
			}
			for _, d := range []struct {
				day   time.Time
				hours int
			}{{tt.spring, 23}, {tt.fall, 25}, {tt.fall.AddDate(0, 0, 1), 24}} {
				n := 0
				end := d.day.AddDate(0, 0, 1)
				for _, p := range s {
					if !p.Interval.Start.Before(d.day) && p.Interval.Start.Before(end) {
						n++
					}
				}
				if n != d.hours {
					t.Errorf("%s has %d hours, want %d", d.day.Format("2006-01-02"), n, d.hours)
				}
			}
		})
	}
}

func localDate(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, market) }

func TestRealMonthlyPeaks(t *testing.T) {
	got := MonthlyPeaks(realYear(t, 2022), FourCPMonths())
	want := []Peak{ // read from the workbook: the hour-ending 17:00 rows 4169, 4817, 5129, 6305
		{hr(utc(2022, 6, 23, 21), 0).Interval, 76680.594844000007},
		{hr(utc(2022, 7, 20, 21), 0).Interval, 80037.836007000005},
		{hr(utc(2022, 8, 2, 21), 0).Interval, 78465.417333999998},
		{hr(utc(2022, 9, 20, 21), 0).Interval, 71036.963354000007},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("2022 4CP-month peaks = %v, want %v", got, want)
	}
}

// TestDefaultMatchesRefit refits the model on the real 2020–2021 load and
// checks that Default holds those parameters; -update rewrites the
// embedded file instead.
func TestDefaultMatchesRefit(t *testing.T) {
	m, err := Fit(realYears(t, 2020, 2021), FourCPMonths())
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("default_model.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("rewrote default_model.json")
		return
	}
	got, want := flatten(Default()), flatten(m)
	if len(got) != len(want) {
		t.Fatalf("Default has %d numbers, refit %d", len(got), len(want))
	}
	for i := range want {
		// Floating-point results may differ in the last bits across
		// platforms (fused multiply-add); anything more is a real change.
		if math.Abs(got[i]-want[i]) > 1e-9*math.Max(1, math.Abs(want[i])) {
			t.Errorf("parameter %d: Default %v, refit %v (run go test ./internal/sysload -run TestDefaultMatchesRefit -update if Fit changed on purpose)", i, got[i], want[i])
		}
	}
}

// flatten lists every number of a model in a fixed order.
func flatten(m Model) []float64 {
	var out []float64
	for _, mo := range m.Months {
		out = append(out, float64(mo))
	}
	out = append(out, float64(m.LevelDays))
	out = append(out, m.RampMW[:]...)
	out = append(out, m.RampSigmaMW[:]...)
	out = append(out, m.DayTrend[:]...)
	out = append(out, m.WeekdayOffset[:]...)
	return append(out, m.DaySpread, m.DayCorrelation, m.ForecastSpread, m.Intercept, m.Slope, m.FlagThreshold)
}

// TestRealOutOfSample fits on 2020–2021 (June–September) and scores 2022,
// which the fit never saw, at the model's own FlagThreshold.
//
// Measured when written (default model, threshold 8.8e-5): 2020 flags 100
// of 2,928 hours, 2021 flags 128 (both in sample), 2022 flags 149 (out of
// sample); every year catches all 4 peaks. The 2022 bound below (200 hours,
// about 7 % of the summer) leaves room for harmless refits but fails if the
// model gets materially worse; catching all four 2022 peaks is the point.
func TestRealOutOfSample(t *testing.T) {
	if testing.Short() {
		t.Skip("fits on two years of real load; skipped with -short")
	}
	all := realYears(t, 2020, 2021, 2022)
	train := realYears(t, 2020, 2021)
	m, err := Fit(train, FourCPMonths())
	if err != nil {
		t.Fatal(err)
	}
	years := map[int]Series{}
	for _, y := range []int{2020, 2021, 2022} {
		// Each year keeps the days before June, so its first days have a level.
		from, to := time.Date(y, 1, 1, 0, 0, 0, 0, market), time.Date(y+1, 1, 1, 0, 0, 0, 0, market)
		for _, p := range all {
			if !p.Interval.Start.Before(from) && p.Interval.Start.Before(to) {
				years[y] = append(years[y], p)
			}
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "hours flagged / peaks caught (of 4) by threshold; fitted FlagThreshold = %.3g\n", m.FlagThreshold)
	fmt.Fprintf(&table, "%-9s %-22s", "year", "at FlagThreshold")
	thresholds := []float64{1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1}
	for _, thr := range thresholds {
		fmt.Fprintf(&table, " %9g", thr)
	}
	table.WriteString("\n")
	for _, y := range []int{2020, 2021, 2022} {
		sc := m.Score(years[y], FourCPMonths(), m.FlagThreshold)
		label := fmt.Sprintf("%d in", y)
		if y == 2022 {
			label = fmt.Sprintf("%d OUT", y)
		}
		fmt.Fprintf(&table, "%-9s %4d h / %d caught      ", label, sc.HoursFlagged, sc.PeaksCaught)
		for _, thr := range thresholds {
			s := m.Score(years[y], FourCPMonths(), thr)
			fmt.Fprintf(&table, " %5d / %d", s.HoursFlagged, s.PeaksCaught)
		}
		table.WriteString("\n")
		if sc.Peaks != 4 || sc.PeaksCaught != 4 {
			t.Errorf("%d: caught %d of %d peaks at FlagThreshold, want 4 of 4:\n%s", y, sc.PeaksCaught, sc.Peaks, sc)
		}
		if y == 2022 {
			if sc.HoursFlagged > 200 {
				t.Errorf("2022 (out of sample): %d hours flagged, want at most 200 (measured 149):\n%s", sc.HoursFlagged, sc)
			}
			t.Logf("2022 out of sample, per month:\n%s", sc)
		}
	}
	t.Logf("fit on 2020–2021, June–September:\n%s", table.String())
}

// TestRealRisksMatchRiskOnPrefix checks on real load that each hour's
// risk depends only on what was known before it.
func TestRealRisksMatchRiskOnPrefix(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a year of real load; skipped with -short")
	}
	s := realYear(t, 2022)
	m := Default()
	for i, r := range m.Risks(s, FourCPMonths()) {
		if i%13 != 0 {
			continue
		}
		h := r.Hour
		if got := m.Risk(prefix(s, h), nil, h); got != r.Risk {
			t.Fatalf("Risk(prefix, %v) = %v, Risks gave %v", h, got, r.Risk)
		}
	}
}

func BenchmarkOpenNativeLoad2021(b *testing.B) {
	path := shareddata.Path(b, "ercot/original/native_load_hourly_2021.xlsx")
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		s, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if len(s) != 8760 {
			b.Fatalf("%d hours", len(s))
		}
	}
}

// BenchmarkRisks2022 computes the risk of every June–September hour of a
// year (2,928 hours) with the default model.
func BenchmarkRisks2022(b *testing.B) {
	s := realYear(b, 2022)
	m := Default()
	b.ReportAllocs()
	for b.Loop() {
		if r := m.Risks(s, FourCPMonths()); len(r) != 2928 {
			b.Fatalf("%d risks", len(r))
		}
	}
}

// BenchmarkRiskLive is one live decision: the risk of the next hour from a
// year of history and a day of forecast.
func BenchmarkRiskLive(b *testing.B) {
	s := realYear(b, 2022)
	h := time.Date(2022, 7, 20, 16, 0, 0, 0, market).UTC()
	known, fc := prefix(s, h), prefix(s, h.Add(24*time.Hour))[len(prefix(s, h)):]
	m := Default()
	b.ReportAllocs()
	for b.Loop() {
		if r := m.Risk(known, fc, h); !(r >= 0 && r <= 1) {
			b.Fatalf("risk %v", r)
		}
	}
}

func BenchmarkFit2020To2021(b *testing.B) {
	train := realYears(b, 2020, 2021)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fit(train, FourCPMonths()); err != nil {
			b.Fatal(err)
		}
	}
}
