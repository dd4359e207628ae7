package antminersim

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
	"github.com/gridminer/gridminer/internal/miner/minertest"
	"github.com/gridminer/gridminer/internal/minersim"
)

var t0 = time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC)

type rig struct {
	clk, wall *clock.Manual
	d         *Dialect
	fl        *minersim.Fleet
	u         *minersim.Miner
	web       string // http://host:port
}

func start(t *testing.T) *rig {
	t.Helper()
	r := &rig{clk: clock.NewManual(t0), wall: clock.NewManual(t0)}
	r.d = New(Config{Wall: r.wall, NonceTTL: time.Minute})
	fl := minertest.StartFleet(t, minersim.Config{
		Miners:   []minersim.MinerSpec{{Model: "S19j Pro", Seed: 3, Dialect: Name}},
		Dialects: map[string]minersim.Dialect{Name: r.d},
		Clock:    r.clk,
	})
	r.fl = fl
	r.u, _ = fl.Miner(fl.Addrs()[0])
	host, _, _ := net.SplitHostPort(fl.Addrs()[0])
	r.web = "http://" + net.JoinHostPort(host, strconv.Itoa(fl.ListenerPort(WebListener)))
	return r
}

// rpc sends one raw request to the miner's RPC port.
func (r *rig) rpc(t *testing.T, req string) []byte {
	t.Helper()
	c, err := net.Dial("tcp", r.fl.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req)
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRPCStatsQuirk(t *testing.T) {
	r := start(t)
	b := r.rpc(t, `{"command":"stats"}`)
	if !bytes.HasSuffix(b, []byte(`],"id":1}`+"\x00")) {
		t.Errorf("reply does not end like bmminer's: %q", b[max(0, len(b)-20):])
	}
	if !bytes.Contains(b, []byte(`"Type":"Antminer S19j Pro"}{"STATS":0,"ID":"BTM_SOC0"`)) {
		t.Errorf("no }{ between the STATS objects: %.300s", b)
	}
	rep, err := cgminer.Parse(b)
	if err != nil {
		t.Fatalf("the repairing parser cannot read it: %v", err)
	}
	var objs []map[string]any
	if err := rep.Decode("STATS", &objs); err != nil || len(objs) != 2 {
		t.Fatalf("STATS %v objects, err %v", len(objs), err)
	}
	for _, k := range []string{"GHS 5s", "chain_rate1", "temp_chip1", "fan4", "total_rateideal", "miner_count", "Mode"} {
		if _, ok := objs[1][k]; !ok {
			t.Errorf("STATS[1] lacks %q", k)
		}
	}
}

func TestRPCCommands(t *testing.T) {
	r := start(t)
	tests := []struct {
		req, want string
	}{
		{`{"command":"version"}`, `"VERSION":[{"BMMiner":"1.0.0","API":"3.1","Miner":"49.0.1.3","CompileTime":"Thu Apr 20 11:43:54 CST 2023","Type":"Antminer S19j Pro"}],"id":1}` + "\x00"},
		{`{"command":"summary"}`, `"Code":11,"Msg":"Summary","Description":"cgminer 1.0.0"}],"SUMMARY":[{"Elapsed":0,"GHS 5s":`},
		{`version`, `STATUS=S,When=1718020800,Code=22,Msg=CGMiner versions,Description=cgminer 1.0.0|VERSION=0,BMMiner=1.0.0,`},
		{`{"command":"ascset","parameter":"0,freq,500"}`, `"STATUS":"E","When":1718020800,"Code":45,"Msg":"Access denied to 'ascset' command"`},
		{`{"command":"fly"}`, `"Code":14,"Msg":"Invalid command"`},
		{`{"command":`, `"Code":23,"Msg":"Invalid JSON"`},
		{`{"command":"summary+stats"}`, `{"summary":[{"STATUS":[{"STATUS":"S"`},
		{`{"command":"summary+restart"}`, `"restart":[{"STATUS":[{"STATUS":"E","When":1718020800,"Code":45`},
	}
	for _, tt := range tests {
		if got := string(r.rpc(t, tt.req)); !strings.Contains(got, tt.want) {
			t.Errorf("%s:\n got %.400q\nwant it to contain %q", tt.req, got, tt.want)
		}
	}
	rs, err := cgminer.ParseJoined(r.rpc(t, `{"command":"summary+stats+version"}`))
	if err != nil || len(rs) != 3 {
		t.Errorf("joined reply: %d sub-replies, %v", len(rs), err)
	}
}

// digestGet performs a GET with digest auth and returns code and body.
func digestGet(t *testing.T, r *rig, method, path, user, pass string, body string) (int, string) {
	t.Helper()
	do := func(auth string) *http.Response {
		req, _ := http.NewRequest(method, r.web+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := do("")
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("unauthenticated %s: %d, want 401", path, resp.StatusCode)
	}
	p := parseAuthParams(strings.TrimPrefix(resp.Header.Get("WWW-Authenticate"), "Digest "))
	if p["realm"] != Realm || p["qop"] != "auth" {
		t.Fatalf("challenge %v", p)
	}
	h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	ha1, ha2 := h(user+":"+Realm+":"+pass), h(method+":"+path)
	resp = do(`Digest username="` + user + `", realm="` + Realm + `", nonce="` + p["nonce"] + `", uri="` + path +
		`", response="` + h(ha1+":"+p["nonce"]+":00000001:c1:auth:"+ha2) + `", qop=auth, nc=00000001, cnonce="c1"`)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWebAuth(t *testing.T) {
	r := start(t)
	if code, body := digestGet(t, r, "GET", "/cgi-bin/get_system_info.cgi", "root", "root", ""); code != 200 || !strings.Contains(body, `"minertype":"Antminer S19j Pro"`) {
		t.Errorf("good credentials: %d %s", code, body)
	}
	if code, _ := digestGet(t, r, "GET", "/cgi-bin/get_miner_conf.cgi", "root", "toor", ""); code != 401 {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code, _ := digestGet(t, r, "GET", "/cgi-bin/get_miner_conf.cgi", "admin", "root", ""); code != 401 {
		t.Errorf("wrong user: %d, want 401", code)
	}
}

func TestNonceStale(t *testing.T) {
	r := start(t)
	n := r.d.nonce()
	if ours, fresh := r.d.checkNonce(n); !ours || !fresh {
		t.Fatalf("new nonce: ours %v fresh %v", ours, fresh)
	}
	r.wall.Advance(2 * time.Minute)
	if ours, fresh := r.d.checkNonce(n); !ours || fresh {
		t.Errorf("old nonce: ours %v fresh %v, want ours and stale", ours, fresh)
	}
	if ours, _ := r.d.checkNonce(n[:len(n)-2] + "00"); ours {
		t.Error("forged nonce accepted")
	}
	if ours, _ := New(Config{}).checkNonce(n); ours {
		t.Error("another dialect's nonce accepted")
	}
}

func TestSetConfModes(t *testing.T) {
	r := start(t)
	def := r.u.Profiles()[r.u.DefaultProfileIndex()]
	tests := []struct {
		body      string
		wantReply string
		wantState miner.State
		wantMaxW  float64
	}{
		{`{"pools":[],"miner-mode":1}`, `"M000"`, miner.StateSleeping, 100},
		{`{"pools":[],"miner-mode":"3"}`, `"M000"`, miner.StateMining, float64(def.Power) * DefaultLowPowerRatio},
		{`{"pools":[],"miner-mode":0}`, `"M000"`, miner.StateMining, float64(def.Power) + 1},
		{`{"pools":[],"miner-mode":2}`, `"M001"`, miner.StateMining, float64(def.Power) + 1},
		{`{"miner-mode":1}`, `"M001"`, miner.StateMining, float64(def.Power) + 1},
		{`not json`, `"M001"`, miner.StateMining, float64(def.Power) + 1},
	}
	for _, tt := range tests {
		code, body := digestGet(t, r, "POST", "/cgi-bin/set_miner_conf.cgi", "root", "root", tt.body)
		if code != 200 || !strings.Contains(body, tt.wantReply) {
			t.Errorf("%s: %d %s, want %s", tt.body, code, body, tt.wantReply)
		}
		r.clk.Advance(2 * time.Minute)
		s := r.u.Snapshot()
		if s.State != tt.wantState || float64(s.Power) > tt.wantMaxW {
			t.Errorf("after %s: %s at %v, want %s at most %v W", tt.body, s.State, s.Power, tt.wantState, tt.wantMaxW)
		}
	}
	if code, body := digestGet(t, r, "GET", "/cgi-bin/get_miner_conf.cgi", "root", "root", ""); code != 200 || body != `{"pools":[],"miner-mode":0,"bitmain-work-mode":"0"}` {
		t.Errorf("stored conf: %d %s", code, body)
	}
}

func TestWebFaults(t *testing.T) {
	for _, f := range []minersim.Fault{minersim.FaultRefuse, minersim.FaultGarbage, minersim.FaultTruncate, minersim.FaultNoAnswer} {
		t.Run(f.String(), func(t *testing.T) {
			r := start(t)
			r.u.SetFault(f)
			c := &http.Client{Timeout: 300 * time.Millisecond}
			resp, err := c.Get(r.web + "/cgi-bin/get_miner_conf.cgi")
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil {
				t.Errorf("fault %s: request succeeded", f)
			}
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "GHS 5s", "Antminer S19j Pro", `a"b`, `a\b`, "<&>", "tab\t", "é", "\x7f", "\xff", "\u2028"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("appendJSONString(%q) = %s, want x%s", s, got, want)
		}
	}
}
