package ercotapi

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/price"
)

// FuzzDecodeRows feeds arbitrary pages to the envelope and row decoders of
// all three reports: they must never panic, and whatever they accept must
// be a finite price at an interval start on the report's grid.
func FuzzDecodeRows(f *testing.F) {
	for p := 1; p <= 3; p++ {
		if b, err := os.ReadFile(filepath.Join("testdata", "np6-905-cd_page"+string(rune('0'+p))+".json")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"_meta":{"totalPages":1},"fields":[{"name":"SCEDTimestamp"},{"name":"repeatHourFlag"},{"name":"settlementPoint"},{"name":"LMP"}],` +
		`"data":[["2024-11-03T01:30:12",true,"HB_NORTH",31.5],["2024-07-01 10:00:14",false,"HB_NORTH","-2"]]}`))
	f.Add([]byte(`{"_meta":{"totalPages":1},"fields":[{"name":"RTDTimestamp"},{"name":"repeatHourFlag"},{"name":"intervalId"},{"name":"intervalEnding"},` +
		`{"name":"intervalRepeatHourFlag"},{"name":"settlementPoint"},{"name":"settlementPointType"},{"name":"LMP"}],` +
		`"data":[["2024-11-03T01:00:20",true,1,"2024-11-03T02:00:00",true,"HB_NORTH","HU",12]]}`))
	f.Add([]byte(`{"fields":[{"name":"deliveryDate"},{"name":"deliveryHour"},{"name":"deliveryInterval"},{"name":"settlementPointName"},` +
		`{"name":"settlementPointPrice"},{"name":"DSTFlag"}],"data":[{"deliveryDate":"11/03/2024","deliveryHour":"2","deliveryInterval":1,` +
		`"settlementPointName":"HB_NORTH","settlementPointPrice":"1e3","DSTFlag":"Y"}]}`))
	loc := price.ERCOTLocation()
	finite := func(t *testing.T, what string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("%s: accepted non-finite price %v", what, v)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pg, err := decodePage(body)
		if err != nil {
			return
		}
		rows, err := pg.rows()
		if err != nil {
			return
		}
		for _, r := range rows {
			if len(r) != len(pg.Fields) {
				t.Fatalf("row of %d values for %d fields", len(r), len(pg.Fields))
			}
		}
		rep := &Report{Fields: pg.Fields, Rows: rows}
		if spp, err := decodeSPP(rep, "HB_NORTH", loc); err == nil {
			for _, r := range spp {
				finite(t, "spp", float64(r.price))
				if r.start.Sub(r.start.Truncate(15*time.Minute)) != 0 {
					t.Fatalf("spp start %v off the 15-minute grid", r.start)
				}
				if got := dayOf(r.start, loc); got != r.day {
					t.Fatalf("spp start %v is on local day %v, row says %v", r.start, got, r.day)
				}
			}
		}
		if lmp, err := decodeLMP(rep, "HB_NORTH", loc); err == nil {
			for _, r := range lmp {
				finite(t, "lmp", float64(r.price))
			}
		}
		if rtd, err := decodeRTD(rep, "HB_NORTH", loc); err == nil {
			for _, r := range rtd {
				finite(t, "rtd", float64(r.price))
			}
		}
	})
}
