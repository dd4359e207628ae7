package solo

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gridminer/gridminer/internal/bitcoin/live/node"
)

// Sentinel errors of Submit.
var (
	// ErrAboveTarget: the header hash does not meet the network target;
	// the block was not sent.
	ErrAboveTarget = errors.New("block hash above the network target")
	// ErrRejected: the node refused the block (see RejectedError).
	ErrRejected = errors.New("block rejected by the node")
	// ErrStale: the node stored the block but it is not on its best
	// chain (it was built on an earlier tip).
	ErrStale = errors.New("block is stale")
)

// RejectedError carries the node's reason for refusing a block
// (submitblock's string result, such as "duplicate", "inconclusive",
// "bad-prevblk" or btcd's "rejected: ..."). It wraps ErrRejected.
type RejectedError struct {
	Hash   string
	Reason string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("block %s rejected: %s", e.Hash, e.Reason)
}

func (e *RejectedError) Unwrap() error { return ErrRejected }

// Submit checks the block's hash against the network target and sends it
// with submitblock. A null result means accepted: Submit then confirms
// with getblockheader that the block is on the node's best chain
// (ErrStale when it is not). A string result is a *RejectedError.
func Submit(ctx context.Context, c Caller, b *Block) error {
	hash := b.Hash.String()
	if !b.MeetsTarget {
		return fmt.Errorf("solo: submit block %s at height %d: %w", hash, b.Height, ErrAboveTarget)
	}
	var res json.RawMessage
	err := c.Call(ctx, "submitblock", []any{hex.EncodeToString(b.Raw)}, &res)
	if err == nil && len(res) > 0 && string(res) != "null" {
		var reason string
		if jerr := json.Unmarshal(res, &reason); jerr != nil {
			return fmt.Errorf("solo: submit block %s: unexpected result %s", hash, res)
		}
		return fmt.Errorf("solo: submit block %s at height %d: %w", hash, b.Height, &RejectedError{Hash: hash, Reason: reason})
	}
	if err != nil && !errors.Is(err, node.ErrBadResponse) {
		return fmt.Errorf("solo: submit block %s at height %d: %w", hash, b.Height, err)
	}
	// A null result is success, but node.Client reports a null result as
	// a bad response: ask the node whether it has the block on its best
	// chain before deciding.
	var hdr struct {
		Confirmations int64 `json:"confirmations"`
	}
	herr := c.Call(ctx, "getblockheader", []any{hash, true}, &hdr)
	switch {
	case herr == nil && hdr.Confirmations >= 1:
		return nil
	case herr == nil: // Bitcoin Core: -1 for a block off the best chain
		return fmt.Errorf("solo: submit block %s at height %d: %d confirmations: %w", hash, b.Height, hdr.Confirmations, ErrStale)
	}
	// btcd answers getblockheader only for blocks on its best chain. If
	// the tip is no longer the block's parent, the block lost the race.
	var best string
	if berr := c.Call(ctx, "getbestblockhash", nil, &best); berr == nil && best != b.PrevHash.String() {
		return fmt.Errorf("solo: submit block %s at height %d: best block is %s, not its parent %s: %w", hash, b.Height, best, b.PrevHash, ErrStale)
	}
	if err == nil {
		err = herr
	}
	return fmt.Errorf("solo: submit block %s at height %d: %w", hash, b.Height, err)
}
