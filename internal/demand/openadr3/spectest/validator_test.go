package spectest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/demand/openadr3"
)

// recorder is a testing.TB that keeps the errors reported to it.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}

// TestValidatorCatchesViolations makes sure the validation the other tests
// rely on fails on requests and answers that break the documents.
func TestValidatorCatchesViolations(t *testing.T) {
	for _, v := range openadr3.Versions {
		t.Run(string(v), func(t *testing.T) {
			doc := loadSpec(t, v)
			if doc == nil {
				t.Skip("no OpenAPI document")
			}
			answer := `[{"id": "e1", "objectType": "EVENT", "createdDateTime": "2025-01-01T00:00:00Z", "modificationDateTime": "2025-01-01T00:00:00Z",
				"intervalPeriod": {"start": "2025-01-01T00:00:00Z", "duration": "one hour"}, "intervals": []}]`
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.Method == http.MethodPost {
					w.WriteHeader(http.StatusTeapot)
					fmt.Fprint(w, `{}`)
					return
				}
				fmt.Fprint(w, answer)
			}))
			defer srv.Close()
			rec := &recorder{TB: t}
			base := srv.URL + v.BasePath()
			hc := &http.Client{Transport: newValidator(rec, v, doc, base)}

			// An answer without programID and with a bad duration.
			req, _ := http.NewRequest(http.MethodGet, base+"/events", nil)
			req.Header.Set("Authorization", "Bearer x")
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			// A request without a token, with a limit above 50, and an
			// event without programID, answered with an undeclared status.
			req, _ = http.NewRequest(http.MethodGet, base+"/programs?limit=99", nil)
			if resp, err = hc.Do(req); err == nil {
				resp.Body.Close()
			}
			req, _ = http.NewRequest(http.MethodPost, base+"/events", strings.NewReader(`{"eventName": "x", "intervals": []}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer x")
			if resp, err = hc.Do(req); err == nil {
				resp.Body.Close()
			}
			all := strings.Join(rec.errs, "\n")
			for _, want := range []string{"programID", "duration", "security requirement", "limit", "418"} {
				if !strings.Contains(all, want) {
					t.Errorf("no validation error mentions %q; errors:\n%s", want, all)
				}
			}
		})
	}
}

// TestVenResources: a VEN registers its ven and a resource (3.0.1 under
// /vens/{venID}/resources, 3.1.0 under /resources); another VEN can
// neither see nor extend them.
func TestVenResources(t *testing.T) {
	forVersions(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ven1 := e.client(ven1ID, ven1Secret)
		ven2 := e.client(ven2ID, ven2Secret)
		body := openadr3.Ven{VenName: ven1Name}
		res := openadr3.Resource{ResourceName: "hall-a"}
		if e.v == openadr3.V310 {
			body.ObjectType, res.ObjectType = openadr3.VenVenRequest, openadr3.VenResourceRequest
		}
		ven, err := ven1.CreateVen(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		if ven.ObjectType != openadr3.ObjectVEN || ven.ClientID != ven1ID {
			t.Errorf("ven %+v", ven)
		}
		got, err := ven1.CreateResource(ctx, ven.ID, res)
		if err != nil {
			t.Fatal(err)
		}
		if got.VenID != ven.ID || got.ObjectType != openadr3.ObjectResource {
			t.Errorf("resource %+v", got)
		}
		if _, err := ven1.CreateResource(ctx, ven.ID, res); !openadr3.IsStatus(err, http.StatusConflict) {
			t.Errorf("duplicate resource: %v, want 409", err)
		}
		if _, err := ven2.CreateResource(ctx, ven.ID, res); !openadr3.IsStatus(err, http.StatusForbidden) {
			t.Errorf("site-2 adds to site-1's ven: %v, want 403", err)
		}
		for _, c := range []struct {
			name   string
			client *openadr3.Client
			n      int
		}{{"site-1", ven1, 1}, {"bl", e.bl, 1}} {
			list, err := c.client.Resources(ctx, ven.ID, openadr3.Query{})
			if err != nil || len(list) != c.n {
				t.Errorf("%s reads %d resources (%v), want %d", c.name, len(list), err, c.n)
			}
		}
		if vens, err := ven2.Vens(ctx, openadr3.Query{}); err != nil || len(vens) != 0 {
			t.Errorf("site-2 reads vens %+v (%v), want none", vens, err)
		}
	})
}

// TestNotificationRetries: a callback that fails is tried again after a
// backoff on the VTN's clock.
func TestNotificationRetries(t *testing.T) {
	e := newEnv(t, openadr3.V310)
	ctx := context.Background()
	var mu sync.Mutex
	var posts []time.Time
	got := make(chan struct{}, 10)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			fmt.Fprint(w, r.URL.Query().Get("echo"))
			return
		}
		mu.Lock()
		posts = append(posts, e.vtnClk.Now())
		n := len(posts)
		mu.Unlock()
		if n == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
		got <- struct{}{}
	}))
	defer cb.Close()
	e.val.mu.Lock()
	e.val.failingCallbacks = true // the 503 is the point here
	e.val.mu.Unlock()
	prog := e.program("dr")
	if _, err := e.bl.CreateSubscription(ctx, openadr3.Subscription{ClientName: "bl-listener", ObjectOperations: []openadr3.ObjectOperation{{
		Objects: []openadr3.ObjectType{openadr3.ObjectEvent}, Operations: []openadr3.Operation{openadr3.OpCreate}, CallbackURL: cb.URL + "/cb",
	}}}); err != nil {
		t.Fatal(err)
	}
	e.createEvent(e.capEvent(prog, "", t0, time.Hour, 1, 0))
	waitSignal(t, got)
	// The VTN waits for its retry on its clock; step to it.
	retry := e.vtnClk.next(t)
	if want := t0.Add(2 * time.Second); !retry.Equal(want) {
		t.Errorf("retry at %s, want %s", retry, want)
	}
	e.vtnClk.set(retry)
	waitSignal(t, got)
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 2 || !posts[1].Equal(retry) {
		t.Errorf("posts at %v, want two, the second at %s", posts, retry)
	}
}

func waitSignal(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(failsafe):
		t.Fatal("no signal")
	}
}
