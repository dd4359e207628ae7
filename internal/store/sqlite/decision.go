package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/store"
)

// setpointJSON is one setpoint in the decisions.setpoints column. Short keys
// and omitted zero values keep a 10,000-miner decision small.
type setpointJSON struct {
	MinerID string     `json:"m"`
	Mode    miner.Mode `json:"o"`
	Power   float64    `json:"p,omitempty"`
	Reason  string     `json:"r,omitempty"`
}

// AddDecision writes d with its setpoints as one JSON array.
func (s *Store) AddDecision(ctx context.Context, d store.Decision) error {
	if err := d.Check(); err != nil {
		return fmt.Errorf("add decision: %w", err)
	}
	at, err := nanos("time", d.Time)
	if err != nil {
		return fmt.Errorf("add decision: %w", err)
	}
	start, err := nanos("interval start", d.Interval.Start)
	if err != nil {
		return fmt.Errorf("add decision at %s: %w", d.Time.UTC().Format(time.RFC3339Nano), err)
	}
	end, err := nanos("interval end", d.Interval.End)
	if err != nil {
		return fmt.Errorf("add decision at %s: %w", d.Time.UTC().Format(time.RFC3339Nano), err)
	}
	var sps any // NULL for nil setpoints
	if d.Setpoints != nil {
		js := make([]setpointJSON, len(d.Setpoints))
		for i, sp := range d.Setpoints {
			js[i] = setpointJSON{MinerID: sp.MinerID, Mode: sp.Mode, Power: float64(sp.Power), Reason: sp.Reason}
		}
		b, err := json.Marshal(js)
		if err != nil {
			return fmt.Errorf("add decision at %s: encode setpoints: %w", d.Time.UTC().Format(time.RFC3339Nano), err)
		}
		sps = string(b)
	}
	if _, err := s.writer.ExecContext(ctx,
		`INSERT INTO decisions (time_ns, interval_start_ns, interval_end_ns, policy, price, breakeven,
		 planned_power_w, reason, setpoints) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		at, start, end, d.Policy, float64(d.Price), float64(d.Breakeven), float64(d.PlannedPower), d.Reason, sps); err != nil {
		return fmt.Errorf("add decision at %s: %w", d.Time.UTC().Format(time.RFC3339Nano), err)
	}
	return nil
}

const decisionColumns = `time_ns, interval_start_ns, interval_end_ns, policy, price, breakeven, planned_power_w, reason, setpoints`

// LatestDecision returns the decision with the latest time, the last written
// among equal times.
func (s *Store) LatestDecision(ctx context.Context) (store.Decision, bool, error) {
	row := s.reader.QueryRowContext(ctx, `SELECT `+decisionColumns+` FROM decisions ORDER BY time_ns DESC, id DESC LIMIT 1`)
	d, err := scanDecision(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Decision{}, false, nil
	}
	if err != nil {
		return store.Decision{}, false, fmt.Errorf("latest decision: %w", err)
	}
	return d, true, nil
}

// Decisions returns the decisions with Time in [from, to), ascending.
func (s *Store) Decisions(ctx context.Context, from, to time.Time) ([]store.Decision, error) {
	rows, err := s.reader.QueryContext(ctx,
		`SELECT `+decisionColumns+` FROM decisions WHERE time_ns >= ? AND time_ns < ? ORDER BY time_ns, id`,
		boundNanos(from), boundNanos(to))
	if err != nil {
		return nil, fmt.Errorf("decisions: query: %w", err)
	}
	defer rows.Close()
	var out []store.Decision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, fmt.Errorf("decisions: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("decisions: %w", err)
	}
	return out, nil
}

func scanDecision(row interface{ Scan(...any) error }) (store.Decision, error) {
	var (
		d                         store.Decision
		at, start, end            int64
		price, breakeven, planned float64
		sps                       sql.NullString
	)
	if err := row.Scan(&at, &start, &end, &d.Policy, &price, &breakeven, &planned, &d.Reason, &sps); err != nil {
		return store.Decision{}, err
	}
	d.Time = fromNanos(at)
	d.Interval = energy.Interval{Start: fromNanos(start), End: fromNanos(end)}
	d.Price, d.Breakeven, d.PlannedPower = energy.Price(price), energy.Price(breakeven), energy.Power(planned)
	if sps.Valid {
		var js []setpointJSON
		if err := json.Unmarshal([]byte(sps.String), &js); err != nil {
			return store.Decision{}, fmt.Errorf("decision at %s: decode setpoints: %w", d.Time.Format(time.RFC3339Nano), err)
		}
		d.Setpoints = make([]store.Setpoint, len(js))
		for i, j := range js {
			d.Setpoints[i] = store.Setpoint{MinerID: j.MinerID, Mode: j.Mode, Power: energy.Power(j.Power), Reason: j.Reason}
		}
	}
	return d, nil
}
