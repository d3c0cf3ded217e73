#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_blk_req (tests/fuzz/corpus/blk_req/): one
file per request shape, in the input layout documented in fuzz_blk_req.c."""
import os
import struct
import sys

IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES = 0, 1, 4, 8, 11, 13


def hdr(t, sector):
    return struct.pack('<IIQ', t, 0, sector)


def dwz(sector, n, flags):
    return struct.pack('<QII', sector, n, flags)


def case(limits, cap, max_iov, readable, writable):
    """readable/writable: lists of segment byte strings."""
    assert len(readable) < 16 and len(writable) < 16
    out = bytes([limits, cap, max_iov, len(readable) | len(writable) << 4])
    for seg in readable + writable:
        out += struct.pack('<H', len(seg))
    return out + b''.join(readable + writable)


ALL = 0b110  # discard and write-zeroes negotiated, writable
CAP = 11     # 2048 sectors
STATUS = b'\xee'
CASES = {
    'read': case(ALL, CAP, 8, [hdr(IN, 8)], [bytes(4096), STATUS]),
    'read-last-sector': case(ALL, CAP, 8, [hdr(IN, 2047)], [bytes(512), STATUS]),
    'read-past-end': case(ALL, CAP, 8, [hdr(IN, 2047)], [bytes(1024), STATUS]),
    'read-data-and-status-together': case(ALL, CAP, 8, [hdr(IN, 1)], [bytes(513)]),
    'write': case(ALL, CAP, 8, [hdr(OUT, 0), b'\x5a' * 512, b'\xa5' * 1024], [STATUS]),
    'write-read-only': case(ALL | 1, CAP, 8, [hdr(OUT, 0), b'\x5a' * 512], [STATUS]),
    'write-split-header': case(ALL, CAP, 8, [hdr(OUT, 3)[:5], hdr(OUT, 3)[5:11],
                                             hdr(OUT, 3)[11:] + b'\x11' * 512], [STATUS]),
    'write-odd-size': case(ALL, CAP, 8, [hdr(OUT, 0), b'\x01' * 100], [STATUS]),
    'write-overflowing-sector': case(ALL, 0xc0, 8, [hdr(OUT, 2**64 - 1), bytes(512)], [STATUS]),
    'write-too-many-segments': case(ALL, CAP, 2, [hdr(OUT, 0)] + [bytes(512)] * 4, [STATUS]),
    'flush': case(ALL, CAP, 8, [hdr(FLUSH, 0)], [STATUS]),
    'get-id': case(ALL, CAP, 8, [hdr(GET_ID, 0)], [bytes(20), STATUS]),
    'get-id-no-room': case(ALL, CAP, 8, [hdr(GET_ID, 0)], [STATUS]),
    'discard': case(ALL, CAP, 8, [hdr(DISCARD, 0), dwz(16, 8, 0)], [STATUS]),
    'discard-unmap': case(ALL, CAP, 8, [hdr(DISCARD, 0), dwz(16, 8, 1)], [STATUS]),
    'discard-not-negotiated': case(0, CAP, 8, [hdr(DISCARD, 0), dwz(16, 8, 0)], [STATUS]),
    'discard-two-segments': case(ALL, CAP, 8, [hdr(DISCARD, 0), dwz(0, 1, 0) + dwz(8, 1, 0)],
                                 [STATUS]),
    'write-zeroes-unmap': case(ALL, CAP, 8, [hdr(WRITE_ZEROES, 0), dwz(2040, 8, 1)], [STATUS]),
    'write-zeroes-bad-flags': case(ALL, CAP, 8, [hdr(WRITE_ZEROES, 0), dwz(0, 8, 6)], [STATUS]),
    'write-zeroes-past-end': case(ALL, CAP, 8, [hdr(WRITE_ZEROES, 0), dwz(2047, 2, 0)], [STATUS]),
    'unknown-type': case(ALL, CAP, 8, [hdr(0x1234, 0)], [bytes(512), STATUS]),
    'writable-header': case(ALL, CAP, 8, [], [hdr(IN, 0), STATUS]),
    'short-header': case(ALL, CAP, 8, [hdr(IN, 0)[:10]], [STATUS]),
    'no-status': case(ALL, CAP, 8, [hdr(OUT, 0), bytes(512)], []),
    'zero-length-segments': case(ALL, CAP, 8, [b'', hdr(IN, 0)], [bytes(512), b'', STATUS, b'']),
    'empty-chain': case(ALL, CAP, 8, [], []),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), 'corpus', 'blk_req')
    os.makedirs(out, exist_ok=True)
    for name, data in CASES.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
