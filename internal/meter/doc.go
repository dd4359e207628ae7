// Package meter reads the site meter over Modbus TCP: the site's net import
// from the grid, the grid frequency and, where a register or a second meter
// measures it, on-site generation. It can also switch and read back a coil,
// the relay output that drives a breaker or PDU trip line.
//
// A Meter is configured by a Config (YAML-friendly, checked by Validate)
// that names a register map. The built-in maps follow the SunSpec
// information model for AC meters: the integer + scale-factor models 201
// (single phase), 202 (split phase), 203 (wye three phase) and 204 (delta
// three phase), and their float twins 211–214. With map "sunspec" the
// driver finds the meter model on its own: it looks for the "SunS" marker
// at register 40000, 0 or 50000 and walks the chain of model headers (ID,
// L). The "generic" map describes each quantity's register by hand (holding
// or input, 0-based address, int16/uint16/int32/uint32/float32, word order,
// scale, an optional SunSpec-style scale-factor register, units).
//
// Register addresses are 0-based protocol (PDU) addresses, as they travel
// on the wire: the register a vendor manual calls "40001" in 1-based
// Modicon notation is holding register 0, and the SunSpec base "40001" is
// address 40000.
//
// Sign convention: Reading.Import is positive when the site draws power
// from the grid and negative when it exports. SunSpec meters report W with
// that sign (positive = imported); a meter installed or configured the
// other way round (some report export as positive) needs invert_import.
//
// SunSpec "not implemented" values (0x8000 in an int16 or a scale factor,
// 0xFFFF in a uint16, 0x80000000 / 0xFFFFFFFF in 32-bit integers, NaN in a
// float32) make a quantity absent, never zero: Reading.HasFrequency and
// Reading.HasGeneration say so, and an absent import is an error.
//
// The driver speaks Modbus TCP itself (function codes 1, 3, 4 and 5) so
// that every exchange honours the caller's context and a deadline covering
// dial, write and read; frames are parsed by pure functions, separate from
// I/O, that are fuzzed. It reads each contiguous block of registers in one
// round trip, keeps one connection open, and reconnects after any failure.
// Run polls at a fixed period on an injected clock.
//
// It does not speak Modbus RTU, UDP or TLS, write holding registers, read
// energy counters, currents, voltages or power factor, nor decide anything
// from what it reads: the controller's meter loop and the under-frequency
// trip consume Readings.
package meter
