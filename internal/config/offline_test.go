package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridminer/gridminer/internal/energy"
)

func TestLoadOfflineExample(t *testing.T) {
	f, err := LoadOffline("../../examples/site-100mw.yaml")
	if err != nil {
		t.Fatal(err)
	}
	units := Units(f.Fleet)
	if got, want := len(units), 4+6+4; got != want {
		t.Fatalf("units = %d, want %d (blocks of 2500, 2500 and 3000)", got, want)
	}
	var w energy.Power
	for _, u := range units {
		w += u.Caps.NominalPower
	}
	// 10000×(1323+60) + 15000×(3050+120) + 12000×(3010+120) W.
	if want := energy.Power(10000*1383 + 15000*3170 + 12000*3130); w != want {
		t.Errorf("fleet nominal %v, want %v", w, want)
	}
	j := units[4]
	if len(j.Caps.PowerSteps) != 2 || j.Caps.PowerSteps[0].Power != 2500*2120 || j.Caps.SleepPower != 2500*15 {
		t.Errorf("S19j Pro block caps %+v", j.Caps)
	}
	if f.Contract.Block == nil || f.Contract.Block.MW != 60 || len(f.Contract.Commitments) != 1 {
		t.Errorf("contract %+v", f.Contract)
	}
	if f.Policy.DispatchConfig().Breakeven.RampPerMinute != 20e6 {
		t.Errorf("ramp %v", f.Policy.DispatchConfig().Breakeven.RampPerMinute)
	}
}

func TestContractOnItsOwn(t *testing.T) {
	p := filepath.Join(t.TempDir(), "contract.yaml")
	src, err := os.ReadFile("../contract/testdata/contract.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("contract:\n")
	for _, l := range strings.Split(string(src), "\n") {
		b.WriteString("  " + l + "\n")
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadOffline(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Contract.Commitments) != 3 || f.Contract.Renewables == nil || len(f.Fleet) != 0 {
		t.Errorf("contract-only file: %+v", f.Contract)
	}
	site, err := LoadOffline("../../examples/site-100mw.yaml")
	if err != nil {
		t.Fatal(err)
	}
	site.MergeOffline(f)
	if len(site.Contract.Commitments) != 3 || len(site.Fleet) != 3 {
		t.Errorf("merged: %d commitments, %d fleet classes; want the contract file's 3 and the site's 3", len(site.Contract.Commitments), len(site.Fleet))
	}
}

func TestOfflineErrorsNameTheLine(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ name, src, want string }{
		{"bad fleet", "fleet:\n  - model: x\n    count: 0\n    power_w: 100\n    hashrate_ths: 1\n", ":3: fleet[0].count"},
		{"bad step", "fleet:\n  - model: x\n    count: 1\n    power_w: 100\n    hashrate_ths: 1\n    steps:\n      - {name: a, power_w: 200, hashrate_ths: 1}\n", "fleet[0].steps[0].power_w"},
		{"bad contract", "fleet:\n  - {model: x, count: 1, power_w: 100, hashrate_ths: 1}\ncontract:\n  block:\n    mw: -1\n    price_usd_per_mwh: 30\n", ":5: contract.block.mw"},
		{"bad policy", "fleet:\n  - {model: x, count: 1, power_w: 100, hashrate_ths: 1}\npolicy:\n  type: cheapest\n", `:4: policy.type: unknown policy "cheapest"`},
		{"unknown key", "fleet:\n  - {model: x, count: 1, power_w: 100, hashrate_ths: 1, colour: red}\n", "colour"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".yaml")
		if err := os.WriteFile(p, []byte(tt.src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOffline(p)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}
