package backtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/ledger"
	"github.com/gridminer/gridminer/internal/price"
)

// MoneyUnit states how summary.json and ledger.csv carry money.
const MoneyUnit = "micro-USD: integers of 1e-6 US dollars. Each interval is rounded once, half away from zero, " +
	"per settlement component (see ledger.csv); every total is the exact integer sum of its ledger.csv column, " +
	"and net_micro_usd = Σ net − fourcp_charge − demand_charge. The *_usd strings are the same amounts written as decimals."

// Summary is summary.json: the run and each policy's totals.
type Summary struct {
	Site      string          `json:"site,omitempty"`
	Point     string          `json:"point,omitempty"`
	From      time.Time       `json:"from"`
	To        time.Time       `json:"to"`
	Interval  string          `json:"interval"`
	Intervals int             `json:"intervals"`
	MoneyUnit string          `json:"money_unit"`
	Inputs    []string        `json:"inputs,omitempty"`
	Policies  []PolicySummary `json:"policies"`
}

// PolicySummary is one policy's line of summary.json.
type PolicySummary struct {
	Policy         string        `json:"policy"`
	MWh            float64       `json:"mwh_drawn"`
	ImportMWh      float64       `json:"mwh_imported"`
	BTC            float64       `json:"btc_mined"`
	MilliSats      int64         `json:"btc_mined_msat"`
	MiningRevenue  ledger.Micros `json:"mining_revenue_micro_usd"`
	PowerCost      ledger.Micros `json:"power_cost_micro_usd"`
	Resale         ledger.Micros `json:"resale_credit_micro_usd"`
	Export         ledger.Micros `json:"export_credit_micro_usd"`
	DRCredit       ledger.Micros `json:"dr_as_credit_micro_usd"`
	Penalty        ledger.Micros `json:"penalty_micro_usd"`
	AIValue        ledger.Micros `json:"ai_value_micro_usd"`
	FourCPTagKW    float64       `json:"fourcp_tag_kw"`
	FourCPPeaksKW  []float64     `json:"fourcp_peaks_kw,omitempty"`
	FourCPCharge   ledger.Micros `json:"fourcp_charge_micro_usd"`
	DemandCharge   ledger.Micros `json:"demand_charge_micro_usd"`
	UptimePct      float64       `json:"uptime_pct"`
	EffectivePrice float64       `json:"effective_usd_per_mwh"`
	Net            ledger.Micros `json:"net_micro_usd"`
	NetPctOfOracle *float64      `json:"net_pct_of_oracle"`
	USD            USDAmounts    `json:"usd"`
	OracleMethod   string        `json:"oracle_method,omitempty"`
	OracleGapPct   *float64      `json:"oracle_gap_pct,omitempty"`
	FourCPLowHours float64       `json:"fourcp_low_hours,omitempty"`
}

// USDAmounts are a policy's money as exact decimal strings.
type USDAmounts struct {
	MiningRevenue string `json:"mining_revenue"`
	PowerCost     string `json:"power_cost"`
	Resale        string `json:"resale_credit"`
	DRCredit      string `json:"dr_as_credit"`
	Penalty       string `json:"penalty"`
	FourCPCharge  string `json:"fourcp_charge"`
	Net           string `json:"net"`
}

// Decimal writes m as an exact decimal amount of dollars: "-12.345678".
func Decimal(m ledger.Micros) string {
	neg := m < 0
	u := uint64(m)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u/ledger.MicrosPerUSD, 10) + "." + fmt.Sprintf("%06d", u%ledger.MicrosPerUSD)
	if neg {
		s = "-" + s
	}
	return s
}

// Summarize builds the summary of results (in order). The oracle, when
// present with a positive net, is the reference of net_pct_of_oracle.
func Summarize(results []Result) []PolicySummary {
	var oracleNet ledger.Micros
	for _, r := range results {
		if r.Policy == dispatch.PolicyOracle && r.Totals.Net > 0 {
			oracleNet = r.Totals.Net
		}
	}
	out := make([]PolicySummary, 0, len(results))
	for _, r := range results {
		t := r.Totals
		s := PolicySummary{
			Policy: r.Policy, MWh: t.Energy.MWh(), ImportMWh: t.ImportEnergy.MWh(), BTC: t.BTC.BTC(), MilliSats: int64(t.BTC),
			MiningRevenue: t.Revenue, PowerCost: t.PowerCost, Resale: t.Resale, Export: t.Export, DRCredit: t.DRCredit,
			Penalty: t.Penalty, AIValue: t.AIValue, FourCPTagKW: t.FourCPTagKW, FourCPPeaksKW: t.FourCPPeaksKW,
			FourCPCharge: t.FourCPCharge, DemandCharge: t.DemandCharge, UptimePct: 100 * t.Uptime,
			EffectivePrice: float64(t.EffectivePrice), Net: t.Net, FourCPLowHours: t.FourCPLowHours,
		}
		s.USD = USDAmounts{Decimal(t.Revenue), Decimal(t.PowerCost), Decimal(t.Resale), Decimal(t.DRCredit), Decimal(t.Penalty),
			Decimal(t.FourCPCharge), Decimal(t.Net)}
		if oracleNet > 0 {
			pct := 100 * float64(t.Net) / float64(oracleNet)
			s.NetPctOfOracle = &pct
		}
		if r.Method != "" {
			s.OracleMethod = r.Method
			gap := 100 * r.Gap
			s.OracleGapPct = &gap
		}
		out = append(out, s)
	}
	return out
}

// WriteSummary writes s as indented JSON.
func WriteSummary(w io.Writer, s Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// LedgerHeader is the header of ledger.csv. Power is in watts (average
// over the interval), energy in watt-hours, money in micro-USD.
var LedgerHeader = []string{
	"policy", "start_utc", "start_local", "price_usd_per_mwh", "planned_price_usd_per_mwh",
	"mining_w", "ai_w", "import_w", "load_wh", "import_wh", "block_wh", "block_unused_wh", "spot_wh", "export_wh",
	"running", "hashrate_ths", "btc_price_usd", "btc_per_th_day", "btc_msat",
	"mining_revenue_micro_usd", "block_cost_micro_usd", "spot_cost_micro_usd", "resale_credit_micro_usd",
	"export_credit_micro_usd", "dr_as_credit_micro_usd", "penalty_micro_usd", "ai_value_micro_usd", "net_micro_usd",
	"fourcp_peak", "reason",
}

// WriteLedger writes every interval of every result, policy by policy,
// as CSV with LedgerHeader. Floats are written in the shortest form that
// reads back to the same value.
func (c *Config) WriteLedger(w io.Writer, results []Result) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	loc := price.ERCOTLocation()
	line := make([]byte, 0, 512)
	line = appendRecord(line, LedgerHeader)
	if _, err := bw.Write(line); err != nil {
		return err
	}
	f := func(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'g', -1, 64) }
	i := func(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }
	for _, r := range results {
		for _, row := range r.Rows {
			s := row.Settle
			e := c.economics(row.Interval.Start)
			b := line[:0]
			b = appendField(b, r.Policy)
			b = append(b, ',')
			b = row.Interval.Start.UTC().AppendFormat(b, time.RFC3339)
			b = append(b, ',')
			b = row.Interval.Start.In(loc).AppendFormat(b, "2006-01-02 15:04 MST")
			for _, v := range []float64{float64(row.Spot), float64(row.Expected), float64(row.Mining), float64(row.AI), float64(s.ImportW),
				float64(s.LoadWh), float64(s.ImportWh), float64(s.BlockWh), float64(s.BlockUnusedWh), float64(s.SpotWh), float64(s.ExportWh)} {
				b = f(append(b, ','), v)
			}
			b = i(append(b, ','), int64(row.Running))
			for _, v := range []float64{float64(row.Hashrate), e.PriceUSD, e.BTCPerTHDay()} {
				b = f(append(b, ','), v)
			}
			for _, v := range []int64{int64(row.BTC), int64(row.Revenue), int64(s.BlockCost), int64(s.SpotCost), int64(s.ResaleCredit),
				int64(s.ExportCredit), int64(s.CapacityCredit), int64(s.Penalty), int64(s.AIValue), int64(row.Net)} {
				b = i(append(b, ','), v)
			}
			peak := int64(0)
			if s.PeakInterval {
				peak = 1
			}
			b = i(append(b, ','), peak)
			b = append(b, ',')
			b = appendField(b, row.Reason)
			b = append(b, '\n')
			if _, err := bw.Write(b); err != nil {
				return err
			}
			line = b
		}
	}
	return bw.Flush()
}

func appendRecord(b []byte, fields []string) []byte {
	for k, s := range fields {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendField(b, s)
	}
	return append(b, '\n')
}

// appendField appends s as one CSV field, quoted when it must be.
func appendField(b []byte, s string) []byte {
	quote := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if !quote {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
