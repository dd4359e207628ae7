package minersim

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
)

// Fault is a misbehaviour injected into one miner. The zero value is
// FaultNone. Build slow answers with FaultSlow.
type Fault int64

// Faults. FaultDeadBoard is physical (one hashboard of three stops: power
// and hashrate fall by a third); the others are about the connection.
const (
	FaultNone      Fault = 0
	FaultNoAnswer  Fault = 1 // accept, read, never reply until the client gives up
	FaultRefuse    Fault = 2 // close (reset) each connection at once
	FaultGarbage   Fault = 3 // reply with bytes that are not the protocol
	FaultTruncate  Fault = 4 // reply with the first half of the real reply, no NUL
	FaultDeadBoard Fault = 5 // hashboard 0 dead
	faultSlow      Fault = 6 // reply after Delay() of wall time
	// FaultIgnoreSleep is a lying miner: it acknowledges sleep and reports
	// itself asleep, but keeps drawing its mining power (only a meter sees
	// it: Fleet.TotalPower and Miner.ActualPower count the draw).
	FaultIgnoreSleep Fault = 7
	faultKindBits          = 4
)

// FaultSlow returns a fault that delays each reply by d of wall time.
func FaultSlow(d time.Duration) Fault {
	if d < 0 {
		d = 0
	}
	return faultSlow | Fault(d)<<faultKindBits
}

func (f Fault) kind() Fault { return f & (1<<faultKindBits - 1) }

// Delay returns the wall-time delay of a slow fault, else 0.
func (f Fault) Delay() time.Duration {
	if f.kind() != faultSlow {
		return 0
	}
	return time.Duration(f >> faultKindBits)
}

func (f Fault) String() string {
	switch f.kind() {
	case FaultNone:
		return "none"
	case FaultNoAnswer:
		return "no-answer"
	case FaultRefuse:
		return "refuse"
	case FaultGarbage:
		return "garbage"
	case FaultTruncate:
		return "truncate"
	case FaultDeadBoard:
		return "dead-board"
	case FaultIgnoreSleep:
		return "ignore-sleep"
	case faultSlow:
		return "slow(" + f.Delay().String() + ")"
	}
	return "unknown"
}

// Snapshot is the ground truth of one miner at one instant of the fleet's
// clock, for tests and benchmarks.
type Snapshot struct {
	Addr     string
	Model    string
	Time     time.Time
	State    miner.State
	Power    energy.Power
	Hashrate energy.Hashrate
	Profile  string
	// ProfilePower and ProfileHashrate are the unit's figures for Profile.
	ProfilePower    energy.Power
	ProfileHashrate energy.Hashrate
	ChipTempC       float64 // hottest chip
	BoardTempC      float64
	FanRPM          []int
	BoardsActive    int
	Accepted        uint64
	Rejected        uint64
	SessionID       string // live session, "" if none
	ATM             bool
	Fault           Fault
}

// Timing of the physical model.
const (
	thermalTau    = 20 * time.Second
	sessionTTL    = 60 * time.Second
	shareDiff     = 65536
	ambientC      = 25.0
	maxFanRPM     = 6000
	minFanRPM     = 1800
	hashesPerTHs  = 1e12
	twoTo32       = 4294967296.0
	profileRampOf = 2 // a profile change ramps over WakeRamp / profileRampOf
)

// emaTau returns the window in seconds of moving average i: 1m, 5m, 15m, 30m.
func emaTau(i int) float64 { return [4]float64{60, 300, 900, 1800}[i] }

// segment is one linear ramp of (power, hashrate) from (p0, h0) at t0 to
// (p1, h1) at t0+d; constant afterwards. Values are for a healthy unit.
type segment struct {
	t0     time.Time
	d      time.Duration
	p0, h0 float64
	p1, h1 float64
}

func (s *segment) at(t time.Time) (p, h float64) {
	if s.d <= 0 || !t.Before(s.t0.Add(s.d)) {
		return s.p1, s.h1
	}
	x := float64(t.Sub(s.t0)) / float64(s.d)
	if x < 0 {
		x = 0
	}
	return s.p0 + (s.p1-s.p0)*x, s.h0 + (s.h1-s.h0)*x
}

func (s *segment) ramping(t time.Time) bool { return s.d > 0 && t.Before(s.t0.Add(s.d)) }

// Miner is one virtual machine. Its methods are safe for concurrent use.
type Miner struct {
	index    int
	addr     string // set before the fleet is ready, read-only afterwards
	model    Model
	profiles []Profile
	defIdx   int // index of "default" in profiles
	names    unitNames
	clk      clock.Clock
	wakeRamp time.Duration
	sleepRmp time.Duration
	started  time.Time

	fault atomic.Int64

	mu        sync.Mutex
	rng       *rand.Rand
	asleep    bool // commanded state
	waking    bool // current segment is a wake ramp
	profile   int
	seg       segment
	last      time.Time // model integrated up to here
	thDone    float64   // TH hashed (TH/s · s)
	ema       [4]float64
	chipC     float64
	boardC    float64
	session   string
	sessUsed  time.Time
	atm       bool
	lastShare time.Time
	// phantom is power drawn but not reported (FaultIgnoreSleep), W.
	phantom float64
	// sessClk times session expiry. LuxOS sessions are a protocol timeout,
	// so a fleet uses the wall clock even when its physics runs accelerated;
	// a miner built alone (unit tests) uses its model clock.
	sessClk clock.Clock

	dialectName string
	dialect     Dialect // nil: the built-in LuxOS dialect
}

func newMiner(index int, spec MinerSpec, m Model, clk clock.Clock, wake, sleep time.Duration, asleep bool) *Miner {
	rng := rand.New(rand.NewPCG(uint64(spec.Seed), uint64(index)*0x9e3779b97f4a7c15+1))
	hf := 1 + (rng.Float64()*2-1)*0.03
	pf := 1 + (rng.Float64()*2-1)*0.05
	u := &Miner{
		index: index, model: m, profiles: m.profiles(hf, pf), clk: clk, sessClk: clk,
		wakeRamp: wake, sleepRmp: sleep, rng: rng, atm: true,
		names: newUnitNames(index, m),
	}
	for i, p := range u.profiles {
		if p.Step == 0 {
			u.defIdx, u.profile = i, i
		}
	}
	now := clk.Now()
	u.started, u.last, u.lastShare = now, now, now
	u.asleep = asleep
	p := u.profiles[u.profile]
	if asleep {
		u.seg = segment{t0: now, p0: float64(m.SleepPower), p1: float64(m.SleepPower)}
		u.chipC, u.boardC = ambientC, ambientC
	} else {
		u.seg = segment{t0: now, p0: float64(p.Power), h0: float64(p.Hashrate), p1: float64(p.Power), h1: float64(p.Hashrate)}
		u.chipC, u.boardC = u.tempTargets(float64(p.Power))
		for i := range u.ema {
			u.ema[i] = float64(p.Hashrate)
		}
	}
	return u
}

// Addr returns the address clients dial ("127.1.0.1:4028"); valid once the
// fleet is ready.
func (u *Miner) Addr() string { return u.addr }

// Model returns the miner's model.
func (u *Miner) Model() Model { return u.model }

// Profiles returns this unit's profiles (nameplate times its manufacturing
// variation), lowest frequency first.
func (u *Miner) Profiles() []Profile { return append([]Profile(nil), u.profiles...) }

// SetFault replaces the miner's fault; FaultNone clears it.
func (u *Miner) SetFault(f Fault) {
	u.mu.Lock()
	u.advance(u.now())
	u.fault.Store(int64(f))
	u.mu.Unlock()
}

func (u *Miner) currentFault() Fault { return Fault(u.fault.Load()) }

// ActualPower is what the miner draws now, reported or not (a meter's
// view): its power plus any draw a FaultIgnoreSleep hides.
func (u *Miner) ActualPower() energy.Power {
	u.mu.Lock()
	defer u.mu.Unlock()
	t := u.now()
	u.advance(t)
	p, _ := u.powerHash(t)
	return energy.Power(p + u.phantom)
}

// now reads the clock; callers hold mu. Time never runs backwards for a unit.
func (u *Miner) now() time.Time {
	t := u.clk.Now()
	if t.Before(u.last) {
		return u.last
	}
	return t
}

// boardFactor is the share of hashboards working.
func (u *Miner) boardFactor() float64 {
	if u.currentFault() == FaultDeadBoard {
		return float64(u.model.Boards-1) / float64(u.model.Boards)
	}
	return 1
}

// powerHash returns the unit's power and hashrate at t (after faults).
func (u *Miner) powerHash(t time.Time) (p, h float64) {
	p, h = u.seg.at(t)
	bf := u.boardFactor()
	sp := float64(u.model.SleepPower)
	if p > sp {
		p = sp + (p-sp)*bf
	}
	return p, h * bf
}

func (u *Miner) tempTargets(p float64) (chip, board float64) {
	nom := float64(u.profiles[u.defIdx].Power) - float64(u.model.SleepPower)
	x := (p - float64(u.model.SleepPower)) / nom
	if x < 0 {
		x = 0
	}
	return ambientC + 40*x, ambientC + 30*x
}

// advance integrates hashes, moving averages and temperatures up to t.
// Callers hold mu.
func (u *Miner) advance(t time.Time) {
	dt := t.Sub(u.last).Seconds()
	if dt <= 0 {
		return
	}
	// Mean hashrate over [last, t]: the segment is linear then flat.
	_, h0 := u.powerHash(u.last)
	_, h1 := u.powerHash(t)
	mean := (h0 + h1) / 2
	if end := u.seg.t0.Add(u.seg.d); u.seg.ramping(u.last) && t.After(end) {
		_, he := u.powerHash(end)
		a := end.Sub(u.last).Seconds()
		mean = ((h0+he)/2*a + he*(dt-a)) / dt
	}
	u.thDone += mean * dt
	for i := range u.ema {
		u.ema[i] += (mean - u.ema[i]) * (1 - math.Exp(-dt/emaTau(i)))
	}
	p, _ := u.powerHash(t)
	tc, tb := u.tempTargets(p)
	k := 1 - math.Exp(-dt/thermalTau.Seconds())
	u.chipC += (tc - u.chipC) * k
	u.boardC += (tb - u.boardC) * k
	if h1 > 0 {
		u.lastShare = t.Add(-time.Duration(u.rng.IntN(5)) * time.Second)
	}
	u.last = t
}

// stateAt derives the operating state at t. Callers hold mu.
func (u *Miner) stateAt(t time.Time) miner.State {
	ramping := u.seg.ramping(t)
	switch {
	case u.asleep && ramping:
		return miner.StateRampingDown
	case u.asleep:
		return miner.StateSleeping
	case u.waking && ramping:
		return miner.StateWaking
	}
	return miner.StateMining
}

func (u *Miner) accepted() uint64 {
	return uint64(u.thDone * hashesPerTHs / (twoTo32 * shareDiff))
}

func (u *Miner) rejected() uint64 { return u.accepted() / 400 }

// sleep starts a ramp down to sleep power. Callers hold mu and advanced.
func (u *Miner) sleep(t time.Time) {
	if u.asleep {
		return
	}
	p, h := u.seg.at(t)
	u.asleep, u.waking = true, false
	u.seg = segment{t0: t, d: u.sleepRmp, p0: p, h0: h, p1: float64(u.model.SleepPower)}
	if u.currentFault().kind() == FaultIgnoreSleep {
		pr := u.profiles[u.profile]
		u.phantom = float64(pr.Power) - float64(u.model.SleepPower)
	}
}

// wake starts a ramp up to the current profile. Callers hold mu and advanced.
func (u *Miner) wake(t time.Time) {
	if !u.asleep {
		return
	}
	p, h := u.seg.at(t)
	pr := u.profiles[u.profile]
	u.phantom = 0
	u.asleep, u.waking = false, true
	u.seg = segment{t0: t, d: u.wakeRamp, p0: p, h0: h, p1: float64(pr.Power), h1: float64(pr.Hashrate)}
}

// setProfile switches profile; a mining unit ramps to it. Callers hold mu
// and advanced.
func (u *Miner) setProfile(t time.Time, i int) {
	u.profile = i
	if u.asleep {
		return
	}
	p, h := u.seg.at(t)
	pr := u.profiles[i]
	d := u.wakeRamp / profileRampOf
	if u.waking && u.seg.ramping(t) {
		d = u.seg.t0.Add(u.seg.d).Sub(t)
	} else {
		u.waking = false
	}
	u.seg = segment{t0: t, d: d, p0: p, h0: h, p1: float64(pr.Power), h1: float64(pr.Hashrate)}
}

// Snapshot returns the miner's ground truth now.
func (u *Miner) Snapshot() Snapshot {
	u.mu.Lock()
	defer u.mu.Unlock()
	t := u.now()
	u.advance(t)
	return u.snapshotLocked(t)
}

func (u *Miner) snapshotLocked(t time.Time) Snapshot {
	p, h := u.powerHash(t)
	pr := u.profiles[u.profile]
	st := u.stateAt(t)
	active := u.model.Boards
	if u.currentFault() == FaultDeadBoard {
		active--
	}
	if st == miner.StateSleeping {
		active = 0
	}
	s := Snapshot{
		Addr: u.addr, Model: u.model.Name, Time: t, State: st,
		Power: energy.Power(p), Hashrate: energy.Hashrate(h),
		Profile: pr.Name, ProfilePower: pr.Power, ProfileHashrate: pr.Hashrate,
		ChipTempC: u.chipC, BoardTempC: u.boardC,
		BoardsActive: active,
		Accepted:     u.accepted(), Rejected: u.rejected(),
		ATM: u.atm, Fault: u.currentFault(),
	}
	if u.sessionLive() {
		s.SessionID = u.session
	}
	s.FanRPM = make([]int, u.model.Fans)
	for i := range s.FanRPM {
		s.FanRPM[i] = u.fanRPM(i, st)
	}
	return s
}

// fanRPM follows the chip temperature; fans stop with the PSU asleep.
func (u *Miner) fanRPM(i int, st miner.State) int {
	if st == miner.StateSleeping {
		return 0
	}
	x := (u.chipC - 40) / 40
	x = math.Min(math.Max(x, 0), 1)
	return int(minFanRPM+x*(maxFanRPM-minFanRPM)) + (i*37)%90 - 30
}

func (u *Miner) sessionLive() bool {
	return u.session != "" && u.sessClk.Now().Sub(u.sessUsed) < sessionTTL
}

const sessionAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func (u *Miner) newSessionID() string {
	var b [8]byte
	for i := range b {
		b[i] = sessionAlphabet[u.rng.IntN(len(sessionAlphabet))]
	}
	return string(b[:])
}
