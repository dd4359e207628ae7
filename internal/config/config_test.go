package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const good = `site:
  name: test
  import_cap_kw: 1000
  on_stop: sleep
miners:
  - driver: luxos
    first: 127.1.0.253
    count: 3
    port: 4100
  - driver: luxos
    addr: 10.0.0.7:4028
price:
  type: synthetic
  seed: 7
policy:
  hysteresis_usd_per_mwh: 5
  min_run: 30m
store:
  path: /tmp/x.db
`

func TestParseGood(t *testing.T) {
	f, err := Parse("site.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if f.Site.Interval.D() != 15*time.Minute || f.Site.OnStalePrice != "hold" || f.Poll.Every.D() != 30*time.Second {
		t.Errorf("defaults not applied: %+v %+v", f.Site, f.Poll)
	}
	if f.Policy.MinRun.D() != 30*time.Minute {
		t.Errorf("min_run = %v, want 30m", f.Policy.MinRun)
	}
	var got []string
	for _, m := range f.Miners {
		a, err := m.Addrs()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a...)
	}
	want := []string{"127.1.0.253:4100", "127.1.0.254:4100", "127.1.1.1:4100", "10.0.0.7:4028"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown key", good + "bogus: 1\n", "unknown field \"bogus\""},
		{"unknown nested key", strings.Replace(good, "  seed: 7\n", "  seed: 7\n  sead: 8\n", 1), "[15:3] unknown field \"sead\""},
		{"bad driver", strings.Replace(good, "driver: luxos\n    addr", "driver: whatsit\n    addr", 1), "site.yaml:10: miners[1].driver: \"whatsit\": unknown driver"},
		{"bad addr", strings.Replace(good, "10.0.0.7:4028", "10.0.0.7", 1), "site.yaml:11: miners[1].addr"},
		{"bad first", strings.Replace(good, "127.1.0.253", "nope", 1), "site.yaml:7: miners[0].first"},
		{"duplicate", strings.Replace(good, "10.0.0.7:4028", "127.1.0.254:4100", 1), "address 127.1.0.254:4100 is also in miners[0]"},
		{"bad fail-safe", strings.Replace(good, "on_stop: sleep", "on_stop: maybe", 1), "site.yaml:4: site.on_stop"},
		{"bad price type", strings.Replace(good, "type: synthetic", "type: nord", 1), "site.yaml:13: price.type"},
		{"ercot needs path", strings.Replace(good, "type: synthetic", "type: ercot-csv", 1), "price.path: ercot-csv needs a path"},
		{"negative cap", strings.Replace(good, "import_cap_kw: 1000", "import_cap_kw: -5", 1), "site.yaml:3: site.import_cap_kw"},
		{"bad duration", strings.Replace(good, "min_run: 30m", "min_run: soon", 1), "site.yaml:17: \"soon\": want a duration"},
		{"syntax", good + "  - : :\n\t", "site.yaml"},
		{"no miners", "site:\n  name: x\n", "miners: no miners configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("site.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("miners: [{driver: luxos, first: 127.0.0.1, count: 99999999}]"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, _ = Parse("fuzz.yaml", src) // must not panic
	})
}
