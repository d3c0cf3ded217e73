#!/usr/bin/python3
"""bench/report.py: print the table of one or more bench/boot.py result files.

  bench/report.py RESULT.json [RESULT.json ...]

Medians and min-max are over the runs that succeeded, warm-up runs left out;
failed runs are counted and listed with their error. Ratios are of medians.
Stdlib only; used by bench/run, and by hand on any saved result.
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


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    for i, path in enumerate(sys.argv[1:]):
        with open(path) as f:
            res = json.load(f)
        if i:
            print()
        print(report(res, path))
        hd = res.get("host_direct")
        if hd and res["where"] == "lab":
            print(f"host-direct: {hd}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
