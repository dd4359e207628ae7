package config

import (
	"net"
	"strconv"
	"strings"

	"github.com/gridminer/gridminer/internal/meter"
)

// Meter is the site meter: import power, grid frequency and on-site
// generation over Modbus TCP.
type Meter struct {
	// Type: modbus, or empty for none.
	Type    string   `yaml:"type"`
	Address string   `yaml:"address"`
	UnitID  uint8    `yaml:"unit_id"`
	Timeout Duration `yaml:"timeout"`
	// Map: sunspec (discover, default), sunspec201-204, sunspec211-214 or
	// generic (then import: is required).
	Map          string          `yaml:"map"`
	SunSpec      meter.SunSpec   `yaml:"sunspec"`
	Import       *meter.Register `yaml:"import"`
	Frequency    *meter.Register `yaml:"frequency"`
	Generation   *meter.Register `yaml:"generation"`
	InvertImport bool            `yaml:"invert_import"`
	CoilUnitID   uint8           `yaml:"coil_unit_id"`
	// BaseKW is the site load the meter sees besides the fleet; the
	// meter loop sheds load when the import exceeds the plan plus BaseKW
	// by more than ToleranceKW (default 1% of the fleet plus 5 kW).
	BaseKW      float64 `yaml:"base_kw"`
	ToleranceKW float64 `yaml:"tolerance_kw"`
}

// Driver is the meter driver's configuration.
func (m Meter) Driver() meter.Config {
	return meter.Config{Address: m.Address, UnitID: m.UnitID, Timeout: m.Timeout.D(), Map: m.Map, SunSpec: m.SunSpec,
		Import: m.Import, Frequency: m.Frequency, Generation: m.Generation, InvertImport: m.InvertImport, CoilUnitID: m.CoilUnitID}
}

// OpenADR3 is the site's OpenADR 3 VEN.
type OpenADR3 struct {
	// URL is the VTN's base URL including its version path, e.g.
	// https://vtn.example.com/openadr3/3.1.0.
	URL string `yaml:"url"`
	// Version: 3.1.0 (default) or 3.0.1; the two encode targets differently.
	Version  string `yaml:"version"`
	ClientID string `yaml:"client_id"`
	// The client secret comes from an environment variable or a file.
	ClientSecretEnv  string   `yaml:"client_secret_env"`
	ClientSecretFile string   `yaml:"client_secret_file"`
	VENName          string   `yaml:"ven_name"`
	Programs         []string `yaml:"programs"`
	// Poll is the event poll period (default 30s); with WebhookListen the
	// VEN also subscribes and reacts to notifications at once.
	Poll          Duration `yaml:"poll"`
	WebhookListen string   `yaml:"webhook_listen"`
	CallbackURL   string   `yaml:"callback_url"`
}

// ERCOTGrid polls ERCOT's grid conditions (EEA levels) as demand events.
type ERCOTGrid struct {
	URL   string   `yaml:"url"`
	Every Duration `yaml:"every"`
	// EEALevels maps EEA1, EEA2, EEA3 to SIMPLE levels (default 1, 2, 3).
	EEALevels []int `yaml:"eea_levels"`
}

// UFR is the software under-frequency trip (it needs meter:).
type UFR struct {
	Enabled bool `yaml:"enabled"`
	// BelowHz trips (default 59.7) when frequency stays below it For
	// (default 0: the first sample).
	BelowHz float64  `yaml:"below_hz"`
	For     Duration `yaml:"for"`
	// RestoreHz and RestoreAfter reset the trip (default 59.95 Hz for 10m).
	RestoreHz    float64  `yaml:"restore_hz"`
	RestoreAfter Duration `yaml:"restore_after"`
	// SampleEvery is the frequency sample period (default 100ms).
	SampleEvery Duration `yaml:"sample_every"`
	// ShedMW is the committed load dropped, least efficient machines
	// first; 0 drops every running machine.
	ShedMW float64 `yaml:"shed_mw"`
	// RelayCoil, if set, is the meter's Modbus coil opened on a trip (a
	// breaker or PDU trip line) and closed on reset.
	RelayCoil *int `yaml:"relay_coil"`
}

// Demand is what the site does for demand-response and grid events.
type Demand struct {
	// TiersMW caps the site's import for OpenADR SIMPLE levels 1, 2 and 3
	// (default 75%, 50% and 0% of the import cap or fleet).
	TiersMW []float64 `yaml:"tiers_mw"`
	// CreditUSDPerMWh is each program's (or source's) credit per MWh
	// reduced below the event baseline.
	CreditUSDPerMWh map[string]float64 `yaml:"credit_usd_per_mwh"`
	// BaselineWindow is how long before an event its baseline is
	// averaged (default 1h).
	BaselineWindow Duration `yaml:"baseline_window"`
	// ManualFile keeps operator-entered curtailment calls (ERCOT's
	// voluntary large-flexible-load calls): .json or .yaml, written
	// atomically by the API; empty keeps them in memory.
	ManualFile string `yaml:"manual_file"`
	// ERCOTGrid, if set, turns ERCOT energy emergencies into events.
	ERCOTGrid *ERCOTGrid `yaml:"ercot_grid"`
	// OpenADR3, if set, runs a VEN against a utility's or aggregator's VTN.
	OpenADR3 *OpenADR3 `yaml:"openadr3"`
}

func (f *File) validateGrid(v *validator) {
	switch f.Meter.Type {
	case "":
	case "modbus":
		if err := f.Meter.Driver().Validate(); err != nil {
			v.fail("$.meter", "%v", err)
		}
		if f.Meter.BaseKW < 0 || !finite(f.Meter.BaseKW) || f.Meter.ToleranceKW < 0 || !finite(f.Meter.ToleranceKW) {
			v.fail("$.meter", "base_kw and tolerance_kw must be >= 0")
		}
	default:
		v.fail("$.meter.type", "%q: want modbus (or leave meter: out)", f.Meter.Type)
	}
	if g := f.Demand.ERCOTGrid; g != nil {
		if g.Every < 0 {
			v.fail("$.demand.ercot_grid.every", "must not be negative")
		}
		if len(g.EEALevels) > 3 {
			v.fail("$.demand.ercot_grid.eea_levels", "want at most 3 (for EEA1, EEA2, EEA3)")
		}
		for i, l := range g.EEALevels {
			if l < 0 || l > 3 {
				v.fail("$.demand.ercot_grid.eea_levels["+strconv.Itoa(i)+"]", "%d: want a SIMPLE level 0-3", l)
			}
		}
	}
	if o := f.Demand.OpenADR3; o != nil {
		if o.URL == "" || o.ClientID == "" || o.VENName == "" {
			v.fail("$.demand.openadr3", "needs url, client_id and ven_name")
		}
		if o.ClientSecretEnv == "" && o.ClientSecretFile == "" {
			v.fail("$.demand.openadr3", "needs client_secret_env or client_secret_file (secrets never live in the file)")
		}
		if o.Version != "" && o.Version != "3.1.0" && o.Version != "3.0.1" {
			v.fail("$.demand.openadr3.version", "%q: want 3.1.0 or 3.0.1", o.Version)
		}
		if o.Poll < 0 {
			v.fail("$.demand.openadr3.poll", "must not be negative")
		}
	}
	u := f.UFR
	if u.Enabled {
		if f.Meter.Type == "" {
			v.fail("$.ufr.enabled", "the under-frequency trip needs a meter: section")
		}
		if u.BelowHz != 0 && !(u.BelowHz > 50 && u.BelowHz < 70) {
			v.fail("$.ufr.below_hz", "%v: want a grid frequency (50-70 Hz)", u.BelowHz)
		}
		if u.RestoreHz != 0 && u.RestoreHz <= max(u.BelowHz, 59.7) {
			v.fail("$.ufr.restore_hz", "%v: must be above below_hz", u.RestoreHz)
		}
		if u.For < 0 || u.RestoreAfter < 0 || u.SampleEvery < 0 {
			v.fail("$.ufr", "durations must not be negative")
		}
		if u.ShedMW < 0 || !finite(u.ShedMW) {
			v.fail("$.ufr.shed_mw", "%v: must be >= 0 (0: every running machine)", u.ShedMW)
		}
		if u.RelayCoil != nil && (*u.RelayCoil < 0 || *u.RelayCoil > 65535) {
			v.fail("$.ufr.relay_coil", "%d: want a coil address 0-65535", *u.RelayCoil)
		}
	}
	for i, t := range f.Demand.TiersMW {
		if t < 0 || !finite(t) {
			v.fail("$.demand.tiers_mw["+strconv.Itoa(i)+"]", "%v: must be >= 0", t)
		}
	}
	if len(f.Demand.TiersMW) > 3 {
		v.fail("$.demand.tiers_mw", "%d tiers: SIMPLE has levels 1-3", len(f.Demand.TiersMW))
	}
	for k, r := range f.Demand.CreditUSDPerMWh {
		if r < 0 || !finite(r) {
			v.fail("$.demand.credit_usd_per_mwh."+k, "%v: must be >= 0", r)
		}
	}
	if f.Demand.BaselineWindow < 0 {
		v.fail("$.demand.baseline_window", "must not be negative")
	}
}

// Stratum is the mining path the site runs.
type Stratum struct {
	// Proxy, if set, runs the Stratum proxy in the controller: the
	// fleet's miners mine through it, and /api/v1/miners shows the
	// hashrate their shares measure beside what they report.
	Proxy *StratumProxy `yaml:"proxy"`
}

// StratumProxy is the proxy's listener and pools.
type StratumProxy struct {
	Listen     string        `yaml:"listen"`
	Pools      []StratumPool `yaml:"pools"`
	PrefixSize int           `yaml:"prefix_size"`
}

// StratumPool is one upstream pool, in priority order.
type StratumPool struct {
	URL         string `yaml:"url"`
	User        string `yaml:"user"`
	PasswordEnv string `yaml:"password_env"`
}

func (f *File) validateStratum(v *validator) {
	p := f.Stratum.Proxy
	if p == nil {
		return
	}
	if _, _, err := net.SplitHostPort(p.Listen); err != nil {
		v.fail("$.stratum.proxy.listen", "%q: want host:port", p.Listen)
	}
	if len(p.Pools) == 0 {
		v.fail("$.stratum.proxy.pools", "at least one pool")
	}
	for i, pool := range p.Pools {
		if !strings.HasPrefix(pool.URL, "stratum+tcp://") || pool.User == "" {
			v.fail("$.stratum.proxy.pools["+strconv.Itoa(i)+"]", "want url stratum+tcp://HOST:PORT and user")
		}
	}
	if p.PrefixSize < 0 || p.PrefixSize > 4 {
		v.fail("$.stratum.proxy.prefix_size", "%d: want 1-4 (0: 2)", p.PrefixSize)
	}
}
