package contract

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
)

// ErrUnknownCommitment is returned for a deployment naming no commitment of
// the contract.
var ErrUnknownCommitment = errors.New("unknown commitment")

// ErrNoBaseline is returned by Settle when a deployment must be measured
// against a commitment whose BaselineMW is unset (call Contract.Defaults).
var ErrNoBaseline = errors.New("baseline_mw not set: call Contract.Defaults")

// Deployment is a call on a commitment: from Start the site must bring its
// mining draw down to BaselineMW − MW within the commitment's deadline and
// stay there until End or the end of the commitment's maximum hold.
type Deployment struct {
	Commitment string    `yaml:"commitment"`
	Start      time.Time `yaml:"start"`
	// End is when the deployment is recalled; zero means not yet.
	End time.Time `yaml:"end,omitempty"`
	// MW is the reduction called, at most the commitment's MW; 0 means
	// the whole commitment.
	MW float64 `yaml:"mw,omitempty"`
}

// deploymentYAML is Deployment as written in YAML.
type deploymentYAML struct {
	Commitment string  `yaml:"commitment"`
	Start      string  `yaml:"start"`
	End        string  `yaml:"end,omitempty"`
	MW         float64 `yaml:"mw,omitempty"`
}

// UnmarshalYAML decodes a deployment, parsing start and end strictly as
// Window does (RFC 3339, or a date meaning local midnight).
func (d *Deployment) UnmarshalYAML(unmarshal func(any) error) error {
	var raw deploymentYAML
	if err := unmarshal(&raw); err != nil {
		return err
	}
	start, err := parseInstant(raw.Start)
	if err != nil {
		return fmt.Errorf("deployment start: %w", err)
	}
	end, err := parseInstant(raw.End)
	if err != nil {
		return fmt.Errorf("deployment end: %w", err)
	}
	*d = Deployment{Commitment: raw.Commitment, Start: start, End: end, MW: raw.MW}
	return nil
}

// MarshalYAML encodes a deployment with RFC 3339 instants.
func (d Deployment) MarshalYAML() (any, error) {
	raw := deploymentYAML{Commitment: d.Commitment, MW: d.MW}
	if !d.Start.IsZero() {
		raw.Start = d.Start.Format(time.RFC3339Nano)
	}
	if !d.End.IsZero() {
		raw.End = d.End.Format(time.RFC3339Nano)
	}
	return raw, nil
}

// ValidateDeployments checks deployments against the contract: each names
// a commitment, has a start, ends after it (or is open), calls 0 to the
// commitment's MW, and does not overlap another deployment of the same
// commitment. Errors wrap ErrUnknownCommitment where that is the fault.
func (c Contract) ValidateDeployments(deployments []Deployment) error {
	var errs []error
	for i, d := range deployments {
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("deployment %d (%q at %s): %s", i, d.Commitment, d.Start.UTC().Format(time.RFC3339), fmt.Sprintf(format, args...)))
		}
		ci := c.commitmentIndex(d.Commitment)
		if ci < 0 {
			errs = append(errs, fmt.Errorf("deployment %d (%q at %s): %w", i, d.Commitment, d.Start.UTC().Format(time.RFC3339), ErrUnknownCommitment))
			continue
		}
		if d.Start.IsZero() {
			fail("start: must be set")
		}
		if !d.End.IsZero() && !d.End.After(d.Start) {
			fail("end %s: must be after start", d.End.UTC().Format(time.RFC3339))
		}
		if math.IsNaN(d.MW) || d.MW < 0 || d.MW > c.Commitments[ci].MW {
			fail("mw %v: must be from 0 to the commitment's %v", d.MW, c.Commitments[ci].MW)
		}
		for j := range i {
			e := deployments[j]
			if e.Commitment == d.Commitment && overlaps(d, e) {
				fail("overlaps deployment %d of the same commitment", j)
			}
		}
	}
	return errors.Join(errs...)
}

// overlaps reports whether two deployments share an instant.
func overlaps(a, b Deployment) bool {
	before := func(x, y Deployment) bool { return !x.End.IsZero() && !x.End.After(y.Start) }
	return !before(a, b) && !before(b, a)
}

func (c Contract) commitmentIndex(name string) int {
	for i, m := range c.Commitments {
		if m.Name == name {
			return i
		}
	}
	return -1
}

// obligation is a deployment resolved against its commitment.
type obligation struct {
	ci       int
	start    time.Time // deployed from
	deadline time.Time // obligated from
	holdEnd  time.Time // obligated until (zero: until end)
	end      time.Time // deployed until (zero: open)
	w        float64   // reduction called, W
}

func (o obligation) deployedAt(t time.Time) bool {
	return !t.Before(o.start) && (o.end.IsZero() || t.Before(o.end))
}

func (o obligation) obligatedAt(t time.Time) bool {
	return o.deployedAt(t) && !t.Before(o.deadline) && (o.holdEnd.IsZero() || t.Before(o.holdEnd))
}

// resolve returns the deployments of known commitments and the names of
// unknown ones.
func (c Contract) resolve(deployments []Deployment) (obls []obligation, unknown []string) {
	for _, d := range deployments {
		ci := c.commitmentIndex(d.Commitment)
		if ci < 0 {
			unknown = append(unknown, d.Commitment)
			continue
		}
		m := c.Commitments[ci]
		o := obligation{ci: ci, start: d.Start, end: d.End, w: d.MW * 1e6}
		if d.MW == 0 {
			o.w = m.MW * 1e6
		}
		o.deadline = d.Start.Add(m.EffectiveDeadline())
		if h := m.EffectiveMaxHold(); h > 0 {
			o.holdEnd = o.deadline.Add(h)
		}
		obls = append(obls, o)
	}
	return obls, unknown
}

// deploymentAt returns the deployment of commitment ci in force at t.
func deploymentAt(obls []obligation, ci int, t time.Time) (obligation, bool) {
	for _, o := range obls {
		if o.ci == ci && o.deployedAt(t) {
			return o, true
		}
	}
	return obligation{}, false
}

// cuts returns iv split at every instant where a commitment's state may
// change: iv.Start, the sorted inner breaks, iv.End.
func (c Contract) cuts(iv energy.Interval, obls []obligation) []time.Time {
	var cuts []time.Time
	for _, m := range c.Commitments {
		cuts = m.Window.breaks(iv, cuts)
	}
	for _, o := range obls {
		for _, t := range []time.Time{o.start, o.deadline, o.holdEnd, o.end} {
			if !t.IsZero() && t.After(iv.Start) && t.Before(iv.End) {
				cuts = append(cuts, t)
			}
		}
	}
	return normalizeCuts(iv, cuts)
}

// Constraints returns the bounds the contract's commitments put on the
// site's mining draw over iv: floor is the mining load to keep running
// (the sum of MW of every commitment active and not deployed), cap the
// most it may draw (maxMiningW, and for each commitment obligated by a
// deployment, its baseline minus the reduction called; the minimum
// applies). A commitment with BaselineMW zero is measured from
// maxMiningW. Where states change within iv the strictest part of the
// interval counts (the largest floor, the smallest cap), and when the floor
// then exceeds the cap the cap wins: the floor is lowered to it. Reasons
// explain each bound in words, one line per commitment and state;
// deployments naming unknown commitments are ignored and reported there
// (ValidateDeployments rejects them).
func (c Contract) Constraints(iv energy.Interval, deployments []Deployment, maxMiningW energy.Power) (floor, cap energy.Power, reasons []string) {
	maxW := max(0, float64(maxMiningW))
	obls, unknown := c.resolve(deployments)
	for _, u := range unknown {
		reasons = append(reasons, fmt.Sprintf("deployment of unknown commitment %q ignored", u))
	}
	if !iv.End.After(iv.Start) {
		return 0, energy.Power(maxW), append(reasons, fmt.Sprintf("interval %s is empty", iv))
	}
	seen := map[string]bool{}
	note := func(s string) {
		if !seen[s] {
			seen[s] = true
			reasons = append(reasons, s)
		}
	}
	lo, hi := 0.0, maxW
	cuts := c.cuts(iv, obls)
	for k := 0; k+1 < len(cuts); k++ {
		t := cuts[k]
		var f float64
		for i, m := range c.Commitments {
			id := fmt.Sprintf("%s (%s)", m.Name, m.Product)
			o, deployed := deploymentAt(obls, i, t)
			switch {
			case deployed && o.obligatedAt(t):
				base := m.BaselineMW * 1e6
				if base == 0 {
					base = maxW
				}
				cw := max(0, base-o.w)
				hi = min(hi, cw)
				note(fmt.Sprintf("%s: deployed at %s: mining at most %v (baseline %v minus %v) from %s",
					id, stamp(o.start), energy.Power(cw), energy.Power(base), energy.Power(o.w), stamp(o.deadline)))
			case deployed && t.Before(o.deadline):
				note(fmt.Sprintf("%s: deployed at %s: ramping down, deadline %s", id, stamp(o.start), stamp(o.deadline)))
			case deployed:
				note(fmt.Sprintf("%s: deployed at %s: maximum hold ended at %s", id, stamp(o.start), stamp(o.holdEnd)))
			case m.Active(t):
				f += m.MW * 1e6
				note(fmt.Sprintf("%s: active: keep at least %v of mining running to drop", id, energy.Power(m.MW*1e6)))
			}
		}
		lo = max(lo, f)
	}
	if lo > maxW {
		note(fmt.Sprintf("committed floor %v exceeds the maximum mining draw %v", energy.Power(lo), energy.Power(maxW)))
	}
	if lo > hi {
		note(fmt.Sprintf("floor %v above cap %v: the cap wins", energy.Power(lo), energy.Power(hi)))
		lo = hi
	}
	return energy.Power(lo), energy.Power(hi), reasons
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
