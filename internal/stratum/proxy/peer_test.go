package proxy_test

import (
	"encoding/hex"
	"net"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/pow"
)

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(s) }

// peer is a raw Stratum connection driven by the test.
type peer struct {
	t      *testing.T
	c      net.Conn
	dec    *stratum.Decoder
	enc    *stratum.Encoder
	id     uint64
	notes  []*stratum.Message
	en1    []byte
	en2Len int
	worker string
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
	p.worker = worker
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

// find returns a share for n whose hash difficulty satisfies ok.
func (p *peer) find(n stratum.Notify, ok func(d float64) bool) stratum.Submit {
	p.t.Helper()
	j := stratum.Job{Notify: n, Extranonce1: p.en1, Extranonce2Size: p.en2Len}
	s := stratum.Submit{Worker: p.worker, JobID: n.JobID, Extranonce2: make([]byte, p.en2Len), NTime: n.NTime}
	for nonce := uint32(0); nonce < 1<<24; nonce++ {
		s.Nonce = nonce
		h, err := j.Header(s)
		if err != nil {
			p.t.Fatal(err)
		}
		if ok(pow.HashDifficulty(pow.SHA256d(h[:]))) {
			return s
		}
	}
	p.t.Fatal("no nonce found")
	return s
}
