// Package miner defines the contract between gridminer and one controllable
// mining machine, whatever its firmware: what it can do (Capabilities), what
// it reports (Status), what it is told (Setpoint) and the errors callers
// branch on.
//
// The package holds no driver code; each firmware API lives in its own
// package under internal/miner/ and returns a value satisfying Miner.
package miner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
)

// Miner is one controllable machine. Implementations are safe for concurrent use.
type Miner interface {
	// Addr returns the address the driver talks to (host:port).
	Addr() string
	// Capabilities reports what the machine can do. Drivers learn it when
	// they are created (and may refresh it on Status); it never does I/O.
	Capabilities() Capabilities
	// Status reads fresh telemetry from the machine.
	Status(ctx context.Context) (Status, error)
	// Apply tells the machine to run at a power target or to sleep. It
	// returns when the machine has accepted the command, not when the
	// physical change is complete; callers verify with Status.
	Apply(ctx context.Context, sp Setpoint) error
}

// State is the operating state of a machine as gridminer sees it.
type State string

// States. Ramping states are transitions the firmware reports (or the
// driver infers) between mining and sleeping.
const (
	StateUnknown     State = "unknown"
	StateMining      State = "mining"
	StateRampingDown State = "ramping_down"
	StateSleeping    State = "sleeping"
	StateWaking      State = "waking"
	StateOffline     State = "offline"
)

// States lists every state in display order.
var States = []State{StateMining, StateWaking, StateRampingDown, StateSleeping, StateOffline, StateUnknown}

// Active reports whether the machine draws mining power in state s or is on
// its way to it.
func (s State) Active() bool { return s == StateMining || s == StateWaking }

// Capabilities describes what a machine can do. It is data, not behaviour.
type Capabilities struct {
	Driver   string // driver name, e.g. "luxos"
	Model    string // e.g. "Antminer S19j Pro"
	Firmware string // firmware name and version as reported

	NominalPower    energy.Power    // watts at the default profile
	NominalHashrate energy.Hashrate // TH/s at the default profile

	// CanSleep is true when the machine can be put in a low-power sleep
	// and woken by command; SleepPower is what it draws asleep.
	CanSleep   bool
	SleepPower energy.Power

	// MinPower and MaxPower bound the power targets the machine accepts
	// while mining. Both are zero when it supports no partial power.
	MinPower energy.Power
	MaxPower energy.Power
	// PowerSteps, when not empty, lists the discrete power levels the
	// machine can run at (LuxOS profiles), ascending. A target between
	// steps runs at the highest step that fits under it.
	PowerSteps []PowerStep

	// RampDown and RampUp are the typical times from a command to the new
	// power level being reached.
	RampDown time.Duration
	RampUp   time.Duration

	// PowerMeasured is false when the machine reports no watts and Status
	// carries an estimate.
	PowerMeasured bool
}

// PowerStep is one discrete operating point of a machine.
type PowerStep struct {
	Name     string
	Power    energy.Power
	Hashrate energy.Hashrate
}

// Clone returns a copy of c that shares no memory with it, for drivers
// handing out or taking in capabilities.
func (c Capabilities) Clone() Capabilities {
	c.PowerSteps = append([]PowerStep(nil), c.PowerSteps...)
	return c
}

// Partial reports whether the machine accepts power targets below maximum.
func (c Capabilities) Partial() bool { return c.MaxPower > 0 && c.MinPower < c.MaxPower }

// NominalEfficiency returns the machine's J/TH at its nominal point.
func (c Capabilities) NominalEfficiency() energy.Efficiency {
	return energy.EfficiencyOf(c.NominalPower, c.NominalHashrate)
}

// StepFor returns the highest power step whose power is at most target. ok
// is false when the machine has no steps or target is below the lowest.
func (c Capabilities) StepFor(target energy.Power) (step PowerStep, ok bool) {
	for _, s := range c.PowerSteps {
		if s.Power <= target {
			step, ok = s, true
		}
	}
	return step, ok
}

// Status is one reading of a machine's telemetry.
type Status struct {
	Time  time.Time // when the reading was taken (injected clock)
	State State

	Power          energy.Power    // input power now
	PowerEstimated bool            // Power is a model estimate, not a reading
	PowerTarget    energy.Power    // current power target or profile watts; 0 if none
	Profile        string          // current profile name, if the firmware has profiles
	Hashrate       energy.Hashrate // short-window hashrate (e.g. 5 s)
	HashrateAvg    energy.Hashrate // average since start

	TempMaxC     float64 // hottest chip or board, °C
	FanRPM       []int
	Boards       int // hashboards present
	BoardsActive int // hashboards hashing
	Uptime       time.Duration

	Accepted, Rejected uint64 // shares since start
}

// Mode says whether a machine should mine or sleep.
type Mode string

// Modes.
const (
	ModeRun   Mode = "run"
	ModeSleep Mode = "sleep"
)

// Setpoint is what a machine is told to do.
type Setpoint struct {
	Mode Mode
	// Power is the power target while running. Zero means the machine's
	// nominal (default) operating point.
	Power energy.Power
}

// Run returns a running setpoint at power p (0 = nominal).
func Run(p energy.Power) Setpoint { return Setpoint{Mode: ModeRun, Power: p} }

// Sleep returns a sleeping setpoint.
func Sleep() Setpoint { return Setpoint{Mode: ModeSleep} }

func (s Setpoint) String() string {
	if s.Mode == ModeRun && s.Power > 0 {
		return fmt.Sprintf("run@%s", s.Power)
	}
	return string(s.Mode)
}

// Errors callers branch on. Drivers wrap them with the device and operation.
var (
	// ErrUnsupported: the machine cannot do what was asked.
	ErrUnsupported = errors.New("unsupported by this miner")
	// ErrUnreachable: no connection, no answer, or an answer cut short.
	ErrUnreachable = errors.New("miner unreachable")
	// ErrDenied: the machine refused for lack of privilege or session.
	ErrDenied = errors.New("access denied")
	// ErrRejected: the machine answered with an error status.
	ErrRejected = errors.New("command rejected")
	// ErrProtocol: the reply could not be understood.
	ErrProtocol = errors.New("protocol error")
)
