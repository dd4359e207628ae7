package stratum

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/stratum/pow"
)

// testPool is a minimal Stratum server over loopback TCP: it answers
// subscribe and authorize, sends jobs and checks every share it receives.
type testPool struct {
	t   *testing.T
	ln  net.Listener
	en1 []byte
}

type poolConn struct {
	dec *Decoder
	enc *Encoder
	c   net.Conn
}

func (p *testPool) accept() *poolConn {
	p.t.Helper()
	c, err := p.ln.Accept()
	if err != nil {
		p.t.Fatalf("accept: %v", err)
	}
	if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		p.t.Fatal(err)
	}
	return &poolConn{dec: NewDecoder(c, 0), enc: NewEncoder(c), c: c}
}

func (pc *poolConn) next(t *testing.T) *Message {
	t.Helper()
	m, err := pc.dec.Decode()
	if err != nil {
		t.Fatalf("pool read: %v", err)
	}
	return m
}

func (pc *poolConn) send(t *testing.T) func(*Message, error) {
	return func(m *Message, err error) {
		t.Helper()
		if err == nil {
			err = pc.enc.Encode(m)
		}
		if err != nil {
			t.Fatalf("pool write: %v", err)
		}
	}
}

// handshake answers subscribe and authorize and sends difficulty and a job.
func (p *testPool) handshake(pc *poolConn, diff float64, job Notify) {
	t := p.t
	m := pc.next(t)
	if m.Method != MethodSubscribe {
		t.Fatalf("first message %q, want subscribe", m.Method)
	}
	pc.send(t)(NewResponse(m.ID, SubscribeResult{Subscriptions: [][2]string{{"mining.notify", "1"}}, Extranonce1: p.en1, Extranonce2Size: 4}.Result(), nil))
	m = pc.next(t)
	if m.Method != MethodAuthorize {
		t.Fatalf("second message %q, want authorize", m.Method)
	}
	a, err := ParseAuthorize(m.Params)
	if err != nil || a.User != "bcrt1qtest.cpu" {
		t.Fatalf("authorize %+v %v", a, err)
	}
	pc.send(t)(NewResponse(m.ID, true, nil))
	// A ckpool-style ping request must be answered, not break the client.
	pc.send(t)(&Message{ID: json.RawMessage("42"), Method: MethodPing, Params: json.RawMessage("[]")}, nil)
	pc.send(t)(NewNotification(MethodSetDifficulty, SetDifficulty{Difficulty: diff}.Params()))
	pc.send(t)(NewNotification(MethodNotify, job.Params()))
}

// checkShare rebuilds the header of a submit and checks it meets the target.
func (p *testPool) checkShare(m *Message, job Notify, diff float64) Submit {
	t := p.t
	t.Helper()
	s, err := ParseSubmit(m.Params)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	if s.JobID != job.JobID {
		return s
	}
	j := Job{Notify: job, Extranonce1: p.en1, Extranonce2Size: 4}
	hdr, err := j.Header(s)
	if err != nil {
		t.Fatalf("share header: %v", err)
	}
	tgt, _ := pow.DiffToTargetLE(diff)
	h := pow.SHA256d(hdr[:])
	if !tgt.Meets(&h) {
		t.Errorf("share %+v: hash %s does not meet difficulty %v", s, h, diff)
	}
	return s
}

func testJob(id string, clean bool) Notify {
	n := Notify{JobID: id, Coinb1: []byte{1, 2, 3}, Coinb2: []byte{4, 5}, MerkleBranch: [][32]byte{{9}},
		Version: 0x20000000, NBits: 0x207fffff, NTime: 0x6b05e4b3, CleanJobs: clean}
	n.PrevHash[0] = byte(len(id))
	return n
}

func TestClientMinesShares(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pool := &testPool{t: t, ln: ln, en1: []byte{0xde, 0xad, 0xbe, 0xef}}
	results := make(chan ShareResult, 100)
	c, err := NewClient(ClientConfig{Addr: ln.Addr().String(), User: "bcrt1qtest.cpu", Threads: 2,
		MinBackoff: time.Millisecond, OnResult: func(r ShareResult) { results <- r }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	const diff = 1.0 / 65536 // about 65536 hashes per share
	job1, job2 := testJob("job1", false), testJob("job2", true)

	// First connection: three shares, the third rejected ckpool-style, then
	// the pool drops the connection.
	pc := pool.accept()
	pool.handshake(pc, diff, job1)
	sawPong := false
	for shares := 0; shares < 3; {
		m := pc.next(t)
		if m.IsResponse() {
			if id, _ := m.IDUint(); id == 42 {
				sawPong = true
			}
			continue
		}
		if m.Method != MethodSubmit {
			t.Fatalf("unexpected %q", m.Method)
		}
		pool.checkShare(m, job1, diff)
		shares++
		if shares < 3 {
			pc.send(t)(NewResponse(m.ID, true, nil))
		} else {
			r, _ := NewResponse(m.ID, false, nil)
			r.RejectReason = "Above target"
			pc.send(t)(r, nil)
		}
	}
	if !sawPong {
		t.Error("no pong to the pool's ping")
	}
	for i := range 3 {
		r := <-results
		if r.Accepted != (i < 2) {
			t.Errorf("result %d accepted=%v err=%v", i, r.Accepted, r.Err)
		}
		if i == 2 && !errors.Is(r.Err, ErrRejected) {
			t.Errorf("reject error %v, want ErrRejected", r.Err)
		}
	}
	pc.c.Close()

	// The client reconnects; after a clean job switch no old-job share follows
	// the first new-job share.
	pc = pool.accept()
	pool.handshake(pc, diff, job1)
	pc.send(t)(NewNotification(MethodNotify, job2.Params()))
	newShares := 0
	for newShares < 3 {
		m := pc.next(t)
		if m.Method != MethodSubmit {
			continue
		}
		s := pool.checkShare(m, job2, diff)
		switch s.JobID {
		case "job2":
			newShares++
		case "job1":
			if newShares > 0 {
				t.Errorf("share for cleaned job1 after job2 shares")
			}
			pool.checkShare(m, job1, diff)
		}
		pc.send(t)(NewResponse(m.ID, true, nil))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
	st := c.Stats()
	if st.Accepted < 2 || st.Rejected != 1 || st.Hashes == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"stratum+tcp://pool.example:3333", "pool.example:3333", true},
		{"127.0.0.1:3333", "127.0.0.1:3333", true},
		{"http://pool:80", "", false},
		{"stratum+tcp://pool", "", false},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseURL(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
