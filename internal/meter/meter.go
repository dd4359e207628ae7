package meter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
)

// Reading is one sample of the site meter.
type Reading struct {
	// Time is when the meter's reply arrived, on the injected clock.
	Time time.Time
	// Import is the site's net draw from the grid: positive when
	// importing, negative when exporting.
	Import energy.Power
	// Frequency is the grid frequency in hertz, valid when HasFrequency.
	Frequency float64
	// Generation is on-site generation (PV), positive when producing,
	// valid when HasGeneration.
	Generation energy.Power
	// HasGeneration and HasFrequency say whether the meter provides the
	// quantity; a quantity the meter marks "not implemented" is absent.
	HasGeneration, HasFrequency bool
}

// ErrNotImplemented reports that the meter marks a required quantity (the
// import) "not implemented".
var ErrNotImplemented = errors.New("not implemented by the meter")

// Option configures a Meter.
type Option func(*Meter)

// WithClock sets the clock that stamps readings and paces Run (default
// the wall clock). Network deadlines stay on wall time.
func WithClock(c clock.Clock) Option { return func(m *Meter) { m.clock = c } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(m *Meter) { m.log = l } }

// Meter is a connection to one Modbus TCP meter. It is safe for concurrent
// use; requests are serialised on one connection.
type Meter struct {
	cfg      Config
	unit     uint8
	coilUnit uint8
	timeout  time.Duration
	pinned   uint16 // the SunSpec model the map names, 0 for any
	clock    clock.Clock
	log      *slog.Logger

	mu     sync.Mutex
	conn   net.Conn
	txid   uint16
	layout *layout // nil until a SunSpec map is discovered
	wbuf   []byte
	rbuf   [mbapLen + maxPDU]byte
}

// New checks cfg and returns a Meter. It does no I/O: the connection is
// opened, and a SunSpec map discovered, by the first call that needs it.
func New(cfg Config, opts ...Option) (*Meter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Meter{cfg: cfg, unit: cfg.UnitID, coilUnit: cfg.CoilUnitID, timeout: cfg.Timeout, clock: clock.Real{}, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(m)
	}
	if m.unit == 0 {
		m.unit = DefaultUnitID
	}
	if m.coilUnit == 0 {
		m.coilUnit = m.unit
	}
	if m.timeout == 0 {
		m.timeout = DefaultTimeout
	}
	if m.cfg.Map == "" {
		m.cfg.Map = MapSunSpec
	}
	if m.cfg.Map == MapGeneric {
		var pts []point
		for _, r := range []struct {
			q   Quantity
			reg *Register
		}{{Import, cfg.Import}, {Frequency, cfg.Frequency}, {Generation, cfg.Generation}} {
			if r.reg != nil {
				pts = append(pts, registerPoint(r.q, r.reg, m.unit, r.q == Import && cfg.InvertImport))
			}
		}
		m.layout = newLayout("generic map", pts, nil)
	} else {
		m.pinned, _ = sunspecMapModel(m.cfg.Map)
	}
	return m, nil
}

// Addr returns the meter's host:port.
func (m *Meter) Addr() string { return m.cfg.Address }

// Close closes the connection, if one is open. The Meter stays usable: the
// next call reconnects.
func (m *Meter) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closeConn()
}

func (m *Meter) closeConn() error {
	if m.conn == nil {
		return nil
	}
	err := m.conn.Close()
	m.conn = nil
	return err
}

// Read takes one sample: one request per contiguous block of registers
// (with a SunSpec map, the first call, and the first after the map is
// found to have changed, first walks the map to find the meter).
func (m *Meter) Read(ctx context.Context) (Reading, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	lay, err := m.layoutLocked(ctx)
	if err != nil {
		return Reading{}, err
	}
	data := make([]blockData, 0, len(lay.blocks))
	for _, b := range lay.blocks {
		words, err := m.readRegisters(ctx, b.unit, b.kind, b.start, b.count)
		if err != nil {
			var ex *ExceptionError
			if errors.As(err, &ex) && m.cfg.Map != MapGeneric {
				m.layout = nil // find the model again next time
			}
			return Reading{}, fmt.Errorf("meter %s: read %s: %w", m.cfg.Address, b, err)
		}
		data = append(data, blockData{b, words})
	}
	r := Reading{Time: m.clock.Now()}
	for _, g := range lay.guards {
		w, _ := lookup(data, g.unit, holding, g.addr, 1)
		if len(w) == 1 && w[0] != g.want {
			m.layout = nil
			return Reading{}, fmt.Errorf("meter %s: holding register %d holds model ID %d, want %d: the SunSpec map changed; it will be walked again", m.cfg.Address, g.addr, w[0], g.want)
		}
	}
	for _, p := range lay.points {
		words, ok := lookup(data, p.unit, p.kind, p.addr, p.dt.words())
		var sf uint16
		if p.hasSF {
			var w []uint16
			w, ok = lookup(data, p.unit, p.kind, p.sfAddr, 1)
			if ok {
				sf = w[0]
			}
		}
		if !ok {
			// planBlocks covers every point; this is a bug, not a device fault.
			return Reading{}, fmt.Errorf("meter %s: %s (%s): registers not read", m.cfg.Address, p.q, p)
		}
		v, ok, err := decodeValue(p.dt, p.wo, p.sentinel, p.mult, words, p.hasSF, sf)
		if err != nil {
			return Reading{}, fmt.Errorf("meter %s: %s (%s): %w", m.cfg.Address, p.q, p, err)
		}
		switch p.q {
		case Import:
			if !ok {
				return Reading{}, fmt.Errorf("meter %s: %s (%s): %w", m.cfg.Address, p.q, p, ErrNotImplemented)
			}
			r.Import = energy.Power(v)
		case Frequency:
			r.Frequency, r.HasFrequency = v, ok
		case Generation:
			r.Generation, r.HasGeneration = energy.Power(v), ok
		}
	}
	return r, nil
}

// layoutLocked returns the register map, walking the SunSpec map first
// if it is not known yet.
func (m *Meter) layoutLocked(ctx context.Context) (*layout, error) {
	if m.layout != nil {
		return m.layout, nil
	}
	read := func(ctx context.Context, addr, n uint16) ([]uint16, error) {
		return m.readRegisters(ctx, m.unit, holding, addr, n)
	}
	s := m.cfg.SunSpec
	var meters []sunspecModel
	if s.ModelAddr != nil {
		hdr, err := read(ctx, *s.ModelAddr, 2)
		if err != nil {
			return nil, fmt.Errorf("meter %s: read SunSpec model header at holding register %d (unit %d): %w", m.cfg.Address, *s.ModelAddr, m.unit, err)
		}
		if _, ok := meterModel(hdr[0]); !ok {
			return nil, fmt.Errorf("meter %s: holding register %d (sunspec.model_addr) holds model ID %d, not a SunSpec meter model: %w", m.cfg.Address, *s.ModelAddr, hdr[0], ErrNoSunSpec)
		}
		meters = []sunspecModel{{ID: hdr[0], Addr: *s.ModelAddr, Length: hdr[1]}}
	} else {
		bases := sunspecBases()
		if s.Base != nil {
			bases = []uint16{*s.Base}
		}
		var err error
		_, meters, err = walkSunSpec(ctx, read, bases)
		if err != nil {
			return nil, fmt.Errorf("meter %s (unit %d): %w", m.cfg.Address, m.unit, err)
		}
	}
	pick := func(field string, n int) (sunspecModel, error) {
		if n > len(meters) {
			return sunspecModel{}, fmt.Errorf("meter %s: sunspec.%s is %d but the device has %d meter models: %w", m.cfg.Address, field, n, len(meters), ErrNoSunSpec)
		}
		return meters[n-1], nil
	}
	imp, err := pick("import_meter", max(s.ImportMeter, 1))
	if err != nil {
		return nil, err
	}
	if m.pinned != 0 && imp.ID != m.pinned {
		return nil, fmt.Errorf("meter %s: map %s, but the meter model at holding register %d is %d: %w", m.cfg.Address, m.cfg.Map, imp.Addr, imp.ID, ErrNoSunSpec)
	}
	lay, _ := meterModel(imp.ID)
	if imp.Length < lay.lastOffset()-1 {
		return nil, fmt.Errorf("meter %s: SunSpec model %d at holding register %d has length %d, too short for its points: %w", m.cfg.Address, imp.ID, imp.Addr, imp.Length, ErrNoSunSpec)
	}
	desc := fmt.Sprintf("SunSpec model %d at %d", imp.ID, imp.Addr)
	var pts []point
	guards := []guard{{unit: m.unit, addr: imp.Addr, want: imp.ID}}
	if m.cfg.Import == nil {
		pts = append(pts, sunspecPoints(imp, m.unit, Import, m.cfg.InvertImport, m.cfg.Frequency == nil)...)
	} else {
		pts = append(pts, registerPoint(Import, m.cfg.Import, m.unit, m.cfg.InvertImport))
		if m.cfg.Frequency == nil {
			for _, p := range sunspecPoints(imp, m.unit, Import, false, true) {
				if p.q == Frequency {
					pts = append(pts, p)
				}
			}
		}
	}
	if m.cfg.Frequency != nil {
		pts = append(pts, registerPoint(Frequency, m.cfg.Frequency, m.unit, false))
	}
	switch {
	case m.cfg.Generation != nil:
		pts = append(pts, registerPoint(Generation, m.cfg.Generation, m.unit, false))
	case s.GenerationMeter > 0:
		gen, err := pick("generation_meter", s.GenerationMeter)
		if err != nil {
			return nil, err
		}
		pts = append(pts, sunspecPoints(gen, m.unit, Generation, false, false)...)
		guards = append(guards, guard{unit: m.unit, addr: gen.Addr, want: gen.ID})
		desc += fmt.Sprintf(", generation: model %d at %d", gen.ID, gen.Addr)
	}
	m.layout = newLayout(desc, pts, guards)
	m.log.Info("meter map found", "meter", m.cfg.Address, "map", desc)
	return m.layout, nil
}

// readRegisters reads n registers of kind at addr from unit.
func (m *Meter) readRegisters(ctx context.Context, unit uint8, kind regKind, addr, n uint16) ([]uint16, error) {
	req := readRequest(kind.function(), addr, n)
	pdu, err := m.roundTrip(ctx, unit, req)
	if err != nil {
		return nil, err
	}
	return parseRegisters(kind.function(), n, pdu, make([]uint16, 0, n))
}

// SetCoil switches coil addr (0-based) on or off on the coil unit and
// checks the device's echo.
func (m *Meter) SetCoil(ctx context.Context, addr uint16, on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	req := writeCoilRequest(addr, on)
	pdu, err := m.roundTrip(ctx, m.coilUnit, req)
	if err == nil {
		err = parseWriteCoil(req, pdu)
	}
	if err != nil {
		return fmt.Errorf("meter %s: set coil %d (unit %d) %s: %w", m.cfg.Address, addr, m.coilUnit, onOff(on), err)
	}
	return nil
}

// Coil reads coil addr (0-based) from the coil unit.
func (m *Meter) Coil(ctx context.Context, addr uint16) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pdu, err := m.roundTrip(ctx, m.coilUnit, readRequest(fcReadCoils, addr, 1))
	var v []bool
	if err == nil {
		v, err = parseCoils(1, pdu)
	}
	if err != nil {
		return false, fmt.Errorf("meter %s: read coil %d (unit %d): %w", m.cfg.Address, addr, m.coilUnit, err)
	}
	return v[0], nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// roundTrip sends one request PDU and returns the reply PDU (valid until
// the next call). The exchange, dial included, ends by the earlier of the
// meter's timeout and ctx's deadline, and at once if ctx is cancelled. A
// failure other than a Modbus exception closes the connection; if it
// happened on a connection kept from earlier calls (which the device may
// have dropped while idle), the request is sent once more on a new one.
func (m *Meter) roundTrip(ctx context.Context, unit uint8, req []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(m.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for attempt := 0; ; attempt++ {
		reused := m.conn != nil
		if !reused {
			d := net.Dialer{Deadline: deadline}
			c, err := d.DialContext(ctx, "tcp", m.cfg.Address)
			if err != nil {
				return nil, fmt.Errorf("connect: %w", err)
			}
			m.conn = c
		}
		pdu, err := m.exchange(ctx, deadline, unit, req)
		if err == nil {
			return pdu, nil
		}
		var ex *ExceptionError
		if errors.As(err, &ex) {
			return nil, err
		}
		m.closeConn()
		if !reused || attempt > 0 || ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, err
		}
		m.log.Debug("meter connection failed; reconnecting", "meter", m.cfg.Address, "err", err)
	}
}

// exchange writes one frame and reads frames until the reply with the
// same transaction id arrives.
func (m *Meter) exchange(ctx context.Context, deadline time.Time, unit uint8, req []byte) ([]byte, error) {
	c := m.conn
	if err := c.SetDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(err error) ([]byte, error) {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, err
	}
	m.txid++
	m.wbuf = appendFrame(m.wbuf[:0], m.txid, unit, req)
	if _, err := c.Write(m.wbuf); err != nil {
		return fail(err)
	}
	for {
		if _, err := io.ReadFull(c, m.rbuf[:mbapLen]); err != nil {
			return fail(err)
		}
		txid, u, n, err := parseHeader(m.rbuf[:mbapLen])
		if err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(c, m.rbuf[mbapLen:mbapLen+n]); err != nil {
			return fail(err)
		}
		if txid != m.txid {
			continue // a late reply to an abandoned request
		}
		if u != unit {
			return nil, fmt.Errorf("%w: reply from unit %d to a request to unit %d", ErrProtocol, u, unit)
		}
		return m.rbuf[mbapLen : mbapLen+n], nil
	}
}
