"""A SunSpec meter served by pymodbus, an independent Modbus TCP peer for
the meter driver's tests.

Holding registers from --base hold "SunS", the common model (1), a site
meter model (--model, 203 or 213) and, with --gen-w, a second meter model
of the same kind for generation, then the end model. Values are given as
raw register contents (int16 W/Hz with their scale factors for 203; plain
numbers for 213, written as big-endian float32). 16 coils start at 0.

The server listens on 127.0.0.1 on a free port, prints the port on stdout
when ready, and exits when its standard input closes.
"""

import argparse
import asyncio
import struct
import sys
import threading
import os

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.server.async_io import ModbusTcpServer

NAN16 = 0x8000


def string_regs(s, n):
    b = s.encode().ljust(2 * n, b"\0")
    return [(b[2 * i] << 8) | b[2 * i + 1] for i in range(n)]


def float_regs(x):
    hi, lo = struct.unpack(">HH", struct.pack(">f", x))
    return [hi, lo]


def u16(v):
    return v & 0xFFFF


def meter_model(model, w, w_sf, hz, hz_sf):
    if model in (201, 202, 203, 204):
        body = [NAN16] * 105
        for sf in (4, 13, 15, 20, 25, 30, 35, 52, 69, 102):
            body[sf] = 0
        body[14], body[15] = u16(hz), u16(hz_sf)
        body[16], body[20] = u16(w), u16(w_sf)
        body[103] = body[104] = 0
        return [model, 105] + body
    if model in (211, 212, 213, 214):
        body = []
        for _ in range(61):
            body += [0x7FC0, 0x0000]  # NaN: not implemented
        body += [0, 0]  # Evt
        body[24:26] = float_regs(hz) if hz is not None else [0x7FC0, 0]
        body[26:28] = float_regs(w)
        return [model, 124] + body
    raise SystemExit(f"model {model}: want 201-204 or 211-214")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", type=int, default=40000)
    p.add_argument("--model", type=int, default=203)
    p.add_argument("--w", type=float, required=True)
    p.add_argument("--w-sf", type=int, default=0)
    p.add_argument("--hz", type=float, default=None, help="absent: not implemented")
    p.add_argument("--hz-sf", type=int, default=-2)
    p.add_argument("--gen-w", type=float, default=None)
    p.add_argument("--gen-sf", type=int, default=0)
    a = p.parse_args()

    integer = a.model < 210
    conv = (lambda v: int(v)) if integer else (lambda v: v)
    hz = conv(a.hz) if a.hz is not None else (NAN16 if integer else None)
    regs = [0x5375, 0x6E53]  # "SunS"
    regs += [1, 66] + string_regs("pymodbus", 16) + string_regs("sunspec-test", 16)
    regs += string_regs("", 8) + string_regs("1.0", 8) + string_regs("PM-0001", 16) + [1, NAN16]
    regs += meter_model(a.model, conv(a.w), a.w_sf, hz, a.hz_sf)
    if a.gen_w is not None:
        regs += meter_model(a.model, conv(a.gen_w), a.gen_sf, hz, a.hz_sf)
    regs += [0xFFFF, 0]

    store = ModbusSlaveContext(
        hr=ModbusSequentialDataBlock(a.base, regs),
        co=ModbusSequentialDataBlock(0, [False] * 16),
        zero_mode=True,
    )
    context = ModbusServerContext(slaves=store, single=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()

    async def run():
        server = ModbusTcpServer(context, address=("127.0.0.1", 0), allow_reuse_address=True)
        task = asyncio.create_task(server.serve_forever())
        await server.serving
        port = server.server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
