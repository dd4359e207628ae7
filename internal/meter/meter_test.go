package meter_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/meter"
	"github.com/gridminer/gridminer/internal/minersim/metersim"
)

func TestReadSunSpec(t *testing.T) {
	models := []uint16{201, 202, 203, 204, 211, 212, 213, 214}
	bases := []uint16{40000, 0, 50000}
	// Imports that need scale factors -2, -1, 0 and 2 in an int16 W.
	imports := []energy.Power{12.34, 1234.5, -5000, 3_250_000}
	for i, model := range models {
		base := bases[i%len(bases)]
		for _, mapName := range []string{meter.MapSunSpec, fmt.Sprintf("sunspec%d", model)} {
			t.Run(fmt.Sprintf("%d/base%d/%s", model, base, mapName), func(t *testing.T) {
				sim := startSim(t, metersim.Config{SunSpecModel: model, SunSpecBase: ptr(base), SiteLoad: 1500})
				m := newMeter(t, meter.Config{Address: sim.Addr(), Map: mapName})
				r, err := m.Read(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if r.Import != 1500 || !r.HasFrequency || r.Frequency != 60 || r.HasGeneration {
					t.Errorf("got %+v, want import 1500 W, 60 Hz, no generation", r)
				}
			})
		}
	}
	for _, model := range []uint16{203, 213} {
		for _, want := range imports {
			t.Run(fmt.Sprintf("%d/%v", model, want), func(t *testing.T) {
				draw := want - 1000
				sim := startSim(t, metersim.Config{SunSpecModel: model, Draw: constant(draw), SiteLoad: 1000})
				m := newMeter(t, meter.Config{Address: sim.Addr()})
				r, err := m.Read(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if !near(float64(r.Import), float64(want)) {
					t.Errorf("import = %v W, want %v W", float64(r.Import), float64(want))
				}
			})
		}
	}
}

func TestReadSunSpecGenerationMeter(t *testing.T) {
	for _, model := range []uint16{201, 213} {
		t.Run(fmt.Sprint(model), func(t *testing.T) {
			sim := startSim(t, metersim.Config{
				SunSpecModel:    model,
				Draw:            constant(2_000_000),
				SiteLoad:        150_000,
				GenerationPower: constant(400_000),
			})
			m := newMeter(t, meter.Config{Address: sim.Addr(), SunSpec: meter.SunSpec{GenerationMeter: 2}})
			r, err := m.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !r.HasGeneration || !near(float64(r.Generation), 400_000) {
				t.Errorf("generation = %v (present %v), want 400 kW", r.Generation, r.HasGeneration)
			}
			if !near(float64(r.Import), 1_750_000) {
				t.Errorf("import = %v, want 1.75 MW (draw + site load − generation)", r.Import)
			}
			sim.SetGeneration(2_500_000)
			r, err = m.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !near(float64(r.Import), -350_000) {
				t.Errorf("exporting: import = %v, want −350 kW", r.Import)
			}
		})
	}
}

func TestNotImplementedIsAbsent(t *testing.T) {
	for _, model := range []uint16{203, 213} {
		t.Run(fmt.Sprint(model), func(t *testing.T) {
			sim := startSim(t, metersim.Config{SunSpecModel: model, SiteLoad: 1000, GenerationPower: constant(10)})
			m := newMeter(t, meter.Config{Address: sim.Addr(), SunSpec: meter.SunSpec{GenerationMeter: 2}})
			sim.SetNotImplemented(meter.Frequency, true)
			sim.SetNotImplemented(meter.Generation, true)
			r, err := m.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if r.HasFrequency || r.Frequency != 0 || r.HasGeneration || r.Generation != 0 {
				t.Errorf("got %+v, want frequency and generation absent", r)
			}
			sim.SetNotImplemented(meter.Import, true)
			_, err = m.Read(context.Background())
			if !errors.Is(err, meter.ErrNotImplemented) {
				t.Fatalf("absent import: err = %v, want ErrNotImplemented", err)
			}
			if !strings.Contains(err.Error(), sim.Addr()) || !strings.Contains(err.Error(), "import") {
				t.Errorf("error %q does not name the meter and the quantity", err)
			}
		})
	}
}

func TestReadGeneric(t *testing.T) {
	const draw, site, gen = 1_234_000, 16_000, 50_000 // import 1.2 MW
	tests := []struct {
		name    string
		imp     meter.Register
		freq    *meter.Register
		gen     *meter.Register
		wantImp float64
	}{
		{"int16 kW holding", meter.Register{Address: 0, Data: "int16", Units: "kW"}, nil, nil, 1_200_000},
		{"uint16 kW input", meter.Register{Kind: "input", Address: 7, Data: "uint16", Units: "kW"}, nil, nil, 1_200_000},
		{"int32 big", meter.Register{Address: 100, Data: "int32"}, nil, nil, 1_200_000},
		{"int32 little", meter.Register{Address: 100, Data: "int32", WordOrder: "little"}, nil, nil, 1_200_000},
		{"uint32 little input", meter.Register{Kind: "input", Address: 3000, Data: "uint32", WordOrder: "little"}, nil, nil, 1_200_000},
		{"float32 big MW", meter.Register{Address: 10, Data: "float32", Units: "MW"}, nil, nil, 1_200_000},
		{"float32 little", meter.Register{Address: 10, Data: "float32", WordOrder: "little"}, nil, nil, 1_200_000},
		{"int16 scale 0.1 kW", meter.Register{Address: 5, Data: "int16", Scale: 0.1, Units: "kW"}, nil, nil, 1_200_000},
		{"int16 with scale factor", meter.Register{Address: 20, Data: "int16", ScaleFactor: ptr[uint16](24)}, nil, nil, 1_200_000},
		{"int32 with scale factor far away", meter.Register{Address: 20, Data: "int32", ScaleFactor: ptr[uint16](300)}, nil, nil, 1_200_000},
		{
			"all three",
			meter.Register{Address: 0, Data: "int32", WordOrder: "little"},
			&meter.Register{Address: 2, Data: "uint16", Units: "cHz"},
			&meter.Register{Kind: "input", Address: 0, Data: "float32", Units: "kW"},
			1_200_000,
		},
		{
			"frequency with scale factor, uint32 generation",
			meter.Register{Address: 0, Data: "float32"},
			&meter.Register{Address: 40, Data: "int16", ScaleFactor: ptr[uint16](41)},
			&meter.Register{Address: 42, Data: "uint32"},
			1_200_000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := metersim.Config{Map: metersim.MapGeneric, Import: &tt.imp, Frequency: tt.freq, Generation: tt.gen, Draw: constant(draw), SiteLoad: site}
			if tt.gen != nil {
				sc.GenerationPower = constant(gen)
			} else {
				sc.SiteLoad -= gen
			}
			sim := startSim(t, sc)
			m := newMeter(t, meter.Config{Address: sim.Addr(), Map: meter.MapGeneric, Import: &tt.imp, Frequency: tt.freq, Generation: tt.gen})
			r, err := m.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !near(float64(r.Import), tt.wantImp) {
				t.Errorf("import = %v W, want %v W", float64(r.Import), tt.wantImp)
			}
			if got, want := r.HasFrequency, tt.freq != nil; got != want {
				t.Errorf("HasFrequency = %v, want %v", got, want)
			} else if want && !near(r.Frequency, 60) {
				t.Errorf("frequency = %v, want 60", r.Frequency)
			}
			if got, want := r.HasGeneration, tt.gen != nil; got != want {
				t.Errorf("HasGeneration = %v, want %v", got, want)
			} else if want && !near(float64(r.Generation), gen) {
				t.Errorf("generation = %v, want %v", r.Generation, energy.Power(gen))
			}
			// Not-implemented sentinels of every type read as absent.
			sim.SetNotImplemented(meter.Frequency, true)
			sim.SetNotImplemented(meter.Generation, true)
			if r, err := m.Read(context.Background()); err != nil || r.HasFrequency || r.HasGeneration {
				t.Errorf("with frequency and generation not implemented: %+v, %v", r, err)
			}
		})
	}
}

func TestInvertImport(t *testing.T) {
	sim := startSim(t, metersim.Config{SiteLoad: 5000, ExportPositive: true})
	for _, invert := range []bool{false, true} {
		m := newMeter(t, meter.Config{Address: sim.Addr(), InvertImport: invert})
		r, err := m.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := energy.Power(-5000)
		if invert {
			want = 5000
		}
		if r.Import != want {
			t.Errorf("invert_import %v: import = %v, want %v", invert, r.Import, want)
		}
	}
}

func TestUnitID(t *testing.T) {
	sim := startSim(t, metersim.Config{UnitID: 3, SiteLoad: 100})
	if _, err := newMeter(t, meter.Config{Address: sim.Addr(), UnitID: 3}).Read(context.Background()); err != nil {
		t.Errorf("unit 3: %v", err)
	}
	_, err := newMeter(t, meter.Config{Address: sim.Addr(), UnitID: 1}).Read(context.Background())
	var ex *meter.ExceptionError
	if !errors.As(err, &ex) || ex.Code != 0x0B {
		t.Errorf("unit 1 of a meter answering as unit 3: err = %v, want exception 11", err)
	}
}

func TestCoils(t *testing.T) {
	var mu sync.Mutex
	var writes []string
	sim := startSim(t, metersim.Config{Coils: 8, OnCoil: func(addr uint16, on bool) {
		mu.Lock()
		writes = append(writes, fmt.Sprintf("%d=%v", addr, on))
		mu.Unlock()
	}})
	m := newMeter(t, meter.Config{Address: sim.Addr()})
	ctx := context.Background()
	for _, step := range []struct {
		addr uint16
		on   bool
	}{{3, true}, {7, true}, {3, false}} {
		if err := m.SetCoil(ctx, step.addr, step.on); err != nil {
			t.Fatal(err)
		}
		got, err := m.Coil(ctx, step.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got != step.on || sim.Coil(step.addr) != step.on {
			t.Errorf("coil %d after setting %v: driver reads %v, simulator holds %v", step.addr, step.on, got, sim.Coil(step.addr))
		}
	}
	mu.Lock()
	if got, want := strings.Join(writes, " "), "3=true 7=true 3=false"; got != want {
		t.Errorf("hook saw %q, want %q", got, want)
	}
	mu.Unlock()
	err := m.SetCoil(ctx, 8, true)
	var ex *meter.ExceptionError
	if !errors.As(err, &ex) || ex.Code != 2 {
		t.Fatalf("coil 8 of 8: err = %v, want exception 2", err)
	}
	if !strings.Contains(err.Error(), sim.Addr()) || !strings.Contains(err.Error(), "coil 8") {
		t.Errorf("error %q does not name the meter and the coil", err)
	}
	// An exception leaves the connection usable.
	if _, err := m.Coil(ctx, 7); err != nil {
		t.Errorf("after an exception: %v", err)
	}
}

func TestCoilUnit(t *testing.T) {
	sim := startSim(t, metersim.Config{UnitID: 1, CoilUnitID: 9, SiteLoad: 1})
	m := newMeter(t, meter.Config{Address: sim.Addr(), CoilUnitID: 9})
	if err := m.SetCoil(context.Background(), 0, true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Read(context.Background()); err != nil {
		t.Errorf("registers from unit 1 after a coil write to unit 9: %v", err)
	}
	if !sim.Coil(0) {
		t.Error("coil 0 not set")
	}
}

// silentServer accepts connections and reads them, never answering.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				buf := make([]byte, 512)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func TestTimeout(t *testing.T) {
	addr := silentServer(t)
	m := newMeter(t, meter.Config{Address: addr, Map: meter.MapGeneric, Timeout: 50 * time.Millisecond, Import: &meter.Register{Data: "int16"}})
	_, err := m.Read(context.Background())
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read from a server that never answers: err = %v, want a deadline error", err)
	}
	if err != nil && (!strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "holding registers 0..0")) {
		t.Errorf("error %q does not name the meter and the registers", err)
	}
	if err := m.SetCoil(context.Background(), 1, true); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("SetCoil: err = %v, want a deadline error", err)
	}

	// The context's deadline, when earlier, bounds the exchange.
	slow := newMeter(t, meter.Config{Address: addr, Map: meter.MapGeneric, Timeout: time.Hour, Import: &meter.Register{Data: "int16"}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := slow.Read(ctx); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read under a context deadline: err = %v, want a deadline error", err)
	}

	// Cancelling the context ends the exchange.
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := slow.Coil(ctx, 0)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Coil after cancel: err = %v, want context.Canceled", err)
	}
}

func TestReconnectAfterRestart(t *testing.T) {
	sim, err := metersim.New(metersim.Config{SiteLoad: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Listen(); err != nil {
		t.Fatal(err)
	}
	addr := sim.Addr()
	stop := runSim(t, sim)
	m := newMeter(t, meter.Config{Address: addr, Timeout: 5 * time.Second})
	ctx := context.Background()
	if _, err := m.Read(ctx); err != nil {
		t.Fatal(err)
	}
	stop()

	// Down: the read fails, naming the meter.
	if _, err := m.Read(ctx); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("read with the meter down: err = %v, want an error naming %s", err, addr)
	}

	// Back on the same address: the next read reconnects.
	sim2, err := metersim.New(metersim.Config{Addr: addr, SiteLoad: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim2.Listen(); err != nil {
		t.Fatal(err)
	}
	stop2 := runSim(t, sim2)
	r, err := m.Read(ctx)
	if err != nil {
		t.Fatalf("read after the meter came back: %v", err)
	}
	if r.Import != 2000 {
		t.Errorf("import = %v, want 2000 W from the new server", r.Import)
	}

	// Restarted between two reads, behind a kept connection, and now
	// serving another model: the stale connection is redialled within
	// the call, the changed map is noticed, and walked again.
	stop2()
	sim3, err := metersim.New(metersim.Config{Addr: addr, SunSpecModel: 213, SiteLoad: 3000})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim3.Listen(); err != nil {
		t.Fatal(err)
	}
	defer runSim(t, sim3)()
	_, err = m.Read(ctx)
	if err == nil || !strings.Contains(err.Error(), "map changed") {
		t.Fatalf("read after the model changed: err = %v, want a changed-map error", err)
	}
	r, err = m.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Import != 3000 {
		t.Errorf("import = %v, want 3000 W from model 213", r.Import)
	}
}

func TestSunSpecNotFound(t *testing.T) {
	// A device with only a generic map has no "SunS" marker anywhere.
	sim := startSim(t, metersim.Config{Map: metersim.MapGeneric, Import: &meter.Register{Address: 40000, Data: "int16"}})
	_, err := newMeter(t, meter.Config{Address: sim.Addr()}).Read(context.Background())
	if !errors.Is(err, meter.ErrNoSunSpec) {
		t.Errorf("err = %v, want ErrNoSunSpec", err)
	}
	// A pinned model the device does not have.
	sim = startSim(t, metersim.Config{SunSpecModel: 201})
	_, err = newMeter(t, meter.Config{Address: sim.Addr(), Map: meter.MapSunSpec203}).Read(context.Background())
	if !errors.Is(err, meter.ErrNoSunSpec) || !strings.Contains(err.Error(), "201") {
		t.Errorf("map sunspec203 on a 201 meter: err = %v, want ErrNoSunSpec naming 201", err)
	}
	// A generation meter the device does not have.
	_, err = newMeter(t, meter.Config{Address: sim.Addr(), SunSpec: meter.SunSpec{GenerationMeter: 2}}).Read(context.Background())
	if !errors.Is(err, meter.ErrNoSunSpec) || !strings.Contains(err.Error(), "generation_meter") {
		t.Errorf("missing generation meter: err = %v, want ErrNoSunSpec naming sunspec.generation_meter", err)
	}
}

func TestSunSpecModelAddr(t *testing.T) {
	sim := startSim(t, metersim.Config{SiteLoad: 4200})
	// SunS (2) + common model (2 + 66): the meter model starts at 40070.
	m := newMeter(t, meter.Config{Address: sim.Addr(), Map: meter.MapSunSpec203, SunSpec: meter.SunSpec{ModelAddr: ptr[uint16](40070)}})
	r, err := m.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Import != 4200 {
		t.Errorf("import = %v, want 4200 W", r.Import)
	}
	bad := newMeter(t, meter.Config{Address: sim.Addr(), SunSpec: meter.SunSpec{ModelAddr: ptr[uint16](40002)}})
	if _, err := bad.Read(context.Background()); !errors.Is(err, meter.ErrNoSunSpec) {
		t.Errorf("model_addr at the common model: err = %v, want ErrNoSunSpec", err)
	}
}
