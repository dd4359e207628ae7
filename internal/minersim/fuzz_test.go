package minersim

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"summary", "summary|", "ascset|0,freq,600", `{"command":"summary"}`,
		`{"command":"curtail","parameter":"abc,sleep"}`, `{"parameter":1,"command":"x"}`,
		`{"command":"a\u0041\n"}`, `{"command":`, `{}`, "{", "", "\x00", `{"command":true}`,
		`{"command":"x","parameter":-1.5e3}`, `  {"command":"x"} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseRequest(b)
		if err != nil {
			return
		}
		if req.command == "" {
			t.Fatalf("parseRequest(%q) = %+v with no error and no command", b, req)
		}
		trimmed := []byte(strings.TrimRight(string(b), "\x00\r\n\t "))
		if req.json && json.Valid(trimmed) && utf8.Valid(trimmed) {
			// Where both accept a document, they read the same command.
			var v map[string]any
			if jerr := json.Unmarshal(trimmed, &v); jerr != nil {
				return // valid JSON but not an object of the kind we read
			}
			if got, _ := v["command"].(string); got != req.command {
				t.Fatalf("command %q, encoding/json reads %q", req.command, got)
			}
		}
	})
}

// FuzzServe feeds any request bytes to a miner: the reply always ends with
// exactly one NUL, and a request starting with '{' gets valid JSON.
func FuzzServe(f *testing.F) {
	for _, s := range []string{
		"summary", `{"command":"summary+power+devs"}`, `{"command":"logon"}`, "curtail|x,sleep",
		"profileset|x,+1", `{"command":"stats+pools+temps+fans+atm+session+version+config+profiles"}`,
		"summary+logon", `{"command":"a|b,c=d"}`, "CMD=summary|x", `{"command":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	m, _ := ModelByName("S19j Pro")
	f.Fuzz(func(t *testing.T, b []byte) {
		u := newMiner(0, MinerSpec{Model: m.Name, Seed: 1}, m, newFakeClock(), DefaultWakeRamp, DefaultSleepRamp, false)
		out := u.serve(nil, b)
		if len(out) == 0 || out[len(out)-1] != 0 || strings.IndexByte(string(out[:len(out)-1]), 0) >= 0 {
			t.Fatalf("reply to %q not ended by one NUL: %q", b, out)
		}
		if firstNonBlank(b) == '{' && !json.Valid(out[:len(out)-1]) {
			t.Fatalf("reply to JSON request %q is not JSON: %q", b, out)
		}
	})
}

func FuzzParseFile(f *testing.F) {
	f.Add([]byte("port: 4028\nminers:\n  - model: S21\n    count: 3\n"))
	f.Add([]byte("miners: [{model: s19xp, count: 1}]\nwake_ramp: 3s\n"))
	f.Add([]byte("bogus: 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseFile(b)
		if err == nil && len(cfg.Miners) == 0 {
			t.Fatalf("ParseFile(%q) accepted an empty fleet", b)
		}
	})
}
