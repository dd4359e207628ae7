package meter

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The request and reply of the Modbus Application Protocol specification's
// example for function 03: read holding registers 108–110 (address 107),
// which hold 555, 0 and 100.
var (
	specReadRequest = []byte{0x03, 0x00, 0x6B, 0x00, 0x03}
	specReadReply   = []byte{0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64}
)

func TestFrames(t *testing.T) {
	if got := readRequest(fcReadHolding, 107, 3); !bytes.Equal(got, specReadRequest) {
		t.Errorf("read request = % x, want % x", got, specReadRequest)
	}
	frame := appendFrame(nil, 0x0102, 0x11, specReadRequest)
	want := []byte{0x01, 0x02, 0x00, 0x00, 0x00, 0x06, 0x11, 0x03, 0x00, 0x6B, 0x00, 0x03}
	if !bytes.Equal(frame, want) {
		t.Errorf("frame = % x, want % x", frame, want)
	}
	txid, unit, n, err := parseHeader(frame)
	if err != nil || txid != 0x0102 || unit != 0x11 || n != 5 {
		t.Errorf("parseHeader = %#x %d %d %v, want 0x102 17 5 nil", txid, unit, n, err)
	}
	regs, err := parseRegisters(fcReadHolding, 3, specReadReply, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint16{555, 0, 100}, regs); diff != "" {
		t.Errorf("registers (-want +got):\n%s", diff)
	}
	// The specification's coil example: coils 20–38 (19 coils) read as
	// CD 6B 05.
	coils, err := parseCoils(19, []byte{0x01, 0x03, 0xCD, 0x6B, 0x05})
	if err != nil {
		t.Fatal(err)
	}
	wantCoils := []bool{true, false, true, true, false, false, true, true, true, true, false, true, false, true, true, false, true, false, true}
	if diff := cmp.Diff(wantCoils, coils); diff != "" {
		t.Errorf("coils (-want +got):\n%s", diff)
	}
	// The specification's write-coil example: coil 173 on.
	req := writeCoilRequest(172, true)
	if want := []byte{0x05, 0x00, 0xAC, 0xFF, 0x00}; !bytes.Equal(req, want) {
		t.Errorf("write coil = % x, want % x", req, want)
	}
	if err := parseWriteCoil(req, req); err != nil {
		t.Errorf("echo: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		parse func() error
		want  error
	}{
		{"protocol id", func() error { _, _, _, err := parseHeader([]byte{0, 1, 0, 1, 0, 2, 1}); return err }, ErrProtocol},
		{"zero length", func() error { _, _, _, err := parseHeader([]byte{0, 1, 0, 0, 0, 0, 1}); return err }, ErrProtocol},
		{"overlong", func() error { _, _, _, err := parseHeader([]byte{0, 1, 0, 0, 1, 0, 1}); return err }, ErrProtocol},
		{"short header", func() error { _, _, _, err := parseHeader([]byte{0, 1}); return err }, ErrProtocol},
		{"exception", func() error { _, err := parseRegisters(3, 1, []byte{0x83, 0x02}, nil); return err }, &ExceptionError{3, 2}},
		{"other function", func() error { _, err := parseRegisters(3, 1, []byte{0x04, 0x02, 0, 0}, nil); return err }, ErrProtocol},
		{"byte count", func() error { _, err := parseRegisters(3, 2, []byte{0x03, 0x02, 0, 0}, nil); return err }, ErrProtocol},
		{"empty", func() error { _, err := parseRegisters(3, 1, nil, nil); return err }, ErrProtocol},
		{"long exception", func() error { _, err := parseCoils(1, []byte{0x81, 2, 3}); return err }, ErrProtocol},
		{"coil byte count", func() error { _, err := parseCoils(9, []byte{0x01, 0x01, 0xFF}); return err }, ErrProtocol},
		{"coil echo", func() error { return parseWriteCoil(writeCoilRequest(1, true), writeCoilRequest(1, false)) }, ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse()
			var wantEx *ExceptionError
			if errors.As(tt.want, &wantEx) {
				var ex *ExceptionError
				if !errors.As(err, &ex) || *ex != *wantEx {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add(uint16(3), append([]byte{0, 1, 0, 0, 0, 9, 1}, specReadReply...))
	f.Add(uint16(19), []byte{0, 1, 0, 0, 0, 6, 1, 0x01, 0x03, 0xCD, 0x6B, 0x05})
	f.Add(uint16(1), []byte{0, 1, 0, 0, 0, 3, 1, 0x83, 0x02})
	f.Add(uint16(0), []byte{0, 1, 0, 0, 0, 6, 1, 0x05, 0x00, 0xAC, 0xFF, 0x00})
	f.Fuzz(func(t *testing.T, n uint16, frame []byte) {
		_, _, pduLen, err := parseHeader(frame)
		if err != nil {
			return
		}
		if pduLen < 1 || pduLen > maxPDU {
			t.Fatalf("PDU length %d accepted", pduLen)
		}
		pdu := frame[mbapLen:min(len(frame), mbapLen+pduLen)]
		if q := n % (maxReadRegisters + 1); q > 0 {
			for _, fc := range []byte{fcReadHolding, fcReadInput} {
				regs, err := parseRegisters(fc, q, pdu, nil)
				if err == nil && len(regs) != int(q) {
					t.Fatalf("%d registers for a read of %d", len(regs), q)
				}
			}
		}
		if q := n % (maxReadCoils + 1); q > 0 {
			coils, err := parseCoils(q, pdu)
			if err == nil && len(coils) != int(q) {
				t.Fatalf("%d coils for a read of %d", len(coils), q)
			}
		}
		if len(pdu) == 5 {
			_ = parseWriteCoil(writeCoilRequest(uint16(pdu[1])<<8|uint16(pdu[2]), pdu[3] == 0xFF), pdu)
		}
	})
}
