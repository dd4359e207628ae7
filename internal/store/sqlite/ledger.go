package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
)

// PutLedger inserts e, or replaces the entry with the same interval start.
func (s *Store) PutLedger(ctx context.Context, e ledger.Entry) error {
	if err := e.Check(); err != nil {
		return fmt.Errorf("put ledger: %w", err)
	}
	start, err := nanos("interval start", e.Interval.Start)
	if err != nil {
		return fmt.Errorf("put ledger: %w", err)
	}
	end, err := nanos("interval end", e.Interval.End)
	if err != nil {
		return fmt.Errorf("put ledger: %w", err)
	}
	if _, err := s.writer.ExecContext(ctx,
		`INSERT OR REPLACE INTO ledger (`+ledgerColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		start, end, float64(e.Energy), float64(e.AvgPower), float64(e.AvgHashrate), int64(e.Covered),
		float64(e.Price), int64(e.Cost), int64(e.BTC), e.BTCPriceUSD, int64(e.Revenue), int64(e.Net)); err != nil {
		return fmt.Errorf("put ledger %s: %w", e.Interval, err)
	}
	return nil
}

const ledgerColumns = `interval_start_ns, interval_end_ns, energy_wh, avg_power_w, avg_hashrate_ths, covered_ns,
	price, cost_micros, btc_msat, btc_price_usd, revenue_micros, net_micros`

// Ledger returns the entries whose interval starts in [from, to), ascending.
func (s *Store) Ledger(ctx context.Context, from, to time.Time) ([]ledger.Entry, error) {
	rows, err := s.reader.QueryContext(ctx,
		`SELECT `+ledgerColumns+` FROM ledger WHERE interval_start_ns >= ? AND interval_start_ns < ? ORDER BY interval_start_ns`,
		boundNanos(from), boundNanos(to))
	if err != nil {
		return nil, fmt.Errorf("ledger: query: %w", err)
	}
	defer rows.Close()
	var out []ledger.Entry
	for rows.Next() {
		var (
			e                                   ledger.Entry
			start, end, covered                 int64
			cost, msat, revenue, net            int64
			energyWh, avgW, avgTHs, price, btcP float64
		)
		if err := rows.Scan(&start, &end, &energyWh, &avgW, &avgTHs, &covered, &price, &cost, &msat, &btcP, &revenue, &net); err != nil {
			return nil, fmt.Errorf("ledger: scan: %w", err)
		}
		e.Interval = energy.Interval{Start: fromNanos(start), End: fromNanos(end)}
		e.Energy, e.AvgPower, e.AvgHashrate = energy.Energy(energyWh), energy.Power(avgW), energy.Hashrate(avgTHs)
		e.Covered = time.Duration(covered)
		e.Price, e.BTCPriceUSD = energy.Price(price), btcP
		e.Cost, e.BTC, e.Revenue, e.Net = ledger.Micros(cost), ledger.MilliSats(msat), ledger.Micros(revenue), ledger.Micros(net)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return out, nil
}

// LedgerTotals sums the whole ledger in SQL; SQLite sums the integer columns
// exactly and fails rather than overflow.
func (s *Store) LedgerTotals(ctx context.Context) (ledger.Totals, error) {
	var (
		t                        ledger.Totals
		energyWh                 float64
		cost, revenue, net, msat int64
	)
	if err := s.reader.QueryRowContext(ctx,
		`SELECT count(*), coalesce(sum(energy_wh), 0.0), coalesce(sum(cost_micros), 0), coalesce(sum(revenue_micros), 0),
		 coalesce(sum(net_micros), 0), coalesce(sum(btc_msat), 0) FROM ledger`).
		Scan(&t.Intervals, &energyWh, &cost, &revenue, &net, &msat); err != nil {
		return ledger.Totals{}, fmt.Errorf("ledger totals: %w", err)
	}
	t.Energy = energy.Energy(energyWh)
	t.Cost, t.Revenue, t.Net, t.BTC = ledger.Micros(cost), ledger.Micros(revenue), ledger.Micros(net), ledger.MilliSats(msat)
	return t, nil
}
