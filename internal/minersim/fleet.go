package minersim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
)

// MinerSpec describes one miner of a fleet.
type MinerSpec struct {
	Model string // a name ModelByName knows
	// Addr is optional. With a shared port it is a loopback IPv4 address
	// ("127.1.0.9"); with PerPort it is "127.0.0.1:PORT". Empty: assigned.
	Addr string
	Seed int64 // manufacturing variation and session ids derive from it
	// Dialect is the API the miner speaks: "" or "luxos" (built in), or a
	// name in Config.Dialects.
	Dialect string
}

// Config configures a Fleet.
type Config struct {
	Miners  []MinerSpec
	Port    int  // shared port (0 = choose a free one); with PerPort, the base port (0 = each free)
	PerPort bool // one 127.0.0.1 port per miner instead of one shared port
	Clock   clock.Clock
	// WakeRamp and SleepRamp are the ramp times on the clock (defaults 10 s
	// and 5 s).
	WakeRamp, SleepRamp time.Duration
	StartAsleep         bool
	// SessionClock times LuxOS session expiry (60 s idle). Default: the
	// wall clock, because protocol timeouts stay on wall time even when
	// Clock runs the physics accelerated.
	SessionClock clock.Clock
	// Dialects are the APIs besides LuxOS that miners may speak, by name.
	Dialects map[string]Dialect
	// Ports sets the port of a dialect listener by its name; a listener
	// not named here gets a free port (see Fleet.ListenerPort).
	Ports  map[string]int
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultWakeRamp  = 10 * time.Second
	DefaultSleepRamp = 5 * time.Second
	// ioDeadline bounds each connection on wall time; noAnswerHold bounds
	// how long a no-answer fault keeps a connection open.
	ioDeadline   = 10 * time.Second
	noAnswerHold = 10 * time.Minute
	maxRequest   = 8 << 10
	requestGrace = 200 * time.Millisecond
)

// Fleet is a set of virtual miners served over loopback TCP.
type Fleet struct {
	cfg    Config
	log    *slog.Logger
	miners []*Miner
	byIP   map[netip.Addr]*Miner // shared-port mode
	ready  chan struct{}
	ran    chan struct{}
	byAddr map[string]*Miner // set before ready
	bufs   sync.Pool
	// extra lists the dialect listeners to open (name -> dialect), and
	// extraPorts their ports once open.
	extra      map[string]Dialect
	extraPorts map[string]int
}

// New builds a fleet; nothing listens until Run.
func New(cfg Config) (*Fleet, error) {
	if cfg.Clock == nil {
		return nil, errors.New("minersim: config: no clock")
	}
	if cfg.SessionClock == nil {
		cfg.SessionClock = clock.Real{}
	}
	if cfg.WakeRamp == 0 {
		cfg.WakeRamp = DefaultWakeRamp
	}
	if cfg.SleepRamp == 0 {
		cfg.SleepRamp = DefaultSleepRamp
	}
	if cfg.WakeRamp < 0 || cfg.SleepRamp < 0 {
		return nil, fmt.Errorf("minersim: config: negative ramp (wake %v, sleep %v)", cfg.WakeRamp, cfg.SleepRamp)
	}
	if cfg.Port < 0 || cfg.Port > 65535 || (cfg.PerPort && cfg.Port > 0 && cfg.Port+len(cfg.Miners)-1 > 65535) {
		return nil, fmt.Errorf("minersim: config: port %d out of range for %d miners", cfg.Port, len(cfg.Miners))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Fleet{
		cfg: cfg, log: cfg.Logger, byIP: make(map[netip.Addr]*Miner, len(cfg.Miners)),
		ready: make(chan struct{}), ran: make(chan struct{}, 1),
		byAddr: make(map[string]*Miner, len(cfg.Miners)),
		extra:  map[string]Dialect{}, extraPorts: map[string]int{},
	}
	f.bufs.New = func() any { b := make([]byte, 0, 8<<10); return &b }
	next := 0
	usedPorts := map[int]bool{}
	for i, spec := range cfg.Miners {
		m, err := ModelByName(spec.Model)
		if err != nil {
			return nil, fmt.Errorf("minersim: miner %d: %w", i, err)
		}
		u := newMiner(i, spec, m, cfg.Clock, cfg.WakeRamp, cfg.SleepRamp, cfg.StartAsleep)
		u.sessClk = cfg.SessionClock
		u.dialectName = "luxos"
		if spec.Dialect != "" && spec.Dialect != "luxos" {
			d, ok := cfg.Dialects[spec.Dialect]
			if !ok || d == nil {
				return nil, fmt.Errorf("minersim: miner %d: dialect %q: not given in Config.Dialects", i, spec.Dialect)
			}
			u.dialect, u.dialectName = d, spec.Dialect
			for _, name := range d.Listeners() {
				if other, dup := f.extra[name]; dup && other != d {
					return nil, fmt.Errorf("minersim: dialect listener %q named by two dialects", name)
				}
				f.extra[name] = d
			}
			if cfg.PerPort && len(d.Listeners()) > 0 {
				return nil, fmt.Errorf("minersim: miner %d: dialect %q needs shared-port mode for its listeners", i, spec.Dialect)
			}
		}
		if cfg.PerPort {
			if spec.Addr != "" {
				ap, err := netip.ParseAddrPort(spec.Addr)
				if err != nil || ap.Addr() != netip.AddrFrom4([4]byte{127, 0, 0, 1}) || ap.Port() == 0 {
					return nil, fmt.Errorf("minersim: miner %d: address %q: want 127.0.0.1:PORT", i, spec.Addr)
				}
				if usedPorts[int(ap.Port())] {
					return nil, fmt.Errorf("minersim: miner %d: address %q used twice", i, spec.Addr)
				}
				usedPorts[int(ap.Port())] = true
				u.addr = spec.Addr
			}
		} else {
			var ip netip.Addr
			if spec.Addr != "" {
				ip, err = netip.ParseAddr(spec.Addr)
				if err != nil || !ip.Is4() || !ip.IsLoopback() {
					return nil, fmt.Errorf("minersim: miner %d: address %q: want a loopback IPv4 address", i, spec.Addr)
				}
			} else {
				for {
					ip = nthLoopback(next)
					next++
					if _, taken := f.byIP[ip]; !taken {
						break
					}
				}
			}
			if _, taken := f.byIP[ip]; taken {
				return nil, fmt.Errorf("minersim: miner %d: address %s used twice", i, ip)
			}
			f.byIP[ip] = u
			u.addr = ip.String()
		}
		f.miners = append(f.miners, u)
	}
	return f, nil
}

// nthLoopback returns the i-th simulator address: 127.1.0.1, 127.1.0.2, …,
// skipping last octets 0 and 255.
func nthLoopback(i int) netip.Addr {
	last := i%254 + 1
	n := i / 254
	return netip.AddrFrom4([4]byte{127, byte(1 + n/256), byte(n % 256), byte(last)})
}

// Ready is closed once every miner listens; Addrs is valid from then on.
func (f *Fleet) Ready() <-chan struct{} { return f.ready }

// Addrs returns each miner's host:port, in Config.Miners order. Call it
// after Ready.
func (f *Fleet) Addrs() []string {
	out := make([]string, len(f.miners))
	for i, u := range f.miners {
		out[i] = u.addr
	}
	return out
}

// Miners returns the fleet's miners in Config.Miners order.
func (f *Fleet) Miners() []*Miner { return append([]*Miner(nil), f.miners...) }

// Miner returns the miner at addr ("127.1.0.1:4028"), after Ready.
func (f *Fleet) Miner(addr string) (*Miner, bool) {
	select {
	case <-f.ready:
	default:
		return nil, false
	}
	u, ok := f.byAddr[addr]
	return u, ok
}

// TotalPower returns the sum of every miner's actual draw now (ground
// truth, as a meter sees it: power a lying miner hides included).
func (f *Fleet) TotalPower() energy.Power {
	var sum energy.Power
	for _, u := range f.miners {
		sum += u.ActualPower()
	}
	return sum
}

// Run listens and serves until ctx ends, then closes its listeners, waits
// for open connections to finish and returns nil. It returns an error if
// it cannot listen. Run may be called once.
func (f *Fleet) Run(ctx context.Context) error {
	select {
	case f.ran <- struct{}{}:
	default:
		return errors.New("minersim: fleet already run")
	}
	// No TCP keep-alive on accepted connections: they live for one
	// request, and enabling it costs several setsockopt calls each.
	lc := net.ListenConfig{KeepAlive: -1}
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	if f.cfg.PerPort {
		for i, u := range f.miners {
			addr := u.addr
			if addr == "" {
				port := 0
				if f.cfg.Port > 0 {
					port = f.cfg.Port + i
				}
				addr = "127.0.0.1:" + strconv.Itoa(port)
			}
			ln, err := lc.Listen(ctx, "tcp4", addr)
			if err != nil {
				closeAll()
				return fmt.Errorf("minersim: listen for miner %d on %s: %w", i, addr, err)
			}
			lns = append(lns, ln)
			u.addr = ln.Addr().String()
		}
	} else {
		ln, err := lc.Listen(ctx, "tcp4", "0.0.0.0:"+strconv.Itoa(f.cfg.Port))
		if err != nil {
			return fmt.Errorf("minersim: listen on port %d: %w", f.cfg.Port, err)
		}
		lns = append(lns, ln)
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		for _, u := range f.miners {
			u.addr = net.JoinHostPort(u.addr, port)
		}
	}
	for _, u := range f.miners {
		f.byAddr[u.addr] = u
	}
	type extraLn struct {
		name string
		ln   net.Listener
	}
	var extras []extraLn
	for name := range f.extra {
		ln, err := lc.Listen(ctx, "tcp4", "0.0.0.0:"+strconv.Itoa(f.cfg.Ports[name]))
		if err != nil {
			closeAll()
			for _, e := range extras {
				e.ln.Close()
			}
			return fmt.Errorf("minersim: listen for %s on port %d: %w", name, f.cfg.Ports[name], err)
		}
		f.extraPorts[name] = ln.Addr().(*net.TCPAddr).Port
		extras = append(extras, extraLn{name, ln})
	}
	f.log.Info("minersim listening", "miners", len(f.miners), "per_port", f.cfg.PerPort, "first", f.firstAddr())
	close(f.ready)

	var wg sync.WaitGroup
	for _, e := range extras {
		wg.Go(func() {
			d := f.extra[e.name]
			if err := d.ServeListener(ctx, e.name, dialectListener{e.ln, f, d}, f); err != nil {
				f.log.Error("minersim dialect listener", "listener", e.name, "err", err)
			}
		})
		defer e.ln.Close()
	}
	for i, ln := range lns {
		var fixed *Miner
		if f.cfg.PerPort {
			fixed = f.miners[i]
		}
		wg.Go(func() { f.acceptLoop(ctx, ln, fixed, &wg) })
	}
	<-ctx.Done()
	closeAll()
	wg.Wait()
	return nil
}

func (f *Fleet) firstAddr() string {
	if len(f.miners) == 0 {
		return ""
	}
	return f.miners[0].addr
}

func (f *Fleet) acceptLoop(ctx context.Context, ln net.Listener, fixed *Miner, wg *sync.WaitGroup) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// EMFILE and friends: back off briefly on wall time.
			f.log.Warn("minersim accept", "addr", ln.Addr().String(), "err", err)
			t := time.NewTimer(10 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		wg.Go(func() { f.serveConn(ctx, c, fixed) })
	}
}

// serveConn answers one request on c: one request per connection, reply
// ended by NUL, then close.
func (f *Fleet) serveConn(ctx context.Context, c net.Conn, u *Miner) {
	defer c.Close()
	tc, _ := c.(*net.TCPConn)
	ra, _ := c.RemoteAddr().(*net.TCPAddr)
	if ra == nil || !ra.IP.IsLoopback() {
		return
	}
	if u == nil {
		la, _ := c.LocalAddr().(*net.TCPAddr)
		if la == nil {
			return
		}
		ip, ok := netip.AddrFromSlice(la.IP)
		if !ok {
			return
		}
		if u = f.byIP[ip.Unmap()]; u == nil {
			return // no miner at this address: close, like a host with nothing on the port
		}
	}
	fault := u.currentFault()
	if fault.kind() == FaultRefuse {
		if tc != nil {
			tc.SetLinger(0) // reset, as close to a refused connection as an accepted one gets
		}
		return
	}
	c.SetDeadline(time.Now().Add(ioDeadline))

	bp := f.bufs.Get().(*[]byte)
	defer f.bufs.Put(bp)
	in, err := readRequest(c, (*bp)[:0])
	*bp = in[:0]
	if err != nil && len(in) == 0 {
		return
	}
	switch fault.kind() {
	case FaultNoAnswer:
		f.holdOpen(ctx, c)
		return
	case faultSlow:
		t := time.NewTimer(fault.Delay())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		c.SetDeadline(time.Now().Add(ioDeadline))
	case FaultGarbage:
		c.Write([]byte("\x17\x03\x03garbage{{not-json]]\xff\xfe|STATUS=\x00"))
		return
	}
	ob := f.bufs.Get().(*[]byte)
	defer f.bufs.Put(ob)
	var out []byte
	if u.dialect != nil {
		if out = u.dialect.ServeRPC(u, in, (*ob)[:0]); out == nil {
			return
		}
	} else {
		out = u.serve((*ob)[:0], in)
	}
	*ob = out[:0]
	if fault.kind() == FaultTruncate {
		out = out[:len(out)/2]
	}
	c.Write(out)
}

// holdOpen keeps c open without replying until the client closes it, ctx
// ends or noAnswerHold passes on wall time.
func (f *Fleet) holdOpen(ctx context.Context, c net.Conn) {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.SetDeadline(time.Now().Add(noAnswerHold))
	io.Copy(io.Discard, c)
}

// readRequest reads until a NUL or newline, a complete-looking JSON object,
// EOF, or maxRequest bytes. A plain-text request in one segment is taken
// as it is, as cgminer does with its single recv; an incomplete JSON
// object gets a short grace for the rest, then is answered as it stands.
func readRequest(c net.Conn, buf []byte) ([]byte, error) {
	graced := false
	for {
		if cap(buf)-len(buf) < 512 {
			buf = append(buf, make([]byte, 1024)...)[:len(buf)]
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if requestComplete(buf) || len(buf) >= maxRequest {
			return buf, nil
		}
		if err != nil {
			var ne net.Error
			if graced && errors.As(err, &ne) && ne.Timeout() {
				c.SetDeadline(time.Now().Add(ioDeadline))
				return buf, nil
			}
			return buf, err
		}
		if !graced && len(buf) > 0 {
			graced = true
			c.SetReadDeadline(time.Now().Add(requestGrace))
		}
	}
}

func requestComplete(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	last := b[len(b)-1]
	if last == 0 || last == '\n' {
		return true
	}
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	if i < len(b) && b[i] == '{' {
		return last == '}'
	}
	return true
}

// serve appends the full reply (with its NUL) to a request to out.
func (u *Miner) serve(out, in []byte) []byte {
	req, err := parseRequest(in)
	u.mu.Lock()
	defer u.mu.Unlock()
	t := u.now()
	u.advance(t)
	e := enc{b: out, text: !req.json}
	r := reply{e: &e, when: t.Unix(), desc: luxDescription}
	switch {
	case err != nil:
		e.text = !(len(in) > 0 && firstNonBlank(in) == '{')
		r.begin()
		switch {
		case e.text:
			r.status('E', codeInvalidCmd, "Invalid command")
		case errors.Is(err, errInvalidJSON):
			r.status('E', codeInvalidJSON, "Invalid JSON")
		default:
			r.status('E', codeMissingCmd, "Missing JSON 'command'")
		}
		r.end()
	case strings.IndexByte(req.command, '+') < 0:
		r.begin()
		u.handle(&r, t, req.command, req.param)
		r.end()
	default:
		u.serveJoined(&e, t, req)
	}
	return append(e.b, 0)
}

func firstNonBlank(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c
		}
	}
	return 0
}

// serveJoined answers "a+b+c": each distinct command's reply in an array
// under its name, in request order; commands that cannot be joined get
// their own error status.
func (u *Miner) serveJoined(e *enc, t time.Time, req request) {
	if !e.text {
		e.b = append(e.b, '{')
	}
	rest := req.command
	var seen [16]string
	nseen := 0
	first := true
	for rest != "" {
		var cmd string
		if i := strings.IndexByte(rest, '+'); i >= 0 {
			cmd, rest = rest[:i], rest[i+1:]
		} else {
			cmd, rest = rest, ""
		}
		if cmd == "" {
			continue
		}
		dup := false
		for _, s := range seen[:nseen] {
			dup = dup || s == cmd
		}
		if dup {
			continue
		}
		if nseen < len(seen) {
			seen[nseen] = cmd
			nseen++
		}
		if e.text {
			e.b = append(e.b, "CMD="...)
			e.b = appendTextEscaped(e.b, cmd)
			e.b = append(e.b, '|')
		} else {
			if !first {
				e.b = append(e.b, ',')
			}
			e.b = appendJSONString(e.b, cmd)
			e.b = append(e.b, ':', '[')
		}
		first = false
		r := reply{e: e, when: t.Unix(), desc: luxDescription}
		r.begin()
		if joinable(cmd) {
			u.handle(&r, t, cmd, "")
		} else {
			r.status('E', codeAccessDenied, "Access denied to '"+cmd+"' command")
		}
		r.end()
		if !e.text {
			e.b = append(e.b, ']')
		}
	}
	if !e.text {
		e.b = append(e.b, `,"id":1}`...)
	}
}
