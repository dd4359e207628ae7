// Package braiinssim is the Braiins OS dialect of internal/minersim: it
// serves the public gRPC API (braiins.bos.v1, the subset in
// internal/miner/braiins/bospb) for every simulated miner that speaks
// "braiins", so the braiins driver can be tested over real sockets.
//
// One grpc.Server on the fleet's "braiins-grpc" listener (TCP 50051 on real
// machines; a free port unless minersim.Config.Ports names one) serves all
// miners, telling them apart by the local address a client dialled. It
// logs users in (root with an empty password unless configured) and
// expires tokens after an idle TTL on wall time, pauses and resumes
// mining, and turns a power target into the highest simulator profile
// whose power fits under it. The RPC port (4028) answers nothing for these
// miners: ServeRPC returns nil, which closes the connection, as a BOS
// machine without the legacy cgminer API would.
//
// Faults (minersim.Miner.Fault), applied per call because gRPC keeps one
// connection open:
//   - refuse: the connection is reset at once, and new connections are
//     reset on accept;
//   - no answer: the call blocks until the client's deadline or cancel;
//   - slow: the call waits the fault's delay of wall time first;
//   - garbage: the reply message is bytes that are not protobuf (grpc-go
//     clients report codes.Internal, a decode failure);
//   - truncate: the reply message is the first half of the real one, ended
//     by the start of a field that never comes (codes.Internal too).
//
// Under garbage and truncate a command (pause, resume, set target) is not
// carried out, so a failed command leaves the machine as it was.
//
// It is a test and demo aid, not a faithful BOS: no pools, cooling
// configuration, DPS or hashrate targets, and every read is answered from
// the simulator's ground truth.
package braiinssim

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"runtime"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // the "proto" codec wrapped below
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner/braiins/bospb"
	"github.com/gridminer/gridminer/internal/minersim"
)

// Name is the dialect's name; miners speaking it must be given
// MinerSpec.Dialect "braiins" and the dialect in Config.Dialects["braiins"].
const Name = "braiins"

// Listener is the name of the dialect's gRPC listener.
const Listener = "braiins-grpc"

// DefaultTokenTTL is how long a token lives without use (BOS: 3600 s).
const DefaultTokenTTL = time.Hour

// Config configures the dialect.
type Config struct {
	// User and Password are the accepted credentials (default root and
	// the empty password, as on a fresh BOS install).
	User     string
	Password string
	// TokenTTL is the idle lifetime of a token (default DefaultTokenTTL).
	TokenTTL time.Duration
	// Wall times token expiry (default the wall clock): a protocol timeout,
	// it stays on wall time when the fleet's physics runs accelerated.
	Wall clock.Clock
	// Version is the firmware version reported (default "25.07").
	Version string
}

// Dialect serves the Braiins OS gRPC API. Use one per fleet.
type Dialect struct {
	cfg Config

	mu      sync.Mutex
	tokens  map[string]token
	logins  int
	targets map[*minersim.Miner]uint64 // explicit power targets; absent = default
	ramping map[*minersim.Miner][2]uint32
	conns   map[string]net.Conn // open connections by remote address
}

type token struct {
	u    *minersim.Miner
	used time.Time // wall
}

// New returns a dialect.
func New(cfg Config) *Dialect {
	if cfg.User == "" {
		cfg.User = "root"
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.Wall == nil {
		cfg.Wall = clock.Real{}
	}
	if cfg.Version == "" {
		cfg.Version = "25.07"
	}
	return &Dialect{
		cfg: cfg, tokens: map[string]token{}, targets: map[*minersim.Miner]uint64{},
		ramping: map[*minersim.Miner][2]uint32{}, conns: map[string]net.Conn{},
	}
}

// Logins returns how many logins succeeded, for tests.
func (d *Dialect) Logins() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logins
}

// ServeRPC returns nil: these miners have no cgminer API on the RPC port.
func (d *Dialect) ServeRPC(u *minersim.Miner, req, out []byte) []byte { return nil }

// Listeners names the gRPC listener.
func (d *Dialect) Listeners() []string { return []string{Listener} }

// ServeListener serves the gRPC API on ln until ctx ends.
func (d *Dialect) ServeListener(ctx context.Context, name string, ln net.Listener, f *minersim.Fleet) error {
	if name != Listener {
		return errors.New("braiinssim: unknown listener " + name)
	}
	srv := grpc.NewServer(
		grpc.UnaryInterceptor(d.intercept(f)),
		grpc.ForceServerCodecV2(codec{encoding.GetCodecV2("proto")}),
		// Calls run on a few reused goroutines (whose stacks have already
		// grown) rather than one new goroutine each; grpc-go starts one
		// anyway when all are busy (a no-answer fault holds one).
		grpc.NumStreamWorkers(uint32(2*runtime.GOMAXPROCS(0))),
		// A fixed window turns off grpc-go's bandwidth-estimator pings;
		// replies are a few hundred bytes.
		grpc.InitialWindowSize(64<<10),
		grpc.InitialConnWindowSize(64<<10),
		// Small buffers: one connection per simulated miner.
		grpc.ReadBufferSize(8<<10),
		grpc.WriteBufferSize(8<<10),
	)
	bospb.RegisterAuthenticationServiceServer(srv, authSrv{d: d})
	bospb.RegisterActionsServiceServer(srv, actionsSrv{d: d})
	bospb.RegisterPerformanceServiceServer(srv, perfSrv{d: d})
	bospb.RegisterConfigurationServiceServer(srv, configSrv{d: d})
	bospb.RegisterMinerServiceServer(srv, minerSrv{d: d})
	bospb.RegisterCoolingServiceServer(srv, coolingSrv{d: d})
	stop := context.AfterFunc(ctx, srv.Stop)
	defer stop()
	err := srv.Serve(&listener{Listener: ln, d: d, f: f})
	if ctx.Err() != nil || errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// listener drops connections from non-loopback peers, to addresses with
// no braiins miner, and to miners whose fault is refuse; it tracks the
// rest so a refuse fault can reset them.
type listener struct {
	net.Listener
	d *Dialect
	f *minersim.Fleet
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		u, ok := l.f.MinerAt(c.LocalAddr())
		if !ok || !minersim.LoopbackPeer(c.RemoteAddr()) || u.Dialect() != Name || u.Fault() == minersim.FaultRefuse {
			reset(c)
			continue
		}
		tc := &trackedConn{Conn: c, d: l.d}
		l.d.mu.Lock()
		l.d.conns[c.RemoteAddr().String()] = tc
		l.d.mu.Unlock()
		return tc, nil
	}
}

type trackedConn struct {
	net.Conn
	d    *Dialect
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.d.mu.Lock()
		delete(c.d.conns, c.RemoteAddr().String())
		c.d.mu.Unlock()
	})
	return c.Conn.Close()
}

// reset closes c with an RST, as near to a refused connection as an
// accepted one gets.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// resetPeer resets the open connection from remote, if any.
func (d *Dialect) resetPeer(remote net.Addr) {
	if remote == nil {
		return
	}
	d.mu.Lock()
	c := d.conns[remote.String()]
	d.mu.Unlock()
	if tc, ok := c.(*trackedConn); ok {
		reset(tc.Conn)
		tc.Close()
	}
}

type minerKey struct{}

func minerOf(ctx context.Context) *minersim.Miner {
	u, _ := ctx.Value(minerKey{}).(*minersim.Miner)
	return u
}

// isWrite reports whether method changes the machine.
func isWrite(method string) bool {
	switch method {
	case "/braiins.bos.v1.ActionsService/PauseMining",
		"/braiins.bos.v1.ActionsService/ResumeMining",
		"/braiins.bos.v1.PerformanceService/SetPowerTarget",
		"/braiins.bos.v1.PerformanceService/SetDefaultPowerTarget",
		"/braiins.bos.v1.PerformanceService/SetQuickRamping":
		return true
	}
	return false
}

const loginMethod = "/braiins.bos.v1.AuthenticationService/Login"

// intercept finds the miner, applies its fault, checks the token and runs
// the handler.
func (d *Dialect) intercept(f *minersim.Fleet) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		p, ok := peer.FromContext(ctx)
		if !ok || !minersim.LoopbackPeer(p.Addr) {
			return nil, status.Error(codes.PermissionDenied, "loopback clients only")
		}
		u, ok := f.MinerAt(p.LocalAddr)
		if !ok || u.Dialect() != Name {
			return nil, status.Error(codes.Unavailable, "no miner at this address")
		}
		ctx = context.WithValue(ctx, minerKey{}, u)
		fault := u.Fault()
		switch fault {
		case minersim.FaultRefuse:
			d.resetPeer(p.Addr)
			return nil, status.Error(codes.Unavailable, "connection reset")
		case minersim.FaultNoAnswer:
			<-ctx.Done()
			return nil, status.FromContextError(ctx.Err()).Err()
		case minersim.FaultGarbage:
			// Field 15 with wire type 7, which does not exist.
			return rawReply("\x7f\xff\xfe garbage{{not-protobuf]]"), nil
		case minersim.FaultTruncate:
			var whole []byte
			if !isWrite(info.FullMethod) && info.FullMethod != loginMethod {
				if resp, err := d.authorized(ctx, info.FullMethod, req, h); err == nil {
					if m, ok := resp.(proto.Message); ok {
						whole, _ = proto.Marshal(m)
					}
				}
			}
			// Half the reply, then a field 1 header announcing 127 bytes.
			return rawReply(append(whole[:len(whole)/2:len(whole)/2], 0x0a, 0x7f)), nil
		}
		if delay := fault.Delay(); delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, status.FromContextError(ctx.Err()).Err()
			case <-t.C:
			}
		}
		return d.authorized(ctx, info.FullMethod, req, h)
	}
}

// authorized runs h if the call carries a live token for its miner (or is
// Login), refreshing the token's idle timer.
func (d *Dialect) authorized(ctx context.Context, method string, req any, h grpc.UnaryHandler) (any, error) {
	if method == loginMethod {
		return h(ctx, req)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	var tok string
	if v := md.Get("authorization"); len(v) > 0 {
		tok = v[0]
	}
	now := d.cfg.Wall.Now()
	d.mu.Lock()
	t, ok := d.tokens[tok]
	live := ok && t.u == minerOf(ctx) && now.Sub(t.used) < d.cfg.TokenTTL
	if live {
		d.tokens[tok] = token{u: t.u, used: now}
	} else if ok {
		delete(d.tokens, tok)
	}
	d.mu.Unlock()
	if !live {
		return nil, status.Error(codes.Unauthenticated, "invalid or expired authentication token")
	}
	return h(ctx, req)
}

// login checks the credentials and issues a token.
func (d *Dialect) login(u *minersim.Miner, user, pass string) (string, error) {
	if user != d.cfg.User || pass != d.cfg.Password {
		return "", status.Error(codes.Unauthenticated, "invalid username or password")
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	now := d.cfg.Wall.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, t := range d.tokens {
		if now.Sub(t.used) >= d.cfg.TokenTTL {
			delete(d.tokens, k)
		}
	}
	d.tokens[string(b)] = token{u: u, used: now}
	d.logins++
	return string(b), nil
}

// rawReply is a reply the codec sends as it is, for the garbage and
// truncate faults.
type rawReply []byte

// codec is grpc's proto codec, plus rawReply.
type codec struct{ proto encoding.CodecV2 }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(rawReply); ok {
		return mem.BufferSlice{mem.SliceBuffer(r)}, nil
	}
	return c.proto.Marshal(v)
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }

func (c codec) Name() string { return c.proto.Name() }
