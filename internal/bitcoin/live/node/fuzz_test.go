package node

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func addFixtures(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzDecodeResponse(f *testing.F) {
	addFixtures(f, "core-error-ibd.json")
	f.Add([]byte(`{"result":{"chain":"main"},"error":null,"id":1}`))
	f.Add([]byte(`{"jsonrpc":"1.0","result":null,"error":{"code":-32601,"message":"Method not found"},"id":1}`))
	f.Add([]byte(`{"result":1,"error":null,"id":"1"}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, raw []byte) {
		res, err := decodeResponse(raw, 1)
		var re *RPCError
		switch {
		case err == nil:
			if len(res) == 0 || string(res) == "null" {
				t.Errorf("decodeResponse(%q) = %q with no error", raw, res)
			}
		case !errors.Is(err, ErrBadResponse) && !errors.As(err, &re):
			t.Errorf("decodeResponse(%q) error %v is neither ErrBadResponse nor an RPCError", raw, err)
		}
	})
}

func FuzzParseChainInfo(f *testing.F) {
	addFixtures(f, "core-getblockchaininfo.json", "core-getblockchaininfo-ibd.json")
	f.Add([]byte(`{"chain":"regtest","blocks":5,"difficulty":1}`))
	f.Add([]byte(`{"chain":"main","blocks":-1,"difficulty":1e400}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		info, err := ParseChainInfo(raw)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Errorf("error %v does not wrap ErrBadResponse", err)
			}
			return
		}
		if info.Chain == "" || info.Blocks < 0 || info.Blocks > maxHeight || info.Headers < info.Blocks ||
			!(info.Difficulty > 0) || math.IsInf(info.Difficulty, 0) {
			t.Errorf("ParseChainInfo(%q) accepted %+v", raw, info)
		}
	})
}

func FuzzParseTemplate(f *testing.F) {
	addFixtures(f, "core-getblocktemplate.json")
	f.Add([]byte(`{"height":4,"coinbasevalue":5000000000,"transactions":[]}`))
	f.Add([]byte(`{"height":870001,"coinbasevalue":312513500,"transactions":[{"data":"00"},{"fee":1}]}`))
	f.Add([]byte(`{"height":1,"transactions":[{"fee":9223372036854775807},{"fee":9223372036854775807}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		tmpl, err := ParseTemplate(raw)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Errorf("error %v does not wrap ErrBadResponse", err)
			}
			return
		}
		if tmpl.Height < 1 || tmpl.Height > maxHeight || tmpl.TxFeesSats < 0 || tmpl.TxFeesSats > maxMoneySats ||
			tmpl.CoinbaseValue < 0 || tmpl.CoinbaseValue > maxMoneySats {
			t.Errorf("ParseTemplate(%q) accepted %+v", raw, tmpl)
		}
		fees, err := tmpl.FeesSats()
		if err == nil && (fees < 0 || fees > maxMoneySats) {
			t.Errorf("FeesSats of %+v = %d", tmpl, fees)
		}
	})
}

func FuzzParseBlockStats(f *testing.F) {
	addFixtures(f, "core-getblockstats.json")
	f.Add([]byte(`{"height":1,"totalfee":-1}`))
	f.Add([]byte(`{"totalfee":1.5,"height":2}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := ParseBlockStats(raw)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Errorf("error %v does not wrap ErrBadResponse", err)
			}
			return
		}
		if st.Height < 0 || st.Height > maxHeight || st.TotalFeeSats < 0 || st.TotalFeeSats > maxMoneySats {
			t.Errorf("ParseBlockStats(%q) accepted %+v", raw, st)
		}
	})
}

func TestParseTemplateFeesFallback(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    int64
		wantErr bool
	}{
		{name: "fees summed", raw: `{"height":870001,"coinbasevalue":1,"transactions":[{"fee":2500},{"fee":11000}]}`, want: 13500},
		{name: "empty template", raw: `{"height":870001,"coinbasevalue":312500000,"transactions":[]}`, want: 0},
		{name: "fee missing: coinbasevalue less subsidy", raw: `{"height":870001,"coinbasevalue":312513500,"transactions":[{"data":"00"},{"fee":1}]}`, want: 13500},
		{name: "fee missing, no coinbasevalue", raw: `{"height":870001,"transactions":[{"data":"00"}]}`, wantErr: true},
		{name: "coinbasevalue below subsidy", raw: `{"height":870001,"coinbasevalue":100,"transactions":[{"data":"00"}]}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := ParseTemplate([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tmpl.FeesSats()
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("FeesSats() = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseCookie(t *testing.T) {
	tests := []struct {
		in         string
		user, pass string
		ok         bool
	}{
		{in: "__cookie__:abc123", user: "__cookie__", pass: "abc123", ok: true},
		{in: "__cookie__:abc123\r\nextra", user: "__cookie__", pass: "abc123", ok: true},
		{in: "__cookie__:a:b", user: "__cookie__", pass: "a:b", ok: true},
		{in: "nocolon"},
		{in: ":pass"},
		{in: ""},
	}
	for _, tt := range tests {
		u, p, ok := parseCookie([]byte(tt.in))
		if u != tt.user && tt.ok || p != tt.pass && tt.ok || ok != tt.ok {
			t.Errorf("parseCookie(%q) = %q, %q, %v; want %q, %q, %v", tt.in, u, p, ok, tt.user, tt.pass, tt.ok)
		}
	}
}
