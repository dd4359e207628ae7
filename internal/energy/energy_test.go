package energy

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestCheckRejectsNonFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if err := Check("x", v); !errors.Is(err, ErrNotFinite) {
			t.Errorf("Check(%v) = %v, want ErrNotFinite", v, err)
		}
		if _, err := NewPower("p", v); err == nil {
			t.Errorf("NewPower(%v) accepted", v)
		}
		if _, err := NewPrice("p", v); err == nil {
			t.Errorf("NewPrice(%v) accepted", v)
		}
		if _, err := NewHashrate("h", v); err == nil {
			t.Errorf("NewHashrate(%v) accepted", v)
		}
	}
	if _, err := NewPower("p", -1); err == nil {
		t.Error("NewPower(-1) accepted")
	}
	if p, err := NewPrice("p", -25.5); err != nil || p != -25.5 {
		t.Errorf("NewPrice(-25.5) = %v, %v; negative prices are real", p, err)
	}
	if p, err := NewPrice("p", 9315); err != nil || p != 9315 {
		t.Errorf("NewPrice(9315) = %v, %v; prices above the cap are real", p, err)
	}
}

func TestPowerEnergyPrice(t *testing.T) {
	// 3,000 W for 15 minutes is 750 Wh; at $40/MWh that is 3 cents.
	e := Power(3000).Over(15 * time.Minute)
	if e != 750 {
		t.Fatalf("energy = %v Wh, want 750", e.Wh())
	}
	if got, want := Price(40).Cost(e), 0.03; math.Abs(got-want) > 1e-12 {
		t.Errorf("cost = %v, want %v", got, want)
	}
	if got := EfficiencyOf(3010, 140); math.Abs(float64(got)-21.5) > 1e-12 {
		t.Errorf("efficiency = %v, want 21.5", got)
	}
	if got := EfficiencyOf(3010, 0); got != 0 {
		t.Errorf("efficiency with no hashrate = %v, want 0", got)
	}
	if got, want := Power(1.5e6).String(), "1.500 MW"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestInterval(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	start := time.Date(2021, 2, 15, 0, 0, 0, 0, chicago)
	iv, err := NewInterval(start, start.Add(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if iv.Start.Location() != time.UTC {
		t.Errorf("start location = %v, want UTC", iv.Start.Location())
	}
	if !iv.Contains(start) || iv.Contains(start.Add(15*time.Minute)) {
		t.Error("interval is not half-open [start, end)")
	}
	if _, err := NewInterval(start, start); !errors.Is(err, ErrBadInterval) {
		t.Errorf("empty interval: err = %v, want ErrBadInterval", err)
	}
	got := IntervalOf(time.Date(2024, 1, 1, 10, 22, 5, 0, time.UTC), 15*time.Minute)
	want := Interval{time.Date(2024, 1, 1, 10, 15, 0, 0, time.UTC), time.Date(2024, 1, 1, 10, 30, 0, 0, time.UTC)}
	if got != want {
		t.Errorf("IntervalOf = %v, want %v", got, want)
	}
	if d := got.Overlap(Interval{want.Start.Add(10 * time.Minute), want.End.Add(time.Hour)}); d != 5*time.Minute {
		t.Errorf("overlap = %v, want 5m", d)
	}
}
