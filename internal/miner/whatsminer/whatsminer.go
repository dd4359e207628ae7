// Package whatsminer drives MicroBT Whatsminers running btminer through
// its TCP API and satisfies miner.Miner: it reads telemetry, puts the
// machine to sleep and wakes it, and runs it at partial power.
//
// Two API generations are spoken. API v2 (TCP 4028, one JSON request per
// connection) answers reads in plaintext and takes writes only inside an
// AES-256-ECB envelope keyed from the admin password and a token the miner
// issues (get_token); tokens are cached per miner on wall time and fetched
// again when they expire or the miner rejects them (code 135). Sleep is
// power_off, wake is power_on and partial power is set_power_pct, a fast
// temporary reduction relative to the power limit. API v3 (firmware from
// late 2024, TCP 4433, JSON framed by a 4-byte little-endian length) signs
// each write with a salted SHA-256 token; sleep and wake are
// set.miner.service stop/start and partial power is set.miner.power_limit.
//
// The driver does not change pools, fans, passwords or network settings,
// and never dispatches with adjust_power_limit (v2), which reboots the
// miner: that is a configuration step exposed as AdjustPowerLimit.
package whatsminer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
)

// Driver is the name Capabilities report.
const Driver = "whatsminer"

// API selects the btminer API generation.
type API string

// API generations. APIAuto probes v3 first, then v2.
const (
	APIAuto API = ""
	APIV2   API = "v2"
	APIV3   API = "v3"
)

// Defaults.
const (
	DefaultV3Port     = 4433
	DefaultMinPercent = 50
	// DefaultTokenTTL is how long a v2 token is reused: the API document
	// gives tokens a 30 min keep-alive; the driver renews a little early.
	DefaultTokenTTL = 25 * time.Minute
	// DefaultSleepPower is assumed for a machine after power_off, which
	// cuts the hashboards' supply but keeps the control board and fans.
	DefaultSleepPower energy.Power = 20
)

// Config is one Whatsminer's configuration. Credentials never appear in
// logs or errors.
type Config struct {
	// Addr is host:port of the v2 API; a bare host gets port 4028.
	Addr string
	// API selects v2 or v3; empty probes v3 (New only), then v2.
	API API
	// V3Port is the v3 API port on the same host (default 4433).
	V3Port int
	// Password is the v2 admin password ("admin" when empty, the factory
	// default, which btminer requires to be changed before writes work).
	Password string
	// V3Account and V3Password are the v3 write credentials (default
	// "super"/"super").
	V3Account, V3Password string
	// Timeout bounds each request (default cgminer.DefaultTimeout).
	Timeout time.Duration
	// MinPercent is the lowest share of the power limit, in percent, that
	// Apply asks for (default 50); a lower target is ErrUnsupported.
	MinPercent int
	// SleepPower is what the machine draws asleep (default 20 W).
	SleepPower energy.Power
	// TokenTTL is how long a v2 token is reused (default 25 min).
	TokenTTL time.Duration
}

// Deps are the driver's injected dependencies.
type Deps struct {
	Clock  clock.Clock  // stamps Status.Time; required
	Logger *slog.Logger // optional
	// Wall times tokens (v2 expiry, v3 timestamps). Default the wall
	// clock; it stays wall time when Clock runs accelerated.
	Wall clock.Clock
}

// Miner is one Whatsminer. It is safe for concurrent use; writes are
// serialised per miner.
type Miner struct {
	cfg     Config
	addr    string
	v3addr  string
	client  *cgminer.Client
	clock   clock.Clock
	wall    clock.Clock
	log     *slog.Logger
	writeMu sync.Mutex

	mu      sync.Mutex // guards the fields below
	api     API
	caps    miner.Capabilities
	token   *v2Token
	salt    string // v3 salt
	percent int    // last set_power_pct this driver applied (v2); 0 = none
	// pwSalt and pwHash cache MD5CryptHash(password, pwSalt), the part
	// of a v2 token that depends only on the miner's stable salt.
	pwSalt, pwHash string
	known          miner.Known[bool] // the miner is off
}

// knownMaxAge is how long the driver trusts the power state (off or on)
// the miner last told it, by a status read or an accepted power_off /
// power_on, so Apply can skip re-reading it; see miner.Known.
const knownMaxAge = 10 * time.Second

// New reads the miner's identity and power limit to learn its
// Capabilities. With Config.API empty it tries API v3 first and falls back
// to v2 when the v3 port does not answer in kind.
func New(ctx context.Context, cfg Config, deps Deps) (*Miner, error) {
	m, err := newMiner(cfg, deps)
	if err != nil {
		return nil, err
	}
	if cfg.API == APIAuto {
		caps, err := m.capsV3(ctx)
		if err == nil {
			m.setCaps(APIV3, caps)
			return m, nil
		}
		m.log.Debug("api v3 probe failed, trying v2", "err", err)
		m.api = APIV2
	}
	var caps miner.Capabilities
	if m.api == APIV3 {
		caps, err = m.capsV3(ctx)
	} else {
		caps, err = m.capsV2(ctx)
	}
	if err != nil {
		return nil, m.errf("read capabilities", err)
	}
	m.setCaps(m.api, caps)
	return m, nil
}

// NewWithCapabilities returns a driver for a miner whose Capabilities are
// already known, without I/O. cfg.API must be v2 or v3. caps.MaxPower is
// taken as the power limit that percentages refer to (NominalPower when
// zero); a zero SleepPower gets Config.SleepPower.
func NewWithCapabilities(cfg Config, deps Deps, caps miner.Capabilities) (*Miner, error) {
	if cfg.API != APIV2 && cfg.API != APIV3 {
		return nil, fmt.Errorf("whatsminer %s: config: api %q: want v2 or v3 without probing", cfg.Addr, cfg.API)
	}
	m, err := newMiner(cfg, deps)
	if err != nil {
		return nil, err
	}
	if caps.MaxPower <= 0 {
		caps.MaxPower = caps.NominalPower
	}
	if caps.SleepPower == 0 {
		caps.SleepPower = m.cfg.SleepPower
	}
	caps.PowerSteps = nil
	m.setCaps(cfg.API, caps)
	return m, nil
}

func newMiner(cfg Config, deps Deps) (*Miner, error) {
	if cfg.Addr == "" {
		return nil, errors.New("whatsminer: config: addr is empty")
	}
	if deps.Clock == nil {
		return nil, fmt.Errorf("whatsminer %s: deps: clock is nil", cfg.Addr)
	}
	switch cfg.API {
	case APIAuto, APIV2, APIV3:
	default:
		return nil, fmt.Errorf("whatsminer %s: config: api %q: want v2, v3 or empty", cfg.Addr, cfg.API)
	}
	if cfg.MinPercent == 0 {
		cfg.MinPercent = DefaultMinPercent
	}
	if cfg.MinPercent < 1 || cfg.MinPercent > 100 {
		return nil, fmt.Errorf("whatsminer %s: config: min percent %d: want 1-100", cfg.Addr, cfg.MinPercent)
	}
	if cfg.V3Port == 0 {
		cfg.V3Port = DefaultV3Port
	}
	if cfg.Password == "" {
		cfg.Password = "admin"
	}
	if cfg.V3Account == "" {
		cfg.V3Account = "super"
	}
	if cfg.V3Password == "" {
		cfg.V3Password = "super"
	}
	if cfg.SleepPower == 0 {
		cfg.SleepPower = DefaultSleepPower
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = cgminer.DefaultTimeout
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wall := deps.Wall
	if wall == nil {
		wall = clock.Real{}
	}
	c := cgminer.NewClient(cfg.Addr, cgminer.WithTimeout(cfg.Timeout))
	host, _, _ := net.SplitHostPort(c.Addr())
	return &Miner{
		cfg: cfg, addr: c.Addr(), v3addr: net.JoinHostPort(host, strconv.Itoa(cfg.V3Port)),
		client: c, clock: deps.Clock, wall: wall, api: cfg.API,
		log:   log.With("miner", c.Addr(), "driver", Driver),
		known: miner.Known[bool]{Clock: wall, MaxAge: knownMaxAge},
	}, nil
}

func (m *Miner) setCaps(api API, caps miner.Capabilities) {
	caps.Driver = Driver
	m.mu.Lock()
	m.api, m.caps = api, caps
	m.mu.Unlock()
}

func (m *Miner) capsAPI() (miner.Capabilities, API) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.caps, m.api
}

// capsFor builds Capabilities from a power limit and factory hashrate.
func (m *Miner) capsFor(model, firmware string, limit energy.Power, hash energy.Hashrate) (miner.Capabilities, error) {
	if limit <= 0 || math.IsNaN(float64(limit)) || math.IsInf(float64(limit), 0) {
		return miner.Capabilities{}, fmt.Errorf("power limit %v: %w", limit, miner.ErrProtocol)
	}
	return miner.Capabilities{
		Driver: Driver, Model: model, Firmware: firmware,
		NominalPower: limit, NominalHashrate: hash,
		CanSleep: true, SleepPower: m.cfg.SleepPower,
		MinPower: limit * energy.Power(m.cfg.MinPercent) / 100, MaxPower: limit,
		RampDown: 10 * time.Second, RampUp: 60 * time.Second,
		PowerMeasured: true,
	}, nil
}

func (m *Miner) errf(op string, err error) error {
	return fmt.Errorf("whatsminer %s: %s: %w", m.addr, op, err)
}

// Addr returns the v2 API's host:port (the v3 port is on the same host).
func (m *Miner) Addr() string { return m.addr }

// API returns the API generation in use.
func (m *Miner) API() API {
	_, api := m.capsAPI()
	return api
}

// Capabilities returns what New learnt (or NewWithCapabilities got).
func (m *Miner) Capabilities() miner.Capabilities {
	c, _ := m.capsAPI()
	c.PowerSteps = nil
	return c
}

// Status reads fresh telemetry.
func (m *Miner) Status(ctx context.Context) (miner.Status, error) {
	caps, api := m.capsAPI()
	var st miner.Status
	var err error
	if api == APIV3 {
		st, err = m.statusV3(ctx, caps)
	} else {
		st, err = m.statusV2(ctx, caps)
	}
	if err != nil {
		return miner.Status{}, m.errf("status", err)
	}
	st.Time = m.clock.Now()
	return st, nil
}

// Apply puts the miner to sleep or runs it at sp.Power (0 = its power
// limit). Targets between MinPower and MaxPower are continuous; above
// MaxPower the miner runs at its limit; below MinPower is ErrUnsupported.
func (m *Miner) Apply(ctx context.Context, sp miner.Setpoint) error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	caps, api := m.capsAPI()
	switch sp.Mode {
	case miner.ModeSleep:
		if api == APIV3 {
			return m.wrap("set.miner.service stop", m.writeV3(ctx, "set.miner.service", "stop"))
		}
		if _, err := m.writeV2(ctx, "power_off", "respbefore", "true"); err != nil {
			m.known.Forget()
			return m.errf("power_off", err)
		}
		m.known.Set(true)
		return nil
	case miner.ModeRun:
	default:
		return m.errf("apply", fmt.Errorf("mode %q: %w", sp.Mode, miner.ErrUnsupported))
	}
	target := sp.Power
	if target < 0 || math.IsNaN(float64(target)) || math.IsInf(float64(target), 0) {
		return m.errf("apply "+sp.String(), fmt.Errorf("power %v: %w", target, miner.ErrUnsupported))
	}
	if caps.MaxPower <= 0 {
		return m.errf("apply "+sp.String(), fmt.Errorf("power limit unknown: %w", miner.ErrUnsupported))
	}
	if target == 0 || target > caps.MaxPower {
		target = caps.MaxPower
	}
	if target < caps.MinPower {
		return m.errf("apply "+sp.String(), fmt.Errorf("below the minimum %v: %w", caps.MinPower, miner.ErrUnsupported))
	}
	if api == APIV3 {
		return m.applyV3(ctx, target)
	}
	return m.applyV2(ctx, caps, target)
}

func (m *Miner) wrap(op string, err error) error {
	if err != nil {
		return m.errf(op, err)
	}
	return nil
}

// percentFor returns the whole percent of limit that fits under target,
// at least min.
func percentFor(target, limit energy.Power, lo int) int {
	p := int(math.Floor(float64(target) * 100 / float64(limit)))
	return max(lo, min(100, p))
}

// AdjustPowerLimit sets the miner's upper power limit (v2
// adjust_power_limit, v3 set.miner.power_limit). On API v2 the miner
// REBOOTS to apply it: use it for configuration, never for dispatch. The
// driver's Capabilities follow the new limit.
func (m *Miner) AdjustPowerLimit(ctx context.Context, limit energy.Power) error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	if limit <= 0 || math.IsNaN(float64(limit)) || math.IsInf(float64(limit), 0) {
		return m.errf("adjust power limit", fmt.Errorf("limit %v: %w", limit, miner.ErrUnsupported))
	}
	_, api := m.capsAPI()
	w := strconv.Itoa(int(math.Round(float64(limit))))
	var err error
	if api == APIV3 {
		err = m.writeV3(ctx, "set.miner.power_limit", w)
	} else {
		_, err = m.writeV2(ctx, "adjust_power_limit", "power_limit", w)
	}
	if err != nil {
		return m.errf("adjust power limit", err)
	}
	m.mu.Lock()
	m.caps.MaxPower = limit
	m.caps.MinPower = limit * energy.Power(m.cfg.MinPercent) / 100
	m.percent = 0
	m.known.Forget() // v2 reboots to apply it
	m.mu.Unlock()
	return nil
}

// Logoff forgets the driver's v2 token and v3 salt, so the next write
// must fetch them again (after a credential change, or to measure a
// logon). It sends nothing: Whatsminer tokens simply expire.
func (m *Miner) Logoff(context.Context) error {
	m.mu.Lock()
	m.token, m.salt = nil, ""
	m.mu.Unlock()
	return nil
}
