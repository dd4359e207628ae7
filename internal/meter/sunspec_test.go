package meter

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// regSpace is a fake holding-register space: reads outside the defined
// registers raise exception 2, like a real device.
type regSpace struct {
	regs  map[uint16]uint16
	reads int
	fail  error // returned by every read when set
}

func (s *regSpace) read(_ context.Context, addr, n uint16) ([]uint16, error) {
	s.reads++
	if s.fail != nil {
		return nil, s.fail
	}
	out := make([]uint16, n)
	for i := range out {
		v, ok := s.regs[addr+uint16(i)]
		if !ok {
			return nil, &ExceptionError{Function: fcReadHolding, Code: 2}
		}
		out[i] = v
	}
	return out, nil
}

// sunspecSpace lays out "SunS" at base, then models given as (id, length)
// with zero bodies, then the end model unless noEnd.
func sunspecSpace(base uint16, noEnd bool, models ...[2]uint16) *regSpace {
	s := &regSpace{regs: map[uint16]uint16{}}
	a := base
	put := func(v uint16) { s.regs[a] = v; a++ }
	put(sunsHi)
	put(sunsLo)
	for _, m := range models {
		put(m[0])
		put(m[1])
		for range m[1] {
			put(0)
		}
	}
	if !noEnd {
		put(0xFFFF)
		put(0)
	}
	return s
}

func TestWalkSunSpec(t *testing.T) {
	common := [2]uint16{1, 66}
	tests := []struct {
		name     string
		space    *regSpace
		bases    []uint16
		wantBase uint16
		want     []sunspecModel
		wantErr  error
	}{
		{
			name:     "203 at 40000",
			space:    sunspecSpace(40000, false, common, [2]uint16{203, 105}),
			bases:    sunspecBases(),
			wantBase: 40000,
			want:     []sunspecModel{{203, 40070, 105}},
		},
		{
			name:  "at 0, after an inverter model, two meters",
			space: sunspecSpace(0, false, common, [2]uint16{103, 50}, [2]uint16{201, 105}, [2]uint16{213, 124}),
			bases: sunspecBases(),
			want:  []sunspecModel{{201, 2 + 68 + 52, 105}, {213, 2 + 68 + 52 + 107, 124}},
		},
		{
			name:     "at 50000, chain ended by an exception",
			space:    sunspecSpace(50000, true, common, [2]uint16{204, 105}),
			bases:    sunspecBases(),
			wantBase: 50000,
			want:     []sunspecModel{{204, 50070, 105}},
		},
		{
			name:    "no marker",
			space:   &regSpace{regs: map[uint16]uint16{40000: 1, 40001: 2}},
			bases:   sunspecBases(),
			wantErr: ErrNoSunSpec,
		},
		{
			name:    "no meter model",
			space:   sunspecSpace(40000, false, common, [2]uint16{103, 50}),
			bases:   sunspecBases(),
			wantErr: ErrNoSunSpec,
		},
		{
			name:    "meter model too short",
			space:   sunspecSpace(40000, false, common, [2]uint16{203, 10}),
			bases:   sunspecBases(),
			wantErr: errAny,
		},
		{
			name:    "not at the one base given",
			space:   sunspecSpace(0, false, common, [2]uint16{203, 105}),
			bases:   []uint16{40000},
			wantErr: ErrNoSunSpec,
		},
		{
			name:    "transport failure",
			space:   &regSpace{fail: fmt.Errorf("connect: %w", errors.New("refused"))},
			bases:   sunspecBases(),
			wantErr: errAny,
		},
		{
			name:    "device failure is not 'not here'",
			space:   &regSpace{fail: &ExceptionError{Function: 3, Code: 4}},
			bases:   sunspecBases(),
			wantErr: errAny,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, got, err := walkSunSpec(context.Background(), tt.space.read, tt.bases)
			if tt.wantErr != nil {
				if err == nil || (tt.wantErr != errAny && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if base != tt.wantBase {
				t.Errorf("base = %d, want %d", base, tt.wantBase)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("meters (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWalkSunSpecEndless(t *testing.T) {
	// A chain of empty models that never ends stops at maxModels.
	s := &regSpace{regs: map[uint16]uint16{0: sunsHi, 1: sunsLo}}
	for a := uint16(2); a < 2+2*(maxModels+10); a += 2 {
		s.regs[a], s.regs[a+1] = 7, 0
	}
	if _, _, err := walkSunSpec(context.Background(), s.read, []uint16{0}); err == nil {
		t.Fatal("endless chain accepted")
	}
	if s.reads > maxModels+2 {
		t.Errorf("%d reads, want at most %d", s.reads, maxModels+2)
	}
}

func FuzzSunSpecWalk(f *testing.F) {
	enc := func(words ...uint16) []byte {
		var b []byte
		for _, w := range words {
			b = append(b, byte(w>>8), byte(w))
		}
		return b
	}
	f.Add(uint16(0), enc(sunsHi, sunsLo, 1, 2, 0, 0, 203, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFFFF, 0))
	f.Add(uint16(65530), enc(sunsHi, sunsLo, 213, 65535))
	f.Add(uint16(40000), enc(sunsHi, sunsLo, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, base uint16, raw []byte) {
		s := &regSpace{regs: map[uint16]uint16{}}
		for i := 0; i+1 < len(raw); i += 2 {
			a := uint32(base) + uint32(i/2)
			if a > 0xFFFF {
				break
			}
			s.regs[uint16(a)] = uint16(raw[i])<<8 | uint16(raw[i+1])
		}
		_, meters, err := walkSunSpec(context.Background(), s.read, []uint16{base})
		if s.reads > maxModels+2 {
			t.Fatalf("%d reads", s.reads)
		}
		if err != nil {
			return
		}
		if len(meters) == 0 {
			t.Fatal("no error and no meters")
		}
		for _, m := range meters {
			lay, ok := meterModel(m.ID)
			if !ok {
				t.Fatalf("model %d reported as a meter", m.ID)
			}
			if uint32(m.Addr)+uint32(lay.lastOffset()) > 0xFFFF {
				t.Fatalf("meter %d at %d runs past register 65535", m.ID, m.Addr)
			}
		}
	})
}
