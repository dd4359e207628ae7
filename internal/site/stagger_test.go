package site

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/fleet"
	"github.com/gridminer/gridminer/internal/miner"
)

func TestStagger(t *testing.T) {
	cmd := func(id string) fleet.Command { return fleet.Command{ID: id, Setpoint: miner.Run(0)} }
	ids := func(bs [][]fleet.Command) [][]string {
		var out [][]string
		for _, b := range bs {
			var s []string
			for _, c := range b {
				s = append(s, c.ID)
			}
			out = append(out, s)
		}
		return out
	}
	cmds := []fleet.Command{cmd("up1"), cmd("down1"), cmd("up2"), cmd("big"), cmd("down2")}
	deltas := []energy.Power{3000, -3000, 3000, 9000, -2000}
	tests := []struct {
		ramp energy.Power
		want [][]string
	}{
		{0, [][]string{{"up1", "down1", "up2", "big", "down2"}}},
		{6000, [][]string{{"down1", "down2"}, {"up1", "up2"}, {"big"}}},
		{5000, [][]string{{"down1", "down2"}, {"up1"}, {"up2"}, {"big"}}},
		{1e9, [][]string{{"down1", "down2", "up1", "up2", "big"}}},
	}
	for _, tt := range tests {
		got := ids(stagger(cmds, deltas, tt.ramp))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ramp %v: batches (-want +got):\n%s", tt.ramp, diff)
		}
		for _, b := range stagger(cmds, deltas, tt.ramp) {
			if len(b) == 0 {
				t.Errorf("ramp %v: empty batch", tt.ramp)
			}
		}
	}
	if got := stagger(nil, nil, 100); len(got) != 1 || len(got[0]) != 0 {
		t.Errorf("no commands: %v, want one empty batch", got)
	}
}
