// Package luxos drives Antminers running Luxor's LuxOS firmware
// (LUXminer) through its cgminer-compatible API on TCP 4028, and satisfies
// miner.Miner: it reads telemetry (one joined request per Status), puts
// the machine to sleep and wakes it (curtail), and runs it at partial
// power by switching LuxOS profiles (profileset, with ATM held off around
// the switch). Writes use LuxOS's single 60 s session (logon/session).
//
// It does not use power targeting (powertargetset), per-board frequency or
// voltage commands, pools or fan control, and it never calls logoff: the
// session is left to expire so a fleet poller does not pay a round trip
// per write.
package luxos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
)

// Config is one LuxOS miner's configuration.
type Config struct {
	// Addr is host:port of the miner's API; a bare host gets port 4028.
	Addr string
	// Timeout bounds each request (default cgminer.DefaultTimeout).
	Timeout time.Duration
}

// Deps are the driver's injected dependencies.
type Deps struct {
	Clock  clock.Clock  // stamps Status.Time; required
	Logger *slog.Logger // optional
	// Buffers, when set, is shared by every miner's client.
	Buffers *cgminer.BufferPool
	// Wall times protocol state that lives on the miner's own clock: the
	// session's idle expiry and how long known state is trusted. Default
	// the wall clock; it stays wall time when Clock runs accelerated.
	Wall clock.Clock
}

// Miner is one LuxOS machine. It is safe for concurrent use; writes
// (Apply, Logon) are serialised per miner.
type Miner struct {
	addr    string
	client  *cgminer.Client
	clock   clock.Clock
	wall    clock.Clock
	log     *slog.Logger
	writeMu sync.Mutex // one write sequence at a time
	mu      sync.Mutex // guards sid, caps and defaultP
	sid     string
	sidUsed time.Time // wall time of the session's last successful use

	caps     miner.Capabilities
	defaultP string
	known    miner.Known[knownState]
}

// knownState is what the miner last told this driver about its curtail
// mode and profile (from a status read or an accepted command), so a
// command can skip re-reading them; see miner.Known.
type knownState struct {
	asleep  bool
	profile string
}

const knownMaxAge = 10 * time.Second

// New connects to the miner once (a joined version+profiles+config
// request) to learn its Capabilities.
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

// learnCaps reads the capabilities with one joined request.
func (m *Miner) learnCaps(ctx context.Context) error {
	body, err := m.client.Raw(ctx, cgminer.EncodeJSON(capsRequest))
	if err != nil {
		return m.errf("read capabilities", err)
	}
	caps, def, err := parseCaps(body)
	if err != nil {
		return m.errf("read capabilities", err)
	}
	m.mu.Lock()
	m.caps, m.defaultP = caps, def
	m.mu.Unlock()
	return nil
}

// capsRef returns the capabilities (sharing PowerSteps, which is never
// modified after it is set) and the default profile name.
func (m *Miner) capsRef() (miner.Capabilities, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.caps, m.defaultP
}

// NewWithCapabilities returns a driver for a miner whose Capabilities are
// already known (from a previous New, a store or config), without any I/O,
// so a large fleet can start without a round trip per miner. caps.PowerSteps
// must hold the miner's profiles: Apply picks profiles from them and Run(0)
// selects the step named "default" (else the one at NominalPower). A
// machine whose capabilities are not known yet is reached with New, e.g.
// through fleet.Lazy when it is down at start.
func NewWithCapabilities(cfg Config, deps Deps, caps miner.Capabilities) (*Miner, error) {
	m, err := newMiner(cfg, deps)
	if err != nil {
		return nil, err
	}
	caps = caps.Clone()
	m.caps, m.defaultP = caps, defaultProfile(caps)
	return m, nil
}

func newMiner(cfg Config, deps Deps) (*Miner, error) {
	if cfg.Addr == "" {
		return nil, errors.New("luxos: config: addr is empty")
	}
	if deps.Clock == nil {
		return nil, fmt.Errorf("luxos %s: deps: clock is nil", cfg.Addr)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := cgminer.NewClient(cfg.Addr, cgminer.WithTimeout(cfg.Timeout), cgminer.WithBufferPool(deps.Buffers))
	wall := deps.Wall
	if wall == nil {
		wall = clock.Real{}
	}
	return &Miner{addr: c.Addr(), client: c, clock: deps.Clock, wall: wall, log: log.With("miner", c.Addr(), "driver", "luxos"),
		known: miner.Known[knownState]{Clock: wall, MaxAge: knownMaxAge}}, nil
}

func (m *Miner) errf(op string, err error) error {
	return fmt.Errorf("luxos %s: %s: %w", m.addr, op, err)
}

// Addr returns host:port.
func (m *Miner) Addr() string { return m.addr }

// Capabilities returns what New learnt (or what NewWithCapabilities got).
func (m *Miner) Capabilities() miner.Capabilities {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.caps
	c = c.Clone()
	return c
}

// Status reads summary+power+devs+fans+config in one request. The sleep
// state comes from CONFIG CurtailMode ("Sleep"); see testdata/README.md.
func (m *Miner) Status(ctx context.Context) (miner.Status, error) {
	body, err := m.client.Raw(ctx, cgminer.EncodeJSON(statusRequest))
	if err != nil {
		return miner.Status{}, m.errf("status", err)
	}
	caps, _ := m.capsRef()
	st, err := parseStatus(body, caps)
	if err != nil {
		return miner.Status{}, m.errf("status", err)
	}
	st.Time = m.clock.Now()
	m.known.Update(func(k *knownState) {
		k.asleep = st.State == miner.StateSleeping || st.State == miner.StateRampingDown
		k.profile = st.Profile
	})
	return st, nil
}

// Logon makes sure the driver holds a session id, logging on (or adopting
// the live session) if it has none. Apply does this by itself; Logon lets a
// caller pay for it ahead of time.
func (m *Miner) Logon(ctx context.Context) error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	if _, err := m.session(ctx); err != nil {
		return m.errf("logon", err)
	}
	return nil
}

// Apply puts the miner to sleep (curtail sleep) or runs it: it wakes a
// sleeping miner, then switches to the highest profile whose watts fit
// under sp.Power (the default profile for 0), holding ATM off while the
// profile changes. A target below the lowest profile is ErrUnsupported.
func (m *Miner) Apply(ctx context.Context, sp miner.Setpoint) error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	switch sp.Mode {
	case miner.ModeSleep:
		if _, err := m.write(ctx, "curtail", "sleep"); err != nil {
			m.known.Forget()
			return m.errf("curtail sleep", err)
		}
		m.known.Update(func(k *knownState) { k.asleep = true })
		return nil
	case miner.ModeRun:
	default:
		return m.errf("apply", fmt.Errorf("mode %q: %w", sp.Mode, miner.ErrUnsupported))
	}
	if sp.Power < 0 {
		return m.errf("apply", fmt.Errorf("power %v is negative: %w", sp.Power, miner.ErrUnsupported))
	}
	caps, target := m.capsRef()
	if sp.Power > 0 {
		step, ok := caps.StepFor(sp.Power)
		if !ok {
			lowest := "none"
			if len(caps.PowerSteps) > 0 {
				lowest = caps.PowerSteps[0].Power.String()
			}
			return m.errf("apply "+sp.String(), fmt.Errorf("below the lowest profile (%s): %w", lowest, miner.ErrUnsupported))
		}
		target = step.Name
	}
	k, fresh := m.known.Get()
	if !fresh {
		r, err := m.client.Call(ctx, "config")
		if err != nil {
			return m.errf("read config", err)
		}
		var cfg []configWire
		if err := r.Decode("CONFIG", &cfg); err != nil || len(cfg) == 0 {
			return m.errf("read config", fmt.Errorf("CONFIG: %v: %w", err, miner.ErrProtocol))
		}
		k = knownState{asleep: cfg[0].CurtailMode == "Sleep", profile: cfg[0].Profile}
	}
	if k.asleep {
		if _, err := m.write(ctx, "curtail", "wakeup"); err != nil {
			m.known.Forget()
			return m.errf("curtail wakeup", err)
		}
	}
	m.known.Update(func(kn *knownState) { kn.asleep, kn.profile = false, k.profile })
	if target == "" || target == k.profile {
		return nil
	}
	if err := m.setProfile(ctx, target); err != nil {
		m.known.Forget()
		return err
	}
	m.known.Update(func(kn *knownState) { kn.profile = target })
	return nil
}

// setProfile runs profileset with ATM disabled around it, restoring ATM
// even when profileset fails.
func (m *Miner) setProfile(ctx context.Context, name string) error {
	r, err := m.client.Call(ctx, "atm")
	if err != nil {
		return m.errf("read atm", err)
	}
	var atm []atmWire
	if err := r.Decode("ATM", &atm); err != nil || len(atm) == 0 {
		return m.errf("read atm", fmt.Errorf("ATM: %v: %w", err, miner.ErrProtocol))
	}
	if atm[0].Enabled {
		if _, err := m.write(ctx, "atmset", "enabled=false"); err != nil {
			return m.errf("atmset enabled=false", err)
		}
	}
	_, perr := m.write(ctx, "profileset", name)
	if perr != nil {
		perr = m.errf("profileset "+name, perr)
	}
	if atm[0].Enabled {
		if _, err := m.write(ctx, "atmset", "enabled=true"); err != nil {
			return errors.Join(perr, m.errf("atmset enabled=true", err))
		}
	}
	return perr
}

// write runs a session command: the session id is the first parameter. On
// a session-invalid error it logs on again once and retries.
func (m *Miner) write(ctx context.Context, cmd string, params ...string) (cgminer.Reply, error) {
	sid, err := m.session(ctx)
	if err != nil {
		return cgminer.Reply{}, err
	}
	r, err := m.client.Call(ctx, cmd, append([]string{sid}, params...)...)
	if err == nil || !sessionInvalid(err) {
		m.usedSID(err)
		return r, err
	}
	m.log.Debug("session rejected, logging on again", "cmd", cmd, "err", err)
	m.setSID("")
	if sid, err = m.session(ctx); err != nil {
		return cgminer.Reply{}, err
	}
	r, err = m.client.Call(ctx, cmd, append([]string{sid}, params...)...)
	m.usedSID(err)
	return r, err
}

// sessionIdle is how long a session may sit unused before the driver
// assumes LuxOS has expired it (after 60 s idle, on the miner's own wall
// clock) and logs on afresh instead of spending a round trip to learn so.
const sessionIdle = 55 * time.Second

// usedSID records a use of the session: any answer from the miner other
// than a session error refreshes it.
func (m *Miner) usedSID(err error) {
	if err != nil && errors.Is(err, miner.ErrUnreachable) {
		return
	}
	m.mu.Lock()
	m.sidUsed = m.wall.Now()
	m.mu.Unlock()
}

func (m *Miner) setSID(s string) {
	m.mu.Lock()
	m.sid = s
	m.sidUsed = m.wall.Now()
	m.mu.Unlock()
}

// session returns the cached session id or obtains one: logon, and when
// logon is refused because a session exists, the id `session` reports.
func (m *Miner) session(ctx context.Context) (string, error) {
	m.mu.Lock()
	sid := m.sid
	if sid != "" && m.wall.Now().Sub(m.sidUsed) >= sessionIdle {
		sid, m.sid = "", "" // expired by now on the miner; do not waste a call
	}
	m.mu.Unlock()
	if sid != "" {
		return sid, nil
	}
	r, lerr := m.client.Call(ctx, "logon")
	if lerr == nil {
		sid, err := sessionID(r)
		if err != nil {
			return "", fmt.Errorf("logon: %w", err)
		}
		m.setSID(sid)
		return sid, nil
	}
	if !errors.Is(lerr, miner.ErrRejected) {
		return "", lerr
	}
	r, err := m.client.Call(ctx, "session")
	if err != nil {
		return "", errors.Join(lerr, err)
	}
	sid, err = sessionID(r)
	if err != nil || sid == "" {
		return "", fmt.Errorf("%w; and no live session to reuse: %w", lerr, miner.ErrDenied)
	}
	m.log.Debug("reusing live session")
	m.setSID(sid)
	return sid, nil
}

func sessionID(r cgminer.Reply) (string, error) {
	var s []sessionWire
	if err := r.Decode("SESSION", &s); err != nil {
		return "", err
	}
	if len(s) == 0 {
		return "", fmt.Errorf("SESSION section empty: %w", miner.ErrProtocol)
	}
	return s[0].SessionID, nil
}

// codeSessionInvalid is the status code this driver assumes LUXminer uses
// for an unknown or expired session id (see testdata/README.md).
const codeSessionInvalid = 318

func sessionInvalid(err error) bool {
	var se *cgminer.StatusError
	if !errors.As(err, &se) {
		return false
	}
	return se.Entry.Code == codeSessionInvalid || strings.Contains(strings.ToLower(se.Entry.Msg), "session")
}

// Logoff drops the miner's write session, if this driver holds one, so
// another controller can log on. It is a no-op when no session is cached.
func (m *Miner) Logoff(ctx context.Context) error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	m.mu.Lock()
	sid := m.sid
	m.sid = ""
	m.mu.Unlock()
	if sid == "" {
		return nil
	}
	if _, err := m.client.Call(ctx, "logoff", sid); err != nil {
		return m.errf("logoff", err)
	}
	return nil
}
