package solo

import (
	"errors"
	"strings"
	"testing"
)

const goodTemplate = `{"bits":"207fffff","curtime":1700000000,"height":2,"previousblockhash":"5cd38e09fba39ccff974be73219cca1cc8bbc3f9302050d7002509b0045fda75","version":536870912,"coinbasevalue":5000000000,"mintime":1699999000,"target":"7fffff0000000000000000000000000000000000000000000000000000000000","rules":["csv","!segwit"],"transactions":[]}`

func TestParseWork(t *testing.T) {
	w, err := ParseWork([]byte(goodTemplate))
	if err != nil {
		t.Fatal(err)
	}
	if w.Height != 2 || w.Bits != 0x207fffff || w.Version != 0x20000000 || w.CoinbaseValue != 5e9 || w.MinTime != 1699999000 ||
		w.PrevHash.String() != "5cd38e09fba39ccff974be73219cca1cc8bbc3f9302050d7002509b0045fda75" {
		t.Errorf("ParseWork = %+v", w)
	}
	tests := []struct {
		name, from, to string
		want           error
	}{
		{"unknown required rule", `"!segwit"]`, `"!segwit","!newfork"]`, ErrUnsupportedRule},
		{"no coinbasevalue", `"coinbasevalue":5000000000,`, ``, ErrBadTemplate},
		{"no height", `"height":2,`, ``, ErrBadTemplate},
		{"no version", `"version":536870912,`, ``, ErrBadTemplate},
		{"no curtime", `"curtime":1700000000,`, ``, ErrBadTemplate},
		{"short prevhash", `"5cd38e`, `"`, ErrBadTemplate},
		{"bad bits", `"207fffff"`, `"zz"`, ErrBadTemplate},
		{"target mismatch", `"7fffff00`, `"7ffffe00`, ErrBadTemplate},
		{"bad tx data", `"transactions":[]`, `"transactions":[{"data":"00"}]`, ErrBadTemplate},
		{"bad commitment", `"transactions"`, `"default_witness_commitment":"6a00","transactions"`, ErrBadTemplate},
		{"negative coinbasevalue", `5000000000`, `-1`, ErrBadTemplate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := strings.Replace(goodTemplate, tt.from, tt.to, 1)
			if raw == goodTemplate {
				t.Fatalf("replacement %q not found", tt.from)
			}
			if _, err := ParseWork([]byte(raw)); !errors.Is(err, tt.want) {
				t.Errorf("ParseWork = %v, want %v", err, tt.want)
			}
		})
	}
	// BIP 9: a rule without "!" may be ignored when not understood.
	if _, err := ParseWork([]byte(strings.Replace(goodTemplate, `"csv"`, `"someday"`, 1))); err != nil {
		t.Errorf("optional unknown rule: %v", err)
	}
}

func FuzzParseWork(f *testing.F) {
	f.Add([]byte(goodTemplate))
	f.Add([]byte(strings.Replace(goodTemplate, `"transactions":[]`, `"default_witness_commitment":"47f68236b92f1774f437c98f079768b7e6cd600519973fec1a6fc5a6e4a91ee9","transactions":[{"data":"0200000001","txid":"","fee":1}]`, 1)))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		w, err := ParseWork(raw)
		if err != nil {
			return
		}
		if w.Target == nil || w.Target.Sign() <= 0 || w.Height < 1 {
			t.Fatalf("accepted template with target %v height %d", w.Target, w.Height)
		}
		b, err := NewBuilder(BuilderConfig{Network: "regtest", PayTo: "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", Extranonce1Size: 4, Extranonce2Size: 4})
		if err != nil {
			t.Fatal(err)
		}
		j, err := b.Job("f", w, true)
		if err != nil {
			return
		}
		if _, err := j.Assemble(Solution{Extranonce1: make([]byte, 4), Extranonce2: make([]byte, 4)}); err != nil {
			t.Fatalf("assemble from an accepted template: %v", err)
		}
	})
}

func FuzzCompactToTarget(f *testing.F) {
	for _, b := range []uint32{0x207fffff, 0x1d00ffff, 0x17034219, 0, 0x00800000, 0xff7fffff} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, bits uint32) {
		tgt, err := CompactToTarget(bits)
		if err == nil && (tgt.Sign() <= 0 || tgt.BitLen() > 256) {
			t.Fatalf("bits %08x: target %v", bits, tgt)
		}
	})
}
