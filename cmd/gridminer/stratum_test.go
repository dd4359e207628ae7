package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin/live/btcdtest"
	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/server"
)

// syncBuffer is a bytes.Buffer safe for the command and the test; found is
// closed once a found block is printed.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	found chan struct{}
	once  sync.Once
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if bytes.Contains(p, []byte(" found by ")) {
		s.once.Do(func() { close(s.found) })
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestStratumSoloFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"pay-to required", []string{"stratum", "solo"}, "pay-to"},
		{"bad address", []string{"stratum", "solo", "--pay-to", "nonsense", "--network", "regtest", "--node", "http://127.0.0.1:1"}, "pay_to"},
		{"bad difficulty", []string{"stratum", "solo", "--pay-to", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "--network", "regtest", "--node", "http://127.0.0.1:1", "--difficulty", "0"}, "difficulty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot()
			root.SetArgs(tc.args)
			root.SetOut(&bytes.Buffer{})
			err := root.ExecuteContext(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestStratumSoloOnBtcd runs the command's wiring against a real btcd with
// one CPU miner until a block is found and printed.
func TestStratumSoloOnBtcd(t *testing.T) {
	n := btcdtest.Start(t)
	n.Generate(t, 1)
	t.Setenv("GRIDMINER_TEST_RPC_PASSWORD", n.Password)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // failure guard
	defer cancel()
	out := &syncBuffer{found: make(chan struct{})}
	ready := make(chan *server.Server, 1)
	done := make(chan error, 1)
	f := stratumSoloFlags{nodeURL: n.URL, rpcUser: n.User, rpcPasswordEnv: "GRIDMINER_TEST_RPC_PASSWORD",
		payTo: n.MiningAddress, network: "regtest", listen: "127.0.0.1:0", difficulty: 1.0 / 1024, statsEvery: time.Hour}
	go func() {
		done <- runStratumSolo(ctx, f, out, slog.New(slog.DiscardHandler), clock.Real{}, func(s *server.Server) { ready <- s })
	}()
	var srv *server.Server
	select {
	case srv = <-ready:
	case err := <-done:
		t.Fatalf("stratum solo: %v", err)
	}
	start := n.Height(t)
	m, err := stratum.NewClient(stratum.ClientConfig{Addr: srv.Addr().String(), User: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	mctx, stop := context.WithCancel(ctx)
	mined := make(chan error, 1)
	go func() { mined <- m.Run(mctx) }()
	select {
	case <-out.found:
	case <-ctx.Done():
		t.Fatalf("no block found; output %q", out.String())
	}
	stop()
	if err := <-mined; err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("stratum solo: %v", err)
	}
	if n.Height(t) <= start {
		t.Errorf("height did not advance past %d", start)
	}
	if !strings.Contains(out.String(), "listening on") {
		t.Errorf("output %q lacks the listening line", out.String())
	}
}
