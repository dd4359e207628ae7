package server_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"golang.org/x/sync/errgroup"

	"github.com/gridminer/gridminer/internal/bitcoin/live/btcdtest"
	"github.com/gridminer/gridminer/internal/bitcoin/live/node"
	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/server"
	"github.com/gridminer/gridminer/internal/stratum/solo"
)

// payTo returns a regtest P2WPKH address of a fixed key, not btcdtest's.
func payTo(t *testing.T) string {
	t.Helper()
	key, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{0x17}, 32))
	a, err := address.NewAddressWitnessPubKeyHash(address.Hash160(key.PubKey().SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

// TestSoloMinesOnBtcd: two CPU miners -> the solo server -> a real btcd.
func TestSoloMinesOnBtcd(t *testing.T) {
	n := btcdtest.Start(t)
	n.Generate(t, 1) // btcd serves templates once its chain is current
	start := n.Height(t)
	c, err := node.New(node.Config{URL: n.URL, User: n.User, Password: n.Password, Network: "regtest"}, node.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := solo.NewSource(solo.SourceConfig{}, solo.SourceDeps{Node: c})
	if err != nil {
		t.Fatal(err)
	}
	b, err := solo.NewBuilder(solo.BuilderConfig{Network: "regtest", PayTo: payTo(t),
		Extranonce1Size: server.Extranonce1Size, Extranonce2Size: 8, Tag: []byte("/gridminer/")})
	if err != nil {
		t.Fatal(err)
	}
	found := make(chan server.Found, 64)
	sl, err := server.NewSolo(server.SoloDeps{Source: src, Builder: b, Node: c, OnFound: func(f server.Found) { found <- f }})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{ShareDifficulty: 1.0 / 1024, Extranonce2Size: 8},
		server.Deps{Jobs: sl, OnBlock: sl.OnBlock})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // failure guard
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx, ln) })

	// A raw peer logs in first and keeps the first job for later.
	p := dial(t, ln.Addr())
	first := p.login("raw")
	r := p.call(stratum.MethodSubmit, stratum.Submit{Worker: "raw", JobID: "nope", Extranonce2: make([]byte, 8), NTime: first.NTime}.Params())
	if !errors.Is(r.Err(), stratum.ErrJobNotFound) {
		t.Errorf("share for an unknown job: %v, want error 21", r.Err())
	}

	miners := make([]*stratum.Client, 2)
	for i := range miners {
		m, err := stratum.NewClient(stratum.ClientConfig{Addr: ln.Addr().String(), User: "cpu" + string(rune('a'+i)), Threads: 1, VersionRolling: true})
		if err != nil {
			t.Fatal(err)
		}
		miners[i] = m
		g.Go(func() error { return m.Run(gctx) })
	}

	var hashes []string
	for len(hashes) < 2 {
		select {
		case f := <-found:
			if f.Err != nil {
				t.Logf("block %d by %s not accepted: %v", f.Height, f.Worker, f.Err)
				continue
			}
			hashes = append(hashes, f.Hash)
		case <-ctx.Done():
			t.Fatalf("only %d blocks accepted before the deadline", len(hashes))
		}
	}
	if h := n.Height(t); h < start+2 {
		t.Errorf("height %d, want at least %d", h, start+2)
	}
	for _, h := range hashes {
		var vb struct {
			Tx []struct {
				Vout []struct {
					ScriptPubKey struct {
						Hex string `json:"hex"`
					} `json:"scriptPubKey"`
				} `json:"vout"`
			} `json:"rawtx"`
		}
		if err := n.Call(ctx, "getblock", []any{h, 2}, &vb); err != nil {
			t.Fatal(err)
		}
		if len(vb.Tx) == 0 || len(vb.Tx[0].Vout) == 0 {
			t.Fatalf("block %s has no coinbase output", h)
		}
		if got, want := vb.Tx[0].Vout[0].ScriptPubKey.Hex, hex.EncodeToString(b.PayToScript()); got != want {
			t.Errorf("block %s coinbase pays %s, want %s", h, got, want)
		}
	}

	// The raw peer has been sent a clean job since: its first job is stale.
	for {
		n, err := stratum.ParseNotify(p.next(stratum.MethodNotify).Params)
		if err != nil {
			t.Fatal(err)
		}
		if n.CleanJobs && n.JobID != first.JobID {
			break
		}
	}
	r = p.call(stratum.MethodSubmit, stratum.Submit{Worker: "raw", JobID: first.JobID, Extranonce2: make([]byte, 8), NTime: first.NTime}.Params())
	if !errors.Is(r.Err(), stratum.ErrJobNotFound) {
		t.Errorf("share for the previous block's job: %v, want error 21 (stale)", r.Err())
	}

	var accepted int
	for _, st := range srv.Stats() {
		t.Logf("%s conn %d: accepted %d rejected %d stale %d hashrate %v [%v, %v]", st.Worker, st.Conn, st.Accepted, st.Rejected, st.Stale, st.Hashrate, st.Low, st.High)
		if st.Worker == "raw" && st.Stale != 2 {
			t.Errorf("raw peer stale = %d, want 2", st.Stale)
		}
		accepted += st.Accepted
	}
	if accepted < 2 {
		t.Errorf("%d accepted shares, want at least 2", accepted)
	}
	cancel()
	if err := g.Wait(); err != nil {
		t.Errorf("run: %v", err)
	}
}
