package braiins

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/braiins/bospb"
)

func TestSentinel(t *testing.T) {
	tests := []struct {
		code codes.Code
		want error
	}{
		{codes.Unauthenticated, miner.ErrDenied},
		{codes.PermissionDenied, miner.ErrDenied},
		{codes.Unavailable, miner.ErrUnreachable},
		{codes.DeadlineExceeded, miner.ErrUnreachable},
		{codes.Canceled, miner.ErrUnreachable},
		{codes.InvalidArgument, miner.ErrRejected},
		{codes.FailedPrecondition, miner.ErrRejected},
		{codes.NotFound, miner.ErrRejected},
		{codes.OutOfRange, miner.ErrUnsupported},
		{codes.Unimplemented, miner.ErrUnsupported},
		{codes.Internal, miner.ErrProtocol},
		{codes.Unknown, miner.ErrProtocol},
		{codes.DataLoss, miner.ErrProtocol},
	}
	for _, tt := range tests {
		err := mapErr(context.Background(), status.Error(tt.code, "x"))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.code, err, tt.want)
		}
	}
	if err := mapErr(context.Background(), errors.New("dial tcp: refused")); !errors.Is(err, miner.ErrUnreachable) {
		t.Errorf("plain error: %v, want ErrUnreachable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := mapErr(ctx, fmt.Errorf("boom")); !errors.Is(err, miner.ErrUnreachable) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want ErrUnreachable wrapping context.Canceled", err)
	}
}

func gh(ths float64) *bospb.GigaHashrate { return &bospb.GigaHashrate{GigahashPerSecond: ths * 1000} }

func statsMsg(watt uint64, ths float64) *bospb.GetMinerStatsResponse {
	return &bospb.GetMinerStatsResponse{
		PoolStats:  &bospb.PoolStats{AcceptedShares: 10, RejectedShares: 1},
		MinerStats: &bospb.WorkSolverStats{RealHashrate: &bospb.RealHashrate{Last_5S: gh(ths), SinceRestart: gh(ths / 2)}},
		PowerStats: &bospb.MinerPowerStats{ApproximatedConsumption: &bospb.Power{Watt: watt}},
	}
}

func TestStatusFrom(t *testing.T) {
	caps := miner.Capabilities{NominalPower: 3000}
	boards := &bospb.GetHashboardsResponse{Hashboards: []*bospb.Hashboard{
		{Id: "0", Enabled: true, Stats: &bospb.WorkSolverStats{RealHashrate: &bospb.RealHashrate{Last_5S: gh(0)}}, BoardTemp: &bospb.Temperature{DegreeC: 50}},
		{Id: "1", Enabled: true, Stats: &bospb.WorkSolverStats{RealHashrate: &bospb.RealHashrate{Last_5S: gh(50)}},
			HighestChipTemp: &bospb.TemperatureSensor{Temperature: &bospb.Temperature{DegreeC: 71.5}}},
	}}
	cooling := &bospb.GetCoolingStateResponse{Fans: []*bospb.FanState{{Rpm: 4000}, {Rpm: 4100}}}
	tuner := &bospb.GetTunerStateResponse{ModeState: &bospb.GetTunerStateResponse_PowerTargetModeState{
		PowerTargetModeState: &bospb.PowerTargetModeState{CurrentTarget: &bospb.Power{Watt: 2500}}}}
	details := func(s bospb.MinerStatus) *bospb.GetMinerDetailsResponse {
		return &bospb.GetMinerDetailsResponse{Status: s, BosminerUptimeS: 90}
	}
	tests := []struct {
		name string
		w    wire
		want miner.Status
	}{
		{"mining", wire{details(bospb.MinerStatus_MINER_STATUS_NORMAL), statsMsg(2480, 100), tuner, boards, cooling}, miner.Status{
			State: miner.StateMining, Power: 2480, PowerTarget: 2500, Hashrate: 100, HashrateAvg: 50,
			TempMaxC: 71.5, FanRPM: []int{4000, 4100}, Boards: 2, BoardsActive: 1, Uptime: 90 * time.Second, Accepted: 10, Rejected: 1,
		}},
		{"waking", wire{details(bospb.MinerStatus_MINER_STATUS_NORMAL), statsMsg(25, 0), nil, nil, nil}, miner.Status{
			State: miner.StateWaking, Power: 25, Uptime: 90 * time.Second, Accepted: 10, Rejected: 1,
		}},
		{"ramping down", wire{details(bospb.MinerStatus_MINER_STATUS_PAUSED), statsMsg(1500, 0), nil, nil, nil}, miner.Status{
			State: miner.StateRampingDown, Power: 1500, Uptime: 90 * time.Second, Accepted: 10, Rejected: 1,
		}},
		{"sleeping", wire{details(bospb.MinerStatus_MINER_STATUS_PAUSED), statsMsg(25, 0), nil, nil, nil}, miner.Status{
			State: miner.StateSleeping, Power: 25, Uptime: 90 * time.Second, Accepted: 10, Rejected: 1,
		}},
		{"not started", wire{details(bospb.MinerStatus_MINER_STATUS_NOT_STARTED), statsMsg(0, 0), nil, nil, nil}, miner.Status{
			State: miner.StateOffline, Uptime: 90 * time.Second, Accepted: 10, Rejected: 1,
		}},
		{"unspecified", wire{details(0), statsMsg(0, 0), nil, nil, nil}, miner.Status{
			State: miner.StateUnknown, Uptime: 90 * time.Second, Accepted: 10, Rejected: 1,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := statusFrom(tt.w, caps)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := statusFrom(wire{}, caps); !errors.Is(err, miner.ErrProtocol) {
		t.Errorf("empty replies: %v, want ErrProtocol", err)
	}
}

func TestCapsFrom(t *testing.T) {
	det := &bospb.GetMinerDetailsResponse{
		MinerIdentity:   &bospb.MinerIdentity{Name: "Antminer S19j Pro", MinerModel: "Antminer S19j Pro"},
		BosVersion:      &bospb.BosVersion{Current: "25.07", BosPlus: true},
		StickerHashrate: gh(104),
	}
	cons := &bospb.GetConstraintsResponse{
		TunerConstraints: &bospb.TunerConstraints{PowerTarget: &bospb.PowerConstraints{
			Default: &bospb.Power{Watt: 3068}, Min: &bospb.Power{Watt: 1800}, Max: &bospb.Power{Watt: 3600},
		}},
		HashboardsConstraints: &bospb.HashboardConstraints{QuickRampingTimeS: &bospb.UInt32Constraints{Default: 30}},
	}
	got, err := capsFrom(det, cons)
	if err != nil {
		t.Fatal(err)
	}
	want := miner.Capabilities{
		Driver: "braiins", Model: "Antminer S19j Pro", Firmware: "Braiins OS+ 25.07",
		NominalPower: 3068, NominalHashrate: 104, CanSleep: true, MinPower: 1800, MaxPower: 3600,
		RampDown: 30 * time.Second, RampUp: 30 * time.Second, PowerMeasured: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("caps (-want +got):\n%s", diff)
	}
	if _, err := capsFrom(det, &bospb.GetConstraintsResponse{}); !errors.Is(err, miner.ErrProtocol) {
		t.Errorf("no constraints: %v, want ErrProtocol", err)
	}
}

// FuzzReplies decodes arbitrary bytes as each reply the driver reads and
// builds capabilities and status from them: nothing may panic.
func FuzzReplies(f *testing.F) {
	enc := func(m proto.Message) []byte { b, _ := proto.Marshal(m); return b }
	f.Add(enc(&bospb.GetMinerDetailsResponse{Status: bospb.MinerStatus_MINER_STATUS_PAUSED}), enc(statsMsg(3000, 100)), []byte{0x12, 0x05, 0x12, 0x03, 0x08, 0xac, 0x1b})
	f.Add([]byte{0x60, 0x02}, []byte{0x1a, 0x05, 0x0a, 0x03, 0x08, 0xb2, 0x19}, []byte{0x0a, 0x11, 0x0a, 0x0f})
	f.Add([]byte{0xff}, []byte{0x0a, 0x7f}, []byte{})
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		var w wire
		w.details, w.stats, w.tuner = &bospb.GetMinerDetailsResponse{}, &bospb.GetMinerStatsResponse{}, &bospb.GetTunerStateResponse{}
		w.boards, w.cooling = &bospb.GetHashboardsResponse{}, &bospb.GetCoolingStateResponse{}
		_ = proto.Unmarshal(a, w.details)
		_ = proto.Unmarshal(b, w.stats)
		_ = proto.Unmarshal(c, w.tuner)
		_ = proto.Unmarshal(c, w.boards)
		_ = proto.Unmarshal(b, w.cooling)
		cons := &bospb.GetConstraintsResponse{}
		_ = proto.Unmarshal(c, cons)
		caps, _ := capsFrom(w.details, cons)
		st, err := statusFrom(w, caps)
		if err != nil {
			t.Fatal(err)
		}
		if st.Power < 0 || st.Hashrate < 0 || st.BoardsActive > st.Boards {
			t.Errorf("impossible status %+v", st)
		}
	})
}
