package dispatch

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/price"
)

func mustPolicy(t *testing.T, name string, bc BreakevenConfig) Policy {
	t.Helper()
	p, err := New(name, Config{Breakeven: bc})
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	return p
}

func mustPlan(t *testing.T, p Policy, in Inputs) Plan {
	t.Helper()
	plan, err := p.Plan(in)
	if err != nil {
		t.Fatalf("%s: Plan: %v", p.Name(), err)
	}
	return plan
}

// tags returns each unit's setpoint and reason tag, by id.
func tags(p Plan) map[string]decision { return decisions(p) }

func wantDecisions(t *testing.T, what string, p Plan, want map[string]decision) {
	t.Helper()
	got := tags(p)
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: unit %s = %+v, want %+v (reason %q)", what, id, got[id], w, reasonOf(p, id))
		}
	}
}

func reasonOf(p Plan, id string) string {
	for _, u := range p.Units {
		if u.ID == id {
			return u.Reason
		}
	}
	return ""
}

func TestStrikePersistence(t *testing.T) {
	p := mustPolicy(t, "breakeven", BreakevenConfig{CurtailAfter: 3, ResumeAfter: 2})
	// Unit c breaks even at $66.67/MWh.
	in := inputs(80, 0, running(fleet(), testNow.Add(-time.Hour)))
	in.Recent = []energy.Price{50, 90}
	wantDecisions(t, "two of three intervals above", mustPlan(t, p, in), map[string]decision{"c": {run, "strike persistence"}})
	in.Recent = []energy.Price{90, 95}
	wantDecisions(t, "three intervals above", mustPlan(t, p, in), map[string]decision{"c": {sleep, "above breakeven"}})

	in = inputs(50, 0, fleet())
	in.Recent = []energy.Price{70}
	wantDecisions(t, "one interval under", mustPlan(t, p, in), map[string]decision{"c": {sleep, "strike persistence"}, "a": {run, "below breakeven"}})
	in.Recent = []energy.Price{60}
	wantDecisions(t, "two intervals under", mustPlan(t, p, in), map[string]decision{"c": {run, "below breakeven"}})
}

func TestSiteRampLimit(t *testing.T) {
	// 300 W/min over a 15-minute interval: at most 4.5 kW of change.
	p := mustPolicy(t, "breakeven", BreakevenConfig{RampPerMinute: 300})
	in := inputs(30, 0, fleet())
	in.Previous, in.HasPrevious = 30, true
	plan := mustPlan(t, p, in)
	wantDecisions(t, "ramp up", plan, map[string]decision{"a": {run, "below breakeven"}, "b": {sleep, "site ramp"}, "c": {sleep, "site ramp"}})
	if plan.Power != 3520 || plan.Ramp != 300 {
		t.Errorf("ramp up: power %v ramp %v, want 3.52 kW and 300 W/min", plan.Power, plan.Ramp)
	}
	// A limit smaller than one unit still lets one unit start.
	in.Previous = 30
	small := mustPolicy(t, "breakeven", BreakevenConfig{RampPerMinute: 10})
	if got := mustPlan(t, small, in).Running; got != 1 {
		t.Errorf("ramp smaller than a unit: %d units start, want 1", got)
	}

	in = inputs(200, 0, running(fleet(), testNow.Add(-time.Hour)))
	in.Previous, in.HasPrevious = 9500, true
	plan = mustPlan(t, p, in)
	wantDecisions(t, "ramp down", plan, map[string]decision{"a": {run, "site ramp"}, "b": {run, "site ramp"}, "c": {sleep, "above breakeven"}})
	if plan.Power < 9500-4500 {
		t.Errorf("ramp down: planned %v, more than 4.5 kW below 9.5 kW", plan.Power)
	}
	in.HasPrevious = false
	if got := mustPlan(t, p, in).Running; got != 0 {
		t.Errorf("no previous plan: %d units run at $200, want 0 (no ramp reference)", got)
	}
}

func commitment(mw float64) contract.Commitment {
	return contract.Commitment{Name: "ers", Product: contract.ERS10, MW: mw, CapacityUSDPerMWh: 10, PenaltyUSDPerMWh: 100,
		Window: contract.Window{Start: testNow.Add(-24 * time.Hour), End: testNow.Add(24 * time.Hour)}}
}

func TestCommitmentFloorAndDeployment(t *testing.T) {
	p := mustPolicy(t, "breakeven", BreakevenConfig{})
	c := &contract.Contract{Commitments: []contract.Commitment{commitment(0.005)}}
	c.Defaults(9500 + 30)
	in := inputs(200, 0, fleet())
	in.Contract = c
	plan := mustPlan(t, p, in)
	wantDecisions(t, "floor", plan, map[string]decision{"a": {run, "commitment"}, "b": {run, "commitment"}, "c": {sleep, "above breakeven"}})
	if plan.Floor != 5000 || !strings.Contains(plan.Reason, "keep at least") {
		t.Errorf("floor %v reason %q, want 5 kW and the commitment named", plan.Floor, plan.Reason)
	}

	// Deployed an hour ago (past the 10-minute deadline): mining at most
	// the baseline (9.53 kW) minus 5 kW, whatever the price.
	in = inputs(30, 0, fleet())
	in.Contract = c
	in.Deployments = []contract.Deployment{{Commitment: "ers", Start: testNow.Add(-time.Hour)}}
	plan = mustPlan(t, p, in)
	if plan.Cap != 4530 || plan.Power > 4530 {
		t.Errorf("deployed: cap %v planned %v, want cap 4.53 kW and power under it", plan.Cap, plan.Power)
	}
	wantDecisions(t, "deployed", plan, map[string]decision{"a": {run, "below breakeven"}, "b": {sleep, "site cap"}})
}

func TestAILoads(t *testing.T) {
	p := mustPolicy(t, "breakeven", BreakevenConfig{})
	c := &contract.Contract{AI: []contract.AILoad{
		{Name: "inference", MW: 1, ValueUSDPerMWh: 300, Firm: true},
		{Name: "training", MW: 0.002, ValueUSDPerMWh: 100},
	}}
	in := inputs(50, 1e6+6000, fleet())
	in.Contract = c
	plan := mustPlan(t, p, in)
	if len(plan.AI) != 2 || !plan.AI[0].Run || !plan.AI[1].Run {
		t.Fatalf("price $50: AI plans %+v, want both running", plan.AI)
	}
	// The firm load takes 1 MW of the cap; the flexible draw gets 6 kW.
	// In merit order a ($119.05/MWh) fits, b ($104.17) does not, training
	// (2 kW, $100/MWh) does, c would not pay.
	if plan.Cap != 6000 || plan.Power != 5520 {
		t.Errorf("cap %v planned %v, want cap 6 kW and 5.52 kW planned", plan.Cap, plan.Power)
	}
	wantDecisions(t, "AI in merit order", plan, map[string]decision{"a": {run, "below breakeven"}, "b": {sleep, "site cap"}})
	in.Price = 150
	plan = mustPlan(t, p, in)
	if plan.AI[1].Run || !plan.AI[0].Run {
		t.Errorf("price $150: AI plans %+v, want the firm load on and training off", plan.AI)
	}
	in.Emergency = true
	plan = mustPlan(t, p, in)
	if plan.AI[0].Firm {
		t.Errorf("emergency: the firm AI load is still firm: %+v", plan.AI[0])
	}
}

func TestContractCurves(t *testing.T) {
	p := mustPolicy(t, "breakeven", BreakevenConfig{})
	// A fixed-price block does not make mining cheaper: unused block power
	// resells at spot, so spot is the marginal cost.
	in := inputs(110, 0, fleet())
	in.Contract = &contract.Contract{Block: &contract.Block{MW: 1, PriceUSDPerMWh: 40}}
	wantDecisions(t, "block at $40, spot $110", mustPlan(t, p, in), map[string]decision{
		"a": {run, "below breakeven"}, "b": {sleep, "above breakeven"}, "c": {sleep, "above breakeven"},
	})
	// Inside a 4 kW block resold at spot ($100) b pays; above it spot plus
	// a $10 adder ($110) it would not: b sits inside the block after a.
	in = inputs(100, 0, fleet())
	in.Contract = &contract.Contract{Index: contract.Index{AdderUSDPerMWh: 10}, Block: &contract.Block{MW: 0.0071, PriceUSDPerMWh: 40}}
	wantDecisions(t, "adder above the block", mustPlan(t, p, in), map[string]decision{"a": {run, "below breakeven"}, "b": {run, "below breakeven"}})

	// Behind-the-meter generation: 8 kW of solar, 2 kW exportable at spot
	// ($200): a and b mine what would be spilled; c would forgo exports.
	in = inputs(200, 0, fleet())
	in.Contract = &contract.Contract{Renewables: &contract.Renewables{CapacityMW: 0.01, ExportLimitMW: 0.002}}
	in.Generation = 8000
	wantDecisions(t, "solar", mustPlan(t, p, in), map[string]decision{
		"a": {run, "below breakeven"}, "b": {run, "below breakeven"}, "c": {sleep, "above breakeven"},
	})
	// The import cap is on the grid connection: generation serving the
	// load lets the site draw more than the cap.
	in.SiteCap, in.Price = 2000, 30
	if plan := mustPlan(t, p, in); plan.Cap != 9500 || plan.Running != 3 { // 2 + 8 kW, but no more than the fleet
		t.Errorf("solar under a 2 kW import cap: cap %v, %d running; want 9.5 kW (the fleet) and all 3", plan.Cap, plan.Running)
	}
	in.Contract = &contract.Contract{}
	if plan := mustPlan(t, p, in); plan.Cap != 2000 {
		t.Errorf("generation without a renewables section: cap %v, want the 2 kW import cap", plan.Cap)
	}
}

func TestPartialPower(t *testing.T) {
	units := []Unit{{ID: "c", Caps: capsJSteps, State: miner.StateSleeping}}
	// At $68/MWh nominal (31.25 J/TH, $66.67) loses money; the "low" step
	// (30 J/TH, $69.44) still pays and earns the most.
	if got := tags(mustPlan(t, mustPolicy(t, "breakeven", BreakevenConfig{}), inputs(68, 0, units)))["c"]; got.Setpoint != sleep {
		t.Errorf("breakeven at $68: %+v, want sleep", got)
	}
	plan := mustPlan(t, mustPolicy(t, "partial-power", BreakevenConfig{}), inputs(68, 0, units))
	if got := plan.Units[0].Setpoint; got != miner.Run(1200) {
		t.Errorf("partial-power at $68: %v (%s), want run at 1200 W", got, plan.Units[0].Reason)
	}
	if plan.Power != 1200 {
		t.Errorf("partial-power planned %v, want 1.2 kW", plan.Power)
	}
	// Cheap power: nominal earns the most.
	if got := mustPlan(t, mustPolicy(t, "partial-power", BreakevenConfig{}), inputs(20, 0, units)).Units[0].Setpoint; got != run {
		t.Errorf("partial-power at $20: %v, want nominal", got)
	}
}

func TestFourCPModifier(t *testing.T) {
	c := &contract.Contract{FourCP: &contract.FourCP{RateUSDPerKWYear: 50}}
	in := inputs(30, 0, fleet())
	in.Contract = c
	in.PeakRisk = 0.5
	// 50 $/kW-yr / 1000 / 4 peaks × 1/4 of the peak hour × 50% risk =
	// $0.0015625 per W in a 15-minute interval = $6,250/MWh.
	plan := mustPlan(t, mustPolicy(t, "fourcp", BreakevenConfig{}), in)
	if plan.Running != 0 || !strings.Contains(plan.Reason, "4CP peak risk 50.0% adds $6250.00/MWh") {
		t.Errorf("fourcp at 50%% risk: %d run, reason %q", plan.Running, plan.Reason)
	}
	if plan.Policy != "breakeven+fourcp" {
		t.Errorf("policy = %q", plan.Policy)
	}
	if got := mustPlan(t, mustPolicy(t, "breakeven", BreakevenConfig{}), in).Running; got != 3 {
		t.Errorf("breakeven ignores the risk: %d run, want 3", got)
	}
	in.PeakRisk = 0.0001 // $1.25/MWh
	if got := mustPlan(t, mustPolicy(t, "partial-power+fourcp", BreakevenConfig{}), in).Running; got != 3 {
		t.Errorf("fourcp at a tiny risk: %d run, want 3", got)
	}
}

func TestAlwaysOn(t *testing.T) {
	plan := mustPlan(t, mustPolicy(t, "always-on", BreakevenConfig{}), inputs(5000, 7000, fleet()))
	wantDecisions(t, "always-on", plan, map[string]decision{"a": {run, "always on"}, "b": {run, "always on"}, "c": {sleep, "site cap"}})
}

func TestNames(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"always-on", "always-on"}, {"breakeven", "breakeven"}, {"partial-power", "partial-power"},
		{"fourcp", "breakeven+fourcp"}, {"breakeven+fourcp", "breakeven+fourcp"},
		{"partial-power+fourcp", "partial-power+fourcp"}, {"planner", "planner"}, {"planner+fourcp", "planner+fourcp"},
	} {
		p, err := New(tt.name, Config{})
		if err != nil || p.Name() != tt.want {
			t.Errorf("New(%q) = %v, %v; want a policy named %q", tt.name, p, err, tt.want)
		}
	}
	if _, err := New("oracle", Config{}); !errors.Is(err, ErrOracleOffline) {
		t.Errorf("New(oracle) err = %v, want ErrOracleOffline", err)
	}
	for _, bad := range []string{"", "cheapest", "breakeven+magic", "fourcp+fourcp"} {
		if err := Known(bad); err == nil {
			t.Errorf("Known(%q) = nil, want an error", bad)
		}
	}
	for _, n := range Names() {
		if err := Known(n); err != nil {
			t.Errorf("Known(%q) = %v", n, err)
		}
	}
}

func TestPlannerLooksAhead(t *testing.T) {
	bc := BreakevenConfig{MinRun: time.Hour}
	units := []Unit{{ID: "c", Caps: capsJ, State: miner.StateSleeping}}
	in := inputs(60, 0, units)
	// $60 now (under c's $66.67) but $500 for the next 45 minutes: a start
	// now must run an hour and loses money.
	for k := 1; k <= 8; k++ {
		pr := energy.Price(500)
		if k > 3 {
			pr = 20
		}
		start := testInterval.Start.Add(time.Duration(k) * 15 * time.Minute)
		in.Forecast = append(in.Forecast, price.Point{Interval: energy.Interval{Start: start, End: start.Add(15 * time.Minute)}, Price: pr})
	}
	if got := tags(mustPlan(t, mustPolicy(t, "breakeven", bc), in))["c"].Setpoint; got != run {
		t.Fatalf("breakeven: %v, want run", got)
	}
	planner, err := New("planner", Config{Breakeven: bc})
	if err != nil {
		t.Fatal(err)
	}
	plan := mustPlan(t, planner, in)
	if got := plan.Units[0].Setpoint; got != sleep {
		t.Errorf("planner: %v (%s), want sleep until the spike passes", got, plan.Reason)
	}
	if !strings.HasPrefix(plan.Reason, "planner over 9 intervals") {
		t.Errorf("planner reason = %q", plan.Reason)
	}
	in.Forecast = nil
	plan = mustPlan(t, planner, in)
	if !strings.HasPrefix(plan.Reason, "planner: no forecast") || plan.Units[0].Setpoint != run {
		t.Errorf("planner without forecast: %v %q, want the breakeven fallback", plan.Units[0].Setpoint, plan.Reason)
	}
}
