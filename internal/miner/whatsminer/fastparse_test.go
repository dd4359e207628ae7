package whatsminer

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/miner"
)

// checkFastSummaryEdevs compares the fast path with the reference on b
// and reports whether the fast path handled it; parseSummaryEdevs must
// agree with the reference on the result and the error.
func checkFastSummaryEdevs(t testing.TB, b []byte) bool {
	t.Helper()
	wsum, wdevs, werr := parseSummaryEdevsRef(b)
	fsum, fdevs, handled := parseSummaryEdevsFast(b)
	caps := miner.Capabilities{MaxPower: 3000, NominalPower: 3000, SleepPower: 20}
	if handled {
		if werr != nil {
			t.Fatalf("fast path handled %q, reference fails: %v", b, werr)
		}
		if diff := cmp.Diff(wsum, fsum); diff != "" {
			t.Fatalf("summary of %q (-reference +fast):\n%s", b, diff)
		}
		if diff := cmp.Diff(wdevs, fdevs); len(wdevs)+len(fdevs) > 0 && diff != "" {
			t.Fatalf("edevs of %q (-reference +fast):\n%s", b, diff)
		}
		for _, off := range []bool{false, true} {
			want := buildStatusV2(wsum, wdevs, off, caps, 80)
			if diff := cmp.Diff(want, buildStatusV2(fsum, fdevs, off, caps, 80)); diff != "" {
				t.Fatalf("status of %q (-reference +fast):\n%s", b, diff)
			}
		}
	}
	gsum, gdevs, gerr := parseSummaryEdevs(b)
	if errString(gerr) != errString(werr) {
		t.Fatalf("parseSummaryEdevs(%q) error %v, reference %v", b, gerr, werr)
	}
	if diff := cmp.Diff(wsum, gsum); diff != "" {
		t.Fatalf("parseSummaryEdevs(%q) (-reference +got):\n%s", b, diff)
	}
	if len(wdevs) != len(gdevs) {
		t.Fatalf("parseSummaryEdevs(%q): %d devs, reference %d", b, len(gdevs), len(wdevs))
	}
	return handled
}

// checkFastStatus does the same for the status reply.
func checkFastStatus(t testing.TB, b []byte) bool {
	t.Helper()
	wsw, werr := parseStatusRef(b)
	foff, handled := parseStatusFast(b)
	if handled {
		if werr != nil {
			t.Fatalf("fast path handled %q, reference fails: %v", b, werr)
		}
		if foff != wsw.off() {
			t.Fatalf("off of %q: fast %v, reference %v", b, foff, wsw.off())
		}
	}
	goff, gerr := parseStatus(b)
	if werr != nil {
		werr = errorsPrefix("status: ", werr)
	}
	if errString(gerr) != errString(werr) {
		t.Fatalf("parseStatus(%q) error %v, reference %v", b, gerr, werr)
	}
	if werr == nil && goff != wsw.off() {
		t.Fatalf("parseStatus(%q) off %v, reference %v", b, goff, wsw.off())
	}
	return handled
}

type prefixed struct {
	p   string
	err error
}

func (e prefixed) Error() string { return e.p + e.err.Error() }

func errorsPrefix(p string, err error) error { return prefixed{p, err} }

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

const (
	seOK = `{"edevs":[{"EDEVS":[{"ASC":0,"Chip Temp Max":71.5,"MHS 5s":66000000,"MHS av":65000000,"Slot":0,"Status":"Alive","Temperature":60.2,"Upfreq Complete":1},` +
		`{"Slot":1,"Status":"Dead","MHS 5s":0,"Temperature":61,"Upfreq Complete":0}],"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"EDEVS","Description":""}],"id":1}],` +
		`"summary":[{"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"SUMMARY","Description":""}],"SUMMARY":[{"Accepted":12,"Rejected":1,"Elapsed":3600,` +
		`"MHS av":1.3e8,"MHS 5s":131000000.5,"Temperature":62,"Chip Temp Max":75.25,"Fan Speed In":4200,"Fan Speed Out":4300,"Power":3300,"Power Limit":3500,"Factory GHS":130000}],"id":1}]}`
	stOK  = `{"STATUS":"S","When":1718020800,"Code":131,"Msg":{"FirmwareVersion":"'20240101'","mineroff":"false","power_limit_set":"3500"},"Description":""}`
	stOff = `{"STATUS":"S","When":1718020800,"Code":131,"Msg":{"btmineroff":"true"},"Description":""}`
)

// fastCases are replies for the differential test: handled says whether
// the fast path must take them.
var fastSECases = []struct {
	b       string
	handled bool
}{
	{seOK, true},
	{" \n" + seOK + "\x00\n", true},
	{strings.Replace(seOK, `"Status":"Alive"`, `"Status":"\u0044ead"`, 1), true},
	{strings.Replace(seOK, `"Upfreq Complete":0`, `"Upfreq Complete":null`, 1), true},
	{strings.Replace(seOK, `"EDEVS":[`, `"EDEVS":null,"x":[`, 1), true},
	{strings.Replace(seOK, `"id":1}]}`, `"id":1},{"extra":[1,2]},null]}`, 1), true},
	{strings.Replace(seOK, `"Power":3300`, `"Power":null`, 1), true},
	{strings.Replace(seOK, `"STATUS":"S","When":1,"Code":11,"Msg":"SUMMARY"`, `"STATUS":"E","When":1,"Code":11,"Msg":"SUMMARY"`, 1), false},
	{strings.Replace(seOK, `"SUMMARY":[{`, `"SUMMARY":[],"x":[{`, 1), false},
	{strings.Replace(seOK, `"SUMMARY":[{`, `"SUMMARY":null,"x":[{`, 1), false},
	{strings.Replace(seOK, `"Power":3300`, `"Power":"3300"`, 1), false},
	{strings.Replace(seOK, `"Elapsed":3600`, `"Elapsed":36.5`, 1), false},
	{strings.Replace(seOK, `"Power":3300`, `"Power":inf`, 1), false},
	{strings.Replace(seOK, `"Power":3300`, `"power":3300`, 1), false},
	{strings.Replace(seOK, `"Power":3300,`, `"Power":3300,"Power":1,`, 1), false},
	{strings.Replace(seOK, `"Slot":1`, `"Slot":99999999999999999999`, 1), false},
	{strings.Replace(seOK, `"Chip Temp Max":75.25`, `"Chip Temp Max":75.25,}`, 1), false},
	{strings.Replace(seOK, `{"edevs"`, `{"STATUS":[{"STATUS":"E","Code":45}],"edevs"`, 1), false},
	{strings.Replace(seOK, `"edevs"`, `"devs"`, 1), false},
	{strings.Replace(seOK, `"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"EDEVS","Description":""}]`, `"STATUS":[]`, 1), false},
	{strings.Replace(seOK, `"Msg":"EDEVS"`, `"Msg":"}{"`, 1), false},
	{seOK[:len(seOK)-5], false},
	{`null`, false},
	{`{}`, false},
}

var fastStatusCases = []struct {
	b       string
	handled bool
}{
	{stOK, true},
	{stOff, true},
	{stOK + "\x00", true},
	{strings.Replace(stOK, `"mineroff":"false"`, `"mineroff":"true"`, 1), true},
	{strings.Replace(stOK, `"mineroff":"false"`, `"mineroff":null`, 1), true},
	{strings.Replace(stOK, `"Msg":{`, `"Msg":null,"x":{`, 1), true},
	{strings.Replace(stOK, `"Code":131`, `"Code":7`, 1), true},
	{strings.Replace(stOK, `"Code":131`, `"Code":135`, 1), false},
	{strings.Replace(stOK, `"Code":131`, `"Code":45`, 1), false},
	{strings.Replace(strings.Replace(stOK, `"Code":131`, `"Code":7`, 1), `"STATUS":"S"`, `"STATUS":"E"`, 1), false},
	{strings.Replace(stOK, `"mineroff":"false"`, `"MinerOff":"true"`, 1), false},
	{strings.Replace(stOK, `"mineroff":"false"`, `"mineroff":true`, 1), false},
	{strings.Replace(stOK, `"Msg":{`, `"Msg":"x","y":{`, 1), false},
	{strings.Replace(stOK, `"Msg":{`, `"x":{`, 1), false},
	{strings.Replace(stOK, `"Description":""`, `"Description":"","enc":null`, 1), false},
	{`{"STATUS":[{"STATUS":"S","When":1,"Code":131,"Msg":"ok"}]}`, false},
	{`null`, false},
	{stOK[:20], false},
}

func TestFastParseCases(t *testing.T) {
	for i, c := range fastSECases {
		t.Run("summary+edevs/"+strconv.Itoa(i), func(t *testing.T) {
			if got := checkFastSummaryEdevs(t, []byte(c.b)); got != c.handled {
				t.Errorf("handled = %v, want %v", got, c.handled)
			}
		})
	}
	for i, c := range fastStatusCases {
		t.Run("status/"+strconv.Itoa(i), func(t *testing.T) {
			if got := checkFastStatus(t, []byte(c.b)); got != c.handled {
				t.Errorf("handled = %v, want %v", got, c.handled)
			}
		})
	}
}

// TestReplyFails checks that replyFails agrees with Reply.Err.
func TestReplyFails(t *testing.T) {
	for code := -1; code < 200; code++ {
		for _, st := range []string{"S", "I", "W", "E", "F", ""} {
			want := Reply{Status: st, Code: code}.Err() != nil
			if got := replyFails(st == "E" || st == "F", code); got != want {
				t.Errorf("replyFails(%q, %d) = %v, want %v", st, code, got, want)
			}
		}
	}
}

func FuzzFastParse(f *testing.F) {
	for _, c := range fastSECases {
		f.Add([]byte(c.b))
	}
	for _, c := range fastStatusCases {
		f.Add([]byte(c.b))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFastSummaryEdevs(t, b)
		checkFastStatus(t, b)
	})
}

func BenchmarkParseSummaryEdevs(b *testing.B) {
	body := []byte(seOK)
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := parseSummaryEdevsRef(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, _, ok := parseSummaryEdevsFast(body); !ok {
				b.Fatal("not handled")
			}
		}
	})
}

func BenchmarkParseStatus(b *testing.B) {
	body := []byte(stOK)
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			if _, err := parseStatusRef(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, ok := parseStatusFast(body); !ok {
				b.Fatal("not handled")
			}
		}
	})
}
