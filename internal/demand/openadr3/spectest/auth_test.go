package spectest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/demand/openadr3"
)

// call sends a request as is (token "" sends none) and returns the status
// and body; only the answer is validated when invalid is set.
func (e *env) call(method, path, token string, body any, invalid bool) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = strings.NewReader(string(j))
	}
	ctx := context.Background()
	if invalid {
		ctx = withInvalidRequest(ctx)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (e *env) token(id, secret string) string {
	e.t.Helper()
	status, body := e.call(http.MethodPost, "/auth/token", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}, false)
	var tr openadr3.TokenResponse
	if status != http.StatusOK || json.Unmarshal(body, &tr) != nil {
		e.t.Fatalf("token for %s: %d %s", id, status, body)
	}
	return tr.AccessToken
}

// unauthorized is how a version answers a missing or bad token: 3.1.0
// defines 401; 3.0.1 defines only 403.
func (e *env) unauthorized() int {
	if e.v == openadr3.V310 {
		return http.StatusUnauthorized
	}
	return http.StatusForbidden
}

func problemOf(t *testing.T, body []byte) openadr3.Problem {
	t.Helper()
	var p openadr3.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not a problem: %s", body)
	}
	return p
}

func TestTokens(t *testing.T) {
	forVersions(t, func(t *testing.T, e *env) {
		form := func(kv ...string) url.Values {
			v := url.Values{}
			for i := 0; i < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		status, body := e.call(http.MethodPost, "/auth/token", "", form("grant_type", "client_credentials", "client_id", blID, "client_secret", blSecret), false)
		var tr openadr3.TokenResponse
		if err := json.Unmarshal(body, &tr); status != http.StatusOK || err != nil || tr.TokenType != "Bearer" || tr.ExpiresIn != 3600 {
			t.Fatalf("token: %d %s", status, body)
		}
		if want := "read_all write_programs write_events write_subscriptions write_vens"; tr.Scope != want {
			t.Errorf("bl scope %q, want %q", tr.Scope, want)
		}
		for _, tc := range []struct {
			name   string
			form   url.Values
			status int
			code   string
		}{
			{"wrong secret", form("grant_type", "client_credentials", "client_id", blID, "client_secret", "nope"), e.unauthorized(), "invalid_client"},
			{"unknown client", form("grant_type", "client_credentials", "client_id", "who", "client_secret", "x"), e.unauthorized(), "invalid_client"},
			{"other grant", form("grant_type", "password", "client_id", blID, "client_secret", blSecret), http.StatusBadRequest, "unsupported_grant_type"},
			{"no secret", form("grant_type", "client_credentials", "client_id", blID), http.StatusBadRequest, "invalid_request"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := e.call(http.MethodPost, "/auth/token", "", tc.form, true)
				var got struct{ Error string }
				_ = json.Unmarshal(body, &got)
				if status != tc.status || got.Error != tc.code {
					t.Errorf("%d %s, want %d with error %s", status, body, tc.status, tc.code)
				}
			})
		}

		// Requests without a valid token.
		tok := e.token(blID, blSecret)
		for _, tc := range []struct{ name, token string }{{"no token", ""}, {"unknown token", "not-a-token"}} {
			status, body := e.call(http.MethodGet, "/programs", tc.token, nil, true)
			if status != e.unauthorized() || problemOf(t, body).Status != status {
				t.Errorf("%s: %d %s, want %d", tc.name, status, body, e.unauthorized())
			}
		}
		if status, body := e.call(http.MethodGet, "/programs", tok, nil, false); status != http.StatusOK {
			t.Fatalf("fresh token: %d %s", status, body)
		}
		// Tokens expire on the VTN's clock.
		e.vtnClk.set(t0.Add(time.Hour))
		if status, body := e.call(http.MethodGet, "/programs", tok, nil, true); status != e.unauthorized() {
			t.Errorf("expired token: %d %s, want %d", status, body, e.unauthorized())
		}
		// The client fetches a new one by itself.
		if _, err := e.bl.Programs(context.Background(), openadr3.Query{}); err != nil {
			t.Errorf("client after expiry: %v", err)
		}
	})
}

// TestRoles: what each role may and may not do, and what each VEN sees.
func TestRoles(t *testing.T) {
	forVersions(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		prog := e.program("dr")
		ven1 := e.client(ven1ID, ven1Secret)
		ven2 := e.client(ven2ID, ven2Secret)
		mine := e.createEvent(e.capEvent(prog, ven1Name, t0, time.Hour, 1, 0))
		theirs := e.createEvent(e.capEvent(prog, ven2Name, t0, time.Hour, 2, 0))
		everyone := e.createEvent(e.capEvent(prog, "", t0, time.Hour, 3, 0))

		for _, tc := range []struct {
			name string
			err  error
		}{
			{"a VEN cannot create events", func() error { _, err := ven1.CreateEvent(ctx, e.capEvent(prog, "", t0, time.Hour, 1, 0)); return err }()},
			{"a VEN cannot create programs", func() error { _, err := ven1.CreateProgram(ctx, openadr3.Program{ProgramName: "mine"}); return err }()},
			{"a VEN cannot delete events", func() error { _, err := ven1.DeleteEvent(ctx, mine.ID); return err }()},
			{"business logic cannot write reports", func() error {
				_, err := e.bl.CreateReport(ctx, openadr3.Report{ProgramID: prog.ID, EventID: mine.ID, ClientName: "bl", Resources: []openadr3.ReportResource{}})
				return err
			}()},
			{"a VEN cannot register another's name", func() error {
				v := openadr3.Ven{VenName: ven2Name}
				if e.v == openadr3.V310 {
					v.ObjectType = openadr3.VenVenRequest
				}
				_, err := ven1.CreateVen(ctx, v)
				return err
			}()},
		} {
			if !openadr3.IsStatus(tc.err, http.StatusForbidden) {
				t.Errorf("%s: %v, want 403", tc.name, tc.err)
			}
		}

		// Each VEN reads the events targeted to it and those targeted to no one.
		for _, c := range []struct {
			name   string
			client *openadr3.Client
			want   []string
		}{{"site-1", ven1, []string{mine.ID, everyone.ID}}, {"site-2", ven2, []string{theirs.ID, everyone.ID}}, {"bl", e.bl, []string{mine.ID, theirs.ID, everyone.ID}}} {
			evs, err := c.client.Events(ctx, openadr3.Query{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range evs {
				got = append(got, ev.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s reads events %v, want %v", c.name, got, c.want)
			}
		}
		if _, err := ven1.Event(ctx, theirs.ID); !openadr3.IsStatus(err, http.StatusNotFound) {
			t.Errorf("site-1 reads site-2's event: %v, want 404", err)
		}
		// A report for an event it sees.
		rep := openadr3.Report{ProgramID: prog.ID, EventID: mine.ID, ClientName: ven1Name, Resources: []openadr3.ReportResource{}}
		if _, err := ven1.CreateReport(ctx, rep); err != nil {
			t.Errorf("site-1 reports: %v", err)
		}
		if got, err := ven2.Reports(ctx, openadr3.Query{}); err != nil || len(got) != 0 {
			t.Errorf("site-2 reads %d reports (%v), want none", len(got), err)
		}
	})
}

// TestTargetGrants follows User Guide 8.13 (3.1.0): business logic grants
// a VEN targets on its ven and resource objects; events targeted to those
// reach it, showing only the targets it was granted.
func TestTargetGrants(t *testing.T) {
	e := newEnv(t, openadr3.V310)
	ctx := context.Background()
	ven, err := e.bl.CreateVen(ctx, openadr3.Ven{ObjectMeta: openadr3.ObjectMeta{ObjectType: openadr3.BlVenRequest}, ClientID: ven1ID, VenName: ven1Name, Targets: openadr3.NameTargets("group1", "areaX")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.bl.CreateResource(ctx, ven.ID, openadr3.Resource{ObjectMeta: openadr3.ObjectMeta{ObjectType: openadr3.BlResourceRequest}, ClientID: ven1ID, ResourceName: "RESOURCE_0999", Targets: openadr3.NameTargets("resource_0999")}); err != nil {
		t.Fatal(err)
	}
	prog := e.program("PROGRAM_0999")
	group := e.capEvent(prog, "", t0, time.Hour, 1, 0)
	group.Targets = openadr3.NameTargets("group1", "secret-group")
	group = e.createEvent(group)
	res := e.capEvent(prog, "", t0, time.Hour, 2, 0)
	res.Targets = openadr3.NameTargets("resource_0999")
	res = e.createEvent(res)
	other := e.capEvent(prog, "", t0, time.Hour, 3, 0)
	other.Targets = openadr3.NameTargets("group2")
	e.createEvent(other)

	ven1 := e.client(ven1ID, ven1Secret)
	evs, err := ven1.Events(ctx, openadr3.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].ID != group.ID || evs[1].ID != res.ID {
		t.Fatalf("site-1 reads %+v, want the group1 and resource_0999 events", evs)
	}
	if got := evs[0].Targets.Names; fmt.Sprint(got) != "[group1]" {
		t.Errorf("targets shown %v, want only [group1] (target hiding)", got)
	}
	// A target filter narrows what the VEN reads.
	evs, err = ven1.Events(ctx, openadr3.Query{Targets: openadr3.NameTargets("resource_0999")})
	if err != nil || len(evs) != 1 || evs[0].ID != res.ID {
		t.Errorf("filtered: %+v (%v), want the resource_0999 event", evs, err)
	}
	// The VEN sees its ven and resource; it cannot grant itself targets.
	vens, err := ven1.Vens(ctx, openadr3.Query{})
	if err != nil || len(vens) != 1 || vens[0].ID != ven.ID {
		t.Fatalf("site-1 reads vens %+v (%v)", vens, err)
	}
	upd := openadr3.Ven{ObjectMeta: openadr3.ObjectMeta{ObjectType: openadr3.VenVenRequest}, VenName: ven1Name, Targets: openadr3.NameTargets("group2")}
	got, err := ven1.UpdateVen(ctx, ven.ID, upd)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Targets.Names) != "[group1 areaX]" {
		t.Errorf("targets after the VEN's update %v, want those business logic granted", got.Targets.Names)
	}
}

// TestProblems: invalid requests get the right 4xx with a problem body
// (and the answers are validated against the specification).
func TestProblems(t *testing.T) {
	forVersions(t, func(t *testing.T, e *env) {
		tok := e.token(blID, blSecret)
		prog := e.program("dr")
		for _, tc := range []struct {
			name, method, path string
			body               any
			status             int
		}{
			{"program without a name", http.MethodPost, "/programs", map[string]any{"programLongName": "x"}, http.StatusBadRequest},
			{"duplicate program name", http.MethodPost, "/programs", map[string]any{"programName": "dr"}, http.StatusConflict},
			{"event of no program", http.MethodPost, "/events", map[string]any{"programID": "nope", "intervals": []any{}}, http.StatusConflict},
			{"event with a bad duration", http.MethodPost, "/events", map[string]any{"programID": prog.ID, "intervals": []any{},
				"intervalPeriod": map[string]any{"start": "2025-01-01T00:00:00Z", "duration": "one hour"}}, http.StatusBadRequest},
			{"not JSON", http.MethodPost, "/programs", "{", http.StatusBadRequest},
			{"limit above 50", http.MethodGet, "/programs?limit=51", nil, http.StatusBadRequest},
			{"negative skip", http.MethodGet, "/events?skip=-1", nil, http.StatusBadRequest},
			{"no such event", http.MethodGet, "/events/nope", nil, http.StatusNotFound},
			{"delete no such program", http.MethodDelete, "/programs/nope", nil, http.StatusNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := e.call(tc.method, tc.path, tok, tc.body, true)
				if status != tc.status {
					t.Fatalf("%d %s, want %d", status, body, tc.status)
				}
				if p := problemOf(t, body); p.Status != tc.status || p.Title == "" || p.Detail == "" {
					t.Errorf("problem %+v", p)
				}
			})
		}
	})
}

func TestPagination(t *testing.T) {
	forVersions(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for i := range 57 {
			e.program(fmt.Sprintf("p%02d", i))
		}
		tok := e.token(blID, blSecret)
		for _, tc := range []struct {
			query string
			n     int
			first string
		}{{"", 50, "p00"}, {"?limit=10", 10, "p00"}, {"?skip=50", 7, "p50"}, {"?skip=55&limit=50", 2, "p55"}, {"?skip=99", 0, ""}, {"?limit=0", 0, ""}} {
			status, body := e.call(http.MethodGet, "/programs"+tc.query, tok, nil, false)
			var got []openadr3.Program
			if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil {
				t.Fatalf("%s: %d %s", tc.query, status, body)
			}
			if len(got) != tc.n || (tc.n > 0 && got[0].ProgramName != tc.first) {
				t.Errorf("%s: %d programs from %v, want %d from %s", tc.query, len(got), got, tc.n, tc.first)
			}
		}
		all, err := e.bl.Programs(ctx, openadr3.Query{})
		if err != nil || len(all) != 57 {
			t.Errorf("client reads %d programs (%v), want all 57", len(all), err)
		}
	})
}
