package stratum

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gridminer/gridminer/internal/stratum/pow"
)

func readVector(t testing.TB) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "real-block-vector.txt"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		out[k] = v
	}
	return out
}

func vectorNotify(t testing.TB) Notify {
	t.Helper()
	n, err := ParseNotify(json.RawMessage(readVector(t)["notify-params"]))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRealBlockHeader rebuilds regtest block 242's header from the captured
// subscribe, notify and submit lines.
func TestRealBlockHeader(t *testing.T) {
	v := readVector(t)
	sub, err := ParseSubscribeResult(json.RawMessage(v["subscribe-result"]))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSubmit(json.RawMessage(v["submit-params"]))
	if err != nil {
		t.Fatal(err)
	}
	job := Job{Notify: vectorNotify(t), Extranonce1: sub.Extranonce1, Extranonce2Size: sub.Extranonce2Size}
	hdr, err := job.Header(s)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(hdr[:]), v["header"]; got != want {
		t.Errorf("header\n got %s\nwant %s", got, want)
	}
	h := pow.SHA256d(hdr[:])
	if got, want := h.String(), v["block-hash"]; got != want {
		t.Errorf("block hash %s, want %s", got, want)
	}
	prev := PrevHashInternal(job.PrevHash)
	if got, want := pow.Hash(prev).String(), v["previous-block"]; got != want {
		t.Errorf("previous block %s, want %s", got, want)
	}
	if PrevHashStratum(prev) != job.PrevHash {
		t.Error("PrevHashStratum does not invert PrevHashInternal")
	}
	want, _ := strconv.ParseFloat(v["share-difficulty"], 64)
	if got := pow.HashDifficulty(h); math.Abs(got-want) > 1e-6 {
		t.Errorf("share difficulty %v, want %v", got, want)
	}
	nbitsTarget, _ := pow.TargetFromBig(pow.CompactToBig(job.NBits))
	if !nbitsTarget.Meets(&h) {
		t.Error("block hash does not meet nbits target")
	}
	// A wrong extranonce2 size is refused.
	s.Extranonce2 = s.Extranonce2[:4]
	if _, err := job.Header(s); err == nil {
		t.Error("short extranonce2 accepted")
	}
}

func TestMerkleBranchAndVersionRolling(t *testing.T) {
	// Two-level branch: root = H(H(H(cb)||b0)||b1).
	cb := []byte("coinbase")
	b0 := [32]byte{1}
	b1 := [32]byte{2}
	r := pow.SHA256d(cb)
	r = pow.SHA256d(append(r[:], b0[:]...))
	r = pow.SHA256d(append(r[:], b1[:]...))
	if got := MerkleRoot(cb, [][32]byte{b0, b1}); got != [32]byte(r) {
		t.Errorf("MerkleRoot = %x, want %x", got, r)
	}
	tests := []struct{ version, bits, mask, want uint32 }{
		{0x20000000, 0x00002000, BIP320Mask, 0x20002000},
		{0x30400000, 0x00002000, BIP320Mask, 0x20002000}, // replace clears bits 22 and 28
		{0x30400000, 0, 0, 0x30400000},
	}
	for _, tt := range tests {
		if got := RollVersion(tt.version, tt.bits, tt.mask); got != tt.want {
			t.Errorf("RollVersion(%08x, %08x, %08x) = %08x, want %08x", tt.version, tt.bits, tt.mask, got, tt.want)
		}
	}
	job := Job{Notify: Notify{Version: 0x20000000}, Extranonce2Size: 0, VersionMask: BIP320Mask}
	hdr, err := job.Header(Submit{VersionBits: 0x4000, HasVersionBits: true})
	if err != nil || hdr[0] != 0x00 || hdr[1] != 0x40 || hdr[3] != 0x20 {
		t.Errorf("rolled header version % x, err %v", hdr[:4], err)
	}
	if _, err := job.Header(Submit{VersionBits: 0x1, HasVersionBits: true}); err == nil {
		t.Error("version bits outside mask accepted")
	}
}

func FuzzHeader(f *testing.F) {
	v := readVector(f)
	f.Add([]byte(v["notify-params"]), []byte(v["submit-params"]), []byte{0x79, 0xe4, 0x05, 0x6b}, uint32(0))
	f.Fuzz(func(t *testing.T, notify, submit, en1 []byte, mask uint32) {
		n, err := ParseNotify(notify)
		if err != nil {
			return
		}
		s, err := ParseSubmit(submit)
		if err != nil {
			return
		}
		job := Job{Notify: n, Extranonce1: en1, Extranonce2Size: len(s.Extranonce2), VersionMask: mask}
		hdr, err := job.Header(s)
		if err != nil {
			return
		}
		// The integers land little-endian where they belong.
		if got := uint32(hdr[76]) | uint32(hdr[77])<<8 | uint32(hdr[78])<<16 | uint32(hdr[79])<<24; got != s.Nonce {
			t.Errorf("nonce in header %08x, want %08x", got, s.Nonce)
		}
		if got := uint32(hdr[68]) | uint32(hdr[69])<<8 | uint32(hdr[70])<<16 | uint32(hdr[71])<<24; got != s.NTime {
			t.Errorf("ntime in header %08x, want %08x", got, s.NTime)
		}
		if PrevHashStratum([32]byte(hdr[4:36])) != n.PrevHash {
			t.Error("prevhash does not round-trip")
		}
		// The midstate hash equals the plain hash.
		m, err := pow.NewMidstate(&hdr)
		if err != nil {
			t.Fatal(err)
		}
		if m.Hash(s.Nonce) != pow.SHA256d(hdr[:]) {
			t.Error("midstate hash differs from SHA256d")
		}
	})
}
