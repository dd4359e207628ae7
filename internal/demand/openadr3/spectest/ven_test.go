package spectest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/demand/openadr3"
)

// TestVENBacksOff: a VTN that answers 429 with Retry-After is polled again
// no sooner than asked; failures without it back off doubling from 1 s.
// (A stand-in VTN: its deliberate 429s and 500s are not validated.)
func TestVENBacksOff(t *testing.T) {
	var polls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /openadr3/3.0.1/auth/token", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(openadr3.TokenResponse{AccessToken: "t", TokenType: "Bearer", ExpiresIn: 3600})
	})
	mux.HandleFunc("GET /openadr3/3.0.1/vens", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode([]openadr3.Ven{{ObjectMeta: openadr3.ObjectMeta{ID: "v1"}, VenName: ven1Name}})
	})
	mux.HandleFunc("GET /openadr3/3.0.1/programs", func(w http.ResponseWriter, r *http.Request) {
		if polls.Add(1) == 1 {
			w.Header().Set("Retry-After", "120")
			http.Error(w, `{"status": 429}`, http.StatusTooManyRequests)
			return
		}
		http.Error(w, `{"status": 500}`, http.StatusInternalServerError)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	clk := newStepClock(t0)
	ven, err := openadr3.NewVEN(openadr3.VENConfig{BaseURL: srv.URL + "/openadr3/3.0.1", Version: openadr3.V301, ClientID: "c", ClientSecret: "s", VENName: ven1Name},
		openadr3.VENDeps{Store: openStore(t, "ven.db"), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ven.Run(ctx, make(chan []demand.Event, 10)) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for i, want := range []time.Duration{120 * time.Second, 122 * time.Second, 126 * time.Second, 134 * time.Second} {
		got := clk.next(t)
		if !got.Equal(t0.Add(want)) {
			t.Fatalf("poll %d: next poll at +%s, want +%s", i+2, got.Sub(t0), want)
		}
		clk.set(got)
	}
}

// TestProgramFilter: a VEN limited to some programs ignores the events of
// the others.
func TestProgramFilter(t *testing.T) {
	forVersions(t, func(t *testing.T, e *env) {
		wanted, other := e.program("wanted"), e.program("other")
		ev := e.createEvent(e.capEvent(wanted, ven1Name, t0, time.Hour, 1, 0))
		e.createEvent(e.capEvent(other, ven1Name, t0, time.Hour, 2, 0))
		st := openStore(t, "ven.db")
		ven, err := openadr3.NewVEN(openadr3.VENConfig{BaseURL: e.base, Version: e.v, ClientID: ven1ID, ClientSecret: ven1Secret, VENName: ven1Name,
			ProgramNames: []string{"wanted"}, HTTPClient: e.hc}, openadr3.VENDeps{Store: st, Clock: newStepClock(t0)})
		if err != nil {
			t.Fatal(err)
		}
		r := &venRun{ven: ven, out: make(chan []demand.Event, 10), done: make(chan error, 1)}
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		go func() { r.done <- ven.Run(ctx, r.out) }()
		defer r.stop(t)
		set := r.waitFor(t, "the wanted event", func(set []demand.Event) bool { return len(set) > 0 })
		if len(set) != 1 || set[0].Program != "wanted" {
			t.Errorf("set %+v, want only the event of program wanted", set)
		}
		if _, ok := find(set, ev.ID); !ok {
			t.Errorf("set %+v lacks %s", set, ev.ID)
		}
	})
}
