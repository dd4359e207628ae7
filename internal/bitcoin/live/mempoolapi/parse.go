package mempoolapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

const (
	maxHeight    = 1 << 40
	maxMoneySats = 21_000_000 * 100_000_000
	maxUnixTime  = 32503680000 // year 3000
)

// ParseTipHeight parses /api/blocks/tip/height: a decimal height as plain
// text (surrounding whitespace allowed).
func ParseTipHeight(body []byte) (int64, error) {
	s := string(bytes.TrimSpace(body))
	h, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("tip height %q: want a whole number: %w", truncate(s), ErrBadResponse)
	}
	if h < 0 || h > maxHeight {
		return 0, fmt.Errorf("tip height %d out of range: %w", h, ErrBadResponse)
	}
	return h, nil
}

// Block is one entry of /api/v1/blocks.
type Block struct {
	Hash       string
	Height     int64
	Time       time.Time // header timestamp, UTC
	Difficulty float64
	// TotalFeesSats is extras.totalFees; HasFees is false when the
	// explorer sent no extras (a plain esplora, not mempool).
	TotalFeesSats int64
	HasFees       bool
}

type wireBlock struct {
	ID         string   `json:"id"`
	Height     *int64   `json:"height"`
	Timestamp  *int64   `json:"timestamp"`
	Difficulty *float64 `json:"difficulty"`
	Extras     *struct {
		TotalFees *int64 `json:"totalFees"`
	} `json:"extras"`
}

// ParseBlocks parses /api/v1/blocks: a non-empty JSON array of blocks,
// newest first (heights strictly decreasing), each with height, timestamp
// and a finite positive difficulty.
func ParseBlocks(body []byte) ([]Block, error) {
	var ws []wireBlock
	if err := json.Unmarshal(body, &ws); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("no blocks: %w", ErrBadResponse)
	}
	blocks := make([]Block, 0, len(ws))
	for i, w := range ws {
		switch {
		case w.Height == nil || w.Timestamp == nil || w.Difficulty == nil:
			return nil, fmt.Errorf("block %d: want height, timestamp and difficulty: %w", i, ErrBadResponse)
		case *w.Height < 0 || *w.Height > maxHeight:
			return nil, fmt.Errorf("block %d: height %d out of range: %w", i, *w.Height, ErrBadResponse)
		case *w.Timestamp < 0 || *w.Timestamp > maxUnixTime:
			return nil, fmt.Errorf("block %d: timestamp %d out of range: %w", i, *w.Timestamp, ErrBadResponse)
		case !(*w.Difficulty > 0) || math.IsInf(*w.Difficulty, 0):
			return nil, fmt.Errorf("block %d: difficulty %v must be finite and positive: %w", i, *w.Difficulty, ErrBadResponse)
		case i > 0 && *w.Height >= blocks[i-1].Height:
			return nil, fmt.Errorf("block %d: height %d after %d: want newest first: %w", i, *w.Height, blocks[i-1].Height, ErrBadResponse)
		}
		b := Block{Hash: w.ID, Height: *w.Height, Time: time.Unix(*w.Timestamp, 0).UTC(), Difficulty: *w.Difficulty}
		if w.Extras != nil && w.Extras.TotalFees != nil {
			if f := *w.Extras.TotalFees; f < 0 || f > maxMoneySats {
				return nil, fmt.Errorf("block %d: totalFees %d out of range: %w", b.Height, f, ErrBadResponse)
			}
			b.TotalFeesSats, b.HasFees = *w.Extras.TotalFees, true
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}

// FeePoint is one entry of /api/v1/mining/blocks/fees/:interval: the mean
// fees of the blocks grouped into it (one block each for 24h).
type FeePoint struct {
	AvgHeight   int64
	Time        time.Time
	AvgFeesSats float64
}

type wireFeePoint struct {
	AvgHeight *int64   `json:"avgHeight"`
	Timestamp *int64   `json:"timestamp"`
	AvgFees   *float64 `json:"avgFees"`
}

// ParseBlockFees parses /api/v1/mining/blocks/fees/:interval: a non-empty
// JSON array of {avgHeight, timestamp, avgFees, USD}.
func ParseBlockFees(body []byte) ([]FeePoint, error) {
	var ws []wireFeePoint
	if err := json.Unmarshal(body, &ws); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("no fee points: %w", ErrBadResponse)
	}
	points := make([]FeePoint, 0, len(ws))
	for i, w := range ws {
		switch {
		case w.AvgHeight == nil || w.Timestamp == nil || w.AvgFees == nil:
			return nil, fmt.Errorf("point %d: want avgHeight, timestamp and avgFees: %w", i, ErrBadResponse)
		case *w.AvgHeight < 0 || *w.AvgHeight > maxHeight:
			return nil, fmt.Errorf("point %d: avgHeight %d out of range: %w", i, *w.AvgHeight, ErrBadResponse)
		case *w.Timestamp < 0 || *w.Timestamp > maxUnixTime:
			return nil, fmt.Errorf("point %d: timestamp %d out of range: %w", i, *w.Timestamp, ErrBadResponse)
		case !(*w.AvgFees >= 0) || *w.AvgFees > maxMoneySats:
			return nil, fmt.Errorf("point %d: avgFees %v out of range: %w", i, *w.AvgFees, ErrBadResponse)
		}
		points = append(points, FeePoint{AvgHeight: *w.AvgHeight, Time: time.Unix(*w.Timestamp, 0).UTC(), AvgFeesSats: *w.AvgFees})
	}
	return points, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
