package contract

import (
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
)

func TestWindowContains(t *testing.T) {
	summer := Window{Months: []time.Month{6, 7, 8, 9}, Weekdays: true, From: "14:00", To: "20:00"}
	tests := []struct {
		name string
		w    Window
		t    string
		want bool
	}{
		{"empty window always holds", Window{}, "2024-01-01T00:00:00Z", true},
		{"14:00 CDT is inside", summer, "2024-07-16T19:00:00Z", true},
		{"Monday 19:59:59 CDT is inside", summer, "2024-07-16T00:59:59Z", true},
		{"20:00 CDT is outside (half-open)", summer, "2024-07-17T01:00:00Z", false},
		{"13:59 CDT is outside", summer, "2024-07-16T18:59:00Z", false},
		{"Saturday is outside", summer, "2024-07-20T19:00:00Z", false},
		{"October is outside", summer, "2024-10-01T19:00:00Z", false},
		// Friday 19:30 CDT is Saturday 00:30 UTC: the local weekday counts.
		{"Friday evening local, Saturday UTC", summer, "2024-07-20T00:30:00Z", true},
		// 30 June 23:30 CDT is 1 July UTC: the local month counts.
		{"June local, July UTC", Window{Months: []time.Month{6}}, "2024-07-01T04:30:00Z", true},
		{"June local is not July", Window{Months: []time.Month{7}}, "2024-07-01T04:30:00Z", false},
		{"wrap: 03:00 local", Window{From: "22:00", To: "06:00"}, "2024-07-16T08:00:00Z", true},
		{"wrap: 22:00 local", Window{From: "22:00", To: "06:00"}, "2024-07-17T03:00:00Z", true},
		{"wrap: 06:00 local", Window{From: "22:00", To: "06:00"}, "2024-07-16T11:00:00Z", false},
		{"wrap: noon", Window{From: "22:00", To: "06:00"}, "2024-07-16T17:00:00Z", false},
		{"to 24:00", Window{From: "18:00", To: "24:00"}, "2024-07-17T04:59:59Z", true},
		{"to 24:00 ends at midnight", Window{From: "18:00", To: "24:00"}, "2024-07-17T05:00:00Z", false},
		{"absolute start is inclusive", Window{Start: time.Date(2024, 7, 1, 5, 0, 0, 0, time.UTC)}, "2024-07-01T05:00:00Z", true},
		{"before absolute start", Window{Start: time.Date(2024, 7, 1, 5, 0, 0, 0, time.UTC)}, "2024-07-01T04:59:59Z", false},
		{"absolute end is exclusive", Window{End: time.Date(2024, 7, 1, 5, 0, 0, 0, time.UTC)}, "2024-07-01T05:00:00Z", false},
		// DST: on 3 Nov 2024 01:00-02:00 happens twice (CDT, then CST).
		{"fall back: 01:30 CDT", Window{From: "01:00", To: "02:00"}, "2024-11-03T06:30:00Z", true},
		{"fall back: 01:30 CST", Window{From: "01:00", To: "02:00"}, "2024-11-03T07:30:00Z", true},
		{"fall back: 02:00 CST", Window{From: "01:00", To: "02:00"}, "2024-11-03T08:00:00Z", false},
		// On 10 Mar 2024 the clock jumps from 02:00 CST to 03:00 CDT.
		{"spring forward: 01:59 CST", Window{From: "02:00", To: "03:00"}, "2024-03-10T07:59:00Z", false},
		{"spring forward: 03:00 CDT", Window{From: "02:00", To: "03:00"}, "2024-03-10T08:00:00Z", false},
		{"spring forward: 03:00 CDT in 01:00-04:00", Window{From: "01:00", To: "04:00"}, "2024-03-10T08:00:00Z", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.Contains(at(t, tt.t)); got != tt.want {
				t.Errorf("Contains(%s = %s local) = %v, want %v", tt.t, at(t, tt.t).In(ercot()).Format("Mon 2006-01-02 15:04:05 MST"), got, tt.want)
			}
		})
	}
}

func TestWindowOverlap(t *testing.T) {
	day := func(s string) time.Time { // local midnight
		d, err := time.ParseInLocation(time.DateOnly, s, ercot())
		if err != nil {
			t.Fatal(err)
		}
		return d.UTC()
	}
	tests := []struct {
		name     string
		w        Window
		from, to time.Time
		want     time.Duration
	}{
		{"all day on a 24-hour day", Window{From: "00:00", To: "24:00"}, day("2024-07-16"), day("2024-07-17"), 24 * time.Hour},
		{"all day on the 25-hour fall-back day", Window{From: "00:00", To: "24:00"}, day("2024-11-03"), day("2024-11-04"), 25 * time.Hour},
		{"all day on the 23-hour spring day", Window{From: "00:00", To: "24:00"}, day("2024-03-10"), day("2024-03-11"), 23 * time.Hour},
		{"01:00-02:00 happens twice on the fall-back day", Window{From: "01:00", To: "02:00"}, day("2024-11-03"), day("2024-11-04"), 2 * time.Hour},
		{"02:00-03:00 never happens on the spring day", Window{From: "02:00", To: "03:00"}, day("2024-03-10"), day("2024-03-11"), 0},
		{"01:00-04:00 is two hours on the spring day", Window{From: "01:00", To: "04:00"}, day("2024-03-10"), day("2024-03-11"), 2 * time.Hour},
		// 2 Nov 00-06, 22-24; 3 Nov 00-06 with 01:00-02:00 twice (7 h), 22-24.
		{"22:00-06:00 over the fall-back night", Window{From: "22:00", To: "06:00"}, day("2024-11-02"), day("2024-11-04"), (6 + 2 + 7 + 2) * time.Hour},
		{"weekday afternoons over a week", Window{Weekdays: true, From: "14:00", To: "20:00"}, day("2024-07-15"), day("2024-07-22"), 30 * time.Hour},
		{"a month of local days", Window{Months: []time.Month{6}}, day("2024-05-31"), day("2024-07-02"), 30 * 24 * time.Hour},
		{"absolute bounds inside an interval", Window{Start: day("2024-07-16").Add(10 * time.Minute), End: day("2024-07-16").Add(20 * time.Minute)}, day("2024-07-16"), day("2024-07-16").Add(time.Hour), 10 * time.Minute},
		{"from mid-interval", Window{From: "14:20", To: "15:00"}, day("2024-07-16").Add(14*time.Hour + 15*time.Minute), day("2024-07-16").Add(14*time.Hour + 30*time.Minute), 10 * time.Minute},
		{"empty interval", Window{}, day("2024-07-16"), day("2024-07-16"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.w.Overlap(energy.Interval{Start: tt.from, End: tt.to})
			if got != tt.want {
				t.Errorf("Overlap = %v, want %v", got, tt.want)
			}
			// Cross-check by sampling every minute (all bounds here are on
			// whole minutes).
			var n time.Duration
			for m := tt.from; m.Before(tt.to); m = m.Add(time.Minute) {
				if tt.w.Contains(m) {
					n += time.Minute
				}
			}
			if n != got {
				t.Errorf("Overlap = %v, but sampling finds %v", got, n)
			}
		})
	}
}
