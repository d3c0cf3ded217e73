#!/usr/bin/python3
"""bench/report.py: print the table of one or more bench result files.

  bench/report.py RESULT.json [RESULT.json ...]

Result files of bench/boot.py (the boot benchmark) and of bench/blk.py
("bench": "blk": virtio-blk in the lab and on the host) are told apart by
their content. Medians and min-max are over the runs that succeeded, warm-up
runs left out; failed runs are counted and listed with their error. Ratios
are of medians. Stdlib only; used by bench/run, and by hand on any saved
result.
"""

import json
import os
import sys

GOAL_BOOT_RATIO = 0.5   # boot in at most half of QEMU's time
GOAL_OVERHEAD_MIB = 5.0  # at most 5 MiB of VMM overhead (tiny-guest peak RSS)


def fmt(st, key, digits=0):
    s = st.get(key)
    if not s:
        return "-"
    d = f"{{:.{digits}f}}"
    return f"{d.format(s['median'])} [{d.format(s['min'])}-{d.format(s['max'])}]"


def ratio(a, b, key):
    try:
        return a[key]["median"] / b[key]["median"]
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def r2(x):
    return "n/a" if x is None else f"{x:.2f}"


def where_text(res):
    return "in the nested lab (level 2 on nested KVM)" if res["where"] == "lab" \
        else "directly on the host"


def report(res, path):
    lines = []
    p = lines.append
    summ = res.get("summary", {})
    cfg = res["config"]
    kver = res.get("kernel_version") or "?"
    p(f"== {os.path.basename(path)}: {res['started']}, {where_text(res)}, "
      f"{res.get('elapsed_s', '?')} s")
    p(f"   QEMU: {res.get('qemu_version')}; Cove: {res.get('cove')}")
    if "boot" in summ:
        b = summ["boot"]
        p("")
        p(f"boot (1 vCPU, {cfg['mem_mib']} MiB, Debian {kver} bzImage + busybox initramfs, "
          f"'{cfg['guest_params']}'), {cfg['runs']} runs each, alternating, "
          f"{where_text(res)}")
        p(f"{'vmm':<14} {'ok':>6}  {'ready ms median [min-max]':<27} "
          f"{'exit ms median [min-max]':<27} {'peak RSS MiB':<20}")
        for v, st in b.items():
            p(f"{v:<14} {st['ok']:>3}/{st['runs']:<2}  {fmt(st, 'ready_ms'):<27} "
              f"{fmt(st, 'exit_ms'):<27} {fmt(st, 'rss_mib', 1):<20}")
        c = b.get("cove")
        parts = []
        for peer, name in (("qemu-microvm", "microvm"), ("qemu-q35", "q35")):
            if c and peer in b:
                parts.append(f"cove/{name} ready {r2(ratio(c, b[peer], 'ready_ms'))} "
                             f"exit {r2(ratio(c, b[peer], 'exit_ms'))} "
                             f"rss {r2(ratio(c, b[peer], 'rss_mib'))}")
        if parts:
            p("ratios (of medians): " + " ; ".join(parts))
        if c and "ready_ms" in c:
            iqr = " ; ".join(
                f"{v} {st['ready_ms']['q1']:.0f}-{st['ready_ms']['q3']:.0f}"
                for v, st in b.items() if "ready_ms" in st)
            p(f"ready ms IQR: {iqr}")
        if c and "cove_first_run_ms" in c:
            p(f"cove log: first KVM_RUN {fmt(c, 'cove_first_run_ms', 1)} ms, "
              f"guest boot marker {fmt(c, 'cove_boot_marker_ms')} ms after start")
    if "tiny" in summ:
        t = summ["tiny"]
        p("")
        p(f"tiny PVH guest (build/tiny/tiny.elf, {cfg['mem_mib']} MiB), "
          f"{cfg['tiny_runs']} runs each, alternating")
        p(f"{'vmm':<14} {'ok':>6}  {'TINY line ms':<27} {'exit ms':<27} {'peak RSS MiB':<20}")
        for v, st in t.items():
            p(f"{v:<14} {st['ok']:>3}/{st['runs']:<2}  {fmt(st, 'ready_ms', 1):<27} "
              f"{fmt(st, 'exit_ms', 1):<27} {fmt(st, 'rss_mib', 2):<20}")
        c = t.get("cove")
        if c and c.get("cove_first_run_ms"):
            p(f"tiny guest: cove first KVM_RUN {c['cove_first_run_ms']['median']:.1f} ms, "
              f"exit {c['exit_ms']['median']:.1f} ms, "
              f"peak RSS {c['rss_mib']['median']:.2f} MiB (medians)")
        q = t.get("qemu-microvm")
        if c and q and q.get("ok"):
            p(f"ratios cove/microvm (tiny): TINY line {r2(ratio(c, q, 'ready_ms'))} "
              f"exit {r2(ratio(c, q, 'exit_ms'))} rss {r2(ratio(c, q, 'rss_mib'))} "
              f"(QEMU: -M {cfg['microvm_machine']} -kernel tiny.elf, power-off through "
              f"isa-debug-exit at 0x600, status {cfg['qemu_tiny_status']})")
    # Goals.
    if "boot" in summ and "cove" in summ["boot"]:
        b = summ["boot"]
        p("")
        p("goals: boot in at most half of QEMU's time; at most "
          f"{GOAL_OVERHEAD_MIB:.0f} MiB of VMM overhead")
        for peer in ("qemu-microvm", "qemu-q35"):
            if peer in b:
                rr = ratio(b["cove"], b[peer], "ready_ms")
                verdict = "n/a" if rr is None else (
                    "met" if rr <= GOAL_BOOT_RATIO else "NOT met")
                p(f"  boot (ready) cove/{peer.split('-')[1]} = {r2(rr)} "
                  f"(goal <= {GOAL_BOOT_RATIO}): {verdict}")
    if "tiny" in summ and summ["tiny"].get("cove", {}).get("rss_mib"):
        rss = summ["tiny"]["cove"]["rss_mib"]["median"]
        if "boot" not in summ:
            p("")
        p(f"  VMM overhead (cove peak RSS with the tiny guest) = {rss:.2f} MiB "
          f"(goal <= {GOAL_OVERHEAD_MIB:.0f}): "
          f"{'met' if rss <= GOAL_OVERHEAD_MIB else 'NOT met'}")
    # Failures, verbatim.
    bad = [r for r in res["runs"] if not r.get("ok")]
    if bad:
        p("")
        p(f"FAILED or skipped runs: {len(bad)}")
        for r in bad:
            tag = "warm-up" if r["warmup"] else f"run {r['round'] + 1}"
            p(f"  {r['phase']} {r['vmm']} {tag}: {r.get('error')}")
            for key in ("stderr_tail", "stdout_tail"):
                if r.get(key):
                    body = r[key].rstrip("\n").replace("\n", "\n      ")
                    p(f"    {key}:\n      {body}")
    return "\n".join(lines)


# ---- virtio-blk (bench/blk.py) ----

GOAL_BLK_QEMU = 1.2  # at least 1.2x QEMU
GOAL_BLK_HOST = 0.8  # at least 80 % of the host (the same I/O on the file)
BLK_METRIC = {"randread": "iops", "randwrite": "iops", "read": "mb_s", "write": "mb_s"}
BLK_UNIT = {"iops": "IOPS", "mb_s": "MB/s"}
# (numerator, denominator, what): the lab ratios; the like-for-like pairs first.
BLK_LAB_RATIOS = [
    ("cove", "qemu", "defaults: page cache (QEMU cache=writeback,aio=threads)"),
    ("cove-direct", "qemu-direct", "O_DIRECT + io_uring (QEMU cache=none,aio=io_uring)"),
    ("cove-direct", "host", "Cove O_DIRECT against fio on the file (direct=1)"),
    ("cove", "host", "Cove default against fio on the file (direct=1)"),
]


def med(st, key):
    try:
        return st[key]["median"]
    except (KeyError, TypeError):
        return None


def spread(st, key):
    s = st.get(key) if st else None
    if not s:
        return "-"
    d = "{:.0f}" if s["median"] >= 100 else "{:.1f}"
    return f"{d.format(s['median'])} [{d.format(s['min'])}-{d.format(s['max'])}]"


def div(a, b):
    return None if a is None or not b else a / b


def verdict(x, goal):
    return "n/a" if x is None else ("met" if x >= goal else "NOT met")


def blk_test_line(cfg, name):
    t = next((t for t in cfg["tests"] if t["name"] == name), None)
    if not t:
        return name
    bs = f"{t['bs'] // 1024} KiB" if t["bs"] < 1 << 20 else f"{t['bs'] >> 20} MiB"
    return f"{name} ({bs}, QD{t['qd']} x {t['jobs']} job{'s' if t['jobs'] > 1 else ''})"


def report_blk_lab(res, p):
    cfg, summ = res["config"], res.get("summary", {})
    vmms = [v for v in cfg["vmms"] if v in summ]
    p(f"virtio-blk, fio in a level-2 guest ({cfg['cpus']} vCPUs, {cfg['mem_mib']} MiB, "
      f"{cfg['guest_fio']}, {cfg['runtime_s']} s + {cfg['ramp_s']} s ramp per job) on a "
      f"{cfg['image_mib']} MiB raw image on {cfg['storage']}; host = the same fio jobs on "
      f"the file in level 1; {cfg['runs']} runs each, alternating, page cache dropped "
      f"before each")
    p(f"   fio {res.get('fio_version')}; QEMU {res.get('qemu_version')}; guest kernel "
      f"{cfg.get('kernel')} {res.get('kernel_version')}")
    w = 19
    p(f"{'test':<38} " + " ".join(f"{v:>{w}}" for v in vmms))
    for t in cfg["tests"]:
        name = t["name"]
        key = BLK_METRIC[name]
        cells = [spread(summ[v]["tests"].get(name), key) for v in vmms]
        p(f"{blk_test_line(cfg, name) + ' ' + BLK_UNIT[key]:<38} "
          + " ".join(f"{c:>{w}}" for c in cells))
    p(f"{'ok runs':<38} " + " ".join(f"{str(summ[v]['ok']) + '/' + str(summ[v]['runs']):>{w}}"
                                     for v in vmms))
    p(f"{'CPU s per run (VMM incl. guest; fio)':<38} " + " ".join(
        f"{(med(summ[v], 'user_s') or 0) + (med(summ[v], 'sys_s') or 0):>{w}.1f}"
        for v in vmms))
    pairs = [(a, b, why) for a, b, why in BLK_LAB_RATIOS if a in summ and b in summ]
    if not pairs:
        return
    p("")
    p("ratios (of medians):")
    p(f"{'test':<12} " + " ".join(f"{a + '/' + b:>24}" for a, b, _ in pairs))
    ratios = {}
    for t in cfg["tests"]:
        name = t["name"]
        key = BLK_METRIC[name]
        row = []
        for a, b, _ in pairs:
            x = div(med(summ[a]["tests"].get(name), key), med(summ[b]["tests"].get(name), key))
            ratios[(a, b, name)] = x
            row.append(r2(x))
        p(f"{name:<12} " + " ".join(f"{c:>24}" for c in row))
    for a, b, why in pairs:
        p(f"  {a}/{b}: {why}")
    p("")
    p(f"goals: at least {GOAL_BLK_QEMU}x QEMU (like for like), at least "
      f"{GOAL_BLK_HOST:.0%} of the host")
    for a, b, goal in (("cove", "qemu", GOAL_BLK_QEMU), ("cove-direct", "qemu-direct",
                                                         GOAL_BLK_QEMU),
                       ("cove-direct", "host", GOAL_BLK_HOST)):
        if (a, b, cfg["tests"][0]["name"]) not in ratios:
            continue
        parts = [f"{t['name']} {r2(ratios[(a, b, t['name'])])} "
                 f"{verdict(ratios[(a, b, t['name'])], goal)}" for t in cfg["tests"]]
        p(f"  {a}/{b} >= {goal}: " + "; ".join(parts))


def report_blk_host(res, p):
    cfg, summ = res["config"], res.get("summary", {})
    p(f"virtio-blk device model on the host, no guest (tools/blk_bench): 'device' = Cove's "
      f"virtio-blk driven through its virtqueues, 'file' = the same I/O with io_uring on the "
      f"file; {cfg['image_mib']} MiB image, {cfg['seconds']} s per run after "
      f"{cfg['ramp_s']} s, {cfg['runs']} runs each (+{cfg['warmup']} warm-up), alternating")
    p(f"{'mode':<9}{'test':<34}{'device req/s':>24}{'file req/s':>24}{'dev/file':>9}"
      f"{'device MB/s':>20}{'file MB/s':>20}{'CPU us/req dev/file':>22}")
    ratios = []
    for mode, tests in summ.items():
        for t in cfg["tests"]:
            d = tests.get(t["name"], {})
            dv, fl = d.get("device", {}), d.get("file", {})
            x = div(med(dv, "iops"), med(fl, "iops"))
            ratios.append((mode, t["name"], x))
            cpu = f"{r2(med(dv, 'cpu_us_per_req'))}/{r2(med(fl, 'cpu_us_per_req'))}"
            p(f"{mode:<9}{blk_test_line(cfg, t['name']):<34}{spread(dv, 'iops'):>24}"
              f"{spread(fl, 'iops'):>24}{r2(x):>9}{spread(dv, 'mb_s'):>20}"
              f"{spread(fl, 'mb_s'):>20}{cpu:>22}")
    p("")
    p(f"goal: the device model at least {GOAL_BLK_HOST:.0%} of the file (requests/s)")
    for mode in summ:
        p(f"  {mode}: " + "; ".join(f"{n} {r2(x)} {verdict(x, GOAL_BLK_HOST)}"
                                    for m, n, x in ratios if m == mode))


def report_blk(res, path):
    lines = []
    p = lines.append
    p(f"== {os.path.basename(path)}: {res['started']}, {where_text(res)}, "
      f"{res.get('elapsed_s', '?')} s")
    if res["where"] == "lab":
        report_blk_lab(res, p)
    else:
        report_blk_host(res, p)
    bad = [r for r in res["runs"] if not r.get("ok")]
    if bad:
        p("")
        p(f"FAILED or skipped runs: {len(bad)}")
        for r in bad:
            what = r.get("vmm") or f"{r.get('mode')} {r.get('test')} {r.get('target')}"
            p(f"  {what} run {r['round'] + 1}: {r.get('error') or 'status ' + str(r.get('status'))}")
            for key in ("stderr_tail", "stdout_tail"):
                if r.get(key):
                    body = r[key].rstrip("\n").replace("\n", "\n      ")
                    p(f"    {key}:\n      {body}")
    return "\n".join(lines)


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    for i, path in enumerate(sys.argv[1:]):
        with open(path) as f:
            res = json.load(f)
        if i:
            print()
        if res.get("bench") == "blk":
            print(report_blk(res, path))
            continue
        print(report(res, path))
        hd = res.get("host_direct")
        if hd and res["where"] == "lab":
            print(f"host-direct: {hd}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
