package meter

import (
	"errors"
	"fmt"
	"math"
)

// regKind is a register table.
type regKind uint8

const (
	holding regKind = iota
	input
)

func (k regKind) String() string {
	if k == input {
		return "input"
	}
	return "holding"
}

// function returns the Modbus function code that reads the table.
func (k regKind) function() byte {
	if k == input {
		return fcReadInput
	}
	return fcReadHolding
}

// dataType is how a value is encoded in one or two registers.
type dataType uint8

const (
	int16Type dataType = iota
	uint16Type
	int32Type
	uint32Type
	float32Type
)

func parseDataType(s string) (dataType, error) {
	switch s {
	case "int16":
		return int16Type, nil
	case "uint16":
		return uint16Type, nil
	case "int32":
		return int32Type, nil
	case "uint32":
		return uint32Type, nil
	case "float32":
		return float32Type, nil
	case "":
		return 0, errors.New("missing: want int16, uint16, int32, uint32 or float32")
	}
	return 0, fmt.Errorf("%q: want int16, uint16, int32, uint32 or float32", s)
}

func (d dataType) String() string {
	switch d {
	case int16Type:
		return "int16"
	case uint16Type:
		return "uint16"
	case int32Type:
		return "int32"
	case uint32Type:
		return "uint32"
	case float32Type:
		return "float32"
	}
	return fmt.Sprintf("datatype(%d)", uint8(d))
}

// words is the number of 16-bit registers a value occupies.
func (d dataType) words() int {
	if d >= int32Type {
		return 2
	}
	return 1
}

// wordOrder is the order of the two registers of a 32-bit value. Bytes
// within a register are always big-endian, as Modbus sends them.
type wordOrder uint8

const (
	highFirst wordOrder = iota // "big": the register at the lower address holds the high word
	lowFirst                   // "little": the register at the lower address holds the low word
)

// SunSpec "not implemented" values.
const (
	notImplInt16  = 0x8000
	notImplUint16 = 0xFFFF
	notImplInt32  = 0x80000000
	notImplUint32 = 0xFFFFFFFF
	// sunssf scale factors are int16 exponents in -10..10.
	minScaleFactor = -10
	maxScaleFactor = 10
)

// errNotFinite reports an infinite float32 (NaN means not implemented).
var errNotFinite = errors.New("value is not finite")

// decodeRaw decodes one value from words (which must hold d.words()
// registers). present is false for a SunSpec "not implemented" value:
// always for a float32 NaN, and for the integer sentinels when sentinel is
// set. An infinite float32 is an error.
func decodeRaw(d dataType, o wordOrder, sentinel bool, words []uint16) (v float64, present bool, err error) {
	if len(words) < d.words() {
		return 0, false, fmt.Errorf("%s needs %d registers, have %d", d, d.words(), len(words))
	}
	var u32 uint32
	if d.words() == 2 {
		hi, lo := words[0], words[1]
		if o == lowFirst {
			hi, lo = lo, hi
		}
		u32 = uint32(hi)<<16 | uint32(lo)
	}
	switch d {
	case int16Type:
		if sentinel && words[0] == notImplInt16 {
			return 0, false, nil
		}
		return float64(int16(words[0])), true, nil
	case uint16Type:
		if sentinel && words[0] == notImplUint16 {
			return 0, false, nil
		}
		return float64(words[0]), true, nil
	case int32Type:
		if sentinel && u32 == notImplInt32 {
			return 0, false, nil
		}
		return float64(int32(u32)), true, nil
	case uint32Type:
		if sentinel && u32 == notImplUint32 {
			return 0, false, nil
		}
		return float64(u32), true, nil
	case float32Type:
		f := float64(math.Float32frombits(u32))
		if math.IsNaN(f) {
			return 0, false, nil
		}
		if math.IsInf(f, 0) {
			return 0, false, errNotFinite
		}
		return f, true, nil
	}
	return 0, false, fmt.Errorf("unknown data type %d", d)
}

// decodeScaleFactor decodes a sunssf register: present is false for the
// not-implemented value 0x8000, and an exponent outside -10..10 is an error.
func decodeScaleFactor(w uint16) (sf int, present bool, err error) {
	if w == notImplInt16 {
		return 0, false, nil
	}
	sf = int(int16(w))
	if sf < minScaleFactor || sf > maxScaleFactor {
		return 0, false, fmt.Errorf("scale factor %d outside %d..%d", sf, minScaleFactor, maxScaleFactor)
	}
	return sf, true, nil
}

// pow10 returns 10^n for the small n a scale factor allows, exactly.
func pow10(n int) float64 {
	p := 1.0
	for ; n > 0; n-- {
		p *= 10
	}
	for ; n < 0; n++ {
		p /= 10
	}
	return p
}

// decodeValue decodes a value and applies its scale factor (when hasSF,
// from sfWord) and multiplier: value × 10^sf × mult.
func decodeValue(d dataType, o wordOrder, sentinel bool, mult float64, words []uint16, hasSF bool, sfWord uint16) (float64, bool, error) {
	v, ok, err := decodeRaw(d, o, sentinel, words)
	if err != nil || !ok {
		return 0, false, err
	}
	if hasSF {
		sf, ok, err := decodeScaleFactor(sfWord)
		if err != nil || !ok {
			return 0, false, err
		}
		if sf < 0 {
			// Divide rather than multiply by 0.1…: 6001 with sf -2 is
			// exactly 60.01, not 60.010000000000005.
			v /= pow10(-sf)
		} else {
			v *= pow10(sf)
		}
	}
	v *= mult
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false, errNotFinite
	}
	return v, true, nil
}
