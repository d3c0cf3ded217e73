#!/usr/bin/env python3
"""Writes seed inputs for fuzz_net and fuzz_vsock (tests/fuzz/corpus/{net,vsock}/).

Record formats are documented at the top of tests/fuzz/fuzz_net.c and
tests/fuzz/fuzz_vsock.c. Run from the repository root."""

import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "corpus"


def net_hdr(flags=0, gso=0, hdr_len=0, gso_size=0, start=0, off=0):
    return struct.pack("<BBHHHHH", flags, gso, hdr_len, gso_size, start, off, 0)


def frame(n, dst=b"\x52\x54\x00\x12\x34\x56"):
    return dst + b"\x02\x00\x00\x00\x00\x01\x08\x00" + bytes((i * 7) & 0xff for i in range(n - 14))


def tx(payload):
    assert len(payload) % 2 == 0 and len(payload) <= 510
    return bytes([0, len(payload) // 2]) + payload


def wire(payload):
    pad = (-len(payload)) % 4
    payload += b"\0" * pad
    return bytes([2, len(payload) // 4]) + payload


def ctrl(cmd, ack=True):
    return bytes([3, len(cmd) | (0 if ack else 64)]) + cmd


def net_seeds():
    restart = lambda bits: bytes([4, bits])
    post = lambda n24: bytes([1, n24])
    return {
        "tx-plain": restart(0) + tx(net_hdr() + frame(60)),
        "tx-csum-tso": restart(0x86) + tx(net_hdr(1, 1, 54, 1448, 34, 16) + frame(200)),
        "tx-bad-gso": restart(0) + tx(net_hdr(1, 9, 54, 0, 34, 16) + frame(100)),
        "tx-short": restart(0) + tx(b"\0" * 6),
        "rx-one": restart(0) + post(64) + wire(net_hdr() + frame(100)),
        "rx-mrg-spill": restart(1) + post(64) + post(10) + wire(net_hdr() + frame(300)) + post(64),
        "rx-no-buffers": restart(0) + wire(net_hdr() + frame(80)) + post(64) + bytes([5, 0]),
        "rx-tiny-buffer": restart(1) + post(0) + wire(net_hdr() + frame(60)),
        "ctrl-promisc-off": restart(0x18) + ctrl(bytes([0, 0, 0])) + post(64)
        + wire(net_hdr() + frame(60, b"\x52\x54\x00\x99\x99\x99")),
        "ctrl-mac-table": restart(0x18) + ctrl(bytes([1, 0]) + struct.pack("<I", 1) + b"\x52\x54\x00\x01\x02\x03" + struct.pack("<I", 0)),
        "ctrl-no-ack": restart(0x08) + ctrl(bytes([0, 0, 1]), ack=False),
        "kick-all": restart(0xff) + bytes([5, 0, 5, 1, 5, 2, 5, 3, 5, 4]),
    }


def vsock_hdr(op, sport=5000, dport=1000, length=0, typ=1, flags=0, cid=3):
    return struct.pack("<QQIIIHHIII", cid, 2, sport, dport, length, typ, op, flags, 262144, 0)


def vpkt(hdr, payload=b"", tame=True):
    n = (len(payload) + 7) // 8
    payload = payload.ljust(n * 8, b"\0")
    arg = n * 2 if tame else n * 2 + 1
    assert arg < 256
    return bytes([0, arg]) + hdr + payload


def vsock_seeds():
    post = lambda n16: bytes([1, n16])
    poll = bytes([4, 0])
    return {
        "connect-data-close": post(255) + post(255) + vpkt(vsock_hdr(1, dport=1001))
        + bytes([2, 0]) + vpkt(vsock_hdr(5, dport=1001, length=16), b"hello host bytes")
        + poll + vpkt(vsock_hdr(4, dport=1001, flags=3)),
        "connect-nobody": post(255) + vpkt(vsock_hdr(1, dport=1002)),
        "host-connect": post(255) + bytes([3, 13]) + b"CONNECT 5000\n" + poll
        + vpkt(vsock_hdr(2, sport=5000, dport=(1 << 30))),
        "host-garbage": bytes([3, 9]) + b"GARBAGE\n\n" + poll,
        "hostile-raw": vpkt(b"\xff" * 44, tame=False) + vpkt(b"\0" * 44, tame=False),
        "credit-overrun": post(255) + vpkt(vsock_hdr(1, dport=1001))
        + b"".join(vpkt(vsock_hdr(5, dport=1001, length=1000000), b"x" * 8) for _ in range(3)),
        "reset-event": post(255) + vpkt(vsock_hdr(1, dport=1001)) + bytes([6, 0, 5, 0]),
        "host-accept-close": post(255) + vpkt(vsock_hdr(1, dport=1001)) + bytes([2, 1]) + poll,
    }


def write(name, seeds):
    d = ROOT / name
    d.mkdir(parents=True, exist_ok=True)
    for k, v in seeds.items():
        (d / k).write_bytes(v)


if __name__ == "__main__":
    write("net", net_seeds())
    write("vsock", vsock_seeds())
