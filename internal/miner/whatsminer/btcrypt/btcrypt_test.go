package btcrypt

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// MD5-crypt vectors. Sources: glibc crypt/md5c-test.c ("Hello world!" under
// "saltstring", cut to 8 salt bytes); the others were produced with
// `openssl passwd -1 -salt SALT PASSWORD` (OpenSSL 3), the command the
// research notes name for btminer's key.
func TestMD5Crypt(t *testing.T) {
	for _, tc := range []struct{ pw, salt, want string }{
		{"Hello world!", "saltstring", "$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1"},
		{"Hello world!", "$1$saltstring", "$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1"},
		{"admin", "abcdefgh", "$1$abcdefgh$l/LAqC8oJERu7Cmx6trtY/"},
		{"admin", "BQ5hoXV9", "$1$BQ5hoXV9$RxmaDUO33TS7O26yeMHZ81"},
		{"", "xy", "$1$xy$JSgu5Zv4igzK2ULm5nTM30"},
	} {
		if got := MD5Crypt(tc.pw, tc.salt); got != tc.want {
			t.Errorf("MD5Crypt(%q, %q) = %q, want %q", tc.pw, tc.salt, got, tc.want)
		}
	}
}

// TestDeriveV2 checks key and sign against values computed with OpenSSL
// (see ../testdata/README.md): salt BQ5hoXV9, newsalt jW2kTq7e, time 3419.
func TestDeriveV2(t *testing.T) {
	tok := DeriveV2("admin", "BQ5hoXV9", "jW2kTq7e", "3419")
	if got, want := hex.EncodeToString(tok.Key[:]), "199e0a202039bb7b558db7a54697dca29cb278055b7e659a127fb844d5a2fbf6"; got != want {
		t.Errorf("key %s, want %s", got, want)
	}
	if got, want := tok.Sign, "rOvQzqg7/dydAumEy8.x6/"; got != want {
		t.Errorf("sign %s, want %s", got, want)
	}
}

func TestECBRoundTrip(t *testing.T) {
	var key [32]byte
	copy(key[:], "0123456789abcdef0123456789abcdef")
	for _, n := range []int{0, 1, 15, 16, 17, 100} {
		plain := bytes.Repeat([]byte{'a'}, n)
		ct := EncryptECB(key, plain)
		if len(ct)%16 != 0 || len(ct) < n || len(ct) >= n+16 && n%16 != 0 {
			t.Errorf("%d bytes encrypt to %d", n, len(ct))
		}
		got, err := Open(key, Seal(key, plain))
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("round trip of %d bytes: %q, %v", n, got, err)
		}
	}
	if _, err := DecryptECB(key, make([]byte, 15)); err == nil {
		t.Error("15-byte ciphertext accepted")
	}
	if _, err := Open(key, "!!"); err == nil {
		t.Error("bad base64 accepted")
	}
}

// TestV3Token: the token for set.miner.service with password "super",
// salt "uhCiDyVj" and ts 1700000000, computed as
// printf '%s' 'set.miner.servicesuperuhCiDyVj1700000000' | openssl dgst -sha256 -binary | base64 | cut -c1-8
func TestV3Token(t *testing.T) {
	if got, want := V3Token("set.miner.service", "super", "uhCiDyVj", 1700000000), v3Want; got != want {
		t.Errorf("V3Token = %q, want %q", got, want)
	}
}

const v3Want = "fhp2TAJF"

func BenchmarkMD5Crypt(b *testing.B) {
	for b.Loop() {
		MD5Crypt("s3cret", "BQ5hoXV9")
	}
}

func BenchmarkDeriveV2(b *testing.B) {
	for b.Loop() {
		DeriveV2("admin", "BQ5hoXV9", "jW2kTq7e", "3419")
	}
}

func TestDeriveV2FromHash(t *testing.T) {
	want := DeriveV2("admin", "BQ5hoXV9", "jW2kTq7e", "3419")
	if got := DeriveV2FromHash(MD5CryptHash("admin", "BQ5hoXV9"), "jW2kTq7e", "3419"); got != want {
		t.Errorf("DeriveV2FromHash = %+v, want %+v", got, want)
	}
}
