// Package discovery finds miners on a network and tells which firmware API
// each one speaks, the way fleet tools do: a CGMiner-style `version` (and
// `devdetails`) probe on the RPC port, an HTTP `GET /` probe on the web
// port (Antminer's digest realm, page markers), and whether the Braiins OS
// gRPC port answers. It names a driver for every machine it recognises.
//
// It does not read telemetry or command anything: callers create the named
// driver to do that. Scans are bounded in concurrency and per-host time.
package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config sets the ports probed and the limits of a scan.
type Config struct {
	RPCPort  int           // CGMiner-style API (default 4028)
	WebPort  int           // web UI (default 80)
	GRPCPort int           // Braiins OS public API (default 50051)
	Timeout  time.Duration // per host, all probes together (default 1 s)
	// Concurrency is the most hosts probed at once (default 1024).
	Concurrency int
}

func (c Config) withDefaults() Config {
	if c.RPCPort == 0 {
		c.RPCPort = 4028
	}
	if c.WebPort == 0 {
		c.WebPort = 80
	}
	if c.GRPCPort == 0 {
		c.GRPCPort = 50051
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 1024
	}
	return c
}

// Found is one recognised machine.
type Found struct {
	Host     string `json:"host"`      // IP address
	Driver   string `json:"driver"`    // luxos, antminer, whatsminer, braiins, avalon
	Make     string `json:"make"`      // Antminer, Whatsminer, Avalon, ...
	Model    string `json:"model"`     // as the machine reports it, when it does
	Firmware string `json:"firmware"`  // as the machine reports it, when it does
	RPCAddr  string `json:"rpc_addr"`  // host:port of the RPC probe that answered, if any
	WebAddr  string `json:"web_addr"`  // host:port of the web probe that answered, if any
	GRPCAddr string `json:"grpc_addr"` // host:port of the gRPC port, if open
	Evidence string `json:"evidence"`  // what identified it
}

// marker is an upper-cased substring of an RPC reply and what it means,
// in the order fleet tools test them (LuxOS reports an Antminer Type, so
// LUXMINER must come before ANTMINER).
var rpcMarkers = []struct{ sub, driver, make string }{
	{"BOSMINER", "braiins", "Braiins OS"},
	{"BOSER", "braiins", "Braiins OS"},
	{"BTMINER", "whatsminer", "Whatsminer"},
	{"BITMICRO", "whatsminer", "Whatsminer"},
	{"LUXMINER", "luxos", "Antminer"},
	{"AVALON", "avalon", "Avalon"},
	{"ANTMINER", "antminer", "Antminer"},
	{"BMMINER", "antminer", "Antminer"},
}

// Identify probes one host and reports what it is. ok is false when
// nothing recognisable answered.
func Identify(ctx context.Context, host string, cfg Config) (Found, bool) {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	f := Found{Host: host}
	rpc := net.JoinHostPort(host, strconv.Itoa(cfg.RPCPort))
	if reply, err := call(ctx, rpc, `{"command":"version"}`); err == nil && len(reply) > 0 {
		if classify(&f, reply) {
			f.RPCAddr, f.Evidence = rpc, "rpc version"
			if f.Model == "" || f.Driver == "braiins" || f.Driver == "whatsminer" {
				if dd, err := call(ctx, rpc, `{"command":"devdetails"}`); err == nil {
					if m := devdetailsModel(dd); m != "" {
						f.Model = m
					}
				}
			}
			return f, true
		}
		// btminer refuses "version"; its devdetails names its driver.
		if dd, err := call(ctx, rpc, `{"command":"devdetails"}`); err == nil && classify(&f, dd) {
			f.RPCAddr, f.Evidence = rpc, "rpc devdetails"
			if m := devdetailsModel(dd); m != "" {
				f.Model = m
			}
			return f, true
		}
	}
	web := net.JoinHostPort(host, strconv.Itoa(cfg.WebPort))
	if webProbe(ctx, web, &f) {
		f.WebAddr = web
		return f, true
	}
	grpcAddr := net.JoinHostPort(host, strconv.Itoa(cfg.GRPCPort))
	if http2Server(ctx, grpcAddr) {
		f.Driver, f.Make, f.GRPCAddr, f.Evidence = "braiins", "Braiins OS", grpcAddr, "grpc (HTTP/2) on the Braiins port"
		return f, true
	}
	return Found{}, false
}

// call sends one request and reads the reply to EOF or NUL.
func call(ctx context.Context, addr, req string) ([]byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(c, 256<<10))
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i], nil
	}
	if len(b) > 0 {
		return b, nil
	}
	return nil, err
}

// classify recognises an RPC version reply.
func classify(f *Found, reply []byte) bool {
	up := strings.ToUpper(string(reply))
	for _, m := range rpcMarkers {
		if strings.Contains(up, m.sub) {
			f.Driver, f.Make = m.driver, m.make
			f.Model, f.Firmware = versionFields(reply)

			return true
		}
	}
	return false
}

// versionFields reads Type (model) and a firmware string from a JSON
// version reply; text replies and odd shapes give what they can.
func versionFields(reply []byte) (model, firmware string) {
	var v struct {
		VERSION []map[string]any
	}
	if json.Unmarshal(reply, &v) != nil || len(v.VERSION) == 0 {
		return "", ""
	}
	row := v.VERSION[0]
	if s, ok := row["Type"].(string); ok {
		model, _, _ = strings.Cut(s, " (")
	} else if s, ok := row["PROD"].(string); ok {
		model = s // Avalon: "AvalonMiner 1366"
	}
	for _, k := range []string{"LUXminer", "BMMiner", "BOSminer", "CGMiner", "Firmware", "FW", "PROD"} {
		if s, ok := row[k].(string); ok && s != "" {
			return model, k + " " + s
		}
	}
	return model, ""
}

func devdetailsModel(reply []byte) string {
	var v struct {
		DEVDETAILS []struct{ Model string }
	}
	if json.Unmarshal(reply, &v) != nil || len(v.DEVDETAILS) == 0 {
		return ""
	}
	return v.DEVDETAILS[0].Model
}

// webProbe identifies a machine from GET /.
func webProbe(ctx context.Context, addr string, f *Found) bool {
	if !open(ctx, addr) {
		return false
	}
	client := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	realm := resp.Header.Get("Www-Authenticate")
	switch {
	case resp.StatusCode == http.StatusUnauthorized && strings.Contains(realm, `realm="antMiner`):
		f.Driver, f.Make, f.Evidence = "antminer", "Antminer", "web digest realm"
	case bytes.Contains(body, []byte("Braiins OS")):
		f.Driver, f.Make, f.Evidence = "braiins", "Braiins OS", "web page"
	case bytes.Contains(body, []byte("Luxor Firmware")):
		f.Driver, f.Make, f.Evidence = "luxos", "Antminer", "web page"
	case bytes.Contains(body, []byte("Avalon")):
		f.Driver, f.Make, f.Evidence = "avalon", "Avalon", "web page"
	case resp.StatusCode == http.StatusTemporaryRedirect && bytes.Contains(body, []byte("/cgi-bin/luci")):
		f.Driver, f.Make, f.Evidence = "whatsminer", "Whatsminer", "web redirect"
	default:
		return false
	}
	return true
}

// http2Server reports whether an HTTP/2 server without TLS (as gRPC on
// Braiins OS is) answers at addr: it sends the HTTP/2 client preface and
// an empty SETTINGS frame and expects the server's SETTINGS frame first.
// An open port alone is not enough: anything may listen there.
func http2Server(ctx context.Context, addr string) bool {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	settings := []byte{0, 0, 0, 0x4, 0, 0, 0, 0, 0} // length 0, type SETTINGS, no flags, stream 0
	if _, err := c.Write(append([]byte(preface), settings...)); err != nil {
		return false
	}
	var hdr [9]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return false
	}
	return hdr[3] == 0x4 && hdr[8]&0x7f == 0 && hdr[5]|hdr[6]|hdr[7] == 0 // SETTINGS on stream 0
}

func open(ctx context.Context, addr string) bool {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Hosts expands prefixes into their host addresses (IPv4 only; the
// network and broadcast addresses of prefixes shorter than /31 are left
// out). It refuses more than max addresses in all.
func Hosts(prefixes []netip.Prefix, max int) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, p := range prefixes {
		p = p.Masked()
		if !p.Addr().Is4() {
			return nil, fmt.Errorf("scan %s: only IPv4 prefixes are supported", p)
		}
		size := 1 << (32 - p.Bits())
		if len(out)+size > max {
			return nil, fmt.Errorf("scan %s: more than %d addresses in all", p, max)
		}
		a := p.Addr()
		for i := 0; i < size; i++ {
			edge := p.Bits() < 31 && (i == 0 || i == size-1)
			if !edge {
				out = append(out, a)
			}
			a = a.Next()
		}
	}
	return out, nil
}

// ParsePrefixes reads CIDR prefixes or single addresses.
func ParsePrefixes(args []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range args {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q: want a CIDR prefix (10.0.0.0/24) or an address", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	if len(out) == 0 {
		return nil, errors.New("no addresses to scan")
	}
	return out, nil
}

// Scan identifies every host in hosts, at most cfg.Concurrency at once,
// calling progress (if not nil, from many goroutines at once) after each
// host with the count done. It
// returns the recognised machines sorted by address, and ctx's error if
// it ended early.
func Scan(ctx context.Context, hosts []netip.Addr, cfg Config, progress func(done, total int)) ([]Found, error) {
	cfg = cfg.withDefaults()
	var (
		mu    sync.Mutex
		found []Found
		done  atomic.Int64
		wg    sync.WaitGroup
		next  = make(chan netip.Addr)
	)
	workers := min(cfg.Concurrency, len(hosts))
	for range workers {
		wg.Go(func() {
			for h := range next {
				if f, ok := Identify(ctx, h.String(), cfg); ok {
					mu.Lock()
					found = append(found, f)
					mu.Unlock()
				}
				if n := done.Add(1); progress != nil {
					progress(int(n), len(hosts))
				}
			}
		})
	}
feed:
	for _, h := range hosts {
		select {
		case next <- h:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	sort.Slice(found, func(i, j int) bool {
		a, _ := netip.ParseAddr(found[i].Host)
		b, _ := netip.ParseAddr(found[j].Host)
		return a.Less(b)
	})
	return found, ctx.Err()
}
