// Package btcrypt holds the cryptography of MicroBT's btminer API: the
// "$1$" MD5-crypt function, the AES-256-ECB envelope with NUL padding that
// API v2 wraps privileged commands in, the v2 token (key and sign derived
// from the admin password and a get_token reply) and the v3 salted command
// token.
//
// It is shared by the whatsminer driver and its simulator dialect; both
// sides are checked against published MD5-crypt vectors and fixtures made
// with OpenSSL (see the tests). It does no I/O and is not a general crypto
// library: ECB and MD5-crypt are weak, used here only because the firmware
// demands them.
package btcrypt

import (
	"crypto/aes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// MD5Crypt returns the full "$1$salt$hash" string of password under salt,
// as glibc crypt(3) and `openssl passwd -1 -salt` compute it. A salt
// written as "$1$abc$" is accepted; it is cut at its first '$' and to 8
// bytes, as crypt does.
func MD5Crypt(password, salt string) string {
	salt = strings.TrimPrefix(salt, "$1$")
	if i := strings.IndexByte(salt, '$'); i >= 0 {
		salt = salt[:i]
	}
	if len(salt) > 8 {
		salt = salt[:8]
	}
	pw := []byte(password)
	s := []byte(salt)

	alt := md5.New()
	alt.Write(pw)
	alt.Write(s)
	alt.Write(pw)
	altSum := alt.Sum(nil)

	ctx := md5.New()
	ctx.Write(pw)
	ctx.Write([]byte("$1$"))
	ctx.Write(s)
	for n := len(pw); n > 0; n -= 16 {
		ctx.Write(altSum[:min(16, n)])
	}
	for i := len(pw); i != 0; i >>= 1 {
		if i&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(pw[:1])
		}
	}
	final := ctx.Sum(nil)

	// 1,000 rounds, each hashing a short input: built in one buffer and
	// hashed in one call, so a round allocates nothing.
	sum := [md5.Size]byte(final)
	buf := make([]byte, 0, 2*len(pw)+len(s)+2*md5.Size)
	for i := range 1000 {
		buf = buf[:0]
		if i&1 != 0 {
			buf = append(buf, pw...)
		} else {
			buf = append(buf, sum[:]...)
		}
		if i%3 != 0 {
			buf = append(buf, s...)
		}
		if i%7 != 0 {
			buf = append(buf, pw...)
		}
		if i&1 != 0 {
			buf = append(buf, sum[:]...)
		} else {
			buf = append(buf, pw...)
		}
		sum = md5.Sum(buf)
	}
	final = sum[:]

	out := make([]byte, 0, 3+len(s)+1+22)
	out = append(out, "$1$"...)
	out = append(out, s...)
	out = append(out, '$')
	put := func(v uint32, n int) {
		for ; n > 0; n-- {
			out = append(out, itoa64[v&0x3f])
			v >>= 6
		}
	}
	f := final
	put(uint32(f[0])<<16|uint32(f[6])<<8|uint32(f[12]), 4)
	put(uint32(f[1])<<16|uint32(f[7])<<8|uint32(f[13]), 4)
	put(uint32(f[2])<<16|uint32(f[8])<<8|uint32(f[14]), 4)
	put(uint32(f[3])<<16|uint32(f[9])<<8|uint32(f[15]), 4)
	put(uint32(f[4])<<16|uint32(f[10])<<8|uint32(f[5]), 4)
	put(uint32(f[11]), 2)
	return string(out)
}

// MD5CryptHash returns only the hash part of MD5Crypt (the fourth
// '$'-separated field), which is what btminer keys and signs with.
func MD5CryptHash(password, salt string) string {
	full := MD5Crypt(password, salt)
	return full[strings.LastIndexByte(full, '$')+1:]
}

// V2Token is what a client derives from one get_token reply.
type V2Token struct {
	// Key is the AES-256 key: SHA-256 of the password's MD5-crypt hash
	// under salt.
	Key [32]byte
	// Sign is the per-token signature every write carries as "token":
	// the MD5-crypt hash of (password hash + time) under newsalt.
	Sign string
}

// DeriveV2 derives the v2 key and sign from the admin password and the
// salt, newsalt and time fields of a get_token reply.
func DeriveV2(password, salt, newsalt, time string) V2Token {
	return DeriveV2FromHash(MD5CryptHash(password, salt), newsalt, time)
}

// DeriveV2FromHash is DeriveV2 from the password hash,
// MD5CryptHash(password, salt), which depends only on the password and the
// miner's salt: a client or miner that keeps it computes one MD5-crypt per
// token instead of two.
func DeriveV2FromHash(hash, newsalt, time string) V2Token {
	return V2Token{Key: sha256.Sum256([]byte(hash)), Sign: MD5CryptHash(hash+time, newsalt)}
}

// ErrCiphertext reports a ciphertext that is not whole AES blocks or not
// valid base64.
var ErrCiphertext = errors.New("btcrypt: malformed ciphertext")

// EncryptECB pads plain with NUL bytes to a multiple of 16 (nothing is
// added when it already is one) and encrypts it with AES-256 in ECB mode.
func EncryptECB(key [32]byte, plain []byte) []byte {
	b, _ := aes.NewCipher(key[:]) // a 32-byte key never fails
	n := (len(plain) + 15) / 16 * 16
	out := make([]byte, n)
	copy(out, plain)
	for i := 0; i < n; i += 16 {
		b.Encrypt(out[i:i+16], out[i:i+16])
	}
	return out
}

// DecryptECB decrypts whole AES-256-ECB blocks and strips trailing NULs.
func DecryptECB(key [32]byte, ct []byte) ([]byte, error) {
	if len(ct)%16 != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not whole blocks", ErrCiphertext, len(ct))
	}
	b, _ := aes.NewCipher(key[:])
	out := make([]byte, len(ct))
	for i := 0; i < len(ct); i += 16 {
		b.Decrypt(out[i:i+16], ct[i:i+16])
	}
	for len(out) > 0 && out[len(out)-1] == 0 {
		out = out[:len(out)-1]
	}
	return out, nil
}

// Seal encrypts plain and returns it base64-encoded (standard alphabet,
// padded, no line breaks), as the "data" of a v2 request or the "enc" of a
// reply.
func Seal(key [32]byte, plain []byte) string {
	return base64.StdEncoding.EncodeToString(EncryptECB(key, plain))
}

// Open reverses Seal.
func Open(key [32]byte, b64 string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCiphertext, err)
	}
	return DecryptECB(key, ct)
}

// V3Token returns the API v3 command token: the first 8 characters of the
// base64 SHA-256 of cmd + password + salt + ts (decimal Unix seconds).
func V3Token(cmd, password, salt string, ts int64) string {
	sum := sha256.Sum256([]byte(cmd + password + salt + strconv.FormatInt(ts, 10)))
	return base64.StdEncoding.EncodeToString(sum[:])[:8]
}
