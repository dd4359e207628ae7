package meter_test

import (
	"context"
	"testing"

	"github.com/gridminer/gridminer/internal/meter"
	"github.com/gridminer/gridminer/internal/minersim/metersim"
)

// BenchmarkRead measures one Read of a SunSpec 203 meter (one round trip
// of 23 registers) and of a generic map, against the simulator over
// loopback.
func BenchmarkRead(b *testing.B) {
	for _, bc := range []struct {
		name string
		sim  metersim.Config
		cfg  meter.Config
	}{
		{"sunspec203", metersim.Config{Draw: constant(2e6), SiteLoad: 1e5}, meter.Config{}},
		{"sunspec203+generation", metersim.Config{Draw: constant(2e6), GenerationPower: constant(3e5)}, meter.Config{SunSpec: meter.SunSpec{GenerationMeter: 2}}},
		{
			"generic",
			metersim.Config{Map: metersim.MapGeneric, Import: &meter.Register{Data: "float32"}, Frequency: &meter.Register{Address: 2, Data: "uint16", Units: "cHz"}, Draw: constant(2e6)},
			meter.Config{Map: meter.MapGeneric, Import: &meter.Register{Data: "float32"}, Frequency: &meter.Register{Address: 2, Data: "uint16", Units: "cHz"}},
		},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sim := startSim(b, bc.sim)
			cfg := bc.cfg
			cfg.Address = sim.Addr()
			m := newMeter(b, cfg)
			ctx := context.Background()
			if _, err := m.Read(ctx); err != nil { // connect and discover
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Read(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
