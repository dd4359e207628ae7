package node

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/gridminer/gridminer/internal/bitcoin"
)

// rawJSON is a JSON-RPC result kept undecoded for the parsers below.
type rawJSON = json.RawMessage

// maxMoneySats is the most satoshis that can ever exist (21 million BTC);
// any single fee, coinbase value or fee total above it is malformed.
const maxMoneySats = 21_000_000 * bitcoin.SatsPerBTC

// maxHeight bounds block heights read from the network: far above any real
// height, far below overflow.
const maxHeight = 1 << 40

// ChainInfo is the part of getblockchaininfo the package uses.
type ChainInfo struct {
	Chain         string // main, test, regtest, ... (btcd: mainnet, testnet3, simnet, regtest)
	Blocks        int64  // height of the best validated block
	Headers       int64  // height of the best known header (btcd: same as Blocks)
	BestBlockHash string
	// Difficulty is the best block's difficulty. The next block has the
	// same difficulty except when it starts a new 2016-block period, so
	// for the last block of a period (about ten minutes in two weeks)
	// this is the outgoing period's value.
	Difficulty float64
	// InitialBlockDownload is Bitcoin Core's flag; btcd does not send it.
	InitialBlockDownload bool
}

type wireChainInfo struct {
	Chain                string   `json:"chain"`
	Blocks               *int64   `json:"blocks"`
	Headers              int64    `json:"headers"`
	BestBlockHash        string   `json:"bestblockhash"`
	Difficulty           *float64 `json:"difficulty"`
	InitialBlockDownload bool     `json:"initialblockdownload"`
}

// ParseChainInfo parses a getblockchaininfo result. It requires chain,
// blocks and a finite positive difficulty.
func ParseChainInfo(raw []byte) (ChainInfo, error) {
	var w wireChainInfo
	if err := json.Unmarshal(raw, &w); err != nil {
		return ChainInfo{}, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	switch {
	case w.Chain == "":
		return ChainInfo{}, fmt.Errorf("no chain: %w", ErrBadResponse)
	case w.Blocks == nil:
		return ChainInfo{}, fmt.Errorf("no blocks: %w", ErrBadResponse)
	case *w.Blocks < 0 || *w.Blocks > maxHeight:
		return ChainInfo{}, fmt.Errorf("blocks %d out of range: %w", *w.Blocks, ErrBadResponse)
	case w.Difficulty == nil:
		return ChainInfo{}, fmt.Errorf("no difficulty: %w", ErrBadResponse)
	case !(*w.Difficulty > 0) || math.IsInf(*w.Difficulty, 0):
		return ChainInfo{}, fmt.Errorf("difficulty %v must be finite and positive: %w", *w.Difficulty, ErrBadResponse)
	}
	return ChainInfo{
		Chain:                w.Chain,
		Blocks:               *w.Blocks,
		Headers:              max(w.Headers, *w.Blocks),
		BestBlockHash:        w.BestBlockHash,
		Difficulty:           *w.Difficulty,
		InitialBlockDownload: w.InitialBlockDownload,
	}, nil
}

// Template is the part of a getblocktemplate result the package uses.
type Template struct {
	Height            int64 // height of the block to mine (tip + 1)
	PreviousBlockHash string
	Bits              string
	CurTime           int64
	Transactions      int // transactions besides the coinbase
	// TxFeesSats sums the transactions' fee fields; AllFeesKnown is false
	// when some transaction left its (optional, BIP 22) fee out.
	TxFeesSats   int64
	AllFeesKnown bool
	// CoinbaseValue is subsidy plus fees in satoshis, when the node sent
	// it (HasCoinbaseValue).
	CoinbaseValue    int64
	HasCoinbaseValue bool
}

type wireTemplate struct {
	Height            *int64 `json:"height"`
	PreviousBlockHash string `json:"previousblockhash"`
	Bits              string `json:"bits"`
	CurTime           int64  `json:"curtime"`
	CoinbaseValue     *int64 `json:"coinbasevalue"`
	Transactions      []struct {
		Fee *int64 `json:"fee"`
	} `json:"transactions"`
}

// ParseTemplate parses a getblocktemplate result. Heights, fees and the
// coinbase value must be in range.
func ParseTemplate(raw []byte) (Template, error) {
	var w wireTemplate
	if err := json.Unmarshal(raw, &w); err != nil {
		return Template{}, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	if w.Height == nil {
		return Template{}, fmt.Errorf("no height: %w", ErrBadResponse)
	}
	if *w.Height < 1 || *w.Height > maxHeight {
		return Template{}, fmt.Errorf("height %d out of range: %w", *w.Height, ErrBadResponse)
	}
	t := Template{
		Height:            *w.Height,
		PreviousBlockHash: w.PreviousBlockHash,
		Bits:              w.Bits,
		CurTime:           w.CurTime,
		Transactions:      len(w.Transactions),
		AllFeesKnown:      true,
	}
	for i, tx := range w.Transactions {
		if tx.Fee == nil {
			t.AllFeesKnown = false
			continue
		}
		if *tx.Fee < 0 || *tx.Fee > maxMoneySats {
			return Template{}, fmt.Errorf("transaction %d: fee %d out of range: %w", i, *tx.Fee, ErrBadResponse)
		}
		t.TxFeesSats += *tx.Fee
		if t.TxFeesSats > maxMoneySats {
			return Template{}, fmt.Errorf("fees exceed 21 million BTC: %w", ErrBadResponse)
		}
	}
	if w.CoinbaseValue != nil {
		if *w.CoinbaseValue < 0 || *w.CoinbaseValue > maxMoneySats {
			return Template{}, fmt.Errorf("coinbasevalue %d out of range: %w", *w.CoinbaseValue, ErrBadResponse)
		}
		t.CoinbaseValue, t.HasCoinbaseValue = *w.CoinbaseValue, true
	}
	return t, nil
}

// FeesSats returns the template's transaction fees in satoshis: the sum
// of the transactions' fee fields, which holds on every network. When a
// transaction lacks its fee it falls back to coinbasevalue minus the
// mainnet subsidy at the template's height (wrong on test networks whose
// halving schedule differs, such as regtest's 150 blocks).
func (t Template) FeesSats() (int64, error) {
	if t.AllFeesKnown {
		return t.TxFeesSats, nil
	}
	if !t.HasCoinbaseValue {
		return 0, fmt.Errorf("transactions without fee and no coinbasevalue: %w", ErrBadResponse)
	}
	fees := t.CoinbaseValue - bitcoin.SubsidySats(t.Height)
	if fees < 0 {
		return 0, fmt.Errorf("coinbasevalue %d is below the subsidy at height %d: %w", t.CoinbaseValue, t.Height, ErrBadResponse)
	}
	return fees, nil
}

// BlockStats is the part of a getblockstats result the package asks for.
type BlockStats struct {
	Height       int64
	TotalFeeSats int64
}

type wireBlockStats struct {
	Height   *int64 `json:"height"`
	TotalFee *int64 `json:"totalfee"`
}

// ParseBlockStats parses a getblockstats result that includes height and
// totalfee.
func ParseBlockStats(raw []byte) (BlockStats, error) {
	var w wireBlockStats
	if err := json.Unmarshal(raw, &w); err != nil {
		return BlockStats{}, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	switch {
	case w.Height == nil || w.TotalFee == nil:
		return BlockStats{}, fmt.Errorf("want height and totalfee: %w", ErrBadResponse)
	case *w.Height < 0 || *w.Height > maxHeight:
		return BlockStats{}, fmt.Errorf("height %d out of range: %w", *w.Height, ErrBadResponse)
	case *w.TotalFee < 0 || *w.TotalFee > maxMoneySats:
		return BlockStats{}, fmt.Errorf("totalfee %d out of range: %w", *w.TotalFee, ErrBadResponse)
	}
	return BlockStats{Height: *w.Height, TotalFeeSats: *w.TotalFee}, nil
}
