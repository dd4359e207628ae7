package antminer_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/antminer"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/antminersim"
)

// countingTransport records the status code of every web response.
type countingTransport struct {
	mu    sync.Mutex
	codes []int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		c.mu.Lock()
		c.codes = append(c.codes, resp.StatusCode)
		c.mu.Unlock()
	}
	return resp, err
}

func (c *countingTransport) take() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.codes
	c.codes = nil
	return out
}

type simRig struct {
	clk  *clock.Manual
	wall *clock.Manual
	d    *antminersim.Dialect
	fl   *minersim.Fleet
	u    *minersim.Miner
	rt   *countingTransport
	m    *antminer.Miner
}

func newSimRig(t *testing.T, password string) *simRig {
	t.Helper()
	r := &simRig{
		clk:  clock.NewManual(time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC)),
		wall: clock.NewManual(time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC)),
		rt:   &countingTransport{},
	}
	r.d = antminersim.New(antminersim.Config{Wall: r.wall, NonceTTL: time.Minute})
	r.fl = startSim(t, "S19j Pro", r.clk, r.d)
	addr := r.fl.Addrs()[0]
	r.u, _ = r.fl.Miner(addr)
	m, err := antminer.New(context.Background(),
		antminer.Config{Addr: addr, WebAddr: webAddr(t, r.fl, addr), Password: password, Timeout: 5 * time.Second},
		antminer.Deps{Clock: r.clk, HTTP: &http.Client{Transport: r.rt}, Wall: r.wall})
	if err != nil {
		t.Fatal(err)
	}
	r.m = m
	return r
}

// redial makes a second driver for the rig's miner, reading RPC at
// rpcAddr, with the rig's wall clock and counting transport.
func (r *simRig) redial(t *testing.T, rpcAddr string) *antminer.Miner {
	t.Helper()
	addr := r.fl.Addrs()[0]
	m, err := antminer.NewWithCapabilities(
		antminer.Config{Addr: rpcAddr, WebAddr: webAddr(t, r.fl, addr), Timeout: 5 * time.Second},
		antminer.Deps{Clock: r.clk, HTTP: &http.Client{Transport: r.rt}, Wall: r.wall}, r.m.Capabilities())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDigestStaleNonce(t *testing.T) {
	r := newSimRig(t, "root")
	if got := r.rt.take(); len(got) != 2 || got[0] != 401 || got[1] != 200 {
		t.Fatalf("first exchange %v, want a 401 challenge then 200", got)
	}
	// Apply of the mode the miner is in reads the configuration only.
	if err := r.m.Apply(context.Background(), miner.Run(0)); err != nil {
		t.Fatal(err)
	}
	if got := r.rt.take(); len(got) != 1 || got[0] != 200 {
		t.Errorf("with a cached nonce: %v, want one 200", got)
	}
	r.wall.Advance(2 * time.Minute) // past the nonce's TTL
	if err := r.m.Apply(context.Background(), miner.Run(0)); err != nil {
		t.Fatal(err)
	}
	if got := r.rt.take(); len(got) != 2 || got[0] != 401 || got[1] != 200 {
		t.Errorf("with a stale nonce: %v, want 401 (stale) then 200", got)
	}
}

func TestWrongPassword(t *testing.T) {
	clk := clock.NewManual(time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC))
	fl := startSim(t, "S19j Pro", clk, antminersim.New(antminersim.Config{}))
	addr := fl.Addrs()[0]
	_, err := antminer.New(context.Background(),
		antminer.Config{Addr: addr, WebAddr: webAddr(t, fl, addr), Username: "root", Password: "hunter2"},
		antminer.Deps{Clock: clk})
	if !errors.Is(err, miner.ErrDenied) {
		t.Fatalf("err %v, want ErrDenied", err)
	}
	if s := err.Error(); strings.Contains(s, "hunter2") {
		t.Errorf("error names the password: %s", s)
	}
}

// TestSimKeepsConf writes through the simulator and reads back what it
// stored: the pools and unknown keys survive a mode change.
func TestSimKeepsConf(t *testing.T) {
	r := newSimRig(t, "root")
	conf := `{"pools":[{"url":"stratum+tcp://pool.example:3333","user":"me.1","pass":"x"}],"bitmain-fan-ctrl":true,"bitmain-fan-pwm":"80","x-site":{"rack":7},"bitmain-work-mode":"0","bitmain-freq-level":"95"}`
	if err := r.d.SetConf(r.u, []byte(conf)); err != nil {
		t.Fatal(err)
	}
	if err := r.m.Apply(context.Background(), miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	got := string(r.d.Conf(r.u))
	want := `{"pools":[{"url":"stratum+tcp://pool.example:3333","user":"me.1","pass":"x"}],"bitmain-fan-ctrl":true,"bitmain-fan-pwm":"80","x-site":{"rack":7},"bitmain-work-mode":"1","bitmain-freq-level":"95","miner-mode":1,"freq-level":"95"}`
	if got != want {
		t.Errorf("stored conf\n got %s\nwant %s", got, want)
	}
	if r.d.Mode(r.u) != antminersim.ModeSleep {
		t.Errorf("mode %d, want sleep", r.d.Mode(r.u))
	}
}

// TestLowPowerMode runs the miner in mode 3 through the simulator and
// checks the estimate against the model's ground truth.
func TestLowPowerMode(t *testing.T) {
	r := newSimRig(t, "root")
	c := r.m.Capabilities()
	if err := r.m.Apply(context.Background(), miner.Run(c.NominalPower*0.8)); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(2 * time.Minute)
	st, err := r.m.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	truth := r.u.Snapshot()
	if st.State != miner.StateMining || st.Profile != "low" {
		t.Errorf("state %s profile %q, want mining on low", st.State, st.Profile)
	}
	if d := float64(st.Power - truth.Power); d > 0.1*float64(truth.Power) || d < -0.1*float64(truth.Power) {
		t.Errorf("estimated %v, simulator draws %v", st.Power, truth.Power)
	}
	if truth.Power > c.NominalPower*0.8 {
		t.Errorf("simulator draws %v for a target of %v", truth.Power, c.NominalPower*0.8)
	}
}
