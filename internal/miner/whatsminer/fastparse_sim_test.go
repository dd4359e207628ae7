package whatsminer_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/cgminer"
	"github.com/gridminer/gridminer/internal/miner/whatsminer"
	"github.com/gridminer/gridminer/internal/minersim/whatsminersim"
)

// TestFastParseSimulator checks the fast paths against the reference on
// live simulator replies while the miner mines, sleeps and wakes: the
// fast paths must handle every one and agree.
func TestFastParseSimulator(t *testing.T) {
	fl := startSim(t, "S21", clock.Real{}, whatsminersim.Config{Password: simPassword})
	u := fl.Miners()[0]
	c := cgminer.NewClient(fl.Addrs()[0], cgminer.WithTimeout(5*time.Second))
	ctx := context.Background()
	check := func(name string) {
		t.Helper()
		for _, req := range []struct {
			body  string
			check func(testing.TB, []byte) bool
		}{
			{`{"command":"summary+edevs"}`, whatsminer.CheckFastSummaryEdevs},
			{`{"cmd":"status"}`, whatsminer.CheckFastStatus},
		} {
			b, err := c.Raw(ctx, []byte(req.body))
			if err != nil {
				t.Fatal(err)
			}
			if !req.check(t, b) {
				t.Errorf("%s: %s: fast path did not handle %q", name, req.body, b)
			}
		}
	}
	seen := map[miner.State]bool{}
	for _, step := range []struct {
		name string
		do   func()
	}{
		{"start", func() {}},
		{"sleep", u.Sleep},
		{"wake", u.Wake},
	} {
		step.do()
		seen[u.Snapshot().State] = true
		check(step.name + " (" + string(u.Snapshot().State) + ")")
	}
	t.Logf("states seen: %v", seen)
}
