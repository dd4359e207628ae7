package whatsminersim

import (
	"bytes"
	"testing"

	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/minersim"
)

// reference answers req through the map-based path only.
func (d *Dialect) reference(u *minersim.Miner, cmd string) []byte {
	if cmd == "status" {
		return appendJSON(nil, btReplyMsg(131, d.statusMsg(u), u))
	}
	return d.serveJoined(u, cmd, nil)
}

// TestFastRepliesMatch checks the fast replies byte for byte against the
// reference encoding in the states a miner goes through.
func TestFastRepliesMatch(t *testing.T) {
	d, u := oneMiner(t)
	check := func(state string) {
		t.Helper()
		for _, req := range []string{`{"cmd":"summary+edevs"}`, `{"command":"summary+edevs"}`, `{"cmd":"status"}`} {
			got, ok := d.fastRPC(u, []byte(req), nil)
			if !ok {
				t.Fatalf("%s %s: fast path declined", state, req)
			}
			cmd, _ := simpleCmd([]byte(req))
			if want := d.reference(u, cmd); !bytes.Equal(got, want) {
				t.Errorf("%s %s:\n got %s\nwant %s", state, req, got, want)
			}
			if full := d.ServeRPC(u, []byte(req+"\x00"), nil); !bytes.Equal(full, got) {
				t.Errorf("%s %s: ServeRPC differs from the fast path", state, req)
			}
		}
	}
	check(string(u.Snapshot().State))
	u.Sleep()
	check(string(u.Snapshot().State))
	d.setLimit(u, 1234.5)
	u.Wake()
	check(string(u.Snapshot().State))
	if u.Snapshot().State == miner.StateMining {
		t.Log("miner mining right after wake")
	}
}

func TestSimpleCmd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{`{"cmd":"status"}`, "status", true},
		{`{"command":"summary+edevs"}`, "summary+edevs", true},
		{`{"cmd":"st\"atus"}`, "", false},
		{`{"cmd":"status","x":1}`, "", false},
		{`{"cmd":"a\u0041"}`, "", false},
		{`{ "cmd":"status"}`, "", false},
	} {
		got, ok := simpleCmd([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("simpleCmd(%s) = %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestEncFloat(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 0.1, 1e-7, 1e21, 123456789.5, 3e-9, -2.5e22} {
		e := enc{}
		e.float(f)
		if want := appendJSON(nil, f); !bytes.Equal(e.b, want) {
			t.Errorf("float %v: got %s want %s", f, e.b, want)
		}
	}
}
