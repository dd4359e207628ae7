package metersim

import (
	"math"

	"github.com/gridminer/gridminer/internal/meter"
)

// Encoding constants, written here from the SunSpec information model
// independently of the driver's decoder, so that each checks the other.
const (
	nanInt16  = 0x8000
	nanUint16 = 0xFFFF
	nanInt32  = 0x80000000
	nanUint32 = 0xFFFFFFFF
	nanFloat  = 0x7FC00000
	// commonLen is the common model's (ID 1) length with its pad
	// register.
	commonLen = 66
)

// modelLayout is where a SunSpec meter model keeps W and Hz, as offsets
// into the model's body (after ID and L).
type modelLayout struct {
	float                  bool
	length                 uint16
	hz, hzSF, w, wSF       int
	sfs                    []int  // every scale-factor point of an integer model
	acc32From, acc32Before [3]int // energy accumulators (acc32) ranges
	evt                    int    // Evt (bitfield32)
}

// layoutOf returns the layout of meter model id: models 201–204 (integer
// + scale factor, L 105) share one, 211–214 (float32, L 124) another.
func layoutOf(id uint16) (modelLayout, bool) {
	switch id {
	case 201, 202, 203, 204:
		return modelLayout{
			length: 105, hz: 14, hzSF: 15, w: 16, wSF: 20,
			sfs:       []int{4, 13, 15, 20, 25, 30, 35, 52, 69, 102},
			acc32From: [3]int{36, 53, 70}, acc32Before: [3]int{52, 69, 102},
			evt: 103,
		}, true
	case 211, 212, 213, 214:
		return modelLayout{float: true, length: 124, hz: 24, w: 26, evt: 122}, true
	}
	return modelLayout{}, false
}

// sunspecSize is the number of registers of the SunSpec map from the
// marker to the end model.
func sunspecSize(cfg Config) int {
	l, _ := layoutOf(cfg.SunSpecModel)
	n := 2 + 2 + commonLen + 2 + int(l.length) + 2
	if cfg.GenerationPower != nil {
		n += 2 + int(l.length)
	}
	return n
}

// sunspecImage is the SunSpec map, from the "SunS" marker on: the common
// model, the site meter model, a generation meter model when the site
// generates, and the end model.
func sunspecImage(cfg Config, s snapshot) []uint16 {
	img := make([]uint16, 0, sunspecSize(cfg))
	img = append(img, 0x5375, 0x6e53) // "SunS"
	img = append(img, 1, commonLen)
	img = appendString(img, "gridminer", 16) // Mn
	img = appendString(img, "metersim", 16)  // Md
	img = appendString(img, "", 8)           // Opt
	img = appendString(img, "1.0", 8)        // Vr
	img = appendString(img, "GM-SIM-0001", 16)
	img = append(img, uint16(cfg.UnitID), nanInt16) // DA, Pad
	img = appendMeter(img, cfg.SunSpecModel, s.imp, s.hasImp, s.hz, s.hasHz)
	if cfg.GenerationPower != nil {
		img = appendMeter(img, cfg.SunSpecModel, s.gen, s.hasGen, s.hz, s.hasHz)
	}
	return append(img, 0xFFFF, 0)
}

// appendString appends s as a SunSpec string of n registers, NUL padded.
func appendString(img []uint16, s string, n int) []uint16 {
	b := make([]byte, 2*n)
	copy(b, s)
	for i := range n {
		img = append(img, uint16(b[2*i])<<8|uint16(b[2*i+1]))
	}
	return img
}

// appendMeter appends one meter model reporting w watts and hz hertz.
func appendMeter(img []uint16, id uint16, w float64, hasW bool, hz float64, hasHz bool) []uint16 {
	l, _ := layoutOf(id)
	img = append(img, id, l.length)
	body := make([]uint16, l.length)
	if l.float {
		for i := 0; i < l.evt; i += 2 {
			body[i], body[i+1] = nanFloat>>16, nanFloat&0xFFFF
		}
		put := func(off int, v float64, ok bool) {
			bits := uint32(nanFloat)
			if ok {
				bits = math.Float32bits(float32(v))
			}
			body[off], body[off+1] = uint16(bits>>16), uint16(bits)
		}
		put(l.w, w, hasW)
		put(l.hz, hz, hasHz)
		return append(img, body...)
	}
	for i := range body {
		body[i] = nanInt16
	}
	for _, off := range l.sfs {
		body[off] = 0
	}
	for k := range l.acc32From {
		for i := l.acc32From[k]; i < l.acc32Before[k]; i++ {
			body[i] = 0 // acc32: 0 means not accumulated
		}
	}
	body[l.evt], body[l.evt+1] = 0, 0
	if hasW {
		raw, sf := fitScaleFactor(w, -2, -32767, 32767)
		body[l.w], body[l.wSF] = uint16(int16(raw)), uint16(int16(sf))
	}
	body[l.hzSF] = 0xFFFE // -2
	if hasHz {
		// Hz_SF is fixed at -2: 0.01 Hz resolution, as meters report it.
		body[l.hz] = uint16(int16(math.Max(-32767, math.Min(32767, roundTo(hz, -2)))))
	}
	return append(img, body...)
}

// entry is a run of registers of the generic map.
type entry struct {
	kind  string
	addr  uint16
	words []uint16
}

// genericImage encodes each configured quantity as its register says.
func genericImage(cfg Config, s snapshot) []entry {
	var out []entry
	if cfg.Import != nil {
		out = append(out, encodeRegister(cfg.Import, s.imp, s.hasImp)...)
	}
	if cfg.Frequency != nil {
		out = append(out, encodeRegister(cfg.Frequency, s.hz, s.hasHz)...)
	}
	if cfg.Generation != nil {
		out = append(out, encodeRegister(cfg.Generation, s.gen, s.hasGen)...)
	}
	return out
}

// encodeRegister is the inverse of what the register spec tells the
// driver: raw × 10^sf × scale × units = v.
func encodeRegister(r *meter.Register, v float64, present bool) []entry {
	kind := r.Kind
	if kind == "" {
		kind = "holding"
	}
	units := 1.0
	switch r.Units {
	case "kW":
		units = 1e3
	case "MW":
		units = 1e6
	case "cHz":
		units = 0.01
	case "mHz":
		units = 0.001
	}
	scale := r.Scale
	if scale == 0 {
		scale = 1
	}
	x := v / (scale * units)
	lo, hi := -32767.0, 32767.0
	switch r.Data {
	case "uint16":
		lo, hi = 0, 65534
	case "int32":
		lo, hi = -2147483647, 2147483647
	case "uint32":
		lo, hi = 0, 4294967294
	}
	var out []entry
	sf := 0
	switch {
	case r.Data == "float32":
	case r.ScaleFactor != nil:
		x, sf = fitScaleFactor(x, -2, lo, hi)
	default:
		x = math.Max(lo, math.Min(hi, math.Round(x)))
	}
	if r.ScaleFactor != nil {
		out = append(out, entry{kind, *r.ScaleFactor, []uint16{uint16(int16(sf))}})
	}
	var u32 uint32
	switch r.Data {
	case "int16":
		w := uint16(int16(x))
		if !present {
			w = nanInt16
		}
		return append(out, entry{kind, r.Address, []uint16{w}})
	case "uint16":
		w := uint16(x)
		if !present {
			w = nanUint16
		}
		return append(out, entry{kind, r.Address, []uint16{w}})
	case "int32":
		u32 = uint32(int32(x))
		if !present {
			u32 = nanInt32
		}
	case "uint32":
		u32 = uint32(x)
		if !present {
			u32 = nanUint32
		}
	case "float32":
		u32 = math.Float32bits(float32(x))
		if !present {
			u32 = nanFloat
		}
	}
	hiW, loW := uint16(u32>>16), uint16(u32)
	if r.WordOrder == "little" {
		hiW, loW = loW, hiW
	}
	return append(out, entry{kind, r.Address, []uint16{hiW, loW}})
}
