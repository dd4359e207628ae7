package antminer

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkFast compares the fast path with the reference on b and reports
// whether the fast path handled it; parseStatusReply must agree with the
// reference on the result and on failing or not.
func checkFast(t testing.TB, b []byte) bool {
	t.Helper()
	want, werr := parseStatusReference(b)
	fast, handled := parseStatusFast(b)
	if handled {
		if werr != nil {
			t.Fatalf("fast path handled %q, reference fails: %v", b, werr)
		}
		if diff := cmp.Diff(want, fast); diff != "" {
			t.Fatalf("fast path on %q (-reference +fast):\n%s", b, diff)
		}
	}
	got, gerr := parseStatusReply(b)
	if (gerr != nil) != (werr != nil) {
		t.Fatalf("parseStatusReply(%q) error %v, reference %v", b, gerr, werr)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("parseStatusReply(%q) (-reference +got):\n%s", b, diff)
	}
	return handled
}

func TestFastParseFixtures(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		handled := checkFast(t, b)
		if !strings.HasPrefix(filepath.Base(p), "status-joined") {
			continue
		}
		if !handled {
			t.Errorf("%s: the fast path does not handle a stock reply", p)
		}
		// With a trailing NUL, as on the wire.
		checkFast(t, append(append([]byte(nil), b...), 0))
	}
}

func TestFastParseEdges(t *testing.T) {
	const ok = `{"summary":[{"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"Summary"}],"SUMMARY":[{"Elapsed":60,"GHS 5s":104000.5,"GHS av":"103,000","Accepted":3,"Rejected":0}],"id":1}],"stats":[{"STATUS":[{"STATUS":"S","Code":70}],"STATS":[{"BMMiner":"1.0.0","Type":"Antminer S19j Pro"}{"GHS 5s":1.5,"miner_count":3,"fan_num":2,"fan1":5000,"fan2":"x","temp_chip1":"60-61-0-0","temp2_2":70,"chain_rate1":"34000.10","chain_rate2":"0.00","chain_rate3":"","total_rateideal":104000,"rate_unit":"GH"}],"id":1}],"id":1}`
	if !checkFast(t, []byte(ok)) {
		t.Errorf("fast path refuses %s", ok)
	}
	for _, b := range []string{
		ok + "\x00\x00 \n",
		`{"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{} {"miner_count":2,"Elapsed":5,"chain_rate1":null,"chain_rate2":" 1,000 "}]}],"summary":[{"STATUS":[{"STATUS":"I"}],"SUMMARY":[{"GHS 5s":0},{"x":1}]}]}`,
		`{"summary":[{"STATUS":[{"STATUS":"E","Code":45,"Msg":"Access denied"}],"SUMMARY":[{}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"miner_count":1}]}]}`,
		`{"summary":[{"STATUS":[],"SUMMARY":[{}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"miner_count":1}]}]}`,
		`{"summary":[{"STATUS":[{"status":"S","when":1.5}],"SUMMARY":[{}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"miner_count":1}]}]}`,
		`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"GHS 5s":-1}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"miner_count":1}]}]}`,
		`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"GHS 5s":"nan"}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"miner_count":1}]}]}`,
		`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"GHS 5s":1e400}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"miner_count":1,"chain_rate1":"nan"}]}]}`,
		`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"GHS\u0020av":1}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"miner_count":1}]}]}`,
		`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"Elapsed":1,"Elapsed":2}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"miner_count":1}]}]}`,
		`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"miner_count":1,"rate_unit":"TH/s","total_rateideal":"1.5","fan_num":20.7,"fan3":-4,"fan1":2e6,"temp_chip16":"1-250-0-99","temp2_17":500,"chain_rate01":"x"}]}]}`,
		`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"miner_count":1,"rate_unit":"PH"}]}]}`,
		`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"x":[{}{}],"y":["" ,1]}{"GHS 5s":"\u0031"}]}]}`,
		`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"miner_count":1}]}],"version":[{}]}`,
		`{"STATUS":[{"STATUS":"E","Code":45,"Msg":"Access denied to 'summary' command"}],"id":1}`,
		`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"miner_count":1}]}]}{}`,
		`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{"miner_count":1}]`,
		``, `null`, `[]`, `{}`,
	} {
		checkFast(t, []byte(b))
	}
}

// FuzzFastParseStatus checks that the fast path, whenever it handles a
// reply, agrees with the reference.
func FuzzFastParseStatus(f *testing.F) {
	f.Add([]byte(`{"summary":[{"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"Summary"}],"SUMMARY":[{"Elapsed":60,"GHS 5s":104000.5,"GHS av":"103,000","Accepted":3,"Rejected":0}],"id":1}],"stats":[{"STATUS":[{"STATUS":"S","Code":70}],"STATS":[{"BMMiner":"1.0.0"}{"GHS 5s":1.5,"miner_count":3,"fan_num":2,"fan1":5000,"fan2":"x","temp_chip1":"60-61-0-0","temp2_2":70,"chain_rate1":"34000.10","chain_rate2":"0.00","chain_rate3":"","total_rateideal":104000,"rate_unit":"GH"}],"id":1}],"id":1}`))
	f.Add([]byte(`{"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{} {"miner_count":2,"Elapsed":5,"chain_rate1":null}]}],"summary":[{"STATUS":[{"STATUS":"I"}],"SUMMARY":[{"GHS 5s":0}]}]}`))
	f.Add([]byte(`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"GHS 5s":"1,0"}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{}{"miner_count":1e308,"fan_num":99,"chain_rate1":"nan"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFast(t, b)
	})
}

// TestFastParseMutations runs checkFast on random byte mutations of the
// fixtures, a deterministic complement to FuzzFastParseStatus (whose
// mutator makes slow progress on multi-kB replies).
func TestFastParseMutations(t *testing.T) {
	rounds := 20000
	if testing.Short() {
		rounds = 2000
	}
	seeds := [][]byte{}
	for _, n := range []string{"status-joined.json", "status-joined-sleep.json", "status-joined-deadboard.json"} {
		b, _ := os.ReadFile("testdata/" + n)
		seeds = append(seeds, b)
	}
	seeds = append(seeds, []byte(`{"summary":[{"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"Summary"}],"SUMMARY":[{"Elapsed":60,"GHS 5s":104000.5,"GHS av":"103,000","Accepted":3,"Rejected":0}],"id":1}],"stats":[{"STATUS":[{"STATUS":"S","Code":70}],"STATS":[{"BMMiner":"1.0.0"}{"GHS 5s":1.5,"miner_count":3,"fan_num":2,"fan1":5000,"fan2":"x","temp_chip1":"60-61-0-0","temp2_2":70,"chain_rate1":"34000.10","chain_rate2":"0.00","chain_rate3":"","total_rateideal":104000,"rate_unit":"GH"}],"id":1}],"id":1}`))
	alpha := []byte("{}[],:\"\\ 0123456789.-+eEnulltruefalsexyzNaNinf\x00\t}{u")
	r := rand.New(rand.NewSource(1))
	handled := 0
	for n := 0; n < rounds; n++ {
		b := append([]byte(nil), seeds[r.Intn(len(seeds))]...)
		for k := r.Intn(4) + 1; k > 0 && len(b) > 0; k-- {
			i := r.Intn(len(b))
			switch r.Intn(4) {
			case 0:
				b[i] = alpha[r.Intn(len(alpha))]
			case 1:
				b = append(b[:i], b[i+1:]...)
			case 2:
				b = append(b[:i], append([]byte{alpha[r.Intn(len(alpha))]}, b[i:]...)...)
			case 3:
				j := i + r.Intn(min(20, len(b)-i))
				b = append(b[:i:i], b[j:]...)
			}
		}
		if checkFast(t, b) {
			handled++
		}
	}
	if handled == 0 {
		t.Error("the fast path handled no mutation")
	}
}
