package stratum

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gridminer/gridminer/internal/stratum/pow"
)

// ErrExtranonce2Size reports an extranonce2 of the wrong length.
var ErrExtranonce2Size = errors.New("extranonce2 has the wrong size")

// ErrVersionBits reports version bits outside the negotiated mask.
var ErrVersionBits = errors.New("version bits outside the mask")

// Coinbase returns coinb1 || extranonce1 || extranonce2 || coinb2.
func (n *Notify) Coinbase(en1, en2 []byte) []byte {
	cb := make([]byte, 0, len(n.Coinb1)+len(en1)+len(en2)+len(n.Coinb2))
	cb = append(cb, n.Coinb1...)
	cb = append(cb, en1...)
	cb = append(cb, en2...)
	return append(cb, n.Coinb2...)
}

// MerkleRoot folds branch onto SHA-256d(coinbase): root = SHA-256d(root || b).
// The result is in internal byte order, as it goes into the header.
func MerkleRoot(coinbase []byte, branch [][32]byte) [32]byte {
	root := pow.SHA256d(coinbase)
	var buf [64]byte
	for _, b := range branch {
		copy(buf[:32], root[:])
		copy(buf[32:], b[:])
		root = pow.SHA256d(buf[:])
	}
	return root
}

// PrevHashInternal undoes Stratum's word swap: each 4-byte word of the sent
// prevhash is byte-reversed, giving the internal byte order.
func PrevHashInternal(stratum [32]byte) [32]byte {
	var out [32]byte
	for w := 0; w < 8; w++ {
		binary.LittleEndian.PutUint32(out[4*w:], binary.BigEndian.Uint32(stratum[4*w:]))
	}
	return out
}

// PrevHashStratum is the inverse of PrevHashInternal (the word swap is its
// own inverse); it turns an internal-order hash into what notify sends.
func PrevHashStratum(internal [32]byte) [32]byte { return PrevHashInternal(internal) }

// RollVersion applies version bits under mask the BIP 310 way:
// (version &^ mask) | (bits & mask). ckpool ORs and public-pool XORs; they
// agree only when version&mask == 0.
func RollVersion(version, bits, mask uint32) uint32 { return version&^mask | bits&mask }

// BuildHeader returns the 80-byte header: version, prevhash, merkle root,
// ntime, nbits, nonce; the integers little-endian.
func BuildHeader(version uint32, prevInternal, merkleRoot [32]byte, ntime, nbits, nonce uint32) [pow.HeaderSize]byte {
	var h [pow.HeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:], version)
	copy(h[4:36], prevInternal[:])
	copy(h[36:68], merkleRoot[:])
	binary.LittleEndian.PutUint32(h[68:], ntime)
	binary.LittleEndian.PutUint32(h[72:], nbits)
	binary.LittleEndian.PutUint32(h[76:], nonce)
	return h
}

// Job is a mining.notify bound to the session's extranonce1, extranonce2
// size and version mask: everything needed to turn shares into headers.
type Job struct {
	Notify
	Extranonce1     []byte
	Extranonce2Size int
	VersionMask     uint32 // 0 when version rolling is off
	Difficulty      float64
}

// Header builds the header for a share. With s.HasVersionBits the version
// is rolled under j.VersionMask (BIP 310 formula); bits outside the mask
// are an error.
func (j *Job) Header(s Submit) ([pow.HeaderSize]byte, error) {
	if len(s.Extranonce2) != j.Extranonce2Size {
		return [pow.HeaderSize]byte{}, fmt.Errorf("job %s: extranonce2 of %d bytes, want %d: %w",
			j.JobID, len(s.Extranonce2), j.Extranonce2Size, ErrExtranonce2Size)
	}
	version := j.Version
	if s.HasVersionBits {
		if s.VersionBits&^j.VersionMask != 0 {
			return [pow.HeaderSize]byte{}, fmt.Errorf("job %s: version bits %08x, mask %08x: %w",
				j.JobID, s.VersionBits, j.VersionMask, ErrVersionBits)
		}
		version = RollVersion(version, s.VersionBits, j.VersionMask)
	}
	root := MerkleRoot(j.Coinbase(j.Extranonce1, s.Extranonce2), j.MerkleBranch)
	return BuildHeader(version, PrevHashInternal(j.PrevHash), root, s.NTime, j.NBits, s.Nonce), nil
}
