#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_virtq (see the input layout in fuzz_virtq.c)
into tests/fuzz/corpus/virtq/: valid rings of every shape, and one input per
ring rule a hostile guest can break. Run from the repository root:
    tests/fuzz/gen_virtq_corpus.py
Files it does not name (libFuzzer finds, named by hash) are left alone."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "virtq")

NEXT, WRITE, INDIRECT = 1, 2, 4
EVENT_IDX, INDIRECT_DESC = 1, 2
RAM_A_END = 0x10000
RAM_B = 0x11000
NOWHERE = 0x40000000


class Queue:
    """A guest memory image with one queue laid out in it."""

    def __init__(self, size=4, feat=0, script=0, desc=0x0, avail=0x100, used=0x200):
        self.size, self.feat, self.script = size, feat, script
        self.gdesc, self.gavail, self.gused = desc, avail, used
        self.mem = bytearray()
        self.avail_idx = 0

    def put(self, gpa, data):
        """Writes bytes at a guest address: the image is loaded at the start of
        both RAM A and RAM B, so B's addresses write the same image bytes."""
        off = gpa if gpa < RAM_A_END else gpa - RAM_B
        assert 0 <= off < RAM_A_END
        if len(self.mem) < off + len(data):
            self.mem.extend(bytes(off + len(data) - len(self.mem)))
        self.mem[off:off + len(data)] = data

    def desc(self, i, addr, length, flags=0, nxt=0, table=None):
        base = self.gdesc if table is None else table
        self.put(base + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def chain(self, first, segs, table=None):
        """Descriptors first, first+1, ... for (addr, len, writable) segments."""
        for k, (addr, length, w) in enumerate(segs):
            last = k == len(segs) - 1
            self.desc(first + k, addr, length, (0 if last else NEXT) | (WRITE if w else 0),
                      0 if last else first + k + 1, table)

    def avail(self, *heads, idx=None):
        for h in heads:
            slot = self.avail_idx % self.size
            self.put(self.gavail + 4 + 2 * slot, struct.pack("<H", h & 0xFFFF))
            self.avail_idx += 1
        self.put(self.gavail + 2, struct.pack("<H", (self.avail_idx if idx is None else idx) & 0xFFFF))

    def avail_flags(self, flags):
        self.put(self.gavail, struct.pack("<H", flags))

    def used_event(self, v):
        self.put(self.gavail + 4 + 2 * self.size, struct.pack("<H", v))

    def blob(self):
        header = struct.pack("<HBBIII", self.size & 0xFFFF, self.feat, self.script,
                             self.gdesc, self.gavail, self.gused)
        return header + bytes(self.mem).rstrip(b"\0")


def cases():
    buf = 0x400

    q = Queue()
    q.chain(0, [(buf, 16, False)])
    q.avail(0)
    yield "ok-one-readable", q

    q = Queue(script=4)
    q.chain(0, [(buf, 16, False), (buf + 16, 100, False), (buf + 128, 200, True)])
    q.avail(0)
    yield "ok-direct-rrw", q

    q = Queue(size=8, script=2)
    for i in range(8):
        q.chain(i, [(buf + 32 * i, 32, i % 2 == 1)])
    q.avail(*range(8))
    yield "ok-full-ring", q

    q = Queue(feat=INDIRECT_DESC)
    q.chain(0, [(buf, 16, False), (buf + 16, 64, True), (buf + 80, 64, True)], table=0x300)
    q.desc(0, 0x300, 48, INDIRECT)
    q.avail(0)
    yield "ok-indirect", q

    q = Queue(feat=INDIRECT_DESC | EVENT_IDX, script=1)
    q.chain(0, [(buf, 16, False)], table=0x300)
    q.desc(2, buf + 16, 16, NEXT, 3)
    q.desc(3, 0x300, 16, INDIRECT | WRITE)
    q.avail(2)
    q.used_event(0)
    yield "ok-direct-then-indirect", q

    q = Queue(feat=INDIRECT_DESC)
    q.desc(0, 0x303, 32, INDIRECT)
    q.put(0x303, struct.pack("<QIHH", buf, 8, NEXT, 1) + struct.pack("<QIHH", buf + 8, 8, WRITE, 0))
    q.avail(0)
    yield "ok-indirect-unaligned", q

    q = Queue(size=8, feat=EVENT_IDX, script=2)
    for i in range(4):
        q.chain(2 * i, [(buf, 8, False), (buf + 16 * i, 16, True)][: 1 + i % 2])
    q.avail(0, 4, 2, 6)
    q.used_event(2)
    yield "ok-event-idx", q

    q = Queue(size=8)
    q.chain(0, [(buf, 8, False)])
    q.avail(0, 0, 0)
    q.avail_flags(1)
    yield "ok-no-interrupt", q

    q = Queue()
    q.desc(0, NOWHERE, 0, NEXT, 1)
    q.desc(1, buf, 8, NEXT, 2)
    q.desc(2, 0, 0, WRITE, 0)
    q.avail(0)
    yield "ok-zero-length", q

    q = Queue(size=8)
    q.chain(0, [(buf + 8 * i, 8, i >= 5) for i in range(8)])
    q.avail(0)
    yield "ok-chain-of-size", q

    q = Queue(feat=INDIRECT_DESC)
    q.chain(0, [(buf + 8 * i, 8, i >= 2) for i in range(4)], table=0x300)
    q.desc(1, 0x300, 64, INDIRECT)
    q.avail(1)
    yield "ok-table-of-size", q

    q = Queue(size=1, feat=EVENT_IDX)
    q.chain(0, [(buf, 8, True)])
    q.avail(0)
    yield "ok-size-1", q

    q = Queue(desc=RAM_B, avail=RAM_B + 0x100, used=RAM_B + 0x200)
    q.chain(0, [(RAM_B + 0x400, 64, False), (0x400, 64, True)])
    q.avail(0)
    yield "ok-region-b", q

    q = Queue()
    q.chain(0, [(buf, 16, False), (0x1000, 0x3000, True)])
    q.avail(0)
    yield "ok-big-writable", q

    q = Queue(size=1024, feat=EVENT_IDX | INDIRECT_DESC, desc=0x0, avail=0x4000, used=0x5000)
    q.chain(7, [(0x8000, 32, False), (0x8020, 32, True)])
    q.avail(7, 7, 1023)
    yield "ok-size-1024", q

    q = Queue(size=8, script=1)
    q.chain(0, [(buf, 8, False)])
    q.avail(*[0] * 8)
    yield "ok-same-head-8-times", q

    # ---- hostile: each breaks one rule ----
    q = Queue()
    q.desc(0, buf, 8, NEXT, 1)
    q.desc(1, buf, 8, NEXT, 0)
    q.avail(0)
    yield "bad-loop", q

    q = Queue()
    q.desc(2, buf, 8, NEXT, 2)
    q.avail(2)
    yield "bad-self-loop", q

    q = Queue()
    q.desc(0, buf, 8, NEXT, 4)
    q.avail(0)
    yield "bad-next-beyond-size", q

    q = Queue()
    q.desc(0, buf, 8, NEXT, 0xFFFE)  # far past the table: the harness has guard pages there
    q.avail(0)
    yield "bad-next-far-beyond-size", q

    q = Queue(feat=INDIRECT_DESC)
    q.desc(0, 0x300, 32, INDIRECT)
    q.desc(0, buf, 8, NEXT, 0xFFFE, table=0x300)
    q.avail(0)
    yield "bad-indirect-next-far", q

    q = Queue()
    q.chain(0, [(buf, 8, False)])
    q.avail(4)
    yield "bad-head-beyond-size", q

    q = Queue()
    q.chain(0, [(buf, 8, False)])
    q.avail(0, idx=5)
    yield "bad-avail-idx-too-far", q

    q = Queue()
    q.chain(0, [(buf, 8, False)])
    q.avail(0, idx=0xFFFF)
    yield "bad-avail-idx-behind", q

    q = Queue(feat=INDIRECT_DESC)
    q.chain(0, [(buf, 8, False), (buf, 8, False), (buf, 8, False)])
    q.desc(2, 0x300, 32, INDIRECT | NEXT, 3)  # replaces the end: indirect with NEXT
    q.chain(0, [(buf, 8, False), (buf, 8, True)], table=0x300)
    q.avail(0)
    yield "bad-indirect-with-next", q

    q = Queue(feat=INDIRECT_DESC)
    q.desc(0, 0x300, 32, INDIRECT)
    q.desc(0, buf, 8, NEXT, 1, table=0x300)
    q.desc(1, 0x340, 16, INDIRECT, 0, table=0x300)
    q.desc(0, buf, 8, 0, 0, table=0x340)
    q.avail(0)
    yield "bad-indirect-nested", q

    for name, length in (("len-0", 0), ("len-24", 24), ("too-many", 80)):
        q = Queue(feat=INDIRECT_DESC)
        q.chain(0, [(buf, 8, False)] * 5, table=0x300)
        q.desc(0, 0x300, length, INDIRECT)
        q.avail(0)
        yield "bad-indirect-" + name, q

    q = Queue()
    q.chain(0, [(buf, 8, False)], table=0x300)
    q.desc(0, 0x300, 16, INDIRECT)
    q.avail(0)
    yield "bad-indirect-no-feature", q

    q = Queue(feat=INDIRECT_DESC)
    q.desc(0, 0x300, 32, INDIRECT)
    q.desc(0, buf, 8, NEXT, 1, table=0x300)
    q.desc(1, buf, 8, NEXT, 0, table=0x300)
    q.avail(0)
    yield "bad-indirect-loop", q

    q = Queue(feat=INDIRECT_DESC)
    q.desc(0, 0x300, 32, INDIRECT)
    q.desc(0, buf, 8, NEXT, 2, table=0x300)
    q.avail(0)
    yield "bad-indirect-next-beyond-table", q

    q = Queue(feat=INDIRECT_DESC)
    q.desc(0, RAM_A_END - 16, 32, INDIRECT)
    q.avail(0)
    yield "bad-indirect-table-into-gap", q

    q = Queue(feat=INDIRECT_DESC)
    q.chain(0, [(buf, 8, False)] * 4)
    q.desc(3, 0x300, 32, INDIRECT)
    q.chain(0, [(buf, 8, False)] * 2, table=0x300)
    q.avail(0)
    yield "bad-chain-longer-than-size", q

    for name, addr, length in (("nowhere", NOWHERE, 16), ("wraps", 2**64 - 0x100, 0x1000),
                               ("into-gap", RAM_A_END - 8, 16), ("from-gap", RAM_B - 8, 16),
                               ("past-ram", RAM_B + 0x4000 - 4, 8)):
        q = Queue()
        q.chain(0, [(buf, 8, False), (addr, length, True)])
        q.avail(0)
        yield "bad-buffer-" + name, q

    q = Queue()
    q.chain(0, [(buf, 8, True), (buf + 8, 8, False)])
    q.avail(0)
    yield "bad-readable-after-writable", q

    q = Queue(feat=INDIRECT_DESC)
    q.desc(0, buf, 8, WRITE | NEXT, 1)
    q.desc(1, 0x300, 16, INDIRECT)
    q.desc(0, buf + 8, 8, 0, 0, table=0x300)
    q.avail(0)
    yield "bad-readable-after-writable-indirect", q

    for name, size in (("size-0", 0), ("size-3", 3), ("size-2048", 2048), ("size-32768", 32768)):
        q = Queue(size=1)
        q.chain(0, [(buf, 8, False)])
        q.avail(0)
        q.size = size
        yield "bad-" + name, q

    for name, d, a, u in (("desc-misaligned", 0x8, 0x100, 0x200), ("avail-odd", 0x0, 0x101, 0x200),
                          ("used-misaligned", 0x0, 0x100, 0x202), ("desc-outside", 0x20000, 0x100, 0x200),
                          ("used-into-gap", 0x0, 0x100, RAM_A_END - 8)):
        q = Queue(desc=d, avail=a, used=u)
        q.avail(0)  # enabling fails before any descriptor is read
        yield "bad-layout-" + name, q

    # The used ring ends exactly at the end of RAM A: fine unless EVENT_IDX needs 2 more bytes.
    for feat in (0, EVENT_IDX):
        q = Queue(feat=feat, used=RAM_A_END - (4 + 8 * 4))
        q.chain(0, [(buf, 8, False)])
        q.avail(0)
        yield "%s-used-at-ram-end" % ("bad" if feat else "ok"), q


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, q in cases():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(q.blob())


if __name__ == "__main__":
    main()
