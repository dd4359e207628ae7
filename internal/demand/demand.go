// Package demand holds what the grid asks of the site: demand-response
// and grid events from any source (an OpenADR 3 VTN, ERCOT grid
// conditions, an operator), as one Event type, and Resolve, which turns the
// events in force at an instant into site constraints for dispatch: an
// import cap, a draw to hold (a dispatch setpoint), and a price.
//
// Sources implement Source: Run sends the full current set of a source's
// events on each change and returns when its context ends. The package does
// no I/O itself; sources live in subpackages (openadr3, ercotgrid, manual)
// and the live loop (internal/site) merges their sets.
package demand

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
)

// Kind is what an event asks for.
type Kind string

const (
	// Cap limits the site's grid import to Power (OpenADR
	// IMPORT_CAPACITY_LIMIT; a curtailment call).
	Cap Kind = "cap"
	// Target asks the site to draw Power (OpenADR DISPATCH_SETPOINT): a
	// cap at Power and, as far as the fleet can, a floor at Power.
	Target Kind = "target"
	// Level is a SIMPLE signal level 0-3, mapped to a cap by Tiers.
	Level Kind = "level"
	// Price is a price signal for the event's span ($/MWh).
	Price Kind = "price"
)

// Status is where an event is in its life.
type Status string

const (
	Received  Status = "received"  // known, not yet checked against the clock
	Scheduled Status = "scheduled" // starts in the future
	Active    Status = "active"    // in force now
	Completed Status = "completed" // ended
	Cancelled Status = "cancelled" // withdrawn (deleted, or updated to end) before it ended
)

// Event is one thing the grid asks of the site over [Start, End).
type Event struct {
	// Source names where the event came from ("openadr3", "ercot-grid",
	// "manual"); ID is unique within the source.
	Source, ID string
	Program    string
	Name       string
	Kind       Kind
	Start      time.Time
	// End is when the event ends; zero means open-ended (OpenADR P9999Y).
	End time.Time
	// Priority orders events of one kind: lower numbers win (OpenADR:
	// 0 is the highest priority); caps all apply whatever their priority.
	Priority int
	Power    energy.Power // Cap and Target
	Level    int          // Level
	Price    energy.Price // Price
	// Cancelled is set when the source withdrew the event.
	Cancelled bool
}

// Key is the event's identity across sources.
func (e Event) Key() string { return e.Source + "/" + e.ID }

// In reports whether the event is in force at t.
func (e Event) In(t time.Time) bool {
	return !e.Cancelled && !t.Before(e.Start) && (e.End.IsZero() || t.Before(e.End))
}

// StatusAt is the event's status at t.
func (e Event) StatusAt(t time.Time) Status {
	switch {
	case e.Cancelled:
		return Cancelled
	case t.Before(e.Start):
		return Scheduled
	case e.End.IsZero() || t.Before(e.End):
		return Active
	}
	return Completed
}

// ErrBadEvent is wrapped by Validate's errors.
var ErrBadEvent = errors.New("bad demand event")

// Validate checks one event: a source, an id, a known kind, a start, an
// end after it (or none), and finite, non-negative values.
func (e Event) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("event %s: %s: %w", e.Key(), fmt.Sprintf(format, a...), ErrBadEvent)
	}
	switch {
	case e.Source == "" || e.ID == "":
		return bad("no source or id")
	case e.Start.IsZero():
		return bad("no start")
	case !e.End.IsZero() && !e.End.After(e.Start):
		return bad("end %s is not after start %s", e.End.Format(time.RFC3339), e.Start.Format(time.RFC3339))
	}
	switch e.Kind {
	case Cap, Target:
		if _, err := energy.NewPower("power", float64(e.Power)); err != nil {
			return bad("%v", err)
		}
	case Level:
		if e.Level < 0 || e.Level > 3 {
			return bad("level %d: want 0 to 3", e.Level)
		}
	case Price:
		if err := energy.Check("price", float64(e.Price)); err != nil {
			return bad("%v", err)
		}
	default:
		return bad("unknown kind %q", e.Kind)
	}
	return nil
}

// Source supplies a source's events: Run sends the full current set on
// each change (an empty set when none remain) and returns when ctx ends.
type Source interface {
	Run(ctx context.Context, out chan<- []Event) error
}

// Tiers maps SIMPLE levels 1-3 to site import caps: Tiers[0] for level 1,
// and so on. Level 0 is normal operation (no cap). A level beyond the
// configured tiers takes the last tier.
type Tiers []energy.Power

// DefaultTiers caps the site at 75%, 50% and 0% of full (a fraction of
// full, the site's import cap or fleet power).
func DefaultTiers(full energy.Power) Tiers {
	return Tiers{full * 3 / 4, full / 2, 0}
}

// Constraint is what the events in force at an instant ask of the site.
type Constraint struct {
	// Cap is the import cap the events set, HasCap whether any does.
	Cap    energy.Power
	HasCap bool
	// Floor is the draw a dispatch setpoint asks the site to keep.
	Floor energy.Power
	// Price is a price an event sets, HasPrice whether any does.
	Price    energy.Price
	HasPrice bool
	// Events are the keys of the events in force, in Resolve's order.
	Events []string
	// Reason says which events set what.
	Reason string
}

// Resolve returns the constraint the events in force at t set. Every cap
// applies (the lowest wins); of the dispatch setpoints and prices in
// force, the highest priority (lowest number) wins, ties going to the
// latest start. A setpoint caps the site at its power and asks for it as a
// floor; a SIMPLE level caps the site at its tier.
func Resolve(events []Event, t time.Time, tiers Tiers) Constraint {
	var in []Event
	for _, e := range events {
		if e.In(t) {
			in = append(in, e)
		}
	}
	slices.SortStableFunc(in, func(a, b Event) int {
		if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		if c := b.Start.Compare(a.Start); c != 0 {
			return c
		}
		return strings.Compare(a.Key(), b.Key())
	})
	var c Constraint
	var why []string
	capAt := func(w energy.Power, e Event, what string) {
		if !c.HasCap || w < c.Cap {
			c.Cap, c.HasCap = w, true
		}
		why = append(why, fmt.Sprintf("%s %s (%s)", what, w, e.Key()))
	}
	target, price := false, false
	for _, e := range in {
		c.Events = append(c.Events, e.Key())
		switch e.Kind {
		case Cap:
			capAt(e.Power, e, "cap")
		case Level:
			if e.Level == 0 || len(tiers) == 0 {
				why = append(why, fmt.Sprintf("level %d (%s)", e.Level, e.Key()))
				continue
			}
			capAt(tiers[min(e.Level, len(tiers))-1], e, fmt.Sprintf("level %d cap", e.Level))
		case Target:
			if target {
				continue // a higher priority setpoint is in force
			}
			target = true
			c.Floor = e.Power
			capAt(e.Power, e, "setpoint")
		case Price:
			if price {
				continue
			}
			price = true
			c.Price, c.HasPrice = e.Price, true
			why = append(why, fmt.Sprintf("price %s (%s)", e.Price, e.Key()))
		}
	}
	if c.HasCap && c.Floor > c.Cap {
		c.Floor = c.Cap // a lower cap overrides a setpoint
	}
	c.Reason = strings.Join(why, "; ")
	return c
}

// Next returns the earliest instant after t at which the set of events in
// force changes (an event starts or ends), and false when none will.
func Next(events []Event, t time.Time) (time.Time, bool) {
	var next time.Time
	consider := func(x time.Time) {
		if x.After(t) && (next.IsZero() || x.Before(next)) {
			next = x
		}
	}
	for _, e := range events {
		if e.Cancelled {
			continue
		}
		consider(e.Start)
		if !e.End.IsZero() {
			consider(e.End)
		}
	}
	return next, !next.IsZero()
}
