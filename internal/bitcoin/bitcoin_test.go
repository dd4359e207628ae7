package bitcoin

import (
	"errors"
	"math"
	"testing"

	"github.com/gridminer/gridminer/internal/energy"
)

// near reports whether got is within a relative 1e-9 of want.
func near(got, want float64) bool {
	if want == 0 {
		return got == 0
	}
	return math.Abs(got-want) <= 1e-9*math.Abs(want)
}

func TestSubsidySats(t *testing.T) {
	tests := []struct {
		height int64
		want   int64
	}{
		{-1, 0},
		{0, 5_000_000_000},                // genesis era: 50 BTC
		{209_999, 5_000_000_000},          // last block of era 0
		{210_000, 2_500_000_000},          // first halving: 25 BTC
		{629_999, 1_250_000_000},          // 12.5 BTC, last block before the 2020 halving
		{630_000, 625_000_000},            // 6.25 BTC from 2020-05-11
		{839_999, 625_000_000},            // last 6.25 BTC block, 2024-04-19/20
		{840_000, 312_500_000},            // 3.125 BTC from 2024-04-20
		{1_050_000, 156_250_000},          // 1.5625 BTC, expected 2028
		{32 * 210_000, 1},                 // 5e9 >> 32 = 1 sat (5e9 < 2^33)
		{33 * 210_000, 0},                 // 5e9 >> 33 = 0
		{64 * 210_000, 0},                 // shifts of 64 and more are defined as 0
		{math.MaxInt64, 0},                // far future, no overflow
		{63*210_000 + 209_999, 5e9 >> 63}, // = 0, still no panic
	}
	for _, tt := range tests {
		if got := SubsidySats(tt.height); got != tt.want {
			t.Errorf("SubsidySats(%d) = %d, want %d", tt.height, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := Economics{Height: 840_000, Difficulty: 86.39e12, PriceUSD: 64_000, FeesPerBlockBTC: 0.25}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v, want nil", good, err)
	}
	zeroFees := good
	zeroFees.FeesPerBlockBTC = 0
	if err := zeroFees.Validate(); err != nil {
		t.Errorf("zero fees: Validate = %v, want nil", err)
	}
	tests := []struct {
		name string
		mod  func(*Economics)
	}{
		{"negative height", func(e *Economics) { e.Height = -1 }},
		{"zero difficulty", func(e *Economics) { e.Difficulty = 0 }},
		{"negative difficulty", func(e *Economics) { e.Difficulty = -1 }},
		{"NaN difficulty", func(e *Economics) { e.Difficulty = math.NaN() }},
		{"Inf difficulty", func(e *Economics) { e.Difficulty = math.Inf(1) }},
		{"zero price", func(e *Economics) { e.PriceUSD = 0 }},
		{"NaN price", func(e *Economics) { e.PriceUSD = math.NaN() }},
		{"negative fees", func(e *Economics) { e.FeesPerBlockBTC = -0.1 }},
		{"Inf fees", func(e *Economics) { e.FeesPerBlockBTC = math.Inf(1) }},
	}
	for _, tt := range tests {
		e := good
		tt.mod(&e)
		if err := e.Validate(); !errors.Is(err, ErrInvalidEconomics) {
			t.Errorf("%s: Validate = %v, want ErrInvalidEconomics", tt.name, err)
		}
	}
}

func TestBlocksPerTHDay(t *testing.T) {
	// Difficulty 86.39e12: 86.39e12 × 2^32 = 3.7104222470144e26 hashes per
	// block; a TH/s does 86400e12 hashes a day, so 86400e12 / 3.7104222470144e26
	// = 2.3285759476e-7 blocks a day.
	if got, want := BlocksPerTHDay(86.39e12), 2.3285759476437478e-07; !near(got, want) {
		t.Errorf("BlocksPerTHDay(86.39e12) = %v, want %v", got, want)
	}
	for _, d := range []float64{0, -1, math.NaN()} {
		if got := BlocksPerTHDay(d); got != 0 {
			t.Errorf("BlocksPerTHDay(%v) = %v, want 0", d, got)
		}
	}
}

// TestHalvingHashprice puts the same network (difficulty 86.39 T, the value in
// force around the April 2024 halving; BTC $64,000; 0.25 BTC fees per block)
// on each side of block 840,000 (mined 2024-04-20): the subsidy halves and
// the hashprice nearly halves with it.
func TestHalvingHashprice(t *testing.T) {
	const blocks = 2.3285759476437478e-07 // per TH/s per day at 86.39e12, see TestBlocksPerTHDay
	tests := []struct {
		name       string
		height     int64
		subsidy    int64
		btcPerTH   float64
		hashprice  float64 // $/TH/s/day
		perPH      float64 // $/PH/s/day
		breakeven1 float64 // $/MWh at 20 J/TH
	}{
		{
			// 2024-04-19, before the halving: (6.25 + 0.25) × 2.3285759476e-7
			// = 1.5135743660e-6 BTC; × $64,000 = $0.096868759/TH/day
			// = $96.87/PH/day. Breakeven at 20 J/TH: 0.096868759 × 1e6 / 480
			// = $201.81/MWh.
			name: "before 2024 halving", height: 839_999, subsidy: 625_000_000,
			btcPerTH: 1.5135743659684361e-06, hashprice: 0.09686875942197991,
			perPH: 96.86875942197991, breakeven1: 201.80991546245815,
		},
		{
			// 2024-04-20, after: (3.125 + 0.25) × 2.3285759476e-7 =
			// 7.8589438233e-7 BTC; × $64,000 = $0.050297240/TH/day =
			// $50.30/PH/day. Breakeven at 20 J/TH: 0.050297240 × 1e6 / 480 =
			// $104.79/MWh.
			name: "after 2024 halving", height: 840_000, subsidy: 312_500_000,
			btcPerTH: 7.858943823297649e-07, hashprice: 0.05029724046910495,
			perPH: 50.29724046910495, breakeven1: 104.78591764396865,
		},
	}
	for _, tt := range tests {
		e := Economics{Height: tt.height, Difficulty: 86.39e12, PriceUSD: 64_000, FeesPerBlockBTC: 0.25}
		if got := SubsidySats(e.Height); got != tt.subsidy {
			t.Errorf("%s: subsidy = %d sat, want %d", tt.name, got, tt.subsidy)
		}
		if got, want := e.BTCPerTHDay(), blocks*(float64(tt.subsidy)/1e8+0.25); !near(got, want) || !near(got, tt.btcPerTH) {
			t.Errorf("%s: BTCPerTHDay = %v, want %v", tt.name, got, tt.btcPerTH)
		}
		h := e.Hashprice()
		if got := float64(h); !near(got, tt.hashprice) {
			t.Errorf("%s: Hashprice = %v, want %v", tt.name, got, tt.hashprice)
		}
		if got := h.PerPHDay(); !near(got, tt.perPH) {
			t.Errorf("%s: PerPHDay = %v, want %v", tt.name, got, tt.perPH)
		}
		if got := float64(Breakeven(h, 20)); !near(got, tt.breakeven1) {
			t.Errorf("%s: Breakeven(20 J/TH) = %v, want %v", tt.name, got, tt.breakeven1)
		}
	}
}

func TestBreakeven(t *testing.T) {
	tests := []struct {
		h    Hashprice
		eff  energy.Efficiency
		want energy.Price
	}{
		// The research table: $40/PH/day = $0.04/TH/day at 15 J/TH:
		// 0.04 × 1e6 / (24 × 15) = 40000 / 360 = $111.11/MWh.
		{0.04, 15, 40000.0 / 360},
		// $60/PH/day at 30 J/TH: 60000 / 720 = $83.33/MWh.
		{0.06, 30, 60000.0 / 720},
		{0.05, 0, 0},
		{0.05, -20, 0},
		{0.05, energy.Efficiency(math.NaN()), 0},
		{0, 20, 0},
	}
	for _, tt := range tests {
		if got := Breakeven(tt.h, tt.eff); !near(float64(got), float64(tt.want)) {
			t.Errorf("Breakeven(%v, %v) = %v, want %v", tt.h, tt.eff, got, tt.want)
		}
	}
}

func TestDemoEconomics(t *testing.T) {
	e := DemoEconomics()
	if err := e.Validate(); err != nil {
		t.Fatalf("DemoEconomics().Validate() = %v", err)
	}
	if got, want := SubsidySats(e.Height), int64(312_500_000); got != want {
		t.Errorf("demo subsidy = %d, want %d (post-2024 era)", got, want)
	}
	// 86400e12 / (90e12 × 2^32) = 2.2351741791e-7 blocks; × (3.125 + 0.1) =
	// 7.2084367275e-7 BTC; × $65,000 = $0.046854838729/TH/day.
	if got, want := float64(e.Hashprice()), 0.046854838728904724; !near(got, want) {
		t.Errorf("demo hashprice = %v, want %v", got, want)
	}
}
