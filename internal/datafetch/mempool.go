package datafetch

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// adjustment is one difficulty adjustment: the block that began it.
type adjustment struct {
	time       time.Time // that block's timestamp
	height     int64
	difficulty float64
}

// mempoolAdjustments fetches every difficulty adjustment from the mempool
// instance at base.
func (n *Net) mempoolAdjustments(ctx context.Context, base string) ([]adjustment, error) {
	const what = "btc: mempool difficulty adjustments"
	u := base + mempoolAdjustmentsPath
	body, err := n.getJSON(ctx, what, u)
	if err != nil {
		return nil, err
	}
	adjs, err := parseAdjustments(body)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", what, u, err)
	}
	n.progressf("%s: %d, the last at height %d (%s)", what, len(adjs), adjs[len(adjs)-1].height,
		adjs[len(adjs)-1].time.UTC().Format(time.DateOnly))
	return adjs, nil
}

// parseAdjustments reads /api/v1/mining/difficulty-adjustments: an array,
// newest first, of [block time (Unix seconds), height, difficulty, ratio to
// the previous difficulty]. It returns them by increasing height.
func parseAdjustments(body []byte) ([]adjustment, error) {
	var raw [][]json.Number
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a list of [time, height, difficulty, change] (%s): %v", describeBody("", body[:min(len(body), 200)]), err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("no difficulty adjustments")
	}
	adjs := make([]adjustment, 0, len(raw))
	for i, e := range raw {
		if len(e) < 3 {
			return nil, fmt.Errorf("entry %d: %w: %d fields, want [time, height, difficulty, change]", i+1, ErrBadValue, len(e))
		}
		ts, err1 := wholeNumber(e[0])
		h, err2 := wholeNumber(e[1])
		d, err3 := strconv.ParseFloat(e[2].String(), 64)
		if err1 != nil || err2 != nil || err3 != nil || ts < 0 || h < 0 || !(d > 0) || math.IsInf(d, 0) {
			return nil, fmt.Errorf("entry %d: %w: [%s, %s, %s]: want Unix seconds, a height and a positive difficulty", i+1, ErrBadValue, e[0], e[1], e[2])
		}
		adjs = append(adjs, adjustment{time: time.Unix(ts, 0).UTC(), height: h, difficulty: d})
	}
	slices.SortFunc(adjs, func(a, b adjustment) int { return cmp.Compare(a.height, b.height) })
	for i := 1; i < len(adjs); i++ {
		if adjs[i].height == adjs[i-1].height {
			return nil, fmt.Errorf("%w: height %d listed twice", ErrBadValue, adjs[i].height)
		}
	}
	return adjs, nil
}

// wholeNumber reads a JSON number that must be integral ("1613772036" or
// "1613772036.0").
func wholeNumber(n json.Number) (int64, error) {
	if v, err := n.Int64(); err == nil {
		return v, nil
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("not a whole number: %s", n)
	}
	return int64(f), nil
}

// blockAt is mempool's answer to /api/v1/mining/blocks/timestamp/:t.
type blockAt struct {
	height int64
	hash   string
	time   time.Time // zero if the answer had no readable timestamp
}

// mempoolBlockAt asks the mempool instance at base for the block of greatest
// timestamp at or before unix.
func (n *Net) mempoolBlockAt(ctx context.Context, base string, unix int64) (blockAt, error) {
	at := time.Unix(unix, 0).UTC().Format(time.RFC3339)
	what := "btc: mempool block at " + at
	u := base + mempoolBlockAtPath + strconv.FormatInt(unix, 10)
	body, err := n.getJSON(ctx, what, u)
	if err != nil {
		return blockAt{}, err
	}
	b, err := parseBlockAt(body)
	if err != nil {
		return blockAt{}, fmt.Errorf("%s (%s): %w", what, u, err)
	}
	if !b.time.IsZero() && b.time.Unix() > unix {
		return blockAt{}, fmt.Errorf("%s (%s): %w: block %d was mined at %s, after the time asked", what, u, ErrBadValue, b.height, b.time.Format(time.RFC3339))
	}
	return b, nil
}

// parseBlockAt reads {"height":669919,"hash":"…","timestamp":"2021-02-09T23:54:56.000Z"};
// the timestamp is accepted as an ISO time or as Unix seconds.
func parseBlockAt(body []byte) (blockAt, error) {
	var w struct {
		Height    *json.Number    `json:"height"`
		Hash      string          `json:"hash"`
		Timestamp json.RawMessage `json:"timestamp"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return blockAt{}, fmt.Errorf("not a block (%s): %v", describeBody("", body[:min(len(body), 200)]), err)
	}
	if w.Height == nil {
		return blockAt{}, fmt.Errorf("%w: no height in %s", ErrBadValue, describeBody("", body[:min(len(body), 200)]))
	}
	h, err := wholeNumber(*w.Height)
	if err != nil || h < 0 {
		return blockAt{}, fmt.Errorf("%w: height %s", ErrBadValue, w.Height.String())
	}
	b := blockAt{height: h, hash: w.Hash}
	ts := strings.TrimSpace(string(w.Timestamp))
	switch {
	case ts == "" || ts == "null":
	case ts[0] == '"':
		var s string
		if json.Unmarshal(w.Timestamp, &s) == nil {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				b.time = t.UTC()
			}
		}
	default:
		if v, err := wholeNumber(json.Number(ts)); err == nil && v >= 0 {
			b.time = time.Unix(v, 0).UTC()
		}
	}
	return b, nil
}
