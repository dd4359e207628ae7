package ercot

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

// The 15 settlement points of DAMLZHBSPP in 2021 and 2022.
var damPoints = []string{
	"HB_BUSAVG", "HB_HOUSTON", "HB_HUBAVG", "HB_NORTH", "HB_PAN", "HB_SOUTH", "HB_WEST",
	"LZ_AEN", "LZ_CPS", "LZ_HOUSTON", "LZ_LCRA", "LZ_NORTH", "LZ_RAYBN", "LZ_SOUTH", "LZ_WEST",
}

func TestRealDAM(t *testing.T) {
	if testing.Short() {
		t.Skip("reads real DAM workbooks; skipped with -short")
	}
	// Values read from the workbooks by hand (sheet, row): local delivery
	// hour -> UTC start.
	tests := []struct {
		year  int
		point string
		want  map[time.Time]energy.Price
	}{
		{2021, "HB_WEST", map[time.Time]energy.Price{
			utc(2021, 1, 1, 6, 0):  18.21,   // Jan row 8: 01/01/2021 01:00 N
			utc(2021, 2, 17, 6, 0): 9000.01, // Feb: 02/17/2021 01:00, Uri, above the $9,000 cap
			utc(2021, 3, 14, 7, 0): 15.63,   // Mar row 4703: 03/14/2021 02:00 (01:00 CST)
			utc(2021, 3, 14, 8, 0): 14.44,   // Mar row 4718: 03/14/2021 04:00 (03:00 CDT)
			utc(2021, 11, 7, 5, 0): 13.79,   // Nov row 2168: 11/07/2021 01:00 N
			utc(2021, 11, 7, 6, 0): 6.59,    // Nov row 2183: 11/07/2021 02:00 N (01:00 CDT)
			utc(2021, 11, 7, 7, 0): 23.20,   // Nov row 2198: 11/07/2021 02:00 Y (01:00 CST)
			utc(2021, 11, 7, 8, 0): 18.33,   // Nov row 2213: 11/07/2021 03:00 N
			utc(2022, 1, 1, 5, 0):  26.04,   // Dec row 11153: 12/31/2021 24:00
		}},
		{2021, "HB_PAN", map[time.Time]energy.Price{
			utc(2021, 11, 7, 7, 0): -17.30, // Nov row 2196: 11/07/2021 02:00 Y
		}},
		{2022, "HB_WEST", map[time.Time]energy.Price{
			utc(2022, 1, 1, 6, 0):   33.97,   // Jan row 8
			utc(2022, 3, 13, 7, 0):  -0.17,   // Mar row 4343: 03/13/2022 02:00
			utc(2022, 3, 13, 8, 0):  -0.29,   // Mar row 4358: 03/13/2022 04:00
			utc(2022, 7, 11, 20, 0): 2082.83, // Jul: 07/11/2022 16:00, the year's July high
			utc(2022, 7, 20, 21, 0): 687.38,  // Jul row 7088: 07/20/2022 17:00
			utc(2022, 11, 6, 7, 0):  1.90,    // Nov row 1838: 11/06/2022 02:00 Y
			utc(2023, 1, 1, 5, 0):   4.42,    // Dec row 11153: 12/31/2022 24:00
		}},
	}
	for _, tt := range tests {
		t.Run(time.Date(tt.year, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006")+"/"+tt.point, func(t *testing.T) {
			path := realFile(t, "original/dam_spp_hourly_"+time.Date(tt.year, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006")+".xlsx")
			s, err := OpenDAM(path, tt.point)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if got, want := len(s), 8760; got != want {
				t.Errorf("points = %d, want %d", got, want)
			}
			from, to := time.Date(tt.year, 1, 1, 6, 0, 0, 0, time.UTC), time.Date(tt.year+1, 1, 1, 6, 0, 0, 0, time.UTC)
			if gaps := s.Gaps(from, to); len(gaps) != 0 {
				t.Errorf("gaps in the local year: %v", gaps)
			}
			for start, want := range tt.want {
				p, ok := s.At(start)
				if !ok || p.Price != want || !p.Interval.Start.Equal(start) || p.Interval.Duration() != time.Hour {
					t.Errorf("At(%v) = %v, %v; want %v over the hour", start, p, ok, want)
				}
			}
		})
	}
}

func TestRealDAMPointsAndMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("reads real DAM workbooks; skipped with -short")
	}
	var years []price.Schedule
	for _, name := range []string{"original/dam_spp_hourly_2021.xlsx", "original/dam_spp_hourly_2022.xlsx"} {
		path := realFile(t, name)
		got, err := DAMPoints(path)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(damPoints, got); diff != "" {
			t.Errorf("DAMPoints(%s) mismatch (-want +got):\n%s", name, diff)
		}
		s, err := OpenDAM(path, "HB_WEST")
		if err != nil {
			t.Fatal(err)
		}
		years = append(years, s)
		_, err = OpenDAM(path, "HB_NOWHERE")
		if want := `point "HB_NOWHERE": settlement point not in file (it has HB_BUSAVG, HB_HOUSTON, HB_HUBAVG, HB_NORTH, HB_PAN and 10 more)`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("OpenDAM(HB_NOWHERE) = %v, want error containing %q", err, want)
		}
	}
	both, err := MergeSchedules(years[1], years[0])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(both), 17520; got != want {
		t.Errorf("merged points = %d, want %d", got, want)
	}
	if gaps := both.Gaps(utc(2021, 1, 1, 6, 0), utc(2023, 1, 1, 6, 0)); len(gaps) != 0 {
		t.Errorf("gaps in 2021-2022: %v", gaps)
	}
}

func BenchmarkOpenDAM2021(b *testing.B) {
	path := realFile(b, "original/dam_spp_hourly_2021.xlsx")
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		s, err := OpenDAM(path, "HB_WEST")
		if err != nil {
			b.Fatal(err)
		}
		if len(s) != 8760 {
			b.Fatalf("points = %d", len(s))
		}
	}
}
