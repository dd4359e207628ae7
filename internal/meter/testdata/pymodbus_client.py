"""Reads a SunSpec meter with pymodbus's client, an independent Modbus TCP
peer for the simulated meter's tests, and prints what it found as JSON.

It finds "SunS" at 40000, walks the model headers, and decodes W and Hz of
every meter model (201-204: int16 with scale factors; 211-214: float32).
With --coil N it then switches coil N on and reads it back.
"""

import argparse
import json
import math
import struct
import sys

from pymodbus.client import ModbusTcpClient


def read(client, addr, count, unit):
    rr = client.read_holding_registers(addr, count, slave=unit)
    if rr.isError():
        raise SystemExit(f"read {count} at {addr}: {rr}")
    return rr.registers


def s16(v):
    return v - 0x10000 if v >= 0x8000 else v


def scaled(value, sf):
    if value == 0x8000 or sf == 0x8000:
        return None
    return s16(value) * 10.0 ** s16(sf)


def f32(hi, lo):
    x = struct.unpack(">f", struct.pack(">HH", hi, lo))[0]
    return None if math.isnan(x) else x


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--unit", type=int, default=1)
    p.add_argument("--coil", type=int, default=None)
    a = p.parse_args()

    client = ModbusTcpClient(a.host, port=a.port, timeout=5)
    if not client.connect():
        raise SystemExit(f"connect to {a.host}:{a.port} failed")
    base = 40000
    if read(client, base, 2, a.unit) != [0x5375, 0x6E53]:
        raise SystemExit("no SunS marker at 40000")
    out = {"models": []}
    addr = base + 2
    for _ in range(64):
        mid, length = read(client, addr, 2, a.unit)
        if mid == 0xFFFF:
            break
        if mid in (201, 202, 203, 204):
            b = read(client, addr + 2, 21, a.unit)
            out["models"].append({"id": mid, "addr": addr, "w": scaled(b[16], b[20]), "hz": scaled(b[14], b[15])})
        elif mid in (211, 212, 213, 214):
            b = read(client, addr + 2, 28, a.unit)
            out["models"].append({"id": mid, "addr": addr, "w": f32(b[26], b[27]), "hz": f32(b[24], b[25])})
        addr += 2 + length
    if a.coil is not None:
        wr = client.write_coil(a.coil, True, slave=a.unit)
        if wr.isError():
            raise SystemExit(f"write coil {a.coil}: {wr}")
        rr = client.read_coils(a.coil, 1, slave=a.unit)
        if rr.isError():
            raise SystemExit(f"read coil {a.coil}: {rr}")
        out["coil"] = bool(rr.bits[0])
    client.close()
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
