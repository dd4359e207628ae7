package meter_test

import (
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/meter"
)

func TestValidate(t *testing.T) {
	good := meter.Config{Address: "10.0.0.5:502"}
	reg := func(r meter.Register) *meter.Register { return &r }
	tests := []struct {
		name   string
		edit   func(*meter.Config)
		fields []string // every field the error must name; none = valid
	}{
		{"defaults", func(*meter.Config) {}, nil},
		{"generic", func(c *meter.Config) {
			c.Map = "generic"
			c.Import = reg(meter.Register{Kind: "input", Address: 30000, Data: "float32", WordOrder: "little", Units: "kW"})
			c.Frequency = reg(meter.Register{Address: 2, Data: "uint16", Units: "cHz"})
		}, nil},
		{"each pinned model", func(c *meter.Config) { c.Map = "sunspec214" }, nil},
		{"missing address", func(c *meter.Config) { c.Address = "" }, []string{"address"}},
		{"address without port", func(c *meter.Config) { c.Address = "10.0.0.5" }, []string{"address"}},
		{"port 0", func(c *meter.Config) { c.Address = "10.0.0.5:0" }, []string{"address"}},
		{"negative timeout", func(c *meter.Config) { c.Timeout = -time.Second }, []string{"timeout"}},
		{"unknown map", func(c *meter.Config) { c.Map = "sunspec103" }, []string{"map"}},
		{"generic without import", func(c *meter.Config) { c.Map = "generic" }, []string{"import"}},
		{"sunspec options on generic", func(c *meter.Config) {
			c.Map = "generic"
			c.Import = reg(meter.Register{Data: "int16"})
			c.SunSpec.GenerationMeter = 2
		}, []string{"sunspec"}},
		{"same meter twice", func(c *meter.Config) { c.SunSpec.GenerationMeter = 1 }, []string{"sunspec.generation_meter"}},
		{"model_addr and base", func(c *meter.Config) {
			c.SunSpec.ModelAddr, c.SunSpec.Base = ptr[uint16](40070), ptr[uint16](40000)
		}, []string{"sunspec.model_addr"}},
		{"model_addr and generation meter", func(c *meter.Config) {
			c.SunSpec.ModelAddr, c.SunSpec.GenerationMeter = ptr[uint16](40070), 2
		}, []string{"sunspec.model_addr"}},
		{"bad register fields", func(c *meter.Config) {
			c.Import = reg(meter.Register{Kind: "coil", Data: "int8", WordOrder: "middle", Units: "hp", NotImplemented: "maybe"})
		}, []string{"import.register", "import.data", "import.word_order", "import.units", "import.not_implemented"}},
		{"frequency in watts", func(c *meter.Config) { c.Frequency = reg(meter.Register{Data: "int16", Units: "W"}) }, []string{"frequency.units"}},
		{"generation missing data", func(c *meter.Config) { c.Generation = reg(meter.Register{}) }, []string{"generation.data"}},
		{"32 bits at 65535", func(c *meter.Config) { c.Import = reg(meter.Register{Address: 65535, Data: "uint32"}) }, []string{"import.address"}},
		{"scale factor on a float", func(c *meter.Config) {
			c.Import = reg(meter.Register{Data: "float32", ScaleFactor: ptr[uint16](3)})
		}, []string{"import.scale_factor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			err := c.Validate()
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("valid config rejected: %v", err)
				}
				if _, err := meter.New(c); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("invalid config accepted")
			}
			for _, f := range tt.fields {
				if !strings.Contains(err.Error(), "meter: "+f+":") {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
			if _, err := meter.New(c); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	src := `
address: 10.0.0.5:502
unit_id: 3
timeout: 1500ms
map: sunspec
sunspec:
  base: 0
  import_meter: 1
  generation_meter: 2
invert_import: true
coil_unit_id: 9
generation:
  register: input
  address: 30775
  data: int32
  word_order: little
  scale: 0.1
  scale_factor: 30777
  units: kW
  unit_id: 126
  not_implemented: none
`
	var got meter.Config
	if err := yaml.UnmarshalWithOptions([]byte(src), &got, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	want := meter.Config{
		Address: "10.0.0.5:502", UnitID: 3, Timeout: 1500 * time.Millisecond, Map: "sunspec",
		SunSpec:      meter.SunSpec{Base: ptr[uint16](0), ImportMeter: 1, GenerationMeter: 2},
		InvertImport: true, CoilUnitID: 9,
		Generation: &meter.Register{
			Kind: "input", Address: 30775, Data: "int32", WordOrder: "little", Scale: 0.1,
			ScaleFactor: ptr[uint16](30777), Units: "kW", UnitID: 126, NotImplemented: "none",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
	var strict meter.Config
	if err := yaml.UnmarshalWithOptions([]byte("address: a:1\nunit: 3\n"), &strict, yaml.Strict()); err == nil {
		t.Error("unknown key accepted")
	}
}
