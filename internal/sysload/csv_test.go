package sysload

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
)

func TestOpenCSV(t *testing.T) {
	q := func(h, m int, mw float64) Point {
		return Point{span(time.Date(2022, 7, 20, h, m, 0, 0, time.UTC), 15*time.Minute), mw}
	}
	tests := []struct {
		file string
		want Series
	}{
		{"forecast_hourly.csv", Series{
			hr(utc(2022, 7, 20, 19), 77850.5),
			hr(utc(2022, 7, 20, 20), 79210),
			hr(utc(2022, 7, 20, 21), 80120.25),
			hr(utc(2022, 7, 20, 22), 79900),
			hr(utc(2022, 7, 21, 0), 76000), // a gap before it
		}},
		{"forecast_15min.csv", Series{q(19, 0, 77000), q(19, 15, 77100), q(19, 30, 77200), q(19, 45, 77300), q(20, 30, 78000)}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Open mismatch (-want +got):\n%s", diff)
			}
			for i, p := range got {
				if p.Interval.Start.Location() != time.UTC {
					t.Errorf("point %d not in UTC: %v", i, p.Interval.Start)
				}
			}
		})
	}
	plain, err := Open("testdata/forecast_hourly.csv")
	if err != nil {
		t.Fatal(err)
	}
	gz, err := Open("testdata/forecast_hourly.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(plain, gz); diff != "" {
		t.Errorf(".csv.gz differs from .csv (-plain +gz):\n%s", diff)
	}
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
		is      error
	}{
		{"empty", "", "f.csv: empty file, want a time,mw header", nil},
		{"comments only", "# nothing\n", "f.csv: empty file", nil},
		{"no mw column", "time,load\n", `f.csv:1: header ["time" "load"]: want columns time and mw`, nil},
		{"column twice", "time,mw,MW\n", `f.csv:1: column "MW" appears twice`, nil},
		{"header only", "time,mw\n", "f.csv: no load rows", nil},
		{"bad time", "time,mw\n2022-07-20 14:00,1\n", `f.csv:2: time "2022-07-20 14:00": want RFC 3339`, nil},
		{"no offset", "time,mw\n2022-07-20T14:00:00,1\n", `f.csv:2: time "2022-07-20T14:00:00"`, nil},
		{"bad mw", "time,mw\n2022-07-20T14:00:00Z,lots\n", `f.csv:2: mw "lots": not a number`, nil},
		{"NaN", "time,mw\n2022-07-20T14:00:00Z,NaN\n", "f.csv:2: 2022-07-20T14:00:00Z: load: NaN", energy.ErrNotFinite},
		{"negative", "time,mw\n2022-07-20T14:00:00Z,-1\n", "f.csv:2: 2022-07-20T14:00:00Z: load -1 MW: must be positive", nil},
		{"not increasing", "time,mw\n2022-07-20T14:00:00Z,1\n2022-07-20T09:00:00-05:00,1\n", "f.csv:3: time 2022-07-20T14:00:00Z not after the previous row's 2022-07-20T14:00:00Z (line 2)", nil},
		{"30-minute step", "time,mw\n2022-07-20T14:00:00Z,1\n2022-07-20T14:30:00Z,1\n", "f.csv: rows 30m0s apart: want 15m or 1h intervals", nil},
		{"hourly off the hour", "time,mw\n2022-07-20T14:15:00Z,1\n2022-07-20T15:15:00Z,1\n", "f.csv:2: time 2022-07-20T14:15:00Z: not on a 1h0m0s boundary", nil},
		{"single row off the hour", "time,mw\n2022-07-20T14:15:00Z,1\n", "not on a 1h0m0s boundary", nil},
		{"wrong field count", "time,mw\n2022-07-20T14:00:00Z\n", "f.csv: line 2: wrong number of fields", nil},
		{"bad quote", "time,mw\n\"2022,1\n", "f.csv: line 2", nil},
		{"year out of range", "time,mw\n0001-01-01T00:00:00Z,1\n", "year out of range", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadCSV(strings.NewReader(tt.in), "f.csv")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ReadCSV = %v, %v; want error containing %q", s, err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name    string
		data    string
		wantErr string
		is      error
	}{
		{"load.txt", "time,mw\n", "unknown load file type (want .xlsx, .csv or .csv.gz)", nil},
		{"missing.csv", "", "", os.ErrNotExist},
		{"missing.xlsx", "", "", os.ErrNotExist},
		{"bad.csv.gz", "not gzip", "gzip", nil},
	} {
		path := filepath.Join(dir, tt.name)
		if tt.data != "" {
			if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := Open(path)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
			t.Errorf("Open(%s) = %v, want an error naming the file and containing %q", tt.name, err, tt.wantErr)
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("Open(%s) = %v, want it to wrap %v", tt.name, err, tt.is)
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, name := range []string{"forecast_hourly.csv", "forecast_15min.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("time,mw\n2022-07-20T14:00:00Z,1\n2022-07-20T14:30:00Z,1\n"))
	f.Add([]byte("time,mw\n2022-11-06T01:00:00-05:00,1\n2022-11-06T01:00:00-06:00,2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadCSV(strings.NewReader(string(data)), "fuzz.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") {
				t.Errorf("error %q does not name the source", err)
			}
			return
		}
		if len(s) == 0 {
			t.Fatal("no error and no points")
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("ReadCSV returned an invalid series: %v", err)
		}
		step := s[0].Interval.Duration()
		for i, p := range s {
			if d := p.Interval.Duration(); d != step || (d != time.Hour && d != 15*time.Minute) {
				t.Fatalf("point %d lasts %v, first %v", i, d, step)
			}
			if p.Interval.Start.Location() != time.UTC || !p.Interval.Start.Truncate(step).Equal(p.Interval.Start) {
				t.Fatalf("point %d starts %v: not UTC on a %v boundary", i, p.Interval.Start, step)
			}
		}
	})
}
