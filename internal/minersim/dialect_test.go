package minersim

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
)

// toyDialect answers "toy <addr>" on the RPC port and, on its own
// listener, sleeps the miner the client dialled and answers its state.
type toyDialect struct{}

func (toyDialect) ServeRPC(u *Miner, req, out []byte) []byte {
	return append(append(out, "toy "+u.Addr()...), 0)
}

func (toyDialect) Listeners() []string { return []string{"toy-ctl"} }

func (toyDialect) ServeListener(ctx context.Context, name string, ln net.Listener, f *Fleet) error {
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil
		}
		go func() {
			defer c.Close()
			u, ok := f.MinerAt(c.LocalAddr())
			if !ok || !LoopbackPeer(c.RemoteAddr()) {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			if strings.TrimSpace(line) == "sleep" {
				u.Sleep()
			}
			io.WriteString(c, string(u.Snapshot().State)+" "+u.Dialect()+"\n")
		}()
	}
}

func TestMixedDialects(t *testing.T) {
	clk := clock.NewManual(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	f, err := New(Config{
		Miners:   []MinerSpec{{Model: "S21", Seed: 1}, {Model: "S19 XP", Seed: 2, Dialect: "toy"}},
		Clock:    clk,
		Dialects: map[string]Dialect{"toy": toyDialect{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-f.Ready()
	lux, toy := f.Addrs()[0], f.Addrs()[1]

	ask := func(addr, req string) string {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, req)
		b, _ := io.ReadAll(c)
		return string(b)
	}
	if got := ask(lux, "version"); !strings.Contains(got, "LUXminer") {
		t.Errorf("luxos miner's RPC reply %q", got)
	}
	if got, want := ask(toy, "version"), "toy "+toy+"\x00"; got != want {
		t.Errorf("toy miner's RPC reply %q, want %q", got, want)
	}
	port := f.ListenerPort("toy-ctl")
	if port == 0 {
		t.Fatal("no port for the toy-ctl listener")
	}
	host, _, _ := net.SplitHostPort(toy)
	if got, want := ask(net.JoinHostPort(host, strconv.Itoa(port)), "sleep\n"), "ramping_down toy\n"; got != want {
		t.Errorf("toy listener reply %q, want %q", got, want)
	}
	m, _ := f.Miner(toy)
	clk.Advance(time.Minute)
	if st := m.Snapshot().State; st != miner.StateSleeping {
		t.Errorf("toy miner after its listener slept it: %s", st)
	}
	// The toy listener is not the LuxOS miner's: a connection to it there is closed unanswered.
	luxHost, _, _ := net.SplitHostPort(lux)
	if got := ask(net.JoinHostPort(luxHost, strconv.Itoa(port)), "sleep\n"); got != "" {
		t.Errorf("toy listener answered for the LuxOS miner: %q", got)
	}
	if l, _ := f.Miner(lux); l.Snapshot().State != miner.StateMining || l.Dialect() != "luxos" {
		t.Errorf("luxos miner touched: %s %s", l.Snapshot().State, l.Dialect())
	}
	if _, err := New(Config{Miners: []MinerSpec{{Model: "S21", Dialect: "nope"}}, Clock: clk}); err == nil {
		t.Error("unknown dialect accepted")
	}
}
