package antminer

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/miner"
)

// TestDigestRFC2617 checks the response against the worked example of
// RFC 2617 §3.5.
func TestDigestRFC2617(t *testing.T) {
	ch, err := parseChallenge([]string{`Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`})
	if err != nil {
		t.Fatal(err)
	}
	got := digestHeader(ch, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", "0a4f113b", 1)
	want := `Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001, cnonce="0a4f113b"`
	if got != want {
		t.Errorf("header\n got %s\nwant %s", got, want)
	}
}

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		want    challenge
		wantErr error
	}{
		{"antminer", []string{`Digest realm="antMiner Configuration", charset="UTF-8", nonce="abc", qop="auth", algorithm="MD5"`},
			challenge{realm: "antMiner Configuration", nonce: "abc", algorithm: "MD5", qopAuth: true}, nil},
		{"stale, tokens", []string{`Digest realm=r, nonce=n1, qop=auth, stale=TRUE`},
			challenge{realm: "r", nonce: "n1", qopAuth: true, stale: true}, nil},
		{"basic first", []string{`Basic realm="x"`, `Digest realm="r", nonce="n"`},
			challenge{realm: "r", nonce: "n"}, nil},
		{"escaped quote", []string{`Digest realm="a \"b\"", nonce="n"`},
			challenge{realm: `a "b"`, nonce: "n"}, nil},
		{"no digest", []string{`Basic realm="x"`}, challenge{}, errNoDigest},
		{"sha256", []string{`Digest realm="r", nonce="n", algorithm=SHA-256`}, challenge{}, miner.ErrUnsupported},
		{"auth-int only", []string{`Digest realm="r", nonce="n", qop="auth-int"`}, challenge{}, miner.ErrUnsupported},
		{"unterminated", []string{`Digest realm="r, nonce="n`}, challenge{}, errAny},
		{"no nonce", []string{`Digest realm="r"`}, challenge{}, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseChallenge(tt.values)
			switch {
			case tt.wantErr == errAny && err == nil:
				t.Fatal("no error")
			case tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(challenge{})); diff != "" {
				t.Errorf("challenge (-want +got):\n%s", diff)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestDigestNonceCount(t *testing.T) {
	a := digestAuth{user: "root", pass: "root"}
	if h, _ := a.authorization("GET", "/"); h != "" {
		t.Fatalf("header %q before any challenge", h)
	}
	a.setChallenge(challenge{realm: "r", nonce: "n", qopAuth: true})
	h1, _ := a.authorization("GET", "/")
	h2, _ := a.authorization("GET", "/")
	p1, err1 := parseParams(h1[len("Digest "):])
	p2, err2 := parseParams(h2[len("Digest "):])
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if p1["nc"] != "00000001" || p2["nc"] != "00000002" || p1["cnonce"] == p2["cnonce"] {
		t.Errorf("nc %s then %s, cnonces %s %s: want 1, 2 and fresh cnonces", p1["nc"], p2["nc"], p1["cnonce"], p2["cnonce"])
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"root":      `"root"`,
		`a"b\c`:     `"a\"b\\c"`,
		"":          `""`,
		`antMiner"`: `"antMiner\""`,
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}
