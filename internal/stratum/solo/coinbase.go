package solo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// Coinbase script limits (consensus: the scriptSig is 2 to 100 bytes).
const (
	minScriptSig = 2
	maxScriptSig = 100
	// MaxExtranonceSize bounds extranonce1 + extranonce2.
	MaxExtranonceSize = 32
)

// ErrBadConfig is wrapped by configuration errors of the builder.
var ErrBadConfig = errors.New("bad solo mining config")

// NetworkParams returns the chain parameters for a network name as Bitcoin
// Core or btcd spell it: main/mainnet, test/testnet3, testnet4, signet,
// regtest, simnet.
func NetworkParams(name string) (*chaincfg.Params, error) {
	switch strings.ToLower(name) {
	case "main", "mainnet":
		return &chaincfg.MainNetParams, nil
	case "test", "testnet", "testnet3":
		return &chaincfg.TestNet3Params, nil
	case "testnet4":
		return &chaincfg.TestNet4Params, nil
	case "signet":
		return &chaincfg.SigNetParams, nil
	case "regtest":
		return &chaincfg.RegressionNetParams, nil
	case "simnet":
		return &chaincfg.SimNetParams, nil
	}
	return nil, fmt.Errorf("network %q: want main, test, testnet4, signet, regtest or simnet: %w", name, ErrBadConfig)
}

// BuilderConfig configures the coinbase of every job.
type BuilderConfig struct {
	// Network names the chain (see NetworkParams); PayTo must be an
	// address of it.
	Network string
	// PayTo is the address the whole coinbase value goes to.
	PayTo string
	// Extranonce1Size and Extranonce2Size are the byte sizes of the two
	// extranonce parts (Stratum: extranonce1 per connection, extranonce2
	// rolled by the miner). Their sum is at most MaxExtranonceSize.
	Extranonce1Size, Extranonce2Size int
	// Tag is put in the coinbase scriptSig after the extranonce (for
	// example "/gridminer/"); it may be empty.
	Tag []byte
}

// Builder turns Work into Jobs with a coinbase paying one address. It is
// immutable and safe for concurrent use.
type Builder struct {
	params   *chaincfg.Params
	payTo    address.Address
	pkScript []byte
	en1, en2 int
	tag      []byte
}

// NewBuilder checks cfg: the address must decode for the network, the
// extranonce sizes must fit.
func NewBuilder(cfg BuilderConfig) (*Builder, error) {
	params, err := NetworkParams(cfg.Network)
	if err != nil {
		return nil, err
	}
	addr, err := address.DecodeAddress(cfg.PayTo, params)
	if err != nil {
		return nil, fmt.Errorf("pay_to %q: %w: %w", cfg.PayTo, ErrBadConfig, err)
	}
	if !addr.IsForNet(params) {
		return nil, fmt.Errorf("pay_to %q is not a %s address: %w", cfg.PayTo, params.Name, ErrBadConfig)
	}
	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		return nil, fmt.Errorf("pay_to %q: %w: %w", cfg.PayTo, ErrBadConfig, err)
	}
	switch {
	case cfg.Extranonce1Size < 0 || cfg.Extranonce2Size < 1:
		return nil, fmt.Errorf("extranonce sizes %d+%d: extranonce2 needs at least one byte: %w", cfg.Extranonce1Size, cfg.Extranonce2Size, ErrBadConfig)
	case cfg.Extranonce1Size+cfg.Extranonce2Size > MaxExtranonceSize:
		return nil, fmt.Errorf("extranonce sizes %d+%d exceed %d bytes: %w", cfg.Extranonce1Size, cfg.Extranonce2Size, MaxExtranonceSize, ErrBadConfig)
	}
	// Worst case scriptSig: a 6-byte height push, the extranonce push, the tag push.
	if n := 6 + 1 + cfg.Extranonce1Size + cfg.Extranonce2Size + pushSize(len(cfg.Tag)); n > maxScriptSig {
		return nil, fmt.Errorf("tag of %d bytes makes the coinbase scriptSig %d bytes, over %d: %w", len(cfg.Tag), n, maxScriptSig, ErrBadConfig)
	}
	return &Builder{
		params:   params,
		payTo:    addr,
		pkScript: script,
		en1:      cfg.Extranonce1Size,
		en2:      cfg.Extranonce2Size,
		tag:      bytes.Clone(cfg.Tag),
	}, nil
}

// PayToScript returns the coinbase output script.
func (b *Builder) PayToScript() []byte { return bytes.Clone(b.pkScript) }

// Params returns the chain parameters the builder was configured for.
func (b *Builder) Params() *chaincfg.Params { return b.params }

// pushSize is the size of a minimal data push of n bytes (n <= 75: one
// length byte; no tag needs more).
func pushSize(n int) int {
	switch {
	case n == 0:
		return 0
	case n <= 75:
		return 1 + n
	case n <= 255:
		return 2 + n
	}
	return 3 + n
}

// appendPush appends a minimal push of data.
func appendPush(dst, data []byte) []byte {
	switch n := len(data); {
	case n <= 75:
		dst = append(dst, byte(n))
	case n <= 255:
		dst = append(dst, txscript.OP_PUSHDATA1, byte(n))
	default:
		dst = append(dst, txscript.OP_PUSHDATA2, byte(n), byte(n>>8))
	}
	return append(dst, data...)
}

// HeightScript returns the BIP 34 height push that starts a coinbase
// scriptSig, as Bitcoin Core writes it (CScript() << height): OP_0 for 0,
// OP_1..OP_16 for 1 to 16, else a minimal little-endian script number
// (with a sign byte when the top bit is set).
func HeightScript(height int64) []byte {
	switch {
	case height == 0:
		return []byte{txscript.OP_0}
	case height >= 1 && height <= 16:
		return []byte{byte(txscript.OP_1 - 1 + height)}
	}
	var num []byte
	for v := height; v > 0; v >>= 8 {
		num = append(num, byte(v))
	}
	if num[len(num)-1]&0x80 != 0 {
		num = append(num, 0)
	}
	return appendPush(nil, num)
}

// coinbaseParts builds the coinbase without witness, split around the
// extranonce: prefix is the bytes up to the extranonce, suffix the rest.
func (b *Builder) coinbaseParts(w *Work, commitment []byte) (prefix, suffix []byte, err error) {
	en := b.en1 + b.en2
	scriptSig := HeightScript(w.Height)
	scriptSig = append(scriptSig, byte(en)) // push opcode of the extranonce
	extranonceAt := len(scriptSig)
	scriptSig = append(scriptSig, make([]byte, en)...)
	if len(b.tag) > 0 {
		scriptSig = appendPush(scriptSig, b.tag)
	}
	if len(scriptSig) < minScriptSig || len(scriptSig) > maxScriptSig {
		return nil, nil, fmt.Errorf("coinbase scriptSig of %d bytes: %w", len(scriptSig), ErrBadConfig)
	}
	tx := wire.NewMsgTx(1)
	tx.AddTxIn(&wire.TxIn{
		PreviousOutPoint: wire.OutPoint{Index: wire.MaxPrevOutIndex},
		SignatureScript:  scriptSig,
		Sequence:         wire.MaxTxInSequenceNum,
	})
	tx.AddTxOut(wire.NewTxOut(w.CoinbaseValue, b.pkScript))
	if commitment != nil {
		tx.AddTxOut(wire.NewTxOut(0, commitment))
	}
	var buf bytes.Buffer
	if err := tx.SerializeNoWitness(&buf); err != nil {
		return nil, nil, fmt.Errorf("serialize coinbase: %w", err)
	}
	raw := buf.Bytes()
	// version(4) | input count(1) | outpoint(36) | script length(varint) | scriptSig...
	at := 4 + 1 + 36 + wire.VarIntSerializeSize(uint64(len(scriptSig))) + extranonceAt
	return bytes.Clone(raw[:at]), bytes.Clone(raw[at+en:]), nil
}

// witnessCommitmentScript returns the commitment output script for w:
// the node's default_witness_commitment when it sent one, else one
// computed from the transactions' wtxids when any has witness data, else
// nil (no commitment, no coinbase witness).
func witnessCommitmentScript(w *Work) []byte {
	if w.WitnessCommitment != nil {
		return bytes.Clone(w.WitnessCommitment)
	}
	if !w.HasWitness() {
		return nil
	}
	wtxids := make([]chainhash.Hash, 1, len(w.Transactions)+1) // the coinbase's wtxid counts as zero
	for _, t := range w.Transactions {
		wtxids = append(wtxids, t.WTxID)
	}
	root := MerkleRoot(wtxids)
	var reserved [32]byte // the witness reserved value the coinbase carries
	c := sha256d(append(root[:], reserved[:]...))
	return append([]byte{txscript.OP_RETURN, 0x24, 0xaa, 0x21, 0xa9, 0xed}, c[:]...)
}

// Job builds the Stratum job for w with the given id. clean tells miners
// to drop earlier jobs (set it when the previous block hash changed).
func (b *Builder) Job(id string, w *Work, clean bool) (*Job, error) {
	commitment := witnessCommitmentScript(w)
	prefix, suffix, err := b.coinbaseParts(w, commitment)
	if err != nil {
		return nil, fmt.Errorf("job %s at height %d: %w", id, w.Height, err)
	}
	txids := make([]chainhash.Hash, len(w.Transactions))
	txs := make([][]byte, len(w.Transactions))
	for i, t := range w.Transactions {
		txids[i], txs[i] = t.TxID, t.Data
	}
	return &Job{
		ID:              id,
		Height:          w.Height,
		PrevHash:        w.PrevHash,
		Coinb1:          prefix,
		Coinb2:          suffix,
		MerkleBranch:    MerkleBranch(txids),
		Version:         w.Version,
		Bits:            w.Bits,
		Time:            w.CurTime,
		MinTime:         w.MinTime,
		Clean:           clean,
		Extranonce1Size: b.en1,
		Extranonce2Size: b.en2,
		Target:          w.Target,
		CoinbaseWitness: commitment != nil,
		Transactions:    txs,
	}, nil
}

// le32 appends v little-endian.
func le32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }
