package demand

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
)

var t0 = time.Date(2026, 8, 3, 20, 0, 0, 0, time.UTC)

func ev(id string, k Kind, from, to time.Duration, prio int) Event {
	e := Event{Source: "test", ID: id, Kind: k, Start: t0.Add(from), Priority: prio}
	if to != 0 {
		e.End = t0.Add(to)
	}
	return e
}

func TestResolve(t *testing.T) {
	cap1 := ev("cap1", Cap, 0, time.Hour, 5)
	cap1.Power = 40e6
	cap2 := ev("cap2", Cap, 30*time.Minute, 0, 9) // open-ended
	cap2.Power = 30e6
	sp := ev("sp", Target, 0, 2*time.Hour, 1)
	sp.Power = 50e6
	spLow := ev("sp-low-prio", Target, 0, 2*time.Hour, 3)
	spLow.Power = 10e6
	lvl := ev("lvl", Level, 2*time.Hour, 3*time.Hour, 0)
	lvl.Level = 2
	pr := ev("price", Price, 0, time.Hour, 0)
	pr.Price = 1234
	gone := ev("gone", Cap, 0, time.Hour, 0)
	gone.Power, gone.Cancelled = 1, true
	events := []Event{cap1, cap2, sp, spLow, lvl, pr, gone}
	tiers := DefaultTiers(100e6)
	for _, tt := range []struct {
		at               time.Duration
		cap, floor       energy.Power
		hasCap, hasPrice bool
		price            energy.Price
		n                int
	}{
		{-time.Minute, 0, 0, false, false, 0, 0},
		// The setpoint (priority 1) wins over the priority 3 one; the
		// 40 MW cap is below it, so the floor follows the cap.
		{0, 40e6, 40e6, true, true, 1234, 4},
		{45 * time.Minute, 30e6, 30e6, true, true, 1234, 5},
		{90 * time.Minute, 30e6, 30e6, true, false, 0, 3},
		// Level 2 of 0.75/0.5/0 tiers caps at 50 MW; the open cap stays.
		{150 * time.Minute, 30e6, 0, true, false, 0, 2},
	} {
		c := Resolve(events, t0.Add(tt.at), tiers)
		if c.Cap != tt.cap || c.HasCap != tt.hasCap || c.Floor != tt.floor || c.HasPrice != tt.hasPrice || c.Price != tt.price || len(c.Events) != tt.n {
			t.Errorf("at %v: %+v, want cap %v (%v) floor %v price %v (%v), %d events", tt.at, c, tt.cap, tt.hasCap, tt.floor, tt.price, tt.hasPrice, tt.n)
		}
		if strings.Contains(c.Reason, "gone") {
			t.Errorf("a cancelled event in the reason: %s", c.Reason)
		}
	}
	lvlOnly := Resolve([]Event{lvl}, t0.Add(2*time.Hour), tiers)
	if lvlOnly.Cap != 50e6 || !strings.Contains(lvlOnly.Reason, "level 2 cap") {
		t.Errorf("level 2: %+v", lvlOnly)
	}
	lvl3 := lvl
	lvl3.Level = 3
	if c := Resolve([]Event{lvl3}, t0.Add(2*time.Hour), Tiers{60e6}); c.Cap != 60e6 {
		t.Errorf("level 3 with one tier: cap %v, want the last tier", c.Cap)
	}
}

func TestNextAndStatus(t *testing.T) {
	a := ev("a", Cap, time.Hour, 2*time.Hour, 0)
	b := ev("b", Cap, 30*time.Minute, 0, 0)
	if n, ok := Next([]Event{a, b}, t0); !ok || !n.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("next %v %v", n, ok)
	}
	if n, ok := Next([]Event{a, b}, t0.Add(time.Hour)); !ok || !n.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("next after 1h %v %v", n, ok)
	}
	if _, ok := Next([]Event{a, b}, t0.Add(3*time.Hour)); ok {
		t.Error("a change after every end")
	}
	for at, want := range map[time.Duration]Status{0: Scheduled, time.Hour: Active, 2 * time.Hour: Completed} {
		if got := a.StatusAt(t0.Add(at)); got != want {
			t.Errorf("status at %v: %s, want %s", at, got, want)
		}
	}
	a.Cancelled = true
	if a.StatusAt(t0.Add(time.Hour)) != Cancelled || a.In(t0.Add(time.Hour)) {
		t.Error("a cancelled event is in force")
	}
}

func TestValidate(t *testing.T) {
	good := ev("g", Cap, 0, time.Hour, 0)
	good.Power = 1e6
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Event){
		"no id":     func(e *Event) { e.ID = "" },
		"no start":  func(e *Event) { e.Start = time.Time{} },
		"end first": func(e *Event) { e.End = e.Start },
		"kind":      func(e *Event) { e.Kind = "shed" },
		"neg power": func(e *Event) { e.Power = -1 },
		"level 4":   func(e *Event) { e.Kind, e.Level = Level, 4 },
	} {
		e := good
		mod(&e)
		if err := e.Validate(); !errors.Is(err, ErrBadEvent) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// chanSource sends what the test gives it.
type chanSource chan []Event

func (c chanSource) Run(ctx context.Context, out chan<- []Event) error {
	for {
		select {
		case evs := <-c:
			select {
			case out <- evs:
			case <-ctx.Done():
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

func TestSetMergesSourcesAndSignalsChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := make(chanSource), make(chanSource)
		capA := ev("a1", Cap, 0, time.Hour, 0)
		capA.Power = 1e6
		capB := ev("b1", Level, time.Hour, 0, 0)
		capB.Source, capB.Level = "other", 2
		bad := ev("bad", Level, 0, 0, 0)
		bad.Level = 9
		s := NewSet(nil, a, b)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()
		a <- []Event{capA}
		<-s.Changed()
		b <- []Event{capB, bad}
		<-s.Changed()
		got := s.Events()
		if len(got) != 2 || got[0].Key() != capA.Key() || got[1].Key() != capB.Key() {
			t.Errorf("events %+v, want a1 then b1 (the invalid one dropped)", got)
		}
		// The same set again is no change.
		a <- []Event{capA}
		synctest.Wait()
		select {
		case <-s.Changed():
			t.Error("an unchanged set signalled a change")
		default:
		}
		a <- nil
		<-s.Changed()
		if got := s.Events(); len(got) != 1 {
			t.Errorf("after a's set emptied: %+v", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}
