package avalon

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// readingOpts compare readings field by field; Estats.Raw is not part of
// what the fast path promises.
var readingOpts = cmp.Options{
	cmp.AllowUnexported(reading{}),
	cmpopts.IgnoreFields(Estats{}, "Raw"),
	cmpopts.EquateEmpty(),
}

// fastSeeds are replies the fast path must handle (and agree on).
func fastSeeds(t testing.TB) map[string][]byte {
	work := fixture(t, "status-joined.json")
	sleep := fixture(t, "status-joined-sleep.json")
	return map[string][]byte{
		"working":         work,
		"asleep":          sleep,
		"trailing NULs":   append(append([]byte(nil), work...), 0, '\n', 0),
		"indented":        bytes.ReplaceAll(work, []byte(`,"`), []byte(",\n  \"")),
		"escaped MM":      bytes.Replace(work, []byte(`"MM ID0":"Ver[`), []byte(`"MM\u0020ID0":"Ver\u005b`), 1),
		"null field":      bytes.Replace(work, []byte(`"MHS 30s":130214880.12`), []byte(`"MHS 30s":null`), 1),
		"estats first":    []byte(`{"estats":[{"STATUS":[{"STATUS":"S","When":5,"Code":70}],"STATS":[{"Elapsed":7,"MM ID1":"TMax[3] Fan1[10]","MM ID0":"Fan2[20] SoftOFF[1]"}]}],"summary":[{"STATUS":[{"STATUS":"S","When":5}],"SUMMARY":[{"MHS 5s":1e6,"Accepted":3}],"id":1},null],"id":1}`),
		"two STATS MM":    []byte(`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[null]}],"estats":[{"STATUS":[{"STATUS":"I","When":9}],"STATS":[{"MM ID0":"TMax[1]","Elapsed":"x"},{"MM ID0":"TMax[2]","MM ID2":null,"Elapsed":0.5},{"Elapsed":12}]}]}`),
		"MM not a string": []byte(`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{}]}],"estats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"MM ID0":"PS[0 1 2 3 4 5]","MM ID1":7}]}]}`),
	}
}

func TestFastParseReadingAgrees(t *testing.T) {
	for name, b := range fastSeeds(t) {
		t.Run(name, func(t *testing.T) {
			want, err := parseReadingReference(b)
			if err != nil {
				t.Fatalf("reference: %v", err)
			}
			got, ok := parseReadingFast(b)
			if !ok {
				t.Fatal("fast path did not handle the reply")
			}
			if diff := cmp.Diff(want, got, readingOpts); diff != "" {
				t.Errorf("fast vs reference (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFastParseReadingFallsBack(t *testing.T) {
	work := fixture(t, "status-joined.json")
	for name, b := range map[string][]byte{
		"truncated":     work[:len(work)/2],
		"top STATUS":    []byte(`{"STATUS":[{"STATUS":"E","When":1,"Code":45,"Msg":"Access denied"}],"id":1}`),
		"error status":  bytes.Replace(work, []byte(`"STATUS":"S","When":1718020800,"Code":70`), []byte(`"STATUS":"E","When":1718020800,"Code":70`), 1),
		"no MM string":  bytes.Replace(work, []byte(`"MM ID0"`), []byte(`"XX ID0"`), 1),
		"folded key":    bytes.Replace(work, []byte(`"MHS 30s"`), []byte(`"mhs 30s"`), 1),
		"string number": bytes.Replace(work, []byte(`"Accepted":25506`), []byte(`"Accepted":"25506"`), 1),
		"repaired }{":   bytes.Replace(work, []byte(`"Nonce Mask":25},{`), []byte(`"Nonce Mask":25}{`), 1),
		"unknown sub":   bytes.Replace(work, []byte(`{"summary":`), []byte(`{"pools":[{"STATUS":[{"STATUS":"S"}]}],"summary":`), 1),
		"no summary":    []byte(`{"estats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"MM ID0":"TMax[1]"}]}]}`),
		"object sub":    []byte(`{"summary":{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{}]},"estats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"MM ID0":"TMax[1]"}]}]}`),
		"bad UTF-8 MM":  bytes.Replace(work, []byte(`Ver[1366`), []byte("Ver[\xff366"), 1),
		"quoted nan":    bytes.Replace(work, []byte(`"MHS av":129912345.67`), []byte(`"MHS av":"nan"`), 1),
		"empty":         nil,
	} {
		t.Run(name, func(t *testing.T) {
			if _, ok := parseReadingFast(b); ok {
				t.Error("fast path handled a reply it must leave to the reference")
			}
			// parseReading still answers as the reference does.
			want, werr := parseReadingReference(b)
			got, gerr := parseReading(b)
			if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
				t.Fatalf("errors: got %v, want %v", gerr, werr)
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(reading{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("parseReading vs reference (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEstatsFastAgrees(t *testing.T) {
	for _, s := range estatsSeeds(t) {
		want, got := ParseEstats(s), parseEstatsFast(s)
		if diff := cmp.Diff(want, got, readingOpts); diff != "" {
			t.Errorf("parseEstatsFast(%.60q) (-want +got):\n%s", s, diff)
		}
	}
}

func estatsSeeds(t testing.TB) []string {
	many := ""
	for n := 1; n <= maxFastFans+2; n++ {
		many += "Fan" + strconv.Itoa(n) + "[" + strconv.Itoa(100*n) + "] "
	}
	return []string{
		string(fixture(t, "mm-work.txt")), string(fixture(t, "mm-sleep.txt")),
		"SoftOFF[0] WORKMODE[1] WALLPOWER[3412] PS[0 1200]",
		"PS[a b] MGHS[1 x] Fan1[-3] TMax[NaN] SoftOFF[yes] Elapsed[1e99]",
		"Ver[abc] TMax[70", "", "TMax[1] TMax[2] x y Fan01[3] Fan1[4] Fan2[5e7] Fan3[6]",
		"SYSTEMSTATU[Work: In Idle,Hash Board: x, Work: again] FanR[ 40% ]",
		many, "Fan17[1] " + many, strings.Replace(many, "Fan3[", "Fan03[", 1),
	}
}

func FuzzParseEstatsFast(f *testing.F) {
	for _, s := range estatsSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, got := ParseEstats(s), parseEstatsFast(s)
		if diff := cmp.Diff(want, got, readingOpts); diff != "" {
			t.Errorf("parseEstatsFast(%q) (-want +got):\n%s", s, diff)
		}
	})
}

func FuzzFastParseReading(f *testing.F) {
	for _, b := range fastSeeds(f) {
		f.Add(b)
	}
	f.Add(fixture(f, "status-joined.json")[:300])
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := parseReadingFast(b)
		if !ok {
			return
		}
		want, err := parseReadingReference(b)
		if err != nil {
			t.Fatalf("fast path handled a reply the reference rejects (%v): %q", err, b)
		}
		if diff := cmp.Diff(want, got, readingOpts); diff != "" {
			t.Errorf("fast vs reference on %q (-want +got):\n%s", b, diff)
		}
	})
}

func BenchmarkParseReading(b *testing.B) {
	body := fixture(b, "status-joined.json")
	for _, bc := range []struct {
		name  string
		parse func([]byte) (reading, error)
	}{
		{"reference", parseReadingReference},
		{"fast", parseReading},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := bc.parse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
