package meter_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/meter"
	"github.com/gridminer/gridminer/internal/minersim/metersim"
)

func TestFrequencyTrace(t *testing.T) {
	t0 := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	sim := startSim(t, metersim.Config{Clock: clk, SiteLoad: 1, Trace: []metersim.FrequencyPoint{
		{Offset: 10 * time.Second, Hz: 59.52},
		{Offset: 20 * time.Second, Hz: 59.31},
		{Offset: 30 * time.Second, Hz: 59.98},
	}})
	m := newMeter(t, meter.Config{Address: sim.Addr()}, meter.WithClock(clk))
	for _, step := range []struct {
		at   time.Duration
		want float64
	}{{0, 60}, {9 * time.Second, 60}, {10 * time.Second, 59.52}, {25 * time.Second, 59.31}, {time.Hour, 59.98}} {
		clk.Set(t0.Add(step.at))
		r, err := m.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.Frequency != step.want || !r.Time.Equal(t0.Add(step.at)) {
			t.Errorf("at +%v: %v Hz stamped %v, want %v Hz stamped +%v", step.at, r.Frequency, r.Time, step.want, step.at)
		}
	}
	sim.SetFrequency(57.5)
	if r, err := m.Read(context.Background()); err != nil || r.Frequency != 57.5 {
		t.Errorf("after SetFrequency(57.5): %v Hz, %v", r.Frequency, err)
	}
}

func TestRun(t *testing.T) {
	t0 := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	sim := startSim(t, metersim.Config{Clock: clk, SiteLoad: 700})
	m := newMeter(t, meter.Config{Address: sim.Addr()}, meter.WithClock(clk))
	if err := m.Run(context.Background(), 0, func(meter.Reading) {}); err == nil {
		t.Error("Run with period 0 returned nil")
	}

	ctx, cancel := context.WithCancel(context.Background())
	readings := make(chan meter.Reading)
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, time.Second, func(r meter.Reading) {
			select {
			case readings <- r:
			case <-ctx.Done():
			}
		})
	}()
	// The first sample is taken at once; later ones on each tick of
	// the manual clock. The clock is nudged forward until each arrives.
	var got []meter.Reading
	for len(got) < 4 {
		select {
		case r := <-readings:
			got = append(got, r)
		default:
			if len(got) > 0 {
				clk.Advance(100 * time.Millisecond)
			}
			runtime.Gosched()
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil when ctx ends", err)
	}
	if !got[0].Time.Equal(t0) {
		t.Errorf("first sample at %v, want at once (%v)", got[0].Time, t0)
	}
	for i, r := range got {
		if r.Import != 700 || r.Frequency != 60 {
			t.Errorf("sample %d: %+v", i, r)
		}
		if i > 0 && !r.Time.After(got[i-1].Time) {
			t.Errorf("sample %d at %v, not after sample %d at %v", i, r.Time, i-1, got[i-1].Time)
		}
		// Each later sample comes at or after its tick (start + k s).
		if tick := r.Time.Sub(t0).Truncate(time.Second); i > 0 && tick < time.Duration(i)*time.Second {
			t.Errorf("sample %d at +%v, before tick %d", i, r.Time.Sub(t0), i)
		}
	}
}
