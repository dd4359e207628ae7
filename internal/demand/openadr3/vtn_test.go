package openadr3

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/gridminer/gridminer/internal/store/sqlite"
)

func testVTN(t *testing.T, cfg VTNConfig) (*Client, string) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "vtn.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Clients = []VTNClient{{ID: "bl", Secret: "s", Role: RoleBL}}
	vt, err := NewVTN(cfg, VTNDeps{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(vt)
	t.Cleanup(srv.Close)
	c, err := NewClient(ClientConfig{BaseURL: srv.URL + V310.BasePath(), Version: V310, ClientID: "bl", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv.URL
}

func TestSubscriptionCallbackChecks(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.URL.Query().Get("echo")) }))
	defer echo.Close()
	mute := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") }))
	defer mute.Close()
	sub := func(url string) Subscription {
		return Subscription{ClientName: "x", ObjectOperations: []ObjectOperation{{Objects: []ObjectType{ObjectEvent}, Operations: []Operation{OpCreate}, CallbackURL: url}}}
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		cfg    VTNConfig
		url    string
		status int
	}{
		{"http refused by default", VTNConfig{}, echo.URL, http.StatusBadRequest},
		{"http allowed, echoed", VTNConfig{AllowHTTPCallbacks: true}, echo.URL, http.StatusCreated},
		{"challenge not echoed", VTNConfig{AllowHTTPCallbacks: true}, mute.URL, http.StatusBadRequest},
		{"challenge off", VTNConfig{AllowHTTPCallbacks: true, SkipCallbackCheck: true}, mute.URL, http.StatusCreated},
		{"not a URL", VTNConfig{AllowHTTPCallbacks: true}, "callback", http.StatusBadRequest},
		{"nothing listening", VTNConfig{AllowHTTPCallbacks: true}, "http://127.0.0.1:1/cb", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := testVTN(t, tc.cfg)
			_, err := c.CreateSubscription(ctx, sub(tc.url))
			if tc.status == http.StatusCreated {
				if err != nil {
					t.Errorf("create: %v", err)
				}
				return
			}
			if !IsStatus(err, tc.status) {
				t.Errorf("create: %v, want %d", err, tc.status)
			}
		})
	}
}

func TestVTNMethodAndPath(t *testing.T) {
	_, base := testVTN(t, VTNConfig{})
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodPatch, "/openadr3/3.1.0/programs", http.StatusMethodNotAllowed},
		{http.MethodGet, "/openadr3/3.1.0/nothing", http.StatusNotFound},
		{http.MethodGet, "/openadr3/3.0.1/auth/server", http.StatusNotFound}, // 3.1.0 only
		{http.MethodGet, "/openadr3/3.1.0/auth/server", http.StatusOK},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s, want %d application/json", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status)
		}
	}
}
