package main

import (
	"context"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/stratum/loadgen"
)

// inProcessLoad runs the load generator in this process.
func inProcessLoad(ctx context.Context, cfg loadgen.Config, phase func(bool), _ func(int)) (loadgen.Result, error) {
	cfg.OnPhase = phase
	return loadgen.Run(ctx, cfg)
}

func TestBenchStratumCounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    benchStratumOpts
	}{
		{"open", benchStratumOpts{Conns: 20, Rate: 100, Duration: time.Second}},
		{"closed", benchStratumOpts{Conns: 20, Inflight: 4, Duration: time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Mix = loadgen.Mix{Valid: 80, Stale: 10, Invalid: 10}
			o.JobEvery = time.Hour // no rotation: every answer has one right outcome
			res, err := benchStratum(t.Context(), o, inProcessLoad)
			if err != nil {
				t.Fatal(err)
			}
			l := res.Load
			if l.ConnErrors != 0 {
				t.Fatalf("connection errors: %d, first: %s", l.ConnErrors, l.FirstError)
			}
			if l.Sent == 0 || l.Sent != l.Answered || l.Lost != 0 {
				t.Fatalf("sent %d, answered %d, lost %d", l.Sent, l.Answered, l.Lost)
			}
			byKind := map[string]loadgen.KindCounts{}
			for _, k := range l.Kinds {
				byKind[k.Kind] = k
				if k.Sent == 0 {
					t.Errorf("%s: none sent", k.Kind)
				}
				if k.Unexpected != 0 || k.RotationStale != 0 || k.Expected != k.Sent {
					t.Errorf("%s: sent %d, as expected %d, rotation-stale %d, unexpected %d (%s)",
						k.Kind, k.Sent, k.Expected, k.RotationStale, k.Unexpected, k.FirstUnexpected)
				}
			}
			// The server's own counts agree: valid accepted, invalid
			// rejected after hashing (23), stale rejected without (21).
			if got, want := int64(res.ServerAccepted), byKind["valid"].Sent; got != want {
				t.Errorf("server accepted %d, want %d", got, want)
			}
			if got, want := int64(res.ServerRejected), byKind["invalid"].Sent; got != want {
				t.Errorf("server rejected %d, want %d", got, want)
			}
			if got, want := int64(res.ServerStale), byKind["stale"].Sent; got != want {
				t.Errorf("server stale %d, want %d", got, want)
			}
			if res.Validated != res.ServerAccepted+res.ServerRejected || res.ValidatedPerS <= 0 {
				t.Errorf("validated %d (%.0f/s)", res.Validated, res.ValidatedPerS)
			}
			if l.P50Ms <= 0 || l.P99Ms < l.P50Ms || l.MaxMs < l.P99Ms {
				t.Errorf("latency p50 %v p99 %v max %v", l.P50Ms, l.P99Ms, l.MaxMs)
			}
		})
	}
}

func TestParseMix(t *testing.T) {
	if m, err := loadgen.ParseMix("90,5,5"); err != nil || m != (loadgen.Mix{Valid: 90, Stale: 5, Invalid: 5}) {
		t.Fatalf("ParseMix: %v, %v", m, err)
	}
	for _, bad := range []string{"90,5", "90,5,6", "a,b,c", "-10,60,50"} {
		if _, err := loadgen.ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q): no error", bad)
		}
	}
}
