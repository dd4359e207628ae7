// Package energy defines the typed physical and market quantities that cross
// package boundaries in gridminer: power, energy, price, hashrate, efficiency
// and half-open UTC intervals.
//
// Every quantity is a float64 in a fixed base unit (watts, watt-hours, US
// dollars per megawatt-hour, terahashes per second, joules per terahash). The
// package does no I/O and holds no state. Values arriving from the outside
// world (config, network, files) should pass through Check or the Parse/New
// helpers so NaN and ±Inf are rejected at the edge and never reach dispatch.
package energy

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrNotFinite is returned for NaN or infinite quantities.
var ErrNotFinite = errors.New("not a finite number")

// Power is electrical power in watts.
type Power float64

// Energy is electrical energy in watt-hours.
type Energy float64

// Price is a power price in US dollars per megawatt-hour.
type Price float64

// Hashrate is SHA-256 hashing speed in terahashes per second.
type Hashrate float64

// Efficiency is the energy a miner spends per unit of work, in joules per
// terahash (equivalently watts per TH/s).
type Efficiency float64

// Common multiples.
const (
	Watt     Power = 1
	Kilowatt Power = 1e3
	Megawatt Power = 1e6

	WattHour     Energy = 1
	KilowattHour Energy = 1e3
	MegawattHour Energy = 1e6
)

// Check returns an error naming what if v is NaN or infinite.
func Check(what string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s: %v: %w", what, v, ErrNotFinite)
	}
	return nil
}

// Watts returns p as a float64 number of watts.
func (p Power) Watts() float64 { return float64(p) }

// KW returns p in kilowatts.
func (p Power) KW() float64 { return float64(p) / 1e3 }

// MW returns p in megawatts.
func (p Power) MW() float64 { return float64(p) / 1e6 }

// Over returns the energy drawn at power p for duration d.
func (p Power) Over(d time.Duration) Energy {
	return Energy(float64(p) * d.Hours())
}

func (p Power) String() string {
	switch a := math.Abs(float64(p)); {
	case a >= 1e6:
		return fmt.Sprintf("%.3f MW", p.MW())
	case a >= 1e3:
		return fmt.Sprintf("%.2f kW", p.KW())
	default:
		return fmt.Sprintf("%.0f W", float64(p))
	}
}

// Wh returns e in watt-hours.
func (e Energy) Wh() float64 { return float64(e) }

// MWh returns e in megawatt-hours.
func (e Energy) MWh() float64 { return float64(e) / 1e6 }

func (e Energy) String() string { return fmt.Sprintf("%.4f MWh", e.MWh()) }

// USDPerMWh returns p as a float64.
func (p Price) USDPerMWh() float64 { return float64(p) }

// Cost returns the US dollars that energy e costs at price p.
func (p Price) Cost(e Energy) float64 { return float64(p) * e.MWh() }

func (p Price) String() string { return fmt.Sprintf("$%.2f/MWh", float64(p)) }

// THs returns h in terahashes per second.
func (h Hashrate) THs() float64 { return float64(h) }

func (h Hashrate) String() string {
	if h >= 1e3 {
		return fmt.Sprintf("%.2f PH/s", float64(h)/1e3)
	}
	return fmt.Sprintf("%.1f TH/s", float64(h))
}

// JPerTH returns e in joules per terahash.
func (e Efficiency) JPerTH() float64 { return float64(e) }

func (e Efficiency) String() string { return fmt.Sprintf("%.1f J/TH", float64(e)) }

// EfficiencyOf returns the efficiency of a machine drawing p while hashing at
// h. It returns 0 when h is not positive.
func EfficiencyOf(p Power, h Hashrate) Efficiency {
	if h <= 0 {
		return 0
	}
	return Efficiency(float64(p) / float64(h))
}

// NewPower returns watts as a Power, rejecting NaN, ±Inf and negative values.
func NewPower(what string, watts float64) (Power, error) {
	if err := Check(what, watts); err != nil {
		return 0, err
	}
	if watts < 0 {
		return 0, fmt.Errorf("%s: %v W: power must not be negative", what, watts)
	}
	return Power(watts), nil
}

// NewPrice returns v $/MWh as a Price, rejecting NaN and ±Inf. Prices may be
// negative (wind at night) and are never clamped to a market cap.
func NewPrice(what string, v float64) (Price, error) {
	if err := Check(what, v); err != nil {
		return 0, err
	}
	return Price(v), nil
}

// NewHashrate returns v TH/s as a Hashrate, rejecting NaN, ±Inf and negatives.
func NewHashrate(what string, v float64) (Hashrate, error) {
	if err := Check(what, v); err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, fmt.Errorf("%s: %v TH/s: hashrate must not be negative", what, v)
	}
	return Hashrate(v), nil
}
