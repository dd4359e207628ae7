package miner

import (
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
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

func TestKnown(t *testing.T) {
	clk := clock.NewManual(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	k := Known[[2]int]{Clock: clk, MaxAge: 10 * time.Second}
	if _, fresh := k.Get(); fresh {
		t.Error("zero Known claims to know something")
	}
	k.Set([2]int{1, 2})
	k.Update(func(v *[2]int) { v[1] = 3 }) // keeps the other field
	if v, fresh := k.Get(); !fresh || v != [2]int{1, 3} {
		t.Errorf("Get = %v, %v; want [1 3], fresh", v, fresh)
	}
	clk.Advance(10 * time.Second)
	if _, fresh := k.Get(); fresh {
		t.Error("still fresh after MaxAge")
	}
	k.Set([2]int{4, 4})
	k.Forget()
	if v, fresh := k.Get(); fresh || v != ([2]int{}) {
		t.Errorf("after Forget: %v, %v", v, fresh)
	}
}

func TestCloneSharesNoSteps(t *testing.T) {
	c := Capabilities{PowerSteps: []PowerStep{{"a", 1000, 40}}}
	d := c.Clone()
	d.PowerSteps[0].Name = "changed"
	if c.PowerSteps[0].Name != "a" {
		t.Error("Clone shares PowerSteps with the original")
	}
}
