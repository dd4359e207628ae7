package whatsminersim

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/minersim"
)

func oneMiner(t testing.TB) (*Dialect, *minersim.Miner) {
	t.Helper()
	d := New(Config{})
	fl, err := minersim.New(minersim.Config{
		Miners:   []minersim.MinerSpec{{Model: "S19j Pro", Seed: 1, Dialect: Name}},
		Dialects: map[string]minersim.Dialect{Name: d},
		Clock:    clock.NewManual(time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-fl.Ready()
	return d, fl.Miners()[0]
}

func TestPlaintextWriteDenied(t *testing.T) {
	d, u := oneMiner(t)
	var got struct {
		STATUS string
		Code   int
	}
	if err := json.Unmarshal(d.ServeRPC(u, []byte(`{"cmd":"power_off","respbefore":"true"}`), nil), &got); err != nil {
		t.Fatal(err)
	}
	if got.STATUS != "E" || got.Code != 45 {
		t.Errorf("plaintext write: %+v, want E 45", got)
	}
}

func FuzzServe(f *testing.F) {
	d, u := oneMiner(f)
	f.Add([]byte(`{"cmd":"summary+edevs"}`))
	f.Add([]byte(`{"enc":1,"data":"AAAAAAAAAAAAAAAAAAAAAA=="}`))
	f.Add([]byte(`{"cmd":"set.miner.power_limit","param":1000,"ts":1,"account":"super","token":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = d.ServeRPC(u, b, nil)
		_ = d.handleV3(u, b)
	})
}
