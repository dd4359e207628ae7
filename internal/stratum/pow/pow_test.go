package pow

import (
	"encoding/hex"
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"testing"
)

// The header of regtest block 242 from /work/shared/data/stratum/real-block-vector.txt
// (cpuminer -> ckpool -> btcd, as btcd returned it).
const (
	vectorHeader = "000040304d16fa70693bb0c9693c262167197ec82fc65864c053c48122669a454bfeb14fad4cf7b44bb816d8ed78870210a970f03efd846ecb2a57c9ad5cb7c80735bfeeb3e4056bffff7f20a9e5173a"
	vectorHash   = "00000000186bf1ba5357ca7a34daae86ec97c006ac853763b17c4ed60d8d5748"
)

func vectorBytes(t testing.TB) [HeaderSize]byte {
	t.Helper()
	b, err := hex.DecodeString(vectorHeader)
	if err != nil || len(b) != HeaderSize {
		t.Fatalf("vector header: %v (%d bytes)", err, len(b))
	}
	return [HeaderSize]byte(b)
}

func TestSHA256dVector(t *testing.T) {
	hdr := vectorBytes(t)
	if got := SHA256d(hdr[:]).String(); got != vectorHash {
		t.Errorf("SHA256d = %s, want %s", got, vectorHash)
	}
	m, err := NewMidstate(&hdr)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Hash(0x3a17e5a9).String(); got != vectorHash {
		t.Errorf("Midstate.Hash = %s, want %s", got, vectorHash)
	}
	if got, want := HashDifficulty(SHA256d(hdr[:])), 10.482339; math.Abs(got-want) > 1e-6 {
		t.Errorf("HashDifficulty = %v, want %v (ckpool's log)", got, want)
	}
}

func TestMidstateMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		var hdr [HeaderSize]byte
		for j := range hdr {
			hdr[j] = byte(r.Uint32())
		}
		s, err := NewScanner(&hdr)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := NewMidstate(&hdr)
		for _, nonce := range []uint32{0, 1, r.Uint32(), math.MaxUint32} {
			h := hdr
			h[76], h[77], h[78], h[79] = byte(nonce), byte(nonce>>8), byte(nonce>>16), byte(nonce>>24)
			want := SHA256d(h[:])
			if got := s.Hash(nonce); got != want {
				t.Fatalf("case %d nonce %d: Scanner %s, want %s", i, nonce, got, want)
			}
			if got := m.Hash(nonce); got != want {
				t.Fatalf("case %d nonce %d: Midstate %s, want %s", i, nonce, got, want)
			}
		}
	}
}

func TestScanFindsVectorNonce(t *testing.T) {
	hdr := vectorBytes(t)
	s, _ := NewScanner(&hdr)
	tgt, err := DiffToTargetLE(10)
	if err != nil {
		t.Fatal(err)
	}
	nonce, h, ok := s.Scan(0x3a17e5a9-1000, 1001, &tgt)
	if !ok || nonce != 0x3a17e5a9 || h.String() != vectorHash {
		t.Errorf("Scan = %x %s %v, want 3a17e5a9 %s true", nonce, h, ok, vectorHash)
	}
}

func hexBig(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic(s)
	}
	return n
}

func TestCompact(t *testing.T) {
	tests := []struct {
		name string
		bits uint32
		want *big.Int
	}{
		{"mainnet genesis = diff1", 0x1d00ffff, Diff1Target()},
		{"regtest", 0x207fffff, hexBig("7fffff0000000000000000000000000000000000000000000000000000000000")},
		{"block 800000", 0x17053894, hexBig("0000000000000000000538940000000000000000000000000000000000000000")},
		{"small exponent", 0x03123456, big.NewInt(0x123456)},
		{"exponent 1", 0x01120000, big.NewInt(0x12)},
		{"zero", 0, big.NewInt(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CompactToBig(tt.bits); got.Cmp(tt.want) != 0 {
				t.Errorf("CompactToBig(%08x) = %x, want %x", tt.bits, got, tt.want)
			}
			if got := BigToCompact(tt.want); got != tt.bits {
				t.Errorf("BigToCompact(%x) = %08x, want %08x", tt.want, got, tt.bits)
			}
		})
	}
	if got, want := BigToCompact(big.NewInt(0x80)), uint32(0x02008000); got != want {
		t.Errorf("BigToCompact(0x80) = %08x, want %08x (sign bit avoided)", got, want)
	}
	if got := CompactToBig(0x04923456); got.Sign() >= 0 {
		t.Errorf("CompactToBig(04923456) = %x, want negative", got)
	}
}

func TestDifficulty(t *testing.T) {
	tests := []struct {
		d    float64
		want *big.Int
	}{
		{1, hexBig("00000000ffff0000000000000000000000000000000000000000000000000000")},
		{2, hexBig("000000007fff8000000000000000000000000000000000000000000000000000")},
		{65536, hexBig("000000000000ffff000000000000000000000000000000000000000000000000")},
		{1.0 / 65536, hexBig("0000ffff00000000000000000000000000000000000000000000000000000000")},
		{1e-80, hexBig("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")},
	}
	for _, tt := range tests {
		got, err := DiffToTarget(tt.d)
		if err != nil {
			t.Fatalf("DiffToTarget(%v): %v", tt.d, err)
		}
		if got.Cmp(tt.want) != 0 {
			t.Errorf("DiffToTarget(%v) = %064x, want %064x", tt.d, got, tt.want)
		}
		if tt.d >= 1e-9 {
			if back := TargetToDiff(got); math.Abs(back-tt.d)/tt.d > 1e-9 {
				t.Errorf("TargetToDiff(DiffToTarget(%v)) = %v", tt.d, back)
			}
		}
	}
	for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := DiffToTarget(bad); err == nil {
			t.Errorf("DiffToTarget(%v): no error", bad)
		}
	}
}

func TestTargetMeets(t *testing.T) {
	tgt, _ := TargetFromBig(hexBig("00000000ffff0000000000000000000000000000000000000000000000000000"))
	if tgt.Big().Cmp(Diff1Target()) != 0 {
		t.Fatalf("Target round trip = %x", tgt.Big())
	}
	tests := []struct {
		name string
		hash string // display order
		want bool
	}{
		{"equal", "00000000ffff0000000000000000000000000000000000000000000000000000", true},
		{"one above", "00000000ffff0000000000000000000000000000000000000000000000000001", false},
		{"one below", "00000000fffeffffffffffffffffffffffffffffffffffffffffffffffffffff", true},
		{"zero", "0000000000000000000000000000000000000000000000000000000000000000", true},
		{"high", "0000000100000000000000000000000000000000000000000000000000000000", false},
	}
	for _, tt := range tests {
		b, _ := hex.DecodeString(tt.hash)
		var h Hash
		for i := range h {
			h[i] = b[31-i]
		}
		if got := tgt.Meets(&h); got != tt.want {
			t.Errorf("%s: Meets = %v, want %v", tt.name, got, tt.want)
		}
	}
	if _, err := TargetFromBig(new(big.Int).Lsh(big.NewInt(1), 256)); err == nil {
		t.Error("TargetFromBig(2^256): no error")
	}
}

// BenchmarkSHA256dHeader measures one nonce's SHA-256d with the midstate;
// MH/s is per goroutine (per core with -cpu 1).
func BenchmarkSHA256dHeader(b *testing.B) {
	hdr := vectorBytes(b)
	s, _ := NewScanner(&hdr)
	var sink byte
	n := uint32(0)
	for b.Loop() {
		h := s.Hash(n)
		sink ^= h[31]
		n++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "MH/s")
	_ = sink
}

// BenchmarkSHA256dHeaderNaive is the baseline: three compressions per nonce.
func BenchmarkSHA256dHeaderNaive(b *testing.B) {
	hdr := vectorBytes(b)
	var sink byte
	n := uint32(0)
	for b.Loop() {
		hdr[76], hdr[77], hdr[78], hdr[79] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
		h := SHA256d(hdr[:])
		sink ^= h[31]
		n++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "MH/s")
	_ = sink
}

// BenchmarkSHA256dHeaderParallel runs one Scanner per goroutine on all cores;
// MH/s is the total.
func BenchmarkSHA256dHeaderParallel(b *testing.B) {
	hdr := vectorBytes(b)
	b.RunParallel(func(pb *testing.PB) {
		s, _ := NewScanner(&hdr)
		n := uint32(0)
		for pb.Next() {
			_ = s.Hash(n)
			n++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "MH/s")
	b.Logf("GOMAXPROCS=%d", runtime.GOMAXPROCS(0))
}
