package solo

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// ErrBadTemplate is wrapped by errors about a getblocktemplate result that
// is malformed or incomplete.
var ErrBadTemplate = errors.New("bad block template")

// ErrUnsupportedRule is wrapped when a template carries a rule this package
// must understand (BIP 9: a "!" prefix) but does not.
var ErrUnsupportedRule = errors.New("unsupported template rule")

// maxMoneySats is 21 million BTC in satoshis.
const maxMoneySats = 21_000_000 * 100_000_000

// maxHeight bounds heights read from the network.
const maxHeight = 1 << 31

// knownRule reports whether this package follows a BIP 9 deployment's
// block rules: csv and taproot change nothing in how a block is built,
// segwit needs the witness commitment.
func knownRule(name string) bool {
	switch name {
	case "csv", "segwit", "taproot", "testdummy":
		return true
	}
	return false
}

// TemplateTx is one transaction of a template (everything but the coinbase).
type TemplateTx struct {
	// Data is the transaction as the node serialized it: BIP 144 (with
	// witness) when it has witness data.
	Data []byte
	// TxID and WTxID are in internal byte order (as in the merkle tree),
	// computed from Data and checked against the template's txid and
	// hash fields when those are present.
	TxID, WTxID chainhash.Hash
	// Fee in satoshis, -1 when the template left it out.
	Fee int64
}

// HasWitness reports whether the transaction carries witness data.
func (t TemplateTx) HasWitness() bool { return t.TxID != t.WTxID }

// Work is one block template: what the next block must build on and
// may contain.
type Work struct {
	Height   int64
	PrevHash chainhash.Hash // internal byte order
	Version  uint32
	Bits     uint32
	Target   *big.Int // from Bits; do not modify
	CurTime  uint32
	MinTime  uint32 // 0 when absent
	// CoinbaseValue is subsidy plus fees in satoshis: what the coinbase may pay.
	CoinbaseValue int64
	Transactions  []TemplateTx
	// WitnessCommitment is the commitment output script from the node's
	// default_witness_commitment (OP_RETURN aa21a9ed...), nil when absent.
	// Bitcoin Core sends the script; btcd sends only the 32-byte
	// commitment, which is wrapped into the script here.
	WitnessCommitment []byte
	Rules             []string
	LongPollID        string
	// Fetched is when the template was read, on the source's clock.
	Fetched time.Time
}

// wireTemplate is the JSON of a getblocktemplate result, the fields used.
type wireTemplate struct {
	Height            *int64   `json:"height"`
	PreviousBlockHash string   `json:"previousblockhash"`
	Version           *int64   `json:"version"`
	Bits              string   `json:"bits"`
	Target            string   `json:"target"`
	CurTime           *int64   `json:"curtime"`
	MinTime           int64    `json:"mintime"`
	CoinbaseValue     *int64   `json:"coinbasevalue"`
	Rules             []string `json:"rules"`
	LongPollID        string   `json:"longpollid"`
	DefaultCommitment string   `json:"default_witness_commitment"`
	Transactions      []struct {
		Data string `json:"data"`
		TxID string `json:"txid"`
		Hash string `json:"hash"`
		Fee  *int64 `json:"fee"`
	} `json:"transactions"`
}

// ParseWork parses a getblocktemplate result. It requires height,
// previousblockhash, version, bits, curtime and coinbasevalue, rejects
// rules it must understand but does not, decodes every transaction and
// checks its txid and hash, and checks target against bits when present.
func ParseWork(raw []byte) (*Work, error) {
	var t wireTemplate
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadTemplate, err)
	}
	switch {
	case t.Height == nil:
		return nil, fmt.Errorf("no height: %w", ErrBadTemplate)
	case *t.Height < 1 || *t.Height > maxHeight:
		return nil, fmt.Errorf("height %d out of range: %w", *t.Height, ErrBadTemplate)
	case t.Version == nil:
		return nil, fmt.Errorf("no version: %w", ErrBadTemplate)
	case *t.Version < 0 || *t.Version > 0xffffffff:
		return nil, fmt.Errorf("version %d out of range: %w", *t.Version, ErrBadTemplate)
	case t.CurTime == nil:
		return nil, fmt.Errorf("no curtime: %w", ErrBadTemplate)
	case *t.CurTime < 0 || *t.CurTime > 0xffffffff || t.MinTime < 0 || t.MinTime > 0xffffffff:
		return nil, fmt.Errorf("curtime %d or mintime %d out of range: %w", *t.CurTime, t.MinTime, ErrBadTemplate)
	case t.CoinbaseValue == nil:
		return nil, fmt.Errorf("no coinbasevalue (ask with capabilities [\"coinbasevalue\"]): %w", ErrBadTemplate)
	case *t.CoinbaseValue < 0 || *t.CoinbaseValue > maxMoneySats:
		return nil, fmt.Errorf("coinbasevalue %d out of range: %w", *t.CoinbaseValue, ErrBadTemplate)
	}
	for _, r := range t.Rules {
		if name, must := strings.CutPrefix(r, "!"); must && !knownRule(name) {
			return nil, fmt.Errorf("rule %q: %w", r, ErrUnsupportedRule)
		}
	}
	w := &Work{
		Height:        *t.Height,
		Version:       uint32(*t.Version),
		CurTime:       uint32(*t.CurTime),
		MinTime:       uint32(t.MinTime),
		CoinbaseValue: *t.CoinbaseValue,
		Rules:         t.Rules,
		LongPollID:    t.LongPollID,
	}
	if err := decodeDisplayHash(&w.PrevHash, t.PreviousBlockHash); err != nil {
		return nil, fmt.Errorf("previousblockhash: %w", err)
	}
	bits, err := parseHex32(t.Bits)
	if err != nil {
		return nil, fmt.Errorf("bits: %w", err)
	}
	w.Bits = bits
	if w.Target, err = CompactToTarget(bits); err != nil {
		return nil, fmt.Errorf("bits %08x: %w", bits, err)
	}
	if t.Target != "" {
		var th chainhash.Hash
		if err := decodeDisplayHash(&th, t.Target); err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
		if got := hashToBig(th); got.Cmp(w.Target) != 0 {
			return nil, fmt.Errorf("target %s does not match bits %08x: %w", t.Target, bits, ErrBadTemplate)
		}
	}
	if t.DefaultCommitment != "" {
		c, err := hex.DecodeString(t.DefaultCommitment)
		if err == nil && len(c) == 32 { // btcd: the bare commitment hash
			c = append([]byte{0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed}, c...)
		}
		if err != nil || !isWitnessCommitment(c) {
			return nil, fmt.Errorf("default_witness_commitment %q is not an OP_RETURN aa21a9ed commitment: %w", t.DefaultCommitment, ErrBadTemplate)
		}
		w.WitnessCommitment = c
	}
	var sum int64
	for i, tt := range t.Transactions {
		data, err := hex.DecodeString(tt.Data)
		if err != nil || len(data) == 0 {
			return nil, fmt.Errorf("transaction %d: data is not hex: %w", i, ErrBadTemplate)
		}
		var tx wire.MsgTx
		r := bytes.NewReader(data)
		if err := tx.Deserialize(r); err != nil {
			return nil, fmt.Errorf("transaction %d: %w: %w", i, ErrBadTemplate, err)
		}
		if r.Len() != 0 {
			return nil, fmt.Errorf("transaction %d: %d bytes after the transaction: %w", i, r.Len(), ErrBadTemplate)
		}
		x := TemplateTx{Data: data, TxID: tx.TxHash(), WTxID: tx.WitnessHash(), Fee: -1}
		if tt.TxID != "" && tt.TxID != x.TxID.String() {
			return nil, fmt.Errorf("transaction %d: txid %s, data hashes to %s: %w", i, tt.TxID, x.TxID, ErrBadTemplate)
		}
		if tt.Hash != "" && tt.Hash != x.WTxID.String() {
			return nil, fmt.Errorf("transaction %d: hash %s, data hashes to %s: %w", i, tt.Hash, x.WTxID, ErrBadTemplate)
		}
		if tt.Fee != nil {
			if *tt.Fee < 0 || *tt.Fee > maxMoneySats {
				return nil, fmt.Errorf("transaction %d: fee %d out of range: %w", i, *tt.Fee, ErrBadTemplate)
			}
			x.Fee = *tt.Fee
			if sum += x.Fee; sum > maxMoneySats {
				return nil, fmt.Errorf("fees exceed 21 million BTC: %w", ErrBadTemplate)
			}
		}
		w.Transactions = append(w.Transactions, x)
	}
	return w, nil
}

// HasWitness reports whether any template transaction carries witness data.
func (w *Work) HasWitness() bool {
	for _, t := range w.Transactions {
		if t.HasWitness() {
			return true
		}
	}
	return false
}

// decodeDisplayHash reads a 64-digit hash in display (RPC) order into
// internal order.
func decodeDisplayHash(dst *chainhash.Hash, s string) error {
	if len(s) != 2*chainhash.HashSize {
		return fmt.Errorf("%q is not a 64-digit hash: %w", s, ErrBadTemplate)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("%q is not hex: %w", s, ErrBadTemplate)
	}
	for i := range b {
		dst[i] = b[len(b)-1-i]
	}
	return nil
}

// parseHex32 reads exactly 8 hex digits as a big-endian uint32.
func parseHex32(s string) (uint32, error) {
	if len(s) != 8 {
		return 0, fmt.Errorf("%q is not 8 hex digits: %w", s, ErrBadTemplate)
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not 8 hex digits: %w", s, ErrBadTemplate)
	}
	return uint32(v), nil
}

// CompactToTarget expands nBits into the target it encodes. Negative,
// zero and overflowing encodings are errors.
func CompactToTarget(bits uint32) (*big.Int, error) {
	exp := uint(bits >> 24)
	mant := int64(bits & 0x007fffff)
	if bits&0x00800000 != 0 {
		return nil, fmt.Errorf("negative compact target: %w", ErrBadTemplate)
	}
	t := big.NewInt(mant)
	if exp <= 3 {
		t.Rsh(t, 8*(3-exp))
	} else {
		t.Lsh(t, 8*(exp-3))
	}
	if t.Sign() == 0 {
		return nil, fmt.Errorf("zero target: %w", ErrBadTemplate)
	}
	if t.BitLen() > 256 {
		return nil, fmt.Errorf("target overflows 256 bits: %w", ErrBadTemplate)
	}
	return t, nil
}

// hashToBig reads a hash in internal (little-endian) order as a number.
func hashToBig(h chainhash.Hash) *big.Int {
	var be [chainhash.HashSize]byte
	for i := range h {
		be[i] = h[len(h)-1-i]
	}
	return new(big.Int).SetBytes(be[:])
}

// HashMeetsTarget reports whether a block hash (internal order) is at or
// below target.
func HashMeetsTarget(h chainhash.Hash, target *big.Int) bool {
	return hashToBig(h).Cmp(target) <= 0
}

// isWitnessCommitment reports whether script is a BIP 141 commitment
// output script: OP_RETURN, a 36-byte push of aa21a9ed and 32 bytes
// (anything after is allowed by BIP 141; templates send exactly this).
func isWitnessCommitment(script []byte) bool {
	return len(script) >= 38 && script[0] == 0x6a && script[1] == 0x24 && script[2] == 0xaa && script[3] == 0x21 && script[4] == 0xa9 && script[5] == 0xed
}
