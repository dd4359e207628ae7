package bospb_test

import (
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/gridminer/gridminer/internal/miner/braiins/bospb"
)

// The wire bytes below are derived by hand from the field numbers in
// braiins/bos-plus-api proto/bos/v1/*.proto (see ../testdata/README.md):
// a tag is (field<<3)|wiretype, wire type 0 varint, 2 length-delimited.
func TestGoldenBytes(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
		hex  string
	}{
		{
			// save_action=1 (varint 2 = SAVE_AND_APPLY), power_target=2 {watt=1: 3000 = b8 17}
			"SetPowerTargetRequest 3000 W", &bospb.SetPowerTargetRequest{
				SaveAction:  bospb.SaveAction_SAVE_ACTION_SAVE_AND_APPLY,
				PowerTarget: &bospb.Power{Watt: 3000},
			}, "0802" + "1203" + "08b817",
		},
		{
			// username=1 "root", password=2 "secret"
			"LoginRequest", &bospb.LoginRequest{Username: "root", Password: "secret"},
			"0a04" + hex.EncodeToString([]byte("root")) + "1206" + hex.EncodeToString([]byte("secret")),
		},
		{
			// token=1 (16 bytes), timeout_s=2 (3600 = 90 1c)
			"LoginResponse", &bospb.LoginResponse{Token: "eUInGZBQ4yGyKiDe", TimeoutS: 3600},
			"0a10" + hex.EncodeToString([]byte("eUInGZBQ4yGyKiDe")) + "10901c",
		},
		{
			// save_action=1 SAVE_AND_APPLY, up_s=2 10, down_s=3 5
			"SetQuickRampingRequest", &bospb.SetQuickRampingRequest{
				SaveAction: bospb.SaveAction_SAVE_ACTION_SAVE_AND_APPLY, UpS: 10, DownS: 5,
			}, "0802" + "100a" + "1805",
		},
		{
			"SetDefaultPowerTargetRequest", &bospb.SetDefaultPowerTargetRequest{SaveAction: bospb.SaveAction_SAVE_ACTION_SAVE_AND_APPLY},
			"0802",
		},
		{"PauseMiningRequest (empty)", &bospb.PauseMiningRequest{}, ""},
		{
			// power_stats=3 {approximated_consumption=1 {watt=1: 3250 = b2 19}}
			"GetMinerStatsResponse power", &bospb.GetMinerStatsResponse{
				PowerStats: &bospb.MinerPowerStats{ApproximatedConsumption: &bospb.Power{Watt: 3250}},
			}, "1a05" + "0a03" + "08b219",
		},
		{
			// power_target_mode_state=2 {current_target=2 {watt=1: 3500 = ac 1b}}
			"GetTunerStateResponse target", &bospb.GetTunerStateResponse{
				ModeState: &bospb.GetTunerStateResponse_PowerTargetModeState{PowerTargetModeState: &bospb.PowerTargetModeState{
					CurrentTarget: &bospb.Power{Watt: 3500},
				}},
			}, "1205" + "1203" + "08ac1b",
		},
		{
			// status=12 (tag 0x60) PAUSED=3
			"GetMinerDetailsResponse paused", &bospb.GetMinerDetailsResponse{Status: bospb.MinerStatus_MINER_STATUS_PAUSED},
			"6003",
		},
		{
			// tuner_constraints=1 {power_target=1 {default=1 {3068 = fc 17}, min=2 {1800 = 88 0e}, max=3 {3600 = 90 1c}}}
			"GetConstraintsResponse", &bospb.GetConstraintsResponse{TunerConstraints: &bospb.TunerConstraints{PowerTarget: &bospb.PowerConstraints{
				Default: &bospb.Power{Watt: 3068}, Min: &bospb.Power{Watt: 1800}, Max: &bospb.Power{Watt: 3600},
			}}}, "0a11" + "0a0f" + "0a0308fc17" + "120308880e" + "1a0308901c",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := proto.MarshalOptions{Deterministic: true}.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.hex, hex.EncodeToString(got)); diff != "" {
				t.Errorf("encoding (-want +got):\n%s", diff)
			}
			// And the hand-written bytes decode to the message.
			want, _ := hex.DecodeString(tt.hex)
			back := tt.msg.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(want, back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.msg, back, protocmp.Transform()); diff != "" {
				t.Errorf("decoding (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMethodNames pins the gRPC paths a real miner serves.
func TestMethodNames(t *testing.T) {
	got := []string{
		bospb.AuthenticationService_Login_FullMethodName,
		bospb.ActionsService_PauseMining_FullMethodName,
		bospb.ActionsService_ResumeMining_FullMethodName,
		bospb.PerformanceService_GetTunerState_FullMethodName,
		bospb.PerformanceService_SetPowerTarget_FullMethodName,
		bospb.PerformanceService_SetDefaultPowerTarget_FullMethodName,
		bospb.PerformanceService_SetQuickRamping_FullMethodName,
		bospb.ConfigurationService_GetConstraints_FullMethodName,
		bospb.MinerService_GetMinerDetails_FullMethodName,
		bospb.MinerService_GetMinerStats_FullMethodName,
		bospb.MinerService_GetHashboards_FullMethodName,
		bospb.CoolingService_GetCoolingState_FullMethodName,
	}
	want := []string{
		"/braiins.bos.v1.AuthenticationService/Login",
		"/braiins.bos.v1.ActionsService/PauseMining",
		"/braiins.bos.v1.ActionsService/ResumeMining",
		"/braiins.bos.v1.PerformanceService/GetTunerState",
		"/braiins.bos.v1.PerformanceService/SetPowerTarget",
		"/braiins.bos.v1.PerformanceService/SetDefaultPowerTarget",
		"/braiins.bos.v1.PerformanceService/SetQuickRamping",
		"/braiins.bos.v1.ConfigurationService/GetConstraints",
		"/braiins.bos.v1.MinerService/GetMinerDetails",
		"/braiins.bos.v1.MinerService/GetMinerStats",
		"/braiins.bos.v1.MinerService/GetHashboards",
		"/braiins.bos.v1.CoolingService/GetCoolingState",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("method names (-want +got):\n%s", diff)
	}
}
