#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_9p (tests/fuzz/corpus/9p/): one file per
session shape, in the input layout documented in fuzz_9p.c (a reply-room
byte, then T-messages back to back; fid 0 is the attached root of a
read-only share holding file, link -> file, abs -> /etc/passwd, fifo,
sub/{a,b}, sub/deeper)."""
import os
import struct
import sys

TLERROR, TSTATFS, TLOPEN, TLCREATE, TSYMLINK, TMKNOD, TRENAME, TREADLINK = 6, 8, 12, 14, 16, 18, 20, 22
TGETATTR, TSETATTR, TXATTRWALK, TXATTRCREATE, TREADDIR, TFSYNC, TLOCK, TGETLOCK = 24, 26, 30, 32, 40, 50, 52, 54
TLINK, TMKDIR, TRENAMEAT, TUNLINKAT, TVERSION, TAUTH, TATTACH, TFLUSH = 70, 72, 74, 76, 100, 102, 104, 108
TWALK, TREAD, TWRITE, TCLUNK, TREMOVE = 110, 116, 118, 120, 122
NOFID = 0xffffffff


def s(text):
    b = text.encode() if isinstance(text, str) else text
    return struct.pack('<H', len(b)) + b


def msg(t, body, tag=1):
    return struct.pack('<IBH', 7 + len(body), t, tag) + body


def walk(fid, newfid, *names):
    return msg(TWALK, struct.pack('<IIH', fid, newfid, len(names)) + b''.join(s(n) for n in names))


def fid_op(t, fid):
    return msg(t, struct.pack('<I', fid))


def read(t, fid, off, count):
    return msg(t, struct.pack('<IQI', fid, off, count))


def lopen(fid, flags):
    return msg(TLOPEN, struct.pack('<II', fid, flags))


def xattrwalk(fid, newfid, name):
    return msg(TXATTRWALK, struct.pack('<II', fid, newfid) + s(name))


def lock(t, fid, ltype, start, length):
    flags = struct.pack('<I', 0) if t == TLOCK else b''
    return msg(t, struct.pack('<IB', fid, ltype) + flags + struct.pack('<QQI', start, length, 7) + s('host'))


ROOM = b'\xff'
CASES = {
    'read-file': [walk(0, 1, 'file'), lopen(1, 0), read(TREAD, 1, 0, 4096), fid_op(TCLUNK, 1)],
    'readdir': [walk(0, 1, 'sub'), lopen(1, 0), read(TREADDIR, 1, 0, 8192), read(TREADDIR, 1, 3, 40)],
    'readdir-root-small': [walk(0, 1), lopen(1, 0), read(TREADDIR, 1, 0, 30)],
    'getattr-all': [walk(0, 1, 'link'), msg(TGETATTR, struct.pack('<IQ', 1, 0x3fff)),
                    walk(0, 2, 'fifo'), msg(TGETATTR, struct.pack('<IQ', 2, 0x7ff))],
    'readlink': [walk(0, 1, 'abs'), fid_op(TREADLINK, 1), lopen(1, 0)],
    'dotdot': [walk(0, 1, '..', '..', 'etc', 'passwd'), walk(0, 2, 'sub', '..', 'file')],
    'bad-names': [walk(0, 1, '../etc'), walk(0, 1, b'a\x00b'), walk(0, 1, ''), walk(0, 1, 'x' * 300)],
    'through-link': [walk(0, 1, 'abs', 'x'), walk(0, 2, 'link'), lopen(2, 2)],
    'fifo-open': [walk(0, 1, 'fifo'), lopen(1, 0)],
    'xattrs': [walk(0, 1, 'file'), xattrwalk(1, 2, ''), read(TREAD, 2, 0, 100),
               xattrwalk(1, 3, 'user.k'), read(TREAD, 3, 0, 100), xattrwalk(1, 4, 'user.virtfs.uid')],
    'statfs-fsync-lock': [fid_op(TSTATFS, 0), walk(0, 1, 'file'), lopen(1, 0),
                          msg(TFSYNC, struct.pack('<II', 1, 1)), lock(TLOCK, 1, 0, 0, 10),
                          lock(TGETLOCK, 1, 1, 0, 0), lock(TLOCK, 1, 9, 1 << 63, 1)],
    'writes-refused': [walk(0, 1), msg(TMKDIR, struct.pack('<I', 1) + s('d') + struct.pack('<II', 0o755, 0)),
                       msg(TLCREATE, struct.pack('<I', 1) + s('n') + struct.pack('<III', 0o102, 0o644, 0)),
                       msg(TUNLINKAT, struct.pack('<I', 0) + s('file') + struct.pack('<I', 0)),
                       msg(TRENAMEAT, struct.pack('<I', 0) + s('file') + struct.pack('<I', 0) + s('f2')),
                       msg(TSYMLINK, struct.pack('<I', 0) + s('l') + s('/etc') + struct.pack('<I', 0)),
                       msg(TMKNOD, struct.pack('<I', 0) + s('n') + struct.pack('<IIII', 0o20644, 1, 3, 0)),
                       msg(TLINK, struct.pack('<II', 0, 1) + s('h')),
                       msg(TRENAME, struct.pack('<II', 1, 0) + s('r')),
                       msg(TSETATTR, struct.pack('<IIIII', 0, 1, 0o777, 0, 0) + bytes(40)),
                       msg(TXATTRCREATE, struct.pack('<I', 1) + s('user.a') + struct.pack('<QI', 4, 0)),
                       fid_op(TREMOVE, 1)],
    'write-refused': [walk(0, 1, 'file'), lopen(1, 0),
                      msg(TWRITE, struct.pack('<IQI', 1, 0, 5) + b'hello')],
    'version-again': [msg(TVERSION, struct.pack('<I', 8192) + s('9P2000.L'), tag=0xffff),
                      msg(TATTACH, struct.pack('<II', 5, NOFID) + s('') + s('') + struct.pack('<I', 1000)),
                      msg(TVERSION, struct.pack('<I', 100) + s('9P2000.u'), tag=0xffff)],
    'flush-auth': [msg(TFLUSH, struct.pack('<H', 1)),
                   msg(TAUTH, struct.pack('<I', 3) + s('u') + s('') + struct.pack('<I', 0))],
    'clunk-twice': [walk(0, 1), fid_op(TCLUNK, 1), fid_op(TCLUNK, 1), fid_op(TCLUNK, NOFID)],
    'short-body': [msg(TWALK, struct.pack('<IIH', 0, 1, 3) + s('sub')), msg(TREAD, b'\x00')],
    'huge-size': [struct.pack('<IBH', 0xffffffff, TREAD, 1) + bytes(16)],
    'walk-17': [msg(TWALK, struct.pack('<IIH', 0, 1, 17) + s('a') * 17)],
    'unknown-type': [msg(200, b'abc'), msg(TLERROR, b'')],
}
TINY = {
    'tiny-room-getattr': (b'\x05', [msg(TGETATTR, struct.pack('<IQ', 0, 0x7ff))]),
    'tiny-room-read': (b'\x07', [walk(0, 1, 'file'), lopen(1, 0), read(TREAD, 1, 0, 4096)]),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'corpus', '9p')
    os.makedirs(out, exist_ok=True)
    for name, msgs in CASES.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(ROOM + b''.join(msgs))
    for name, (room, msgs) in TINY.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(room + b''.join(msgs))
    # single messages on their own: the parser's verdict on each exact buffer
    for name, m in [('alone-walk', walk(0, 1, 'a', 'b')), ('alone-write', msg(TWRITE, struct.pack('<IQI', 1, 0, 3) + b'abc')),
                    ('alone-lock', lock(TLOCK, 1, 1, 0, 0))]:
        with open(os.path.join(out, name), 'wb') as f:
            f.write(m)


if __name__ == '__main__':
    main()
