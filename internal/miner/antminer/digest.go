package antminer

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/gridminer/gridminer/internal/miner"
)

// The client side of HTTP Digest access authentication (RFC 7616, with
// RFC 2617's MD5 and MD5-sess and qop=auth; a challenge without qop is
// answered the RFC 2069 way). SHA-256 challenges and qop=auth-int are not
// supported: the stock firmware's lighttpd asks for MD5 and qop="auth".

// challenge is one parsed "WWW-Authenticate: Digest ..." header.
type challenge struct {
	realm, nonce, opaque, algorithm string
	qopAuth                         bool // the server offers qop=auth
	stale                           bool
}

var errNoDigest = errors.New("no Digest challenge")

// parseChallenge reads the Digest challenge among the WWW-Authenticate
// header values.
func parseChallenge(values []string) (challenge, error) {
	for _, v := range values {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
		if !strings.EqualFold(scheme, "Digest") {
			continue
		}
		p, err := parseParams(rest)
		if err != nil {
			return challenge{}, err
		}
		c := challenge{realm: p["realm"], nonce: p["nonce"], opaque: p["opaque"], algorithm: p["algorithm"]}
		if c.nonce == "" {
			return challenge{}, errors.New("digest challenge without a nonce")
		}
		for q := range strings.SplitSeq(p["qop"], ",") {
			c.qopAuth = c.qopAuth || strings.EqualFold(strings.TrimSpace(q), "auth")
		}
		if p["qop"] != "" && !c.qopAuth {
			return challenge{}, fmt.Errorf("digest qop %q: %w", p["qop"], miner.ErrUnsupported)
		}
		switch strings.ToUpper(c.algorithm) {
		case "", "MD5", "MD5-SESS":
		default:
			return challenge{}, fmt.Errorf("digest algorithm %q: %w", c.algorithm, miner.ErrUnsupported)
		}
		c.stale = strings.EqualFold(p["stale"], "true")
		return c, nil
	}
	return challenge{}, errNoDigest
}

// parseParams parses comma-separated auth-params: name=token or
// name="quoted \"string\"". Names are lower-cased.
func parseParams(s string) (map[string]string, error) {
	out := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return out, nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("auth-param without '=' in %q", truncate(s))
		}
		name := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated quoted string for %q", name)
			}
			val, s = b.String(), s[i+1:]
		} else {
			end := strings.IndexAny(s, ", \t")
			if end < 0 {
				end = len(s)
			}
			val, s = s[:end], s[end:]
		}
		s = strings.TrimLeft(s, " \t")
		if s != "" && s[0] != ',' {
			return nil, fmt.Errorf("junk after %q", name)
		}
		out[name] = val
	}
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// digestAuth holds the credentials and the last challenge of one server,
// so that later requests authenticate on the first try.
type digestAuth struct {
	user, pass string

	mu sync.Mutex
	ch *challenge
	nc uint32
}

// authorization returns the Authorization header for method and uri under
// the cached challenge, or "" when there is none yet.
func (a *digestAuth) authorization(method, uri string) (string, error) {
	a.mu.Lock()
	if a.ch == nil {
		a.mu.Unlock()
		return "", nil
	}
	ch := *a.ch
	a.nc++
	nc := a.nc
	a.mu.Unlock()
	var cb [16]byte
	if _, err := rand.Read(cb[:]); err != nil {
		return "", fmt.Errorf("cnonce: %w", err)
	}
	return digestHeader(ch, a.user, a.pass, method, uri, hex.EncodeToString(cb[:]), nc), nil
}

// setChallenge caches a new challenge and restarts the nonce count.
func (a *digestAuth) setChallenge(c challenge) {
	a.mu.Lock()
	a.ch, a.nc = &c, 0
	a.mu.Unlock()
}

// digestHeader computes the Authorization value (RFC 7616 §3.4).
func digestHeader(ch challenge, user, pass, method, uri, cnonce string, nc uint32) string {
	ha1 := md5hex(user + ":" + ch.realm + ":" + pass)
	if strings.EqualFold(ch.algorithm, "MD5-sess") {
		ha1 = md5hex(ha1 + ":" + ch.nonce + ":" + cnonce)
	}
	ha2 := md5hex(method + ":" + uri)
	ncs := fmt.Sprintf("%08x", nc)
	var resp string
	if ch.qopAuth {
		resp = md5hex(ha1 + ":" + ch.nonce + ":" + ncs + ":" + cnonce + ":auth:" + ha2)
	} else {
		resp = md5hex(ha1 + ":" + ch.nonce + ":" + ha2)
	}
	var b strings.Builder
	b.WriteString(`Digest username=` + quote(user) + `, realm=` + quote(ch.realm) + `, nonce=` + quote(ch.nonce) + `, uri=` + quote(uri))
	if ch.algorithm != "" {
		b.WriteString(`, algorithm=` + ch.algorithm)
	}
	b.WriteString(`, response="` + resp + `"`)
	if ch.opaque != "" {
		b.WriteString(`, opaque=` + quote(ch.opaque))
	}
	if ch.qopAuth {
		b.WriteString(`, qop=auth, nc=` + ncs + `, cnonce="` + cnonce + `"`)
	}
	return b.String()
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// quote renders s as an HTTP quoted-string.
func quote(s string) string {
	if !strings.ContainsAny(s, `\"`) {
		return `"` + s + `"` // the usual case: nothing to escape
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
