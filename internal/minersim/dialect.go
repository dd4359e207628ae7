package minersim

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// Dialect is one firmware's API, served for the miners of a fleet that
// speak it. LuxOS is built in; other dialects live in their own packages
// and are handed to a fleet in Config.Dialects, so that this package
// depends on none of them.
//
// A dialect answers on the fleet's shared RPC port (the CGMiner-style TCP
// port, 4028 on real machines) through ServeRPC, and on any further
// listeners it names (a web server, a gRPC server, another TCP port),
// which the fleet opens once for all miners and hands to ServeListener,
// passing on only connections from loopback peers to miners that speak
// the dialect. Those servers tell miners apart with Fleet.MinerAt on the
// local address a client dialled, and apply the miner's network faults
// themselves (Miner.Fault).
type Dialect interface {
	// ServeRPC appends to out the complete reply (with its terminator, if
	// any) to one request on the RPC port for miner u. A nil return closes
	// the connection without a reply (a firmware with no such port).
	ServeRPC(u *Miner, req, out []byte) []byte
	// Listeners names the further listeners the dialect needs, e.g.
	// "antminer-web"; names are unique across dialects.
	Listeners() []string
	// ServeListener serves ln, opened for the listener called name, until
	// ctx ends; it returns nil then.
	ServeListener(ctx context.Context, name string, ln net.Listener, f *Fleet) error
}

// dialectListener hands a dialect only the connections meant for it: from
// a loopback peer, to the address of a miner that speaks the dialect. Any
// other is closed at once, as a host with nothing on that port would be.
type dialectListener struct {
	net.Listener
	f *Fleet
	d Dialect
}

func (l dialectListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if u, ok := l.f.MinerAt(c.LocalAddr()); ok && u.dialect == l.d && LoopbackPeer(c.RemoteAddr()) {
			return c, nil
		}
		c.Close()
	}
}

// MinerAt returns the miner that a connection which arrived on local
// address local was meant for (shared-port mode), after Ready.
func (f *Fleet) MinerAt(local net.Addr) (*Miner, bool) {
	ta, ok := local.(*net.TCPAddr)
	if !ok || ta == nil {
		return nil, false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return nil, false
	}
	u, ok := f.byIP[ip.Unmap()]
	return u, ok
}

// LoopbackPeer reports whether remote is a loopback address; dialect
// servers close connections from anywhere else, as the fleet does.
func LoopbackPeer(remote net.Addr) bool {
	ta, ok := remote.(*net.TCPAddr)
	return ok && ta != nil && ta.IP.IsLoopback()
}

// ListenerPort returns the port the fleet opened for the named dialect
// listener, or 0 if it has none; valid after Ready.
func (f *Fleet) ListenerPort(name string) int { return f.extraPorts[name] }

// Dialect returns the name of the API the miner speaks ("luxos" by default).
func (u *Miner) Dialect() string { return u.dialectName }

// Fault returns the miner's injected fault.
func (u *Miner) Fault() Fault { return u.currentFault() }

// Now returns the time on the fleet's clock.
func (u *Miner) Now() time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.now()
}

// Started returns when the miner started (for uptime), on the fleet's clock.
func (u *Miner) Started() time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.started
}

// Sleep starts the ramp down to sleep (no-op when already asleep).
func (u *Miner) Sleep() {
	u.mu.Lock()
	defer u.mu.Unlock()
	t := u.now()
	u.advance(t)
	u.sleep(t)
}

// Wake starts the ramp up to the current profile (no-op when awake).
func (u *Miner) Wake() {
	u.mu.Lock()
	defer u.mu.Unlock()
	t := u.now()
	u.advance(t)
	u.wake(t)
}

// ProfileIndex returns the index in Profiles of the current profile.
func (u *Miner) ProfileIndex() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.profile
}

// DefaultProfileIndex returns the index in Profiles of the default profile.
func (u *Miner) DefaultProfileIndex() int { return u.defIdx }

// SetProfile switches to profile i of Profiles (ramping when mining). It
// reports false for an index out of range.
func (u *Miner) SetProfile(i int) bool {
	if i < 0 || i >= len(u.profiles) {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	t := u.now()
	u.advance(t)
	u.setProfile(t, i)
	return true
}

// Identity is what a miner says about itself.
type Identity struct {
	Hostname, MAC, Serial, Worker string
}

// Identity returns the miner's names.
func (u *Miner) Identity() Identity {
	return Identity{Hostname: u.names.hostname, MAC: u.names.mac, Serial: u.names.serial, Worker: u.names.worker}
}
