package proxy

import (
	"testing"

	"github.com/gridminer/gridminer/internal/stratum"
)

func TestMapReject(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"standard code passes", stratum.NewError(stratum.CodeDuplicate, "duplicate share"), stratum.CodeDuplicate},
		{"odd code by text", stratum.NewError(-1, "Stale share"), stratum.CodeJobNotFound},
		{"ckpool stale", &stratum.RejectError{Reason: "Stale"}, stratum.CodeJobNotFound},
		{"ckpool above target", &stratum.RejectError{Reason: "Above target"}, stratum.CodeLowDifficulty},
		{"ckpool duplicate", &stratum.RejectError{Reason: "Duplicate"}, stratum.CodeDuplicate},
		{"ckpool other", &stratum.RejectError{Reason: "Invalid nonce2 length"}, stratum.CodeOther},
		{"false without error", nil, stratum.CodeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mapReject(tc.err).Code; got != tc.want {
				t.Errorf("mapReject(%v) code %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}
