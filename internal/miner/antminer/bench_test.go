package antminer

import "testing"

func BenchmarkParseStatusReply(b *testing.B) {
	body := fixture(b, "status-joined.json")
	caps := testCaps(b)
	b.ReportAllocs()
	for b.Loop() {
		t, err := parseStatusReply(body)
		if err != nil {
			b.Fatal(err)
		}
		statusOf(t, modeNormal, true, caps)
	}
}

func BenchmarkConfWithMode(b *testing.B) {
	body := fixture(b, "get_miner_conf.json")
	b.ReportAllocs()
	for b.Loop() {
		c, err := parseConf(body)
		if err != nil {
			b.Fatal(err)
		}
		c.withMode(modeSleep, false).marshal()
	}
}
