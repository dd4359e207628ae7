package antminer_test

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/miner"
)

// rpcCounter is a TCP proxy in front of the simulator's RPC port that
// counts connections (one per cgminer request).
type rpcCounter struct {
	ln    net.Listener
	conns atomic.Int64
}

func newRPCCounter(t *testing.T, target string) *rpcCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &rpcCounter{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			c.conns.Add(1)
			wg.Go(func() {
				defer in.Close()
				out, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer out.Close()
				go func() { io.Copy(out, in); out.(*net.TCPConn).CloseWrite() }()
				io.Copy(in, out)
			})
		}
	})
	return c
}

func (c *rpcCounter) take() int64 { return c.conns.Swap(0) }

// TestRoundTrips counts the round trips of Status, sleep and wake: a
// Status is one RPC request while the work mode last read or written is
// fresh, plus one web read when it is not.
func TestRoundTrips(t *testing.T) {
	r := newSimRig(t, "root")
	rpc := newRPCCounter(t, r.fl.Addrs()[0])
	m2 := r.redial(t, rpc.ln.Addr().String())
	ctx := context.Background()
	r.rt.take()
	status := func(want miner.State, wantProfile string) {
		t.Helper()
		st, err := m2.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != want || st.Profile != wantProfile {
			t.Errorf("state %s profile %q, want %s %q", st.State, st.Profile, want, wantProfile)
		}
	}
	check := func(what string, wantRPC int64, wantWeb ...int) {
		t.Helper()
		if got := rpc.take(); got != wantRPC {
			t.Errorf("%s: %d RPC requests, want %d", what, got, wantRPC)
		}
		if got := r.rt.take(); len(got) != len(wantWeb) {
			t.Errorf("%s: web answers %v, want %v", what, got, wantWeb)
		}
	}

	// A fresh driver knows no mode: RPC plus a web read (with the digest
	// challenge on its first request).
	status(miner.StateMining, "normal")
	check("first status", 1, 401, 200)
	status(miner.StateMining, "normal")
	check("status with a known mode", 1)

	if err := m2.Apply(ctx, miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	check("sleep", 0, 200, 200)
	status(miner.StateRampingDown, "sleep")
	check("read-back after sleep", 1)
	r.clk.Advance(2 * time.Minute)
	status(miner.StateSleeping, "sleep")
	check("status after the ramp", 1)

	// The known mode expires on the wall clock, not the injected one.
	r.wall.Advance(11 * time.Second)
	status(miner.StateSleeping, "sleep")
	check("status after expiry", 1, 200)

	if err := m2.Apply(ctx, miner.Run(0)); err != nil {
		t.Fatal(err)
	}
	check("wake", 0, 200, 200)
	status(miner.StateWaking, "normal")
	check("read-back after wake", 1)

	// A mode written by someone else is seen once the known mode expires.
	if err := r.m.Apply(ctx, miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	r.rt.take()
	r.wall.Advance(11 * time.Second)
	status(miner.StateSleeping, "sleep") // it was still waking: no hashrate
	check("status after an outside write", 1, 200)
}
