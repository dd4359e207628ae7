package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/parser"

	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
)

// FleetClass is a group of identical machines for offline planning and
// backtests. Each block of Block machines (default: all Count) is one
// unit that dispatch runs, sleeps or sets to a power step as a whole, as
// operators curtail by container or feeder.
type FleetClass struct {
	Model       string      `yaml:"model"`
	Count       int         `yaml:"count"`
	PowerW      float64     `yaml:"power_w"`      // nominal draw per machine
	HashrateTHs float64     `yaml:"hashrate_ths"` // nominal hashrate per machine
	SleepW      float64     `yaml:"sleep_w"`      // draw per machine asleep
	OverheadW   float64     `yaml:"overhead_w"`   // cooling and site load per running machine
	Steps       []FleetStep `yaml:"steps"`        // partial power levels per machine, ascending
	Block       int         `yaml:"block"`        // machines per dispatch unit (default Count)
	CannotSleep bool        `yaml:"cannot_sleep"`
}

// FleetStep is a partial power level of a machine.
type FleetStep struct {
	Name        string  `yaml:"name"`
	PowerW      float64 `yaml:"power_w"`
	HashrateTHs float64 `yaml:"hashrate_ths"`
}

// Units expands the fleet into dispatch units (one per block), each with
// the block's summed capabilities, starting asleep. Overhead is added to
// the running power of every level.
func Units(fleet []FleetClass) []dispatch.Unit {
	var out []dispatch.Unit
	for ci, c := range fleet {
		block := c.Block
		if block <= 0 || block > c.Count {
			block = c.Count
		}
		for first, b := 0, 0; first < c.Count; first, b = first+block, b+1 {
			n := min(block, c.Count-first)
			k := energy.Power(n)
			caps := miner.Capabilities{
				Driver: "fleet", Model: c.Model,
				NominalPower:    k * energy.Power(c.PowerW+c.OverheadW),
				NominalHashrate: energy.Hashrate(float64(n) * c.HashrateTHs),
				SleepPower:      k * energy.Power(c.SleepW),
				CanSleep:        !c.CannotSleep,
			}
			for _, s := range c.Steps {
				caps.PowerSteps = append(caps.PowerSteps, miner.PowerStep{Name: s.Name, Power: k * energy.Power(s.PowerW+c.OverheadW), Hashrate: energy.Hashrate(float64(n) * s.HashrateTHs)})
			}
			id := fmt.Sprintf("%d-%s", ci, strings.ReplaceAll(strings.ToLower(c.Model), " ", "-"))
			if c.Count > block {
				id += fmt.Sprintf("-b%d", b)
			}
			out = append(out, dispatch.Unit{ID: id, Caps: caps, State: miner.StateSleeping})
		}
	}
	return out
}

// DispatchConfig converts the policy section for internal/dispatch.
func (p Policy) DispatchConfig() dispatch.Config {
	bc := dispatch.BreakevenConfig{
		Hysteresis:    energy.Price(p.HysteresisUSDPerMWh),
		MinRun:        p.MinRun.D(),
		MinSleep:      p.MinSleep.D(),
		PowerAdder:    energy.Price(p.PowerAdderUSDPerMWh),
		PoolFee:       p.PoolFee,
		CurtailAfter:  p.CurtailAfter,
		ResumeAfter:   p.ResumeAfter,
		RampPerMinute: energy.Power(p.RampMWPerMin * 1e6),
		Strike:        energy.Price(p.StrikeUSDPerMWh),
	}
	return dispatch.Config{Breakeven: bc, Planner: dispatch.PlannerConfig{Breakeven: bc, Horizon: p.Horizon.D()}}
}

func (f *File) validateOffline(v *validator) {
	for i, c := range f.Fleet {
		p := "$.fleet[" + strconv.Itoa(i) + "]"
		if c.Model == "" {
			v.fail(p+".model", "missing")
		}
		if c.Count <= 0 {
			v.fail(p+".count", "%d: must be positive", c.Count)
		}
		if !(c.PowerW > 0) || math.IsInf(c.PowerW, 0) {
			v.fail(p+".power_w", "%v: must be a positive number", c.PowerW)
		}
		if !(c.HashrateTHs > 0) || math.IsInf(c.HashrateTHs, 0) {
			v.fail(p+".hashrate_ths", "%v: must be a positive number", c.HashrateTHs)
		}
		if c.SleepW < 0 || !finite(c.SleepW) || c.SleepW >= c.PowerW {
			v.fail(p+".sleep_w", "%v: must be >= 0 and below power_w", c.SleepW)
		}
		if c.OverheadW < 0 || !finite(c.OverheadW) {
			v.fail(p+".overhead_w", "%v: must be >= 0", c.OverheadW)
		}
		if c.Block < 0 {
			v.fail(p+".block", "%d: must not be negative", c.Block)
		}
		prev := c.SleepW
		for j, s := range c.Steps {
			sp := p + ".steps[" + strconv.Itoa(j) + "]"
			if !(s.PowerW > prev) || s.PowerW >= c.PowerW || !finite(s.PowerW) {
				v.fail(sp+".power_w", "%v: steps must ascend from sleep_w and stay below power_w", s.PowerW)
			}
			if !(s.HashrateTHs > 0) || !finite(s.HashrateTHs) {
				v.fail(sp+".hashrate_ths", "%v: must be a positive number", s.HashrateTHs)
			}
			prev = s.PowerW
		}
	}
	if err := f.Contract.Validate(); err != nil {
		for _, e := range unjoin(err) {
			path, msg, ok := strings.Cut(e.Error(), ": ")
			if !ok || !strings.HasPrefix(path, "contract") {
				v.fail("$.contract", "%v", e)
				continue
			}
			v.fail("$."+path, "%s", msg)
		}
	}
	if f.Policy.CurtailAfter < 0 {
		v.fail("$.policy.curtail_after", "%d: must not be negative", f.Policy.CurtailAfter)
	}
	if f.Policy.ResumeAfter < 0 {
		v.fail("$.policy.resume_after", "%d: must not be negative", f.Policy.ResumeAfter)
	}
	if f.Policy.RampMWPerMin < 0 || !finite(f.Policy.RampMWPerMin) {
		v.fail("$.policy.ramp_mw_per_min", "%v: must be >= 0", f.Policy.RampMWPerMin)
	}
	if f.Policy.Horizon < 0 || (f.Policy.Horizon > 0 && f.Policy.Horizon.D() < f.Site.Interval.D()) {
		v.fail("$.policy.horizon", "%s: must be at least one interval", f.Policy.Horizon.D())
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// LoadOffline reads a site file for offline use (plan, backtest): the
// fleet, contract, policy and site sections are used; miners may be
// absent. A file holding only a fleet: or contract: section (plus
// optionally site: and policy:) is accepted too, so they can be kept in
// their own files.
func LoadOffline(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	f := &File{}
	if err := DecodeStrict("config "+path, src, f); err != nil {
		return nil, err
	}
	file, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	v := &validator{name: path, file: file}
	f.defaults()
	if len(f.Miners) == 0 && len(f.Fleet) == 0 {
		f.validateOffline(v)
		if err := dispatch.Known(f.Policy.Type); err != nil {
			v.fail("$.policy.type", "%v", err)
		}
	} else {
		f.validate(v)
	}
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return f, nil
}

// MergeOffline overlays the non-empty sections of extra (a fleet or
// contract file) onto f.
func (f *File) MergeOffline(extra *File) {
	if len(extra.Fleet) > 0 {
		f.Fleet = extra.Fleet
	}
	if !IsZeroContract(extra.Contract) {
		f.Contract = extra.Contract
	}
}

// IsZeroContract reports whether c is the empty contract (no section).
func IsZeroContract(c contract.Contract) bool {
	return c.Block == nil && c.FourCP == nil && c.Demand == nil && c.Renewables == nil && len(c.AI) == 0 && len(c.Commitments) == 0 && c.Index == (contract.Index{})
}

// LoadDeployments reads a file listing demand-response deployments:
//
//	deployments:
//	  - {commitment: ers-summer, start: 2026-07-20T15:10:00-05:00, end: 2026-07-20T17:00:00-05:00}
//
// and checks them against c (each names one of its commitments).
func LoadDeployments(path string, c contract.Contract) ([]contract.Deployment, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("deployments: %w", err)
	}
	var f struct {
		Deployments []contract.Deployment `yaml:"deployments"`
	}
	if err := DecodeStrict("deployments "+path, src, &f); err != nil {
		return nil, err
	}
	if err := c.ValidateDeployments(f.Deployments); err != nil {
		return nil, fmt.Errorf("deployments %s: %w", path, err)
	}
	return f.Deployments, nil
}
