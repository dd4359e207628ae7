package contract

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
)

// Every amount below is worked by hand from the facts: a 15-minute
// interval is 0.25 h, so W × 0.25 = Wh and $/MWh × Wh = µ$.
func TestSettleEnergy(t *testing.T) {
	iv := span(t, "2024-07-16T19:00:00Z", 15*time.Minute)
	block := Contract{Index: Index{AdderUSDPerMWh: 4}, Block: &Block{MW: 10, PriceUSDPerMWh: 30, ResaleAdderUSDPerMWh: -1}}
	solar := Contract{Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 5}}
	noExport := Contract{Renewables: &Renewables{CapacityMW: 30}}
	fixed := Contract{Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 5, ExportPrice: ExportFixed, ExportPriceUSDPerMWh: 25}}
	fixedNegative := Contract{Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 5, ExportPrice: ExportFixed, ExportPriceUSDPerMWh: -3}}
	solarBlock := Contract{
		Index:      Index{AdderUSDPerMWh: 4},
		Block:      &Block{MW: 10, PriceUSDPerMWh: 30, ResaleAdderUSDPerMWh: -1},
		Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 5},
	}
	site := Contract{
		Index:      Index{AdderUSDPerMWh: 4},
		Block:      &Block{MW: 10, PriceUSDPerMWh: 30, ResaleAdderUSDPerMWh: -1},
		Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 5},
		AI:         []AILoad{{Name: "inference", MW: 5, ValueUSDPerMWh: 400, Firm: true}, {Name: "training", MW: 8, ValueUSDPerMWh: 120}},
	}
	tests := []struct {
		name string
		c    Contract
		f    Facts
		want Settlement
	}{
		{
			name: "block used in full, the rest at spot + adder",
			c:    block, f: Facts{Spot: 50, MiningW: 15 * MW},
			want: Settlement{
				ImportW:  15 * MW,
				MiningWh: 3.75e6, LoadWh: 3.75e6, ImportWh: 3.75e6, BlockWh: 2.5e6, SpotWh: 1.25e6,
				BlockCost: 75e6, SpotCost: 67.5e6, // 30 × 2.5e6; 54 × 1.25e6
				EnergyCost: 142.5e6, NetCost: 142.5e6,
			},
		},
		{
			name: "block partly used: the rest resold at spot + resale adder",
			c:    block, f: Facts{Spot: 50, MiningW: 4 * MW},
			want: Settlement{
				ImportW:  4 * MW,
				MiningWh: 1e6, LoadWh: 1e6, ImportWh: 1e6, BlockWh: 1e6, BlockUnusedWh: 1.5e6,
				BlockCost: 75e6, ResaleCredit: 73.5e6, // 49 × 1.5e6
				EnergyCost: 1.5e6, NetCost: 1.5e6,
			},
		},
		{
			name: "negative spot: reselling the idle block costs money",
			c:    block, f: Facts{Spot: -20},
			want: Settlement{
				BlockUnusedWh: 2.5e6,
				BlockCost:     75e6, ResaleCredit: -52.5e6, // −21 × 2.5e6
				EnergyCost: 127.5e6, NetCost: 127.5e6,
			},
		},
		{
			name: "negative spot: import above the block is paid for",
			c:    block, f: Facts{Spot: -20, MiningW: 15 * MW},
			want: Settlement{
				ImportW:  15 * MW,
				MiningWh: 3.75e6, LoadWh: 3.75e6, ImportWh: 3.75e6, BlockWh: 2.5e6, SpotWh: 1.25e6,
				BlockCost: 75e6, SpotCost: -20e6, // −16 × 1.25e6
				EnergyCost: 55e6, NetCost: 55e6,
			},
		},
		{
			name: "solar surplus: exported up to the limit, the rest spilled",
			c:    solar, f: Facts{Spot: 40, MiningW: 10 * MW, GenW: 20 * MW},
			want: Settlement{
				MiningWh: 2.5e6, LoadWh: 2.5e6, GenWh: 5e6, GenUsedWh: 2.5e6, ExportWh: 1.25e6, SpillWh: 1.25e6,
				ExportCredit: 50e6, EnergyCost: -50e6, NetCost: -50e6,
			},
		},
		{
			name: "solar short: the rest imported",
			c:    solar, f: Facts{Spot: 40, MiningW: 12 * MW, GenW: 5 * MW},
			want: Settlement{
				ImportW:  7 * MW,
				MiningWh: 3e6, LoadWh: 3e6, GenWh: 1.25e6, GenUsedWh: 1.25e6, ImportWh: 1.75e6, SpotWh: 1.75e6,
				SpotCost: 70e6, EnergyCost: 70e6, NetCost: 70e6,
			},
		},
		{
			name: "no export allowed: the whole surplus is spilled",
			c:    noExport, f: Facts{Spot: 40, MiningW: 10 * MW, GenW: 20 * MW},
			want: Settlement{MiningWh: 2.5e6, LoadWh: 2.5e6, GenWh: 5e6, GenUsedWh: 2.5e6, SpillWh: 2.5e6},
		},
		{
			name: "fixed export price",
			c:    fixed, f: Facts{Spot: 40, MiningW: 10 * MW, GenW: 20 * MW},
			want: Settlement{
				MiningWh: 2.5e6, LoadWh: 2.5e6, GenWh: 5e6, GenUsedWh: 2.5e6, ExportWh: 1.25e6, SpillWh: 1.25e6,
				ExportCredit: 31.25e6, EnergyCost: -31.25e6, NetCost: -31.25e6,
			},
		},
		{
			// Exporting at −10 would cost $12.50; the site curtails instead.
			name: "negative spot: the surplus is spilled, not exported",
			c:    solar, f: Facts{Spot: -10, MiningW: 10 * MW, GenW: 20 * MW},
			want: Settlement{MiningWh: 2.5e6, LoadWh: 2.5e6, GenWh: 5e6, GenUsedWh: 2.5e6, SpillWh: 2.5e6},
		},
		{
			name: "zero spot: nothing is exported for nothing",
			c:    solar, f: Facts{Spot: 0, MiningW: 10 * MW, GenW: 20 * MW},
			want: Settlement{MiningWh: 2.5e6, LoadWh: 2.5e6, GenWh: 5e6, GenUsedWh: 2.5e6, SpillWh: 2.5e6},
		},
		{
			name: "fixed export price below zero: spilled whatever spot is",
			c:    fixedNegative, f: Facts{Spot: 40, MiningW: 10 * MW, GenW: 20 * MW},
			want: Settlement{MiningWh: 2.5e6, LoadWh: 2.5e6, GenWh: 5e6, GenUsedWh: 2.5e6, SpillWh: 2.5e6},
		},
		{
			// The surplus is spilled, but the idle block is still resold at
			// a loss: only exports are curtailed.
			name: "negative spot with a block: spilled surplus, block resold at a loss",
			c:    solarBlock, f: Facts{Spot: -20, MiningW: 4 * MW, GenW: 12 * MW},
			want: Settlement{
				MiningWh: 1e6, LoadWh: 1e6, GenWh: 3e6, GenUsedWh: 1e6, SpillWh: 2e6, BlockUnusedWh: 2.5e6,
				BlockCost: 75e6, ResaleCredit: -52.5e6, // −21 × 2.5e6
				EnergyCost: 127.5e6, NetCost: 127.5e6,
			},
		},
		{
			name: "AI and mining share solar, block and resale; AI value reported",
			c:    site, f: Facts{Spot: 50, MiningW: 2 * MW, GenW: 4 * MW, AIW: []energy.Power{3 * MW, 0}},
			want: Settlement{
				ImportW:  1 * MW,
				MiningWh: 0.5e6, AIWh: 0.75e6, LoadWh: 1.25e6, GenWh: 1e6, GenUsedWh: 1e6,
				ImportWh: 0.25e6, BlockWh: 0.25e6, BlockUnusedWh: 2.25e6,
				BlockCost: 75e6, ResaleCredit: 110.25e6, // 49 × 2.25e6
				EnergyCost: -35.25e6, NetCost: -35.25e6,
				AIValue: 300e6, // 400 × 0.75e6
				AI:      []AIResult{{Name: "inference", Wh: 0.75e6, Value: 300e6}, {Name: "training"}},
			},
		},
		{
			name: "nil AI draws mean no AI ran",
			c:    site, f: Facts{Spot: 50, MiningW: 10 * MW},
			want: Settlement{
				ImportW:  10 * MW,
				MiningWh: 2.5e6, LoadWh: 2.5e6, ImportWh: 2.5e6, BlockWh: 2.5e6,
				BlockCost: 75e6, EnergyCost: 75e6, NetCost: 75e6,
				AI: []AIResult{{Name: "inference"}, {Name: "training"}},
			},
		},
		{
			name: "4CP peak: accrual reported, not netted",
			c:    Contract{FourCP: &FourCP{RateUSDPerKWYear: 60}}, f: Facts{Spot: 100, MiningW: 10 * MW, PeakInterval: true},
			want: Settlement{
				PeakInterval: true, ImportW: 10 * MW,
				MiningWh: 2.5e6, LoadWh: 2.5e6, ImportWh: 2.5e6, SpotWh: 2.5e6,
				SpotCost: 250e6, EnergyCost: 250e6, NetCost: 250e6,
				// 10,000 kW at one of four peaks: 2,500 kW of tag × $60.
				FourCPAccrual: 150_000e6,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Interval = iv
			got, err := tt.c.Settle(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Interval, tt.want.Spot = iv, tt.f.Spot
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Settle (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSettleCommitments(t *testing.T) {
	c := obligations()
	c.Commitments[1].BaselineMW = 100
	noBaseline := obligations()
	hours := func(d time.Duration) float64 { return d.Hours() }
	dep := func(name, start string, mw float64) []Deployment {
		return []Deployment{{Commitment: name, Start: at(t, start), MW: mw}}
	}
	// dst has one commitment active 01:00-02:00 local, which happens twice
	// on 3 Nov 2024.
	dst := Contract{Commitments: []Commitment{{Name: "night", Product: NSPIN, MW: 10, CapacityUSDPerMWh: 7, Window: Window{From: "01:00", To: "02:00"}}}}
	tests := []struct {
		name      string
		c         Contract
		f         Facts
		want      []CommitmentResult
		spotCost  ledger.Micros
		netCost   ledger.Micros
		wantError error
	}{
		{
			// Tuesday 14:00 CDT: ers (20) and ecrs (15) active. 25 MW of
			// mining covers ers in full and 5 of ecrs's 15 MW.
			name: "capacity paid; floor shortfall charged in list order",
			c:    c, f: Facts{Interval: span(t, "2024-07-16T19:00:00Z", 15*time.Minute), Spot: 50, MiningW: 25 * MW},
			want: []CommitmentResult{
				{Name: "ers", ActiveHours: 0.25, CapacityCredit: 60e6},                                           // 12 × 20e6 × 0.25
				{Name: "ecrs", ActiveHours: 0.25, FloorShortfallWh: 2.5e6, CapacityCredit: 30e6, Penalty: 100e6}, // 8 × 15e6 × 0.25; 40 × 10e6 × 0.25
				{Name: "ufr"},
			},
			spotCost: 312.5e6, netCost: 312.5e6 - 90e6 + 100e6,
		},
		{
			name: "window opens 10 minutes into the interval",
			c:    c, f: Facts{Interval: span(t, "2024-07-16T18:55:00Z", 15*time.Minute), Spot: 50, MiningW: 40 * MW},
			want: []CommitmentResult{
				{Name: "ers", ActiveHours: hours(10 * time.Minute), CapacityCredit: 40e6}, // 12 × 20e6 × 1/6
				{Name: "ecrs", ActiveHours: 0.25, CapacityCredit: 30e6},
				{Name: "ufr"},
			},
			spotCost: 500e6, netCost: 500e6 - 70e6,
		},
		{
			// Deployed at 19:02, deadline 19:12: floors held until 19:02,
			// ramp, then 3 minutes capped at 80 MW while mining 90: 10 MW short.
			name: "deployment with its deadline inside the interval",
			c:    c, f: Facts{Interval: span(t, "2024-07-16T19:00:00Z", 15*time.Minute), Spot: 50, MiningW: 90 * MW, Deployments: dep("ers", "2024-07-16T19:02:00Z", 0)},
			want: []CommitmentResult{
				{Name: "ers", ActiveHours: 0.25, DeployedHours: hours(13 * time.Minute), ObligatedHours: hours(3 * time.Minute),
					ShortfallWh: 0.5e6, CapacityCredit: 60e6, Penalty: 30e6}, // 60 × 10e6 × 0.05
				{Name: "ecrs", ActiveHours: 0.25, CapacityCredit: 30e6},
				{Name: "ufr"},
			},
			spotCost: 1125e6, netCost: 1125e6 - 90e6 + 30e6,
		},
		{
			name: "deployed all interval, partly delivered",
			c:    c, f: Facts{Interval: span(t, "2024-07-16T19:15:00Z", 15*time.Minute), Spot: 50, MiningW: 85 * MW, Deployments: dep("ers", "2024-07-16T19:02:00Z", 0)},
			want: []CommitmentResult{
				{Name: "ers", ActiveHours: 0.25, DeployedHours: 0.25, ObligatedHours: 0.25, ShortfallWh: 1.25e6, CapacityCredit: 60e6, Penalty: 75e6},
				{Name: "ecrs", ActiveHours: 0.25, CapacityCredit: 30e6},
				{Name: "ufr"},
			},
			spotCost: 1062.5e6, netCost: 1062.5e6 - 90e6 + 75e6,
		},
		{
			name: "delivered in full: no penalty",
			c:    c, f: Facts{Interval: span(t, "2024-07-16T19:15:00Z", 15*time.Minute), Spot: 50, MiningW: 80 * MW, Deployments: dep("ers", "2024-07-16T19:02:00Z", 0)},
			want: []CommitmentResult{
				{Name: "ers", ActiveHours: 0.25, DeployedHours: 0.25, ObligatedHours: 0.25, CapacityCredit: 60e6},
				{Name: "ecrs", ActiveHours: 0.25, CapacityCredit: 30e6},
				{Name: "ufr"},
			},
			spotCost: 1000e6, netCost: 1000e6 - 90e6,
		},
		{
			// January 10:00 CST, relay trip at 16:00 UTC calling 30 of 60 MW:
			// cap 70 MW; mining 110 MW is 40 over, but the shortfall is at
			// most the 30 MW called, for 15 minutes less the 1 s deadline.
			name: "shortfall is at most the reduction called",
			c:    c, f: Facts{Interval: span(t, "2024-01-16T16:00:00Z", 15*time.Minute), Spot: 50, MiningW: 110 * MW, Deployments: dep("ufr", "2024-01-16T16:00:00Z", 30)},
			want: []CommitmentResult{
				{Name: "ers"},
				{Name: "ecrs", ActiveHours: 0.25, CapacityCredit: 30e6},
				{Name: "ufr", ActiveHours: 0.25, DeployedHours: 0.25, ObligatedHours: hours(899 * time.Second),
					ShortfallWh: energy.Energy(30e6 * hours(899*time.Second)), CapacityCredit: 75e6, // 5 × 60e6 × 0.25
					Penalty: ledger.Micros(math.Round(100 * 30e6 * hours(899*time.Second)))},
			},
			spotCost: 1375e6, netCost: 1375e6 - 105e6 + ledger.Micros(math.Round(100*30e6*hours(899*time.Second))),
		},
		{
			// ecrs deployed 19:00, deadline 19:10, 2 h hold ends 21:10.
			name: "maximum hold ends inside the interval",
			c:    c, f: Facts{Interval: span(t, "2024-07-16T21:00:00Z", 15*time.Minute), Spot: 50, MiningW: 100 * MW, Deployments: dep("ecrs", "2024-07-16T19:00:00Z", 0)},
			want: []CommitmentResult{
				{Name: "ers", ActiveHours: 0.25, CapacityCredit: 60e6},
				{Name: "ecrs", ActiveHours: 0.25, DeployedHours: 0.25, ObligatedHours: hours(10 * time.Minute),
					ShortfallWh: energy.Energy(15e6 * hours(10*time.Minute)), CapacityCredit: 30e6, Penalty: 100e6}, // 40 × 15e6 / 6
				{Name: "ufr"},
			},
			spotCost: 1250e6, netCost: 1250e6 - 90e6 + 100e6,
		},
		{
			name: "capacity over the 25-hour DST day: the 01:00 hour twice",
			c:    dst, f: Facts{Interval: span(t, "2024-11-03T05:00:00Z", 4*time.Hour), Spot: 10, MiningW: 10 * MW},
			want: []CommitmentResult{
				{Name: "night", ActiveHours: 2, CapacityCredit: 140e6}, // 7 × 10e6 × 2
			},
			spotCost: 400e6, netCost: 400e6 - 140e6,
		},
		{
			name: "deployment measured from an unset baseline",
			c:    noBaseline, f: Facts{Interval: span(t, "2024-07-16T19:15:00Z", 15*time.Minute), Spot: 50, MiningW: 85 * MW, Deployments: dep("ecrs", "2024-07-16T19:00:00Z", 0)},
			wantError: ErrNoBaseline,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.Settle(tt.f)
			if tt.wantError != nil {
				if !errors.Is(err, tt.wantError) {
					t.Fatalf("Settle error = %v, want %v", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Commitments); diff != "" {
				t.Errorf("commitments (-want +got):\n%s", diff)
			}
			if got.SpotCost != tt.spotCost || got.NetCost != tt.netCost {
				t.Errorf("spot cost %d, net cost %d; want %d, %d", got.SpotCost, got.NetCost, tt.spotCost, tt.netCost)
			}
			var capacity, penalty ledger.Micros
			for _, r := range got.Commitments {
				capacity += r.CapacityCredit
				penalty += r.Penalty
			}
			if got.CapacityCredit != capacity || got.Penalty != penalty {
				t.Errorf("capacity %d, penalty %d; want the sums %d, %d", got.CapacityCredit, got.Penalty, capacity, penalty)
			}
		})
	}
}

func TestSettleRejects(t *testing.T) {
	c := Contract{
		Block:       &Block{MW: 1, PriceUSDPerMWh: 30},
		FourCP:      &FourCP{RateUSDPerKWYear: 50},
		AI:          []AILoad{{Name: "gpu", MW: 1, ValueUSDPerMWh: 100}},
		Commitments: []Commitment{{Name: "ers", Product: ERS10, MW: 1}},
	}
	iv := span(t, "2024-07-16T19:00:00Z", 15*time.Minute)
	tests := []struct {
		name string
		c    Contract
		f    Facts
		want string
		is   error
	}{
		{name: "empty interval", c: c, f: Facts{Interval: energy.Interval{Start: iv.Start, End: iv.Start}}, is: energy.ErrBadInterval},
		{name: "NaN spot", c: c, f: Facts{Interval: iv, Spot: energy.Price(math.NaN())}, is: energy.ErrNotFinite},
		{name: "infinite mining", c: c, f: Facts{Interval: iv, MiningW: energy.Power(math.Inf(1))}, is: energy.ErrNotFinite},
		{name: "negative mining", c: c, f: Facts{Interval: iv, MiningW: -1}, want: "mining -1 W: must not be negative"},
		{name: "negative generation", c: c, f: Facts{Interval: iv, GenW: -1}, want: "generation -1 W: must not be negative"},
		{name: "generation without renewables", c: c, f: Facts{Interval: iv, GenW: 5}, want: "generation 5 W: the contract has no renewables"},
		{name: "AI draws do not match", c: c, f: Facts{Interval: iv, AIW: []energy.Power{1, 2}}, want: "ai draws: 2 given for 1 ai loads"},
		{name: "negative AI draw", c: c, f: Facts{Interval: iv, AIW: []energy.Power{-5}}, want: `ai load "gpu" -5 W: must not be negative`},
		{name: "unknown deployment", c: c, f: Facts{Interval: iv, Deployments: []Deployment{{Commitment: "x", Start: iv.Start}}}, is: ErrUnknownCommitment},
		{name: "peak without fourcp", c: Contract{}, f: Facts{Interval: iv, PeakInterval: true}, want: "peak interval: the contract has no fourcp"},
		{name: "peak in October", c: c, f: Facts{Interval: span(t, "2024-10-16T19:00:00Z", 15*time.Minute), PeakInterval: true}, want: "peak interval: October is not a 4CP month"},
		{name: "overflow", c: c, f: Facts{Interval: iv, Spot: 1e200, MiningW: 1e9}, is: ledger.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.Settle(tt.f)
			if err == nil {
				t.Fatal("Settle accepted it")
			}
			if !strings.HasPrefix(err.Error(), "contract: settle [") {
				t.Errorf("error %q does not name the operation and interval", err)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error = %v, want %v", err, tt.is)
			}
		})
	}
}
