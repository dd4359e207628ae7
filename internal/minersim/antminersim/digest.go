package antminersim

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// The server side of HTTP Digest access authentication (RFC 7616, MD5,
// qop=auth; RFC 2069 answers without qop are accepted too), as the stock
// firmware's lighttpd asks for it.

// nonce returns a fresh nonce: its wall time and an HMAC of it, so the
// server keeps no nonce table.
func (d *Dialect) nonce() string {
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(d.cfg.Wall.Now().UnixNano()))
	return hex.EncodeToString(ts[:]) + hex.EncodeToString(d.nonceMAC(ts[:]))
}

func (d *Dialect) nonceMAC(ts []byte) []byte {
	m := hmac.New(sha256.New, d.secret[:])
	m.Write(ts)
	return m.Sum(nil)[:16]
}

// checkNonce reports whether n was issued by this dialect, and whether it
// is still fresh.
func (d *Dialect) checkNonce(n string) (ours, fresh bool) {
	raw, err := hex.DecodeString(n)
	if err != nil || len(raw) != 24 {
		return false, false
	}
	if !hmac.Equal(raw[8:], d.nonceMAC(raw[:8])) {
		return false, false
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[:8])))
	age := d.cfg.Wall.Now().Sub(issued)
	return true, age >= -time.Minute && age < d.cfg.NonceTTL
}

// challenge writes a 401 with a new nonce.
func (d *Dialect) challenge(w http.ResponseWriter, stale bool) {
	v := `Digest realm="` + Realm + `", charset="UTF-8", nonce="` + d.nonce() + `", qop="auth", algorithm="MD5"`
	if stale {
		v += `, stale=true`
	}
	w.Header().Set("WWW-Authenticate", v)
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<html><head><title>401 Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>\n"))
}

// authorize checks r's Authorization header; when it fails it has written
// the 401 and returns false.
func (d *Dialect) authorize(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Digest") {
		d.challenge(w, false)
		return false
	}
	p := parseAuthParams(rest)
	if p == nil || p["realm"] != Realm || p["uri"] != r.RequestURI || p["nonce"] == "" || p["response"] == "" {
		d.challenge(w, false)
		return false
	}
	if alg := p["algorithm"]; alg != "" && !strings.EqualFold(alg, "MD5") {
		d.challenge(w, false)
		return false
	}
	ha1 := md5hex(p["username"] + ":" + Realm + ":" + d.cfg.Password)
	ha2 := md5hex(r.Method + ":" + p["uri"])
	var want string
	switch p["qop"] {
	case "auth":
		if p["nc"] == "" || p["cnonce"] == "" {
			d.challenge(w, false)
			return false
		}
		want = md5hex(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + ha2)
	case "":
		want = md5hex(ha1 + ":" + p["nonce"] + ":" + ha2)
	default:
		d.challenge(w, false)
		return false
	}
	userOK := subtle.ConstantTimeCompare([]byte(p["username"]), []byte(d.cfg.Username)) == 1
	respOK := subtle.ConstantTimeCompare([]byte(strings.ToLower(p["response"])), []byte(want)) == 1
	if !userOK || !respOK {
		d.challenge(w, false)
		return false
	}
	if ours, fresh := d.checkNonce(p["nonce"]); !ours || !fresh {
		// Right password, old (or foreign) nonce: tell the client to
		// retry with the new one without asking the user again.
		d.challenge(w, ours)
		return false
	}
	return true
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// parseAuthParams parses the comma-separated auth-params of a Digest
// header (token=token or token="quoted \"string\""). It returns nil on a
// syntax error. Parameter names are lower-cased.
func parseAuthParams(s string) map[string]string {
	out := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return out
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil
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
				return nil
			}
			val, s = b.String(), s[i+1:]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			val, s = strings.TrimSpace(s[:end]), s[end:]
		}
		s = strings.TrimLeft(s, " \t")
		if s != "" && s[0] != ',' {
			return nil
		}
		out[name] = val
	}
}
