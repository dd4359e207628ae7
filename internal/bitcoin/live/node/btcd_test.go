package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/bitcoin/live/btcdtest"
	"github.com/gridminer/gridminer/internal/bitcoin/live/node"
)

// TestAgainstBtcd runs the client against a real btcd on regtest: the tip
// and difficulty it reports, and the fees of a real transaction in the
// next block's template.
func TestAgainstBtcd(t *testing.T) {
	n := btcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := node.New(node.Config{URL: n.URL, User: n.User, Password: n.Password, Network: "regtest"}, node.Deps{})
	if err != nil {
		t.Fatal(err)
	}

	hashes := n.Generate(t, 5)
	var difficulty float64
	if err := n.Call(ctx, "getdifficulty", nil, &difficulty); err != nil {
		t.Fatal(err)
	}
	got, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := node.Snapshot{Network: "regtest", TipHeight: 5, TipHash: hashes[4], Difficulty: difficulty, FeesPerBlockSats: 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("snapshot after 5 blocks (-want +got):\n%s", diff)
	}

	// A transaction paying a known fee shows up in the next block's template.
	const fee = 12_345
	n.SendFeeTx(t, fee) // mines to coinbase maturity first
	tip := n.Height(t)
	got, err = c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.TipHeight != tip || got.FeesPerBlockSats != fee {
		t.Errorf("snapshot with a %d-sat transaction waiting: tip %d fees %v, want tip %d fees %d", fee, got.TipHeight, got.FeesPerBlockSats, tip, fee)
	}
	tmpl, err := c.BlockTemplate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantTmpl := node.Template{Height: tip + 1, Transactions: 1, TxFeesSats: fee, AllFeesKnown: true, CoinbaseValue: 50e8 + fee, HasCoinbaseValue: true}
	if diff := cmp.Diff(wantTmpl, tmpl, cmpTemplate); diff != "" {
		t.Errorf("template (-want +got):\n%s", diff)
	}

	// Once mined, the template is empty again.
	n.Generate(t, 1)
	got, err = c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.TipHeight != tip+1 || got.FeesPerBlockSats != 0 {
		t.Errorf("after mining the transaction: tip %d fees %v, want tip %d fees 0", got.TipHeight, got.FeesPerBlockSats, tip+1)
	}
}

// cmpTemplate ignores the template fields that change from run to run.
var cmpTemplate = cmp.FilterPath(func(p cmp.Path) bool {
	switch p.Last().String() {
	case ".PreviousBlockHash", ".Bits", ".CurTime":
		return true
	}
	return false
}, cmp.Ignore())

func TestAgainstBtcdErrors(t *testing.T) {
	n := btcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	tests := []struct {
		name  string
		cfg   node.Config
		check func(error) bool
		want  string
	}{
		{
			name:  "wrong password",
			cfg:   node.Config{URL: n.URL, User: n.User, Password: "wrong", Network: "regtest"},
			check: func(err error) bool { return errors.Is(err, node.ErrUnauthorized) },
			want:  "ErrUnauthorized",
		},
		{
			name:  "wrong network",
			cfg:   node.Config{URL: n.URL, User: n.User, Password: n.Password},
			check: func(err error) bool { return errors.Is(err, node.ErrWrongNetwork) },
			want:  "ErrWrongNetwork",
		},
		{
			name: "btcd has no getblockstats",
			cfg:  node.Config{URL: n.URL, User: n.User, Password: n.Password, Network: "regtest", Fees: node.FeesBlockStats, FeeBlocks: 3},
			check: func(err error) bool {
				var re *node.RPCError
				return errors.As(err, &re) && re.Code == node.CodeMethodNotFound
			},
			want: "RPCError method not found",
		},
	}
	n.Generate(t, 3)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := node.New(tt.cfg, node.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Snapshot(ctx)
			if !tt.check(err) {
				t.Errorf("Snapshot error = %v, want %s", err, tt.want)
			}
		})
	}
}
