package meter

import (
	"context"
	"errors"
	"fmt"
)

// The SunSpec marker "SunS" as two registers.
const (
	sunsHi = 0x5375 // "Su"
	sunsLo = 0x6e53 // "nS"
	// endModelID closes the chain of models.
	endModelID = 0xFFFF
	// maxModels bounds the walk, so a device that never ends its chain
	// (or a fuzzer) cannot keep it going.
	maxModels = 256
)

// sunspecBases are the addresses where a SunSpec map may begin, in the
// order the specification suggests trying them.
func sunspecBases() []uint16 { return []uint16{40000, 0, 50000} }

// meterLayout is where a SunSpec meter model keeps the points this driver
// reads, as offsets from the model's ID register. The integer models
// 201–204 share one layout (SunSpec models JSON: ID, L, then A, AphA,
// AphB, AphC, A_SF, PhV, PhVphA, PhVphB, PhVphC, PPV, PhVphAB, PhVphBC,
// PhVphCA, V_SF, Hz, Hz_SF, W, WphA, WphB, WphC, W_SF, …; L = 105); the
// float models 211–214 another (ID, L, then float32 A, AphA, AphB, AphC,
// PhV, PhVphA, PhVphB, PhVphC, PPV, PPVphAB, PPVphBC, PPVphCA, Hz, W, …;
// L = 124).
type meterLayout struct {
	id     uint16
	float  bool
	length uint16 // the model's documented L
	hz     uint16 // offset of Hz
	hzSF   uint16 // offset of Hz_SF (integer models)
	w      uint16 // offset of W
	wSF    uint16 // offset of W_SF (integer models)
}

// lastOffset is the offset of the last register the driver reads.
func (l meterLayout) lastOffset() uint16 {
	if l.float {
		return l.w + 1
	}
	return l.wSF
}

// meterModel returns the layout of SunSpec meter model id.
func meterModel(id uint16) (meterLayout, bool) {
	switch id {
	case 201, 202, 203, 204:
		// Offsets count the 2 header registers: Hz is point 14 of the
		// body, so register 2+14.
		return meterLayout{id: id, length: 105, hz: 2 + 14, hzSF: 2 + 15, w: 2 + 16, wSF: 2 + 20}, true
	case 211, 212, 213, 214:
		// Twelve float32 points (24 registers) precede Hz.
		return meterLayout{id: id, float: true, length: 124, hz: 2 + 24, w: 2 + 26}, true
	}
	return meterLayout{}, false
}

// sunspecModel is one model found in a SunSpec map.
type sunspecModel struct {
	ID     uint16
	Addr   uint16 // address of its ID register
	Length uint16 // its L
}

// ErrNoSunSpec reports that no SunSpec map, or no meter model in it, was
// found.
var ErrNoSunSpec = errors.New("no SunSpec meter found")

// readFunc reads n holding registers at addr.
type readFunc func(ctx context.Context, addr, n uint16) ([]uint16, error)

// notThere reports whether err is an exception saying the registers do
// not exist (illegal function, address or value), as opposed to one saying
// the device or a gateway failed.
func notThere(err error) bool {
	var ex *ExceptionError
	return errors.As(err, &ex) && ex.Code >= 1 && ex.Code <= 3
}

// walkSunSpec looks for the "SunS" marker at each of bases and walks the
// chain of model headers after the first one found. It returns the meter
// models (201–204, 211–214) in the order they appear. An exception saying
// the registers do not exist means "not here" while probing a base (the
// next is tried) and "end of chain" after a model; any other read error
// ends the walk. It checks that each meter model is at
// least as long as its documented layout, and it never reads past
// register 65535 nor walks more than maxModels models.
func walkSunSpec(ctx context.Context, read readFunc, bases []uint16) (base uint16, meters []sunspecModel, err error) {
	found := false
	for _, b := range bases {
		if b > 0xFFFF-3 {
			continue
		}
		w, err := read(ctx, b, 2)
		if notThere(err) {
			continue
		}
		if err != nil {
			return 0, nil, fmt.Errorf("probe SunSpec base %d: %w", b, err)
		}
		if len(w) == 2 && w[0] == sunsHi && w[1] == sunsLo {
			base, found = b, true
			break
		}
	}
	if !found {
		return 0, nil, fmt.Errorf("%w: no \"SunS\" marker at %v", ErrNoSunSpec, bases)
	}
	addr := uint32(base) + 2
	for i := 0; ; i++ {
		if i == maxModels {
			return base, nil, fmt.Errorf("SunSpec map at %d: more than %d models without an end marker", base, maxModels)
		}
		if addr+2 > 0x10000 {
			// No room for another header: treat the end of the
			// address space as the end of the chain.
			break
		}
		hdr, err := read(ctx, uint16(addr), 2)
		if notThere(err) && i > 0 {
			// Some devices end the chain by refusing the next read
			// rather than with an end marker.
			break
		}
		if err != nil {
			return base, nil, fmt.Errorf("SunSpec model header at %d: %w", addr, err)
		}
		if len(hdr) != 2 {
			return base, nil, fmt.Errorf("SunSpec model header at %d: got %d registers", addr, len(hdr))
		}
		id, l := hdr[0], hdr[1]
		if id == endModelID {
			break
		}
		if lay, ok := meterModel(id); ok {
			if l < lay.lastOffset()-1 {
				return base, nil, fmt.Errorf("SunSpec model %d at %d: length %d, too short for its points (want %d)", id, addr, l, lay.length)
			}
			if addr+uint32(lay.lastOffset()) > 0xFFFF {
				return base, nil, fmt.Errorf("SunSpec model %d at %d runs past register 65535", id, addr)
			}
			meters = append(meters, sunspecModel{ID: id, Addr: uint16(addr), Length: l})
		}
		addr += 2 + uint32(l)
	}
	if len(meters) == 0 {
		return base, nil, fmt.Errorf("%w: SunSpec map at %d has no meter model (201–204, 211–214)", ErrNoSunSpec, base)
	}
	return base, meters, nil
}
