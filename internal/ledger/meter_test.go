package ledger

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gridminer/gridminer/internal/energy"
)

var approx = cmpopts.EquateApprox(0, 1e-9)

func at(hhmm string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", "2024-03-01 "+hhmm)
	if err != nil {
		panic(err)
	}
	return t
}

func iv(start string, d time.Duration) energy.Interval {
	s := at(start)
	return energy.Interval{Start: s, End: s.Add(d)}
}

// step is one call on a Meter: Add(sample) when flush is zero, else Flush(flush).
type step struct {
	sample Sample
	flush  time.Time
	want   []Usage
}

func runSteps(t *testing.T, m *Meter, steps []step) {
	t.Helper()
	for i, s := range steps {
		var got []Usage
		if s.flush.IsZero() {
			var err error
			got, err = m.Add(s.sample)
			if err != nil {
				t.Fatalf("step %d: Add(%v): %v", i, s.sample.Time, err)
			}
		} else {
			got = m.Flush(s.flush)
		}
		if diff := cmp.Diff(s.want, got, approx); diff != "" {
			t.Errorf("step %d: usages mismatch (-want +got):\n%s", i, diff)
		}
	}
}

func TestMeter(t *testing.T) {
	const q = 15 * time.Minute
	tests := []struct {
		name   string
		maxGap time.Duration
		steps  []step
	}{
		{
			// 1200 W held 10:10–10:20, 2400 W held 10:20–10:35, 0 W from 10:35.
			//   [10:00,10:15): 1200 W × 5 min = 100 Wh; 100 TH/s × 300 s = 30,000 TH·s; covered 5 min
			//   [10:15,10:30): 1200 W × 5 min + 2400 W × 10 min = 100 + 400 = 500 Wh
			//                  100 TH/s × 300 s + 200 TH/s × 600 s = 150,000 TH·s
			//   [10:30,10:45): 2400 W × 5 min = 200 Wh, then 0 W; Flush at 10:40 snapshots it, covered 10 min
			name:   "split at boundaries",
			maxGap: 30 * time.Minute,
			steps: []step{
				{sample: Sample{Time: at("10:10:00"), Power: 1200, Hashrate: 100}},
				{sample: Sample{Time: at("10:20:00"), Power: 2400, Hashrate: 200}, want: []Usage{
					{Interval: iv("10:00:00", q), Energy: 100, HashTHs: 30_000, Covered: 5 * time.Minute},
				}},
				{sample: Sample{Time: at("10:35:00"), Power: 0, Hashrate: 0}, want: []Usage{
					{Interval: iv("10:15:00", q), Energy: 500, HashTHs: 150_000, Covered: q},
				}},
				{flush: at("10:40:00"), want: []Usage{
					{Interval: iv("10:30:00", q), Energy: 200, HashTHs: 60_000, Covered: 10 * time.Minute},
				}},
			},
		},
		{
			// A sample exactly on a boundary closes the interval before it.
			name:   "sample on boundary",
			maxGap: time.Hour,
			steps: []step{
				{sample: Sample{Time: at("10:00:00"), Power: 4000}},
				{sample: Sample{Time: at("10:15:00"), Power: 4000}, want: []Usage{
					{Interval: iv("10:00:00", q), Energy: 1000, Covered: q}, // 4 kW × 0.25 h
				}},
			},
		},
		{
			// One hold across three intervals (the gap is within maxGap).
			name:   "hold spans intervals",
			maxGap: time.Hour,
			steps: []step{
				{sample: Sample{Time: at("10:10:00"), Power: 600}},
				{sample: Sample{Time: at("10:50:00"), Power: 600}, want: []Usage{
					{Interval: iv("10:00:00", q), Energy: 50, Covered: 5 * time.Minute}, // 600 W × 5 min
					{Interval: iv("10:15:00", q), Energy: 150, Covered: q},
					{Interval: iv("10:30:00", q), Energy: 150, Covered: q},
				}},
			},
		},
		{
			// 600 W, maxGap 5 min: 10:00–10:01 held (10 Wh); 10:01–10:10 is a
			// 9 min gap, not integrated; 10:10–10:15 (5 min, not longer than
			// maxGap) held (50 Wh). [10:00,10:15) = 60 Wh over 6 min covered;
			// 10 TH/s × 360 s = 3600 TH·s.
			name:   "gap longer than maxGap",
			maxGap: 5 * time.Minute,
			steps: []step{
				{sample: Sample{Time: at("10:00:00"), Power: 600, Hashrate: 10}},
				{sample: Sample{Time: at("10:01:00"), Power: 600, Hashrate: 10}},
				{sample: Sample{Time: at("10:10:00"), Power: 600, Hashrate: 10}},
				{sample: Sample{Time: at("10:15:00"), Power: 600, Hashrate: 10}, want: []Usage{
					{Interval: iv("10:00:00", q), Energy: 60, HashTHs: 3600, Covered: 6 * time.Minute},
				}},
			},
		},
		{
			// A gap over whole intervals yields no usage for them, and Flush
			// long after the last sample does not hold it either.
			name:   "outage",
			maxGap: 2 * time.Minute,
			steps: []step{
				{sample: Sample{Time: at("10:00:00"), Power: 600}},
				{sample: Sample{Time: at("11:00:00"), Power: 1200}},
				{sample: Sample{Time: at("11:02:00"), Power: 1200}},
				{flush: at("11:30:00"), want: []Usage{
					{Interval: iv("11:00:00", q), Energy: 40, Covered: 2 * time.Minute}, // 1200 W × 2 min
				}},
			},
		},
		{
			// A Flush snapshot is superseded by the full interval later.
			name:   "flush then complete",
			maxGap: q,
			steps: []step{
				{sample: Sample{Time: at("10:00:00"), Power: 1200}},
				{flush: at("10:05:00"), want: []Usage{
					{Interval: iv("10:00:00", q), Energy: 100, Covered: 5 * time.Minute},
				}},
				{flush: at("10:04:00")}, // backwards: nothing
				{sample: Sample{Time: at("10:10:00"), Power: 0}},
				{sample: Sample{Time: at("10:15:00"), Power: 0}, want: []Usage{
					{Interval: iv("10:00:00", q), Energy: 200, Covered: q}, // 1200 W × 10 min
				}},
				{flush: at("10:15:00")}, // on a boundary, nothing open
			},
		},
		{
			// A second sample at the same instant replaces the first.
			name:   "same time replaces",
			maxGap: q,
			steps: []step{
				{sample: Sample{Time: at("10:00:00"), Power: 9999}},
				{sample: Sample{Time: at("10:00:00"), Power: 1200}},
				{sample: Sample{Time: at("10:15:00"), Power: 1200}, want: []Usage{
					{Interval: iv("10:00:00", q), Energy: 300, Covered: q},
				}},
			},
		},
		{
			name:   "flush before any sample",
			maxGap: q,
			steps:  []step{{flush: at("10:00:00")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMeter(q, tt.maxGap)
			if err != nil {
				t.Fatal(err)
			}
			runSteps(t, m, tt.steps)
		})
	}
}

func TestMeterRejects(t *testing.T) {
	const q = 15 * time.Minute
	tests := []struct {
		name  string
		prior []Sample
		flush time.Time
		bad   Sample
	}{
		{name: "zero time", bad: Sample{Power: 1}},
		{name: "NaN power", bad: Sample{Time: at("10:00:00"), Power: energy.Power(math.NaN())}},
		{name: "infinite hashrate", bad: Sample{Time: at("10:00:00"), Hashrate: energy.Hashrate(math.Inf(1))}},
		{name: "negative power", bad: Sample{Time: at("10:00:00"), Power: -1}},
		{name: "negative hashrate", bad: Sample{Time: at("10:00:00"), Hashrate: -1}},
		{name: "out of order", prior: []Sample{{Time: at("10:05:00"), Power: 1}}, bad: Sample{Time: at("10:04:59"), Power: 1}},
		{name: "before flush", prior: []Sample{{Time: at("10:05:00"), Power: 1}}, flush: at("10:10:00"), bad: Sample{Time: at("10:08:00"), Power: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMeter(q, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.prior {
				if _, err := m.Add(s); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.flush.IsZero() {
				m.Flush(tt.flush)
			}
			before := *m
			if got, err := m.Add(tt.bad); err == nil {
				t.Fatalf("Add(%+v) = %v, nil; want an error", tt.bad, got)
			}
			if *m != before {
				t.Errorf("rejected sample changed the meter: %+v, want %+v", *m, before)
			}
		})
	}
}

func TestNewMeterRejects(t *testing.T) {
	for _, c := range []struct{ length, gap time.Duration }{{0, time.Minute}, {-time.Minute, time.Minute}, {time.Minute, 0}} {
		if _, err := NewMeter(c.length, c.gap); err == nil {
			t.Errorf("NewMeter(%v, %v) accepted", c.length, c.gap)
		}
	}
}

// checkConservation feeds samples with the given gaps (seconds) and powers to
// a Meter and checks that the usages hold exactly the integral of the samples:
// energy within float rounding, covered time exactly.
func checkConservation(t *testing.T, length, maxGap time.Duration, gaps []time.Duration, powers []energy.Power) {
	t.Helper()
	m, err := NewMeter(length, maxGap)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2024, 1, 1, 0, 7, 13, 0, time.UTC)
	var got []Usage
	var wantE, wantH float64
	var wantCovered time.Duration
	now := start
	for i, g := range gaps {
		if i > 0 && g <= maxGap {
			wantE += float64(powers[i-1].Over(g))
			wantH += float64(powers[i-1]) / 10 * g.Seconds()
			wantCovered += g
		}
		now = now.Add(g)
		us, err := m.Add(Sample{Time: now, Power: powers[i], Hashrate: energy.Hashrate(powers[i] / 10)})
		if err != nil {
			t.Fatalf("Add %d: %v", i, err)
		}
		got = append(got, us...)
	}
	got = append(got, m.Flush(now)...)

	var gotE, gotH float64
	var gotCovered time.Duration
	for i, u := range got {
		if u.Covered <= 0 || u.Covered > u.Interval.Duration() || u.Interval.Duration() != length {
			t.Errorf("usage %d: covered %v of %v", i, u.Covered, u.Interval)
		}
		if i > 0 && got[i-1].Interval.End.After(u.Interval.Start) {
			t.Errorf("usage %d: %v not after %v", i, u.Interval, got[i-1].Interval)
		}
		gotE += float64(u.Energy)
		gotH += u.HashTHs
		gotCovered += u.Covered
	}
	if gotCovered != wantCovered {
		t.Errorf("covered = %v, want %v", gotCovered, wantCovered)
	}
	if !cmp.Equal(gotE, wantE, cmpopts.EquateApprox(1e-9, 1e-9)) {
		t.Errorf("energy = %v Wh, want %v", gotE, wantE)
	}
	if !cmp.Equal(gotH, wantH, cmpopts.EquateApprox(1e-9, 1e-9)) {
		t.Errorf("hash-time = %v, want %v", gotH, wantH)
	}
}

func TestMeterConservesEnergy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := 1 + r.IntN(200)
		gaps := make([]time.Duration, n)
		powers := make([]energy.Power, n)
		for i := range n {
			gaps[i] = time.Duration(r.Int64N(int64(40 * time.Minute)))
			if r.IntN(10) == 0 {
				gaps[i] = 0
			}
			powers[i] = energy.Power(r.Float64() * 5e6)
		}
		checkConservation(t, 15*time.Minute, 10*time.Minute, gaps, powers)
		if t.Failed() {
			t.Fatalf("gaps %v powers %v", gaps, powers)
		}
	}
}

func FuzzMeterConservesEnergy(f *testing.F) {
	f.Add([]byte{0, 10, 5, 200, 255, 1, 3, 7})
	f.Add([]byte{255, 255, 255, 255})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Each pair of bytes is (gap in units of 13 s, power in units of 10 kW).
		var gaps []time.Duration
		var powers []energy.Power
		for i := 0; i+1 < len(data); i += 2 {
			gaps = append(gaps, time.Duration(data[i])*13*time.Second)
			powers = append(powers, energy.Power(data[i+1])*10_000)
		}
		checkConservation(t, 5*time.Minute, 20*time.Minute, gaps, powers)
	})
}
