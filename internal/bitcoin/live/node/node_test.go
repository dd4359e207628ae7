package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/bitcoin/live/node"
)

// replay is a JSON-RPC 1.0 server that answers like Bitcoin Core from
// fixtures. It rejects requests btcd would ignore (no "jsonrpc":"1.0",
// params not an array, null id) so that the client is held to both.
type replay struct {
	t *testing.T
	// creds, when set, returns the user and password accepted now.
	creds  func() (user, pass string)
	answer func(method string, params []json.RawMessage) (status int, result any, rpcErr *node.RPCError)

	mu    sync.Mutex
	calls map[string]int
}

func (rp *replay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rp.creds != nil {
		wantUser, wantPass := rp.creds()
		if u, p, ok := r.BasicAuth(); !ok || u != wantUser || p != wantPass {
			w.WriteHeader(http.StatusUnauthorized) // Core sends no body
			return
		}
	}
	var req struct {
		JSONRPC string            `json:"jsonrpc"`
		ID      *uint64           `json:"id"`
		Method  string            `json:"method"`
		Params  []json.RawMessage `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.JSONRPC != "1.0" || req.ID == nil || req.Params == nil {
		rp.t.Errorf("request is not JSON-RPC 1.0 with positional params and an id: %+v (%v)", req, err)
		w.WriteHeader(http.StatusOK) // what btcd does: nothing
		return
	}
	rp.mu.Lock()
	if rp.calls == nil {
		rp.calls = map[string]int{}
	}
	rp.calls[req.Method]++
	rp.mu.Unlock()
	status, result, rpcErr := rp.answer(req.Method, req.Params)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"result": result, "error": rpcErr, "id": *req.ID})
}

func (rp *replay) count(method string) int {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.calls[method]
}

func fixture(t testing.TB, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// coreAnswers answers getblockchaininfo and getblocktemplate from the
// fixtures, checking getblocktemplate's request.
func coreAnswers(t *testing.T, info string) func(string, []json.RawMessage) (int, any, *node.RPCError) {
	return func(method string, params []json.RawMessage) (int, any, *node.RPCError) {
		switch method {
		case "getblockchaininfo":
			return http.StatusOK, fixture(t, info), nil
		case "getblocktemplate":
			var req struct {
				Rules        []string `json:"rules"`
				Capabilities []string `json:"capabilities"`
			}
			if len(params) != 1 || json.Unmarshal(params[0], &req) != nil || !cmp.Equal(req.Rules, []string{"segwit"}) || !strings.Contains(strings.Join(req.Capabilities, ","), "coinbasevalue") {
				t.Errorf("getblocktemplate params %s: want [{rules:[segwit], capabilities:[coinbasevalue]}]", params)
			}
			return http.StatusOK, fixture(t, "core-getblocktemplate.json"), nil
		}
		return http.StatusNotFound, nil, &node.RPCError{Code: node.CodeMethodNotFound, Message: "Method not found"}
	}
}

func TestSnapshotTemplateFromCore(t *testing.T) {
	rp := &replay{t: t, creds: func() (string, string) { return "alice", "s3cret" }, answer: coreAnswers(t, "core-getblockchaininfo.json")}
	srv := httptest.NewServer(rp)
	defer srv.Close()
	c, err := node.New(node.Config{URL: srv.URL, User: "alice", Password: "s3cret"}, node.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := node.Snapshot{
		Network:          "main",
		TipHeight:        870000,
		TipHash:          "0000000000000000000132b4d9f6dbd7e9a0e4b1a1d2c3f4a5b6c7d8e9f0a1b2",
		Difficulty:       101646843652785.2,
		FeesPerBlockSats: 13500,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
}

func TestSnapshotBlockStats(t *testing.T) {
	tip := int64(1000)
	var mu sync.Mutex
	rp := &replay{t: t, answer: func(method string, params []json.RawMessage) (int, any, *node.RPCError) {
		mu.Lock()
		defer mu.Unlock()
		switch method {
		case "getblockchaininfo":
			return http.StatusOK, map[string]any{"chain": "main", "blocks": tip, "headers": tip, "difficulty": 1e14, "bestblockhash": "00ab"}, nil
		case "getblockstats":
			var h int64
			var stats []string
			if len(params) != 2 || json.Unmarshal(params[0], &h) != nil || json.Unmarshal(params[1], &stats) != nil {
				t.Errorf("getblockstats params %s: want [height, [stats...]]", params)
			}
			return http.StatusOK, map[string]any{"height": h, "totalfee": h * 1000}, nil
		}
		return http.StatusNotFound, nil, &node.RPCError{Code: node.CodeMethodNotFound, Message: "Method not found"}
	}}
	srv := httptest.NewServer(rp)
	defer srv.Close()
	c, err := node.New(node.Config{URL: srv.URL, Fees: node.FeesBlockStats, FeeBlocks: 10}, node.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	tests := []struct {
		tip       int64
		wantMean  float64
		wantCalls int // getblockstats calls made by this snapshot
	}{
		{tip: 1000, wantMean: 995_500, wantCalls: 10}, // blocks 991..1000
		{tip: 1001, wantMean: 996_500, wantCalls: 7},  // 992..994 were final and cached
		{tip: 1001, wantMean: 996_500, wantCalls: 6},  // 995 is now final too
	}
	for i, tt := range tests {
		mu.Lock()
		tip = tt.tip
		mu.Unlock()
		before := rp.count("getblockstats")
		got, err := c.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.TipHeight != tt.tip || got.FeesPerBlockSats != tt.wantMean || got.FeeBlocks != 10 {
			t.Errorf("step %d: tip %d mean %v over %d blocks, want tip %d mean %v over 10", i, got.TipHeight, got.FeesPerBlockSats, got.FeeBlocks, tt.tip, tt.wantMean)
		}
		if calls := rp.count("getblockstats") - before; calls != tt.wantCalls {
			t.Errorf("step %d: %d getblockstats calls, want %d", i, calls, tt.wantCalls)
		}
	}
}

func TestAuthentication(t *testing.T) {
	dir := t.TempDir()
	cookie := filepath.Join(dir, ".cookie")
	passFile := filepath.Join(dir, "rpc.pass")
	if err := os.WriteFile(passFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GRIDMINER_TEST_RPC_PASSWORD", "from-env")
	var mu sync.Mutex
	user, pass := "", ""
	set := func(u, p string) { mu.Lock(); user, pass = u, p; mu.Unlock() }
	rp := &replay{t: t, answer: coreAnswers(t, "core-getblockchaininfo.json")}
	rp.creds = func() (string, string) { mu.Lock(); defer mu.Unlock(); return user, pass }
	srv := httptest.NewServer(rp)
	defer srv.Close()

	writeCookie := func(p string) {
		if err := os.WriteFile(cookie, []byte("__cookie__:"+p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		cfg     node.Config
		setup   func()
		wantErr error
	}{
		{name: "password env", cfg: node.Config{User: "bob", PasswordEnv: "GRIDMINER_TEST_RPC_PASSWORD"}, setup: func() { set("bob", "from-env") }},
		{name: "password file", cfg: node.Config{User: "bob", PasswordFile: passFile}, setup: func() { set("bob", "from-file") }},
		{name: "cookie", cfg: node.Config{CookieFile: cookie}, setup: func() { writeCookie("c1"); set("__cookie__", "c1") }},
		{name: "cookie rewritten by a node restart", cfg: node.Config{CookieFile: cookie}, setup: func() { writeCookie("c2"); set("__cookie__", "c2") }},
		{name: "stale cookie", cfg: node.Config{CookieFile: cookie}, setup: func() { writeCookie("c3"); set("__cookie__", "c4") }, wantErr: node.ErrUnauthorized},
		{name: "wrong password", cfg: node.Config{User: "bob", PasswordEnv: "GRIDMINER_TEST_RPC_PASSWORD"}, setup: func() { set("bob", "other") }, wantErr: node.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.URL = srv.URL
			c, err := node.New(tt.cfg, node.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			tt.setup()
			_, err = c.ChainInfo(context.Background())
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("ChainInfo error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		hang    bool // the server never answers: a short timeout
		check   func(error) bool
		want    string
	}{
		{
			name: "core error with http 500",
			handler: func(w http.ResponseWriter, r *http.Request) {
				method, id := readRequest(r)
				if method == "getblockchaininfo" {
					writeEnvelope(w, http.StatusOK, id, fixtureBody("core-getblockchaininfo.json"))
					return
				}
				var reply map[string]any // Core's reply, with this request's id
				if err := json.Unmarshal(fixtureBody("core-error-ibd.json"), &reply); err != nil {
					panic(err)
				}
				reply["id"] = id
				w.WriteHeader(http.StatusInternalServerError)
				_ = json.NewEncoder(w).Encode(reply)
			},
			check: func(err error) bool {
				var re *node.RPCError
				return errors.As(err, &re) && re.Code == -10
			},
			want: "RPCError -10",
		},
		{
			name: "initial block download",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, id := readRequest(r)
				writeEnvelope(w, http.StatusOK, id, fixtureBody("core-getblockchaininfo-ibd.json"))
			},
			check: func(err error) bool { return errors.Is(err, node.ErrSyncing) },
			want:  "ErrSyncing",
		},
		{
			name: "html error page",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadGateway)
				_, _ = w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
			},
			check: func(err error) bool {
				return errors.Is(err, node.ErrBadResponse) && strings.Contains(err.Error(), "http 502")
			},
			want: "ErrBadResponse naming http 502",
		},
		{
			name: "empty body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
			},
			check: func(err error) bool { return errors.Is(err, node.ErrBadResponse) },
			want:  "ErrBadResponse",
		},
		{
			name: "reply to another request",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"result":{"chain":"main","blocks":1,"difficulty":1},"error":null,"id":999}`))
			},
			check: func(err error) bool { return errors.Is(err, node.ErrBadResponse) },
			want:  "ErrBadResponse",
		},
		{
			name: "malformed result",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, id := readRequest(r)
				writeEnvelope(w, http.StatusOK, id, []byte(`{"chain":"main","blocks":"many","difficulty":1}`))
			},
			check: func(err error) bool { return errors.Is(err, node.ErrBadResponse) },
			want:  "ErrBadResponse",
		},
		{
			name: "node never answers",
			hang: true,
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client hanging up
				<-r.Context().Done()               // until the client gives up
			},
			check: func(err error) bool { return errors.Is(err, context.DeadlineExceeded) },
			want:  "context.DeadlineExceeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c, err := node.New(node.Config{URL: srv.URL, Timeout: timeout(tt.hang)}, node.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Snapshot(context.Background())
			if !tt.check(err) {
				t.Errorf("Snapshot error = %v, want %s", err, tt.want)
			}
		})
	}
}

// fixtureBody reads a fixture outside a test's helper context (handlers
// run on server goroutines).
func fixtureBody(name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return b
}

// readRequest returns a JSON-RPC request's method and id.
func readRequest(r *http.Request) (method string, id json.RawMessage) {
	var req struct {
		Method string          `json:"method"`
		ID     json.RawMessage `json:"id"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	return req.Method, req.ID
}

// writeEnvelope answers with result in a JSON-RPC envelope carrying id.
func writeEnvelope(w http.ResponseWriter, status int, id, result json.RawMessage) {
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"result":%s,"error":null,"id":%s}`, result, id)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     node.Config
		wantErr string
	}{
		{name: "zero value", cfg: node.Config{}},
		{name: "full", cfg: node.Config{URL: "https://node.example:8332", User: "u", PasswordEnv: "P", Network: "main", Fees: "blockstats", FeeBlocks: 144, Timeout: time.Second}},
		{name: "cookie", cfg: node.Config{CookieFile: "/var/lib/bitcoind/.cookie"}},
		{name: "not http", cfg: node.Config{URL: "tcp://127.0.0.1:8332"}, wantErr: "want http"},
		{name: "no host", cfg: node.Config{URL: "http://"}, wantErr: "no host"},
		{name: "credentials in url", cfg: node.Config{URL: "http://u:p@127.0.0.1:8332"}, wantErr: "credentials in the url"},
		{name: "two secrets", cfg: node.Config{PasswordEnv: "P", CookieFile: "c"}, wantErr: "give one of"},
		{name: "cookie and user", cfg: node.Config{User: "u", CookieFile: "c"}, wantErr: "leave user empty"},
		{name: "unknown network", cfg: node.Config{Network: "bitcoincash"}, wantErr: "network"},
		{name: "unknown fees", cfg: node.Config{Fees: "mempool"}, wantErr: "fees"},
		{name: "fee blocks with template", cfg: node.Config{FeeBlocks: 6}, wantErr: "fee_blocks applies"},
		{name: "too many fee blocks", cfg: node.Config{Fees: "blockstats", FeeBlocks: 5000}, wantErr: "fee_blocks"},
		{name: "negative timeout", cfg: node.Config{Timeout: -time.Second}, wantErr: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewPasswordEnvMissing(t *testing.T) {
	_, err := node.New(node.Config{User: "u", PasswordEnv: "GRIDMINER_TEST_SURELY_UNSET"}, node.Deps{})
	if err == nil || !strings.Contains(err.Error(), "GRIDMINER_TEST_SURELY_UNSET") {
		t.Errorf("New with an unset password_env = %v, want an error naming the variable", err)
	}
}

// timeout is the per-request timeout of an error case: short when the
// server never answers (the error is the point), ample otherwise so that
// a slow machine does not turn a reply into a timeout.
func timeout(hang bool) time.Duration {
	if hang {
		return 50 * time.Millisecond
	}
	return time.Minute
}
