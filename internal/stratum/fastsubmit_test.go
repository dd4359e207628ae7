package stratum

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// slowSubmit is the general path: ParseMessage, then ParseSubmit when the
// line is a mining.submit request.
func slowSubmit(line []byte) (id []byte, s Submit, ok bool) {
	m, err := ParseMessage(line)
	if err != nil || !m.IsRequest() || m.Method != MethodSubmit {
		return nil, Submit{}, false
	}
	s, err = ParseSubmit(m.Params)
	if err != nil {
		return nil, Submit{}, false
	}
	return m.ID, s, true
}

// sameSubmit compares treating nil and empty extranonce2 alike.
func sameSubmit(a, b Submit) string {
	if len(a.Extranonce2) == 0 && len(b.Extranonce2) == 0 {
		a.Extranonce2, b.Extranonce2 = nil, nil
	}
	return cmp.Diff(a, b)
}

var fastSubmitCases = []struct {
	name string
	line string
	fast bool // the fast path takes it
}{
	// Real miners.
	{"ckpool/nicehash order", `{"id":4,"method":"mining.submit","params":["bc1qworker.rig1","6a2f","0000000000000001","6553f0c3","9a3b2c1d"]}`, true},
	{"cpuminer", `{"method": "mining.submit", "params": ["user.1", "3c1", "01000000", "504e86ed", "b2957c02"], "id":4}`, true},
	{"cgminer/bmminer", `{"params": ["antminer_1", "1f", "00000001", "5f5e1000", "7a2b3c4d"], "id": 123, "method": "mining.submit"}`, true},
	{"bmminer version rolling", `{"params": ["antminer_1", "1f", "00000001", "5f5e1000", "7a2b3c4d", "1fffe000"], "id": 124, "method": "mining.submit"}`, true},
	{"braiins/whatsminer string id", `{"id":"s17","method":"mining.submit","params":["w","j","ABCDEF01","5F5E1000","7A2B3C4D","00002000"]}`, true},
	{"version null", `{"id":1,"method":"mining.submit","params":["w","j","00","1","2",null]}`, true},
	{"whitespace everywhere", " \t{ \"id\" : 7 ,\r\n \"params\" : [ \"w\" , \"j\" , \"\" , \"1\" , \"2\" ] , \"method\" : \"mining.submit\" } \n", true},
	{"negative id", `{"id":-3,"method":"mining.submit","params":["w","j","00","1","2"]}`, true},
	{"empty worker and job", `{"id":0,"method":"mining.submit","params":["","","","0","0"]}`, true},
	{"short hex", `{"id":9,"method":"mining.submit","params":["w","j","ff","a","B"]}`, true},

	// Left to the general path.
	{"other method", `{"id":1,"method":"mining.authorize","params":["w","x"]}`, false},
	{"escaped slash", `{"id":1,"method":"mining.submit","params":["a\/b","j","00","1","2"]}`, false},
	{"unicode escape in key", `{"\u0069d":1,"method":"mining.submit","params":["w","j","00","1","2"]}`, false},
	{"non-ASCII worker", `{"id":1,"method":"mining.submit","params":["wörker","j","00","1","2"]}`, false},
	{"folded key", `{"ID":1,"method":"mining.submit","params":["w","j","00","1","2"]}`, false},
	{"extra key", `{"id":1,"jsonrpc":"2.0","method":"mining.submit","params":["w","j","00","1","2"]}`, false},
	{"duplicate id", `{"id":1,"id":2,"method":"mining.submit","params":["w","j","00","1","2"]}`, false},
	{"null id", `{"id":null,"method":"mining.submit","params":["w","j","00","1","2"]}`, false},
	{"no id", `{"method":"mining.submit","params":["w","j","00","1","2"]}`, false},
	{"float id", `{"id":1.0,"method":"mining.submit","params":["w","j","00","1","2"]}`, false},
	{"exponent id", `{"id":1e3,"method":"mining.submit","params":["w","j","00","1","2"]}`, false},
	{"leading zero id", `{"id":01,"method":"mining.submit","params":["w","j","00","1","2"]}`, false},
	{"four params", `{"id":1,"method":"mining.submit","params":["w","j","00","1"]}`, false},
	{"seven params", `{"id":1,"method":"mining.submit","params":["w","j","00","1","2","3","4"]}`, false},
	{"odd extranonce2", `{"id":1,"method":"mining.submit","params":["w","j","000","1","2"]}`, false},
	{"ntime too long", `{"id":1,"method":"mining.submit","params":["w","j","00","123456789","2"]}`, false},
	{"nonce 0x", `{"id":1,"method":"mining.submit","params":["w","j","00","1","0x2"]}`, false},
	{"empty nonce", `{"id":1,"method":"mining.submit","params":["w","j","00","1",""]}`, false},
	{"numeric param", `{"id":1,"method":"mining.submit","params":["w","j","00",1,"2"]}`, false},
	{"trailing garbage", `{"id":1,"method":"mining.submit","params":["w","j","00","1","2"]}x`, false},
	{"trailing comma", `{"id":1,"method":"mining.submit","params":["w","j","00","1","2"],}`, false},
	{"unterminated", `{"id":1,"method":"mining.submit","params":["w","j","00","1","2"]`, false},
	{"control char", "{\"id\":1,\"method\":\"mining.submit\",\"params\":[\"w\t\",\"j\",\"00\",\"1\",\"2\"]}", false},
}

func TestParseSubmitLine(t *testing.T) {
	for _, tc := range fastSubmitCases {
		t.Run(tc.name, func(t *testing.T) {
			var s Submit
			id, ok := ParseSubmitLine([]byte(tc.line), &s)
			if ok != tc.fast {
				t.Fatalf("fast path ok = %v, want %v", ok, tc.fast)
			}
			if !ok {
				return
			}
			wid, ws, wok := slowSubmit([]byte(tc.line))
			if !wok {
				t.Fatal("fast path accepted a line the general path refuses")
			}
			if !bytes.Equal(id, wid) {
				t.Errorf("id = %s, want %s", id, wid)
			}
			if d := sameSubmit(s, ws); d != "" {
				t.Errorf("submit (-fast +slow):\n%s", d)
			}
		})
	}
}

// TestParseSubmitLineReuse checks that a Submit reused across lines carries
// nothing over (version bits, longer extranonce2) and that the steady state
// does not allocate.
func TestParseSubmitLineReuse(t *testing.T) {
	var s Submit
	lines := []string{
		`{"id":1,"method":"mining.submit","params":["w","j","00112233","1","2","3"]}`,
		`{"id":2,"method":"mining.submit","params":["w","j","44","5","6"]}`,
		`{"id":3,"method":"mining.submit","params":["v","k","","7","8",null]}`,
	}
	for _, l := range lines {
		if _, ok := ParseSubmitLine([]byte(l), &s); !ok {
			t.Fatalf("refused %s", l)
		}
		_, want, _ := slowSubmit([]byte(l))
		if d := sameSubmit(s, want); d != "" {
			t.Errorf("%s (-fast +slow):\n%s", l, d)
		}
	}
	line := []byte(`{"id":12345,"method":"mining.submit","params":["bc1qworker.rig1","6a2f","0000000000000001","6553f0c3","9a3b2c1d","00002000"]}`)
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := ParseSubmitLine(line, &s); !ok {
			t.Fatal("refused")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per line, want 0", allocs)
	}
}

func FuzzFastSubmit(f *testing.F) {
	for _, tc := range fastSubmitCases {
		f.Add([]byte(tc.line))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var s Submit
		id, ok := ParseSubmitLine(line, &s)
		if !ok {
			return
		}
		wid, ws, wok := slowSubmit(line)
		if !wok {
			m, err := ParseMessage(line)
			t.Fatalf("fast path accepted %q; general path: %+v, %v", line, m, err)
		}
		if !bytes.Equal(id, wid) {
			t.Errorf("%q: id = %s, want %s", line, id, wid)
		}
		if !json.Valid(id) {
			t.Errorf("%q: id %q is not JSON", line, id)
		}
		if d := sameSubmit(s, ws); d != "" {
			t.Errorf("%q: submit (-fast +slow):\n%s", line, d)
		}
	})
}

var sinkSubmit Submit

// BenchmarkParseSubmit compares the fast path with the general one
// (ParseMessage + ParseSubmit) on a typical line.
func BenchmarkParseSubmit(b *testing.B) {
	line := []byte(`{"params": ["bc1qworker.rig1", "6a2f", "0000000000000001", "6553f0c3", "9a3b2c1d", "00002000"], "id": 12345, "method": "mining.submit"}`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		var s Submit
		for b.Loop() {
			if _, ok := ParseSubmitLine(line, &s); !ok {
				b.Fatal("refused")
			}
		}
		sinkSubmit = s
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m, err := ParseMessage(line)
			if err != nil {
				b.Fatal(err)
			}
			s, err := ParseSubmit(m.Params)
			if err != nil {
				b.Fatal(err)
			}
			sinkSubmit = s
		}
	})
}
