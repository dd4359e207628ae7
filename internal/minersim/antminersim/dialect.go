// Package antminersim is the simulator dialect of Bitmain's stock Antminer
// firmware (bmminer) for internal/minersim: it answers the read-only
// CGMiner RPC on the fleet's shared port the way bmminer does (JSON or
// text, NUL-terminated, the missing comma "}{" between STATS objects) and
// serves the web CGI (get/set_miner_conf.cgi, get_system_info.cgi,
// stats.cgi, summary.cgi) behind HTTP Digest auth on its own listener,
// "antminer-web" (port 80 on real machines; whatever free port the fleet
// opens here, so it never needs root).
//
// Writing "miner-mode" through set_miner_conf.cgi drives the minersim
// physical model: 1 sleeps the miner, 0 wakes it at its default profile,
// 3 wakes it at the low-power profile (the highest profile drawing at most
// Config.LowPowerRatio of the default). Each miner keeps the configuration
// JSON last written to it and returns it as written.
//
// It is a test double, not a firmware emulator: it has no pools, no
// network or password pages, no firmware upgrade and no log CGIs, and it
// does not check digest nonce counts for replays.
package antminersim

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/minersim"
)

// Names the dialect registers under.
const (
	// Name is the dialect name for minersim.MinerSpec.Dialect.
	Name = "antminer"
	// WebListener is the extra listener serving the web CGI.
	WebListener = "antminer-web"
	// Realm is the HTTP Digest realm of the stock web server.
	Realm = "antMiner Configuration"
)

// Defaults.
const (
	DefaultUsername      = "root"
	DefaultPassword      = "root"
	DefaultLowPowerRatio = 0.75
	DefaultNonceTTL      = 5 * time.Minute
)

// Firmware identity the simulated miners report.
const (
	bmminerVersion = "1.0.0"
	apiVersion     = "3.1"
	minerVersion   = "49.0.1.3"
	compileTime    = "Thu Apr 20 11:43:54 CST 2023"
	description    = "cgminer " + bmminerVersion
)

// Miner modes written as "miner-mode" (and read back as
// "bitmain-work-mode").
const (
	ModeNormal   = 0
	ModeSleep    = 1
	ModeLowPower = 3
)

// Config configures the dialect.
type Config struct {
	// Username and Password are the web credentials (default root/root).
	Username, Password string
	// LowPowerRatio picks the profile of mode 3: the highest profile whose
	// power is at most this share of the default profile's (default 0.75).
	LowPowerRatio float64
	// NonceTTL is how long a digest nonce stays fresh on Wall (default
	// 5 min); an older one is answered 401 with stale=true.
	NonceTTL time.Duration
	// Wall times nonces: protocol timeouts stay on wall time even when the
	// fleet's physics runs on a manual or accelerated clock. Default the
	// wall clock.
	Wall clock.Clock
}

// Dialect is the stock Antminer API for a minersim fleet. One Dialect may
// serve any number of miners and fleets; it is safe for concurrent use.
type Dialect struct {
	cfg    Config
	secret [32]byte

	mu    sync.Mutex
	units map[*minersim.Miner]*unit
}

// New returns the dialect.
func New(cfg Config) *Dialect {
	if cfg.Username == "" {
		cfg.Username = DefaultUsername
	}
	if cfg.Password == "" {
		cfg.Password = DefaultPassword
	}
	if cfg.LowPowerRatio <= 0 || cfg.LowPowerRatio >= 1 {
		cfg.LowPowerRatio = DefaultLowPowerRatio
	}
	if cfg.NonceTTL <= 0 {
		cfg.NonceTTL = DefaultNonceTTL
	}
	if cfg.Wall == nil {
		cfg.Wall = clock.Real{}
	}
	d := &Dialect{cfg: cfg, units: map[*minersim.Miner]*unit{}}
	rand.Read(d.secret[:])
	return d
}

// Listeners names the web listener.
func (d *Dialect) Listeners() []string { return []string{WebListener} }

// unit is the firmware-side state of one miner.
type unit struct {
	mu      sync.Mutex
	conf    []byte    // the configuration JSON, as last written
	mode    int       // current miner-mode
	started time.Time // when bmminer last (re)started, on the fleet clock
	accBase uint64    // shares counted before that restart
	rejBase uint64
}

// unitOf returns u's state, creating it on first use: the factory
// configuration, in normal mode unless the miner starts asleep.
func (d *Dialect) unitOf(u *minersim.Miner) *unit {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.units[u]
	if ok {
		return s
	}
	s = &unit{started: u.Started()}
	if u.Snapshot().State == miner.StateSleeping {
		s.mode = ModeSleep
	}
	s.conf = factoryConf(u, s.mode)
	d.units[u] = s
	return s
}

// Conf returns the configuration JSON miner u returns from
// get_miner_conf.cgi.
func (d *Dialect) Conf(u *minersim.Miner) []byte {
	s := d.unitOf(u)
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.conf...)
}

// Mode returns miner u's current miner-mode.
func (d *Dialect) Mode(u *minersim.Miner) int {
	s := d.unitOf(u)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// SetConf replaces miner u's stored configuration JSON (a JSON object)
// without changing its mode, as if written before the simulation began.
func (d *Dialect) SetConf(u *minersim.Miner, conf []byte) error {
	if _, err := parseObject(conf); err != nil {
		return err
	}
	s := d.unitOf(u)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conf = append([]byte(nil), conf...)
	return nil
}

// setMode applies a written miner-mode to the physical model: bmminer
// restarts (uptime and share counters reset) and the miner sleeps or
// wakes at the mode's profile. Callers hold s.mu.
func (d *Dialect) setMode(u *minersim.Miner, s *unit, mode int) {
	switch mode {
	case ModeSleep:
		u.Sleep()
	case ModeNormal:
		u.SetProfile(u.DefaultProfileIndex())
		u.Wake()
	case ModeLowPower:
		u.SetProfile(d.lowProfile(u))
		u.Wake()
	}
	snap := u.Snapshot()
	s.mode = mode
	s.started = snap.Time
	s.accBase, s.rejBase = snap.Accepted, snap.Rejected
}

// lowProfile returns the index of the mode-3 profile.
func (d *Dialect) lowProfile(u *minersim.Miner) int {
	ps := u.Profiles()
	limit := float64(ps[u.DefaultProfileIndex()].Power) * d.cfg.LowPowerRatio
	best := 0
	for i, p := range ps {
		if float64(p.Power) <= limit && p.Power >= ps[best].Power {
			best = i
		}
	}
	return best
}

// ServeListener serves the web CGI on ln until ctx ends.
func (d *Dialect) ServeListener(ctx context.Context, name string, ln net.Listener, f *minersim.Fleet) error {
	if name != WebListener {
		return errors.New("antminersim: unknown listener " + name)
	}
	srv := &http.Server{
		Handler:           d.webHandler(ctx, f),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(loopbackOnly{ln}) }()
	select {
	case <-ctx.Done():
		srv.Close()
		<-done
		return nil
	case err := <-done:
		if ctx.Err() != nil || errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// loopbackOnly drops connections from non-loopback peers, as the fleet
// does on its RPC port.
type loopbackOnly struct{ net.Listener }

func (l loopbackOnly) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if minersim.LoopbackPeer(c.RemoteAddr()) {
			return c, nil
		}
		c.Close()
	}
}
