package antminersim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/gridminer/gridminer/internal/minersim"
)

// member is one key of a JSON object with its raw value.
type member struct {
	key string
	val json.RawMessage
}

// maxConf bounds a configuration body.
const maxConf = 64 << 10

var errNotObject = errors.New("not a JSON object")

// parseObject splits a JSON object into its members in order, keeping each
// value's bytes as written. Duplicate keys are kept (the last one wins for
// lookups). It fails on anything but one well-formed object.
func parseObject(b []byte) ([]member, error) {
	if len(b) > maxConf {
		return nil, fmt.Errorf("%d bytes: too long", len(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, ok := tok.(string)
		if !ok {
			return nil, errNotObject
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{k, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after the object")
	}
	return out, nil
}

// lookup returns the value of the last member called key.
func lookup(ms []member, key string) (json.RawMessage, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].key == key {
			return ms[i].val, true
		}
	}
	return nil, false
}

// set replaces every member called key by one with val (in the first
// one's place), or appends it.
func set(ms []member, key string, val json.RawMessage) []member {
	out := ms[:0:0]
	done := false
	for _, m := range ms {
		if m.key != key {
			out = append(out, m)
			continue
		}
		if !done {
			out = append(out, member{key, val})
			done = true
		}
	}
	if !done {
		out = append(out, member{key, val})
	}
	return out
}

// render writes ms back as one compact-keyed JSON object.
func render(ms []member) []byte {
	b := []byte{'{'}
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(m.key)
		b = append(b, k...)
		b = append(b, ':')
		b = append(b, m.val...)
	}
	return append(b, '}')
}

// modeOf reads a miner-mode value written as a number or a string ("1").
func modeOf(v json.RawMessage) (int, bool) {
	var s string
	if json.Unmarshal(v, &s) == nil {
		v = json.RawMessage(s)
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
	if err != nil {
		return 0, false
	}
	switch n {
	case ModeNormal, ModeSleep, ModeLowPower:
		return n, true
	}
	return 0, false
}

// factoryConf is the configuration a new miner returns, with the key set
// of the stock firmware (FDMiner doc, MiningOS mock state).
func factoryConf(u *minersim.Miner, mode int) []byte {
	id := u.Identity()
	pf := u.Profiles()[u.DefaultProfileIndex()]
	var b bytes.Buffer
	b.WriteString(`{"pools":[`)
	for i, url := range []string{"stratum+tcp://btc.f2pool.com:1314", "stratum+tcp://btc-asia.f2pool.com:1314", "stratum+tcp://btc-euro.f2pool.com:1314"} {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"url":%q,"user":%q,"pass":"x"}`, url, "gridminer."+id.Worker)
	}
	b.WriteString(`],"api-listen":true,"api-network":true,"api-groups":"A:stats:pools:devs:summary:version","api-allow":"A:0/0,W:*",`)
	fmt.Fprintf(&b, `"bitmain-fan-ctrl":false,"bitmain-fan-pwm":"100","bitmain-use-vil":true,"bitmain-freq":"%d","bitmain-voltage":"%d",`, pf.FreqMHz, int(pf.Voltage*100))
	fmt.Fprintf(&b, `"bitmain-ccdelay":"0","bitmain-pwth":"0","bitmain-work-mode":"%d","bitmain-freq-level":"100"}`, mode)
	return b.Bytes()
}
