package miner

import (
	"testing"

	"github.com/gridminer/gridminer/internal/energy"
)

func TestStepFor(t *testing.T) {
	c := Capabilities{PowerSteps: []PowerStep{{"a", 1000, 40}, {"b", 2000, 70}, {"c", 3000, 100}}}
	tests := []struct {
		target float64
		want   string
		ok     bool
	}{
		{999, "", false}, {1000, "a", true}, {2999, "b", true}, {5000, "c", true},
	}
	for _, tt := range tests {
		got, ok := c.StepFor(energy.Power(tt.target))
		if ok != tt.ok || got.Name != tt.want {
			t.Errorf("StepFor(%v) = %q, %v; want %q, %v", tt.target, got.Name, ok, tt.want, tt.ok)
		}
	}
	if (Capabilities{}).Partial() {
		t.Error("zero capabilities claim partial power")
	}
}
