package dispatch

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
)

// Test models. At hashprice $0.05/TH/day (= $50/PH/day) a unit of e J/TH
// breaks even at 0.05 × 1e6 / (24 × e) = 2083.33 / e $/MWh:
//
//	s21: 3500 W / 200 TH/s = 17.5 J/TH  -> $119.05/MWh
//	xp:  3000 W / 150 TH/s = 20 J/TH    -> $104.17/MWh
//	j:   3000 W /  96 TH/s = 31.25 J/TH -> $66.67/MWh
//
// Every model sleeps at 10 W.
const testHashprice bitcoin.Hashprice = 0.05

var (
	testNow      = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	testInterval = energy.Interval{Start: testNow, End: testNow.Add(15 * time.Minute)}
)

func caps(w energy.Power, th energy.Hashrate) miner.Capabilities {
	return miner.Capabilities{NominalPower: w, NominalHashrate: th, CanSleep: true, SleepPower: 10}
}

var (
	capsS21 = caps(3500, 200)
	capsXP  = caps(3000, 150)
	capsJ   = caps(3000, 96)
	// capsJSteps is the j model with LuxOS-style power profiles.
	capsJSteps = func() miner.Capabilities {
		c := caps(3000, 96)
		c.PowerSteps = []miner.PowerStep{
			{Name: "low", Power: 1200, Hashrate: 40}, // 30 J/TH -> $69.44/MWh
			{Name: "mid", Power: 2000, Hashrate: 66}, // 30.3 J/TH
			{Name: "nominal", Power: 3000, Hashrate: 96},
		}
		return c
	}()
)

// fleet returns one sleeping unit of each model, ids a (s21), b (xp), c (j).
func fleet() []Unit {
	return []Unit{
		{ID: "a", Caps: capsS21, State: miner.StateSleeping},
		{ID: "b", Caps: capsXP, State: miner.StateSleeping},
		{ID: "c", Caps: capsJ, State: miner.StateSleeping},
	}
}

func running(us []Unit, since time.Time) []Unit {
	for i := range us {
		us[i].Running, us[i].State, us[i].Since = true, miner.StateMining, since
	}
	return us
}

func inputs(price energy.Price, cap energy.Power, units []Unit) Inputs {
	return Inputs{Now: testNow, Interval: testInterval, Price: price, Hashprice: testHashprice, Units: units, SiteCap: cap}
}

// decision is the part of a UnitPlan the tests pin: the setpoint and the
// reason's leading tag (up to the first ':' or ';').
type decision struct {
	Setpoint miner.Setpoint
	Tag      string
}

func decisions(p Plan) map[string]decision {
	m := make(map[string]decision, len(p.Units))
	for _, u := range p.Units {
		tag := u.Reason
		if i := strings.IndexAny(tag, ":;"); i >= 0 {
			tag = tag[:i]
		}
		m[u.ID] = decision{u.Setpoint, tag}
	}
	return m
}

var (
	run   = miner.Run(0)
	sleep = miner.Sleep()
)

func TestBreakevenPlan(t *testing.T) {
	tests := []struct {
		name      string
		cfg       BreakevenConfig
		in        Inputs
		want      map[string]decision
		wantPower energy.Power
	}{
		{
			name: "all run at low price",
			in:   inputs(30, 0, fleet()),
			want: map[string]decision{
				"a": {run, "below breakeven"}, "b": {run, "below breakeven"}, "c": {run, "below breakeven"},
			},
			wantPower: 3500 + 3000 + 3000,
		},
		{
			name: "all sleep at high price",
			in:   inputs(200, 0, running(fleet(), time.Time{})),
			want: map[string]decision{
				"a": {sleep, "above breakeven"}, "b": {sleep, "above breakeven"}, "c": {sleep, "above breakeven"},
			},
			wantPower: 30,
		},
		{
			// $90 lies between j ($66.67) and xp ($104.17).
			name: "merit order split",
			in:   inputs(90, 0, fleet()),
			want: map[string]decision{
				"a": {run, "below breakeven"}, "b": {run, "below breakeven"}, "c": {sleep, "above breakeven"},
			},
			wantPower: 3500 + 3000 + 10,
		},
		{
			// $110 lies between xp ($104.17) and s21 ($119.05).
			name: "merit order split higher",
			in:   inputs(110, 0, running(fleet(), time.Time{})),
			want: map[string]decision{
				"a": {run, "below breakeven"}, "b": {sleep, "above breakeven"}, "c": {sleep, "above breakeven"},
			},
			wantPower: 3500 + 10 + 10,
		},
		{
			// H = $5: running j stops only above 66.67 + 5 = 71.67.
			name:      "hysteresis keeps a running unit running",
			cfg:       BreakevenConfig{Hysteresis: 5},
			in:        inputs(70, 0, running(fleet()[2:], time.Time{})),
			want:      map[string]decision{"c": {run, "hysteresis"}},
			wantPower: 3000,
		},
		{
			name:      "hysteresis band exceeded stops a running unit",
			cfg:       BreakevenConfig{Hysteresis: 5},
			in:        inputs(72, 0, running(fleet()[2:], time.Time{})),
			want:      map[string]decision{"c": {sleep, "above breakeven"}},
			wantPower: 10,
		},
		{
			// A sleeping j starts only at or below 66.67 − 5 = 61.67.
			name:      "hysteresis keeps a sleeping unit asleep",
			cfg:       BreakevenConfig{Hysteresis: 5},
			in:        inputs(63, 0, fleet()[2:]),
			want:      map[string]decision{"c": {sleep, "hysteresis"}},
			wantPower: 10,
		},
		{
			name:      "hysteresis band exceeded starts a sleeping unit",
			cfg:       BreakevenConfig{Hysteresis: 5},
			in:        inputs(61, 0, fleet()[2:]),
			want:      map[string]decision{"c": {run, "below breakeven"}},
			wantPower: 3000,
		},
		{
			// Pool fee 4%: j's breakeven is 66.67 × 0.96 = $64.00; with a $5
			// adder it runs at market prices up to $59.00.
			name: "pool fee and adder lower the price a unit runs at",
			cfg:  BreakevenConfig{PoolFee: 0.04, PowerAdder: 5},
			in: inputs(58.9, 0, []Unit{
				{ID: "c", Caps: capsJ},
				{ID: "c2", Caps: capsJ, Running: true},
			}),
			want:      map[string]decision{"c": {run, "below breakeven"}, "c2": {run, "below breakeven"}},
			wantPower: 6000,
		},
		{
			name: "pool fee and adder: just above",
			cfg:  BreakevenConfig{PoolFee: 0.04, PowerAdder: 5},
			in: inputs(59.1, 0, []Unit{
				{ID: "c", Caps: capsJ},
				{ID: "c2", Caps: capsJ, Running: true},
			}),
			want:      map[string]decision{"c": {sleep, "above breakeven"}, "c2": {sleep, "above breakeven"}},
			wantPower: 20,
		},
		{
			name: "min run holds a recently started unit",
			cfg:  BreakevenConfig{MinRun: 30 * time.Minute},
			in: inputs(200, 0, []Unit{
				{ID: "recent", Caps: capsJ, Running: true, Since: testNow.Add(-10 * time.Minute)},
				{ID: "old", Caps: capsJ, Running: true, Since: testNow.Add(-40 * time.Minute)},
				{ID: "unknown", Caps: capsJ, Running: true},
				{ID: "future", Caps: capsJ, Running: true, Since: testNow.Add(time.Minute)},
			}),
			want: map[string]decision{
				"recent":  {run, "min run"},
				"old":     {sleep, "above breakeven"},
				"unknown": {sleep, "above breakeven"},
				"future":  {run, "min run"},
			},
			wantPower: 3000 + 10 + 10 + 3000,
		},
		{
			name: "min sleep holds a recently stopped unit",
			cfg:  BreakevenConfig{MinSleep: 15 * time.Minute},
			in: inputs(30, 0, []Unit{
				{ID: "recent", Caps: capsJ, Since: testNow.Add(-5 * time.Minute)},
				{ID: "old", Caps: capsJ, Since: testNow.Add(-20 * time.Minute)},
				{ID: "unknown", Caps: capsJ},
			}),
			want: map[string]decision{
				"recent":  {sleep, "min sleep"},
				"old":     {run, "below breakeven"},
				"unknown": {run, "below breakeven"},
			},
			wantPower: 10 + 3000 + 3000,
		},
		{
			// Cap 8000 W: sleep power 3 × 10 = 30 W; s21 adds 3490 (headroom
			// 4480), xp 2990 (1490). j needs 2990 and does not fit; its
			// highest step that fits 1490 + 10 W is "low" at 1200 W
			// (30 J/TH, breakeven $69.44 > $30). Total 30 + 3490 + 2990 +
			// 1190 = 7700 W.
			name: "cap binding, marginal unit at a partial step",
			in: inputs(30, 8000, []Unit{
				{ID: "a", Caps: capsS21}, {ID: "b", Caps: capsXP}, {ID: "c", Caps: capsJSteps},
			}),
			want: map[string]decision{
				"a": {run, "below breakeven"}, "b": {run, "below breakeven"}, "c": {miner.Run(1200), "site cap"},
			},
			wantPower: 7700,
		},
		{
			name: "cap binding, marginal unit without steps sleeps",
			in:   inputs(30, 8000, fleet()),
			want: map[string]decision{
				"a": {run, "below breakeven"}, "b": {run, "below breakeven"}, "c": {sleep, "site cap"},
			},
			wantPower: 30 + 3490 + 2990,
		},
		{
			// The cap drops the least efficient first, skipping to smaller
			// units that still fit: cap 6510 fits s21 (3490 + 30 base) and
			// then exactly one 2990 W unit: xp, not j (30 + 3490 + 2990 = 6510).
			name: "cap exactly filled in merit order",
			in:   inputs(30, 6510, running(fleet(), time.Time{})),
			want: map[string]decision{
				"a": {run, "below breakeven"}, "b": {run, "below breakeven"}, "c": {sleep, "site cap"},
			},
			wantPower: 6510,
		},
		{
			// Both held by min run at $200; the cap (3600 W) keeps only one:
			// the more efficient s21 (10 + 10 + 3490 = 3510 W).
			name: "min run yields to the cap, least efficient first",
			cfg:  BreakevenConfig{MinRun: time.Hour},
			in:   inputs(200, 3600, running([]Unit{{ID: "j", Caps: capsJ}, {ID: "s21", Caps: capsS21}}, testNow.Add(-time.Minute))),
			want: map[string]decision{
				"j": {sleep, "site cap"}, "s21": {run, "min run"},
			},
			wantPower: 3510,
		},
		{
			// A held unit is admitted before a new start, even a more efficient one.
			name: "min run holds come before new starts under the cap",
			cfg:  BreakevenConfig{MinRun: time.Hour},
			in: inputs(80, 3100, []Unit{
				{ID: "s21", Caps: capsS21},
				{ID: "j", Caps: capsJ, Running: true, Since: testNow.Add(-time.Minute)},
			}),
			want: map[string]decision{
				"j": {run, "min run"}, "s21": {sleep, "site cap"},
			},
			wantPower: 3010,
		},
		{
			// Offline "a" was running: its 3500 W stay reserved. Base =
			// 3500 + 10 + 10 = 3520; headroom 3480 fits xp (2990), not j.
			name: "offline unit that was running is reserved against the cap",
			in: inputs(30, 7000, []Unit{
				{ID: "a", Caps: capsS21, State: miner.StateOffline, Running: true},
				{ID: "b", Caps: capsXP},
				{ID: "c", Caps: capsJ},
			}),
			want: map[string]decision{
				"a": {sleep, "offline"}, "b": {run, "below breakeven"}, "c": {sleep, "site cap"},
			},
			wantPower: 3520 + 2990,
		},
		{
			// The same site with "a" offline but not running reserves only
			// its sleep power, and both others fit: 30 + 2990 + 2990.
			name: "offline unit that was asleep reserves only sleep power",
			in: inputs(30, 7000, []Unit{
				{ID: "a", Caps: capsS21, State: miner.StateOffline},
				{ID: "b", Caps: capsXP},
				{ID: "c", Caps: capsJ},
			}),
			want: map[string]decision{
				"a": {sleep, "offline"}, "b": {run, "below breakeven"}, "c": {run, "below breakeven"},
			},
			wantPower: 6010,
		},
		{
			name: "negative price runs everything",
			cfg:  BreakevenConfig{Hysteresis: 5, PowerAdder: 3, PoolFee: 0.02},
			in:   inputs(-25, 0, fleet()),
			want: map[string]decision{
				"a": {run, "below breakeven"}, "b": {run, "below breakeven"}, "c": {run, "below breakeven"},
			},
			wantPower: 9500,
		},
		{
			name: "unit that cannot sleep runs at any price",
			in: inputs(500, 0, []Unit{
				{ID: "old", Caps: miner.Capabilities{NominalPower: 1400, NominalHashrate: 14}},
				{ID: "c", Caps: capsJ, Running: true},
			}),
			want: map[string]decision{
				"old": {run, "cannot sleep"}, "c": {sleep, "above breakeven"},
			},
			wantPower: 1410,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewBreakeven(tt.cfg)
			if err != nil {
				t.Fatalf("NewBreakeven: %v", err)
			}
			plan, err := p.Plan(tt.in)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if diff := cmp.Diff(tt.want, decisions(plan)); diff != "" {
				t.Errorf("decisions mismatch (-want +got):\n%s\nreasons: %v\nplan: %s", diff, plan.Units, plan.Reason)
			}
			if got, want := plan.Power, tt.wantPower; math.Abs(float64(got-want)) > 1e-6 {
				t.Errorf("planned power = %v W, want %v W", float64(got), float64(want))
			}
			if tt.in.SiteCap > 0 && plan.Power > tt.in.SiteCap {
				t.Errorf("planned power %v exceeds cap %v", plan.Power, tt.in.SiteCap)
			}
			runs := 0
			for i, u := range plan.Units {
				if u.ID != tt.in.Units[i].ID {
					t.Errorf("unit %d id = %q, want input order %q", i, u.ID, tt.in.Units[i].ID)
				}
				if u.Setpoint.Mode == miner.ModeRun {
					runs++
				}
			}
			if plan.Running != runs || plan.Running+plan.Sleeping != len(tt.in.Units) {
				t.Errorf("running, sleeping = %d, %d; want %d, %d", plan.Running, plan.Sleeping, runs, len(tt.in.Units)-runs)
			}
		})
	}
}

func TestBreakevenSummary(t *testing.T) {
	p, err := NewBreakeven(BreakevenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(inputs(90, 10000, fleet()))
	if err != nil {
		t.Fatal(err)
	}
	// Fleet: 9500 W / 446 TH/s = 21.30 J/TH; breakeven 0.05e6 / (24 × 9500/446)
	// = 50000 × 446 / 228000 = $97.81/MWh.
	if got, want := float64(plan.Breakeven), 50000.0*446/228000; math.Abs(got-want) > 1e-9 {
		t.Errorf("fleet breakeven = %v, want %v", got, want)
	}
	want := Plan{
		Policy:    "breakeven",
		Interval:  testInterval,
		Price:     90,
		Breakeven: plan.Breakeven,
		Power:     6510,
		Running:   2,
		Sleeping:  1,
		Cap:       10000,
		Units: []UnitPlan{
			{ID: "a", Setpoint: run, Reason: "below breakeven: price $90.00/MWh <= breakeven $119.05/MWh"},
			{ID: "b", Setpoint: run, Reason: "below breakeven: price $90.00/MWh <= breakeven $104.17/MWh"},
			{ID: "c", Setpoint: sleep, Reason: "above breakeven: price $90.00/MWh > breakeven $66.67/MWh"},
		},
		Reason: "price $90.00/MWh < fleet breakeven $97.81/MWh: 2 of 3 units run; cap 10.00 kW not binding, planned 6.51 kW",
	}
	if diff := cmp.Diff(want, plan); diff != "" {
		t.Errorf("plan mismatch (-want +got):\n%s", diff)
	}

	plan, err = p.Plan(inputs(30, 8000, []Unit{
		{ID: "a", Caps: capsS21, State: miner.StateOffline, Running: true},
		{ID: "b", Caps: capsXP}, {ID: "c", Caps: capsJSteps},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := plan.Reason, "price $30.00/MWh < fleet breakeven $97.81/MWh: 2 of 3 units run (1 offline, 1 at partial power); cap 8.00 kW binding: 0 units curtailed, planned 7.70 kW"; got != want {
		t.Errorf("reason = %q\nwant     %q", got, want)
	}
	if got, want := plan.Units[2].Reason, `site cap: partial power at step "low" (1.20 kW)`; got != want {
		t.Errorf("partial reason = %q, want %q", got, want)
	}

	plan, err = p.Plan(inputs(30, 1000, []Unit{{ID: "old", Caps: miner.Capabilities{NominalPower: 1400, NominalHashrate: 14}}}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.Reason, "cap 1.00 kW exceeded") {
		t.Errorf("reason = %q, want it to say the cap is exceeded by reservations", plan.Reason)
	}
}

// randomUnits returns n units of mixed models and states from a fixed seed.
func randomUnits(n int, seed uint64) []Unit {
	rng := rand.New(rand.NewPCG(seed, 1))
	models := []miner.Capabilities{capsS21, capsXP, capsJ, capsJSteps,
		{NominalPower: 1400, NominalHashrate: 14}, // cannot sleep
	}
	states := []miner.State{miner.StateMining, miner.StateSleeping, miner.StateOffline, miner.StateWaking, miner.StateUnknown}
	us := make([]Unit, n)
	for i := range us {
		u := Unit{
			ID:      fmt.Sprintf("m%05d", i),
			Caps:    models[rng.IntN(len(models))],
			State:   states[rng.IntN(len(states))],
			Running: rng.IntN(2) == 0,
		}
		if rng.IntN(3) > 0 {
			u.Since = testNow.Add(-time.Duration(rng.IntN(120)) * time.Minute)
		}
		us[i] = u
	}
	return us
}

func TestBreakevenDeterministic(t *testing.T) {
	p, err := NewBreakeven(BreakevenConfig{Hysteresis: 3, MinRun: 30 * time.Minute, MinSleep: 15 * time.Minute, PowerAdder: 2, PoolFee: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	for _, price := range []energy.Price{-10, 50, 70, 100, 300} {
		units := randomUnits(500, 7)
		in := inputs(price, 500*2500*0.6, units)
		first, err := p.Plan(in)
		if err != nil {
			t.Fatal(err)
		}
		again, err := p.Plan(inputs(price, in.SiteCap, randomUnits(500, 7)))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Fatalf("price %v: same inputs, different plans (-first +again):\n%s", price, diff)
		}
		shuffled := randomUnits(500, 7)
		rand.New(rand.NewPCG(99, 3)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		sp, err := p.Plan(inputs(price, in.SiteCap, shuffled))
		if err != nil {
			t.Fatal(err)
		}
		byID := func(p Plan) map[string]UnitPlan {
			m := make(map[string]UnitPlan, len(p.Units))
			for _, u := range p.Units {
				m[u.ID] = u
			}
			return m
		}
		if diff := cmp.Diff(byID(first), byID(sp)); diff != "" {
			t.Fatalf("price %v: shuffled input order changed decisions (-first +shuffled):\n%s", price, diff)
		}
		if first.Power != sp.Power || first.Reason != sp.Reason {
			t.Errorf("price %v: shuffled power/reason %v %q, want %v %q", price, sp.Power, sp.Reason, first.Power, first.Reason)
		}
		if first.Power > in.SiteCap && !strings.Contains(first.Reason, "exceeded") {
			t.Errorf("price %v: planned %v over cap %v", price, first.Power, in.SiteCap)
		}
	}
}

func TestInputsValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Inputs)
		want string
	}{
		{"zero now", func(in *Inputs) { in.Now = time.Time{} }, "now is not set"},
		{"empty interval", func(in *Inputs) { in.Interval.End = in.Interval.Start }, "interval"},
		{"NaN price", func(in *Inputs) { in.Price = energy.Price(math.NaN()) }, "price: NaN"},
		{"Inf hashprice", func(in *Inputs) { in.Hashprice = bitcoin.Hashprice(math.Inf(1)) }, "hashprice: +Inf"},
		{"negative hashprice", func(in *Inputs) { in.Hashprice = -0.01 }, "hashprice -0.01 is negative"},
		{"negative cap", func(in *Inputs) { in.SiteCap = -1 }, "site cap"},
		{"empty id", func(in *Inputs) { in.Units[1].ID = "" }, "unit at index 1: empty id"},
		{"duplicate id", func(in *Inputs) { in.Units[2].ID = "a" }, `unit "a": duplicate id at indexes 0 and 2`},
		{"zero hashrate", func(in *Inputs) { in.Units[1].Caps.NominalHashrate = 0 }, `unit "b": nominal hashrate 0`},
		{"NaN power", func(in *Inputs) { in.Units[1].Caps.NominalPower = energy.Power(math.NaN()) }, `unit "b": nominal power NaN`},
		{"negative sleep power", func(in *Inputs) { in.Units[0].Caps.SleepPower = -5 }, `unit "a": sleep power`},
		{"sleep power above nominal", func(in *Inputs) { in.Units[0].Caps.SleepPower = 4000 }, `unit "a": sleep power 4000 W exceeds`},
		{"steps not ascending", func(in *Inputs) {
			in.Units[2].Caps.PowerSteps = []miner.PowerStep{{Name: "x", Power: 2000, Hashrate: 60}, {Name: "y", Power: 1000, Hashrate: 30}}
		}, `unit "c": power step 1 "y"`},
		{"NaN step hashrate", func(in *Inputs) {
			in.Units[2].Caps.PowerSteps = []miner.PowerStep{{Name: "x", Power: 2000, Hashrate: energy.Hashrate(math.NaN())}}
		}, `unit "c": power step 0 "x": hashrate NaN`},
		{"unknown state", func(in *Inputs) { in.Units[0].State = "dancing" }, `unit "a": unknown state "dancing"`},
	}
	p, err := NewBreakeven(BreakevenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		in := inputs(50, 0, fleet())
		tt.mod(&in)
		_, err := p.Plan(in)
		if !errors.Is(err, ErrInvalidInputs) {
			t.Errorf("%s: err = %v, want ErrInvalidInputs", tt.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %q, want it to contain %q", tt.name, err, tt.want)
		}
	}
	if err := inputs(50, 0, nil).Validate(); err != nil {
		t.Errorf("no units: Validate = %v, want nil", err)
	}
}

func TestNewBreakevenRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  BreakevenConfig
	}{
		{"negative hysteresis", BreakevenConfig{Hysteresis: -1}},
		{"NaN hysteresis", BreakevenConfig{Hysteresis: energy.Price(math.NaN())}},
		{"negative min run", BreakevenConfig{MinRun: -time.Second}},
		{"negative min sleep", BreakevenConfig{MinSleep: -time.Second}},
		{"Inf adder", BreakevenConfig{PowerAdder: energy.Price(math.Inf(1))}},
		{"pool fee 1", BreakevenConfig{PoolFee: 1}},
		{"negative pool fee", BreakevenConfig{PoolFee: -0.01}},
		{"NaN pool fee", BreakevenConfig{PoolFee: math.NaN()}},
	}
	for _, tt := range tests {
		if _, err := NewBreakeven(tt.cfg); err == nil || !strings.HasPrefix(err.Error(), "breakeven policy: ") {
			t.Errorf("%s: NewBreakeven err = %v, want a breakeven policy error", tt.name, err)
		}
	}
	p, err := NewBreakeven(BreakevenConfig{Hysteresis: 2, PoolFee: 0.02})
	if err != nil || p.Name() != "breakeven" {
		t.Errorf("NewBreakeven(valid) = %v, %v; want a policy named breakeven", p, err)
	}
}

func BenchmarkBreakevenPlan10k(b *testing.B) {
	p, err := NewBreakeven(BreakevenConfig{Hysteresis: 3, MinRun: 30 * time.Minute, MinSleep: 15 * time.Minute, PoolFee: 0.02})
	if err != nil {
		b.Fatal(err)
	}
	in := inputs(70, 10000*2500*0.6, randomUnits(10000, 1))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Plan(in); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStrikeReplacesBreakeven: with a fixed strike a unit runs while power
// costs at most the strike, even above its own breakeven, and stops above
// it even when mining would pay.
func TestStrikeReplacesBreakeven(t *testing.T) {
	u := Unit{ID: "a", Caps: miner.Capabilities{NominalPower: 3e6, NominalHashrate: 100e3, CanSleep: true, SleepPower: 1e4}}
	iv := energy.Interval{Start: time.Date(2022, 7, 1, 5, 0, 0, 0, time.UTC), End: time.Date(2022, 7, 1, 5, 15, 0, 0, time.UTC)}
	// Hashprice $0.09/TH/day: a 30 J/TH unit breaks even near $125/MWh.
	be := bitcoin.Breakeven(0.09, u.Caps.NominalEfficiency())
	for _, tt := range []struct {
		strike, price energy.Price
		run           bool
	}{
		{0, be - 1, true}, {0, be + 1, false},
		{50, 49, true}, {50, 51, false}, // strike below breakeven: stops early
		{be + 100, be + 50, true}, // strike above breakeven: runs at a loss
		{be + 100, be + 101, false},
	} {
		p, err := NewBreakeven(BreakevenConfig{Strike: tt.strike})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := p.Plan(Inputs{Now: iv.Start, Interval: iv, Price: tt.price, Hashprice: 0.09, Units: []Unit{u}})
		if err != nil {
			t.Fatal(err)
		}
		if got := plan.Units[0].Setpoint.Mode == miner.ModeRun; got != tt.run {
			t.Errorf("strike %v price %v (breakeven %v): run = %v, want %v (%s)", tt.strike, tt.price, be, got, tt.run, plan.Units[0].Reason)
		}
	}
	if _, err := NewBreakeven(BreakevenConfig{Strike: -1}); err == nil {
		t.Error("a negative strike was accepted")
	}
}

// TestBriefReasons: with Inputs.Brief every unit still gets a reason
// naming its rule, without numbers, and the decisions are the same.
func TestBriefReasons(t *testing.T) {
	iv := energy.Interval{Start: time.Date(2022, 7, 1, 5, 0, 0, 0, time.UTC), End: time.Date(2022, 7, 1, 5, 15, 0, 0, time.UTC)}
	units := []Unit{
		{ID: "old", Caps: miner.Capabilities{NominalPower: 1.4e6, NominalHashrate: 13.5e3, CanSleep: true}},
		{ID: "new", Caps: miner.Capabilities{NominalPower: 3e6, NominalHashrate: 140e3, CanSleep: true}},
	}
	p, _ := NewBreakeven(BreakevenConfig{})
	in := Inputs{Now: iv.Start, Interval: iv, Price: 80, Hashprice: 0.09, Units: units}
	full, err := p.Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	in.Brief = true
	brief, err := p.Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"old": "above breakeven", "new": "below breakeven"}
	for i, up := range brief.Units {
		if up.Setpoint != full.Units[i].Setpoint {
			t.Errorf("%s: brief setpoint %v, full %v", up.ID, up.Setpoint, full.Units[i].Setpoint)
		}
		if up.Reason != want[up.ID] {
			t.Errorf("%s: brief reason %q, want %q (full: %q)", up.ID, up.Reason, want[up.ID], full.Units[i].Reason)
		}
		if !strings.Contains(full.Units[i].Reason, "$") {
			t.Errorf("%s: full reason %q has no numbers", up.ID, full.Units[i].Reason)
		}
	}
}

// TestFloorKeepsUnitsRunning: a dispatch setpoint's floor keeps units
// running above their breakeven, up to the floor and never over the cap.
func TestFloorKeepsUnitsRunning(t *testing.T) {
	iv := energy.Interval{Start: time.Date(2022, 7, 1, 5, 0, 0, 0, time.UTC), End: time.Date(2022, 7, 1, 5, 15, 0, 0, time.UTC)}
	var units []Unit
	for i := range 4 {
		units = append(units, Unit{ID: fmt.Sprintf("u%d", i), Caps: miner.Capabilities{NominalPower: 3e6, NominalHashrate: 100e3, CanSleep: true}})
	}
	p, _ := NewBreakeven(BreakevenConfig{})
	for _, tt := range []struct {
		floor, cap energy.Power
		running    int
	}{{0, 0, 0}, {5e6, 0, 2}, {9e6, 0, 3}, {9e6, 6e6, 2}} {
		plan, err := p.Plan(Inputs{Now: iv.Start, Interval: iv, Price: 500, Hashprice: 0.09, Units: units, Floor: tt.floor, SiteCap: tt.cap})
		if err != nil {
			t.Fatal(err)
		}
		if plan.Running != tt.running {
			t.Errorf("floor %v cap %v at $500: %d running, want %d (%s)", tt.floor, tt.cap, plan.Running, tt.running, plan.Reason)
		}
	}
	if _, err := p.Plan(Inputs{Now: iv.Start, Interval: iv, Price: 50, Hashprice: 0.09, Units: units, Floor: -1}); err == nil {
		t.Error("a negative floor was accepted")
	}
}
