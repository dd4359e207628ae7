// Package pow is Bitcoin proof of work: double SHA-256 of 80-byte block
// headers (with a midstate so that each nonce costs only the header's last
// 16 bytes), conversions between pool difficulty, 256-bit targets and the
// compact nBits form, and the hash-meets-target check.
//
// It does no I/O and knows nothing of Stratum; the stratum package builds
// headers and hands them here.
package pow

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
)

// HeaderSize is the size of a serialized block header.
const HeaderSize = 80

// Hash is a SHA-256d output in internal byte order (as computed; the
// little-endian 256-bit number compared against targets).
type Hash [32]byte

// SHA256d returns SHA-256(SHA-256(b)).
func SHA256d(b []byte) Hash {
	first := sha256.Sum256(b)
	return Hash(sha256.Sum256(first[:]))
}

// String returns the hash in display order (byte-reversed hex), as block
// explorers and RPC show block hashes.
func (h Hash) String() string {
	var r [32]byte
	for i := range h {
		r[i] = h[31-i]
	}
	return hex.EncodeToString(r[:])
}

// Big returns the hash as the little-endian 256-bit number it stands for.
func (h Hash) Big() *big.Int {
	var r [32]byte
	for i := range h {
		r[i] = h[31-i]
	}
	return new(big.Int).SetBytes(r[:])
}

// Target is a 256-bit target stored little-endian (byte 31 most
// significant), so that it compares directly with a Hash.
type Target [32]byte

// maxTarget is 2^256-1.
var errTargetRange = errors.New("target out of range")

// TargetFromBig converts t, which must be in [0, 2^256), to a Target.
func TargetFromBig(t *big.Int) (Target, error) {
	var out Target
	if t.Sign() < 0 || t.BitLen() > 256 {
		return out, fmt.Errorf("target %x: %w", t, errTargetRange)
	}
	var be [32]byte
	t.FillBytes(be[:])
	for i := range be {
		out[i] = be[31-i]
	}
	return out, nil
}

// Big returns the target as a number.
func (t Target) Big() *big.Int {
	var be [32]byte
	for i := range t {
		be[i] = t[31-i]
	}
	return new(big.Int).SetBytes(be[:])
}

// Meets reports whether h, read as a little-endian number, is at most t.
func (t *Target) Meets(h *Hash) bool {
	for i := 31; i >= 0; i-- {
		if h[i] != t[i] {
			return h[i] < t[i]
		}
	}
	return true
}

// Diff1Target is the pool difficulty-1 target,
// 0x00000000FFFF0000000000000000000000000000000000000000000000000000.
func Diff1Target() *big.Int {
	return new(big.Int).Lsh(big.NewInt(0xFFFF), 208)
}

// ErrDifficulty reports a difficulty that is not a positive finite number.
var ErrDifficulty = errors.New("difficulty must be positive and finite")

// DiffToTarget returns floor(Diff1Target / d), capped at 2^256-1 for tiny d.
func DiffToTarget(d float64) (*big.Int, error) {
	if !(d > 0) || math.IsInf(d, 0) {
		return nil, fmt.Errorf("difficulty %v: %w", d, ErrDifficulty)
	}
	f := new(big.Float).SetPrec(512).SetInt(Diff1Target())
	f.Quo(f, new(big.Float).SetPrec(512).SetFloat64(d))
	t, _ := f.Int(nil)
	limit := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	if t.Cmp(limit) > 0 {
		t = limit
	}
	return t, nil
}

// DiffToTargetLE is DiffToTarget returned as a Target.
func DiffToTargetLE(d float64) (Target, error) {
	t, err := DiffToTarget(d)
	if err != nil {
		return Target{}, err
	}
	return TargetFromBig(t)
}

// TargetToDiff returns Diff1Target / t (+Inf for a zero target).
func TargetToDiff(t *big.Int) float64 {
	if t.Sign() <= 0 {
		return math.Inf(1)
	}
	q, _ := new(big.Float).SetPrec(256).Quo(
		new(big.Float).SetPrec(256).SetInt(Diff1Target()),
		new(big.Float).SetPrec(256).SetInt(t)).Float64()
	return q
}

// HashDifficulty returns the share difficulty of h: Diff1Target / h.
func HashDifficulty(h Hash) float64 { return TargetToDiff(h.Big()) }

// CompactToBig expands the compact nBits form into a target. Negative
// compact values (sign bit set) yield a negative number, as in Bitcoin Core.
func CompactToBig(bits uint32) *big.Int {
	mantissa := int64(bits & 0x007fffff)
	exp := uint(bits >> 24)
	var n *big.Int
	if exp <= 3 {
		n = big.NewInt(mantissa >> (8 * (3 - exp)))
	} else {
		n = new(big.Int).Lsh(big.NewInt(mantissa), 8*(exp-3))
	}
	if bits&0x00800000 != 0 {
		n.Neg(n)
	}
	return n
}

// BigToCompact returns the compact nBits form of a non-negative target
// (precision below the top three significant bytes is dropped).
func BigToCompact(n *big.Int) uint32 {
	if n.Sign() == 0 {
		return 0
	}
	a := new(big.Int).Abs(n)
	size := uint32(len(a.Bytes()))
	var mantissa uint32
	if size <= 3 {
		mantissa = uint32(a.Uint64() << (8 * (3 - size)))
	} else {
		mantissa = uint32(new(big.Int).Rsh(a, uint(8*(size-3))).Uint64())
	}
	if mantissa&0x00800000 != 0 {
		mantissa >>= 8
		size++
	}
	c := size<<24 | mantissa
	if n.Sign() < 0 {
		c |= 0x00800000
	}
	return c
}

// Midstate hashes 80-byte headers that share their first 76 bytes, paying
// for the first 64 bytes once. It is not safe for concurrent use: give each
// goroutine its own.
type Midstate struct {
	// state is crypto/sha256's marshaled digest after the whole 80-byte
	// header was written: magic(4) | h(32) | block buffer(64) | length(8).
	// The nonce sits at buffer offset 12..16; Hash patches it in place.
	state [108]byte
	work  [32]byte
}

const nonceOff = 4 + 32 + 12

// NewMidstate prepares hashing of header with any nonce.
func NewMidstate(header *[HeaderSize]byte) (*Midstate, error) {
	m := &Midstate{}
	if err := m.Reset(header); err != nil {
		return nil, err
	}
	return m, nil
}

// Reset prepares m for a new header (new job or extranonce2).
func (m *Midstate) Reset(header *[HeaderSize]byte) error {
	d := sha256.New()
	d.Write(header[:])
	b, err := d.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
	if err != nil {
		return fmt.Errorf("sha256 midstate: %w", err)
	}
	if len(b) != len(m.state) || string(b[:4]) != "sha\x03" {
		return fmt.Errorf("sha256 midstate: unexpected state layout (%d bytes)", len(b))
	}
	copy(m.state[:], b)
	return nil
}

// Hash returns SHA-256d of the header with nonce in place of its last four
// bytes (written little-endian, as in the header).
func (m *Midstate) Hash(nonce uint32) Hash {
	var h Hash
	m.hash(nonce, &h)
	return h
}

type unmarshaler interface {
	UnmarshalBinary([]byte) error
	Sum([]byte) []byte
}

func (m *Midstate) hash(nonce uint32, out *Hash) {
	binary.LittleEndian.PutUint32(m.state[nonceOff:], nonce)
	d := sha256.New().(unmarshaler)
	_ = d.UnmarshalBinary(m.state[:]) // layout was checked in Reset
	first := d.Sum(m.work[:0])
	*out = sha256.Sum256(first)
}

// Scanner searches nonces with one reused digest; allocation-free per nonce.
// Not safe for concurrent use.
type Scanner struct {
	m Midstate
	d unmarshaler
}

// NewScanner returns a Scanner for header.
func NewScanner(header *[HeaderSize]byte) (*Scanner, error) {
	s := &Scanner{d: sha256.New().(unmarshaler)}
	if err := s.m.Reset(header); err != nil {
		return nil, err
	}
	return s, nil
}

// Reset points s at a new header.
func (s *Scanner) Reset(header *[HeaderSize]byte) error { return s.m.Reset(header) }

// Hash is Midstate.Hash using the Scanner's reused digest.
func (s *Scanner) Hash(nonce uint32) Hash {
	binary.LittleEndian.PutUint32(s.m.state[nonceOff:], nonce)
	_ = s.d.UnmarshalBinary(s.m.state[:])
	first := s.d.Sum(s.m.work[:0])
	return Hash(sha256.Sum256(first))
}

// Scan hashes nonces first, first+1, ... first+count-1 and returns the first
// nonce whose hash meets t, with its hash. ok is false when none does.
func (s *Scanner) Scan(first uint32, count uint32, t *Target) (nonce uint32, h Hash, ok bool) {
	for i := uint32(0); i < count; i++ {
		n := first + i
		h = s.Hash(n)
		if t.Meets(&h) {
			return n, h, true
		}
	}
	return 0, Hash{}, false
}
