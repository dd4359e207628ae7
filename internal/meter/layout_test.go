package meter

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPlanBlocks(t *testing.T) {
	tests := []struct {
		name  string
		spans []span
		want  []block
	}{
		{
			name: "SunSpec 203: ID..W_SF in one read",
			spans: []span{
				{1, holding, 40070, 40071}, {1, holding, 40086, 40087}, {1, holding, 40087, 40088},
				{1, holding, 40088, 40089}, {1, holding, 40092, 40093},
			},
			want: []block{{1, holding, 40070, 23}},
		},
		{
			name:  "a gap too wide splits",
			spans: []span{{1, holding, 0, 2}, {1, holding, 2 + maxGap + 1, 2 + maxGap + 2}},
			want:  []block{{1, holding, 0, 2}, {1, holding, 2 + maxGap + 1, 1}},
		},
		{
			name:  "a gap of maxGap joins",
			spans: []span{{1, holding, 0, 2}, {1, holding, 2 + maxGap, 2 + maxGap + 1}},
			want:  []block{{1, holding, 0, 2 + maxGap + 1}},
		},
		{
			name:  "tables and units never mix",
			spans: []span{{1, input, 0, 1}, {1, holding, 0, 1}, {2, holding, 0, 1}},
			want:  []block{{1, holding, 0, 1}, {1, input, 0, 1}, {2, holding, 0, 1}},
		},
		{
			name:  "125 registers at most",
			spans: []span{{1, holding, 0, 100}, {1, holding, 100, 126}},
			want:  []block{{1, holding, 0, 100}, {1, holding, 100, 26}},
		},
		{
			name:  "overlaps and duplicates",
			spans: []span{{1, holding, 10, 12}, {1, holding, 11, 12}, {1, holding, 10, 12}},
			want:  []block{{1, holding, 10, 2}},
		},
		{
			name:  "the last register",
			spans: []span{{1, holding, 65534, 65536}},
			want:  []block{{1, holding, 65534, 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planBlocks(tt.spans)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(block{})); diff != "" {
				t.Errorf("blocks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNextTick(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := time.Second
	tests := []struct {
		name      string
		prev, now time.Duration
		want      time.Duration
	}{
		{"on time", 0, 300 * time.Millisecond, s},
		{"read ended exactly on the next tick", 0, s, 2 * s},
		{"overran three ticks", s, 4*s + 500*time.Millisecond, 5 * s},
		{"clock behind prev", 5 * s, 4 * s, 6 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nextTick(t0, s, t0.Add(tt.prev), t0.Add(tt.now))
			if got != t0.Add(tt.want) {
				t.Errorf("next tick at +%v, want +%v", got.Sub(t0), tt.want)
			}
		})
	}
}
