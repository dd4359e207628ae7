package solo

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// ErrBadSubmission is wrapped when a solution does not fit its job
// (extranonce sizes, version bits outside the mask).
var ErrBadSubmission = errors.New("bad submission")

// Job is one unit of work for miners: a Stratum mining.notify and what
// is needed to turn a solution back into a block.
type Job struct {
	ID     string
	Height int64
	// PrevHash is the previous block hash in internal byte order.
	PrevHash chainhash.Hash
	// Coinb1 and Coinb2 are the coinbase, serialized without witness, up
	// to the extranonce and after it: coinbase = Coinb1 | extranonce1 |
	// extranonce2 | Coinb2.
	Coinb1, Coinb2 []byte
	// MerkleBranch is the coinbase's sibling hashes, internal order, from
	// the bottom of the tree up.
	MerkleBranch []chainhash.Hash
	Version      uint32
	Bits         uint32
	Time         uint32 // the template's curtime: the job's ntime
	MinTime      uint32
	Clean        bool

	Extranonce1Size, Extranonce2Size int
	// Target is the network target of Bits.
	Target *big.Int
	// CoinbaseWitness is set when the coinbase carries a witness
	// commitment: the block then has the coinbase's witness (the 32-byte
	// zero reserved value) and is serialized per BIP 144.
	CoinbaseWitness bool
	// Transactions are the template's transactions as the node sent them.
	Transactions [][]byte
}

// Solution is what a miner found for a job.
type Solution struct {
	Extranonce1, Extranonce2 []byte
	Time, Nonce              uint32
	// Version is the header's nVersion; 0 means the job's version. With
	// version rolling the caller computes it (see RollVersion).
	Version uint32
}

// Block is an assembled block.
type Block struct {
	Header [80]byte
	// Hash is sha256d(Header), internal byte order (Hash.String() gives
	// the display form).
	Hash chainhash.Hash
	// Raw is the serialized block (BIP 144 when it carries witness data).
	Raw []byte
	// MeetsTarget reports whether Hash is at or below the network target.
	MeetsTarget bool
	Height      int64
	PrevHash    chainhash.Hash
}

// Coinbase returns the coinbase transaction serialized without witness
// (what its txid hashes).
func (j *Job) Coinbase(extranonce1, extranonce2 []byte) ([]byte, error) {
	if len(extranonce1) != j.Extranonce1Size || len(extranonce2) != j.Extranonce2Size {
		return nil, fmt.Errorf("job %s: extranonce of %d+%d bytes, want %d+%d: %w",
			j.ID, len(extranonce1), len(extranonce2), j.Extranonce1Size, j.Extranonce2Size, ErrBadSubmission)
	}
	cb := make([]byte, 0, len(j.Coinb1)+len(extranonce1)+len(extranonce2)+len(j.Coinb2))
	cb = append(cb, j.Coinb1...)
	cb = append(cb, extranonce1...)
	cb = append(cb, extranonce2...)
	return append(cb, j.Coinb2...), nil
}

// MerkleRootFor folds the coinbase txid up the branch.
func (j *Job) MerkleRootFor(coinbaseTxID chainhash.Hash) chainhash.Hash {
	root := coinbaseTxID
	var buf [64]byte
	for _, b := range j.MerkleBranch {
		copy(buf[:32], root[:])
		copy(buf[32:], b[:])
		root = sha256d(buf[:])
	}
	return root
}

// Header returns the 80-byte header for a solution and the coinbase
// (without witness) it commits to.
func (j *Job) Header(s Solution) (header [80]byte, coinbase []byte, err error) {
	coinbase, err = j.Coinbase(s.Extranonce1, s.Extranonce2)
	if err != nil {
		return header, nil, err
	}
	root := j.MerkleRootFor(sha256d(coinbase))
	version := s.Version
	if version == 0 {
		version = j.Version
	}
	h := le32(header[:0], version)
	h = append(h, j.PrevHash[:]...)
	h = append(h, root[:]...)
	h = le32(h, s.Time)
	h = le32(h, j.Bits)
	le32(h, s.Nonce)
	return header, coinbase, nil
}

// Assemble builds the full block for a solution: header, the coinbase
// (with its witness reserved value when the job has a witness
// commitment) and the template's transactions.
func (j *Job) Assemble(s Solution) (*Block, error) {
	header, coinbase, err := j.Header(s)
	if err != nil {
		return nil, err
	}
	if j.CoinbaseWitness {
		if coinbase, err = addCoinbaseWitness(coinbase); err != nil {
			return nil, fmt.Errorf("job %s: %w", j.ID, err)
		}
	}
	size := 80 + 9 + len(coinbase)
	for _, t := range j.Transactions {
		size += len(t)
	}
	raw := make([]byte, 0, size)
	raw = append(raw, header[:]...)
	raw = appendVarInt(raw, uint64(1+len(j.Transactions)))
	raw = append(raw, coinbase...)
	for _, t := range j.Transactions {
		raw = append(raw, t...)
	}
	hash := sha256d(header[:])
	return &Block{
		Header:      header,
		Hash:        hash,
		Raw:         raw,
		MeetsTarget: j.Target != nil && HashMeetsTarget(hash, j.Target),
		Height:      j.Height,
		PrevHash:    j.PrevHash,
	}, nil
}

// addCoinbaseWitness re-serializes a coinbase (no witness) with the BIP
// 141 witness reserved value (one 32-byte zero item) as its witness.
func addCoinbaseWitness(coinbase []byte) ([]byte, error) {
	var tx wire.MsgTx
	if err := tx.DeserializeNoWitness(bytes.NewReader(coinbase)); err != nil {
		return nil, fmt.Errorf("decode coinbase: %w", err)
	}
	if len(tx.TxIn) != 1 {
		return nil, fmt.Errorf("coinbase has %d inputs, want 1", len(tx.TxIn))
	}
	tx.TxIn[0].Witness = wire.TxWitness{make([]byte, 32)}
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		return nil, fmt.Errorf("serialize coinbase: %w", err)
	}
	return buf.Bytes(), nil
}

// RollVersion applies BIP 310 version rolling: the bits of versionBits
// inside mask replace the job version's. Bits outside the mask are an
// error.
func RollVersion(jobVersion, versionBits, mask uint32) (uint32, error) {
	if versionBits&^mask != 0 {
		return 0, fmt.Errorf("version bits %08x outside mask %08x: %w", versionBits, mask, ErrBadSubmission)
	}
	return jobVersion&^mask | versionBits&mask, nil
}

// StratumPrevHash returns the previous block hash as mining.notify sends
// it: internal byte order with each 4-byte word byte-reversed, in hex.
func (j *Job) StratumPrevHash() string {
	var b [32]byte
	for i := 0; i < 32; i += 4 {
		binary.BigEndian.PutUint32(b[i:], binary.LittleEndian.Uint32(j.PrevHash[i:]))
	}
	return hex.EncodeToString(b[:])
}

// NotifyParams returns the mining.notify params for the job: [job_id,
// prevhash, coinb1, coinb2, merkle_branch, version, nbits, ntime,
// clean_jobs], hex strings as Stratum V1 sends them.
func (j *Job) NotifyParams() []any {
	branch := make([]string, len(j.MerkleBranch))
	for i, h := range j.MerkleBranch {
		branch[i] = hex.EncodeToString(h[:])
	}
	return []any{
		j.ID,
		j.StratumPrevHash(),
		hex.EncodeToString(j.Coinb1),
		hex.EncodeToString(j.Coinb2),
		branch,
		fmt.Sprintf("%08x", j.Version),
		fmt.Sprintf("%08x", j.Bits),
		fmt.Sprintf("%08x", j.Time),
		j.Clean,
	}
}

// MerkleBranch returns the coinbase's merkle branch for a block whose
// other transactions have txids (internal order, block order).
func MerkleBranch(txids []chainhash.Hash) []chainhash.Hash {
	var branch []chainhash.Hash
	level := txids // the level below, without its first element (the coinbase path)
	for len(level) > 0 {
		branch = append(branch, level[0])
		rest := level[1:]
		next := make([]chainhash.Hash, 0, (len(rest)+1)/2)
		var buf [64]byte
		for i := 0; i < len(rest); i += 2 {
			copy(buf[:32], rest[i][:])
			if i+1 < len(rest) {
				copy(buf[32:], rest[i+1][:])
			} else {
				copy(buf[32:], rest[i][:]) // odd count: pair the last with itself
			}
			next = append(next, sha256d(buf[:]))
		}
		level = next
	}
	return branch
}

// MerkleRoot computes the merkle root of hashes (internal order), Bitcoin
// style: an odd level pairs its last hash with itself.
func MerkleRoot(hashes []chainhash.Hash) chainhash.Hash {
	if len(hashes) == 0 {
		return chainhash.Hash{}
	}
	level := append([]chainhash.Hash(nil), hashes...)
	var buf [64]byte
	for len(level) > 1 {
		if len(level)%2 == 1 {
			level = append(level, level[len(level)-1])
		}
		next := level[:0]
		for i := 0; i < len(level); i += 2 {
			copy(buf[:32], level[i][:])
			copy(buf[32:], level[i+1][:])
			next = append(next, sha256d(buf[:]))
		}
		level = next
	}
	return level[0]
}

// sha256d is SHA-256 applied twice.
func sha256d(b []byte) chainhash.Hash {
	first := sha256.Sum256(b)
	return sha256.Sum256(first[:])
}

// appendVarInt appends a Bitcoin CompactSize integer.
func appendVarInt(dst []byte, v uint64) []byte {
	switch {
	case v < 0xfd:
		return append(dst, byte(v))
	case v <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(dst, 0xfd), uint16(v))
	case v <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(dst, 0xfe), uint32(v))
	}
	return binary.LittleEndian.AppendUint64(append(dst, 0xff), v)
}
