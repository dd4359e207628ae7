package pricefeed

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseQuote(f *testing.F) {
	for _, n := range []string{"coinbase-spot.json", "mempool-prices.json", "mempool-prices-unavailable.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "USD", "time")
		f.Add(b, "data.amount", "")
	}
	f.Add([]byte(`[{"p":"1e3","t":"2024-11-15T14:00:00Z"}]`), "0.p", "0.t")
	f.Add([]byte(`{"p":1,"t":1e15}`), "p", "t")
	f.Fuzz(func(t *testing.T, body []byte, path, timePath string) {
		q, err := ParseQuote(body, path, timePath)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Errorf("error %v does not wrap ErrBadResponse", err)
			}
			return
		}
		if !(q.USD > 0) || math.IsInf(q.USD, 0) {
			t.Errorf("ParseQuote(%q, %q) accepted price %v", body, path, q.USD)
		}
		if timePath == "" && !q.Time.IsZero() || timePath != "" && (q.Time.Unix() < minQuoteUnix || q.Time.Unix() > maxQuoteUnix) {
			t.Errorf("ParseQuote(%q, %q, %q) accepted time %v", body, path, timePath, q.Time)
		}
	})
}
