// Package braiins drives mining machines running Braiins OS (BOS, BOS+)
// through its public gRPC API (package braiins.bos.v1, plaintext on TCP
// 50051), and satisfies miner.Miner: it reads telemetry, pauses and
// resumes mining (sleep and wake), and runs the machine at a power target
// anywhere in the tuner's range (a continuous target, not steps).
//
// It logs in with a username and password (AuthenticationService/Login),
// caches the token and sends it as `authorization` metadata; when the
// miner answers Unauthenticated (the token expired after idling) it logs
// in again once and retries.
//
// It does not use the REST mirror, the legacy cgminer API on 4028, hashrate
// targets, Dynamic Performance Scaling, pools, cooling configuration or
// hashboard enable/disable. SetQuickRamping is exposed for operators but
// never called on its own.
package braiins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/braiins/bospb"
)

// Name is the driver's name as Capabilities report it.
const Name = "braiins"

// DefaultPort is the port of the Braiins OS public gRPC API.
const DefaultPort = "50051"

// DefaultTimeout bounds each call when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// DefaultUser is the Braiins OS administrator account.
const DefaultUser = "root"

// authHeader is the metadata key carrying the token, both ways (no
// "Bearer" prefix).
const authHeader = "authorization"

// Config is one Braiins OS miner's configuration.
type Config struct {
	// Addr is host:port of the gRPC API; a bare host gets port 50051.
	Addr string
	// User and Password log in; User defaults to "root". They never
	// appear in logs or errors.
	User     string
	Password string
	// Timeout bounds each call (default DefaultTimeout); a caller's
	// earlier deadline wins.
	Timeout time.Duration
}

// Deps are the driver's injected dependencies.
type Deps struct {
	Clock  clock.Clock  // stamps Status.Time; required
	Logger *slog.Logger // optional
	// DialOptions are appended to the driver's (insecure credentials), for
	// tests; optional.
	DialOptions []grpc.DialOption
}

// Miner is one Braiins OS machine. It is safe for concurrent use; writes
// (Apply) are serialised per miner.
type Miner struct {
	addr    string
	user    string
	pass    string
	timeout time.Duration
	clock   clock.Clock
	log     *slog.Logger
	conn    *grpc.ClientConn

	auth    bospb.AuthenticationServiceClient
	actions bospb.ActionsServiceClient
	perf    bospb.PerformanceServiceClient
	config  bospb.ConfigurationServiceClient
	miners  bospb.MinerServiceClient
	cooling bospb.CoolingServiceClient

	writeMu sync.Mutex // one Apply at a time
	loginMu sync.Mutex // one Login at a time
	mu      sync.Mutex // guards token and caps
	token   string
	caps    miner.Capabilities
}

// New logs in and reads the miner's details and constraints to learn its
// Capabilities.
func New(ctx context.Context, cfg Config, deps Deps) (*Miner, error) {
	m, err := newMiner(cfg, deps)
	if err != nil {
		return nil, err
	}
	if err := m.learnCaps(ctx); err != nil {
		m.conn.Close()
		return nil, err
	}
	return m, nil
}

// NewWithCapabilities returns a driver for a miner whose Capabilities are
// already known (from a previous New, a store or config), without any I/O:
// the connection and the login happen on the first call.
func NewWithCapabilities(cfg Config, deps Deps, caps miner.Capabilities) (*Miner, error) {
	m, err := newMiner(cfg, deps)
	if err != nil {
		return nil, err
	}
	caps.PowerSteps = nil
	m.caps = caps
	return m, nil
}

func newMiner(cfg Config, deps Deps) (*Miner, error) {
	if cfg.Addr == "" {
		return nil, errors.New("braiins: config: addr is empty")
	}
	addr := cfg.Addr
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, DefaultPort)
	}
	if deps.Clock == nil {
		return nil, fmt.Errorf("braiins %s: deps: clock is nil", addr)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	user := cfg.User
	if user == "" {
		user = DefaultUser
	}
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, deps.DialOptions...)
	// passthrough: the address is dialled as given, with no DNS resolver
	// round trip in the way of the per-call deadlines.
	conn, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("braiins %s: client: %w", addr, err)
	}
	return &Miner{
		addr: addr, user: user, pass: cfg.Password, timeout: timeout,
		clock: deps.Clock, log: log.With("miner", addr, "driver", Name), conn: conn,
		auth:    bospb.NewAuthenticationServiceClient(conn),
		actions: bospb.NewActionsServiceClient(conn),
		perf:    bospb.NewPerformanceServiceClient(conn),
		config:  bospb.NewConfigurationServiceClient(conn),
		miners:  bospb.NewMinerServiceClient(conn),
		cooling: bospb.NewCoolingServiceClient(conn),
	}, nil
}

func (m *Miner) errf(op string, err error) error {
	return fmt.Errorf("braiins %s: %s: %w", m.addr, op, err)
}

// Addr returns host:port of the gRPC API.
func (m *Miner) Addr() string { return m.addr }

// Close closes the connection. The Miner must not be used afterwards.
func (m *Miner) Close() error { return m.conn.Close() }

// Capabilities returns what New learnt (or what NewWithCapabilities got).
func (m *Miner) Capabilities() miner.Capabilities {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.caps
}

func (m *Miner) capsKnown() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.caps.NominalPower > 0
}

// learnCaps reads details and constraints.
func (m *Miner) learnCaps(ctx context.Context) error {
	det, err := call(ctx, m, "get miner details", m.miners.GetMinerDetails, &bospb.GetMinerDetailsRequest{})
	if err != nil {
		return err
	}
	cons, err := call(ctx, m, "get constraints", m.config.GetConstraints, &bospb.GetConstraintsRequest{})
	if err != nil {
		return err
	}
	caps, err := capsFrom(det, cons)
	if err != nil {
		return m.errf("read capabilities", err)
	}
	m.mu.Lock()
	m.caps = caps
	m.mu.Unlock()
	return nil
}

// call runs one unary RPC under the per-call deadline with the cached
// token (logging in first if there is none); on Unauthenticated it logs
// in again once and retries. Errors are wrapped with the driver, address
// and operation.
func call[Req, Resp any](ctx context.Context, m *Miner, op string, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	var zero Resp
	tok, err := m.session(ctx, "")
	if err != nil {
		return zero, m.errf(op, err)
	}
	resp, err := invoke(ctx, m, tok, rpc, req)
	if err != nil && isUnauthenticated(err) {
		m.log.Debug("token rejected, logging in again", "op", op)
		if tok, err = m.session(ctx, tok); err != nil {
			return zero, m.errf(op, err)
		}
		resp, err = invoke(ctx, m, tok, rpc, req)
	}
	if err != nil {
		return zero, m.errf(op, mapErr(ctx, err))
	}
	return resp, nil
}

func invoke[Req, Resp any](ctx context.Context, m *Miner, tok string, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	cctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	cctx = metadata.AppendToOutgoingContext(cctx, authHeader, tok)
	return rpc(cctx, req)
}

// session returns a token to use: the cached one unless it is stale (the
// token the miner just rejected), else a fresh one from Login. Concurrent
// callers share one Login.
func (m *Miner) session(ctx context.Context, stale string) (string, error) {
	m.mu.Lock()
	tok := m.token
	m.mu.Unlock()
	if tok != "" && tok != stale {
		return tok, nil
	}
	m.loginMu.Lock()
	defer m.loginMu.Unlock()
	m.mu.Lock()
	tok = m.token
	m.mu.Unlock()
	if tok != "" && tok != stale {
		return tok, nil // another caller logged in meanwhile
	}
	tok, err := m.login(ctx)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	m.token = tok
	m.mu.Unlock()
	return tok, nil
}

// login calls AuthenticationService/Login. The token is in the reply
// message (API 1.x) or, from older firmware, only in the `authorization`
// response header; the message wins when both are present.
func (m *Miner) login(ctx context.Context) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	var hdr metadata.MD
	resp, err := m.auth.Login(cctx, &bospb.LoginRequest{Username: m.user, Password: m.pass}, grpc.Header(&hdr))
	if err != nil {
		return "", fmt.Errorf("login as %q: %w", m.user, mapErr(ctx, err))
	}
	tok := resp.GetToken()
	if tok == "" {
		if v := hdr.Get(authHeader); len(v) > 0 {
			tok = v[0]
		}
	}
	if tok == "" {
		return "", fmt.Errorf("login: no token in the reply or its %s header: %w", authHeader, miner.ErrProtocol)
	}
	return tok, nil
}

// Status reads details, stats, tuner state, hashboards and cooling state
// (five calls on one connection, made concurrently).
func (m *Miner) Status(ctx context.Context) (miner.Status, error) {
	if !m.capsKnown() {
		if err := m.learnCaps(ctx); err != nil {
			return miner.Status{}, err
		}
	}
	var (
		w    wire
		errs [5]error
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		w.details, errs[0] = call(ctx, m, "get miner details", m.miners.GetMinerDetails, &bospb.GetMinerDetailsRequest{})
	})
	wg.Go(func() {
		w.stats, errs[1] = call(ctx, m, "get miner stats", m.miners.GetMinerStats, &bospb.GetMinerStatsRequest{})
	})
	wg.Go(func() {
		w.tuner, errs[2] = call(ctx, m, "get tuner state", m.perf.GetTunerState, &bospb.GetTunerStateRequest{})
	})
	wg.Go(func() {
		w.boards, errs[3] = call(ctx, m, "get hashboards", m.miners.GetHashboards, &bospb.GetHashboardsRequest{})
	})
	wg.Go(func() {
		w.cooling, errs[4] = call(ctx, m, "get cooling state", m.cooling.GetCoolingState, &bospb.GetCoolingStateRequest{})
	})
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return miner.Status{}, err // the first in call order
		}
	}
	st, err := statusFrom(w, m.Capabilities())
	if err != nil {
		return miner.Status{}, m.errf("status", err)
	}
	st.Time = m.clock.Now()
	return st, nil
}

// saveAction is how power targets are set: saved to the configuration and
// applied at once, so that a reboot keeps the last target.
const saveAction = bospb.SaveAction_SAVE_ACTION_SAVE_AND_APPLY

// Apply pauses mining (Sleep) or runs the machine: it resumes mining
// (a no-op when mining) and then sets the power target, or the default
// target for Run(0). A target outside the tuner's range is ErrUnsupported,
// checked before any call.
func (m *Miner) Apply(ctx context.Context, sp miner.Setpoint) error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	switch sp.Mode {
	case miner.ModeSleep:
		_, err := call(ctx, m, "pause mining", m.actions.PauseMining, &bospb.PauseMiningRequest{})
		return err
	case miner.ModeRun:
	default:
		return m.errf("apply", fmt.Errorf("mode %q: %w", sp.Mode, miner.ErrUnsupported))
	}
	if sp.Power < 0 {
		return m.errf("apply "+sp.String(), fmt.Errorf("power %v is negative: %w", sp.Power, miner.ErrUnsupported))
	}
	caps := m.Capabilities()
	if sp.Power > 0 && caps.MaxPower > 0 && (sp.Power < caps.MinPower || sp.Power > caps.MaxPower) {
		return m.errf("apply "+sp.String(), fmt.Errorf("outside the tuner's range %v-%v: %w", caps.MinPower, caps.MaxPower, miner.ErrUnsupported))
	}
	if _, err := call(ctx, m, "resume mining", m.actions.ResumeMining, &bospb.ResumeMiningRequest{}); err != nil {
		return err
	}
	if sp.Power == 0 {
		_, err := call(ctx, m, "set default power target", m.perf.SetDefaultPowerTarget, &bospb.SetDefaultPowerTargetRequest{SaveAction: saveAction})
		return err
	}
	_, err := call(ctx, m, "set power target "+sp.Power.String(), m.perf.SetPowerTarget, &bospb.SetPowerTargetRequest{
		SaveAction: saveAction, PowerTarget: &bospb.Power{Watt: wattsOf(sp.Power)},
	})
	return err
}

// SetQuickRamping sets how fast the miner powers up on resume (up) and
// down on pause (down), whole seconds (API 1.7.0 and later; older
// firmware answers Unimplemented, which is ErrUnsupported).
func (m *Miner) SetQuickRamping(ctx context.Context, up, down time.Duration) error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	if up < 0 || down < 0 {
		return m.errf("set quick ramping", fmt.Errorf("negative ramp %v/%v: %w", up, down, miner.ErrUnsupported))
	}
	_, err := call(ctx, m, "set quick ramping", m.perf.SetQuickRamping, &bospb.SetQuickRampingRequest{
		SaveAction: saveAction, UpS: seconds(up), DownS: seconds(down),
	})
	return err
}

// wattsOf rounds p to whole watts, the API's unit.
func wattsOf(p energy.Power) uint64 {
	if p <= 0 {
		return 0
	}
	return uint64(float64(p) + 0.5)
}

// seconds returns d in whole seconds, capped to the field's range.
func seconds(d time.Duration) uint32 {
	return uint32(min(d/time.Second, math.MaxUint32))
}
