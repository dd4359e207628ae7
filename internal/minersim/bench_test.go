package minersim

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// BenchmarkServeSummaryJoined measures the in-process cost of answering the
// poller's joined status request: parse, model update, encode.
func BenchmarkServeSummaryJoined(b *testing.B) {
	m, _ := ModelByName("S19j Pro")
	clk := newFakeClock()
	u := newMiner(0, MinerSpec{Model: m.Name, Seed: 1}, m, clk, DefaultWakeRamp, DefaultSleepRamp, false)
	req := []byte(`{"command":"summary+power+devs+fans+config"}`)
	buf := make([]byte, 0, 8<<10)
	b.ReportAllocs()
	for b.Loop() {
		clk.Advance(time.Second)
		buf = u.serve(buf[:0], req)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkLoopbackRoundTrip measures one full request over loopback TCP:
// dial, write, read to close, on both sides of one process.
func BenchmarkLoopbackRoundTrip(b *testing.B) {
	f := startFleet(b, Config{Miners: DefaultMix(64), Clock: newFakeClock()})
	addrs := f.Addrs()
	req := []byte(`{"command":"summary+power+devs+fans+config"}`)
	buf := make([]byte, 16<<10)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if err := roundTrip(addrs[i%len(addrs)], req, buf); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPollFleet polls every miner of a 10,000-miner fleet once with
// the joined request, 256 connections in flight (both sides in this
// process, so the figure is the sum of client and server cost).
func BenchmarkPollFleet(b *testing.B) {
	if testing.Short() {
		b.Skip("short")
	}
	f := startFleet(b, Config{Miners: DefaultMix(10000), Clock: newFakeClock()})
	addrs := f.Addrs()
	req := []byte(`{"command":"summary+power+devs+fans+config"}`)
	pool := sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}
	for b.Loop() {
		g, _ := errgroup.WithContext(context.Background())
		g.SetLimit(256)
		for _, a := range addrs {
			g.Go(func() error {
				bp := pool.Get().(*[]byte)
				defer pool.Put(bp)
				return roundTrip(a, req, *bp)
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(addrs)), "miners/op")
}

func roundTrip(addr string, req, buf []byte) error {
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: -1}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(req); err != nil {
		return err
	}
	n := 0
	for {
		k, err := c.Read(buf[n:])
		n += k
		if err == io.EOF || (n > 0 && buf[n-1] == 0) {
			return nil
		}
		if err != nil {
			return err
		}
		if n == len(buf) {
			return io.ErrShortBuffer
		}
	}
}
