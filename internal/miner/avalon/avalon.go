// Package avalon drives Canaan AvalonMiners through the API of Canaan's
// cgminer 4.11 on TCP 4028, and satisfies miner.Miner: it reads telemetry
// (one joined summary+estats request per Status, the estats "MM ID0"
// bracket string parsed tolerantly), and puts the machine to sleep and
// wakes it with the scheduled soft power commands "ascset|0,softoff,1:<ts>"
// and "ascset|0,softon,1:<ts>", sent in the plain-text form. The timestamp
// is taken from the miner's own clock (the When of a reply read just
// before), plus Config.Lead.
//
// Avalon's API is single-threaded: the driver sends one request per
// connection and never two at once to the same miner. It has no
// credentials.
//
// It offers no partial power: Avalon's work modes (ascset workmode) take
// effect only after a reboot and the hashpower option cuts the boards until
// a reboot, so neither is a power target. Apply(Run(p)) with 0 < p below
// nominal returns an error wrapping miner.ErrUnsupported, and Capabilities
// report MinPower = MaxPower = 0. It does not change pools, fans, LEDs or
// network settings, and never reboots the miner.
package avalon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
)

// DriverName is the driver's name in Capabilities.
const DriverName = "avalon"

// Defaults the firmware does not report (ASSUMED; see testdata/README.md).
const (
	// DefaultSleepPower is the draw after softoff: the control board (and
	// fans, idling) stay on.
	DefaultSleepPower energy.Power = 25
	// DefaultRampDown and DefaultRampUp are typical soft-off and soft-on
	// times, not counting Config.Lead.
	DefaultRampDown = 10 * time.Second
	DefaultRampUp   = 3 * time.Minute
	// WakeWindow bounds how long after its own softon the driver reports
	// a miner below 90% of its target power as waking rather than mining.
	WakeWindow = 10 * time.Minute
)

// Config is one Avalon miner's configuration.
type Config struct {
	// Addr is host:port of the miner's API; a bare host gets port 4028.
	Addr string
	// Timeout bounds each request (default cgminer.DefaultTimeout).
	Timeout time.Duration
	// Lead schedules softoff/softon this long after the miner's own
	// clock reads now (rounded down to seconds). Zero (the default) makes
	// the firmware act at once; pyasic uses 5 s on the caller's clock.
	Lead time.Duration
}

// Deps are the driver's injected dependencies.
type Deps struct {
	Clock  clock.Clock  // stamps Status.Time; required
	Logger *slog.Logger // optional
	// Buffers, when set, is shared by every miner's client.
	Buffers *cgminer.BufferPool
}

// Miner is one Avalon machine. It is safe for concurrent use; calls to
// the miner are serialised (the API is single-threaded).
type Miner struct {
	addr   string
	client *cgminer.Client
	clock  clock.Clock
	log    *slog.Logger
	lead   int64 // seconds

	io   sync.Mutex // one request at a time to the miner
	mu   sync.Mutex // guards caps, last and seen
	caps miner.Capabilities
	last command
	seen seen
}

// seen is what the driver last read from the miner: its clock and its
// soft-off flag, and the driver's clock when the reply arrived.
type seen struct {
	when int64 // the miner's clock (STATUS When), unix seconds
	off  bool  // SoftOFF[1] or "In Idle"
	at   time.Time
	ok   bool
}

// seenWindow bounds how old a reading may be for Apply to take the
// miner's clock from it (its When plus the time elapsed since, on
// Deps.Clock) instead of reading estats again.
const seenWindow = 10 * time.Second

// command is the last soft power command this driver sent: its action
// and the miner-clock unix second it is scheduled for.
type command struct {
	action string // "softoff", "softon" or ""
	at     int64
}

const (
	statusRequest = "summary+estats"
	capsRequest   = "version+estats"
)

// New reads the miner's version and estats once to learn its
// Capabilities.
func New(ctx context.Context, cfg Config, deps Deps) (*Miner, error) {
	m, err := newMiner(cfg, deps)
	if err != nil {
		return nil, err
	}
	if err := m.learnCaps(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// NewWithCapabilities returns a driver for a miner whose Capabilities are
// already known, without I/O. A machine whose capabilities are not known
// yet is reached with New, e.g. through fleet.Lazy when it is down at start.
func NewWithCapabilities(cfg Config, deps Deps, caps miner.Capabilities) (*Miner, error) {
	m, err := newMiner(cfg, deps)
	if err != nil {
		return nil, err
	}
	caps = caps.Clone()
	m.caps = caps
	return m, nil
}

func newMiner(cfg Config, deps Deps) (*Miner, error) {
	if cfg.Addr == "" {
		return nil, errors.New("avalon: config: addr is empty")
	}
	if deps.Clock == nil {
		return nil, fmt.Errorf("avalon %s: deps: clock is nil", cfg.Addr)
	}
	if cfg.Lead < 0 {
		return nil, fmt.Errorf("avalon %s: config: lead %v is negative", cfg.Addr, cfg.Lead)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := cgminer.NewClient(cfg.Addr, cgminer.WithTimeout(cfg.Timeout), cgminer.WithBufferPool(deps.Buffers))
	return &Miner{
		addr: c.Addr(), client: c, clock: deps.Clock, lead: int64(cfg.Lead / time.Second),
		log: log.With("miner", c.Addr(), "driver", DriverName),
	}, nil
}

func (m *Miner) errf(op string, err error) error {
	return fmt.Errorf("avalon %s: %s: %w", m.addr, op, err)
}

// raw sends one request; the API takes one at a time.
func (m *Miner) raw(ctx context.Context, req []byte) ([]byte, error) {
	m.io.Lock()
	defer m.io.Unlock()
	return m.client.Raw(ctx, req)
}

func (m *Miner) learnCaps(ctx context.Context) error {
	body, err := m.raw(ctx, cgminer.EncodeJSON(capsRequest))
	if err != nil {
		return m.errf("read capabilities", err)
	}
	caps, err := parseCaps(body)
	if err != nil {
		return m.errf("read capabilities", err)
	}
	m.mu.Lock()
	m.caps = caps
	m.mu.Unlock()
	return nil
}

// Addr returns host:port.
func (m *Miner) Addr() string { return m.addr }

// Capabilities returns what New learnt (or NewWithCapabilities got).
func (m *Miner) Capabilities() miner.Capabilities {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.caps
	c = c.Clone()
	return c
}

func (m *Miner) snapshot() (miner.Capabilities, command) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.caps, m.last
}

// read sends summary+estats and parses it.
func (m *Miner) read(ctx context.Context) (reading, error) {
	body, err := m.raw(ctx, cgminer.EncodeJSON(statusRequest))
	if err != nil {
		return reading{}, err
	}
	rd, err := parseReading(body)
	if err != nil {
		return reading{}, err
	}
	m.mu.Lock()
	m.seen = seen{when: rd.when, off: rd.e.SoftOff || rd.e.WorkState == "In Idle", at: m.clock.Now(), ok: true}
	m.mu.Unlock()
	return rd, nil
}

// recentClock returns the miner's clock estimated from a reading at most
// seenWindow old, when that reading says the miner is not where action
// takes it and no command of the driver's can still be pending: then a
// fresh read would lead Apply to send action too (with a When at most a
// second or so later, see Apply). ok is false otherwise.
func (m *Miner) recentClock(action string) (when int64, last command, ok bool) {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	sn, last := m.seen, m.last
	if !sn.ok || sn.off == (action == "softoff") {
		return 0, last, false
	}
	d := now.Sub(sn.at)
	if d < 0 || d >= seenWindow {
		return 0, last, false
	}
	when = sn.when + int64(d/time.Second)
	if last.action != "" && when <= last.at {
		return 0, last, false // a command may be pending: read afresh
	}
	return when, last, true
}

// Status reads summary and estats in one joined request.
func (m *Miner) Status(ctx context.Context) (miner.Status, error) {
	rd, err := m.read(ctx)
	if err != nil {
		return miner.Status{}, m.errf("status", err)
	}
	caps, last := m.snapshot()
	st := statusOf(rd, caps, last)
	st.Time = m.clock.Now()
	return st, nil
}

// statusOf turns a reading into a Status (without Time).
func statusOf(rd reading, caps miner.Capabilities, last command) miner.Status {
	e := rd.e
	st := miner.Status{
		PowerTarget: energy.Power(e.MPO),
		TempMaxC:    e.TMax,
		FanRPM:      append([]int(nil), e.Fans...),
		Uptime:      time.Duration(rd.elapsed) * time.Second,
		Accepted:    rd.accepted,
		Rejected:    rd.rejected,
	}
	if e.HasMode {
		st.Profile = "workmode " + strconv.Itoa(e.WorkMode)
	}
	switch {
	case rd.hasMHS:
		st.Hashrate = energy.Hashrate(rd.mhs30s / 1e6)
	default:
		st.Hashrate = energy.Hashrate(e.GHSspd / 1000)
	}
	st.HashrateAvg = energy.Hashrate(rd.mhsAv / 1e6)
	if st.HashrateAvg == 0 {
		st.HashrateAvg = energy.Hashrate(e.GHSavg / 1000)
	}
	st.TempMaxC = max(st.TempMaxC, e.TAvg) // TMax missing: the board average is the best left
	switch {
	case e.HasWallPower:
		st.Power = energy.Power(e.WallPower)
	case e.HasPS:
		st.Power = energy.Power(e.BoardWatts) // hash boards only
	case caps.NominalHashrate > 0:
		st.Power = energy.Power(float64(caps.NominalPower) * float64(st.Hashrate/caps.NominalHashrate))
		st.PowerEstimated = true
	}
	st.Boards = max(e.HashBoards, len(e.MGHS))
	for _, g := range e.MGHS {
		if g > 0 {
			st.BoardsActive++
		}
	}
	if len(e.MGHS) == 0 && st.Hashrate > 0 {
		st.BoardsActive = st.Boards
	}
	st.State = stateOf(rd, caps, last)
	return st
}

// stateOf derives the operating state; see testdata/README.md.
func stateOf(rd reading, caps miner.Capabilities, last command) miner.State {
	e := rd.e
	if last.action != "" && rd.when < last.at {
		if last.action == "softoff" {
			return miner.StateRampingDown // scheduled, not yet due
		}
		return miner.StateWaking
	}
	off := e.SoftOff || e.WorkState == "In Idle"
	hashing := rd.mhs30s > 0 || e.GHSspd > 0
	if off {
		if hashing || (e.HasPS && e.BoardWatts > 0.02*float64(caps.NominalPower)) {
			return miner.StateRampingDown
		}
		return miner.StateSleeping
	}
	if e.WorkState == "" && !e.HasSoftOff {
		if !hashing {
			return miner.StateUnknown
		}
		return miner.StateMining
	}
	target := e.MPO
	if target <= 0 {
		target = float64(caps.NominalPower)
	}
	p := e.WallPower
	if !e.HasWallPower {
		p = e.BoardWatts
	}
	if last.action == "softon" && rd.when-last.at < int64(WakeWindow/time.Second) && (e.HasWallPower || e.HasPS) && p < 0.9*target {
		return miner.StateWaking
	}
	return miner.StateMining
}

// Apply sleeps the miner (softoff) or runs it at nominal (softon). It
// first reads estats for the miner's clock and soft-off flag, and sends
// nothing when the miner is already where it should be. When the driver
// read the miner less than seenWindow ago (a Status, typically the poll
// before a dispatch) and that reading says the command is needed and none
// of the driver's commands can be pending, it skips the read: the miner's
// clock is that reading's When plus the time since on Deps.Clock (at most
// about a second behind the miner's, so a command with Lead 0 still acts
// at once), and the command is sent as a fresh read would have sent it,
// or, should the miner have changed state since, sent redundantly (soft
// power commands are idempotent). A power target
// below nominal is ErrUnsupported (see the package comment); one at or
// above nominal runs at nominal.
func (m *Miner) Apply(ctx context.Context, sp miner.Setpoint) error {
	caps, _ := m.snapshot()
	var action string
	switch sp.Mode {
	case miner.ModeSleep:
		action = "softoff"
	case miner.ModeRun:
		if sp.Power < 0 || (sp.Power > 0 && sp.Power < caps.NominalPower) || (sp.Power > 0 && caps.NominalPower <= 0) {
			return m.errf("apply "+sp.String(), fmt.Errorf("no power targets (nominal %v): %w", caps.NominalPower, miner.ErrUnsupported))
		}
		action = "softon"
	default:
		return m.errf("apply", fmt.Errorf("mode %q: %w", sp.Mode, miner.ErrUnsupported))
	}
	when, last, known := m.recentClock(action)
	pendingOpposite := false
	if !known {
		rd, err := m.read(ctx)
		if err != nil {
			return m.errf("apply "+sp.String()+": read state", err)
		}
		_, last = m.snapshot()
		when = rd.when
		off := rd.e.SoftOff || rd.e.WorkState == "In Idle"
		pendingOpposite = last.action != "" && last.action != action && rd.when < last.at
		pendingSame := last.action == action && rd.when < last.at
		if pendingSame || (!pendingOpposite && off == (action == "softoff")) {
			return nil
		}
	}
	ts := when + m.lead
	if pendingOpposite && ts <= last.at {
		ts = last.at + 1 // after the command it overrides (ASSUMED: one schedule per action)
	}
	req := cgminer.EncodePlain("ascset", "0", action, "1:"+strconv.FormatInt(ts, 10))
	body, err := m.raw(ctx, req)
	if err != nil {
		return m.errf("ascset "+action, err)
	}
	if _, err := parseAscsetReply(body); err != nil {
		return m.errf("ascset "+action, err)
	}
	m.mu.Lock()
	m.last = command{action: action, at: ts}
	m.seen.ok = false // the command may change what was seen
	m.mu.Unlock()
	m.log.Debug("soft power command accepted", "action", action, "at", ts)
	return nil
}
