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
	// Wall times how long known state is trusted (see Apply). Default the
	// wall clock; it stays wall time when Clock runs accelerated.
	Wall clock.Clock
}

// Miner is one Braiins OS machine. It is safe for concurrent use; writes
// (Apply) are serialised per miner.
type Miner struct {
	addr    string
	user    string
	pass    string
	timeout time.Duration
	clock   clock.Clock
	wall    clock.Clock
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
	mu      sync.Mutex // guards token, caps and known
	token   string
	caps    miner.Capabilities
	known   knownState
	writes  uint64 // commands sent, so a Status that overlapped one does not overwrite what it taught
}

// knownState is what the miner last told this driver about whether it is
// paused and its power target (from a Status or an accepted command), so
// Apply can skip a resume or a target it would not change. It is trusted
// for knownMaxAge of wall time: these change only by command, and a stale
// guess is caught by the caller's read-back (a Status, which refreshes it)
// and corrected on the next attempt.
type knownState struct {
	at     time.Time // wall time; zero = nothing known
	paused bool      // paused, suspended or ramping down; false = mining
	target uint64    // power target in watts; 0 = unknown
}

const knownMaxAge = 10 * time.Second

// remember records what a command taught.
func (m *Miner) remember(f func(k *knownState)) {
	m.mu.Lock()
	f(&m.known)
	m.known.at = m.wall.Now()
	m.writes++
	m.mu.Unlock()
}

// forget drops the known state after a command failed (it may or may not
// have been carried out).
func (m *Miner) forget() {
	m.mu.Lock()
	m.known = knownState{}
	m.writes++
	m.mu.Unlock()
}

// writeCount returns the number of commands remembered or forgotten so far.
func (m *Miner) writeCount() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

// observe records what a Status read (started after writes commands)
// taught, unless a command has been sent since.
func (m *Miner) observe(writes uint64, k knownState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.writes != writes {
		return
	}
	if k.at.IsZero() {
		m.known = knownState{}
		return
	}
	m.known = k
}

// recall returns the known state if it is fresh.
func (m *Miner) recall() (knownState, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.known
	return k, !k.at.IsZero() && m.wall.Now().Sub(k.at) < knownMaxAge
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
	wall := deps.Wall
	if wall == nil {
		wall = clock.Real{}
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
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// A fixed flow-control window turns off grpc-go's bandwidth
		// estimator, which pings the miner after most bursts of replies:
		// the replies are a few hundred bytes, far below the window.
		grpc.WithInitialWindowSize(windowSize),
		grpc.WithInitialConnWindowSize(windowSize),
		// Small buffers: a fleet holds one connection per miner.
		grpc.WithReadBufferSize(bufferSize),
		grpc.WithWriteBufferSize(bufferSize),
	}, deps.DialOptions...)
	// passthrough: the address is dialled as given, with no DNS resolver
	// round trip in the way of the per-call deadlines.
	conn, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("braiins %s: client: %w", addr, err)
	}
	return &Miner{
		addr: addr, user: user, pass: cfg.Password, timeout: timeout,
		clock: deps.Clock, wall: wall, log: log.With("miner", addr, "driver", Name), conn: conn,
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

// windowSize is the HTTP/2 flow-control window (grpc-go's default
// initial one, and the least it accepts); bufferSize the read and write
// buffers of a connection.
const (
	windowSize = 64 << 10
	bufferSize = 8 << 10
)

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
// (five calls on one connection, made concurrently under one deadline).
func (m *Miner) Status(ctx context.Context) (miner.Status, error) {
	if !m.capsKnown() {
		if err := m.learnCaps(ctx); err != nil {
			return miner.Status{}, err
		}
	}
	writes := m.writeCount()
	var w wire
	calls := [...]struct {
		op string
		do func(ctx context.Context) error
	}{
		{"get miner details", func(ctx context.Context) (err error) {
			w.details, err = m.miners.GetMinerDetails(ctx, &bospb.GetMinerDetailsRequest{})
			return err
		}},
		{"get miner stats", func(ctx context.Context) (err error) {
			w.stats, err = m.miners.GetMinerStats(ctx, &bospb.GetMinerStatsRequest{})
			return err
		}},
		{"get tuner state", func(ctx context.Context) (err error) {
			w.tuner, err = m.perf.GetTunerState(ctx, &bospb.GetTunerStateRequest{})
			return err
		}},
		{"get hashboards", func(ctx context.Context) (err error) {
			w.boards, err = m.miners.GetHashboards(ctx, &bospb.GetHashboardsRequest{})
			return err
		}},
		{"get cooling state", func(ctx context.Context) (err error) {
			w.cooling, err = m.cooling.GetCoolingState(ctx, &bospb.GetCoolingStateRequest{})
			return err
		}},
	}
	tok, err := m.session(ctx, "")
	if err != nil {
		return miner.Status{}, m.errf(calls[0].op, err)
	}
	var errs [len(calls)]error
	func() {
		cctx, cancel := context.WithTimeout(ctx, m.timeout)
		defer cancel()
		cctx = metadata.AppendToOutgoingContext(cctx, authHeader, tok)
		var wg sync.WaitGroup
		for i := 1; i < len(calls); i++ {
			wg.Go(func() { errs[i] = calls[i].do(cctx) })
		}
		errs[0] = calls[0].do(cctx)
		wg.Wait()
	}()
	// Calls whose token was rejected are made again once, after one
	// shared login; errors are reported in call order.
	var fresh string
	for i, err := range errs {
		if err == nil {
			continue
		}
		if isUnauthenticated(err) {
			if fresh == "" {
				m.log.Debug("token rejected, logging in again", "op", calls[i].op)
				var lerr error
				if fresh, lerr = m.session(ctx, tok); lerr != nil {
					return miner.Status{}, m.errf(calls[i].op, lerr)
				}
			}
			err = func() error {
				cctx, cancel := context.WithTimeout(ctx, m.timeout)
				defer cancel()
				return calls[i].do(metadata.AppendToOutgoingContext(cctx, authHeader, fresh))
			}()
			if err == nil {
				continue
			}
		}
		return miner.Status{}, m.errf(calls[i].op, mapErr(ctx, err))
	}
	st, err := statusFrom(w, m.Capabilities())
	if err != nil {
		return miner.Status{}, m.errf("status", err)
	}
	st.Time = m.clock.Now()
	var k knownState
	switch w.details.GetStatus() {
	case bospb.MinerStatus_MINER_STATUS_NORMAL, bospb.MinerStatus_MINER_STATUS_RESTRICTED,
		bospb.MinerStatus_MINER_STATUS_PAUSED:
		k = knownState{
			at:     m.wall.Now(),
			paused: w.details.GetStatus() == bospb.MinerStatus_MINER_STATUS_PAUSED,
			target: w.tuner.GetPowerTargetModeState().GetCurrentTarget().GetWatt(),
		}
	}
	m.observe(writes, k)
	return st, nil
}

// saveAction is how power targets are set: saved to the configuration and
// applied at once, so that a reboot keeps the last target.
const saveAction = bospb.SaveAction_SAVE_ACTION_SAVE_AND_APPLY

// Apply pauses mining (Sleep) or runs the machine: it resumes mining
// (a no-op when mining) and then sets the power target, or the default
// target for Run(0). A target outside the tuner's range is ErrUnsupported,
// checked before any call.
//
// When a Status or command of the last knownMaxAge (wall time) showed the
// machine mining, the resume is skipped; when it showed the target in
// effect already equal to the one asked for (for Run(0), the tuner's
// default), setting it is skipped.
func (m *Miner) Apply(ctx context.Context, sp miner.Setpoint) error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	switch sp.Mode {
	case miner.ModeSleep:
		if _, err := call(ctx, m, "pause mining", m.actions.PauseMining, &bospb.PauseMiningRequest{}); err != nil {
			m.forget()
			return err
		}
		m.remember(func(k *knownState) { k.paused = true })
		return nil
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
	k, fresh := m.recall()
	if !fresh {
		k = knownState{paused: true} // unknown: resume, and set the target
	}
	if k.paused {
		if _, err := call(ctx, m, "resume mining", m.actions.ResumeMining, &bospb.ResumeMiningRequest{}); err != nil {
			m.forget()
			return err
		}
		m.remember(func(kn *knownState) { kn.paused, kn.target = false, k.target })
	}
	want := wattsOf(sp.Power)
	if sp.Power == 0 {
		want = wattsOf(caps.NominalPower)
	}
	if k.target != 0 && k.target == want {
		return nil
	}
	var (
		resp *bospb.SetPowerTargetResponse
		err  error
	)
	if sp.Power == 0 {
		resp, err = call(ctx, m, "set default power target", m.perf.SetDefaultPowerTarget, &bospb.SetDefaultPowerTargetRequest{SaveAction: saveAction})
	} else {
		resp, err = call(ctx, m, "set power target "+sp.Power.String(), m.perf.SetPowerTarget, &bospb.SetPowerTargetRequest{
			SaveAction: saveAction, PowerTarget: &bospb.Power{Watt: want},
		})
	}
	if err != nil {
		m.forget()
		return err
	}
	if got := resp.GetPowerTarget().GetWatt(); got != 0 {
		want = got
	}
	m.remember(func(kn *knownState) { kn.paused, kn.target = false, want })
	return nil
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

// Logoff forgets the driver's token, so the next call must log in again
// (after a credential change, or to measure a logon). It sends nothing:
// Braiins OS tokens expire after idling.
func (m *Miner) Logoff(context.Context) error {
	m.mu.Lock()
	m.token = ""
	m.mu.Unlock()
	return nil
}
