package antminer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
)

// confServer serves conf from get_miner_conf.cgi (no auth) and records
// every body POSTed to set_miner_conf.cgi, answering reply.
type confServer struct {
	mu    sync.Mutex
	conf  []byte
	reply string
	posts [][]byte
}

func (s *confServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case pathGetConf:
		w.Write(s.conf)
	case pathSetConf:
		b, _ := io.ReadAll(r.Body)
		s.posts = append(s.posts, b)
		io.WriteString(w, s.reply)
	default:
		http.NotFound(w, r)
	}
}

func newConfMiner(t *testing.T, s *confServer) *Miner {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	m, err := NewWithCapabilities(Config{Addr: "127.0.0.1:1", WebAddr: strings.TrimPrefix(srv.URL, "http://"), Timeout: 2 * time.Second},
		Deps{Clock: clock.NewManual(time.Unix(0, 0))}, testCaps(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestApplyPreservesConf proves that the write carries every member read,
// byte for byte and in order, with only miner-mode (and the freq-level
// the stock CGI takes) added.
func TestApplyPreservesConf(t *testing.T) {
	orig := fixture(t, "get_miner_conf.json")
	// Keys the driver knows nothing about, odd spacing and nesting.
	orig = append(orig[:len(orig)-1], []byte(`,"x-vendor":{"a":[1, 2.50,"\u00e9"],"b":null} ,"bitmain-fan-pwm-extra":"07"}`)...)
	s := &confServer{conf: orig, reply: string(fixture(t, "set_miner_conf-ok.json"))}
	m := newConfMiner(t, s)
	if err := m.Apply(context.Background(), miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	if len(s.posts) != 1 {
		t.Fatalf("%d posts, want 1", len(s.posts))
	}
	before, err := parseConf(orig)
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseConf(s.posts[0])
	if err != nil {
		t.Fatalf("posted conf: %v\n%s", err, s.posts[0])
	}
	want := append(append(minerConf(nil), before...), confMember{"miner-mode", []byte("1")}, confMember{"freq-level", []byte(`"100"`)})
	if diff := cmp.Diff(want, after, cmp.AllowUnexported(confMember{})); diff != "" {
		t.Errorf("posted conf (-want +got):\n%s", diff)
	}
}

func TestApplyModes(t *testing.T) {
	conf := string(fixture(t, "get_miner_conf.json")) // bitmain-work-mode "0"
	tests := []struct {
		name     string
		sp       miner.Setpoint
		asString bool
		wantPost string // the miner-mode member posted, "" for no post
	}{
		{"sleep", miner.Sleep(), false, `"miner-mode":1`},
		{"sleep as string", miner.Sleep(), true, `"miner-mode":"1"`},
		{"low", miner.Run(2500), false, `"miner-mode":3`},
		{"already normal", miner.Run(0), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &confServer{conf: []byte(conf), reply: `{"stats":"success","code":"M000","msg":"OK!"}`}
			m := newConfMiner(t, s)
			m.cfg.ModeAsString = tt.asString
			if err := m.Apply(context.Background(), tt.sp); err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.wantPost == "" && len(s.posts) != 0:
				t.Errorf("posted %s, want no write", s.posts[0])
			case tt.wantPost != "" && (len(s.posts) != 1 || !strings.Contains(string(s.posts[0]), tt.wantPost)):
				t.Errorf("posts %q, want one with %s", s.posts, tt.wantPost)
			}
		})
	}
}

func TestApplyRejected(t *testing.T) {
	s := &confServer{conf: fixture(t, "get_miner_conf.json"), reply: string(fixture(t, "set_miner_conf-error.json"))}
	err := newConfMiner(t, s).Apply(context.Background(), miner.Sleep())
	if !errors.Is(err, miner.ErrRejected) {
		t.Errorf("err %v, want ErrRejected", err)
	}
}

func TestCheckSetConf(t *testing.T) {
	tests := []struct {
		body string
		want error
	}{
		{`{"stats":"success","code":"M000","msg":"OK!"}`, nil},
		{"", nil},
		{`{"code":"M000"}`, nil},
		{`{"stats":"error","code":"M001","msg":"Invalid pool!"}`, miner.ErrRejected},
		{`{}`, miner.ErrProtocol},
		{`<html>`, miner.ErrProtocol},
	}
	for _, tt := range tests {
		if err := checkSetConf([]byte(tt.body)); !errors.Is(err, tt.want) {
			t.Errorf("%q: %v, want %v", tt.body, err, tt.want)
		}
	}
}

func TestParseConf(t *testing.T) {
	tests := []struct {
		body     string
		wantMode int
		wantOK   bool
		wantErr  bool
	}{
		{`{"bitmain-work-mode":"3"}`, 3, true, false},
		{`{"miner-mode":1}`, 1, true, false},
		{`{"bitmain-work-mode":"1","miner-mode":0}`, 1, true, false},
		{`{"pools":[]}`, 0, false, false},
		{`{"bitmain-work-mode":"x"}`, 0, false, false},
		{`[]`, 0, false, true},
		{`{"a":1} {}`, 0, false, true},
		{`{"a":`, 0, false, true},
	}
	for _, tt := range tests {
		c, err := parseConf([]byte(tt.body))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err %v, want error %v", tt.body, err, tt.wantErr)
			continue
		}
		if err != nil {
			if !errors.Is(err, miner.ErrProtocol) {
				t.Errorf("%s: %v, want ErrProtocol", tt.body, err)
			}
			continue
		}
		if mode, ok := c.mode(); mode != tt.wantMode || ok != tt.wantOK {
			t.Errorf("%s: mode %d %v, want %d %v", tt.body, mode, ok, tt.wantMode, tt.wantOK)
		}
		if got := string(c.marshal()); got != tt.body {
			t.Errorf("round trip %s, want %s", got, tt.body)
		}
	}
}
