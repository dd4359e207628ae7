package shares

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
)

var t0 = time.Date(2026, 8, 3, 20, 0, 0, 0, time.UTC)

// TestEstimateCoversTheTrueRate simulates machines as Poisson share
// processes and checks the estimate is unbiased and the 95% interval
// covers the true rate about 95% of the time.
func TestEstimateCoversTheTrueRate(t *testing.T) {
	const (
		trueTHs = 100.0 // an S19j Pro
		diff    = 65536.0
		window  = 10 * time.Minute
	)
	// Expected shares per second: H / (D × 2^32).
	perSec := trueTHs * 1e12 / (diff * hashesPerDiff1)
	rng := rand.New(rand.NewPCG(1, 2))
	covered, trials := 0, 400
	var sum float64
	for range trials {
		tr := NewTracker(window)
		at := t0
		for {
			at = at.Add(time.Duration(rng.ExpFloat64() / perSec * float64(time.Second)))
			if at.After(t0.Add(window)) {
				break
			}
			tr.Add(at, diff, Accepted)
		}
		st := tr.Stats(t0.Add(window))
		sum += float64(st.Hashrate)
		if float64(st.Low) <= trueTHs && trueTHs <= float64(st.High) {
			covered++
		}
	}
	if mean := sum / float64(trials); math.Abs(mean-trueTHs)/trueTHs > 0.03 {
		t.Errorf("mean estimate %.2f TH/s, want %v ± 3%%", mean, trueTHs)
	}
	if c := float64(covered) / float64(trials); c < 0.92 || c > 0.985 {
		t.Errorf("95%% interval covered the true rate %.1f%% of the time", 100*c)
	}
}

func TestCountsWindowAndOutcomes(t *testing.T) {
	tr := NewTracker(time.Minute)
	tr.Add(t0, 1024, Accepted)
	tr.Add(t0.Add(30*time.Second), 1024, Accepted)
	tr.Add(t0.Add(40*time.Second), 1024, Stale)
	tr.Add(t0.Add(50*time.Second), 1024, Rejected)
	st := tr.Stats(t0.Add(time.Minute))
	if st.Accepted != 2 || st.Stale != 1 || st.Rejected != 1 || st.Shares != 2 || !st.LastShare.Equal(t0.Add(30*time.Second)) {
		t.Errorf("stats %+v", st)
	}
	want := energy.Hashrate(2 * 1024 * hashesPerDiff1 / 60 / 1e12)
	if math.Abs(float64(st.Hashrate-want)) > 1e-12 || !(st.Low < st.Hashrate && st.Hashrate < st.High) {
		t.Errorf("hashrate %v [%v, %v], want %v inside its interval", st.Hashrate, st.Low, st.High, want)
	}
	// Ninety seconds on, the first share has left the window.
	if st := tr.Stats(t0.Add(90 * time.Second)); st.Shares != 1 {
		t.Errorf("after the window moved: %d shares", st.Shares)
	}
	if st := tr.Stats(t0.Add(10 * time.Minute)); st.Shares != 0 || st.Hashrate != 0 || st.Accepted != 2 {
		t.Errorf("long after: %+v", st)
	}
}

func TestPoissonInterval(t *testing.T) {
	// Exact Garwood bounds for reference (from chi-square tables).
	for _, tt := range []struct {
		n      int
		lo, hi float64
	}{{0, 0, 3.689}, {1, 0.0253, 5.572}, {10, 4.795, 18.39}, {100, 81.36, 121.63}} {
		lo, hi := PoissonInterval(tt.n)
		if math.Abs(lo-tt.lo) > 0.02*math.Max(tt.lo, 1) || math.Abs(hi-tt.hi) > 0.02*tt.hi {
			t.Errorf("n=%d: [%.4f, %.3f], want about [%v, %v]", tt.n, lo, hi, tt.lo, tt.hi)
		}
	}
}

func TestSilent(t *testing.T) {
	// A 100 TH/s machine at difficulty 65536 sends a share every 2.8 s:
	// ten silent minutes are impossible; ten silent seconds are not.
	if p := Silent(100, 65536, 10*time.Minute); p > 1e-50 {
		t.Errorf("silent 10 min: %g", p)
	}
	if p := Silent(100, 65536, 10*time.Second); p < 0.01 || p > 0.1 {
		t.Errorf("silent 10 s: %g", p)
	}
	if Silent(0, 65536, time.Hour) != 1 {
		t.Error("a machine claiming nothing is not silent")
	}
}
