package meter

import (
	"errors"
	"math"
	"testing"
)

func TestDecodeValue(t *testing.T) {
	f32 := func(f float32) []uint16 { b := math.Float32bits(f); return []uint16{uint16(b >> 16), uint16(b)} }
	tests := []struct {
		name    string
		dt      dataType
		wo      wordOrder
		noSent  bool
		mult    float64
		words   []uint16
		hasSF   bool
		sf      uint16
		want    float64
		present bool
		wantErr error
	}{
		{"int16 positive", int16Type, highFirst, false, 1, []uint16{1234}, false, 0, 1234, true, nil},
		{"int16 negative", int16Type, highFirst, false, 1, []uint16{0xFB2E}, false, 0, -1234, true, nil},
		{"int16 not implemented", int16Type, highFirst, false, 1, []uint16{0x8000}, false, 0, 0, false, nil},
		{"int16 -32768 without sentinels", int16Type, highFirst, true, 1, []uint16{0x8000}, false, 0, -32768, true, nil},
		{"uint16", uint16Type, highFirst, false, 1, []uint16{65534}, false, 0, 65534, true, nil},
		{"uint16 not implemented", uint16Type, highFirst, false, 1, []uint16{0xFFFF}, false, 0, 0, false, nil},
		{"int32 high word first", int32Type, highFirst, false, 1, []uint16{0x0001, 0x0002}, false, 0, 65538, true, nil},
		{"int32 low word first", int32Type, lowFirst, false, 1, []uint16{0x0002, 0x0001}, false, 0, 65538, true, nil},
		{"int32 negative", int32Type, highFirst, false, 1, []uint16{0xFFFF, 0xFFFE}, false, 0, -2, true, nil},
		{"int32 not implemented", int32Type, highFirst, false, 1, []uint16{0x8000, 0x0000}, false, 0, 0, false, nil},
		{"int32 not implemented, low word first", int32Type, lowFirst, false, 1, []uint16{0x0000, 0x8000}, false, 0, 0, false, nil},
		{"uint32", uint32Type, highFirst, false, 1, []uint16{0xFFFF, 0xFFFE}, false, 0, 4294967294, true, nil},
		{"uint32 not implemented", uint32Type, highFirst, false, 1, []uint16{0xFFFF, 0xFFFF}, false, 0, 0, false, nil},
		{"float32", float32Type, highFirst, false, 1, f32(60.5), false, 0, 60.5, true, nil},
		{"float32 low word first", float32Type, lowFirst, false, 1, []uint16{f32(-1.25)[1], f32(-1.25)[0]}, false, 0, -1.25, true, nil},
		{"float32 NaN", float32Type, highFirst, false, 1, []uint16{0x7FC0, 0}, false, 0, 0, false, nil},
		{"float32 NaN without sentinels", float32Type, highFirst, true, 1, []uint16{0x7FC0, 0}, false, 0, 0, false, nil},
		{"float32 +Inf", float32Type, highFirst, false, 1, []uint16{0x7F80, 0}, false, 0, 0, false, errNotFinite},
		{"scale factor -2", int16Type, highFirst, false, 1, []uint16{6001}, true, 0xFFFE, 60.01, true, nil},
		{"scale factor 3", int16Type, highFirst, false, 1, []uint16{3250}, true, 3, 3_250_000, true, nil},
		{"scale factor not implemented", int16Type, highFirst, false, 1, []uint16{100}, true, 0x8000, 0, false, nil},
		{"scale factor out of range", int16Type, highFirst, false, 1, []uint16{100}, true, 11, 0, false, errAny},
		{"multiplier", uint16Type, highFirst, false, 1e3, []uint16{1200}, false, 0, 1_200_000, true, nil},
		{"negative multiplier", int16Type, highFirst, false, -0.5, []uint16{10}, false, 0, -5, true, nil},
		{"too few words", int32Type, highFirst, false, 1, []uint16{1}, false, 0, 0, false, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, present, err := decodeValue(tt.dt, tt.wo, !tt.noSent, tt.mult, tt.words, tt.hasSF, tt.sf)
			switch {
			case tt.wantErr == errAny && err == nil, tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want || present != tt.present {
				t.Errorf("got %v (present %v), want %v (present %v)", got, present, tt.want, tt.present)
			}
		})
	}
}

// errAny in a table means "some error".
var errAny = errors.New("any error")

func FuzzDecode(f *testing.F) {
	f.Add(uint8(0), uint8(0), true, []byte{0x17, 0x70}, true, uint16(0xFFFE))
	f.Add(uint8(4), uint8(1), true, []byte{0, 0, 0x42, 0x70}, false, uint16(0))
	f.Add(uint8(2), uint8(0), false, []byte{0x80, 0, 0, 0}, false, uint16(0))
	f.Add(uint8(3), uint8(1), true, []byte{0xFF, 0xFF, 0xFF, 0xFF}, true, uint16(10))
	f.Fuzz(func(t *testing.T, dtSel, woSel uint8, sentinel bool, raw []byte, hasSF bool, sf uint16) {
		dt := dataType(dtSel % 5)
		wo := wordOrder(woSel % 2)
		words := make([]uint16, len(raw)/2)
		for i := range words {
			words[i] = uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
		}
		v, present, err := decodeValue(dt, wo, sentinel, 1, words, hasSF, sf)
		if err != nil {
			if present || v != 0 {
				t.Fatalf("error %v with a value %v (present %v)", err, v, present)
			}
			return
		}
		if len(words) < dt.words() {
			t.Fatalf("decoded %d registers as %s without an error", len(words), dt)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("decoded a non-finite %v", v)
		}
		if !present && v != 0 {
			t.Fatalf("absent value %v, want 0", v)
		}
		// Swapping the words of a 32-bit value and the word order
		// decodes to the same value.
		if dt.words() == 2 {
			sw := []uint16{words[1], words[0]}
			v2, p2, err2 := decodeValue(dt, 1-wo, sentinel, 1, sw, hasSF, sf)
			if v2 != v || p2 != present || err2 != nil {
				t.Fatalf("word order: %v %v %v, then swapped %v %v %v", v, present, err, v2, p2, err2)
			}
		}
	})
}
