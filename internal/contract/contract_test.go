package contract

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
)

// at returns the UTC instant of an RFC 3339 string.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

// span returns [start, start+d).
func span(t testing.TB, start string, d time.Duration) energy.Interval {
	t.Helper()
	s := at(t, start)
	return energy.Interval{Start: s, End: s.Add(d)}
}

func decodeStrict(b []byte) (Contract, error) {
	var c Contract
	err := yaml.UnmarshalWithOptions(b, &c, yaml.Strict())
	return c, err
}

func TestExampleYAML(t *testing.T) {
	b, err := os.ReadFile("testdata/contract.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := decodeStrict(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	want := Contract{
		Index:      Index{AdderUSDPerMWh: 4.5},
		Block:      &Block{MW: 50, PriceUSDPerMWh: 32, ResaleAdderUSDPerMWh: -1.25},
		FourCP:     &FourCP{RateUSDPerKWYear: 55, Months: []time.Month{6, 7, 8, 9}},
		Demand:     &DemandCharge{RateUSDPerKWMonth: 2.1},
		Renewables: &Renewables{CapacityMW: 30, ExportLimitMW: 10, ExportPrice: ExportFixed, ExportPriceUSDPerMWh: 20},
		AI: []AILoad{
			{Name: "inference", MW: 5, ValueUSDPerMWh: 400, Firm: true},
			{Name: "training", MW: 8, ValueUSDPerMWh: 120},
		},
		Commitments: []Commitment{
			{
				Name: "ers-summer", Product: ERS10, MW: 20,
				Window: Window{
					Start: at(t, "2026-06-01T05:00:00Z"), End: at(t, "2026-10-01T05:00:00Z"),
					Months: []time.Month{6, 7, 8, 9}, Weekdays: true, From: "14:00", To: "20:00",
				},
				CapacityUSDPerMWh: 12, PenaltyUSDPerMWh: 60,
			},
			{
				Name: "ecrs-night", Product: ECRS, MW: 15,
				Window:            Window{From: "22:00", To: "06:00"},
				CapacityUSDPerMWh: 8.5, PenaltyUSDPerMWh: 40,
				Deadline: Duration(5 * time.Minute), MaxHold: Duration(90 * time.Minute), BaselineMW: 90,
			},
			{
				Name: "lfl-voluntary", Product: Voluntary, MW: 40,
				Window: Window{Months: []time.Month{7, 8}, From: "15:00", To: "19:00"},
			},
		},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Fatalf("decoded contract (-want +got):\n%s", diff)
	}

	// Round trip: encode, decode strictly, compare.
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	back, err := decodeStrict(out)
	if err != nil {
		t.Fatalf("decode the encoded contract: %v\n%s", err, out)
	}
	if diff := cmp.Diff(c, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s\nencoded:\n%s", diff, out)
	}

	// Defaults writes out what applies.
	c.Defaults(120 * energy.Megawatt)
	if got, want := c.Commitments[0].BaselineMW, 120.0; got != want {
		t.Errorf("ers baseline = %v MW, want %v (the site's maximum)", got, want)
	}
	if got, want := c.Commitments[1].BaselineMW, 90.0; got != want {
		t.Errorf("ecrs baseline = %v MW, want the configured %v", got, want)
	}
	if got, want := c.Commitments[0].Deadline.D(), 10*time.Minute; got != want {
		t.Errorf("ers deadline = %v, want %v", got, want)
	}
	if got, want := c.Commitments[0].MaxHold.D(), 8*time.Hour; got != want {
		t.Errorf("ers hold = %v, want %v", got, want)
	}
	if got, want := c.Commitments[1].MaxHold.D(), 90*time.Minute; got != want {
		t.Errorf("ecrs hold = %v, want the configured %v", got, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("validate after Defaults: %v", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown key", "index:\n  adder_usd_per_mwh: 1\nblok:\n  mw: 3\n", "blok"},
		{"unknown nested key", "block:\n  mw: 3\n  prise_usd_per_mwh: 3\n", "prise_usd_per_mwh"},
		{"unknown window key", "commitments:\n  - name: a\n    window:\n      form: \"10:00\"\n", "form"},
		{"malformed window start", "commitments:\n  - name: a\n    window:\n      start: 2026-06-01 00:00\n", "want RFC 3339"},
		{"malformed deadline", "commitments:\n  - name: a\n    deadline: 10 minutes\n", "want a duration"},
		{"deadline without unit", "commitments:\n  - name: a\n    deadline: 600\n", "want a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeStrict([]byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("decode error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestValidateNamesTheField(t *testing.T) {
	valid := func() Contract {
		return Contract{
			Block:      &Block{MW: 10, PriceUSDPerMWh: 30},
			FourCP:     &FourCP{RateUSDPerKWYear: 50},
			Demand:     &DemandCharge{RateUSDPerKWMonth: 2},
			Renewables: &Renewables{CapacityMW: 5, ExportLimitMW: 2},
			AI:         []AILoad{{Name: "gpu", MW: 1, ValueUSDPerMWh: 100, Firm: true}},
			Commitments: []Commitment{{
				Name: "ers", Product: ERS10, MW: 5, CapacityUSDPerMWh: 10, PenaltyUSDPerMWh: 20,
				Window: Window{From: "14:00", To: "20:00", Months: []time.Month{7}},
			}},
		}
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid contract: %v", err)
	}
	allDay := valid()
	allDay.Commitments[0].Window.From, allDay.Commitments[0].Window.To = "00:00", "24:00"
	if err := allDay.Validate(); err != nil {
		t.Fatalf("all-day window 00:00-24:00: %v", err)
	}
	if err := (Contract{}).Validate(); err != nil {
		t.Fatalf("empty contract (index only): %v", err)
	}
	tests := []struct {
		name   string
		change func(*Contract)
		want   string
	}{
		{"index adder NaN", func(c *Contract) { c.Index.AdderUSDPerMWh = math.NaN() }, "contract.index.adder_usd_per_mwh: NaN: not a finite number"},
		{"block mw zero", func(c *Contract) { c.Block.MW = 0 }, "contract.block.mw: must be positive"},
		{"block price inf", func(c *Contract) { c.Block.PriceUSDPerMWh = math.Inf(1) }, "contract.block.price_usd_per_mwh: +Inf: not a finite number"},
		{"block resale NaN", func(c *Contract) { c.Block.ResaleAdderUSDPerMWh = math.NaN() }, "contract.block.resale_adder_usd_per_mwh:"},
		{"4cp rate negative", func(c *Contract) { c.FourCP.RateUSDPerKWYear = -1 }, "contract.fourcp.rate_usd_per_kw_year: -1: must not be negative"},
		{"4cp month 13", func(c *Contract) { c.FourCP.Months = []time.Month{6, 13} }, "contract.fourcp.months[1]: 13: want a month 1-12"},
		{"4cp month twice", func(c *Contract) { c.FourCP.Months = []time.Month{6, 7, 6} }, "contract.fourcp.months[2]: June: listed twice"},
		{"demand rate negative", func(c *Contract) { c.Demand.RateUSDPerKWMonth = -2 }, "contract.demand_charge.rate_usd_per_kw_month: -2: must not be negative"},
		{"renewables capacity", func(c *Contract) { c.Renewables.CapacityMW = 0 }, "contract.renewables.capacity_mw: must be positive"},
		{"export limit negative", func(c *Contract) { c.Renewables.ExportLimitMW = -1 }, "contract.renewables.export_limit_mw: -1: must not be negative"},
		{"export price kind", func(c *Contract) { c.Renewables.ExportPrice = "lmp" }, `contract.renewables.export_price: "lmp": want spot or fixed`},
		{"export price without fixed", func(c *Contract) { c.Renewables.ExportPriceUSDPerMWh = 20 }, "contract.renewables.export_price_usd_per_mwh: set only with export_price: fixed"},
		{"fixed export price NaN", func(c *Contract) {
			c.Renewables.ExportPrice = ExportFixed
			c.Renewables.ExportPriceUSDPerMWh = math.NaN()
		}, "contract.renewables.export_price_usd_per_mwh: NaN"},
		{"ai name missing", func(c *Contract) { c.AI[0].Name = "" }, "contract.ai_loads[0].name: must be set"},
		{"ai name twice", func(c *Contract) { c.AI = append(c.AI, c.AI[0]) }, `contract.ai_loads[1].name: "gpu": also the name of entry 0`},
		{"ai mw", func(c *Contract) { c.AI[0].MW = -3 }, "contract.ai_loads[0].mw: must be positive"},
		{"ai value", func(c *Contract) { c.AI[0].ValueUSDPerMWh = -1 }, "contract.ai_loads[0].value_usd_per_mwh: -1: must not be negative"},
		{"commitment name", func(c *Contract) { c.Commitments[0].Name = "" }, "contract.commitments[0].name: must be set"},
		{"commitment product", func(c *Contract) { c.Commitments[0].Product = "ERS" }, `contract.commitments[0].product: "ERS": want one of ERS-10, ERS-30, ECRS, RRS, RRS-UFR, NSPIN, voluntary`},
		{"commitment mw", func(c *Contract) { c.Commitments[0].MW = 0 }, "contract.commitments[0].mw: must be positive"},
		{"commitment capacity", func(c *Contract) { c.Commitments[0].CapacityUSDPerMWh = -1 }, "contract.commitments[0].capacity_usd_per_mwh: -1: must not be negative"},
		{"commitment penalty", func(c *Contract) { c.Commitments[0].PenaltyUSDPerMWh = math.Inf(-1) }, "contract.commitments[0].penalty_usd_per_mwh: -Inf: not a finite number"},
		{"commitment deadline", func(c *Contract) { c.Commitments[0].Deadline = Duration(-time.Minute) }, "contract.commitments[0].deadline: -1m0s: must not be negative"},
		{"commitment hold", func(c *Contract) { c.Commitments[0].MaxHold = Duration(-time.Hour) }, "contract.commitments[0].max_hold: -1h0m0s: must not be negative"},
		{"baseline below mw", func(c *Contract) { c.Commitments[0].BaselineMW = 4 }, "contract.commitments[0].baseline_mw: 4: must be at least mw (5)"},
		{"window from alone", func(c *Contract) { c.Commitments[0].Window.To = "" }, "contract.commitments[0].window: from and to: set both or neither"},
		{"window from malformed", func(c *Contract) { c.Commitments[0].Window.From = "2pm" }, `contract.commitments[0].window.from: "2pm": want HH:MM`},
		{"window from 24:00", func(c *Contract) { c.Commitments[0].Window.From = "24:00" }, `contract.commitments[0].window.from: "24:00": want HH:MM from 00:00 to 23:59`},
		{"window from with a sign", func(c *Contract) { c.Commitments[0].Window.From = "+1:00" }, `contract.commitments[0].window.from: "+1:00": want HH:MM`},
		{"window to minutes", func(c *Contract) { c.Commitments[0].Window.To = "20:60" }, `contract.commitments[0].window.to: "20:60": want HH:MM`},
		{"window empty day", func(c *Contract) { c.Commitments[0].Window.To = "14:00" }, `contract.commitments[0].window.to: "14:00": must differ from from ("14:00")`},
		{"window month", func(c *Contract) { c.Commitments[0].Window.Months = []time.Month{0} }, "contract.commitments[0].window.months[0]: 0: want a month 1-12"},
		{"window end before start", func(c *Contract) {
			c.Commitments[0].Window.Start = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
			c.Commitments[0].Window.End = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		}, "contract.commitments[0].window.end: 2026-06-01T00:00:00Z: must be after start 2026-07-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate accepted it, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Contract{Block: &Block{}, Commitments: []Commitment{{Product: "x"}}}
	err := c.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"contract.block.mw", "contract.commitments[0].name", "contract.commitments[0].product", "contract.commitments[0].mw"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors %q: missing %q", err, want)
		}
	}
}

func TestProductDefaults(t *testing.T) {
	tests := []struct {
		product       string
		deadline, hol time.Duration
	}{
		{ERS10, 10 * time.Minute, 8 * time.Hour},
		{ERS30, 30 * time.Minute, 8 * time.Hour},
		{ECRS, 10 * time.Minute, 2 * time.Hour},
		{RRS, 10 * time.Minute, 0},
		{RRSUFR, time.Second, 0},
		{NSPIN, 30 * time.Minute, 0},
		{Voluntary, 30 * time.Minute, 0},
	}
	if got, want := len(Products()), len(tests); got != want {
		t.Fatalf("%d products, want %d", got, want)
	}
	for _, tt := range tests {
		c := Commitment{Product: tt.product}
		if got := c.EffectiveDeadline(); got != tt.deadline {
			t.Errorf("%s deadline = %v, want %v", tt.product, got, tt.deadline)
		}
		if got := c.EffectiveMaxHold(); got != tt.hol {
			t.Errorf("%s hold = %v, want %v", tt.product, got, tt.hol)
		}
		c.Deadline, c.MaxHold = Duration(3*time.Minute), Duration(time.Hour)
		if c.EffectiveDeadline() != 3*time.Minute || c.EffectiveMaxHold() != time.Hour {
			t.Errorf("%s: overrides ignored", tt.product)
		}
	}
}
