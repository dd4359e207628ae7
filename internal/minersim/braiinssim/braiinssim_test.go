package braiinssim_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/braiins/bospb"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/braiinssim"
)

var t0 = time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC)

// start runs a fleet of a LuxOS miner and a braiins miner.
func start(t *testing.T, d *braiinssim.Dialect) (lux, bos *minersim.Miner, port int, clk *clock.Manual) {
	t.Helper()
	clk = clock.NewManual(t0)
	fl, err := minersim.New(minersim.Config{
		Miners:   []minersim.MinerSpec{{Model: "S19j Pro", Seed: 1}, {Model: "S19j Pro", Seed: 2, Dialect: braiinssim.Name}},
		Dialects: map[string]minersim.Dialect{braiinssim.Name: d},
		Clock:    clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-fl.Ready()
	ms := fl.Miners()
	return ms[0], ms[1], fl.ListenerPort(braiinssim.Listener), clk
}

func conn(t *testing.T, u *minersim.Miner, port int) *grpc.ClientConn {
	t.Helper()
	host, _, _ := net.SplitHostPort(u.Addr())
	c, err := grpc.NewClient("passthrough:///"+net.JoinHostPort(host, strconv.Itoa(port)), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestAuthAndTargets(t *testing.T) {
	wall := clock.NewManual(t0)
	d := braiinssim.New(braiinssim.Config{Wall: wall, TokenTTL: time.Minute})
	_, bos, port, clk := start(t, d)
	c := conn(t, bos, port)
	auth, perf, acts := bospb.NewAuthenticationServiceClient(c), bospb.NewPerformanceServiceClient(c), bospb.NewActionsServiceClient(c)

	if _, err := auth.Login(ctxT(t), &bospb.LoginRequest{Username: "root", Password: "x"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("wrong password: %v, want Unauthenticated", err)
	}
	if _, err := acts.PauseMining(ctxT(t), &bospb.PauseMiningRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no token: %v, want Unauthenticated", err)
	}
	var hdr metadata.MD
	lr, err := auth.Login(ctxT(t), &bospb.LoginRequest{Username: "root"}, grpc.Header(&hdr))
	if err != nil {
		t.Fatal(err)
	}
	if lr.GetToken() == "" || hdr.Get("authorization")[0] != lr.GetToken() || lr.GetTimeoutS() != 60 {
		t.Fatalf("login reply %v, header %v", lr, hdr)
	}
	authed := metadata.AppendToOutgoingContext(ctxT(t), "authorization", lr.GetToken())

	ps := bos.Profiles()
	if _, err := perf.SetPowerTarget(authed, &bospb.SetPowerTargetRequest{PowerTarget: &bospb.Power{Watt: uint64(ps[0].Power) - 10}}); status.Code(err) != codes.OutOfRange {
		t.Errorf("target below range: %v, want OutOfRange", err)
	}
	w := uint64(ps[2].Power) + 5
	if _, err := perf.SetPowerTarget(authed, &bospb.SetPowerTargetRequest{PowerTarget: &bospb.Power{Watt: w}}); err != nil {
		t.Fatal(err)
	}
	if got := bos.ProfileIndex(); got != 2 {
		t.Errorf("profile %d for %d W, want 2", got, w)
	}
	ts, err := perf.GetTunerState(authed, &bospb.GetTunerStateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ts.GetPowerTargetModeState().GetCurrentTarget().GetWatt(); got != w {
		t.Errorf("tuner target %d, want %d", got, w)
	}
	if r, err := acts.PauseMining(authed, &bospb.PauseMiningRequest{}); err != nil || r.GetAlreadyPaused() {
		t.Fatalf("pause: %v %v", r, err)
	}
	clk.Advance(time.Minute)
	if st := bos.Snapshot().State; st != miner.StateSleeping {
		t.Errorf("after pause: %s", st)
	}
	if r, err := acts.PauseMining(authed, &bospb.PauseMiningRequest{}); err != nil || !r.GetAlreadyPaused() {
		t.Errorf("second pause: %v %v, want already paused", r, err)
	}
	wall.Advance(time.Minute) // idle TTL passes
	if _, err := acts.ResumeMining(authed, &bospb.ResumeMiningRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("expired token: %v, want Unauthenticated", err)
	}
	if got := d.Logins(); got != 1 {
		t.Errorf("logins %d, want 1", got)
	}
}

func TestOtherDialectAndRPCPort(t *testing.T) {
	d := braiinssim.New(braiinssim.Config{})
	lux, bos, port, _ := start(t, d)
	// The LuxOS miner's address has no gRPC server: the connection closes.
	c := conn(t, lux, port)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := bospb.NewAuthenticationServiceClient(c).Login(ctx, &bospb.LoginRequest{Username: "root"}); err == nil {
		t.Error("a LuxOS miner answered braiins gRPC")
	}
	if out := d.ServeRPC(bos, []byte(`{"command":"version"}`), nil); out != nil {
		t.Errorf("RPC port reply %q, want none", out)
	}
	if got := d.Listeners(); len(got) != 1 || got[0] != "braiins-grpc" {
		t.Errorf("listeners %v", got)
	}
}
