package contract

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
)

const MW = energy.Megawatt

// obligations is a contract with three commitments for the tests:
// ers (20 MW from a 100 MW baseline, weekday afternoons 14:00-20:00),
// ecrs (15 MW, baseline unset, always, 2 h hold), ufr (60 MW RRS-UFR
// from 100 MW, always).
func obligations() Contract {
	return Contract{Commitments: []Commitment{
		{Name: "ers", Product: ERS10, MW: 20, BaselineMW: 100, CapacityUSDPerMWh: 12, PenaltyUSDPerMWh: 60,
			Window: Window{Weekdays: true, From: "14:00", To: "20:00"}},
		{Name: "ecrs", Product: ECRS, MW: 15, CapacityUSDPerMWh: 8, PenaltyUSDPerMWh: 40},
		{Name: "ufr", Product: RRSUFR, MW: 60, BaselineMW: 100, CapacityUSDPerMWh: 5, PenaltyUSDPerMWh: 100,
			Window: Window{Months: []time.Month{1}}},
	}}
}

func TestConstraints(t *testing.T) {
	c := obligations()
	// Tuesday 16 July 2024, 14:00 CDT = 19:00 UTC.
	const afternoon = "2024-07-16T19:00:00Z"
	dep := func(name, start string, end string, mw float64) Deployment {
		d := Deployment{Commitment: name, Start: at(t, start), MW: mw}
		if end != "" {
			d.End = at(t, end)
		}
		return d
	}
	tests := []struct {
		name        string
		c           Contract
		iv          energy.Interval
		deps        []Deployment
		max         energy.Power
		floor, cap  energy.Power
		wantReasons []string
	}{
		{
			name: "no commitments", c: Contract{}, iv: span(t, afternoon, 15*time.Minute), max: 100 * MW,
			floor: 0, cap: 100 * MW,
		},
		{
			name: "ers and ecrs active: floors add up", c: c, iv: span(t, afternoon, 15*time.Minute), max: 100 * MW,
			floor: 35 * MW, cap: 100 * MW,
			wantReasons: []string{"ers (ERS-10): active: keep at least 20.000 MW", "ecrs (ECRS): active: keep at least 15.000 MW"},
		},
		{
			name: "outside the ers window only ecrs", c: c, iv: span(t, "2024-07-16T18:45:00Z", 15*time.Minute), max: 100 * MW,
			floor: 15 * MW, cap: 100 * MW,
		},
		{
			name: "window opens mid-interval: the larger floor counts", c: c, iv: span(t, "2024-07-16T18:50:00Z", 15*time.Minute), max: 100 * MW,
			floor: 35 * MW, cap: 100 * MW,
		},
		{
			name: "ers deployed, past its deadline: cap from its baseline, ecrs floor remains", c: c,
			iv: span(t, "2024-07-16T19:15:00Z", 15*time.Minute), max: 120 * MW,
			deps:  []Deployment{dep("ers", afternoon, "", 0)},
			floor: 15 * MW, cap: 80 * MW,
			wantReasons: []string{"ers (ERS-10): deployed at 2024-07-16T19:00:00Z: mining at most 80.000 MW (baseline 100.000 MW minus 20.000 MW) from 2024-07-16T19:10:00Z"},
		},
		{
			name: "deadline inside the interval binds the whole interval", c: c,
			iv: span(t, afternoon, 15*time.Minute), max: 120 * MW, deps: []Deployment{dep("ers", afternoon, "", 0)},
			floor: 15 * MW, cap: 80 * MW,
		},
		{
			name: "ramping: deployed, deadline after the interval", c: c,
			iv: span(t, afternoon, 5*time.Minute), max: 120 * MW, deps: []Deployment{dep("ers", afternoon, "", 0)},
			floor: 15 * MW, cap: 120 * MW,
			wantReasons: []string{"ers (ERS-10): deployed at 2024-07-16T19:00:00Z: ramping down, deadline 2024-07-16T19:10:00Z"},
		},
		{
			name: "partial deployment: cap from the MW called", c: c,
			iv: span(t, "2024-07-16T19:15:00Z", 15*time.Minute), max: 120 * MW, deps: []Deployment{dep("ers", afternoon, "", 5)},
			floor: 15 * MW, cap: 95 * MW,
		},
		{
			name: "unset baseline is the maximum mining draw", c: c,
			iv: span(t, "2024-07-16T19:15:00Z", 15*time.Minute), max: 120 * MW, deps: []Deployment{dep("ecrs", afternoon, "", 0)},
			floor: 20 * MW, cap: 105 * MW,
		},
		{
			name: "two deployed: the lowest cap binds", c: c,
			iv: span(t, "2024-07-16T19:15:00Z", 15*time.Minute), max: 100 * MW,
			deps:  []Deployment{dep("ers", afternoon, "", 0), dep("ecrs", afternoon, "", 0)},
			floor: 0, cap: 80 * MW,
		},
		{
			name: "deployment ended: floors return", c: c,
			iv: span(t, "2024-07-16T20:00:00Z", 15*time.Minute), max: 100 * MW,
			deps:  []Deployment{dep("ers", afternoon, "2024-07-16T20:00:00Z", 0)},
			floor: 35 * MW, cap: 100 * MW,
		},
		{
			name: "ecrs past its 2 h hold: no cap, no floor while still deployed", c: c,
			iv: span(t, "2024-07-16T21:15:00Z", 15*time.Minute), max: 100 * MW,
			deps:  []Deployment{dep("ecrs", afternoon, "", 0)},
			floor: 20 * MW, cap: 100 * MW,
			wantReasons: []string{"ecrs (ECRS): deployed at 2024-07-16T19:00:00Z: maximum hold ended at 2024-07-16T21:10:00Z"},
		},
		{
			// January, 10:00 CST: ufr (60) and ecrs (15) active; the relay
			// trips at 16:05 UTC, so the piece before keeps a 75 MW floor
			// while the rest is capped at 40 MW: the cap wins.
			name: "floor above cap within one interval: the cap wins", c: c,
			iv: span(t, "2024-01-16T16:00:00Z", 15*time.Minute), max: 100 * MW,
			deps:  []Deployment{dep("ufr", "2024-01-16T16:05:00Z", "", 0)},
			floor: 40 * MW, cap: 40 * MW,
			wantReasons: []string{"floor 75.000 MW above cap 40.000 MW: the cap wins"},
		},
		{
			name: "floor above the maximum mining draw", c: c, iv: span(t, afternoon, 15*time.Minute), max: 30 * MW,
			floor: 30 * MW, cap: 30 * MW,
			wantReasons: []string{"committed floor 35.000 MW exceeds the maximum mining draw 30.000 MW"},
		},
		{
			name: "unknown commitment ignored", c: c, iv: span(t, "2024-07-16T18:45:00Z", 15*time.Minute), max: 100 * MW,
			deps:  []Deployment{dep("nope", "2024-07-16T18:00:00Z", "", 0)},
			floor: 15 * MW, cap: 100 * MW,
			wantReasons: []string{`deployment of unknown commitment "nope" ignored`},
		},
		{
			// Sunday 3 Nov 2024 is not a weekday; Monday 4 Nov 14:00 CST is
			// 20:00 UTC (an hour later in UTC than in summer).
			name: "window after DST: 14:00 CST", c: c, iv: span(t, "2024-11-04T20:00:00Z", 15*time.Minute), max: 100 * MW,
			floor: 35 * MW, cap: 100 * MW,
		},
		{
			name: "window after DST: 19:00 UTC is 13:00 CST", c: c, iv: span(t, "2024-11-04T19:00:00Z", 15*time.Minute), max: 100 * MW,
			floor: 15 * MW, cap: 100 * MW,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			floor, cap, reasons := tt.c.Constraints(tt.iv, tt.deps, tt.max)
			if floor != tt.floor || cap != tt.cap {
				t.Errorf("Constraints = floor %v, cap %v; want floor %v, cap %v\nreasons: %q", floor, cap, tt.floor, tt.cap, reasons)
			}
			joined := strings.Join(reasons, "\n")
			for _, w := range tt.wantReasons {
				if !strings.Contains(joined, w) {
					t.Errorf("reasons %q: missing %q", reasons, w)
				}
			}
		})
	}
}

func TestValidateDeployments(t *testing.T) {
	c := obligations()
	start := at(t, "2024-07-16T19:00:00Z")
	tests := []struct {
		name    string
		deps    []Deployment
		want    string
		unknown bool
	}{
		{name: "none"},
		{name: "open and closed", deps: []Deployment{{Commitment: "ers", Start: start}, {Commitment: "ecrs", Start: start, End: start.Add(time.Hour), MW: 15}}},
		{name: "back to back", deps: []Deployment{{Commitment: "ers", Start: start, End: start.Add(time.Hour)}, {Commitment: "ers", Start: start.Add(time.Hour)}}},
		{name: "unknown commitment", deps: []Deployment{{Commitment: "ers"}, {Commitment: "x", Start: start}}, want: `deployment 1 ("x" at 2024-07-16T19:00:00Z): unknown commitment`, unknown: true},
		{name: "no start", deps: []Deployment{{Commitment: "ers"}}, want: "start: must be set"},
		{name: "end before start", deps: []Deployment{{Commitment: "ers", Start: start, End: start}}, want: "end 2024-07-16T19:00:00Z: must be after start"},
		{name: "more than committed", deps: []Deployment{{Commitment: "ers", Start: start, MW: 21}}, want: "mw 21: must be from 0 to the commitment's 20"},
		{name: "negative", deps: []Deployment{{Commitment: "ers", Start: start, MW: -1}}, want: "mw -1"},
		{name: "overlap", deps: []Deployment{{Commitment: "ers", Start: start, End: start.Add(time.Hour)}, {Commitment: "ers", Start: start.Add(time.Minute)}}, want: "deployment 1 (\"ers\" at 2024-07-16T19:01:00Z): overlaps deployment 0"},
		{name: "open overlaps later", deps: []Deployment{{Commitment: "ers", Start: start}, {Commitment: "ers", Start: start.Add(time.Hour), End: start.Add(2 * time.Hour)}}, want: "overlaps deployment 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.ValidateDeployments(tt.deps)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateDeployments = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ValidateDeployments = %v, want it to contain %q", err, tt.want)
			}
			if got := errors.Is(err, ErrUnknownCommitment); got != tt.unknown {
				t.Errorf("errors.Is(err, ErrUnknownCommitment) = %v, want %v", got, tt.unknown)
			}
		})
	}
}

func TestDeploymentYAML(t *testing.T) {
	src := "- commitment: ers\n  start: 2024-07-16T14:00:00-05:00\n  end: 2024-07-16T16:00:00-05:00\n  mw: 12.5\n- commitment: ecrs\n  start: 2024-07-16T19:00:00Z\n"
	var got []Deployment
	if err := yaml.UnmarshalWithOptions([]byte(src), &got, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	want := []Deployment{
		{Commitment: "ers", Start: at(t, "2024-07-16T19:00:00Z"), End: at(t, "2024-07-16T21:00:00Z"), MW: 12.5},
		{Commitment: "ecrs", Start: at(t, "2024-07-16T19:00:00Z")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("decoded (-want +got):\n%s", diff)
	}
	out, err := yaml.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var back []Deployment
	if err := yaml.UnmarshalWithOptions(out, &back, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// A malformed end must not silently mean "not yet recalled".
	bad := "- commitment: ers\n  start: 2024-07-16T19:00:00Z\n  end: 2024-07-16 21:00\n"
	if err := yaml.UnmarshalWithOptions([]byte(bad), &back, yaml.Strict()); err == nil || !strings.Contains(err.Error(), "deployment end") {
		t.Errorf("malformed end: error = %v", err)
	}
	if err := yaml.UnmarshalWithOptions([]byte("- commitment: ers\n  stat: x\n"), &back, yaml.Strict()); err == nil || !strings.Contains(err.Error(), "stat") {
		t.Errorf("unknown key: error = %v", err)
	}
}
