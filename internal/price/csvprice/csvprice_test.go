package csvprice

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func pt(start time.Time, d time.Duration, p energy.Price) price.Point {
	return price.Point{Interval: energy.Interval{Start: start, End: start.Add(d)}, Price: p}
}

func TestRead(t *testing.T) {
	const q, h = 15 * time.Minute, time.Hour
	tests := []struct {
		name string
		in   string
		want price.Schedule
	}{
		{"15-minute", "time,price\n2024-01-05T00:00:00Z,10\n2024-01-05T00:15:00Z,-2.5\n2024-01-05T00:30:00Z,9315\n",
			price.Schedule{pt(utc(2024, 1, 5, 0, 0), q, 10), pt(utc(2024, 1, 5, 0, 15), q, -2.5), pt(utc(2024, 1, 5, 0, 30), q, 9315)}},
		{"hourly, offsets, header spelling", "\ufeff Time , PRICE \r\n2024-07-01T00:00:00+02:00, 80.1\r\n2024-07-01T01:00:00+02:00,81\r\n",
			price.Schedule{pt(utc(2024, 6, 30, 22, 0), h, 80.1), pt(utc(2024, 6, 30, 23, 0), h, 81)}},
		{"a gap stays a gap", "time,price\n2024-01-05T00:00:00Z,1\n2024-01-05T00:15:00Z,2\n2024-01-05T01:15:00Z,3\n",
			price.Schedule{pt(utc(2024, 1, 5, 0, 0), q, 1), pt(utc(2024, 1, 5, 0, 15), q, 2), pt(utc(2024, 1, 5, 1, 15), q, 3)}},
		// US fall back: 01:45 CDT, then 01:00 CST is 15 minutes later.
		{"fall back in local offsets", "time,price\n2021-11-07T01:30:00-05:00,1\n2021-11-07T01:45:00-05:00,2\n2021-11-07T01:00:00-06:00,3\n2021-11-07T01:15:00-06:00,4\n",
			price.Schedule{pt(utc(2021, 11, 7, 6, 30), q, 1), pt(utc(2021, 11, 7, 6, 45), q, 2), pt(utc(2021, 11, 7, 7, 0), q, 3), pt(utc(2021, 11, 7, 7, 15), q, 4)}},
		// US spring forward: 01:45 CST, then 03:00 CDT.
		{"spring forward in local offsets", "time,price\n2021-03-14T01:45:00-06:00,1\n2021-03-14T03:00:00-05:00,2\n",
			price.Schedule{pt(utc(2021, 3, 14, 7, 45), q, 1), pt(utc(2021, 3, 14, 8, 0), q, 2)}},
		{"pandas spacing, fractions, quotes", "time,price\n2024-01-05 00:00:00+00:00,1\n\"2024-01-05T00:05:00.000Z\",\"2\"\n",
			price.Schedule{pt(utc(2024, 1, 5, 0, 0), 5*time.Minute, 1), pt(utc(2024, 1, 5, 0, 5), 5*time.Minute, 2)}},
		{"half-hourly with an hour gap", "time,price\n2024-01-05T00:00:00Z,1\n2024-01-05T00:30:00Z,2\n2024-01-05T01:30:00Z,3\n",
			price.Schedule{pt(utc(2024, 1, 5, 0, 0), 30*time.Minute, 1), pt(utc(2024, 1, 5, 0, 30), 30*time.Minute, 2), pt(utc(2024, 1, 5, 1, 30), 30*time.Minute, 3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tt.in), "x.csv")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("invalid schedule: %v", err)
			}
			for i, p := range got {
				if p.Interval.Start.Location() != time.UTC {
					t.Errorf("point %d not in UTC", i)
				}
			}
		})
	}
}

func TestGapReported(t *testing.T) {
	in := "time,price\n2024-01-05T00:00:00Z,1\n2024-01-05T00:15:00Z,2\n2024-01-05T01:15:00Z,3\n"
	s, err := Read(strings.NewReader(in), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	gaps := s.Gaps(utc(2024, 1, 5, 0, 0), utc(2024, 1, 5, 1, 30))
	if diff := cmp.Diff([]energy.Interval{{Start: utc(2024, 1, 5, 0, 30), End: utc(2024, 1, 5, 1, 15)}}, gaps); diff != "" {
		t.Errorf("gaps mismatch (-want +got):\n%s", diff)
	}
}

func TestReadErrors(t *testing.T) {
	const head = "time,price\n"
	tests := []struct {
		name, in, wantErr string
		is                error
	}{
		{"empty", "", "x.csv: empty file, want a time,price header", nil},
		{"bad header", "timestamp,price\n2024-01-05T00:00:00Z,1\n", `x.csv:1: header "timestamp,price": want exactly time,price`, nil},
		{"header order", "price,time\n", `x.csv:1: header "price,time"`, nil},
		{"third column", "time,price,node\n", `x.csv:1: header "time,price,node": want exactly time,price`, nil},
		{"row with three fields", head + "2024-01-05T00:00:00Z,1\n2024-01-05T00:15:00Z,2,HB_WEST\n", "x.csv:3: 3 fields, want 2 (time,price)", nil},
		{"no zone", head + "2024-01-05T00:00:00Z,1\n2024-01-05T00:15:00,2\n", `x.csv:3: time "2024-01-05T00:15:00": no zone offset`, nil},
		{"no zone, minutes", head + "2024-01-05 00:15,2\n", `x.csv:2: time "2024-01-05 00:15": no zone offset`, nil},
		{"not a time", head + "01/05/2024 00:00,1\n", `x.csv:2: time "01/05/2024 00:00": want RFC 3339 with a zone offset`, nil},
		{"malformed price", head + "2024-01-05T00:00:00Z,1\n2024-01-05T00:15:00Z,1\n2024-01-05T00:30:00Z,12,5\n", "x.csv:4: 3 fields", nil},
		{"price text", head + "2024-01-05T00:00:00Z,1\n2024-01-05T00:15:00Z,abc\n", `x.csv:3: price "abc": not a number`, nil},
		{"price empty", head + "2024-01-05T00:00:00Z,\n", `x.csv:2: price "": not a number`, nil},
		{"price NaN", head + "2024-01-05T00:00:00Z,NaN\n", "x.csv:2: price: NaN", energy.ErrNotFinite},
		{"price Inf", head + "2024-01-05T00:00:00Z,-Inf\n", "x.csv:2: price: -Inf", energy.ErrNotFinite},
		{"duplicate time", head + "2024-01-05T00:00:00Z,1\n2024-01-05T00:15:00Z,2\n2024-01-04T18:15:00-06:00,3\n", "x.csv:4: time 2024-01-05T00:15:00Z: duplicate of line 3", nil},
		{"out of order", head + "2024-01-05T00:15:00Z,1\n2024-01-05T00:00:00Z,2\n", "x.csv:3: time 2024-01-05T00:00:00Z: before line 2 (2024-01-05T00:15:00Z); rows must be in increasing time", nil},
		{"one row", head + "2024-01-05T00:00:00Z,1\n", "x.csv:2: only one price row: the interval length cannot be inferred", nil},
		{"header only", head, "x.csv: no price rows after the header", nil},
		{"10-minute spacing", head + "2024-01-05T00:00:00Z,1\n2024-01-05T00:10:00Z,2\n", "x.csv:3: 10m0s after line 2, the smallest spacing of the file: the interval must be 5m, 15m, 30m or 1h", nil},
		{"daily", head + "2024-01-05T00:00:00Z,1\n2024-01-06T00:00:00Z,2\n", "x.csv:3: 24h0m0s after line 2", nil},
		{"spacing not a multiple", head + "2024-01-05T00:00:00Z,1\n2024-01-05T00:15:00Z,2\n2024-01-05T00:35:00Z,3\n", "x.csv:4: time 2024-01-05T00:35:00Z: 20m0s after line 3, not a whole number of 15m0s intervals", nil},
		{"bad quote", head + "\"2024-01-05T00:00:00Z,1\n", "x.csv:2:", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Read(strings.NewReader(tt.in), "x.csv")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Read = %d points, %v; want error containing %q", len(s), err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	in := []byte("time,price\n2024-01-05T00:00:00Z,1\n2024-01-05T01:00:00Z,2\n")
	want, err := Read(bytes.NewReader(in), "mem")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(in)
	zw.Close()
	dir := t.TempDir()
	for name, b := range map[string][]byte{"p.csv": in, "p.csv.gz": gz.Bytes(), "gzip-without-extension": gz.Bytes()} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Open(path)
		if err != nil {
			t.Fatalf("Open(%s): %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Open(%s) mismatch (-want +got):\n%s", name, diff)
		}
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("time,price\n2024-01-05T00:00:00Z,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":2: price") {
		t.Errorf("Open(bad) = %v, want an error starting %q", err, bad+":2: price")
	}
	if _, err := Open(filepath.Join(dir, "missing.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want os.ErrNotExist", err)
	}
}

func TestIsHeader(t *testing.T) {
	for in, want := range map[string]bool{
		"time,price": true, "TIME,Price": true, " time , price ": true, "\ufefftime,price": true,
		"time": false, "time,price,x": false, "price,time": false, "time,prices": false, "": false,
	} {
		if got := IsHeader(strings.Split(in, ",")); got != want {
			t.Errorf("IsHeader(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzRead: Read must never panic; its errors name the source, and what it
// accepts is a valid schedule of at least two points of one allowed length.
func FuzzRead(f *testing.F) {
	f.Add([]byte("time,price\n2024-01-05T00:00:00Z,10\n2024-01-05T00:15:00Z,-2.5\n"))
	f.Add([]byte("time,price\n2021-11-07T01:45:00-05:00,2\n2021-11-07T01:00:00-06:00,3\n"))
	f.Add([]byte("time,price\n2024-01-05 00:00:00+00:00,1\n2024-01-05T02:00:00Z,2\n2024-01-05T03:00:00Z,2\n"))
	f.Add([]byte("time,price\n2024-01-05T00:00:00Z,1\n2024-01-05T00:10:00Z,2\n"))
	f.Add([]byte("time,price\n2024-01-05T00:00:00Z,NaN\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Read(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") {
				t.Errorf("error %q does not name the source", err)
			}
			return
		}
		if len(s) < 2 {
			t.Fatalf("%d points without an error", len(s))
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("invalid schedule: %v", err)
		}
		d := s[0].Interval.Duration()
		ok := false
		for _, iv := range intervals {
			ok = ok || d == iv
		}
		if !ok {
			t.Fatalf("interval %v not allowed", d)
		}
		for i, p := range s {
			if p.Interval.Duration() != d {
				t.Fatalf("point %d lasts %v, point 0 %v", i, p.Interval.Duration(), d)
			}
			if i > 0 && (p.Interval.Start.Sub(s[i-1].Interval.Start))%d != 0 {
				t.Fatalf("point %d is not a whole number of intervals after point %d", i, i-1)
			}
		}
	})
}
