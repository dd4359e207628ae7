package whatsminer_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/whatsminer"
	"github.com/gridminer/gridminer/internal/miner/whatsminer/btcrypt"
	"github.com/gridminer/gridminer/internal/minersim/whatsminersim"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureToken is the token of testdata/README.md (admin, BQ5hoXV9,
// jW2kTq7e, 3419).
func fixtureToken(t *testing.T) btcrypt.V2Token {
	tok := btcrypt.DeriveV2("admin", "BQ5hoXV9", "jW2kTq7e", "3419")
	if hex.EncodeToString(tok.Key[:]) != "199e0a202039bb7b558db7a54697dca29cb278055b7e659a127fb844d5a2fbf6" {
		t.Fatal("fixture key mismatch")
	}
	return tok
}

func TestEnvelopeGolden(t *testing.T) {
	tok := fixtureToken(t)
	got := whatsminer.EncodeEnvelope(tok, "power_off", "respbefore", "true")
	if want := fixture(t, "envelope-power_off.json"); !bytes.Equal(got, want) {
		t.Errorf("envelope\n got %s\nwant %s", got, want)
	}
}

func TestOpenReplyFixture(t *testing.T) {
	tok := fixtureToken(t)
	r, err := whatsminer.OpenReply(tok.Key, fixture(t, "reply-enc-ok.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := whatsminer.Reply{Status: "S", When: 1718020800, Code: 131, Msg: []byte(`""`)}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
}

func TestReplyCodes(t *testing.T) {
	for _, tc := range []struct {
		body string
		want error
	}{
		{`{"STATUS":"S","When":1,"Code":131,"Msg":"","Description":""}`, nil},
		{`{"STATUS":"E","When":1,"Code":132,"Msg":"fail","Description":""}`, miner.ErrRejected},
		{`{"STATUS":"E","When":1,"Code":136,"Msg":"token over max times","Description":""}`, whatsminer.ErrTooManyTokens},
		{`{"STATUS":"E","When":1,"Code":45,"Msg":"can't access write cmd","Description":""}`, miner.ErrDenied},
		{`{"STATUS":"E","When":1,"Code":14,"Msg":"invalid cmd","Description":""}`, miner.ErrUnsupported},
		{`{"STATUS":[{"STATUS":"E","When":1,"Code":14,"Msg":"Invalid command"}],"id":1}`, miner.ErrUnsupported},
	} {
		r, err := whatsminer.ParseReply([]byte(tc.body))
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if got := r.Err(); !errors.Is(got, tc.want) || (tc.want == nil) != (got == nil) {
			t.Errorf("%s: Err() = %v, want %v", tc.body, got, tc.want)
		}
	}
	if !errors.Is(whatsminer.ErrTooManyTokens, miner.ErrRejected) {
		t.Error("ErrTooManyTokens does not wrap ErrRejected")
	}
	for _, bad := range []string{``, `{`, `{"Code":131}`, `{"STATUS":7}`, `{"enc":"x"}`} {
		if _, err := whatsminer.ParseReply([]byte(bad)); !errors.Is(err, miner.ErrProtocol) && !errors.Is(err, miner.ErrUnreachable) {
			t.Errorf("ParseReply(%q) = %v, want a protocol error", bad, err)
		}
	}
}

func TestPercentForAndRanges(t *testing.T) {
	m, err := whatsminer.NewWithCapabilities(whatsminer.Config{Addr: "127.0.0.1:1", API: whatsminer.APIV2},
		whatsminer.Deps{Clock: clock.Real{}}, miner.Capabilities{NominalPower: 3000, MinPower: 1500, MaxPower: 3000})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Capabilities()
	if got, want := [3]float64{float64(c.MinPower), float64(c.MaxPower), float64(c.SleepPower)}, [3]float64{1500, 3000, 20}; got != want {
		t.Errorf("caps min/max/sleep %v, want %v", got, want)
	}
	if err := m.Apply(context.Background(), miner.Run(1000)); !errors.Is(err, miner.ErrUnsupported) {
		t.Errorf("below min: %v, want ErrUnsupported", err)
	}
	if _, err := whatsminer.NewWithCapabilities(whatsminer.Config{Addr: "x"}, whatsminer.Deps{Clock: clock.Real{}}, miner.Capabilities{}); err == nil {
		t.Error("NewWithCapabilities without an API accepted")
	}
}

var t0 = time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC)

// TestTokenExpiryAndRetry: the simulator expires a token (its wall clock
// passes 30 min) while the driver still holds it; the next write meets
// 135, fetches a new token and succeeds. A driver whose own wall clock
// passes its TTL fetches a new token without being told.
func TestTokenExpiryAndRetry(t *testing.T) {
	simWall := clock.NewManual(t0)
	drvWall := clock.NewManual(t0)
	phys := clock.NewManual(t0)
	fl := startSim(t, "S19j Pro", phys, whatsminersim.Config{Password: "pw", Wall: simWall})
	addr := fl.Addrs()[0]
	u, _ := fl.Miner(addr)
	m, err := whatsminer.New(context.Background(), whatsminer.Config{Addr: addr, API: whatsminer.APIV2, Password: "pw"},
		whatsminer.Deps{Clock: phys, Wall: drvWall})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Apply(ctx, miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	simWall.Advance(31 * time.Minute) // the miner forgets the token
	drvWall.Advance(time.Minute)      // the driver does not know
	if err := m.Apply(ctx, miner.Run(0)); err != nil {
		t.Fatalf("write after the miner expired the token: %v", err)
	}
	phys.Advance(2 * time.Minute)
	if st := u.Snapshot().State; st != miner.StateMining {
		t.Errorf("simulator %s after wake, want mining", st)
	}
	drvWall.Advance(30 * time.Minute) // the driver's TTL passes: renew first
	simWall.Advance(31 * time.Minute)
	if err := m.Apply(ctx, miner.Sleep()); err != nil {
		t.Fatalf("write after the driver's TTL: %v", err)
	}
}

// TestTooManyTokens: a miner out of tokens answers 136 to get_token.
func TestTooManyTokens(t *testing.T) {
	fl := startSim(t, "S19j Pro", clock.NewManual(t0), whatsminersim.Config{MaxTokens: 1})
	addr := fl.Addrs()[0]
	dial := func() *whatsminer.Miner {
		m, err := whatsminer.New(context.Background(), whatsminer.Config{Addr: addr, API: whatsminer.APIV2}, whatsminer.Deps{Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if err := dial().Apply(context.Background(), miner.Sleep()); err != nil {
		t.Fatal(err)
	}
	err := dial().Apply(context.Background(), miner.Sleep())
	if !errors.Is(err, whatsminer.ErrTooManyTokens) || !errors.Is(err, miner.ErrRejected) {
		t.Errorf("second token: %v, want ErrTooManyTokens", err)
	}
}

// TestProbe: with no API configured New tries v3, then v2.
func TestProbe(t *testing.T) {
	fl := startSim(t, "S19j Pro", clock.NewManual(t0), whatsminersim.Config{})
	addr := fl.Addrs()[0]
	for _, tc := range []struct {
		port int
		want whatsminer.API
	}{
		{fl.ListenerPort(whatsminersim.ListenerV3), whatsminer.APIV3},
		{1, whatsminer.APIV2}, // nothing listens on port 1: v2
	} {
		m, err := whatsminer.New(context.Background(), whatsminer.Config{Addr: addr, V3Port: tc.port, Timeout: time.Second}, whatsminer.Deps{Clock: clock.Real{}})
		if err != nil {
			t.Fatalf("port %d: %v", tc.port, err)
		}
		if got := m.API(); got != tc.want {
			t.Errorf("port %d: api %s, want %s", tc.port, got, tc.want)
		}
	}
}

func TestReadFrame(t *testing.T) {
	body := []byte(`{"cmd":"get.device.info"}`)
	framed := whatsminer.AppendFrame(nil, body)
	if got, want := framed[:4], []byte{byte(len(body)), 0, 0, 0}; !bytes.Equal(got, want) {
		t.Errorf("header % x, want % x", got, want)
	}
	got, err := whatsminer.ReadFrame(bytes.NewReader(framed), 1024)
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("ReadFrame = %q, %v", got, err)
	}
	if _, err := whatsminer.ReadFrame(bytes.NewReader(framed[:10]), 1024); err == nil {
		t.Error("short frame accepted")
	}
	if _, err := whatsminer.ReadFrame(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0x7f}), 1024); !errors.Is(err, miner.ErrProtocol) {
		t.Errorf("giant frame: %v, want ErrProtocol", err)
	}
}

func FuzzParseReply(f *testing.F) {
	f.Add(fixture(f, "reply-enc-ok.json"))
	f.Add([]byte(`{"STATUS":"S","When":1,"Code":134,"Msg":{"time":"1","salt":"a","newsalt":"b"},"Description":""}`))
	f.Add([]byte(`{"STATUS":[{"STATUS":"S","Code":11,"Msg":"Summary"}],"SUMMARY":[{"Power":3000}],"id":1}`))
	var key [32]byte
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = whatsminer.ParseReply(b)
		_, _ = whatsminer.OpenReply(key, b)
		_, _ = whatsminer.ParseV3Reply(b)
	})
}

func FuzzReadFrame(f *testing.F) {
	f.Add(whatsminer.AppendFrame(nil, []byte(`{"code":0,"when":1,"msg":"ok","desc":"set.miner.service"}`)))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{3, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		body, err := whatsminer.ReadFrame(bytes.NewReader(b), 4096)
		if err == nil && len(body) > 4096 {
			t.Fatalf("frame of %d bytes over the limit", len(body))
		}
		if err == nil {
			_, _ = whatsminer.ParseV3Reply(body)
		}
	})
}
