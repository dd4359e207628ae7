package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/stratum"
)

// TestMineCommand runs `gridminer mine` against a loopback pool that
// accepts one share, then stops the command through its context.
func TestMineCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out bytes.Buffer
	root := newRoot()
	root.SetOut(&out)
	root.SetArgs([]string{"mine", "--url", "stratum+tcp://" + ln.Addr().String(), "--user", "u.1", "--threads", "1"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	dec, enc := stratum.NewDecoder(c, 0), stratum.NewEncoder(c)
	send := func(m *stratum.Message, err error) {
		t.Helper()
		if err == nil {
			err = enc.Encode(m)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for {
		m, err := dec.Decode()
		if err != nil {
			t.Fatal(err)
		}
		switch m.Method {
		case stratum.MethodSubscribe:
			send(stratum.NewResponse(m.ID, stratum.SubscribeResult{Extranonce1: []byte{1, 2}, Extranonce2Size: 2}.Result(), nil))
		case stratum.MethodAuthorize:
			send(stratum.NewResponse(m.ID, true, nil))
			send(stratum.NewNotification(stratum.MethodSetDifficulty, stratum.SetDifficulty{Difficulty: 1.0 / 65536}.Params()))
			send(stratum.NewNotification(stratum.MethodNotify, stratum.Notify{JobID: "j", Version: 0x20000000, NBits: 0x207fffff, NTime: 1, CleanJobs: true}.Params()))
		case stratum.MethodSubmit:
			send(stratum.NewResponse(m.ID, true, nil))
			// The client handles lines in order: once it answers this ping,
			// it has printed the share's result.
			send(&stratum.Message{ID: []byte("99"), Method: stratum.MethodPing, Params: []byte("[]")}, nil)
			for {
				r, err := dec.Decode()
				if err != nil {
					t.Fatal(err)
				}
				if id, ok := r.IDUint(); ok && r.IsResponse() && id == 99 {
					break
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("mine: %v", err)
			}
			if !strings.Contains(out.String(), "accepted job j") {
				t.Errorf("output %q lacks the accepted share", out.String())
			}
			return
		}
	}
}
