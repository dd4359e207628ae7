package minersim

import (
	"testing"

	"github.com/gridminer/gridminer/internal/energy"
)

func TestModelByName(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"S19j Pro", "S19j Pro", true},
		{"antminer-s19jpro", "S19j Pro", true},
		{"Antminer S19 XP", "S19 XP", true},
		{"s21", "S21", true},
		{"S9", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := ModelByName(tt.in)
		if (err == nil) != tt.ok || got.Name != tt.want {
			t.Errorf("ModelByName(%q) = %q, %v; want %q, ok=%v", tt.in, got.Name, err, tt.want, tt.ok)
		}
	}
}

func TestProfilesConvexAroundDefault(t *testing.T) {
	for _, m := range Models() {
		ps := m.Profiles()
		if got, want := len(ps), m.UnderclockSteps+m.OverclockSteps+1; got != want {
			t.Fatalf("%s: %d profiles, want %d", m.Name, got, want)
		}
		var def Profile
		for _, p := range ps {
			if p.Step == 0 {
				def = p
			}
		}
		if def.Name != "default" || def.FreqMHz != m.DefaultFreqMHz {
			t.Errorf("%s: default profile %+v", m.Name, def)
		}
		if d := float64(def.Power) - float64(m.NominalPower); d > 1 || d < -1 {
			t.Errorf("%s: default power %v, want nameplate %v", m.Name, def.Power, m.NominalPower)
		}
		j := func(p Profile) float64 { return float64(energy.EfficiencyOf(p.Power, p.Hashrate)) }
		lo, hi := ps[0], ps[len(ps)-1]
		minJ := j(def)
		for i := 1; i < len(ps); i++ {
			if ps[i].Power <= ps[i-1].Power || ps[i].Hashrate <= ps[i-1].Hashrate {
				t.Errorf("%s: profile %s not above %s", m.Name, ps[i].Name, ps[i-1].Name)
			}
			minJ = min(minJ, j(ps[i]))
		}
		// Worse at both extremes than at the best point, and the extremes
		// worse than default.
		if !(j(lo) > j(def) && j(hi) > j(def) && minJ <= j(def)) {
			t.Errorf("%s: J/TH lowest %.2f default %.2f highest %.2f best %.2f: want convex", m.Name, j(lo), j(def), j(hi), minJ)
		}
		// Second differences of J/TH are non-negative (convex), within rounding.
		for i := 1; i+1 < len(ps); i++ {
			if d2 := j(ps[i-1]) - 2*j(ps[i]) + j(ps[i+1]); d2 < -0.15 {
				t.Errorf("%s: J/TH not convex at %s (second difference %.3f)", m.Name, ps[i].Name, d2)
			}
		}
	}
}

func TestUnitVariationDeterministicAndBounded(t *testing.T) {
	m, _ := ModelByName("S21")
	clk := newFakeClock()
	a := newMiner(3, MinerSpec{Model: "S21", Seed: 42}, m, clk, DefaultWakeRamp, DefaultSleepRamp, false)
	b := newMiner(3, MinerSpec{Model: "S21", Seed: 42}, m, clk, DefaultWakeRamp, DefaultSleepRamp, false)
	c := newMiner(4, MinerSpec{Model: "S21", Seed: 43}, m, clk, DefaultWakeRamp, DefaultSleepRamp, false)
	pa, pb, pc := a.profiles[a.defIdx], b.profiles[b.defIdx], c.profiles[c.defIdx]
	if pa != pb {
		t.Errorf("same seed, different units: %+v vs %+v", pa, pb)
	}
	if pa == pc {
		t.Errorf("different seeds, same unit %+v", pa)
	}
	for _, p := range []Profile{pa, pc} {
		if h := float64(p.Hashrate) / 200; h < 0.97-1e-3 || h > 1.03+1e-3 {
			t.Errorf("hashrate %v outside ±3%% of 200", p.Hashrate)
		}
		if w := float64(p.Power) / 3500; w < 0.95-1e-3 || w > 1.05+1e-3 {
			t.Errorf("power %v outside ±5%% of 3500", p.Power)
		}
	}
}
