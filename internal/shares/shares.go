// Package shares measures each machine's hashrate from the shares it
// actually submits, the evidence that a curtailment really happened and a
// wake really resumed mining.
//
// A share at pool difficulty D stands for D × 2^32 hashes on average, so
// N shares of difficulties D_i over a span T estimate the hashrate as
// Σ D_i × 2^32 / T. Shares arrive as a Poisson process, so the estimate's
// uncertainty comes from the count: the package gives an exact-coverage
// (Garwood) 95% interval through the Wilson–Hilferty approximation of the
// chi-square quantiles, and the probability that a machine hashing at its
// reported rate would have submitted nothing at all (Silent).
//
// The package does no I/O and reads no clock: callers pass times. A Tracker
// is safe for concurrent use.
package shares

import (
	"math"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
)

// hashesPerDiff1 is the expected hashes per share at difficulty 1.
const hashesPerDiff1 = 4294967296.0 // 2^32

// Outcome is what became of a submitted share.
type Outcome int

const (
	Accepted Outcome = iota
	Rejected         // invalid: bad hash, low difficulty, duplicate
	Stale            // for a job that is no longer current
)

// Stats are one machine's share counts and measured hashrate.
type Stats struct {
	Accepted, Rejected, Stale int
	// LastShare is when the last accepted share arrived (zero: none).
	LastShare time.Time
	// Hashrate is the estimate over the window, Low and High its 95%
	// interval; Shares the accepted shares it rests on.
	Hashrate, Low, High energy.Hashrate
	Shares              int
	Window              time.Duration
}

type share struct {
	at   time.Time
	diff float64
}

// Tracker keeps one machine's shares over a sliding window.
type Tracker struct {
	window time.Duration

	mu                        sync.Mutex
	accepted, rejected, stale int
	last                      time.Time
	recent                    []share // accepted, within the window, oldest first
}

// NewTracker returns a tracker estimating over window (default 10 minutes).
func NewTracker(window time.Duration) *Tracker {
	if window <= 0 {
		window = 10 * time.Minute
	}
	return &Tracker{window: window}
}

// Add records a share of difficulty diff submitted at at.
func (t *Tracker) Add(at time.Time, diff float64, o Outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch o {
	case Accepted:
		t.accepted++
		if at.After(t.last) {
			t.last = at
		}
		if diff > 0 && !math.IsInf(diff, 0) {
			t.recent = append(t.recent, share{at, diff})
		}
	case Stale:
		t.stale++
	default:
		t.rejected++
	}
}

// Stats returns the counts and the hashrate estimated over the window
// ending at now (or since the first share, if more recent).
func (t *Tracker) Stats(now time.Time) Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	from := now.Add(-t.window)
	i := 0
	for i < len(t.recent) && t.recent[i].at.Before(from) {
		i++
	}
	t.recent = t.recent[i:]
	st := Stats{Accepted: t.accepted, Rejected: t.rejected, Stale: t.stale, LastShare: t.last, Window: t.window}
	var sum float64
	n := 0
	for _, s := range t.recent {
		if !s.at.After(now) {
			sum += s.diff
			n++
		}
	}
	st.Shares = n
	secs := t.window.Seconds()
	if n == 0 {
		// No share: the estimate is 0 and the upper bound what a machine
		// could hash and still, with 2.5% chance, submit nothing — at the
		// smallest difficulty it would have been given we do not know, so
		// leave High at 0 and let Silent judge a claimed rate.
		return st
	}
	mean := sum / float64(n)
	rate := func(k float64) energy.Hashrate { return energy.Hashrate(k * mean * hashesPerDiff1 / secs / 1e12) }
	lo, hi := PoissonInterval(n)
	st.Hashrate, st.Low, st.High = rate(float64(n)), rate(lo), rate(hi)
	return st
}

// PoissonInterval is the 95% (Garwood) interval of a Poisson mean given n
// events: [χ²(0.025; 2n)/2, χ²(0.975; 2n+2)/2], with χ² quantiles from the
// Wilson–Hilferty approximation (within about 1% for n ≥ 1).
func PoissonInterval(n int) (lo, hi float64) {
	if n < 0 {
		return 0, 0
	}
	const z = 1.959963984540054
	if n > 0 {
		lo = chi2(2*float64(n), -z) / 2
	}
	hi = chi2(2*float64(n)+2, z) / 2
	return lo, hi
}

// chi2 is the Wilson–Hilferty approximation of the chi-square quantile
// with k degrees of freedom at the standard normal quantile z.
func chi2(k, z float64) float64 {
	a := 2 / (9 * k)
	c := 1 - a + z*math.Sqrt(a)
	return k * c * c * c
}

// Silent is the probability that a machine hashing at claimed would have
// submitted no share at difficulty diff in span: exp(−λ) with λ the
// expected share count. A tiny value (say < 0.001) for a machine that
// reports itself mining and sent nothing flags it.
func Silent(claimed energy.Hashrate, diff float64, span time.Duration) float64 {
	if claimed <= 0 || diff <= 0 || span <= 0 {
		return 1
	}
	lambda := float64(claimed) * 1e12 * span.Seconds() / (diff * hashesPerDiff1)
	return math.Exp(-lambda)
}
