package minersim

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gridminer/gridminer/internal/energy"
)

// Model is one machine type with its nameplate operating point and the
// parameters of its physical model.
type Model struct {
	Name            string // short name, as LuxOS reports in config "Model": "S19j Pro"
	Type            string // as LuxOS reports in "Type": "Antminer S19j Pro"
	NominalHashrate energy.Hashrate
	NominalPower    energy.Power
	DefaultFreqMHz  int     // frequency of the "default" profile
	DefaultVoltage  float64 // volts at the default profile
	UnderclockSteps int     // profiles below default, 25 MHz each
	OverclockSteps  int     // profiles above default
	Boards          int
	ChipsPerBoard   int
	Fans            int
	SleepPower      energy.Power // drawn while asleep (control board)
}

// Profile is one frequency step of a model or of one unit.
type Profile struct {
	Name     string // "default" or "<freq>MHz"
	Step     int    // steps from the default, negative = underclock
	FreqMHz  int
	Voltage  float64
	Power    energy.Power
	Hashrate energy.Hashrate
}

// StepLabel renders the step as LuxOS does: "-3", "0", "+1".
func (p Profile) StepLabel() string {
	if p.Step > 0 {
		return "+" + strconv.Itoa(p.Step)
	}
	return strconv.Itoa(p.Step)
}

// Physical-model constants shared by every model.
const (
	freqStepMHz   = 25
	voltStep      = 0.1  // V per profile step (LuxOS features page)
	voltFloorDrop = 1.0  // the voltage does not fall more than this below default
	fixedShare    = 0.06 // share of nominal power that does not scale with f·V² (fans, control, leakage)
	sleepWatts    = 25
)

// Models returns the built-in machine models.
func Models() []Model {
	return []Model{
		{
			Name: "S19j Pro", Type: "Antminer S19j Pro",
			NominalHashrate: 104, NominalPower: 3068,
			DefaultFreqMHz: 545, DefaultVoltage: 13.4,
			UnderclockSteps: 16, OverclockSteps: 8,
			Boards: 3, ChipsPerBoard: 126, Fans: 4, SleepPower: sleepWatts,
		},
		{
			Name: "S19 XP", Type: "Antminer S19 XP",
			NominalHashrate: 140, NominalPower: 3010,
			DefaultFreqMHz: 525, DefaultVoltage: 13.2,
			UnderclockSteps: 16, OverclockSteps: 6,
			Boards: 3, ChipsPerBoard: 110, Fans: 4, SleepPower: sleepWatts,
		},
		{
			Name: "S21", Type: "Antminer S21",
			NominalHashrate: 200, NominalPower: 3500,
			DefaultFreqMHz: 490, DefaultVoltage: 13.0,
			UnderclockSteps: 14, OverclockSteps: 4,
			Boards: 3, ChipsPerBoard: 108, Fans: 4, SleepPower: sleepWatts,
		},
	}
}

// normName folds a model name for lookup: case, spaces, dashes, underscores
// and a leading "antminer" do not matter.
func normName(s string) string {
	s = strings.ToLower(s)
	s = strings.NewReplacer(" ", "", "-", "", "_", "").Replace(s)
	return strings.TrimPrefix(s, "antminer")
}

// ModelByName returns the built-in model called name ("S19j Pro",
// "antminer-s19jpro", "s21", ...).
func ModelByName(name string) (Model, error) {
	want := normName(name)
	var known []string
	for _, m := range Models() {
		if normName(m.Name) == want {
			return m, nil
		}
		known = append(known, m.Name)
	}
	return Model{}, fmt.Errorf("miner model %q: unknown (known: %s)", name, strings.Join(known, ", "))
}

// Profiles returns the model's nameplate profiles, lowest frequency first.
//
// Hashrate scales with frequency. Power is a fixed part plus a part
// proportional to f·V², with the voltage moving 0.1 V per step down to a
// floor, so J/TH is convex: it improves for the first underclock steps,
// then worsens as the fixed part dominates, and worsens with overclock.
func (m Model) Profiles() []Profile {
	return m.profiles(1, 1)
}

// profiles returns the profile table scaled by a unit's hashrate and power
// factors.
func (m Model) profiles(hf, pf float64) []Profile {
	out := make([]Profile, 0, m.UnderclockSteps+m.OverclockSteps+1)
	p0 := float64(m.NominalPower) * pf
	h0 := float64(m.NominalHashrate) * hf
	f0 := float64(m.DefaultFreqMHz)
	for k := -m.UnderclockSteps; k <= m.OverclockSteps; k++ {
		f := f0 + float64(k*freqStepMHz)
		if f <= 0 {
			continue
		}
		v := math.Max(m.DefaultVoltage+voltStep*float64(k), m.DefaultVoltage-voltFloorDrop)
		v = math.Round(v*10) / 10
		r := v / m.DefaultVoltage
		p := p0*fixedShare + p0*(1-fixedShare)*(f/f0)*r*r
		name := "default"
		if k != 0 {
			name = strconv.Itoa(int(f)) + "MHz"
		}
		out = append(out, Profile{
			Name: name, Step: k, FreqMHz: int(f), Voltage: v,
			Power:    energy.Power(math.Round(p)),
			Hashrate: energy.Hashrate(math.Round(h0*f/f0*10) / 10),
		})
	}
	return out
}
