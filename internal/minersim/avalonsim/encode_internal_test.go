package avalonsim

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONStringMatchesMarshal(t *testing.T) {
	for _, v := range []string{"", "MM ID0", "Ver[1] SYSTEMSTATU[Work: In Work, Hash Board: 3 ]", `a"b`, `a\b`, "<&>", "\x00\n\t", "\x7f", "é", "\xff", "\u2028"} {
		want, _ := json.Marshal(v)
		if got := appendJSONString([]byte("x"), v); string(got) != "x"+string(want) {
			t.Errorf("appendJSONString(%q) = %s, want x%s", v, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("MM ID0")
	f.Add("<\x7f\"")
	f.Fuzz(func(t *testing.T, v string) {
		want, _ := json.Marshal(v)
		if got := appendJSONString(nil, v); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", v, got, want)
		}
	})
}
