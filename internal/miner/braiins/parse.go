package braiins

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/braiins/bospb"
)

// wire is one Status's worth of replies.
type wire struct {
	details *bospb.GetMinerDetailsResponse
	stats   *bospb.GetMinerStatsResponse
	tuner   *bospb.GetTunerStateResponse
	boards  *bospb.GetHashboardsResponse
	cooling *bospb.GetCoolingStateResponse
}

// ths converts a GigaHashrate to TH/s; NaN, infinite and negative values
// read as zero.
func ths(g *bospb.GigaHashrate) energy.Hashrate {
	v := g.GetGigahashPerSecond() / 1000
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return energy.Hashrate(v)
}

func watts(p *bospb.Power) energy.Power {
	w := p.GetWatt()
	if w > 1<<40 { // absurd; do not let it overflow arithmetic downstream
		return 0
	}
	return energy.Power(w)
}

func celsius(t *bospb.Temperature) float64 {
	v := t.GetDegreeC()
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// capsFrom builds Capabilities from GetMinerDetails and GetConstraints.
// NominalPower is the tuner's default power target; NominalHashrate the
// sticker hashrate. The tuner accepts any whole-watt target in
// [min, max], so PowerSteps stays empty.
func capsFrom(det *bospb.GetMinerDetailsResponse, cons *bospb.GetConstraintsResponse) (miner.Capabilities, error) {
	pt := cons.GetTunerConstraints().GetPowerTarget()
	c := miner.Capabilities{
		Driver:          Name,
		Model:           det.GetMinerIdentity().GetMinerModel(),
		Firmware:        firmware(det.GetBosVersion()),
		NominalPower:    watts(pt.GetDefault()),
		NominalHashrate: ths(det.GetStickerHashrate()),
		CanSleep:        true,
		MinPower:        watts(pt.GetMin()),
		MaxPower:        watts(pt.GetMax()),
		PowerMeasured:   true,
	}
	if c.Model == "" {
		c.Model = det.GetMinerIdentity().GetName()
	}
	if r := cons.GetHashboardsConstraints().GetQuickRampingTimeS(); r != nil && r.GetDefault() > 0 {
		d := time.Duration(r.GetDefault()) * time.Second
		c.RampUp, c.RampDown = d, d
	}
	if c.NominalPower <= 0 {
		return miner.Capabilities{}, fmt.Errorf("constraints: no default power target: %w", miner.ErrProtocol)
	}
	if c.MinPower > c.MaxPower || c.MaxPower == 0 {
		c.MinPower, c.MaxPower = 0, 0 // no usable range: no partial power
	}
	return c, nil
}

func firmware(v *bospb.BosVersion) string {
	name := "Braiins OS"
	if v.GetBosPlus() {
		name = "Braiins OS+"
	}
	if cur := strings.TrimSpace(v.GetCurrent()); cur != "" {
		return name + " " + cur
	}
	return name
}

// statusFrom builds a Status (without Time) from one set of replies.
//
// State: MINER_STATUS_PAUSED is sleeping, or ramping down while the
// machine still hashes or draws more than a tenth of nominal;
// MINER_STATUS_NORMAL is mining, or waking while the 5 s hashrate is still
// zero. NOT_STARTED is offline; SUSPENDED (stopped by the firmware, e.g.
// Dynamic Performance Scaling shutdown) is sleeping; RESTRICTED is mining.
func statusFrom(w wire, caps miner.Capabilities) (miner.Status, error) {
	if w.details == nil || w.stats == nil {
		return miner.Status{}, fmt.Errorf("missing details or stats: %w", miner.ErrProtocol)
	}
	ms := w.stats.GetMinerStats()
	st := miner.Status{
		Power:       watts(w.stats.GetPowerStats().GetApproximatedConsumption()),
		Hashrate:    ths(ms.GetRealHashrate().GetLast_5S()),
		HashrateAvg: ths(ms.GetRealHashrate().GetSinceRestart()),
		Uptime:      uptime(w.details.GetBosminerUptimeS()),
		Accepted:    w.stats.GetPoolStats().GetAcceptedShares(),
		Rejected:    w.stats.GetPoolStats().GetRejectedShares(),
		TempMaxC:    celsius(w.cooling.GetHighestTemperature().GetTemperature()),
	}
	if pt := w.tuner.GetPowerTargetModeState(); pt != nil {
		st.PowerTarget = watts(pt.GetCurrentTarget())
	}
	for _, f := range w.cooling.GetFans() {
		st.FanRPM = append(st.FanRPM, int(f.GetRpm()))
	}
	for _, b := range w.boards.GetHashboards() {
		st.Boards++
		if b.GetEnabled() && ths(b.GetStats().GetRealHashrate().GetLast_5S()) > 0 {
			st.BoardsActive++
		}
		st.TempMaxC = max(st.TempMaxC, celsius(b.GetHighestChipTemp().GetTemperature()), celsius(b.GetBoardTemp()))
	}
	busy := st.Hashrate > 0 || (caps.NominalPower > 0 && st.Power > caps.NominalPower/10)
	switch w.details.GetStatus() {
	case bospb.MinerStatus_MINER_STATUS_NORMAL, bospb.MinerStatus_MINER_STATUS_RESTRICTED:
		st.State = miner.StateMining
		if st.Hashrate == 0 {
			st.State = miner.StateWaking
		}
	case bospb.MinerStatus_MINER_STATUS_PAUSED, bospb.MinerStatus_MINER_STATUS_SUSPENDED:
		st.State = miner.StateSleeping
		if busy {
			st.State = miner.StateRampingDown
		}
	case bospb.MinerStatus_MINER_STATUS_NOT_STARTED:
		st.State = miner.StateOffline
	default:
		st.State = miner.StateUnknown
	}
	return st, nil
}

func uptime(s uint64) time.Duration {
	if s > uint64(math.MaxInt64/int64(time.Second)) {
		return 0
	}
	return time.Duration(s) * time.Second
}
