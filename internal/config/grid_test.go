package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

const gridGood = good + `meter:
  type: modbus
  address: 10.0.0.50:502
  map: sunspec203
  base_kw: 120
  tolerance_kw: 40
ufr:
  enabled: true
  below_hz: 59.7
  for: 200ms
  restore_after: 10m
  shed_mw: 20
  relay_coil: 3
demand:
  tiers_mw: [30, 15, 0]
  credit_usd_per_mwh: {ers-pilot: 250}
  manual_file: /tmp/calls.yaml
  ercot_grid: {every: 1m}
`

func TestParseGridSections(t *testing.T) {
	f, err := Parse("site.yaml", []byte(gridGood))
	if err != nil {
		t.Fatal(err)
	}
	if f.Meter.Driver().Address != "10.0.0.50:502" || f.Meter.BaseKW != 120 || f.UFR.For.D() != 200*time.Millisecond ||
		f.UFR.RelayCoil == nil || *f.UFR.RelayCoil != 3 || len(f.Demand.TiersMW) != 3 || f.Demand.CreditUSDPerMWh["ers-pilot"] != 250 ||
		f.Demand.ERCOTGrid == nil || f.Demand.ERCOTGrid.Every.D() != time.Minute {
		t.Errorf("parsed %+v %+v %+v", f.Meter, f.UFR, f.Demand)
	}
	for _, tt := range []struct{ src, want string }{
		{strings.Replace(gridGood, "type: modbus", "type: bacnet", 1), "meter.type"},
		{strings.Replace(gridGood, "address: 10.0.0.50:502", "address: nowhere", 1), "site.yaml:21: meter"},
		{strings.Replace(gridGood, "below_hz: 59.7", "below_hz: 5.97", 1), "ufr.below_hz"},
		{strings.Replace(gridGood, "shed_mw: 20", "shed_mw: -1", 1), "ufr.shed_mw"},
		{strings.Replace(gridGood, "tiers_mw: [30, 15, 0]", "tiers_mw: [30, 15, 0, 0]", 1), "demand.tiers_mw"},
		{strings.Replace(gridGood, "{ers-pilot: 250}", "{ers-pilot: -1}", 1), "credit_usd_per_mwh"},
		{strings.Replace(gridGood, "meter:\n  type: modbus", "meterx:\n  type: modbus", 1), "meterx"},
		{strings.Replace(good, "type: synthetic", "type: ercot-api", 1), "ercot_api"},
		{strings.Replace(good, "type: synthetic", "type: http", 1), "price.http"},
	} {
		if _, err := Parse("site.yaml", []byte(tt.src)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want it to name %q", err, tt.want)
		}
	}
	noMeter := strings.Replace(gridGood, "  type: modbus\n", "", 1)
	if _, err := Parse("site.yaml", []byte(noMeter)); err == nil || !strings.Contains(err.Error(), "needs a meter") {
		t.Errorf("ufr without a meter: %v", err)
	}
}

func TestParseLiveBitcoin(t *testing.T) {
	src := strings.Replace(good, "price:\n  type: synthetic", `bitcoin:
  type: live
  live:
    chain:
      type: explorer
      explorer: {url: "https://mempool.space"}
    price: {preset: coinbase}
price:
  type: synthetic`, 1)
	f, err := Parse("site.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if f.Bitcoin.Live == nil || f.Bitcoin.Live.Chain.Type != "explorer" {
		t.Errorf("live: %+v", f.Bitcoin.Live)
	}
	bad := strings.Replace(src, "type: explorer", "type: oracle", 1)
	if _, err := Parse("site.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "bitcoin.live") {
		t.Errorf("bad chain type: %v", err)
	}
	if _, err := Parse("site.yaml", []byte(strings.Replace(good, "price:\n  type: synthetic", "bitcoin:\n  type: live\nprice:\n  type: synthetic", 1))); err == nil {
		t.Error("live without a live: section accepted")
	}
}

// TestExampleGridSectionsValidate uncomments the meter:, ufr: and demand:
// blocks documented in examples/site.yaml and checks they validate.
func TestExampleGridSectionsValidate(t *testing.T) {
	b, err := os.ReadFile("../../examples/site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case line == "# meter:" || line == "# ufr:" || line == "# demand:":
			in = true
			out = append(out, line[2:])
		case in && strings.HasPrefix(line, "#   "):
			out = append(out, line[2:])
		default:
			in = false
			out = append(out, line)
		}
	}
	f, err := Parse("site.yaml", []byte(strings.Join(out, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if f.Meter.Type != "modbus" || !f.UFR.Enabled || len(f.Demand.TiersMW) != 3 || f.Demand.ERCOTGrid == nil {
		t.Errorf("the example's grid sections were not all read: %+v %+v %+v", f.Meter, f.UFR, f.Demand)
	}
}
