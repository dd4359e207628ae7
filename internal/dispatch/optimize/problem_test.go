package optimize

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// tinyProblem is a valid two-class, three-interval problem that tests
// modify.
func tinyProblem() *Problem {
	return &Problem{
		T:         3,
		HashValue: []float64{1, 1, 1},
		Cost: [][]Segment{
			{{Width: 1500, Cost: 0.001}, {Width: math.Inf(1), Cost: 0.003}},
			{{Width: 1500, Cost: 0.001}, {Width: math.Inf(1), Cost: 0.003}},
			{{Width: 1500, Cost: 0.001}, {Width: math.Inf(1), Cost: 0.003}},
		},
		Classes: []Class{
			{ID: "a", Sleep: 10, Levels: []Level{{Name: "low", Power: 1000, Hash: 10}, {Name: "high", Power: 2000, Hash: 18}},
				Init: State{Level: 0, Age: 9}},
			{ID: "b", Sleep: 0, Levels: []Level{{Name: "on", Power: 1000, Hash: 8, Value: 0.5}}, Init: State{Level: 1, Age: 9}},
		},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(p *Problem)
		want   string // substring of the error; "" means valid
	}{
		{"valid", func(p *Problem) {}, ""},
		{"valid without classes", func(p *Problem) { p.Classes = nil }, ""},
		{"valid empty horizon", func(p *Problem) { p.T, p.HashValue, p.Cost = 0, nil, nil }, ""},
		{"negative t", func(p *Problem) { p.T = -1 }, "t -1 is negative"},
		{"hash value length", func(p *Problem) { p.HashValue = p.HashValue[:2] }, "hash value has 2 intervals, want 3"},
		{"cost length", func(p *Problem) { p.Cost = p.Cost[:1] }, "cost has 1 intervals, want 3"},
		{"min length", func(p *Problem) { p.Min = []float64{0} }, "min has 1 intervals, want 3"},
		{"max length", func(p *Problem) { p.Max = []float64{0, 0, 0, 0} }, "max has 4 intervals, want 3"},
		{"negative under penalty", func(p *Problem) { p.UnderPenalty = -1 }, "under penalty -1 must be finite"},
		{"nan over penalty", func(p *Problem) { p.OverPenalty = math.NaN() }, "over penalty NaN must be finite"},
		{"infinite site ramp", func(p *Problem) { p.SiteRamp = math.Inf(1) }, "site ramp +Inf must be finite"},
		{"empty id", func(p *Problem) { p.Classes[1].ID = "" }, "class #1: empty id"},
		{"duplicate id", func(p *Problem) { p.Classes[1].ID = "a" }, `class "a": duplicate id at #0 and #1`},
		{"negative sleep", func(p *Problem) { p.Classes[0].Sleep = -1 }, `class "a": sleep power -1`},
		{"no levels", func(p *Problem) { p.Classes[0].Levels = nil }, `class "a": no running levels`},
		{"too many levels", func(p *Problem) {
			p.Classes[0].Levels = make([]Level, 255)
			for i := range p.Classes[0].Levels {
				p.Classes[0].Levels[i] = Level{Power: float64(100 * (i + 1))}
			}
		}, "255 running levels, at most 254"},
		{"negative min run", func(p *Problem) { p.Classes[0].MinRun = -1 }, "min run -1 and min sleep 0 must be non-negative"},
		{"negative ramp", func(p *Problem) { p.Classes[1].Ramp = -5 }, `class "b": ramp -5`},
		{"init level", func(p *Problem) { p.Classes[1].Init.Level = 2 }, "initial level 2 out of range [0, 1]"},
		{"init age", func(p *Problem) { p.Classes[1].Init.Age = 0 }, "initial age 0 must be at least 1"},
		{"too many states", func(p *Problem) { p.Classes[0].MinRun = 40000 }, "too many states"},
		{"level below sleep", func(p *Problem) { p.Classes[0].Levels[0].Power = 10 }, `level 1 ("low"): power 10 must be finite and above sleep power 10`},
		{"levels not ascending", func(p *Problem) { p.Classes[0].Levels[1].Power = 1000 }, `level 2 ("high"): power 1000 must be finite and above level 1 power 1000`},
		{"infinite power", func(p *Problem) { p.Classes[0].Levels[1].Power = math.Inf(1) }, `level 2 ("high"): power +Inf`},
		{"negative hash", func(p *Problem) { p.Classes[0].Levels[0].Hash = -1 }, `level 1 ("low"): hash -1`},
		{"nan value", func(p *Problem) { p.Classes[1].Levels[0].Value = math.NaN() }, `level 1 ("on"): value NaN must be finite`},
		{"nan hash value", func(p *Problem) { p.HashValue[2] = math.NaN() }, "interval 2: hash value NaN"},
		{"no segments", func(p *Problem) { p.Cost[1] = nil }, "interval 1: no cost segments"},
		{"infinite cost", func(p *Problem) { p.Cost[0][0].Cost = math.Inf(-1) }, "interval 0: segment 0 cost -Inf must be finite"},
		{"zero width", func(p *Problem) { p.Cost[0][0].Width = 0 }, "interval 0: segment 0 width 0 must be positive"},
		{"inner infinite width", func(p *Problem) { p.Cost[2][0].Width = math.Inf(1) }, "interval 2: segment 0 has infinite width but is not the last"},
		{"non-convex", func(p *Problem) { p.Cost[1][1].Cost = 0.0005 }, "interval 1: segment 1 cost 0.0005 below segment 0 cost 0.001 (non-convex)"},
		{"too narrow", func(p *Problem) { p.Cost[0] = []Segment{{Width: 2999, Cost: 0.001}} }, "interval 0: cost segments cover 2999 W, below the largest possible draw 3000 W"},
		{"wide enough", func(p *Problem) { p.Cost[0] = []Segment{{Width: 3000, Cost: 0.001}} }, ""},
		{"infinite min", func(p *Problem) { p.Min = []float64{0, math.Inf(-1), 0} }, "interval 1: min -Inf must be finite"},
		{"nan max", func(p *Problem) { p.Max = []float64{0, 0, math.NaN()} }, "interval 2: max NaN must be a number or +Inf"},
		{"infinite max", func(p *Problem) { p.Max = []float64{math.Inf(1), 1, 2} }, ""},
		{"min above max", func(p *Problem) { p.Min, p.Max = []float64{0, 5, 0}, []float64{9, 4, 9} }, "interval 1: min 5 above max 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tinyProblem()
			tt.modify(p)
			err := p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want an ErrInvalid containing %q", err, tt.want)
			}
			if _, err := Solve(p, Options{}); !errors.Is(err, ErrInvalid) {
				t.Errorf("Solve() = %v, want ErrInvalid", err)
			}
			if _, err := Evaluate(p, nil); !errors.Is(err, ErrInvalid) {
				t.Errorf("Evaluate() = %v, want ErrInvalid", err)
			}
			if err := WriteLP(&strings.Builder{}, p); !errors.Is(err, ErrInvalid) {
				t.Errorf("WriteLP() = %v, want ErrInvalid", err)
			}
		})
	}
	var nilProblem *Problem
	if err := nilProblem.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil Validate() = %v, want ErrInvalid", err)
	}
}

func TestEvaluateByHand(t *testing.T) {
	// Class a sleeps 10 W; b runs 1000 W (8 TH/s, value 0.5) throughout.
	// t=0: a low  (1000 W, 10 TH/s): D = 2000: cost 1500·0.001 + 500·0.003 = 3;   gain 10 + 8.5 = 18.5 → 15.5
	// t=1: a high (2000 W, 18 TH/s): D = 3000: cost 1.5 + 1500·0.003 = 6;        gain 18 + 8.5 = 26.5 → 20.5
	// t=2: a asleep (10 W):          D = 1010: cost 1.01;                        gain 8.5          → 7.49
	// Soft bounds: min 2500 at t=0 (500 W short at 0.002: 1), max 2800 at
	// t=1 (200 W over at 0.01: 2).
	p := tinyProblem()
	p.Min, p.Max = []float64{2500, 0, 0}, []float64{math.Inf(1), 2800, math.Inf(1)}
	p.UnderPenalty, p.OverPenalty = 0.002, 0.01
	got, err := Evaluate(p, [][]int{{1, 2, 0}, {1, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := 15.5 - 1 + 20.5 - 2 + 7.49
	if !near(got, want, 1e-12) {
		t.Errorf("Evaluate() = %v, want %v", got, want)
	}
}

func TestEvaluateRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(p *Problem)
		levels [][]int
		want   string
	}{
		{"classes", nil, [][]int{{0, 0, 0}}, "schedule has 1 classes, want 2"},
		{"intervals", nil, [][]int{{0, 0, 0}, {1, 1}}, `class "b": schedule has 2 intervals, want 3`},
		{"level range", nil, [][]int{{0, 3, 0}, {1, 1, 1}}, `class "a": interval 1: level 3 out of range [0, 2]`},
		{"negative level", nil, [][]int{{0, 0, 0}, {1, -1, 1}}, `class "b": interval 1: level -1 out of range [0, 1]`},
		{"min run", func(p *Problem) { p.Classes[0].MinRun = 2 }, [][]int{{1, 0, 0}, {1, 1, 1}},
			`class "a": interval 1: stops after running 1 intervals, min run 2`},
		{"min run from init", func(p *Problem) { p.Classes[1].MinRun, p.Classes[1].Init.Age = 3, 1 }, [][]int{{0, 0, 0}, {1, 0, 0}},
			`class "b": interval 1: stops after running 2 intervals, min run 3`},
		{"min sleep", func(p *Problem) { p.Classes[1].MinSleep = 3 }, [][]int{{0, 0, 0}, {0, 0, 1}},
			`class "b": interval 2: starts after sleeping 2 intervals, min sleep 3`},
		{"min sleep from init", func(p *Problem) { p.Classes[0].MinSleep, p.Classes[0].Init.Age = 4, 2 }, [][]int{{0, 1, 1}, {1, 1, 1}},
			`class "a": interval 1: starts after sleeping 3 intervals, min sleep 4`},
		{"class ramp", func(p *Problem) { p.Classes[0].Ramp = 1500 }, [][]int{{1, 2, 0}, {1, 1, 1}},
			`class "a": interval 2: level 2 to 0 changes the draw by -1990 W, above the ramp 1500 W`},
		{"class ramp from init", func(p *Problem) { p.Classes[0].Ramp = 1500 }, [][]int{{2, 1, 0}, {1, 1, 1}},
			`class "a": interval 0: level 0 to 2 changes the draw by 1990 W, above the ramp 1500 W`},
		{"site ramp", func(p *Problem) { p.SiteRamp = 1500 }, [][]int{{1, 1, 0}, {1, 1, 0}},
			"interval 2: site draw changes by -1990 W from 2000 W to 10 W, above the site ramp 1500 W"},
		{"site ramp from init", func(p *Problem) { p.SiteRamp = 1500 }, [][]int{{2, 2, 2}, {1, 1, 1}},
			"interval 0: site draw changes by 1990 W from 1010 W to 3000 W, above the site ramp 1500 W"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tinyProblem()
			if tt.modify != nil {
				tt.modify(p)
			}
			_, err := Evaluate(p, tt.levels)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInfeasible) {
				t.Fatalf("Evaluate() = %v, want an ErrInfeasible containing %q", err, tt.want)
			}
		})
	}
}

// TestEvaluateAllowsBoundaries checks that changes of exactly the ramp and
// stops after exactly the min run are allowed, as is any level change when
// ramps are 0 (unlimited).
func TestEvaluateAllowsBoundaries(t *testing.T) {
	p := tinyProblem()
	p.Classes[0].MinRun, p.Classes[0].MinSleep = 2, 1
	p.Classes[0].Ramp = 1000 // 10 → 1000 is 990, 1000 → 2000 is 1000
	p.SiteRamp = 1000
	if _, err := Evaluate(p, [][]int{{1, 2, 1}, {1, 1, 1}}); err != nil {
		t.Errorf("Evaluate() = %v, want nil", err)
	}
	p = tinyProblem()
	if _, err := Evaluate(p, [][]int{{2, 0, 2}, {0, 1, 0}}); err != nil {
		t.Errorf("Evaluate() without limits = %v, want nil", err)
	}
}
