package site

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Alert is a condition an operator must see: stale inputs, a meter that
// disagrees, a trip. It stays raised until the condition clears.
type Alert struct {
	Kind    string    `json:"kind"`
	Since   time.Time `json:"since"`
	Message string    `json:"message"`
}

// Alert kinds.
const (
	AlertStalePrice   = "stale-price"
	AlertStaleBitcoin = "stale-bitcoin"
	AlertMeter        = "meter-unreadable"
	AlertUnaccounted  = "unaccounted-draw"
	AlertTrip         = "under-frequency-trip"
)

// raise sets (or refreshes the message of) an alert; callers hold mu.
func (s *Site) raiseLocked(kind, msg string, now time.Time) {
	if s.alerts == nil {
		s.alerts = map[string]Alert{}
	}
	a, ok := s.alerts[kind]
	if !ok {
		a = Alert{Kind: kind, Since: now}
		s.log.Warn("alert raised", "kind", kind, "message", msg)
	}
	a.Message = msg
	s.alerts[kind] = a
}

// clearLocked lowers an alert; callers hold mu.
func (s *Site) clearLocked(kind string) {
	if _, ok := s.alerts[kind]; ok {
		s.log.Info("alert cleared", "kind", kind)
		delete(s.alerts, kind)
	}
}

// setAlert raises or clears kind.
func (s *Site) setAlert(kind string, on bool, msg string) {
	now := s.deps.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.raiseLocked(kind, msg, now)
	} else {
		s.clearLocked(kind)
	}
}

// alertList is the raised alerts, oldest first; callers hold mu.
func (s *Site) alertListLocked() []Alert {
	out := slices.Collect(maps.Values(s.alerts))
	slices.SortFunc(out, func(a, b Alert) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	return out
}
