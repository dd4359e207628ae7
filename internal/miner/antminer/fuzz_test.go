package antminer

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzParseStatusReply(f *testing.F) {
	// Small seeds: Go's coverage-guided mutator stalls on the multi-kB
	// fixtures (the parse tests cover those).
	f.Add(fixture(f, "access-denied.json"))
	f.Add([]byte(`{"summary":[{"STATUS":[{"STATUS":"S","Code":11}],"SUMMARY":[{"Elapsed":60,"GHS 5s":104000.5,"GHS av":"103,000","Accepted":3,"Rejected":0}],"id":1}],"stats":[{"STATUS":[{"STATUS":"S","Code":70}],"STATS":[{"BMMiner":"1.0.0","Type":"Antminer S19j Pro"}{"GHS 5s":1.5,"miner_count":3,"fan_num":2,"fan1":5000,"fan2":"x","temp_chip1":"60-61-0-0","temp2_2":70,"chain_rate1":"34000.10","chain_rate2":"0.00","chain_rate3":"","total_rateideal":104000,"rate_unit":"GH"}],"id":1}],"version":[{"STATUS":[{"STATUS":"S"}],"VERSION":[{"Type":"Antminer S21","BMMiner":"1"}],"id":1}],"id":1}`))
	f.Add([]byte(`{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"GHS 5s":"1,0"}]}],"stats":[{"STATUS":[{"STATUS":"S"}],"STATS":[{}{"miner_count":1e308,"fan_num":99,"chain_rate1":"nan"}]}]}`))
	caps := testCaps(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		tel, err := parseStatusReply(b)
		if err != nil {
			return
		}
		st := statusOf(tel, modeNormal, true, caps)
		if st.Power < 0 || st.Hashrate < 0 || st.BoardsActive > st.Boards || len(st.FanRPM) > maxChains {
			t.Errorf("implausible status %+v from %q", st, b)
		}
		parseCapsReply(b)
	})
}

func FuzzParseConf(f *testing.F) {
	f.Add(fixture(f, "get_miner_conf.json"))
	f.Add([]byte(`{"miner-mode":"3","a":{"b":[1,{"c":null}]},"a":2}`))
	f.Add([]byte(`{"bitmain-work-mode":1e99}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseConf(b)
		if err != nil {
			return
		}
		c.mode()
		// Writing back what was read and reading it again changes nothing
		// but miner-mode (and freq-level).
		out := c.withMode(modeSleep, false).marshal()
		c2, err := parseConf(out)
		if err != nil {
			t.Fatalf("re-read of %q: %v", out, err)
		}
		if m, ok := c2.mode(); ok && m != modeSleep {
			if _, has := c.get("bitmain-work-mode"); !has {
				t.Errorf("mode %d after writing sleep into %q", m, b)
			}
		}
		for _, m := range c {
			if m.key == "miner-mode" || m.key == "freq-level" {
				continue
			}
			v, ok := c2.get(m.key)
			last, _ := c.get(m.key)
			if !ok || !bytes.Equal(v, last) {
				t.Errorf("key %q: %s became %s", m.key, last, v)
			}
		}
		checkSetConf(b)
	})
}

func FuzzParseChallenge(f *testing.F) {
	f.Add(`Digest realm="antMiner Configuration", charset="UTF-8", nonce="abc", qop="auth", algorithm="MD5"`)
	f.Add(`Digest realm=r, nonce="a\"b", qop="auth,auth-int", stale=true, opaque=""`)
	f.Add(`Basic realm="x"`)
	f.Fuzz(func(t *testing.T, h string) {
		ch, err := parseChallenge(strings.Split(h, "\n"))
		if err != nil {
			return
		}
		if ch.nonce == "" {
			t.Errorf("challenge without nonce accepted: %q", h)
		}
		hdr := digestHeader(ch, `ro"ot`, "pw", "GET", "/cgi-bin/x", "cn", 1)
		p, err := parseParams(strings.TrimPrefix(hdr, "Digest "))
		if err != nil || p["nonce"] != ch.nonce || p["username"] != `ro"ot` {
			t.Errorf("own header %q does not parse back: %v %v", hdr, p, err)
		}
	})
}
