package contract

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
)

// Contract is the site's power contract and grid obligations. Every part
// but Index is optional; zero values mean "absent" or "the default".
type Contract struct {
	// Index prices the grid import that the block does not cover.
	Index Index `yaml:"index"`
	// Block is a fixed-price take-or-pay block.
	Block *Block `yaml:"block,omitempty"`
	// FourCP is the transmission charge set by the site's import at ERCOT's
	// monthly system peaks.
	FourCP *FourCP `yaml:"fourcp,omitempty"`
	// Demand is a charge on the month's highest interval import.
	Demand *DemandCharge `yaml:"demand_charge,omitempty"`
	// Renewables is behind-the-meter wind or solar generation.
	Renewables *Renewables `yaml:"renewables,omitempty"`
	// AI lists co-located AI/HPC loads.
	AI []AILoad `yaml:"ai_loads,omitempty"`
	// Commitments lists demand-response and ancillary-service commitments,
	// in priority order (see the package doc on floor shortfalls).
	Commitments []Commitment `yaml:"commitments,omitempty"`
}

// Index is the price of spot import: every MWh imported above the block
// costs the real-time settlement point price plus AdderUSDPerMWh (retail
// margin, fees, losses; may be negative).
type Index struct {
	AdderUSDPerMWh float64 `yaml:"adder_usd_per_mwh"`
}

// Block is a fixed-price take-or-pay block: MW every interval at
// PriceUSDPerMWh whether used or not; the unused part is resold at the spot
// price plus ResaleAdderUSDPerMWh (negative for resale fees).
type Block struct {
	MW                   float64 `yaml:"mw"`
	PriceUSDPerMWh       float64 `yaml:"price_usd_per_mwh"`
	ResaleAdderUSDPerMWh float64 `yaml:"resale_adder_usd_per_mwh"`
}

// FourCP is ERCOT's four-coincident-peak transmission charge: the site's
// tag is its average import (kW) over the one system-peak interval of each
// month in Months, and it pays tag × RateUSDPerKWYear for the following year.
type FourCP struct {
	RateUSDPerKWYear float64 `yaml:"rate_usd_per_kw_year"`
	// Months are the peak months (default June to September); each
	// month's peak carries weight 1/len(Months).
	Months []time.Month `yaml:"months,omitempty"`
}

// DefaultFourCPMonths are ERCOT's 4CP months: June, July, August and
// September (research file §1.5).
func DefaultFourCPMonths() []time.Month {
	return []time.Month{time.June, time.July, time.August, time.September}
}

// PeakMonths returns f.Months, or DefaultFourCPMonths when empty.
func (f FourCP) PeakMonths() []time.Month {
	if len(f.Months) == 0 {
		return DefaultFourCPMonths()
	}
	return f.Months
}

// DemandCharge is a monthly charge on the highest average import of any
// settlement interval in the local (America/Chicago) calendar month.
type DemandCharge struct {
	RateUSDPerKWMonth float64 `yaml:"rate_usd_per_kw_month"`
}

// Export price kinds for Renewables.ExportPrice.
const (
	ExportSpot  = "spot"
	ExportFixed = "fixed"
)

// Renewables is behind-the-meter generation. It serves the site's load
// first; the surplus is exported up to ExportLimitMW (0: the site may not
// export) at the export price, and the rest is spilled. When the export
// price is $0/MWh or below the site curtails instead: the whole surplus is
// spilled (see the package doc).
type Renewables struct {
	// CapacityMW is the nameplate (informational: planners bound forecasts
	// with it; Settle takes the metered generation as it is).
	CapacityMW float64 `yaml:"capacity_mw"`
	// ExportLimitMW caps export at the meter; 0 means no export.
	ExportLimitMW float64 `yaml:"export_limit_mw"`
	// ExportPrice is "spot" (default: exports earn the settlement point
	// price) or "fixed" (ExportPriceUSDPerMWh).
	ExportPrice          string  `yaml:"export_price,omitempty"`
	ExportPriceUSDPerMWh float64 `yaml:"export_price_usd_per_mwh,omitempty"`
}

// ExportPriceAt returns the export price when the spot price is spot.
func (r Renewables) ExportPriceAt(spot energy.Price) energy.Price {
	if r.ExportPrice == ExportFixed {
		return energy.Price(r.ExportPriceUSDPerMWh)
	}
	return spot
}

// exportAt returns the export price when the spot price is spot, and
// whether the site exports surplus at all: only when it may (a positive
// ExportLimitMW) and the price is above $0/MWh. A site never pays to
// export; it spills the surplus instead. CostCurve, CheckConvex and
// Settle all decide by it.
func (r Renewables) exportAt(spot energy.Price) (energy.Price, bool) {
	p := r.ExportPriceAt(spot)
	return p, r.ExportLimitMW > 0 && p > 0
}

// AILoad is a co-located AI/HPC load. A firm load is never curtailed except
// in an emergency and takes the cheapest power first; a deferrable one runs
// when ValueUSDPerMWh beats the marginal power cost (the caller decides).
type AILoad struct {
	Name           string  `yaml:"name"`
	MW             float64 `yaml:"mw"`
	ValueUSDPerMWh float64 `yaml:"value_usd_per_mwh"`
	Firm           bool    `yaml:"firm,omitempty"`
}

// FirmAIW returns the total size of the firm AI loads.
func (c Contract) FirmAIW() energy.Power {
	var w float64
	for _, a := range c.AI {
		if a.Firm {
			w += a.MW * 1e6
		}
	}
	return energy.Power(w)
}

// Product names for Commitment.Product.
const (
	ERS10     = "ERS-10"
	ERS30     = "ERS-30"
	ECRS      = "ECRS"
	RRS       = "RRS"
	RRSUFR    = "RRS-UFR"
	NSPIN     = "NSPIN"
	Voluntary = "voluntary"
)

// ProductDefaults are a product's response deadline and maximum hold.
type ProductDefaults struct {
	// Deadline is how long after a deployment starts the site must be down.
	Deadline time.Duration
	// MaxHold is how long after the deadline the obligation lasts at most;
	// 0 means until the deployment ends.
	MaxHold time.Duration
}

// productDefaults returns a product's defaults, from
// /work/shared/research/grid-and-markets.md §1.2 ([V] verified, [S]
// secondary, [U] unverified there). Each is overridable per commitment
// (deadline, max_hold); the holds are assumptions.
func productDefaults(product string) (ProductDefaults, bool) {
	switch product {
	case ERS10:
		// ERS-10 / ERS-30: 10 and 30 minutes [V: ercot.com ERS page]. The
		// 2012–13 ERS-30 pilot had a maximum of 8 hours of obligation [S];
		// ERCOT's per-contract-term cumulative limit is not modelled.
		return ProductDefaults{Deadline: 10 * time.Minute, MaxHold: 8 * time.Hour}, true
	case ERS30:
		return ProductDefaults{Deadline: 30 * time.Minute, MaxHold: 8 * time.Hour}, true
	case ECRS:
		// ECRS: 10 minutes, sustained for 2 hours [S].
		return ProductDefaults{Deadline: 10 * time.Minute, MaxHold: 2 * time.Hour}, true
	case RRS:
		// RRS manual deployment: 10 minutes [U]; held until recalled.
		return ProductDefaults{Deadline: 10 * time.Minute}, true
	case RRSUFR:
		// RRS by under-frequency relay: the relay trips in under a second
		// (59.7 Hz [S]); the live controller's safety layer handles it and
		// settlement treats it as immediate (1 s).
		return ProductDefaults{Deadline: time.Second}, true
	case NSPIN:
		// Non-Spin: 30 minutes [U: standard ERCOT definition].
		return ProductDefaults{Deadline: 30 * time.Minute}, true
	case Voluntary:
		// Voluntary large-flexible-load curtailment: notice by phone, text
		// and email [S]; 30 minutes assumed.
		return ProductDefaults{Deadline: 30 * time.Minute}, true
	}
	return ProductDefaults{}, false
}

// Products returns the product names a commitment may name.
func Products() []string { return []string{ERS10, ERS30, ECRS, RRS, RRSUFR, NSPIN, Voluntary} }

// DefaultsFor returns product's defaults and whether product is known.
func DefaultsFor(product string) (ProductDefaults, bool) { return productDefaults(product) }

// Commitment is a demand-response or ancillary-service commitment: while
// its Window holds the site is paid CapacityUSDPerMWh per MW per hour and
// must be able to drop MW of mining load within the deadline of a
// deployment (see the package doc for the obligation rule).
type Commitment struct {
	Name    string `yaml:"name"`
	Product string `yaml:"product"`
	// MW is the committed load reduction.
	MW float64 `yaml:"mw"`
	// Window is when the commitment holds (empty: always).
	Window Window `yaml:"window,omitempty"`
	// CapacityUSDPerMWh is the capacity payment, $ per MW committed per hour.
	CapacityUSDPerMWh float64 `yaml:"capacity_usd_per_mwh"`
	// PenaltyUSDPerMWh is charged per MW short per hour, both for a
	// deployment not delivered after its deadline and for committed
	// load not running while the commitment is active.
	PenaltyUSDPerMWh float64 `yaml:"penalty_usd_per_mwh"`
	// Deadline and MaxHold override the product defaults when non-zero.
	Deadline Duration `yaml:"deadline,omitempty"`
	MaxHold  Duration `yaml:"max_hold,omitempty"`
	// BaselineMW is the mining draw the reduction is measured from
	// (0: the site's maximum mining draw; see Contract.Defaults).
	BaselineMW float64 `yaml:"baseline_mw,omitempty"`
}

// Active reports whether the commitment holds at t.
func (c Commitment) Active(t time.Time) bool { return c.Window.Contains(t) }

// EffectiveDeadline returns the deadline: the override, or the product's.
func (c Commitment) EffectiveDeadline() time.Duration {
	if c.Deadline > 0 {
		return c.Deadline.D()
	}
	d, _ := productDefaults(c.Product)
	return d.Deadline
}

// EffectiveMaxHold returns the maximum hold after the deadline: the
// override, or the product's; 0 means until the deployment ends.
func (c Commitment) EffectiveMaxHold() time.Duration {
	if c.MaxHold > 0 {
		return c.MaxHold.D()
	}
	d, _ := productDefaults(c.Product)
	return d.MaxHold
}

// Duration is a time.Duration written as Go duration text ("10m", "2h").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalText parses Go duration text.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q: want a duration such as 30s, 10m or 2h", string(b))
	}
	*d = Duration(v)
	return nil
}

// MarshalText formats d as Go duration text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Defaults fills what depends on the site: every commitment's BaselineMW
// left at zero becomes maxMiningW. It also writes out the other defaults
// (product deadlines and holds, 4CP months, spot export pricing) so a
// dumped contract shows what applies; every method also reads zero values
// as their defaults, so only the baseline needs Defaults.
func (c *Contract) Defaults(maxMiningW energy.Power) {
	for i := range c.Commitments {
		m := &c.Commitments[i]
		if m.BaselineMW == 0 {
			m.BaselineMW = maxMiningW.MW()
		}
		if d, ok := productDefaults(m.Product); ok {
			if m.Deadline == 0 {
				m.Deadline = Duration(d.Deadline)
			}
			if m.MaxHold == 0 {
				m.MaxHold = Duration(d.MaxHold)
			}
		}
	}
	if c.FourCP != nil && len(c.FourCP.Months) == 0 {
		c.FourCP.Months = DefaultFourCPMonths()
	}
	if c.Renewables != nil && c.Renewables.ExportPrice == "" {
		c.Renewables.ExportPrice = ExportSpot
	}
}

// Validate checks every field and returns all problems joined, each naming
// its field path ("contract.block.mw: must be positive"). It cannot check
// convexity, which depends on the spot price; see CheckConvex.
func (c Contract) Validate() error {
	v := &validator{}
	v.finite("contract.index.adder_usd_per_mwh", c.Index.AdderUSDPerMWh)
	if b := c.Block; b != nil {
		v.positive("contract.block.mw", b.MW)
		v.finite("contract.block.price_usd_per_mwh", b.PriceUSDPerMWh)
		v.finite("contract.block.resale_adder_usd_per_mwh", b.ResaleAdderUSDPerMWh)
	}
	if f := c.FourCP; f != nil {
		v.nonNegative("contract.fourcp.rate_usd_per_kw_year", f.RateUSDPerKWYear)
		v.months("contract.fourcp.months", f.Months)
	}
	if d := c.Demand; d != nil {
		v.nonNegative("contract.demand_charge.rate_usd_per_kw_month", d.RateUSDPerKWMonth)
	}
	if r := c.Renewables; r != nil {
		v.positive("contract.renewables.capacity_mw", r.CapacityMW)
		v.nonNegative("contract.renewables.export_limit_mw", r.ExportLimitMW)
		switch r.ExportPrice {
		case "", ExportSpot:
			if r.ExportPriceUSDPerMWh != 0 {
				v.fail("contract.renewables.export_price_usd_per_mwh", "set only with export_price: fixed")
			}
		case ExportFixed:
			v.finite("contract.renewables.export_price_usd_per_mwh", r.ExportPriceUSDPerMWh)
		default:
			v.fail("contract.renewables.export_price", "%q: want spot or fixed", r.ExportPrice)
		}
	}
	names := map[string]int{}
	for i, a := range c.AI {
		p := fmt.Sprintf("contract.ai_loads[%d]", i)
		v.name(p+".name", a.Name, names, i)
		v.positive(p+".mw", a.MW)
		v.nonNegative(p+".value_usd_per_mwh", a.ValueUSDPerMWh)
	}
	names = map[string]int{}
	for i, m := range c.Commitments {
		p := fmt.Sprintf("contract.commitments[%d]", i)
		v.name(p+".name", m.Name, names, i)
		if _, ok := productDefaults(m.Product); !ok {
			v.fail(p+".product", "%q: want one of %s", m.Product, strings.Join(Products(), ", "))
		}
		v.positive(p+".mw", m.MW)
		v.nonNegative(p+".capacity_usd_per_mwh", m.CapacityUSDPerMWh)
		v.nonNegative(p+".penalty_usd_per_mwh", m.PenaltyUSDPerMWh)
		if m.Deadline < 0 {
			v.fail(p+".deadline", "%v: must not be negative", m.Deadline.D())
		}
		if m.MaxHold < 0 {
			v.fail(p+".max_hold", "%v: must not be negative", m.MaxHold.D())
		}
		v.nonNegative(p+".baseline_mw", m.BaselineMW)
		if m.BaselineMW > 0 && m.BaselineMW < m.MW {
			v.fail(p+".baseline_mw", "%v: must be at least mw (%v)", m.BaselineMW, m.MW)
		}
		m.Window.validate(v, p+".window")
	}
	return errors.Join(v.errs...)
}

// validator collects field errors.
type validator struct{ errs []error }

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

func (v *validator) finite(path string, x float64) bool {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		v.fail(path, "%v: %v", x, energy.ErrNotFinite)
		return false
	}
	return true
}

func (v *validator) positive(path string, x float64) {
	if v.finite(path, x) && x <= 0 {
		v.fail(path, "must be positive")
	}
}

func (v *validator) nonNegative(path string, x float64) {
	if v.finite(path, x) && x < 0 {
		v.fail(path, "%v: must not be negative", x)
	}
}

func (v *validator) months(path string, ms []time.Month) {
	for i, m := range ms {
		if m < time.January || m > time.December {
			v.fail(fmt.Sprintf("%s[%d]", path, i), "%d: want a month 1-12", int(m))
		} else if slices.Index(ms, m) < i {
			v.fail(fmt.Sprintf("%s[%d]", path, i), "%s: listed twice", m)
		}
	}
}

func (v *validator) name(path, name string, seen map[string]int, i int) {
	if name == "" {
		v.fail(path, "must be set")
		return
	}
	if j, ok := seen[name]; ok {
		v.fail(path, "%q: also the name of entry %d", name, j)
		return
	}
	seen[name] = i
}
