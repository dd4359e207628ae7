package braiins_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/braiins"
	"github.com/gridminer/gridminer/internal/miner/braiins/bospb"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/braiinssim"
)

var t0 = time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC)

type rig struct {
	clk  *clock.Manual
	wall *clock.Manual
	d    *braiinssim.Dialect
	fl   *minersim.Fleet
	sim  *minersim.Miner
	addr string // gRPC
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{clk: clock.NewManual(t0), wall: clock.NewManual(t0)}
	r.d = braiinssim.New(braiinssim.Config{Password: simPassword, TokenTTL: time.Minute, Wall: r.wall})
	r.fl = startFleet(t, minersimModel, r.clk, r.d)
	rpc := r.fl.Addrs()[0]
	r.sim, _ = r.fl.Miner(rpc)
	r.addr = grpcAddr(r.fl, rpc)
	return r
}

const minersimModel = "S19j Pro"

func (r *rig) dial(t *testing.T, pass string) *braiins.Miner {
	t.Helper()
	m, err := braiins.New(context.Background(), braiins.Config{Addr: r.addr, Password: pass, Timeout: 2 * time.Second}, braiins.Deps{Clock: r.clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestReloginAfterExpiry(t *testing.T) {
	r := newRig(t)
	m := r.dial(t, simPassword)
	if got := r.d.Logins(); got != 1 {
		t.Fatalf("logins after New: %d, want 1", got)
	}
	if _, err := m.Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.wall.Advance(2 * time.Minute) // past the idle TTL
	if err := m.Apply(context.Background(), miner.Sleep()); err != nil {
		t.Fatalf("sleep after the token expired: %v", err)
	}
	if got := r.d.Logins(); got != 2 {
		t.Errorf("logins after expiry: %d, want 2 (one re-login)", got)
	}
	r.wall.Advance(2 * time.Minute)
	if _, err := m.Status(context.Background()); err != nil { // five concurrent calls, one login
		t.Fatalf("status after the token expired: %v", err)
	}
	if got := r.d.Logins(); got != 3 {
		t.Errorf("logins after second expiry: %d, want 3", got)
	}
}

func TestWrongPasswordNotLeaked(t *testing.T) {
	r := newRig(t)
	_, err := braiins.New(context.Background(), braiins.Config{Addr: r.addr, Password: "hunter2-wrong"}, braiins.Deps{Clock: r.clk})
	if !errors.Is(err, miner.ErrDenied) {
		t.Fatalf("wrong password: %v, want ErrDenied", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestFaultErrors(t *testing.T) {
	tests := []struct {
		fault minersim.Fault
		want  error
	}{
		{minersim.FaultGarbage, miner.ErrProtocol},
		{minersim.FaultTruncate, miner.ErrProtocol},
		{minersim.FaultRefuse, miner.ErrUnreachable},
		{minersim.FaultNoAnswer, miner.ErrUnreachable},
		{minersim.FaultSlow(time.Minute), miner.ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			r := newRig(t)
			m := r.dial(t, simPassword)
			r.sim.SetFault(tt.fault)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			if _, err := m.Status(ctx); !errors.Is(err, tt.want) {
				t.Errorf("status: %v, want %v", err, tt.want)
			}
			if err := m.Apply(ctx, miner.Run(3000)); !errors.Is(err, tt.want) {
				t.Errorf("run: %v, want %v", err, tt.want)
			}
			if st := r.sim.Snapshot(); st.State != miner.StateMining || st.Profile != "default" {
				t.Errorf("simulator %s on %s after failed commands", st.State, st.Profile)
			}
		})
	}
}

func TestPowerTargets(t *testing.T) {
	r := newRig(t)
	m := r.dial(t, simPassword)
	c := m.Capabilities()
	if len(c.PowerSteps) != 0 || !c.Partial() {
		t.Fatalf("caps %+v: want a continuous range", c)
	}
	profiles := r.sim.Profiles()
	target := profiles[1].Power + 1 // just above the second-lowest profile
	if err := m.Apply(context.Background(), miner.Run(target)); err != nil {
		t.Fatal(err)
	}
	if got, want := r.sim.ProfileIndex(), 1; got != want {
		t.Errorf("profile %d for target %v, want %d", got, target, want)
	}
	st, err := m.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.PowerTarget != target {
		t.Errorf("reported target %v, want %v", st.PowerTarget, target)
	}
	for _, p := range []float64{float64(c.MaxPower) + 1, float64(c.MinPower) - 1, -5} {
		if err := m.Apply(context.Background(), miner.Run(energy.Power(p))); !errors.Is(err, miner.ErrUnsupported) {
			t.Errorf("target %v: %v, want ErrUnsupported", p, err)
		}
	}
	// Run(p) on a paused miner resumes it first.
	if err := m.Apply(context.Background(), miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(time.Minute)
	if err := m.Apply(context.Background(), miner.Run(c.MaxPower)); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(time.Minute)
	if st := r.sim.Snapshot(); st.State != miner.StateMining || r.sim.ProfileIndex() != len(profiles)-1 {
		t.Errorf("after run at max from sleep: %s on profile %d", st.State, r.sim.ProfileIndex())
	}
	if err := m.Apply(context.Background(), miner.Run(0)); err != nil {
		t.Fatal(err)
	}
	if got, want := r.sim.ProfileIndex(), r.sim.DefaultProfileIndex(); got != want {
		t.Errorf("Run(0): profile %d, want default %d", got, want)
	}
	if err := m.SetQuickRamping(context.Background(), 10*time.Second, 5*time.Second); err != nil {
		t.Errorf("set quick ramping: %v", err)
	}
}

func TestNewWithCapabilitiesIsLazy(t *testing.T) {
	r := newRig(t)
	caps := miner.Capabilities{Driver: braiins.Name, NominalPower: 3000, MinPower: 1500, MaxPower: 3500}
	m, err := braiins.NewWithCapabilities(braiins.Config{Addr: r.addr, Password: simPassword}, braiins.Deps{Clock: r.clk}, caps)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if r.d.Logins() != 0 {
		t.Fatal("NewWithCapabilities logged in")
	}
	st, err := m.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.State != miner.StateMining || !st.Time.Equal(t0) || r.d.Logins() != 1 {
		t.Errorf("status %s at %v after %d logins", st.State, st.Time, r.d.Logins())
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := braiins.New(context.Background(), braiins.Config{}, braiins.Deps{Clock: clock.Real{}}); err == nil {
		t.Error("empty addr accepted")
	}
	if _, err := braiins.NewWithCapabilities(braiins.Config{Addr: "10.0.0.1"}, braiins.Deps{}, miner.Capabilities{}); err == nil {
		t.Error("nil clock accepted")
	}
	m, err := braiins.NewWithCapabilities(braiins.Config{Addr: "10.0.0.1"}, braiins.Deps{Clock: clock.Real{}}, miner.Capabilities{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got, want := m.Addr(), "10.0.0.1:50051"; got != want {
		t.Errorf("addr %q, want %q", got, want)
	}
}

// headerOnlyAuth is an older firmware: Login answers an empty message and
// the token only in the `authorization` response header.
type headerOnlyAuth struct {
	bospb.UnimplementedAuthenticationServiceServer
}

func (headerOnlyAuth) Login(ctx context.Context, r *bospb.LoginRequest) (*bospb.LoginResponse, error) {
	if r.GetUsername() != "root" || r.GetPassword() != "pw" {
		return nil, status.Error(codes.Unauthenticated, "bad credentials")
	}
	grpc.SetHeader(ctx, metadata.Pairs("authorization", "legacy-token"))
	return &bospb.LoginResponse{}, nil
}

type tokenActions struct {
	bospb.UnimplementedActionsServiceServer
	paused chan string
}

func (a tokenActions) PauseMining(ctx context.Context, _ *bospb.PauseMiningRequest) (*bospb.PauseMiningResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	a.paused <- strings.Join(md.Get("authorization"), ",")
	return &bospb.PauseMiningResponse{}, nil
}

func TestLegacyHeaderToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	acts := tokenActions{paused: make(chan string, 1)}
	bospb.RegisterAuthenticationServiceServer(srv, headerOnlyAuth{})
	bospb.RegisterActionsServiceServer(srv, acts)
	go srv.Serve(ln)
	defer srv.Stop()
	m, err := braiins.NewWithCapabilities(braiins.Config{Addr: ln.Addr().String(), Password: "pw"}, braiins.Deps{Clock: clock.Real{}}, miner.Capabilities{NominalPower: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Apply(context.Background(), miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	if got, want := <-acts.paused, "legacy-token"; got != want {
		t.Errorf("authorization sent %q, want %q", got, want)
	}
	// An RPC the server does not implement is ErrUnsupported.
	if err := m.SetQuickRamping(context.Background(), time.Second, time.Second); !errors.Is(err, miner.ErrUnsupported) {
		t.Errorf("unimplemented: %v, want ErrUnsupported", err)
	}
}

// BenchmarkStatus measures one Status (five concurrent calls on one
// connection) against the simulator over loopback.
func BenchmarkStatus(b *testing.B) {
	clk := clock.NewManual(t0)
	d := braiinssim.New(braiinssim.Config{})
	fl, err := minersim.New(minersim.Config{
		Miners:   []minersim.MinerSpec{{Model: minersimModel, Seed: 7, Dialect: braiinssim.Name}},
		Dialects: map[string]minersim.Dialect{braiinssim.Name: d},
		Clock:    clk,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fl.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-fl.Ready()
	m, err := braiins.New(context.Background(), braiins.Config{Addr: grpcAddr(fl, fl.Addrs()[0])}, braiins.Deps{Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Status(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
