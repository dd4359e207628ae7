package braiinssim

import (
	"context"
	"math"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/braiins/bospb"
	"github.com/gridminer/gridminer/internal/minersim"
)

func gh(h energy.Hashrate) *bospb.GigaHashrate {
	return &bospb.GigaHashrate{GigahashPerSecond: float64(h) * 1000}
}

func watt(p energy.Power) *bospb.Power {
	if p <= 0 {
		return &bospb.Power{}
	}
	return &bospb.Power{Watt: uint64(math.Round(float64(p)))}
}

func temp(c float64) *bospb.Temperature { return &bospb.Temperature{DegreeC: c} }

type authSrv struct {
	d *Dialect
	bospb.UnimplementedAuthenticationServiceServer
}

// Login answers the token in the message and, as older firmware did, in
// the `authorization` response header.
func (s authSrv) Login(ctx context.Context, r *bospb.LoginRequest) (*bospb.LoginResponse, error) {
	tok, err := s.d.login(minerOf(ctx), r.GetUsername(), r.GetPassword())
	if err != nil {
		return nil, err
	}
	grpc.SetHeader(ctx, metadata.Pairs("authorization", tok))
	return &bospb.LoginResponse{Token: tok, TimeoutS: uint32(s.d.cfg.TokenTTL / time.Second)}, nil
}

type actionsSrv struct {
	d *Dialect
	bospb.UnimplementedActionsServiceServer
}

func paused(st miner.State) bool {
	return st == miner.StateSleeping || st == miner.StateRampingDown
}

func (s actionsSrv) PauseMining(ctx context.Context, _ *bospb.PauseMiningRequest) (*bospb.PauseMiningResponse, error) {
	u := minerOf(ctx)
	already := paused(u.Snapshot().State)
	u.Sleep()
	return &bospb.PauseMiningResponse{AlreadyPaused: already}, nil
}

func (s actionsSrv) ResumeMining(ctx context.Context, _ *bospb.ResumeMiningRequest) (*bospb.ResumeMiningResponse, error) {
	u := minerOf(ctx)
	already := !paused(u.Snapshot().State)
	u.Wake()
	return &bospb.ResumeMiningResponse{AlreadyMining: already}, nil
}

type perfSrv struct {
	d *Dialect
	bospb.UnimplementedPerformanceServiceServer
}

// powerRange returns the tuner range: the unit's lowest and highest
// profile power, and its default profile's.
func powerRange(u *minersim.Miner) (lo, hi, def energy.Power) {
	ps := u.Profiles()
	if len(ps) == 0 {
		return 0, 0, 0
	}
	return ps[0].Power, ps[len(ps)-1].Power, ps[u.DefaultProfileIndex()].Power
}

// target returns the miner's power target in watts.
func (d *Dialect) target(u *minersim.Miner) uint64 {
	d.mu.Lock()
	t, ok := d.targets[u]
	d.mu.Unlock()
	if !ok {
		_, _, def := powerRange(u)
		return watt(def).GetWatt()
	}
	return t
}

func (s perfSrv) GetTunerState(ctx context.Context, _ *bospb.GetTunerStateRequest) (*bospb.GetTunerStateResponse, error) {
	u := minerOf(ctx)
	ps := u.Profiles()
	p := ps[u.ProfileIndex()]
	return &bospb.GetTunerStateResponse{
		OverallTunerState: bospb.TunerState_TUNER_STATE_STABLE,
		ModeState: &bospb.GetTunerStateResponse_PowerTargetModeState{PowerTargetModeState: &bospb.PowerTargetModeState{
			Profile: &bospb.PowerTargetProfile{
				Target: watt(p.Power), MeasuredHashrate: gh(p.Hashrate), EstimatedPowerConsumption: watt(p.Power),
			},
			CurrentTarget: &bospb.Power{Watt: s.d.target(u)},
		}},
	}, nil
}

// SetPowerTarget runs the highest profile whose power fits under the
// target. A target outside the range is OutOfRange (ASSUMED: BOS's code
// for it is not documented).
func (s perfSrv) SetPowerTarget(ctx context.Context, r *bospb.SetPowerTargetRequest) (*bospb.SetPowerTargetResponse, error) {
	u := minerOf(ctx)
	w := r.GetPowerTarget().GetWatt()
	lo, hi, _ := powerRange(u)
	if r.GetPowerTarget() == nil || float64(w) < float64(watt(lo).GetWatt()) || float64(w) > float64(watt(hi).GetWatt()) {
		return nil, status.Errorf(codes.OutOfRange, "power target %d W outside %d-%d W", w, watt(lo).GetWatt(), watt(hi).GetWatt())
	}
	best := 0
	for i, p := range u.Profiles() {
		if float64(p.Power) <= float64(w) {
			best = i
		}
	}
	s.d.mu.Lock()
	s.d.targets[u] = w
	s.d.mu.Unlock()
	u.SetProfile(best)
	return &bospb.SetPowerTargetResponse{PowerTarget: &bospb.Power{Watt: w}}, nil
}

func (s perfSrv) SetDefaultPowerTarget(ctx context.Context, _ *bospb.SetDefaultPowerTargetRequest) (*bospb.SetPowerTargetResponse, error) {
	u := minerOf(ctx)
	s.d.mu.Lock()
	delete(s.d.targets, u)
	s.d.mu.Unlock()
	u.SetProfile(u.DefaultProfileIndex())
	return &bospb.SetPowerTargetResponse{PowerTarget: &bospb.Power{Watt: s.d.target(u)}}, nil
}

// SetQuickRamping records the ramp times; the simulator's ramps do not
// change (they are fleet-wide).
func (s perfSrv) SetQuickRamping(ctx context.Context, r *bospb.SetQuickRampingRequest) (*bospb.QuickRampingResponse, error) {
	s.d.mu.Lock()
	s.d.ramping[minerOf(ctx)] = [2]uint32{r.GetUpS(), r.GetDownS()}
	s.d.mu.Unlock()
	return &bospb.QuickRampingResponse{UpS: r.GetUpS(), DownS: r.GetDownS()}, nil
}

type configSrv struct {
	d *Dialect
	bospb.UnimplementedConfigurationServiceServer
}

func (s configSrv) GetConstraints(ctx context.Context, _ *bospb.GetConstraintsRequest) (*bospb.GetConstraintsResponse, error) {
	lo, hi, def := powerRange(minerOf(ctx))
	return &bospb.GetConstraintsResponse{
		TunerConstraints: &bospb.TunerConstraints{PowerTarget: &bospb.PowerConstraints{
			Default: watt(def), Min: watt(lo), Max: watt(hi),
		}},
	}, nil
}

type minerSrv struct {
	d *Dialect
	bospb.UnimplementedMinerServiceServer
}

func (s minerSrv) GetMinerDetails(ctx context.Context, _ *bospb.GetMinerDetailsRequest) (*bospb.GetMinerDetailsResponse, error) {
	u := minerOf(ctx)
	id, m, snap := u.Identity(), u.Model(), u.Snapshot()
	st := bospb.MinerStatus_MINER_STATUS_NORMAL
	if paused(snap.State) {
		st = bospb.MinerStatus_MINER_STATUS_PAUSED
	}
	up := snap.Time.Sub(u.Started())
	serial := id.Serial
	return &bospb.GetMinerDetailsResponse{
		Uid: id.Serial,
		MinerIdentity: &bospb.MinerIdentity{
			Brand: bospb.MinerBrand_MINER_BRAND_ANTMINER, Name: m.Type, MinerModel: m.Type,
		},
		BosVersion:      &bospb.BosVersion{Current: s.d.cfg.Version, Major: s.d.cfg.Version, BosPlus: true},
		Hostname:        id.Hostname,
		MacAddress:      id.MAC,
		StickerHashrate: gh(m.NominalHashrate),
		BosminerUptimeS: uint64(max(up, 0) / time.Second),
		SystemUptimeS:   uint64(max(up, 0) / time.Second),
		Status:          st,
		SerialNumber:    &serial,
	}, nil
}

func (s minerSrv) GetMinerStats(ctx context.Context, _ *bospb.GetMinerStatsRequest) (*bospb.GetMinerStatsResponse, error) {
	snap := minerOf(ctx).Snapshot()
	h := gh(snap.Hashrate)
	return &bospb.GetMinerStatsResponse{
		PoolStats: &bospb.PoolStats{AcceptedShares: snap.Accepted, RejectedShares: snap.Rejected},
		MinerStats: &bospb.WorkSolverStats{
			RealHashrate:    &bospb.RealHashrate{Last_5S: h, Last_1M: h, Last_5M: h, SinceRestart: h},
			NominalHashrate: gh(snap.ProfileHashrate),
		},
		PowerStats: &bospb.MinerPowerStats{ApproximatedConsumption: watt(snap.Power)},
	}, nil
}

// GetHashboards splits the hashrate over the active boards; a dead board
// (the dead-board fault) is the first.
func (s minerSrv) GetHashboards(ctx context.Context, _ *bospb.GetHashboardsRequest) (*bospb.GetHashboardsResponse, error) {
	u := minerOf(ctx)
	snap, n := u.Snapshot(), u.Model().Boards
	var out bospb.GetHashboardsResponse
	for i := range n {
		var h energy.Hashrate
		if i >= n-snap.BoardsActive {
			h = snap.Hashrate / energy.Hashrate(snap.BoardsActive)
		}
		out.Hashboards = append(out.Hashboards, &bospb.Hashboard{
			Id: strconv.Itoa(i), Enabled: true,
			HighestChipTemp: &bospb.TemperatureSensor{Location: bospb.SensorLocation_SENSOR_LOCATION_CHIP, Temperature: temp(snap.ChipTempC)},
			BoardTemp:       temp(snap.BoardTempC),
			Stats:           &bospb.WorkSolverStats{RealHashrate: &bospb.RealHashrate{Last_5S: gh(h)}},
		})
	}
	return &out, nil
}

type coolingSrv struct {
	d *Dialect
	bospb.UnimplementedCoolingServiceServer
}

func (s coolingSrv) GetCoolingState(ctx context.Context, _ *bospb.GetCoolingStateRequest) (*bospb.GetCoolingStateResponse, error) {
	snap := minerOf(ctx).Snapshot()
	out := &bospb.GetCoolingStateResponse{
		HighestTemperature: &bospb.TemperatureSensor{Location: bospb.SensorLocation_SENSOR_LOCATION_CHIP, Temperature: temp(snap.ChipTempC)},
	}
	for i, rpm := range snap.FanRPM {
		pos := uint32(i)
		out.Fans = append(out.Fans, &bospb.FanState{Position: &pos, Rpm: uint32(max(rpm, 0))})
	}
	return out, nil
}
