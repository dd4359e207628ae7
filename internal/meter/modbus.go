package meter

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Modbus function codes this driver uses.
const (
	fcReadCoils       = 0x01
	fcReadHolding     = 0x03
	fcReadInput       = 0x04
	fcWriteSingleCoil = 0x05
)

// Modbus TCP framing limits.
const (
	mbapLen = 7 // transaction id, protocol id, length, unit id
	// maxPDU is the largest PDU Modbus allows (253 bytes).
	maxPDU = 253
	// maxReadRegisters is the most registers one read may ask for.
	maxReadRegisters = 125
	// maxReadCoils is the most coils one read may ask for.
	maxReadCoils = 2000
)

// ErrProtocol reports a reply that breaks the Modbus TCP framing or does
// not answer the request.
var ErrProtocol = errors.New("modbus protocol error")

// ExceptionError is a Modbus exception reply: the device understood the
// request and refused it.
type ExceptionError struct {
	Function byte // the request's function code
	Code     byte // the exception code
}

func (e *ExceptionError) Error() string {
	return fmt.Sprintf("modbus exception %d (%s) to function %d", e.Code, exceptionName(e.Code), e.Function)
}

func exceptionName(code byte) string {
	switch code {
	case 1:
		return "illegal function"
	case 2:
		return "illegal data address"
	case 3:
		return "illegal data value"
	case 4:
		return "server device failure"
	case 5:
		return "acknowledge"
	case 6:
		return "server device busy"
	case 8:
		return "memory parity error"
	case 0x0A:
		return "gateway path unavailable"
	case 0x0B:
		return "gateway target device failed to respond"
	}
	return "unknown exception"
}

// appendFrame appends a Modbus TCP frame (MBAP header and PDU) to dst.
func appendFrame(dst []byte, txid uint16, unit uint8, pdu []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, txid)
	dst = binary.BigEndian.AppendUint16(dst, 0) // protocol: Modbus
	dst = binary.BigEndian.AppendUint16(dst, uint16(1+len(pdu)))
	dst = append(dst, unit)
	return append(dst, pdu...)
}

// readRequest is the PDU of a read of n registers or coils at addr.
func readRequest(fc byte, addr, n uint16) []byte {
	return []byte{fc, byte(addr >> 8), byte(addr), byte(n >> 8), byte(n)}
}

// writeCoilRequest is the PDU of a write of one coil.
func writeCoilRequest(addr uint16, on bool) []byte {
	v := uint16(0x0000)
	if on {
		v = 0xFF00
	}
	return []byte{fcWriteSingleCoil, byte(addr >> 8), byte(addr), byte(v >> 8), byte(v)}
}

// parseHeader parses an MBAP header and returns the transaction id, the
// unit id and the length of the PDU that follows it.
func parseHeader(h []byte) (txid uint16, unit uint8, pduLen int, err error) {
	if len(h) < mbapLen {
		return 0, 0, 0, fmt.Errorf("%w: header of %d bytes", ErrProtocol, len(h))
	}
	txid = binary.BigEndian.Uint16(h[0:2])
	if proto := binary.BigEndian.Uint16(h[2:4]); proto != 0 {
		return 0, 0, 0, fmt.Errorf("%w: protocol id %d, want 0", ErrProtocol, proto)
	}
	n := int(binary.BigEndian.Uint16(h[4:6]))
	// The length counts the unit id and a PDU of at least a function code.
	if n < 2 || n-1 > maxPDU {
		return 0, 0, 0, fmt.Errorf("%w: length field %d outside 2..%d", ErrProtocol, n, maxPDU+1)
	}
	return txid, h[6], n - 1, nil
}

// checkException returns the exception a reply to function fc carries, a
// protocol error if the reply answers another function, or nil.
func checkException(fc byte, pdu []byte) error {
	if len(pdu) == 0 {
		return fmt.Errorf("%w: empty reply", ErrProtocol)
	}
	switch pdu[0] {
	case fc:
		return nil
	case fc | 0x80:
		if len(pdu) != 2 {
			return fmt.Errorf("%w: exception reply of %d bytes", ErrProtocol, len(pdu))
		}
		return &ExceptionError{Function: fc, Code: pdu[1]}
	}
	return fmt.Errorf("%w: reply to function %d has function code %d", ErrProtocol, fc, pdu[0])
}

// parseRegisters parses the reply PDU to a read of n registers with
// function fc into dst (which it returns, resized).
func parseRegisters(fc byte, n uint16, pdu []byte, dst []uint16) ([]uint16, error) {
	if err := checkException(fc, pdu); err != nil {
		return nil, err
	}
	if len(pdu) < 2 || int(pdu[1]) != 2*int(n) || len(pdu) != 2+2*int(n) {
		return nil, fmt.Errorf("%w: read of %d registers answered with %d bytes", ErrProtocol, n, len(pdu))
	}
	dst = dst[:0]
	for i := range int(n) {
		dst = append(dst, binary.BigEndian.Uint16(pdu[2+2*i:]))
	}
	return dst, nil
}

// parseCoils parses the reply PDU to a read of n coils.
func parseCoils(n uint16, pdu []byte) ([]bool, error) {
	if err := checkException(fcReadCoils, pdu); err != nil {
		return nil, err
	}
	nb := (int(n) + 7) / 8
	if len(pdu) < 2 || int(pdu[1]) != nb || len(pdu) != 2+nb {
		return nil, fmt.Errorf("%w: read of %d coils answered with %d bytes", ErrProtocol, n, len(pdu))
	}
	out := make([]bool, n)
	for i := range out {
		out[i] = pdu[2+i/8]&(1<<(i%8)) != 0
	}
	return out, nil
}

// parseWriteCoil checks the reply PDU to a write-single-coil request,
// which must echo it.
func parseWriteCoil(req, pdu []byte) error {
	if err := checkException(fcWriteSingleCoil, pdu); err != nil {
		return err
	}
	if string(pdu) != string(req) {
		return fmt.Errorf("%w: coil write answered with % x, want an echo of % x", ErrProtocol, pdu, req)
	}
	return nil
}
