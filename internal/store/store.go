// Package store defines gridminer's persistence contract, Store: miner
// telemetry, dispatch decisions, the settlement ledger and collections of
// JSON documents (OpenADR objects, event lifecycles), written by the
// live loop and read by the HTTP API, dashboard and reports.
//
// The package holds only the contract, the row types and their validation.
// Implementations live in subpackages (sqlite now, postgres later) and all
// pass the conformance suite in storetest. It does not compute anything:
// ledger entries arrive settled (internal/ledger) and decisions arrive made
// (internal/dispatch).
//
// Contract, for every implementation:
//   - Times are returned in UTC. Implementations may store them at a coarser
//     resolution than time.Time; sqlite and the conformance suite use
//     nanoseconds.
//   - Range queries take half-open [from, to) bounds and return rows in
//     ascending time order; rows with equal times come in insertion order.
//   - Money and bitcoin are stored as integers and come back exact.
//   - Writes validate their input (Telemetry.Check, Decision.Check,
//     ledger.Entry.Check) and reject it whole with an error naming the row;
//     nothing is written from a rejected call.
package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
	"github.com/gridminer/gridminer/internal/miner"
)

// Telemetry is one reading of one miner. Err is non-empty when the read
// failed (Status.State is then miner.StateOffline, and Status.Time is when
// the read was attempted).
type Telemetry struct {
	MinerID string
	Status  miner.Status
	Err     string
}

// Setpoint is what one miner was told in a decision.
type Setpoint struct {
	MinerID string
	Mode    miner.Mode
	Power   energy.Power
	Reason  string
}

// Decision is one dispatch decision for one settlement interval.
type Decision struct {
	Time         time.Time       // when the decision was made
	Interval     energy.Interval // the interval it was made for
	Policy       string
	Price        energy.Price // price the policy saw
	Breakeven    energy.Price // price above which mining loses money
	PlannedPower energy.Power // site power planned
	Reason       string
	Setpoints    []Setpoint
}

// Store persists telemetry, decisions and the ledger. Implementations are
// safe for concurrent use.
type Store interface {
	// AddTelemetry writes rows in one transaction: all or none.
	AddTelemetry(ctx context.Context, rows []Telemetry) error
	// AddDecision writes a decision with its setpoints.
	AddDecision(ctx context.Context, d Decision) error
	// PutLedger inserts e, or replaces the entry with the same interval start.
	PutLedger(ctx context.Context, e ledger.Entry) error
	// Ledger returns the entries whose interval starts in [from, to), ascending.
	Ledger(ctx context.Context, from, to time.Time) ([]ledger.Entry, error)
	// LedgerTotals sums every entry in the ledger; integer fields exactly.
	LedgerTotals(ctx context.Context) (ledger.Totals, error)
	// Telemetry returns minerID's rows with Status.Time in [from, to), ascending.
	Telemetry(ctx context.Context, minerID string, from, to time.Time) ([]Telemetry, error)
	// LatestDecision returns the decision with the latest Time (the last
	// written among equals); ok is false when there is none.
	LatestDecision(ctx context.Context) (d Decision, ok bool, err error)
	// Decisions returns the decisions with Time in [from, to), ascending.
	Decisions(ctx context.Context, from, to time.Time) ([]Decision, error)
	// PutObject inserts or replaces the JSON document id in collection
	// (OpenADR VTN objects, demand-response event lifecycles). body must
	// be valid JSON; Updated is set to now.
	PutObject(ctx context.Context, collection, id string, body []byte, now time.Time) error
	// Object returns one document; ok is false when there is none.
	Object(ctx context.Context, collection, id string) (o Object, ok bool, err error)
	// Objects returns every document of collection in insertion order
	// (a replaced document keeps its place).
	Objects(ctx context.Context, collection string) ([]Object, error)
	// DeleteObject removes a document; ok is false when there was none.
	DeleteObject(ctx context.Context, collection, id string) (ok bool, err error)
	// Close flushes and releases the store.
	Close() error
}

// Object is one stored JSON document.
type Object struct {
	Collection, ID string
	Body           []byte
	Created        time.Time
	Updated        time.Time
}

// CheckObject reports whether a document can be stored: a collection and
// an id (each at most 200 bytes) and a JSON body.
func CheckObject(collection, id string, body []byte) error {
	switch {
	case collection == "" || len(collection) > 200:
		return fmt.Errorf("object collection %q: want 1 to 200 bytes", collection)
	case id == "" || len(id) > 200:
		return fmt.Errorf("object %s/%q: id: want 1 to 200 bytes", collection, id)
	case !json.Valid(body):
		return fmt.Errorf("object %s/%s: body is not valid JSON", collection, id)
	}
	return nil
}

// Check reports whether t can be stored: a miner ID, a non-zero time, a
// known state and finite, non-negative numbers.
func (t Telemetry) Check() error {
	if t.MinerID == "" {
		return fmt.Errorf("telemetry: empty miner id")
	}
	s := t.Status
	if s.Time.IsZero() {
		return fmt.Errorf("telemetry %s: status time is zero", t.MinerID)
	}
	if !knownState(s.State) {
		return fmt.Errorf("telemetry %s at %s: unknown state %q", t.MinerID, s.Time.UTC().Format(time.RFC3339Nano), s.State)
	}
	for _, c := range []struct {
		what string
		v    float64
	}{
		{"power", float64(s.Power)},
		{"power target", float64(s.PowerTarget)},
		{"hashrate", float64(s.Hashrate)},
		{"average hashrate", float64(s.HashrateAvg)},
	} {
		if err := nonNegative(c.what, c.v); err != nil {
			return fmt.Errorf("telemetry %s at %s: %w", t.MinerID, s.Time.UTC().Format(time.RFC3339Nano), err)
		}
	}
	if err := energy.Check("max temperature", s.TempMaxC); err != nil {
		return fmt.Errorf("telemetry %s at %s: %w", t.MinerID, s.Time.UTC().Format(time.RFC3339Nano), err)
	}
	if s.Boards < 0 || s.BoardsActive < 0 || s.Uptime < 0 {
		return fmt.Errorf("telemetry %s at %s: negative boards, active boards or uptime", t.MinerID, s.Time.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// Check reports whether d can be stored: a non-zero time, a non-empty
// interval, finite numbers and valid setpoints.
func (d Decision) Check() error {
	if d.Time.IsZero() {
		return fmt.Errorf("decision: time is zero")
	}
	at := d.Time.UTC().Format(time.RFC3339Nano)
	if d.Interval.Duration() <= 0 {
		return fmt.Errorf("decision at %s: interval %s: %w", at, d.Interval, energy.ErrBadInterval)
	}
	for _, c := range []struct {
		what string
		v    float64
	}{
		{"price", float64(d.Price)},
		{"breakeven", float64(d.Breakeven)},
		{"planned power", float64(d.PlannedPower)},
	} {
		if err := energy.Check(c.what, c.v); err != nil {
			return fmt.Errorf("decision at %s: %w", at, err)
		}
	}
	for i, sp := range d.Setpoints {
		if sp.MinerID == "" {
			return fmt.Errorf("decision at %s: setpoint %d: empty miner id", at, i)
		}
		if sp.Mode != miner.ModeRun && sp.Mode != miner.ModeSleep {
			return fmt.Errorf("decision at %s: setpoint %d (%s): unknown mode %q", at, i, sp.MinerID, sp.Mode)
		}
		if err := nonNegative("power", float64(sp.Power)); err != nil {
			return fmt.Errorf("decision at %s: setpoint %d (%s): %w", at, i, sp.MinerID, err)
		}
	}
	return nil
}

func knownState(s miner.State) bool {
	for _, k := range miner.States {
		if s == k {
			return true
		}
	}
	return false
}

func nonNegative(what string, v float64) error {
	if err := energy.Check(what, v); err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("%s: %v: must not be negative", what, v)
	}
	return nil
}
