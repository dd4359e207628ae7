package ledger

import (
	"fmt"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
)

// Sample is one reading of the whole site: the power it draws and the
// hashrate it produces at Time.
type Sample struct {
	Time     time.Time
	Power    energy.Power
	Hashrate energy.Hashrate
}

// Usage is what the site used in one settlement interval.
type Usage struct {
	Interval energy.Interval
	Energy   energy.Energy // watt-hours drawn in the interval
	HashTHs  float64       // TH/s·seconds of hashing ("hash-time") in the interval
	Covered  time.Duration // how much of the interval the samples covered
}

// Complete reports whether samples covered the whole interval.
func (u Usage) Complete() bool { return u.Covered >= u.Interval.Duration() }

// Meter integrates site samples into per-interval Usage.
//
// Each sample holds from its time until the next sample (left-rectangle, or
// sample-and-hold, integration), split exactly at interval boundaries.
// Intervals have a fixed length and are aligned as energy.IntervalOf aligns
// them. When the gap between two consecutive samples is longer than maxGap
// the earlier sample is not held across it: the gap adds no energy and no
// hash-time, and shows as a Covered shorter than the interval. An interval
// that no sample covered at all produces no Usage.
//
// A Meter is not safe for concurrent use.
type Meter struct {
	length, maxGap time.Duration

	started bool
	last    Sample    // the sample being held
	until   time.Time // integrated up to here (>= last.Time)
	acc     Usage     // the open interval, the one containing until
}

// NewMeter returns a Meter with intervals of the given length (e.g. 15
// minutes) that holds a sample across gaps of at most maxGap.
func NewMeter(length, maxGap time.Duration) (*Meter, error) {
	if length <= 0 {
		return nil, fmt.Errorf("new meter: interval length %v: must be positive", length)
	}
	if maxGap <= 0 {
		return nil, fmt.Errorf("new meter: max gap %v: must be positive", maxGap)
	}
	return &Meter{length: length, maxGap: maxGap}, nil
}

// Add records a sample and returns the usage of every interval this sample
// completed (those ending at or before s.Time that samples covered at least
// in part), oldest first.
//
// Add rejects, leaving the Meter unchanged, a sample with a zero time, a time
// earlier than the previous sample (or than a Flush), or a NaN, infinite or
// negative power or hashrate. A sample at the same time as the previous one
// replaces it.
func (m *Meter) Add(s Sample) ([]Usage, error) {
	t := s.Time.Round(0).UTC() // strip the monotonic reading
	if s.Time.IsZero() {
		return nil, fmt.Errorf("meter add: sample time is zero")
	}
	if err := checkNonNeg("meter add: sample at "+t.Format(time.RFC3339Nano)+": power", float64(s.Power)); err != nil {
		return nil, err
	}
	if err := checkNonNeg("meter add: sample at "+t.Format(time.RFC3339Nano)+": hashrate", float64(s.Hashrate)); err != nil {
		return nil, err
	}
	s.Time = t
	if !m.started {
		m.started = true
		m.last, m.until = s, t
		m.acc = Usage{Interval: energy.IntervalOf(t, m.length)}
		return nil, nil
	}
	if t.Before(m.until) {
		return nil, fmt.Errorf("meter add: sample at %s is before %s: samples must be in time order",
			t.Format(time.RFC3339Nano), m.until.Format(time.RFC3339Nano))
	}
	out := m.advance(t, t.Sub(m.last.Time) <= m.maxGap)
	m.last = s
	return out, nil
}

// Flush closes the intervals ending at or before upTo, holding the last
// sample up to upTo when upTo is no more than maxGap after it, and returns
// their usage oldest first. When upTo falls inside an interval that samples
// have covered, Flush also returns a snapshot of that partial interval (its
// Covered tells how partial); use it at shutdown. The Meter keeps the
// partial interval open: a later Add or Flush that completes it returns it
// again in full, superseding the snapshot (store.PutLedger replaces by
// interval start).
//
// Time is only advanced: Flush with upTo before an earlier sample or Flush
// returns nothing, and later samples must not be before upTo.
func (m *Meter) Flush(upTo time.Time) []Usage {
	if !m.started {
		return nil
	}
	upTo = upTo.Round(0).UTC()
	if upTo.Before(m.until) {
		return nil
	}
	out := m.advance(upTo, upTo.Sub(m.last.Time) <= m.maxGap)
	if m.acc.Covered > 0 {
		out = append(out, m.acc)
	}
	return out
}

// advance moves integration from m.until to t, holding m.last when integrate
// is true, and returns the usages of the intervals it closed.
func (m *Meter) advance(t time.Time, integrate bool) []Usage {
	var out []Usage
	if !integrate {
		if !t.Before(m.acc.Interval.End) {
			if m.acc.Covered > 0 {
				out = append(out, m.acc)
			}
			m.acc = Usage{Interval: energy.IntervalOf(t, m.length)}
		}
		m.until = t
		return out
	}
	for m.until.Before(t) {
		end := m.acc.Interval.End
		if t.Before(end) {
			end = t
		}
		d := end.Sub(m.until)
		m.acc.Energy += m.last.Power.Over(d)
		m.acc.HashTHs += float64(m.last.Hashrate) * d.Seconds()
		m.acc.Covered += d
		m.until = end
		if end.Equal(m.acc.Interval.End) {
			out = append(out, m.acc) // covered by at least d > 0
			m.acc = Usage{Interval: energy.IntervalOf(end, m.length)}
		}
	}
	return out
}

func checkNonNeg(what string, v float64) error {
	if err := energy.Check(what, v); err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("%s: %v: must not be negative", what, v)
	}
	return nil
}
