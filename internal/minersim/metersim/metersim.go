// Package metersim is a simulated site meter: a Modbus TCP server (built
// on github.com/simonvetter/modbus) that serves the register maps the
// meter package reads, so the controller, the demo and tests meet a real
// socket and a real protocol.
//
// The import it reports is the fleet's actual draw (a function the caller
// supplies, such as minersim's Fleet.TotalPower) plus a fixed site load
// plus seeded Gaussian noise, minus on-site generation. The frequency is a
// nominal 60 Hz, a trace of steps played on the injected clock, or a value
// set by SetFrequency. Coils record writes, can be read back, and call a
// hook, so a test or the simulation can react to a trip.
//
// Maps: SunSpec (a "SunS" marker, the common model 1, a meter model —
// 203 by default, any of 201–204 or 211–214 — and, when generation is
// simulated, a second meter model of the same kind measuring it) and
// "generic", which encodes each quantity as a meter.Register describes it
// (table, address, data type, word order, scale, scale-factor register,
// units), so every layout the driver can read can be served.
//
// It does not simulate per-phase quantities, energy counters, voltage or
// current (the SunSpec points it does not fill read as "not implemented"),
// register writes, Modbus RTU, or a device's timing; it has no physics of
// its own beyond the sum above.
package metersim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/meter"
)

// Map names.
const (
	MapSunSpec = "sunspec"
	MapGeneric = "generic"
)

// FrequencyPoint is one step of a frequency trace: from Offset after the
// simulator was created (on its clock) the grid runs at Hz.
type FrequencyPoint struct {
	Offset time.Duration
	Hz     float64
}

// Config describes a simulated meter. Zero values mean the defaults.
type Config struct {
	// Addr is the listen address (default 127.0.0.1:0; port 0 picks a
	// free port).
	Addr string
	// UnitID, if set, is the only unit the register tables answer as;
	// requests to other units get exception 0x0B (gateway target failed
	// to respond). CoilUnitID likewise for the coils (default UnitID).
	UnitID, CoilUnitID uint8
	// Map is sunspec (default) or generic.
	Map string
	// SunSpecModel is the meter model served (default 203).
	SunSpecModel uint16
	// SunSpecBase is the address of the "SunS" marker (default 40000).
	SunSpecBase *uint16
	// Import, Frequency and Generation are the registers of the generic
	// map; Import is required there.
	Import, Frequency, Generation *meter.Register

	// Draw is the fleet's actual draw (nil: none).
	Draw func() energy.Power
	// SiteLoad is the rest of the site's load.
	SiteLoad energy.Power
	// Noise is the standard deviation of Gaussian noise added to the
	// import, drawn from a generator seeded with Seed.
	Noise energy.Power
	Seed  uint64
	// Generation is on-site generation; nil means the site has none (and
	// the SunSpec map then has no generation meter).
	GenerationPower func() energy.Power
	// ExportPositive reports import with the opposite sign, as some
	// meters do.
	ExportPositive bool
	// NominalHz is the frequency when no trace or SetFrequency says
	// otherwise (default 60).
	NominalHz float64
	// Trace is a frequency trace, sorted by Offset.
	Trace []FrequencyPoint

	// Coils is the number of coils (default 16); others are refused.
	Coils uint16
	// OnCoil is called after each coil write, outside the simulator's
	// lock.
	OnCoil func(addr uint16, on bool)
	// IdleTimeout closes client connections idle this long (default 2m).
	IdleTimeout time.Duration

	Clock  clock.Clock
	Logger *slog.Logger
}

// Sim is a simulated meter. Its methods are safe for concurrent use.
type Sim struct {
	cfg   Config
	base  uint16
	start time.Time
	log   *slog.Logger

	mu       sync.Mutex
	rng      *rand.Rand
	fixedHz  *float64
	fixedGen *energy.Power
	absent   [3]bool // by meter.Quantity
	coils    []bool
	srv      *modbus.ModbusServer
	addr     string
	ran      bool
}

// New checks cfg and returns a simulator; it listens from Listen or Run.
func New(cfg Config) (*Sim, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("metersim: addr %q: %w", cfg.Addr, err)
	}
	if cfg.Map == "" {
		cfg.Map = MapSunSpec
	}
	if cfg.SunSpecModel == 0 {
		cfg.SunSpecModel = 203
	}
	if cfg.NominalHz == 0 {
		cfg.NominalHz = 60
	}
	if cfg.Coils == 0 {
		cfg.Coils = 16
	}
	if cfg.CoilUnitID == 0 {
		cfg.CoilUnitID = cfg.UnitID
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch cfg.Map {
	case MapSunSpec:
		if _, ok := layoutOf(cfg.SunSpecModel); !ok {
			return nil, fmt.Errorf("metersim: sunspec model %d: want 201–204 or 211–214", cfg.SunSpecModel)
		}
	case MapGeneric:
		if cfg.Import == nil {
			return nil, errors.New("metersim: the generic map needs an import register")
		}
		// The driver's own validation of a register spec applies here.
		mc := meter.Config{Address: "127.0.0.1:1", Map: meter.MapGeneric, Import: cfg.Import, Frequency: cfg.Frequency, Generation: cfg.Generation}
		if err := mc.Validate(); err != nil {
			return nil, fmt.Errorf("metersim: %w", err)
		}
	default:
		return nil, fmt.Errorf("metersim: map %q: want sunspec or generic", cfg.Map)
	}
	if !slices.IsSortedFunc(cfg.Trace, func(a, b FrequencyPoint) int { return int(a.Offset - b.Offset) }) {
		return nil, errors.New("metersim: trace: offsets must be sorted")
	}
	s := &Sim{
		cfg:   cfg,
		base:  40000,
		start: cfg.Clock.Now(),
		log:   cfg.Logger,
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		coils: make([]bool, cfg.Coils),
	}
	if cfg.SunSpecBase != nil {
		s.base = *cfg.SunSpecBase
	}
	if cfg.Map == MapSunSpec && int(s.base)+sunspecSize(cfg) > 1<<16 {
		return nil, fmt.Errorf("metersim: sunspec base %d: the map would run past register 65535", s.base)
	}
	return s, nil
}

// SetFrequency fixes the frequency at hz from now on, ending any trace.
func (s *Sim) SetFrequency(hz float64) {
	s.mu.Lock()
	s.fixedHz = &hz
	s.mu.Unlock()
}

// SetGeneration fixes on-site generation at p from now on. It has an
// effect only if the simulator was created with GenerationPower (with the
// SunSpec map, that decides whether a generation meter exists) or a
// generic Generation register.
func (s *Sim) SetGeneration(p energy.Power) {
	s.mu.Lock()
	s.fixedGen = &p
	s.mu.Unlock()
}

// SetNotImplemented makes the meter report q as "not implemented" (the
// SunSpec sentinel for its data type) or, with yes false, report it again.
func (s *Sim) SetNotImplemented(q meter.Quantity, yes bool) {
	s.mu.Lock()
	if int(q) < len(s.absent) {
		s.absent[q] = yes
	}
	s.mu.Unlock()
}

// Coil returns coil addr's state (false for a coil that does not exist).
func (s *Sim) Coil(addr uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(addr) < len(s.coils) && s.coils[addr]
}

// Frequency returns the frequency the meter reports now.
func (s *Sim) Frequency() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frequencyLocked(s.cfg.Clock.Now())
}

func (s *Sim) frequencyLocked(now time.Time) float64 {
	if s.fixedHz != nil {
		return *s.fixedHz
	}
	hz := s.cfg.NominalHz
	el := now.Sub(s.start)
	for _, p := range s.cfg.Trace {
		if p.Offset > el {
			break
		}
		hz = p.Hz
	}
	return hz
}

// snapshot is what the meter measures at one instant.
type snapshot struct {
	imp, gen, hz          float64
	hasImp, hasGen, hasHz bool
}

// measure takes a snapshot: draw + site load + noise − generation.
func (s *Sim) measure() snapshot {
	// The callbacks run outside the lock: they may take locks of their own.
	var draw, gen energy.Power
	if s.cfg.Draw != nil {
		draw = s.cfg.Draw()
	}
	genFn := s.cfg.GenerationPower
	if genFn != nil {
		gen = genFn()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	hasGen := genFn != nil || s.cfg.Generation != nil
	if s.fixedGen != nil {
		gen = *s.fixedGen
	}
	if !hasGen {
		gen = 0
	}
	imp := float64(draw + s.cfg.SiteLoad - gen)
	if s.cfg.Noise > 0 {
		imp += s.rng.NormFloat64() * float64(s.cfg.Noise)
	}
	if s.cfg.ExportPositive {
		imp = -imp
	}
	return snapshot{
		imp: imp, hasImp: !s.absent[meter.Import],
		gen: float64(gen), hasGen: hasGen && !s.absent[meter.Generation],
		hz: s.frequencyLocked(s.cfg.Clock.Now()), hasHz: !s.absent[meter.Frequency],
	}
}

// Listen binds the listen address. With port 0 it picks a free port: the
// Modbus library binds by address only, so a free port is found first and
// then bound, retrying if another process takes it in between.
func (s *Sim) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	host, port, _ := net.SplitHostPort(s.cfg.Addr)
	var lastErr error
	for range 20 {
		addr := s.cfg.Addr
		if port == "0" {
			ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
			if err != nil {
				return fmt.Errorf("metersim: listen on %s: %w", s.cfg.Addr, err)
			}
			addr = ln.Addr().String()
			ln.Close()
		}
		srv, err := modbus.NewServer(&modbus.ServerConfiguration{
			URL:        "tcp://" + addr,
			Timeout:    s.cfg.IdleTimeout,
			MaxClients: 32,
			Logger:     slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}, handler{s})
		if err != nil {
			return fmt.Errorf("metersim: %s: %w", addr, err)
		}
		if err := srv.Start(); err != nil {
			lastErr = err
			if port == "0" && errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return fmt.Errorf("metersim: listen on %s: %w", addr, err)
		}
		s.srv, s.addr = srv, addr
		return nil
	}
	return fmt.Errorf("metersim: listen on %s: %w", s.cfg.Addr, lastErr)
}

// Addr returns the address the simulator listens on, after Listen.
func (s *Sim) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Run listens (if Listen was not called) and serves until ctx ends, then
// closes the listener and every client connection and returns nil. It may
// be called once.
func (s *Sim) Run(ctx context.Context) error {
	s.mu.Lock()
	ran := s.ran
	s.ran = true
	s.mu.Unlock()
	if ran {
		return errors.New("metersim: already run")
	}
	if err := s.Listen(); err != nil {
		return err
	}
	s.log.Info("metersim listening", "addr", s.Addr(), "map", s.cfg.Map)
	<-ctx.Done()
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if err := srv.Stop(); err != nil {
		s.log.Debug("metersim stop", "err", err)
	}
	return nil
}

// handler answers the Modbus server's requests.
type handler struct{ s *Sim }

var _ modbus.RequestHandler = handler{}

func (h handler) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	s := h.s
	if s.cfg.CoilUnitID != 0 && req.UnitId != s.cfg.CoilUnitID {
		return nil, modbus.ErrGWTargetFailedToRespond
	}
	s.mu.Lock()
	if int(req.Addr)+int(req.Quantity) > len(s.coils) {
		s.mu.Unlock()
		return nil, modbus.ErrIllegalDataAddress
	}
	if !req.IsWrite {
		out := slices.Clone(s.coils[req.Addr : int(req.Addr)+int(req.Quantity)])
		s.mu.Unlock()
		return out, nil
	}
	copy(s.coils[req.Addr:], req.Args)
	s.mu.Unlock()
	s.log.Info("metersim coil write", "addr", req.Addr, "values", req.Args)
	if s.cfg.OnCoil != nil {
		for i, on := range req.Args {
			s.cfg.OnCoil(req.Addr+uint16(i), on)
		}
	}
	return nil, nil
}

func (h handler) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

func (h handler) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if req.IsWrite {
		return nil, modbus.ErrIllegalFunction
	}
	return h.s.registers(req.UnitId, "holding", req.Addr, req.Quantity)
}

func (h handler) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	return h.s.registers(req.UnitId, "input", req.Addr, req.Quantity)
}

// registers answers a read of n registers of table kind at addr.
func (s *Sim) registers(unit uint8, kind string, addr, n uint16) ([]uint16, error) {
	if s.cfg.UnitID != 0 && unit != s.cfg.UnitID {
		return nil, modbus.ErrGWTargetFailedToRespond
	}
	snap := s.measure()
	end := int(addr) + int(n)
	if s.cfg.Map == MapSunSpec {
		if kind != "holding" {
			return nil, modbus.ErrIllegalDataAddress
		}
		img := sunspecImage(s.cfg, snap)
		if int(addr) < int(s.base) || end > int(s.base)+len(img) {
			return nil, modbus.ErrIllegalDataAddress
		}
		off := int(addr) - int(s.base)
		return img[off : off+int(n)], nil
	}
	out := make([]uint16, n)
	for _, e := range genericImage(s.cfg, snap) {
		if e.kind != kind {
			continue
		}
		for i, w := range e.words {
			a := int(e.addr) + i
			if a >= int(addr) && a < end {
				out[a-int(addr)] = w
			}
		}
	}
	return out, nil
}

// roundTo returns v / 10^sf rounded to an integer, computed so that exact
// decimal values stay exact.
func roundTo(v float64, sf int) float64 {
	p := 1.0
	for i := 0; i < abs(sf); i++ {
		p *= 10
	}
	if sf < 0 {
		return math.Round(v * p)
	}
	return math.Round(v / p)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// fitScaleFactor returns the smallest scale factor in minSF..10 with which
// v fits in [lo, hi], and v scaled by it (clamped at sf 10).
func fitScaleFactor(v float64, minSF int, lo, hi float64) (raw float64, sf int) {
	for sf = minSF; sf <= 10; sf++ {
		raw = roundTo(v, sf)
		if raw >= lo && raw <= hi {
			return raw, sf
		}
	}
	return math.Max(lo, math.Min(hi, roundTo(v, 10))), 10
}
