package dispatch

import (
	"errors"
	"fmt"
	"strings"
)

// Canonical policy names, shared by `gridminer plan`, `backtest`, the site
// config and the API. A modifier joins a base with "+" (for example
// "planner+fourcp"); "fourcp" alone means "breakeven+fourcp".
const (
	PolicyAlwaysOn     = "always-on"
	PolicyBreakeven    = "breakeven"
	PolicyPartialPower = "partial-power"
	PolicyFourCP       = "fourcp"
	PolicyPlanner      = "planner"
	PolicyOracle       = "oracle"
)

// Config tunes every policy; each uses the parts it needs.
type Config struct {
	Breakeven BreakevenConfig
	Planner   PlannerConfig // its Breakeven is set from Breakeven
}

// Names lists the canonical policy names that New accepts, each also
// with "+fourcp" (the oracle always prices the known 4CP peaks).
func Names() []string {
	return []string{PolicyAlwaysOn, PolicyBreakeven, PolicyPartialPower, PolicyFourCP, PolicyPlanner, PolicyOracle}
}

// New builds the per-interval policy called name ("breakeven",
// "partial-power+fourcp", ...). The oracle is not a per-interval policy
// (it needs the future): New rejects it with ErrOracleOffline, and
// callers that run offline use Solve over the whole period.
func New(name string, cfg Config) (Policy, error) {
	base, mod, _ := strings.Cut(name, "+")
	bc := cfg.Breakeven
	switch mod {
	case "":
	case PolicyFourCP:
		bc.FourCP = true
	default:
		return nil, fmt.Errorf("policy %q: unknown modifier %q (known: %s)", name, mod, PolicyFourCP)
	}
	switch base {
	case PolicyAlwaysOn:
		bc.AlwaysOn = true
	case PolicyBreakeven:
	case PolicyPartialPower:
		bc.Partial = true
	case PolicyFourCP:
		if mod != "" {
			return nil, fmt.Errorf("policy %q: fourcp is a modifier; write breakeven+fourcp", name)
		}
		bc.FourCP = true
	case PolicyPlanner:
		pc := cfg.Planner
		pc.Breakeven = bc
		return NewPlanner(pc)
	case PolicyOracle:
		return nil, fmt.Errorf("policy %q: %w", name, ErrOracleOffline)
	default:
		return nil, fmt.Errorf("unknown policy %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return NewBreakeven(bc)
}

// ErrOracleOffline says the oracle cannot run live: it sees the future.
var ErrOracleOffline = errors.New("the oracle plans with perfect foresight and runs only offline (plan, backtest)")

// Known reports whether name is a canonical policy name New or the
// offline tools accept.
func Known(name string) error {
	if name == PolicyOracle || name == PolicyOracle+"+"+PolicyFourCP {
		return nil
	}
	_, err := New(name, Config{})
	return err
}
