// Package bitcoin turns Bitcoin network economics (block height, difficulty,
// BTC price, transaction fees) into hashprice: the expected US dollars one
// TH/s of SHA-256 hashing earns in a day, and from it the power price at
// which a machine of a given efficiency breaks even.
//
// Everything here is pure arithmetic on values the caller supplies, plus a
// reader for the project's daily economics CSV (btc_daily.csv). The package
// fetches nothing from the network, keeps no state, and models expected
// revenue only: it knows nothing of pool payout schemes, luck or variance,
// and it does not decide when a miner should run (that is internal/dispatch).
package bitcoin

import (
	"errors"
	"fmt"
	"math"

	"github.com/gridminer/gridminer/internal/energy"
)

// HalvingInterval is the number of blocks between subsidy halvings.
const HalvingInterval = 210000

// SatsPerBTC is the number of satoshis in one bitcoin.
const SatsPerBTC = 100_000_000

// initialSubsidySats is the block subsidy of the first era: 50 BTC.
const initialSubsidySats int64 = 50 * SatsPerBTC

// SubsidySats returns the block subsidy, in satoshis, of the block at
// height: 50 BTC halved (by integer right shift, as consensus does) every
// HalvingInterval blocks, and 0 from the 64th halving on. A negative height
// has no block and returns 0.
func SubsidySats(height int64) int64 {
	if height < 0 {
		return 0
	}
	halvings := height / HalvingInterval
	if halvings >= 64 {
		return 0
	}
	return initialSubsidySats >> uint(halvings)
}

// Economics is the state of the network that sets mining revenue.
type Economics struct {
	Height          int64   // block height in force (sets the subsidy)
	Difficulty      float64 // network difficulty
	PriceUSD        float64 // BTC price in US dollars
	FeesPerBlockBTC float64 // mean transaction fees per block, BTC
}

// ErrInvalidEconomics is wrapped by Economics.Validate errors.
var ErrInvalidEconomics = errors.New("invalid bitcoin economics")

// Validate checks that every field is finite, difficulty and price are
// positive, fees are not negative and height is not negative. The error
// names the offending field.
func (e Economics) Validate() error {
	switch {
	case e.Height < 0:
		return fmt.Errorf("height %d is negative: %w", e.Height, ErrInvalidEconomics)
	case !finite(e.Difficulty) || e.Difficulty <= 0:
		return fmt.Errorf("difficulty %v must be finite and positive: %w", e.Difficulty, ErrInvalidEconomics)
	case !finite(e.PriceUSD) || e.PriceUSD <= 0:
		return fmt.Errorf("price %v USD must be finite and positive: %w", e.PriceUSD, ErrInvalidEconomics)
	case !finite(e.FeesPerBlockBTC) || e.FeesPerBlockBTC < 0:
		return fmt.Errorf("fees per block %v BTC must be finite and not negative: %w", e.FeesPerBlockBTC, ErrInvalidEconomics)
	}
	return nil
}

// BlocksPerTHDay returns the expected number of blocks one TH/s finds in a
// day at difficulty: 86400 s × 1e12 H/s / (difficulty × 2^32), since a
// block takes difficulty × 2^32 hashes on average. It returns 0 when
// difficulty is not a positive number (including NaN).
func BlocksPerTHDay(difficulty float64) float64 {
	if !(difficulty > 0) {
		return 0
	}
	return 86400 * 1e12 / (difficulty * (1 << 32))
}

// BTCPerTHDay returns the expected BTC one TH/s earns in a day: expected
// blocks times (subsidy at e.Height + mean fees per block). The subsidy of
// e.Height is applied to the whole day. Results are meaningful only for
// Economics that pass Validate.
func (e Economics) BTCPerTHDay() float64 {
	subsidy := float64(SubsidySats(e.Height)) / SatsPerBTC
	return BlocksPerTHDay(e.Difficulty) * (subsidy + e.FeesPerBlockBTC)
}

// Hashprice is expected mining revenue in US dollars per TH/s per day.
type Hashprice float64

// Hashprice returns the expected US dollars one TH/s earns in a day, before
// pool fees. Results are meaningful only for Economics that pass Validate.
func (e Economics) Hashprice() Hashprice {
	return Hashprice(e.BTCPerTHDay() * e.PriceUSD)
}

// PerPHDay returns h in US dollars per PH/s per day, the unit hashprice is
// usually quoted in.
func (h Hashprice) PerPHDay() float64 { return float64(h) * 1e3 }

func (h Hashprice) String() string { return fmt.Sprintf("$%.2f/PH/day", h.PerPHDay()) }

// Breakeven returns the power price, in $/MWh, at which a machine of
// efficiency eff J/TH earns exactly what its power costs at hashprice h:
// one TH/s draws eff W, so 24·eff Wh (24·eff/1e6 MWh) a day against h
// dollars, giving h·1e6 / (24·eff). It returns 0 when eff is not positive
// (including NaN): such a machine has no meaningful breakeven.
func Breakeven(h Hashprice, eff energy.Efficiency) energy.Price {
	if !(eff > 0) {
		return 0
	}
	return energy.Price(float64(h) * 1e6 / (24 * float64(eff)))
}

// DemoEconomics returns fixed inputs for the demo and for tests that need a
// plausible hashprice without data files: a day after the April 2024
// halving (subsidy 3.125 BTC) at height 870,000, difficulty 90e12, BTC at
// $65,000 and 0.1 BTC of fees per block.
//
// These are round numbers of the right order for the second half of 2024,
// not a snapshot of any one day (on the day block 870,000 was mined the
// difficulty and price were somewhat higher). They give a hashprice of
// about $46.85/PH/day, so a 20 J/TH machine breaks even near $97.6/MWh.
func DemoEconomics() Economics {
	return Economics{
		Height:          870_000,
		Difficulty:      90e12,
		PriceUSD:        65_000,
		FeesPerBlockBTC: 0.1,
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
