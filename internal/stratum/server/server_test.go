package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/pow"
	"github.com/gridminer/gridminer/internal/stratum/server"
)

// chanSource is a JobSource fed by the test.
type chanSource chan server.Job

func (c chanSource) Run(ctx context.Context, out chan<- server.Job) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-c:
			select {
			case out <- j:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// peer is a raw Stratum connection driven by the test.
type peer struct {
	t      *testing.T
	c      net.Conn
	dec    *stratum.Decoder
	enc    *stratum.Encoder
	id     uint64
	notes  []*stratum.Message // notifications seen while waiting for responses
	en1    []byte
	en2Len int
}

func dial(t *testing.T, addr net.Addr) *peer {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(time.Minute)) // failure guard only
	return &peer{t: t, c: c, dec: stratum.NewDecoder(c, 0), enc: stratum.NewEncoder(c)}
}

// call sends a request and returns its response.
func (p *peer) call(method string, params any) *stratum.Message {
	p.t.Helper()
	p.id++
	m, err := stratum.NewRequest(p.id, method, params)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.enc.Encode(m); err != nil {
		p.t.Fatal(err)
	}
	for {
		r, err := p.dec.Decode()
		if err != nil {
			p.t.Fatalf("%s: %v", method, err)
		}
		if id, ok := r.IDUint(); ok && r.IsResponse() && id == p.id {
			return r
		}
		p.notes = append(p.notes, r)
	}
}

// next returns the next notification of method.
func (p *peer) next(method string) *stratum.Message {
	p.t.Helper()
	for {
		var m *stratum.Message
		if len(p.notes) > 0 {
			m, p.notes = p.notes[0], p.notes[1:]
		} else {
			var err error
			if m, err = p.dec.Decode(); err != nil {
				p.t.Fatalf("waiting for %s: %v", method, err)
			}
		}
		if m.Method == method {
			return m
		}
	}
}

func (p *peer) login(worker string) stratum.Notify {
	p.t.Helper()
	r := p.call(stratum.MethodSubscribe, stratum.Subscribe{UserAgent: "test"}.Params())
	sr, err := stratum.ParseSubscribeResult(r.Result)
	if err != nil {
		p.t.Fatal(err)
	}
	p.en1, p.en2Len = sr.Extranonce1, sr.Extranonce2Size
	if r := p.call(stratum.MethodAuthorize, stratum.Authorize{User: worker, Password: "x"}.Params()); !r.ResultBool() {
		p.t.Fatalf("authorize %s: %v", worker, r.Err())
	}
	p.next(stratum.MethodSetDifficulty)
	n, err := stratum.ParseNotify(p.next(stratum.MethodNotify).Params)
	if err != nil {
		p.t.Fatal(err)
	}
	return n
}

func testJob(id string, clean bool, netDiff float64) server.Job {
	t, err := pow.DiffToTargetLE(netDiff)
	if err != nil {
		panic(err)
	}
	return server.Job{Notify: stratum.Notify{
		JobID: id, PrevHash: [32]byte{1, 2, 3}, Coinb1: []byte("coinbase-one"), Coinb2: []byte("coinbase-two"),
		MerkleBranch: [][32]byte{{9}}, Version: 0x20000000, NBits: 0x207fffff, NTime: 1000, CleanJobs: clean,
	}, Target: t}
}

// find returns a share for n whose hash difficulty satisfies ok.
// With vbits != 0 the share rolls the version under the BIP 320 mask.
func find(t *testing.T, p *peer, n stratum.Notify, vbits uint32, ok func(d float64) bool) stratum.Submit {
	t.Helper()
	j := stratum.Job{Notify: n, Extranonce1: p.en1, Extranonce2Size: p.en2Len, VersionMask: stratum.BIP320Mask}
	s := stratum.Submit{Worker: "w1", JobID: n.JobID, Extranonce2: make([]byte, p.en2Len), NTime: n.NTime,
		VersionBits: vbits, HasVersionBits: vbits != 0}
	for nonce := uint32(0); nonce < 1<<16; nonce++ {
		s.Nonce = nonce
		h, err := j.Header(s)
		if err != nil {
			t.Fatal(err)
		}
		if ok(pow.HashDifficulty(pow.SHA256d(h[:]))) {
			return s
		}
	}
	t.Fatal("no nonce found")
	return s
}

const (
	shareDiff = 1.0 / (1 << 30) // about one hash in 4 meets it
	netDiff   = 1.0 / (1 << 27) // about one in 32
)

func start(t *testing.T, cfg server.Config, deps server.Deps) (*server.Server, chanSource) {
	t.Helper()
	src := make(chanSource)
	deps.Jobs = src
	s, err := server.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, src
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  server.Config
	}{
		{"zero difficulty", server.Config{}},
		{"nan difficulty", server.Config{ShareDifficulty: math.NaN()}},
		{"inf difficulty", server.Config{ShareDifficulty: math.Inf(1)}},
		{"extranonce2 too big", server.Config{ShareDifficulty: 1, Extranonce2Size: 17}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := server.New(tc.cfg, server.Deps{Jobs: make(chanSource)}); !errors.Is(err, server.ErrBadConfig) {
				t.Errorf("New = %v, want ErrBadConfig", err)
			}
		})
	}
	if _, err := server.New(server.Config{ShareDifficulty: 1}, server.Deps{}); !errors.Is(err, server.ErrBadConfig) {
		t.Errorf("New without a job source = %v, want ErrBadConfig", err)
	}
}

func TestSubmitOutcomes(t *testing.T) {
	blocks := make(chan server.Block, 4)
	s, src := start(t, server.Config{ShareDifficulty: shareDiff, Extranonce2Size: 4}, server.Deps{
		OnBlock:   func(b server.Block) { blocks <- b },
		Authorize: func(w, _ string) bool { return w != "intruder" },
	})
	src <- testJob("a", true, netDiff)
	<-s.Ready()

	p := dial(t, s.Addr())
	cr := p.call(stratum.MethodConfigure, stratum.Configure{Extensions: []string{"version-rolling"}, VersionRolling: true, Mask: 0xffffffff, MinBitCount: 2}.Params())
	if r, err := stratum.ParseConfigureResult(cr.Result); err != nil || !r.VersionRolling || r.Mask != stratum.BIP320Mask {
		t.Fatalf("configure = %+v, %v; want version rolling with %08x", r, err, stratum.BIP320Mask)
	}
	if r := p.call(stratum.MethodAuthorize, stratum.Authorize{User: "intruder"}.Params()); !errors.Is(r.Err(), stratum.ErrUnauthorized) {
		t.Errorf("authorize intruder: %v, want unauthorized", r.Err())
	}
	a := p.login("w1")
	if a.JobID != "a" {
		t.Fatalf("first job %q, want a", a.JobID)
	}

	accepted := find(t, p, a, 0, func(d float64) bool { return d >= shareDiff*1.01 && d < netDiff*0.99 })
	low := find(t, p, a, 0, func(d float64) bool { return d < shareDiff*0.99 })
	block := find(t, p, a, 0, func(d float64) bool { return d >= netDiff*1.01 })
	rolled := find(t, p, a, 0x00002000, func(d float64) bool { return d >= shareDiff*1.01 && d < netDiff*0.99 })
	unknown := accepted
	unknown.JobID = "nope"
	otherWorker := accepted
	otherWorker.Worker = "w2"
	badBits := accepted
	badBits.Nonce++
	badBits.VersionBits, badBits.HasVersionBits = 0x00000001, true
	early := accepted
	early.NTime = a.NTime - 1

	for _, tc := range []struct {
		name string
		sub  stratum.Submit
		want error // nil: accepted
	}{
		{"unknown job", unknown, stratum.ErrJobNotFound},
		{"low difficulty", low, stratum.ErrLowDifficulty},
		{"accepted", accepted, nil},
		{"duplicate", accepted, stratum.ErrDuplicate},
		{"block candidate", block, nil},
		{"rolled version", rolled, nil},
		{"version bits outside mask", badBits, stratum.ErrOther},
		{"ntime before the job", early, stratum.ErrOther},
		{"unauthorized worker", otherWorker, stratum.ErrUnauthorized},
	} {
		r := p.call(stratum.MethodSubmit, tc.sub.Params())
		if tc.want == nil {
			if !r.ResultBool() || r.Err() != nil {
				t.Errorf("%s: result %s err %v, want accepted", tc.name, r.Result, r.Err())
			}
			continue
		}
		if !errors.Is(r.Err(), tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, r.Err(), tc.want)
		}
	}
	b := <-blocks
	if b.Worker != "w1" || b.Job.Notify.JobID != "a" || b.Nonce != block.Nonce || !bytes.Equal(b.Extranonce1, p.en1) {
		t.Errorf("block candidate %+v, want w1 job a nonce %d", b, block.Nonce)
	}
	if got := pow.SHA256d(b.Header[:]); got != b.Hash {
		t.Errorf("candidate hash %s, header hashes to %s", b.Hash, got)
	}

	// A clean job makes job a stale.
	src <- testJob("b", true, netDiff)
	if n, err := stratum.ParseNotify(p.next(stratum.MethodNotify).Params); err != nil || n.JobID != "b" || !n.CleanJobs {
		t.Fatalf("notify = %+v, %v; want clean job b", n, err)
	}
	stale := find(t, p, a, 0, func(d float64) bool { return d >= shareDiff*1.01 && d < netDiff*0.99 && d != 0 })
	stale.Extranonce2 = []byte{0, 0, 0, 1} // a fresh share; staleness is checked first
	r := p.call(stratum.MethodSubmit, stale.Params())
	if !errors.Is(r.Err(), stratum.ErrJobNotFound) || r.Err().(*stratum.Error).Message != "stale job" {
		t.Errorf("share for superseded job: %v, want error 21 stale job", r.Err())
	}

	st := s.Stats()
	if len(st) != 1 {
		t.Fatalf("stats for %d miners, want 1: %+v", len(st), st)
	}
	if got := st[0]; got.Worker != "w1" || got.Accepted != 3 || got.Rejected != 4 || got.Stale != 2 || !got.Connected || got.LastShare.IsZero() {
		t.Errorf("stats = %+v, want w1 accepted 3 rejected 4 stale 2", got)
	}
}

func TestSubmitBeforeSubscribe(t *testing.T) {
	s, src := start(t, server.Config{ShareDifficulty: shareDiff}, server.Deps{})
	src <- testJob("a", true, netDiff)
	<-s.Ready()
	p := dial(t, s.Addr())
	r := p.call(stratum.MethodSubmit, stratum.Submit{Worker: "w", JobID: "a", Extranonce2: make([]byte, 8)}.Params())
	if !errors.Is(r.Err(), stratum.ErrNotSubscribed) {
		t.Errorf("submit before subscribe: %v, want not subscribed", r.Err())
	}
	if r := p.call("mining.bogus", []any{}); !errors.Is(r.Err(), stratum.ErrOther) {
		t.Errorf("unknown method: %v, want error 20", r.Err())
	}
}

func TestUniqueExtranonce1(t *testing.T) {
	s, src := start(t, server.Config{ShareDifficulty: shareDiff}, server.Deps{})
	src <- testJob("a", true, netDiff)
	<-s.Ready()
	seen := map[string]bool{}
	for range 5 {
		p := dial(t, s.Addr())
		p.login("w")
		if seen[string(p.en1)] {
			t.Errorf("extranonce1 %x given twice", p.en1)
		}
		seen[string(p.en1)] = true
		if len(p.en1) != server.Extranonce1Size {
			t.Errorf("extranonce1 %x has %d bytes, want %d", p.en1, len(p.en1), server.Extranonce1Size)
		}
	}
}

// rawCall sends one hand-written request line with id and returns its response.
func (p *peer) rawCall(id uint64, line string) *stratum.Message {
	p.t.Helper()
	if _, err := p.c.Write([]byte(line + "\n")); err != nil {
		p.t.Fatal(err)
	}
	for {
		r, err := p.dec.Decode()
		if err != nil {
			p.t.Fatalf("%s: %v", line, err)
		}
		if got, ok := r.IDUint(); ok && r.IsResponse() && got == id {
			return r
		}
		p.notes = append(p.notes, r)
	}
}

// TestSubmitFastAndGeneralPaths sends shares in the forms the read loop's
// fast path takes and in forms it leaves to the general path: both reach
// the same share handling (a share accepted one way is a duplicate the
// other way).
func TestSubmitFastAndGeneralPaths(t *testing.T) {
	s, src := start(t, server.Config{ShareDifficulty: shareDiff, Extranonce2Size: 4}, server.Deps{})
	src <- testJob("a", true, netDiff)
	<-s.Ready()
	p := dial(t, s.Addr())
	a := p.login("w1")
	mid := func(d float64) bool { return d >= shareDiff*1.01 && d < netDiff*0.99 }
	one := find(t, p, a, 0, mid)
	a.NTime++ // rolled ntime: a different share
	two := find(t, p, a, 0, mid)
	line := func(sub stratum.Submit, id uint64, worker string) string {
		return fmt.Sprintf(`{"params": [%q, %q, "%x", "%08x", "%08x"], "id": %d, "method": "mining.submit"}`,
			worker, sub.JobID, sub.Extranonce2, sub.NTime, sub.Nonce, id)
	}
	for _, tc := range []struct {
		name string
		line string
		id   uint64
		want error // nil: accepted
	}{
		{"fast path (cgminer order)", line(one, 101, "w1"), 101, nil},
		{"general path (escaped worker), same share", strings.Replace(line(one, 102, "w1"), `"w1"`, `"w\u0031"`, 1), 102, stratum.ErrDuplicate},
		{"general path (escaped worker)", strings.Replace(line(two, 103, "w1"), `"w1"`, `"w\u0031"`, 1), 103, nil},
		{"fast path, same share", line(two, 104, "w1"), 104, stratum.ErrDuplicate},
		{"fast path, unknown worker", line(two, 105, "w9"), 105, stratum.ErrUnauthorized},
	} {
		r := p.rawCall(tc.id, tc.line)
		if tc.want == nil {
			if !r.ResultBool() || r.Err() != nil {
				t.Errorf("%s: result %s err %v, want accepted", tc.name, r.Result, r.Err())
			}
			continue
		}
		if !errors.Is(r.Err(), tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, r.Err(), tc.want)
		}
	}
}
