#!/usr/bin/python3
"""bench/9p-report.py FILE.json...: the table of bench/9p.py results.

Per metric: Cove's and QEMU's medians and the ratio Cove/QEMU (higher is
better for every metric: MiB/s and operations/s), against the project's
goal of at least 1.2; then any failed run with the tail of its output."""

import json
import sys

NAMES = {"write_mibps": ("sequential write", "MiB/s"), "read_mibps": ("sequential read", "MiB/s"),
         "create_ops": ("create", "ops/s"), "stat_ops": ("stat", "ops/s"),
         "unlink_ops": ("unlink", "ops/s")}
GOAL = 1.2


def fmt(v):
    return "-" if v is None else f"{v:.1f}"


def report(path):
    with open(path) as fh:
        data = json.load(fh)
    c, s = data["config"], data.get("summary", {})
    print(f"virtio-9p ({path}): {c['mib']} MiB file, {c['files']} files, msize {c['msize']}, "
          f"{c['model']} on {c['share']}; {c['qemu']}")
    print(f"runs ok: cove {s.get('cove', {}).get('runs', 0)}, qemu {s.get('qemu', {}).get('runs', 0)}"
          f" of {c['runs']} each")
    print(f"{'metric':<18} {'cove':>10} {'qemu':>10} {'cove/qemu':>10}  goal >= {GOAL}")
    for k, (name, unit) in NAMES.items():
        cv, qv = s.get("cove", {}).get(k), s.get("qemu", {}).get(k)
        r = s.get("ratio", {}).get(k)
        mark = "" if r is None else ("met" if r >= GOAL else "NOT met")
        print(f"{name + ' ' + unit:<18} {fmt(cv):>10} {fmt(qv):>10} {fmt(r) if r is None else f'{r:.2f}':>10}  {mark}")
    for r in data["runs"]:
        if not r["ok"]:
            print(f"\nFAILED {r['vmm']} (status {r['status']}, {r['wall_s']} s)")
            print("stdout tail:\n" + r.get("stdout_tail", ""))
            print("stderr tail:\n" + r.get("stderr_tail", ""))


for p in sys.argv[1:]:
    report(p)
