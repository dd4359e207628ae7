package antminersim

import (
	"bytes"
	"testing"
)

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{"command":"stats"}`, "summary|x", `{"command":"summary+stats","parameter":1}`, "", "{", "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, _, code := parseRequest(b)
		if code == 0 && cmd == "" {
			t.Errorf("empty command accepted from %q", b)
		}
	})
}

func FuzzParseAuthParams(f *testing.F) {
	f.Add(`username="root", realm="antMiner Configuration", nonce="ab", uri="/", response="x", qop=auth, nc=00000001, cnonce="c"`)
	f.Add(`a="\"", b=c,,d=`)
	f.Fuzz(func(t *testing.T, s string) {
		parseAuthParams(s)
	})
}

func FuzzParseObject(f *testing.F) {
	f.Add([]byte(`{"pools":[{"url":"u"}],"miner-mode":"1","x":{"y":[1,2]}}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := parseObject(b)
		if err != nil {
			return
		}
		ms2, err := parseObject(render(ms))
		if err != nil || len(ms2) != len(ms) {
			t.Fatalf("render of %q does not parse back: %v", b, err)
		}
		for i := range ms {
			if ms[i].key != ms2[i].key || !bytes.Equal(ms[i].val, ms2[i].val) {
				t.Errorf("member %d changed: %q=%s vs %q=%s", i, ms[i].key, ms[i].val, ms2[i].key, ms2[i].val)
			}
		}
		if v, ok := lookup(ms, "miner-mode"); ok {
			modeOf(v)
		}
	})
}
