package mempoolapi

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func seed(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseTipHeight(f *testing.F) {
	seed(f, "tip-height.txt")
	f.Add([]byte(" 870000\n"))
	f.Add([]byte("-1"))
	f.Add([]byte("1e6"))
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := ParseTipHeight(body)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Errorf("error %v does not wrap ErrBadResponse", err)
			}
			return
		}
		if h < 0 || h > maxHeight {
			t.Errorf("ParseTipHeight(%q) = %d", body, h)
		}
	})
}

func FuzzParseBlocks(f *testing.F) {
	seed(f, "blocks-730000.json", "blocks-870000.json")
	f.Add([]byte(`[{"height":2,"timestamp":1,"difficulty":1},{"height":2,"timestamp":1,"difficulty":1}]`))
	f.Add([]byte(`[{"height":1,"timestamp":1,"difficulty":1,"extras":{"totalFees":-5}}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		blocks, err := ParseBlocks(body)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Errorf("error %v does not wrap ErrBadResponse", err)
			}
			return
		}
		if len(blocks) == 0 {
			t.Fatalf("ParseBlocks(%q) returned no blocks and no error", body)
		}
		for i, b := range blocks {
			if b.Height < 0 || b.Height > maxHeight || !(b.Difficulty > 0) || math.IsInf(b.Difficulty, 0) ||
				b.TotalFeesSats < 0 || b.TotalFeesSats > maxMoneySats || i > 0 && b.Height >= blocks[i-1].Height {
				t.Errorf("ParseBlocks(%q) accepted block %d: %+v", body, i, b)
			}
		}
	})
}

func FuzzParseBlockFees(f *testing.F) {
	seed(f, "blocks-fees-24h.json")
	f.Add([]byte(`[{"avgHeight":1,"timestamp":1,"avgFees":-1}]`))
	f.Add([]byte(`[{"avgHeight":1,"timestamp":1,"avgFees":1e300}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		points, err := ParseBlockFees(body)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Errorf("error %v does not wrap ErrBadResponse", err)
			}
			return
		}
		if len(points) == 0 {
			t.Fatalf("ParseBlockFees(%q) returned no points and no error", body)
		}
		for _, p := range points {
			if !(p.AvgFeesSats >= 0) || p.AvgFeesSats > maxMoneySats || p.AvgHeight < 0 {
				t.Errorf("ParseBlockFees(%q) accepted %+v", body, p)
			}
		}
	})
}
