package miner

import (
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
)

// Known is what a machine last told its driver about state that changes
// only by command (a curtail mode, a profile, whether it is powered off),
// so the driver can skip a read when it already knows the answer. What is
// known is trusted for MaxAge of Clock's time and then read again; such
// state lives on the machine, so Clock is a wall clock (nil means the real
// one) even when a site runs on an accelerated clock. A stale guess costs
// at most a redundant or missing command, which the caller's read-back
// catches. The zero value knows nothing. Safe for concurrent use.
type Known[T any] struct {
	Clock  clock.Clock
	MaxAge time.Duration

	mu sync.Mutex
	at time.Time // zero: nothing known
	v  T
}

func (k *Known[T]) now() time.Time {
	if k.Clock == nil {
		return time.Now()
	}
	return k.Clock.Now()
}

// Set records v as known now.
func (k *Known[T]) Set(v T) { k.Update(func(p *T) { *p = v }) }

// Update changes the known value in place (starting from the last value,
// fresh or not) and records it as known now.
func (k *Known[T]) Update(f func(v *T)) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	f(&k.v)
	k.at = now
}

// Forget drops what is known, after a failed command whose effect is unknown.
func (k *Known[T]) Forget() {
	k.mu.Lock()
	defer k.mu.Unlock()
	var zero T
	k.v, k.at = zero, time.Time{}
}

// Get returns the known value and whether it is fresh: learnt less than
// MaxAge ago (and not in the future of a clock that went backwards).
func (k *Known[T]) Get() (T, bool) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	age := now.Sub(k.at)
	return k.v, !k.at.IsZero() && age >= 0 && age < k.MaxAge
}
