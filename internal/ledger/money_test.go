package ledger

import (
	"errors"
	"math"
	"testing"
)

func TestMicrosFromUSD(t *testing.T) {
	tests := []struct {
		usd     float64
		want    Micros
		wantErr bool
	}{
		{usd: 0, want: 0},
		{usd: 1.23, want: 1_230_000},
		{usd: -30, want: -30_000_000},
		{usd: 0.0000004, want: 0},   // 0.4 µ$ rounds down
		{usd: 0.0000006, want: 1},   // 0.6 µ$ rounds up
		{usd: -0.0000006, want: -1}, // away from zero on the negative side too
		{usd: 9e12, want: 9_000_000_000_000_000_000},
		{usd: 1e13, wantErr: true}, // 1e19 µ$ > 2^63
		{usd: -1e13, wantErr: true},
		{usd: math.NaN(), wantErr: true},
		{usd: math.Inf(1), wantErr: true},
		{usd: math.Inf(-1), wantErr: true},
	}
	for _, tt := range tests {
		got, err := MicrosFromUSD(tt.usd)
		if (err != nil) != tt.wantErr {
			t.Errorf("MicrosFromUSD(%v) error = %v, want error %v", tt.usd, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("MicrosFromUSD(%v) = %d, want %d", tt.usd, got, tt.want)
		}
	}
	if _, err := MicrosFromUSD(1e13); !errors.Is(err, ErrOverflow) {
		t.Errorf("MicrosFromUSD(1e13) error = %v, want ErrOverflow", err)
	}
}

func TestMicrosString(t *testing.T) {
	tests := []struct {
		m    Micros
		want string
	}{
		{0, "$0.00"},
		{1_234_560_000, "$1,234.56"},
		{-10_000, "-$0.01"},
		{-4_999, "$0.00"}, // rounds to zero cents: no minus sign
		{-5_000, "-$0.01"},
		{5_000, "$0.01"}, // half a cent rounds away from zero
		{4_999, "$0.00"},
		{999_995_000, "$1,000.00"},
		{100_000_000, "$100.00"},
		{123_456_789_000_000, "$123,456,789.00"},
		{math.MaxInt64, "$9,223,372,036,854.78"},
		{math.MinInt64, "-$9,223,372,036,854.78"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("Micros(%d).String() = %q, want %q", int64(tt.m), got, tt.want)
		}
	}
}

func TestUnits(t *testing.T) {
	if got, want := Micros(2_500_000).USD(), 2.5; got != want {
		t.Errorf("USD() = %v, want %v", got, want)
	}
	if got, want := MilliSats(150_000_000_000).BTC(), 1.5; got != want {
		t.Errorf("BTC() = %v, want %v", got, want)
	}
	if got, want := MilliSats(100_000).String(), "0.00000100000 BTC"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
