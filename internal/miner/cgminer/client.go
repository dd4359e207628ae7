package cgminer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/miner"
)

// DefaultPort is the cgminer API port.
const DefaultPort = "4028"

// DefaultTimeout bounds one call (dial, write, read) when the context has
// no earlier deadline.
const DefaultTimeout = 5 * time.Second

// MaxReply is the largest reply the client reads; a longer one is an error.
const MaxReply = 4 << 20

// BufferPool recycles read buffers between calls. One pool may be shared by
// every Client of a fleet (WithBufferPool); its zero value is ready to use.
type BufferPool struct{ p sync.Pool }

func (bp *BufferPool) get() *[]byte {
	if b, ok := bp.p.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 8<<10)
	return &b
}

func (bp *BufferPool) put(b *[]byte) {
	if cap(*b) > 256<<10 {
		return // do not keep giants alive
	}
	*b = (*b)[:0]
	bp.p.Put(b)
}

// Client talks to one miner's cgminer API. It holds no connection: every
// call dials, writes one request, reads the reply until the miner closes
// the connection (the miner closes first, so TIME_WAIT stays on its side)
// and returns. A Client is safe for concurrent use.
type Client struct {
	addr    string
	timeout time.Duration
	pool    *BufferPool
	dialer  net.Dialer
}

// Option configures a Client.
type Option func(*Client)

// WithTimeout sets the per-call timeout (default DefaultTimeout). The
// context deadline, when earlier, wins.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithBufferPool makes the client borrow read buffers from p, which may be
// shared by many clients.
func WithBufferPool(p *BufferPool) Option {
	return func(c *Client) {
		if p != nil {
			c.pool = p
		}
	}
}

// NewClient returns a client for addr ("host:port"; a bare host gets port
// 4028).
func NewClient(addr string, opts ...Option) *Client {
	c := &Client{addr: WithDefaultPort(addr), timeout: DefaultTimeout}
	// One short request per connection: TCP keep-alive would only cost
	// setsockopt calls on every dial.
	c.dialer.KeepAlive = -1
	for _, o := range opts {
		o(c)
	}
	if c.pool == nil {
		c.pool = &BufferPool{}
	}
	return c
}

// WithDefaultPort appends ":4028" to addr when it names no port.
func WithDefaultPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	if strings.Count(addr, ":") > 1 && !strings.HasPrefix(addr, "[") {
		return net.JoinHostPort(addr, DefaultPort) // bare IPv6
	}
	return net.JoinHostPort(strings.Trim(addr, "[]"), DefaultPort)
}

// Addr returns the address the client dials.
func (c *Client) Addr() string { return c.addr }

// Call sends the JSON-form command with its parameters and parses the
// reply. An E or F status is returned as a *StatusError alongside the
// parsed reply.
func (c *Client) Call(ctx context.Context, cmd string, params ...string) (Reply, error) {
	if err := checkCommand(cmd); err != nil {
		return Reply{}, err
	}
	body, err := c.Raw(ctx, EncodeJSON(cmd, params...))
	if err != nil {
		return Reply{}, fmt.Errorf("%s: %w", cmd, err)
	}
	r, err := Parse(body)
	if err != nil {
		return Reply{}, fmt.Errorf("%s: parse reply: %w", cmd, err)
	}
	if err := r.Err(); err != nil {
		return r, fmt.Errorf("%s: %w", cmd, err)
	}
	return r, nil
}

// CallText sends the plain-text form and parses the text reply.
func (c *Client) CallText(ctx context.Context, cmd string, params ...string) (Reply, error) {
	if err := checkCommand(cmd); err != nil {
		return Reply{}, err
	}
	body, err := c.Raw(ctx, EncodePlain(cmd, params...))
	if err != nil {
		return Reply{}, fmt.Errorf("%s: %w", cmd, err)
	}
	r, err := ParseText(body)
	if err != nil {
		return Reply{}, fmt.Errorf("%s: parse reply: %w", cmd, err)
	}
	if err := r.Err(); err != nil {
		return r, fmt.Errorf("%s: %w", cmd, err)
	}
	return r, nil
}

// Joined sends the report commands joined with '+' in one request and
// returns one Reply per command. It fails when a command is missing from
// the reply or any sub-reply has an E or F status (the replies are still
// returned in that case).
func (c *Client) Joined(ctx context.Context, cmds ...string) (map[string]Reply, error) {
	if len(cmds) == 0 {
		return nil, fmt.Errorf("joined: no commands: %w", miner.ErrUnsupported)
	}
	for _, cmd := range cmds {
		if err := checkCommand(cmd); err != nil {
			return nil, err
		}
		if strings.Contains(cmd, "+") {
			return nil, fmt.Errorf("joined: command %q contains '+': %w", cmd, miner.ErrUnsupported)
		}
	}
	joined := strings.Join(cmds, "+")
	body, err := c.Raw(ctx, EncodeJSON(joined))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", joined, err)
	}
	rs, err := ParseJoined(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", joined, err)
	}
	for _, cmd := range cmds {
		r, ok := rs[cmd]
		if !ok {
			return rs, fmt.Errorf("%s: no reply for %s: %w", joined, cmd, miner.ErrProtocol)
		}
		if err := r.Err(); err != nil {
			return rs, fmt.Errorf("%s: %s: %w", joined, cmd, err)
		}
	}
	return rs, nil
}

// Raw sends req as is and returns the reply body without its trailing NUL.
// The returned slice is the caller's. Errors wrap miner.ErrUnreachable
// (dial, write, read, deadline) or miner.ErrProtocol (oversized reply).
func (c *Client) Raw(ctx context.Context, req []byte) ([]byte, error) {
	deadline := time.Now().Add(c.timeout)
	dctx := ctx
	if d, ok := ctx.Deadline(); ok && !d.After(deadline) {
		deadline = d // the caller's deadline is the earlier: no second timer
	} else {
		var cancel context.CancelFunc
		dctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	conn, err := c.dialer.DialContext(dctx, "tcp", c.addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w: %w", err, miner.ErrUnreachable)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("set deadline: %w: %w", err, miner.ErrUnreachable)
	}
	// Cancellation of ctx interrupts a blocked read or write.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := conn.Write(req); err != nil {
		return nil, fmt.Errorf("write request: %w: %w", ioErr(ctx, err), miner.ErrUnreachable)
	}
	bp := c.pool.get()
	defer c.pool.put(bp)
	buf, err := readReply(conn, *bp)
	*bp = buf
	if err != nil {
		return nil, fmt.Errorf("read reply: %w", ioErrWrap(ctx, err))
	}
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	}
	if len(buf) == 0 {
		return nil, fmt.Errorf("read reply: empty reply: %w", miner.ErrUnreachable)
	}
	return bytes.Clone(buf), nil
}

var errTooLong = fmt.Errorf("reply longer than %d bytes: %w", MaxReply, miner.ErrProtocol)

// readReply reads until EOF. Once the NUL terminator has arrived it keeps
// reading so that the miner, not us, closes first; a miner that keeps the
// connection open after the NUL is left after a short grace period.
func readReply(conn net.Conn, buf []byte) ([]byte, error) {
	sawNUL := false
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= MaxReply {
				return buf, errTooLong
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		if n > 0 && !sawNUL && bytes.IndexByte(buf[len(buf):len(buf)+n], 0) >= 0 {
			sawNUL = true
			_ = conn.SetReadDeadline(time.Now().Add(afterNULGrace))
		}
		buf = buf[:len(buf)+n]
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if sawNUL {
			// Complete reply; the miner just did not close in time.
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			return buf, nil
		}
		return buf, err
	}
}

// afterNULGrace is how long the client waits for the miner to close after
// the NUL terminator before closing itself.
const afterNULGrace = 200 * time.Millisecond

func ioErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

func ioErrWrap(ctx context.Context, err error) error {
	if errors.Is(err, miner.ErrProtocol) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", err, ErrTruncated)
	}
	return fmt.Errorf("%w: %w", ioErr(ctx, err), miner.ErrUnreachable)
}
