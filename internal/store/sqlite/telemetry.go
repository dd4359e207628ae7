package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/store"
)

const telemetryColumns = `miner_id, time_ns, state, power_w, power_estimated, power_target_w, profile,
	hashrate_ths, hashrate_avg_ths, temp_max_c, fan_rpm, boards, boards_active, uptime_ns,
	accepted, rejected, err`

// telemetryBatch is how many rows one INSERT statement carries; 17 columns ×
// 64 rows stays well under SQLite's limit of 32,766 parameters.
const telemetryBatch = 64

const telemetryNumCols = 17

// AddTelemetry writes rows in one transaction with prepared multi-row
// inserts. It validates every row first and writes none if any is invalid.
func (s *Store) AddTelemetry(ctx context.Context, rows []store.Telemetry) error {
	if len(rows) == 0 {
		return nil
	}
	args := make([]any, 0, len(rows)*telemetryNumCols)
	for i, r := range rows {
		if err := r.Check(); err != nil {
			return fmt.Errorf("add telemetry: row %d: %w", i, err)
		}
		ns, err := nanos("time", r.Status.Time)
		if err != nil {
			return fmt.Errorf("add telemetry: row %d (%s): %w", i, r.MinerID, err)
		}
		st := r.Status
		args = append(args,
			r.MinerID, ns, string(st.State), float64(st.Power), st.PowerEstimated, float64(st.PowerTarget), st.Profile,
			float64(st.Hashrate), float64(st.HashrateAvg), st.TempMaxC, encodeFans(st.FanRPM), int64(st.Boards), int64(st.BoardsActive), int64(st.Uptime),
			int64(st.Accepted), int64(st.Rejected), r.Err)
	}

	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add telemetry: begin: %w", err)
	}
	defer tx.Rollback()
	full := len(rows) / telemetryBatch
	if full > 0 {
		stmt, err := tx.PrepareContext(ctx, telemetryInsert(telemetryBatch))
		if err != nil {
			return fmt.Errorf("add telemetry: prepare: %w", err)
		}
		defer stmt.Close()
		per := telemetryBatch * telemetryNumCols
		for b := range full {
			if _, err := stmt.ExecContext(ctx, args[b*per:(b+1)*per]...); err != nil {
				return fmt.Errorf("add telemetry: insert rows %d–%d: %w", b*telemetryBatch, (b+1)*telemetryBatch-1, err)
			}
		}
	}
	if rest := len(rows) % telemetryBatch; rest > 0 {
		if _, err := tx.ExecContext(ctx, telemetryInsert(rest), args[full*telemetryBatch*telemetryNumCols:]...); err != nil {
			return fmt.Errorf("add telemetry: insert last %d rows: %w", rest, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add telemetry: commit: %w", err)
	}
	return nil
}

// telemetryInsert returns an INSERT of n rows.
func telemetryInsert(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", telemetryNumCols), ",") + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO telemetry (" + telemetryColumns + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

// Telemetry returns minerID's rows with Status.Time in [from, to), ascending
// (insertion order among equal times).
func (s *Store) Telemetry(ctx context.Context, minerID string, from, to time.Time) ([]store.Telemetry, error) {
	rows, err := s.reader.QueryContext(ctx,
		`SELECT `+telemetryColumns+` FROM telemetry
		 WHERE miner_id = ? AND time_ns >= ? AND time_ns < ?
		 ORDER BY time_ns, id`,
		minerID, boundNanos(from), boundNanos(to))
	if err != nil {
		return nil, fmt.Errorf("telemetry %s: query: %w", minerID, err)
	}
	defer rows.Close()
	var out []store.Telemetry
	for rows.Next() {
		var (
			r                           store.Telemetry
			ns, boards, active, up      int64
			acc, rej                    int64
			state                       string
			pw, target, hr, hrAvg, temp float64
			fans                        sql.NullString
		)
		if err := rows.Scan(&r.MinerID, &ns, &state, &pw, &r.Status.PowerEstimated, &target, &r.Status.Profile,
			&hr, &hrAvg, &temp, &fans, &boards, &active, &up, &acc, &rej, &r.Err); err != nil {
			return nil, fmt.Errorf("telemetry %s: scan: %w", minerID, err)
		}
		st := &r.Status
		st.Time = fromNanos(ns)
		st.State = miner.State(state)
		st.Power, st.PowerTarget = energy.Power(pw), energy.Power(target)
		st.Hashrate, st.HashrateAvg = energy.Hashrate(hr), energy.Hashrate(hrAvg)
		st.TempMaxC = temp
		st.Boards, st.BoardsActive, st.Uptime = int(boards), int(active), time.Duration(up)
		st.Accepted, st.Rejected = uint64(acc), uint64(rej)
		if st.FanRPM, err = decodeFans(fans); err != nil {
			return nil, fmt.Errorf("telemetry %s at %s: %w", minerID, st.Time.Format(time.RFC3339Nano), err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("telemetry %s: %w", minerID, err)
	}
	return out, nil
}

// encodeFans stores nil as NULL, an empty list as "" and otherwise the
// comma-separated speeds, so the slice comes back exactly as written.
func encodeFans(rpm []int) any {
	if rpm == nil {
		return nil
	}
	b := make([]byte, 0, len(rpm)*5)
	for i, v := range rpm {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return string(b)
}

func decodeFans(s sql.NullString) ([]int, error) {
	if !s.Valid {
		return nil, nil
	}
	if s.String == "" {
		return []int{}, nil
	}
	parts := strings.Split(s.String, ",")
	out := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("fan rpm %q: %w", s.String, err)
		}
		out[i] = v
	}
	return out, nil
}
