// Package antminer drives Bitmain Antminers running the stock firmware
// (bmminer) and satisfies miner.Miner. It reads telemetry over the
// read-only CGMiner RPC on TCP 4028 (summary, stats, version) and controls
// the machine through the web CGI (port 80, HTTP Digest auth, default
// root/root): it reads get_miner_conf.cgi and writes the same object back
// to set_miner_conf.cgi with "miner-mode" changed, keeping the pools and
// every other key as read.
//
// The stock firmware has no power target and reports no watts. The driver
// offers the firmware's modes as power steps (normal = mode 0, low power
// = mode 3, sleep = mode 1) and estimates power from the model's nameplate
// and the mode (Status.PowerEstimated, Capabilities.PowerMeasured false);
// see testdata/README.md for the figures it assumes.
//
// It does not change pools, fans, frequency, voltage, network settings or
// passwords, reboot, blink, or read logs; and it does not drive other
// firmwares on Antminer hardware (LuxOS, Braiins OS, VNish), which have
// their own drivers.
package antminer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
)

// DriverName is the driver's name in Capabilities.
const DriverName = "antminer"

// Defaults.
const (
	DefaultWebPort  = "80"
	DefaultUsername = "root"
	DefaultPassword = "root"
	// DefaultLowPowerRatio is the share of nominal power and hashrate
	// assumed for low-power mode (mode 3); see testdata/README.md.
	DefaultLowPowerRatio = 0.75
	// SleepPower is the draw assumed in sleep mode (control board and
	// idle fans, 25-50 W).
	SleepPower = energy.Power(30)
	// RampDown and RampUp are the typical times to sleep (FDMiner logs
	// 12 s) and to mine again after a mode change (bmminer restarts and
	// tunes the boards: minutes; not documented).
	RampDown = 15 * time.Second
	RampUp   = 3 * time.Minute
)

// Config is one stock Antminer's configuration.
type Config struct {
	// Addr is host:port of the CGMiner RPC; a bare host gets port 4028.
	Addr string
	// WebAddr is host:port of the web CGI; empty means Addr's host on
	// WebPort (default 80).
	WebAddr string
	WebPort int
	// Username and Password log on to the web CGI; empty means the
	// factory root/root.
	Username, Password string
	// Timeout bounds each request (default cgminer.DefaultTimeout).
	Timeout time.Duration
	// LowPowerRatio is the share of nominal power low-power mode draws
	// (default DefaultLowPowerRatio).
	LowPowerRatio float64
	// NoLowPower hides low-power mode, for models whose firmware lacks it.
	NoLowPower bool
	// ModeAsString writes "miner-mode":"1" instead of 1 (some firmware
	// versions want a string; pyasic antminer_mining_mode_as_str).
	ModeAsString bool
	// NominalPower and NominalHashrate override the built-in nameplate
	// table; both are required for a model the table does not know.
	NominalPower    energy.Power
	NominalHashrate energy.Hashrate
}

// Deps are the driver's injected dependencies.
type Deps struct {
	Clock  clock.Clock  // stamps Status.Time; required
	Logger *slog.Logger // optional
	// Buffers, when set, is shared by every miner's RPC client.
	Buffers *cgminer.BufferPool
	// HTTP, when set, is the client for the web CGI (its Timeout is not
	// used; Config.Timeout bounds each request). Default: one per miner.
	HTTP *http.Client
	// Wall times how long the work mode last read or written is trusted
	// (knownMaxAge). Default the wall clock; it stays wall time when
	// Clock runs accelerated.
	Wall clock.Clock
}

// Miner is one stock Antminer. It is safe for concurrent use; Apply calls
// are serialised per miner.
type Miner struct {
	cfg     Config
	addr    string
	rpc     *cgminer.Client
	web     *webClient
	clock   clock.Clock
	wall    clock.Clock
	log     *slog.Logger
	writeMu sync.Mutex

	mu    sync.Mutex
	caps  miner.Capabilities
	known miner.Known[int] // the work mode; see knownMaxAge
}

// knownMaxAge is how long the driver trusts the work mode the miner last
// reported to it (a get_miner_conf.cgi read) or accepted from it (a
// set_miner_conf.cgi write), so that Status can skip the web read and be
// one RPC round trip. The mode changes only by a configuration write, and
// the stock firmware reads back what was written. Apply always reads the
// configuration it writes back, so a stale mode is at worst reported for
// knownMaxAge, never written.
const knownMaxAge = 10 * time.Second

// New reads the miner's version and stats over RPC to learn its
// Capabilities, and its configuration over the web CGI to check the
// credentials.
func New(ctx context.Context, cfg Config, deps Deps) (*Miner, error) {
	m, err := newMiner(cfg, deps)
	if err != nil {
		return nil, err
	}
	if err := m.learnCaps(ctx); err != nil {
		return nil, err
	}
	if _, err := m.readConf(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// NewWithCapabilities returns a driver for a miner whose Capabilities are
// already known, without any I/O. caps.PowerSteps should hold the steps
// named "low" and "normal" that New reports; Apply maps them to modes 3
// and 0.
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
		return nil, errors.New("antminer: config: addr is empty")
	}
	if deps.Clock == nil {
		return nil, fmt.Errorf("antminer %s: deps: clock is nil", cfg.Addr)
	}
	if cfg.LowPowerRatio == 0 {
		cfg.LowPowerRatio = DefaultLowPowerRatio
	}
	if !(cfg.LowPowerRatio > 0 && cfg.LowPowerRatio < 1) {
		return nil, fmt.Errorf("antminer %s: config: low power ratio %v not in (0, 1)", cfg.Addr, cfg.LowPowerRatio)
	}
	if cfg.NominalPower < 0 || cfg.NominalHashrate < 0 {
		return nil, fmt.Errorf("antminer %s: config: negative nominal power or hashrate", cfg.Addr)
	}
	cfg.Username = cmp.Or(cfg.Username, DefaultUsername)
	cfg.Password = cmp.Or(cfg.Password, DefaultPassword)
	cfg.Timeout = cmp.Or(cfg.Timeout, cgminer.DefaultTimeout)
	rpc := cgminer.NewClient(cfg.Addr, cgminer.WithTimeout(cfg.Timeout), cgminer.WithBufferPool(deps.Buffers))
	webAddr, err := webAddress(rpc.Addr(), cfg)
	if err != nil {
		return nil, fmt.Errorf("antminer %s: config: %w", rpc.Addr(), err)
	}
	hc := deps.HTTP
	if hc == nil {
		hc = newHTTPClient()
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wall := deps.Wall
	if wall == nil {
		wall = clock.Real{}
	}
	return &Miner{
		cfg: cfg, addr: rpc.Addr(), rpc: rpc, clock: deps.Clock, wall: wall,
		web:   &webClient{base: "http://" + webAddr, http: hc, timeout: cfg.Timeout, auth: digestAuth{user: cfg.Username, pass: cfg.Password}},
		log:   log.With("miner", rpc.Addr(), "driver", DriverName),
		known: miner.Known[int]{Clock: wall, MaxAge: knownMaxAge},
	}, nil
}

// webAddress derives the web CGI's host:port.
func webAddress(rpcAddr string, cfg Config) (string, error) {
	if cfg.WebAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.WebAddr); err != nil {
			return "", fmt.Errorf("web addr %q: %w", cfg.WebAddr, err)
		}
		return cfg.WebAddr, nil
	}
	host, _, err := net.SplitHostPort(rpcAddr)
	if err != nil {
		return "", err
	}
	port := DefaultWebPort
	if cfg.WebPort != 0 {
		if cfg.WebPort < 0 || cfg.WebPort > 65535 {
			return "", fmt.Errorf("web port %d out of range", cfg.WebPort)
		}
		port = strconv.Itoa(cfg.WebPort)
	}
	return net.JoinHostPort(host, port), nil
}

func (m *Miner) errf(op string, err error) error {
	return fmt.Errorf("antminer %s: %s: %w", m.addr, op, err)
}

// Addr returns the RPC host:port.
func (m *Miner) Addr() string { return m.addr }

// Capabilities returns what New learnt (or what NewWithCapabilities got).
func (m *Miner) Capabilities() miner.Capabilities {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.caps
	c = c.Clone()
	return c
}

func (m *Miner) capsRef() miner.Capabilities {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.caps
}

func (m *Miner) learnCaps(ctx context.Context) error {
	body, err := m.rpc.Raw(ctx, cgminer.EncodeJSON(capsRequest))
	if err != nil {
		return m.errf("read capabilities", err)
	}
	v, t, err := parseCapsReply(body)
	if err != nil {
		return m.errf("read capabilities", err)
	}
	caps, err := capsFor(v, t, m.cfg)
	if err != nil {
		return m.errf("read capabilities", err)
	}
	m.mu.Lock()
	m.caps = caps
	m.mu.Unlock()
	return nil
}

// nameplate is a model's nominal operating point (research miner-apis.md
// §4; ±5% power per unit).
type nameplate struct {
	power    energy.Power
	hashrate energy.Hashrate
}

// nameplateOf returns the nameplate of a model named as bmminer's Type
// ("Antminer S19j Pro"); case, spaces, dashes and the "Antminer" prefix
// do not matter.
func nameplateOf(model string) (nameplate, bool) {
	k := strings.ToLower(model)
	k = strings.NewReplacer(" ", "", "-", "", "_", "").Replace(k)
	k = strings.TrimPrefix(k, "antminer")
	switch k {
	case "s19jpro":
		return nameplate{3068, 104}, true
	case "s19xp":
		return nameplate{3010, 140}, true
	case "s19pro":
		return nameplate{3250, 110}, true
	case "s21":
		return nameplate{3500, 200}, true
	case "s21xp":
		return nameplate{3645, 270}, true
	}
	return nameplate{}, false
}

// capsFor builds Capabilities from version and stats.
func capsFor(v versionInfo, t telemetry, cfg Config) (miner.Capabilities, error) {
	np, ok := nameplateOf(v.Type)
	if cfg.NominalPower > 0 {
		np.power = cfg.NominalPower
	}
	if cfg.NominalHashrate > 0 {
		np.hashrate = cfg.NominalHashrate
	}
	if !ok && np.hashrate == 0 && t.IdealGHS > 0 {
		np.hashrate = ghsToTHs(t.IdealGHS)
	}
	if np.power <= 0 || np.hashrate <= 0 {
		return miner.Capabilities{}, fmt.Errorf("model %q: no nameplate known, set the nominal power and hashrate in the config: %w", v.Type, miner.ErrUnsupported)
	}
	fw := "bmminer " + cmp.Or(v.BMMiner, "?")
	if v.Compiled != "" {
		fw += " (" + v.Compiled + ")"
	}
	caps := miner.Capabilities{
		Driver: DriverName, Model: v.Type, Firmware: fw,
		NominalPower: np.power, NominalHashrate: np.hashrate,
		CanSleep: true, SleepPower: SleepPower,
		MinPower: np.power, MaxPower: np.power,
		RampDown: RampDown, RampUp: RampUp,
		PowerMeasured: false,
	}
	if !cfg.NoLowPower {
		r := cfg.LowPowerRatio
		caps.PowerSteps = append(caps.PowerSteps, miner.PowerStep{Name: "low", Power: energy.Power(float64(np.power) * r), Hashrate: energy.Hashrate(float64(np.hashrate) * r)})
		caps.MinPower = caps.PowerSteps[0].Power
	}
	caps.PowerSteps = append(caps.PowerSteps, miner.PowerStep{Name: "normal", Power: np.power, Hashrate: np.hashrate})
	return caps, nil
}

func ghsToTHs(g float64) energy.Hashrate { return energy.Hashrate(g / 1000) }

func stepNamed(c miner.Capabilities, name string) (miner.PowerStep, bool) {
	for _, s := range c.PowerSteps {
		if s.Name == name {
			return s, true
		}
	}
	return miner.PowerStep{}, false
}

// readConf fetches and parses get_miner_conf.cgi and remembers the mode
// it holds (forgets it when the read fails or holds none).
func (m *Miner) readConf(ctx context.Context) (minerConf, error) {
	b, err := m.web.get(ctx, pathGetConf)
	if err != nil {
		m.known.Forget()
		return nil, m.errf("read miner conf", err)
	}
	c, err := parseConf(b)
	if err != nil {
		m.known.Forget()
		return nil, m.errf("read miner conf", err)
	}
	if mode, ok := c.mode(); ok {
		m.known.Set(mode)
	} else {
		m.known.Forget()
	}
	return c, nil
}

// statusReq is the encoded status request.
var statusReq = cgminer.EncodeJSON(statusRequest)

// Status reads summary+stats over RPC and estimates power from the work
// mode and hashrate. The mode is the one last read or written if that is
// fresh (knownMode), else it is read from the web CGI concurrently with
// the RPC.
func (m *Miner) Status(ctx context.Context) (miner.Status, error) {
	mode, known := m.known.Get()
	var body []byte
	var err error
	if known {
		body, err = m.rpc.Raw(ctx, statusReq)
	} else {
		var (
			wg      sync.WaitGroup
			conf    minerConf
			confErr error
		)
		wg.Go(func() { conf, confErr = m.readConf(ctx) })
		body, err = m.rpc.Raw(ctx, statusReq)
		wg.Wait()
		if err == nil && confErr != nil {
			return miner.Status{}, confErr
		}
		mode, known = conf.mode()
	}
	if err != nil {
		return miner.Status{}, m.errf("status", err)
	}
	t, err := parseStatusReply(body)
	if err != nil {
		return miner.Status{}, m.errf("status", err)
	}
	st := statusOf(t, mode, known, m.capsRef())
	st.Time = m.clock.Now()
	return st, nil
}

// Apply writes the miner-mode for sp: sleep is mode 1; Run(0) and any
// target at or above nominal is mode 0; a lower target is low-power mode
// 3 if it fits (the highest step at most the target), else
// ErrUnsupported. A miner already in the mode is not written to (a write
// restarts bmminer).
func (m *Miner) Apply(ctx context.Context, sp miner.Setpoint) error {
	mode, err := m.modeFor(sp)
	if err != nil {
		return m.errf("apply "+sp.String(), err)
	}
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	conf, err := m.readConf(ctx)
	if err != nil {
		return err
	}
	if cur, ok := conf.mode(); ok && cur == mode {
		if _, set := conf.get("miner-mode"); !set || modeValue(conf) == mode {
			return nil
		}
	}
	b, err := m.web.post(ctx, pathSetConf, conf.withMode(mode, m.cfg.ModeAsString).marshal())
	if err != nil {
		m.known.Forget() // the write may or may not have landed
		return m.errf("set miner-mode "+strconv.Itoa(mode), err)
	}
	if err := checkSetConf(b); err != nil {
		m.known.Forget()
		return m.errf("set miner-mode "+strconv.Itoa(mode), err)
	}
	m.known.Set(mode)
	m.log.Debug("miner-mode set", "mode", mode, "setpoint", sp.String())
	return nil
}

// modeValue returns the "miner-mode" member as an int (-1 if unreadable).
func modeValue(c minerConf) int {
	v, _ := c.get("miner-mode")
	n, ok := intValue(v)
	if !ok {
		return -1
	}
	return n
}

// modeFor maps a setpoint to a miner-mode.
func (m *Miner) modeFor(sp miner.Setpoint) (int, error) {
	switch sp.Mode {
	case miner.ModeSleep:
		return modeSleep, nil
	case miner.ModeRun:
	default:
		return 0, fmt.Errorf("mode %q: %w", sp.Mode, miner.ErrUnsupported)
	}
	if sp.Power < 0 {
		return 0, fmt.Errorf("power %v is negative: %w", sp.Power, miner.ErrUnsupported)
	}
	if sp.Power == 0 {
		return modeNormal, nil
	}
	caps := m.capsRef()
	step, ok := caps.StepFor(sp.Power)
	if !ok {
		lowest := "none"
		if len(caps.PowerSteps) > 0 {
			lowest = caps.PowerSteps[0].Power.String()
		}
		return 0, fmt.Errorf("below the lowest mode (%s): %w", lowest, miner.ErrUnsupported)
	}
	if step.Name == "low" {
		return modeLowPower, nil
	}
	return modeNormal, nil
}

// Logoff forgets the cached digest challenge, so the next web request
// must be challenged and authenticated afresh (after a credential change,
// or to measure a logon). It sends nothing: HTTP Digest has no session.
func (m *Miner) Logoff(context.Context) error {
	m.web.auth.mu.Lock()
	m.web.auth.ch, m.web.auth.nc = nil, 0
	m.web.auth.mu.Unlock()
	return nil
}
