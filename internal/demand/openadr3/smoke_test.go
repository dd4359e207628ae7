package openadr3_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/demand/openadr3"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/store/sqlite"
)

// TestSmoke runs a VTN and a VEN with a webhook over HTTP for each
// version: an event reaches the VEN, its deletion cancels it. (The full
// end-to-end tests, validated against the OpenAPI documents, are in
// ./spectest.)
func TestSmoke(t *testing.T) {
	t0 := time.Date(2025, 6, 2, 14, 0, 0, 0, time.UTC)
	for _, v := range openadr3.Versions {
		t.Run(string(v), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			open := func(name string) *sqlite.Store {
				st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), name))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
			clk := clock.NewManual(t0)
			vt, err := openadr3.NewVTN(openadr3.VTNConfig{
				Clients: []openadr3.VTNClient{
					{ID: "bl", Secret: "s1", Role: openadr3.RoleBL},
					{ID: "ven", Secret: "s2", Role: openadr3.RoleVEN, VENName: "site-1"},
				},
				AllowHTTPCallbacks: true,
			}, openadr3.VTNDeps{Store: open("vtn.db"), Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(vt)
			defer srv.Close()
			vtnDone := make(chan error, 1)
			go func() { vtnDone <- vt.Run(ctx) }()
			base := srv.URL + v.BasePath()

			ven, err := openadr3.NewVEN(openadr3.VENConfig{
				BaseURL: base, Version: v, ClientID: "ven", ClientSecret: "s2", VENName: "site-1",
				Webhook: &openadr3.WebhookConfig{Listen: "127.0.0.1:0"},
			}, openadr3.VENDeps{Store: open("ven.db"), Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			out := make(chan []demand.Event, 100)
			venDone := make(chan error, 1)
			go func() { venDone <- ven.Run(ctx, out) }()
			next := func(what string) []demand.Event {
				t.Helper()
				select {
				case set := <-out:
					return set
				case <-time.After(30 * time.Second):
					t.Fatalf("no set: %s", what)
				}
				return nil
			}
			if set := next("first"); len(set) != 0 {
				t.Fatalf("first set %+v, want empty", set)
			}

			bl, err := openadr3.NewClient(openadr3.ClientConfig{BaseURL: base, Version: v, ClientID: "bl", ClientSecret: "s1", Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			prog, err := bl.CreateProgram(ctx, openadr3.Program{ProgramName: "dr"})
			if err != nil {
				t.Fatal(err)
			}
			ev, err := bl.CreateEvent(ctx, openadr3.Event{
				ProgramID:      prog.ID,
				IntervalPeriod: &openadr3.IntervalPeriod{Start: openadr3.DateTimeOf(t0), Duration: "PT1H"},
				Intervals:      []openadr3.Interval{{Payloads: []openadr3.ValuesMap{{Type: openadr3.PayloadImportCapacityLimit, Values: []openadr3.Value{openadr3.Num(40)}}}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			// Poll now in case the event was created before the subscription.
			ven.PollNow()
			set := next("the event")
			if len(set) != 1 || set[0].Kind != demand.Cap || set[0].Power != 40*energy.Kilowatt || !set[0].Start.Equal(t0) {
				t.Fatalf("set %+v, want the 40 kW cap", set)
			}
			if _, err := bl.DeleteEvent(ctx, ev.ID); err != nil {
				t.Fatal(err)
			}
			ven.PollNow()
			if set := next("the cancellation"); len(set) != 1 || !set[0].Cancelled {
				t.Fatalf("set %+v, want the cap cancelled", set)
			}
			cancel()
			if err := <-venDone; err != nil {
				t.Errorf("ven: %v", err)
			}
			if err := <-vtnDone; err != nil {
				t.Errorf("vtn: %v", err)
			}
		})
	}
}
