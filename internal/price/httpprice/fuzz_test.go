package httpprice

import (
	"math"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary bodies to the JSON and CSV decoders: they must
// never panic, and what they accept is a valid schedule of finite prices.
func FuzzDecode(f *testing.F) {
	f.Add(true, []byte(jsonDoc))
	f.Add(true, []byte(`[[1704067200000, 0.05], [1704068100000, "0.06"]]`))
	f.Add(true, []byte(`{"data":{"prices":[{"start":"2024-01-01T00:00:00Z","end":"2024-01-01T00:00:00Z","price":"NaN"}]}}`))
	f.Add(false, []byte("start,end,price\n2024-01-01T00:00:00Z,2024-01-01T01:00:00Z,5\n"))
	f.Add(false, []byte("start,end,price\n\"2024-01-01T00:00:00Z\",2024-01-01T01:00:00Z,1e999\n"))
	jsonSrc, err := New(Config{URL: "https://example.com", Items: "data.prices", Start: "start", End: "end", Price: "price"}, Deps{})
	if err != nil {
		f.Fatal(err)
	}
	arraySrc, err := New(Config{URL: "https://example.com", Start: "0", Price: "1", Interval: 15 * time.Minute, TimeFormat: UnixMS, Unit: "$/kWh"}, Deps{})
	if err != nil {
		f.Fatal(err)
	}
	csvSrc, err := New(Config{URL: "https://example.com", Format: CSV, Start: "start", End: "end", Price: "price"}, Deps{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, isJSON bool, body []byte) {
		srcs := []*Source{csvSrc}
		if isJSON {
			srcs = []*Source{jsonSrc, arraySrc}
		}
		for _, s := range srcs {
			sched, err := s.decode(body)
			if err != nil {
				continue
			}
			if err := sched.Validate(); err != nil {
				t.Fatalf("accepted an invalid schedule: %v", err)
			}
			for _, p := range sched {
				if v := float64(p.Price); math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("accepted price %v", v)
				}
			}
		}
	})
}
