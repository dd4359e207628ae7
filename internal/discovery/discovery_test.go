package discovery

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/minersim"
)

func TestClassify(t *testing.T) {
	lux, err := os.ReadFile("../miner/luxos/testdata/version.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, reply             string
		driver, model, firmware string
	}{
		{"luxos fixture", string(lux), "luxos", "Antminer S19j Pro", ""},
		{"bmminer", `{"STATUS":[{"STATUS":"S","Code":22,"Msg":"BMMiner versions"}],"VERSION":[{"BMMiner":"1.0.0","API":"3.1","Miner":"uart_trans.1.3","CompileTime":"Thu Jul 13 2023","Type":"Antminer S19j Pro"}],"id":1}`, "antminer", "Antminer S19j Pro", "BMMiner 1.0.0"},
		{"btminer", `{"STATUS":[{"STATUS":"S","Msg":"Device Details"}],"VERSION":[{"API":"2.0.5","Firmware":"btminer"}],"id":1}`, "whatsminer", "", "Firmware btminer"},
		{"bosminer", `{"STATUS":[{"STATUS":"S"}],"VERSION":[{"BOSminer":"0.2.0","API":"3.7"}],"id":1}`, "braiins", "", "BOSminer 0.2.0"},
		{"avalon", `{"STATUS":[{"STATUS":"S"}],"VERSION":[{"CGMiner":"4.11.1","API":"3.7","PROD":"AvalonMiner 1366","MODEL":"1366"}],"id":1}`, "avalon", "AvalonMiner 1366", "CGMiner 4.11.1"},
	}
	for _, tt := range tests {
		var f Found
		if !classify(&f, []byte(tt.reply)) {
			t.Errorf("%s: not recognised", tt.name)
			continue
		}
		if f.Driver != tt.driver || f.Model != tt.model || (tt.firmware != "" && f.Firmware != tt.firmware) {
			t.Errorf("%s: driver %q model %q firmware %q; want %q %q %q", tt.name, f.Driver, f.Model, f.Firmware, tt.driver, tt.model, tt.firmware)
		}
	}
	if classify(&Found{}, []byte(`{"STATUS":[{"STATUS":"S"}],"VERSION":[{"CGMiner":"4.9.0"}]}`)) {
		t.Error("a plain cgminer reply was recognised as a known firmware")
	}
}

func TestWebProbe(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		driver  string
	}{
		{"antminer digest", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Digest realm="antMiner Configuration", nonce="abc", qop="auth"`)
			w.WriteHeader(http.StatusUnauthorized)
		}, "antminer"},
		{"braiins page", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<title>Braiins OS</title>")) }, "braiins"},
		{"luxos page", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("Luxor Firmware")) }, "luxos"},
		{"whatsminer redirect", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "https://"+r.Host+"/cgi-bin/luci")
			w.WriteHeader(http.StatusTemporaryRedirect)
			w.Write([]byte(`<a href="/cgi-bin/luci">`))
		}, "whatsminer"},
		{"something else", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("router login")) }, ""},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(tt.handler)
		var f Found
		ok := webProbe(context.Background(), srv.Listener.Addr().String(), &f)
		srv.Close()
		if ok != (tt.driver != "") || f.Driver != tt.driver {
			t.Errorf("%s: ok %v driver %q, want %q", tt.name, ok, f.Driver, tt.driver)
		}
	}
}

func TestScanFindsSimulatedMiners(t *testing.T) {
	sim, err := minersim.New(minersim.Config{Miners: minersim.DefaultMix(20), Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-sim.Ready()
	_, port, _ := net.SplitHostPort(sim.Addrs()[0])
	rpcPort, _ := strconv.Atoi(port)

	// 127.1.0.0/27 holds the first 20 miners (127.1.0.1-20) and 10 empty
	// addresses; the web and gRPC ports are closed everywhere.
	hosts, err := Hosts([]netip.Prefix{netip.MustParsePrefix("127.1.0.0/27")}, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 30 {
		t.Fatalf("%d hosts in a /27, want 30", len(hosts))
	}
	var calls atomic.Int64
	cfg := Config{RPCPort: rpcPort, WebPort: freePort(t), GRPCPort: freePort(t), Timeout: 2 * time.Second, Concurrency: 8}
	found, err := Scan(ctx, hosts, cfg, func(done, total int) { calls.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 30 {
		t.Errorf("progress called %d times, want 30", calls.Load())
	}
	var got []string
	for _, f := range found {
		if f.Driver != "luxos" || f.Model == "" || f.RPCAddr == "" {
			t.Errorf("%s: %+v", f.Host, f)
		}
		got = append(got, f.RPCAddr)
	}
	if diff := cmp.Diff(sim.Addrs(), got); diff != "" {
		t.Errorf("found (-simulated +found):\n%s", diff)
	}
}

// freePort returns a port nothing listens on (for probes that must fail).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

func TestHostsAndPrefixes(t *testing.T) {
	ps, err := ParsePrefixes([]string{"10.0.0.0/30", "192.168.1.7"})
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := Hosts(ps, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hosts {
		got = append(got, h.String())
	}
	if diff := cmp.Diff([]string{"10.0.0.1", "10.0.0.2", "192.168.1.7"}, got); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	if _, err := Hosts([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, 1<<16); err == nil {
		t.Error("a /8 accepted under a 65,536 limit")
	}
	if _, err := ParsePrefixes([]string{"nope"}); err == nil {
		t.Error("a bad prefix accepted")
	}
	if _, err := Hosts([]netip.Prefix{netip.MustParsePrefix("::1/128")}, 10); err == nil {
		t.Error("IPv6 accepted")
	}
}

func FuzzClassify(f *testing.F) {
	f.Add([]byte(`{"VERSION":[{"LUXminer":"2024.5","Type":"Antminer S19 (x)"}]}`))
	f.Add([]byte(`{"DEVDETAILS":[{"Model":"M60S"}]}`))
	f.Add([]byte("STATUS=S,When=1,Code=22,Msg=CGMiner versions|VERSION,CGMiner=4.11.1,PROD=AvalonMiner|"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fd Found
		if classify(&fd, b) && fd.Driver == "" {
			t.Error("recognised without a driver")
		}
		_ = devdetailsModel(b)
	})
}

func TestHTTP2ServerNeedsARealServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	go srv.Serve(ln)
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !http2Server(ctx, ln.Addr().String()) {
		t.Error("a gRPC server was not recognised")
	}

	// Something that accepts and says nothing, or closes, is not one.
	quiet, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	go func() {
		for {
			c, err := quiet.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
			c.Close()
		}
	}()
	if http2Server(ctx, quiet.Addr().String()) {
		t.Error("a non-HTTP/2 service was taken for gRPC")
	}
}
