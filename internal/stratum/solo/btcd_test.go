package solo_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/gridminer/gridminer/internal/bitcoin/live/btcdtest"
	"github.com/gridminer/gridminer/internal/bitcoin/live/node"
	"github.com/gridminer/gridminer/internal/stratum/solo"
)

// solver is a regtest key paying with P2WPKH, so that a block mined to it
// later yields a coinbase that a witness transaction can spend.
type solver struct {
	key  *btcec.PrivateKey
	addr address.Address
}

func newSolver(t *testing.T) solver {
	t.Helper()
	key, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{0x17}, 32))
	addr, err := address.NewAddressWitnessPubKeyHash(address.Hash160(key.PubKey().SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return solver{key: key, addr: addr}
}

type harness struct {
	n   *btcdtest.Node
	c   *node.Client
	src *solo.Source
	b   *solo.Builder
	who solver
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	n := btcdtest.Start(t)
	n.Generate(t, 1) // btcd serves templates once its chain is current
	c, err := node.New(node.Config{URL: n.URL, User: n.User, Password: n.Password, Network: "regtest"}, node.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := solo.NewSource(solo.SourceConfig{}, solo.SourceDeps{Node: c})
	if err != nil {
		t.Fatal(err)
	}
	who := newSolver(t)
	b, err := solo.NewBuilder(solo.BuilderConfig{Network: "regtest", PayTo: who.addr.EncodeAddress(), Extranonce1Size: 4, Extranonce2Size: 8, Tag: []byte("/gridminer/")})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{n: n, c: c, src: src, b: b, who: who}
}

// mine searches nonces until the header meets the job's target (regtest:
// about every second hash).
func mine(t *testing.T, j *solo.Job) *solo.Block {
	t.Helper()
	sol := solo.Solution{Extranonce1: []byte{1, 2, 3, 4}, Extranonce2: make([]byte, j.Extranonce2Size), Time: j.Time}
	for nonce := uint32(0); nonce < 1<<20; nonce++ {
		sol.Nonce = nonce
		blk, err := j.Assemble(sol)
		if err != nil {
			t.Fatal(err)
		}
		if blk.MeetsTarget {
			return blk
		}
	}
	t.Fatal("no nonce in 2^20 met the regtest target")
	return nil
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

type verboseBlock struct {
	Height int64      `json:"height"`
	Tx     []struct { // btcd names the verbose transactions rawtx
		TxID string     `json:"txid"`
		Hash string     `json:"hash"`
		Vout []struct { // in getblock's rawtx (btcd)
			Value        float64 `json:"value"`
			ScriptPubKey struct {
				Hex string `json:"hex"`
			} `json:"scriptPubKey"`
		} `json:"vout"`
	} `json:"rawtx"`
}

// checkAccepted checks that btcd's tip is blk, that its header is the one
// assembled and that its coinbase pays the builder's address.
func (h *harness) checkAccepted(t *testing.T, ctx context.Context, blk *solo.Block, wantTxs int) verboseBlock {
	t.Helper()
	if got := h.n.Height(t); got != blk.Height {
		t.Errorf("height after submit = %d, want %d", got, blk.Height)
	}
	var hdr string
	if err := h.n.Call(ctx, "getblockheader", []any{blk.Hash.String(), false}, &hdr); err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(blk.Header[:]); hdr != want {
		t.Errorf("getblockheader = %s, want %s", hdr, want)
	}
	var vb verboseBlock
	if err := h.n.Call(ctx, "getblock", []any{blk.Hash.String(), 2}, &vb); err != nil {
		t.Fatal(err)
	}
	if len(vb.Tx) != wantTxs {
		t.Fatalf("block has %d transactions, want %d", len(vb.Tx), wantTxs)
	}
	if got, want := vb.Tx[0].Vout[0].ScriptPubKey.Hex, hex.EncodeToString(h.b.PayToScript()); got != want {
		t.Errorf("coinbase pays %s, want %s (%s)", got, want, h.who.addr)
	}
	return vb
}

func TestMineBlockOnBtcd(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t)
	w, err := h.src.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if w.Height != 2 || w.Bits != 0x207fffff || w.CoinbaseValue != 50e8 || len(w.Transactions) != 0 {
		t.Fatalf("template height %d bits %08x value %d txs %d, want 2 207fffff 5000000000 0", w.Height, w.Bits, w.CoinbaseValue, len(w.Transactions))
	}
	j, err := h.b.Job("1", w, true)
	if err != nil {
		t.Fatal(err)
	}
	blk := mine(t, j)
	if err := solo.Submit(ctx, h.c, blk); err != nil {
		t.Fatalf("submit: %v", err)
	}
	h.checkAccepted(t, ctx, blk, 1)

	// Submitting it again is refused by the node.
	if err := solo.Submit(ctx, h.c, blk); !errors.Is(err, solo.ErrRejected) {
		t.Errorf("second submit = %v, want ErrRejected", err)
	}
}

func TestMineBlockWithFeeTxOnBtcd(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t)
	const fee = 12_345
	txid := h.n.SendFeeTx(t, fee)
	w, err := h.src.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Transactions) != 1 || w.Transactions[0].TxID.String() != txid || w.Transactions[0].Fee != fee {
		t.Fatalf("template transactions %+v, want %s paying %d", w.Transactions, txid, fee)
	}
	j, err := h.b.Job("fee", w, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(j.MerkleBranch) != 1 || j.MerkleBranch[0] != w.Transactions[0].TxID {
		t.Errorf("merkle branch %v, want [%s]", j.MerkleBranch, w.Transactions[0].TxID)
	}
	blk := mine(t, j)
	if err := solo.Submit(ctx, h.c, blk); err != nil {
		t.Fatalf("submit: %v", err)
	}
	vb := h.checkAccepted(t, ctx, blk, 2)
	if vb.Tx[1].TxID != txid {
		t.Errorf("block tx 1 = %s, want %s", vb.Tx[1].TxID, txid)
	}
	if got := int64(vb.Tx[0].Vout[0].Value*1e8 + 0.5); got != w.CoinbaseValue {
		t.Errorf("coinbase pays %d sats, want %d", got, w.CoinbaseValue)
	}
}

// TestMineWitnessBlockOnBtcd mines a block to a P2WPKH address, matures
// it, spends it with a witness transaction and mines that: the template
// then has witness data, so the block carries a witness commitment.
func TestMineWitnessBlockOnBtcd(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t)
	w, err := h.src.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j, err := h.b.Job("a", w, true)
	if err != nil {
		t.Fatal(err)
	}
	first := mine(t, j)
	if err := solo.Submit(ctx, h.c, first); err != nil {
		t.Fatal(err)
	}
	h.n.Generate(t, btcdtest.CoinbaseMaturity)

	// Spend our coinbase with a P2WPKH witness.
	cbTx, err := decodeCoinbase(first.Raw)
	if err != nil {
		t.Fatal(err)
	}
	prev := cbTx.TxHash()
	value := cbTx.TxOut[0].Value
	spend := wire.NewMsgTx(2)
	spend.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&prev, 0), nil, nil))
	spend.AddTxOut(wire.NewTxOut(value-20_000, h.b.PayToScript()))
	fetcher := txscript.NewCannedPrevOutputFetcher(cbTx.TxOut[0].PkScript, value)
	sigHashes := txscript.NewTxSigHashes(spend, fetcher)
	wit, err := txscript.WitnessSignature(spend, sigHashes, 0, value, cbTx.TxOut[0].PkScript, txscript.SigHashAll, h.who.key, true)
	if err != nil {
		t.Fatal(err)
	}
	spend.TxIn[0].Witness = wit
	var buf bytes.Buffer
	if err := spend.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	var txid string
	if err := h.n.Call(ctx, "sendrawtransaction", []any{hex.EncodeToString(buf.Bytes())}, &txid); err != nil {
		t.Fatal(err)
	}

	w, err = h.src.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Transactions) != 1 || !w.Transactions[0].HasWitness() {
		t.Fatalf("template has %d transactions (want 1 with witness)", len(w.Transactions))
	}
	t.Logf("btcd default_witness_commitment: %x", w.WitnessCommitment)
	// The commitment computed here must equal the node's.
	computed := *w
	computed.WitnessCommitment = nil
	jc, err := h.b.Job("computed", &computed, true)
	if err != nil {
		t.Fatal(err)
	}
	j, err = h.b.Job("b", w, true)
	if err != nil {
		t.Fatal(err)
	}
	if w.WitnessCommitment != nil && !bytes.Equal(jc.Coinb2, j.Coinb2) {
		t.Errorf("computed commitment differs from btcd's:\n computed coinb2 %x\n node     coinb2 %x", jc.Coinb2, j.Coinb2)
	}
	if !jc.CoinbaseWitness {
		t.Fatal("job for a witness template has no coinbase witness")
	}
	blk := mine(t, jc)
	var msg wire.MsgBlock
	if err := msg.Deserialize(bytes.NewReader(blk.Raw)); err != nil {
		t.Fatalf("assembled block does not decode: %v", err)
	}
	if !msg.Transactions[0].HasWitness() || !msg.Transactions[1].HasWitness() {
		t.Error("assembled block lost witness data")
	}
	if err := solo.Submit(ctx, h.c, blk); err != nil {
		t.Fatalf("submit: %v", err)
	}
	vb := h.checkAccepted(t, ctx, blk, 2)
	if vb.Tx[1].TxID != txid {
		t.Errorf("block tx 1 = %s, want %s", vb.Tx[1].TxID, txid)
	}
}

func decodeCoinbase(block []byte) (*wire.MsgTx, error) {
	var msg wire.MsgBlock
	if err := msg.Deserialize(bytes.NewReader(block)); err != nil {
		return nil, err
	}
	return msg.Transactions[0], nil
}

func TestStaleJobOnBtcd(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t)
	w, err := h.src.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j, err := h.b.Job("old", w, true)
	if err != nil {
		t.Fatal(err)
	}
	h.n.Generate(t, 1) // the tip moves on: the job is stale
	blk := mine(t, j)
	err = solo.Submit(ctx, h.c, blk)
	if !errors.Is(err, solo.ErrStale) && !errors.Is(err, solo.ErrRejected) {
		t.Fatalf("submit of a stale block = %v, want ErrStale or ErrRejected", err)
	}
	t.Logf("stale block: %v", err)
	var best string
	if err := h.n.Call(ctx, "getbestblockhash", nil, &best); err != nil {
		t.Fatal(err)
	}
	if best == blk.Hash.String() {
		t.Error("the stale block became the tip")
	}
}

func TestAboveTargetNotSent(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t)
	w, err := h.src.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j, err := h.b.Job("x", w, true)
	if err != nil {
		t.Fatal(err)
	}
	sol := solo.Solution{Extranonce1: make([]byte, 4), Extranonce2: make([]byte, 8), Time: j.Time}
	for ; ; sol.Nonce++ {
		blk, err := j.Assemble(sol)
		if err != nil {
			t.Fatal(err)
		}
		if !blk.MeetsTarget {
			if err := solo.Submit(ctx, h.c, blk); !errors.Is(err, solo.ErrAboveTarget) {
				t.Fatalf("submit above target = %v, want ErrAboveTarget", err)
			}
			break
		}
	}
	if got := h.n.Height(t); got != 1 {
		t.Errorf("height %d after a refused submit, want 1", got)
	}
}
