#!/usr/bin/python3
"""bench/blk.py: the virtio-blk benchmark driver (stdlib only; bench/README.md).

Two phases, each writing one JSON result file (rewritten after every run, so
a run that dies part-way leaves what was measured):

  blk.py host --out FILE [--runs N] [--warmup N] [--seconds S] [--ramp S]
              [--image PATH] [--size-mib N] [--tool PATH]
      On the host, no guest: tools/blk_bench drives Cove's virtio-blk device
      model through its virtqueues ("device") and does the same I/O directly
      on the image with io_uring ("file", the physical limit), alternating,
      buffered and O_DIRECT, for every test.

  blk.py lab --out FILE [--runs N] [--runtime S] [--ramp S] [--timeout S]
             [--budget S] [--vmms cove,cove-direct,qemu,qemu-direct,host]
      Inside the nested lab's level 1: a raw image on ext4 on a RAM disk
      (brd), fio in a level-2 guest (bench/blk-guest.sh in the initramfs of
      bench/mkfioinitramfs) booted by Cove and by QEMU in turn, and the same
      fio jobs on the image file in level 1 ("host", the physical limit).

The tests (TESTS): 4 KiB random read and write, 32 in flight per job, one job
per vCPU; 1 MiB sequential read and write, 8 in flight, one job.
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

CPUS = 2
MEM_MIB = 512
IMAGE_MIB = 1024
# name, fio rw, block size (bytes), requests in flight per job, jobs
TESTS = [
    ("randread", "randread", 4096, 32, CPUS),
    ("randwrite", "randwrite", 4096, 32, CPUS),
    ("read", "read", 1 << 20, 8, 1),
    ("write", "write", 1 << 20, 8, 1),
]
# What each test is judged by.
METRIC = {"randread": "iops", "randwrite": "iops", "read": "mb_s", "write": "mb_s"}
GUEST_PARAMS = "quiet loglevel=3 panic=-1"
LAB_VMMS = ["cove", "cove-direct", "qemu", "qemu-direct", "host"]
TAIL_BYTES = 3000
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def log(msg):
    print(f"bench: blk: {msg}", file=sys.stderr, flush=True)


def now_iso():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def stats(values):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    return {"n": len(v), "median": statistics.median(v), "min": v[0], "max": v[-1]}


def tail(b):
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    return b[-TAIL_BYTES:]


def run_proc(argv, timeout, env=None):
    """Runs argv in its own process group; kills the group on timeout.

    Returns (status or None on timeout, stdout bytes, stderr bytes, wall s).
    """
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
        status = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        status = None
    wall = time.monotonic() - t0
    return status, out, err, wall


def cpu_children():
    """CPU seconds of the reaped children so far: a run's is the difference."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime, r.ru_stime


class Results:
    """The result file: written again after every run."""

    def __init__(self, path, res, summarize):
        self.path, self.res, self.summarize = path, res, summarize
        self.t0 = time.monotonic()

    def save(self):
        self.res["elapsed_s"] = round(time.monotonic() - self.t0, 1)
        self.res["summary"] = self.summarize(self.res["runs"])
        tmp = self.path + ".tmp"
        with open(tmp, "w") as o:
            json.dump(self.res, o, indent=1)
            o.write("\n")
        os.replace(tmp, self.path)


def base_result(where, extra_config):
    return {
        "schema": 1,
        "bench": "blk",
        "where": where,
        "started": now_iso(),
        "host": {"kernel": platform.release(), "cpus": os.cpu_count(),
                 "python": platform.python_version()},
        "config": {"tests": [{"name": n, "rw": rw, "bs": bs, "qd": qd, "jobs": j}
                             for n, rw, bs, qd, j in TESTS], **extra_config},
        "runs": [],
    }


# ---- host: tools/blk_bench, device against file ----

def make_image(path, size_mib):
    """A raw image of size_mib MiB of non-zero data (written once, then reused)."""
    if os.path.exists(path) and os.path.getsize(path) == size_mib << 20:
        return
    log(f"writing {path} ({size_mib} MiB)")
    chunk = os.urandom(1 << 20)
    with open(path + ".tmp", "wb") as f:
        for _ in range(size_mib):
            f.write(chunk)
    os.replace(path + ".tmp", path)


def host_summary(runs):
    out = {}
    for r in runs:
        if r.get("warmup"):
            continue
        d = out.setdefault(r["mode"], {}).setdefault(r["test"], {})
        d.setdefault(r["target"], []).append(r)
    for mode, tests in out.items():
        for test, targets in tests.items():
            for target, rs in targets.items():
                good = [r for r in rs if r.get("ok")]
                s = {"runs": len(rs), "ok": len(good)}
                for key in ("iops", "mb_s", "cpu_us_per_req"):
                    st = stats(r.get(key) for r in good)
                    if st:
                        s[key] = st
                targets[target] = s
    return out


def host_phase(a):
    tool = os.path.abspath(a.tool)
    if not os.access(tool, os.X_OK):
        log(f"no {tool} (make bench-tools)")
        return 2
    os.makedirs(os.path.dirname(os.path.abspath(a.image)), exist_ok=True)
    make_image(a.image, a.size_mib)
    res = base_result("host", {"runs": a.runs, "warmup": a.warmup, "seconds": a.seconds,
                               "ramp_s": a.ramp, "image": a.image, "image_mib": a.size_mib,
                               "tool": tool})
    out = Results(a.out, res, host_summary)
    targets = ["device", "file"]
    bad = 0
    for mode in ("buffered", "direct"):
        for i in range(a.warmup + a.runs):
            for name, _rw, bs, qd, jobs in TESTS:
                order = targets[i % 2:] + targets[:i % 2]
                for target in order:
                    argv = [tool, "--target", target, "--test", name, "--bs", str(bs),
                            "--qd", str(qd), "--jobs", str(jobs), "--seconds", str(a.seconds),
                            "--ramp", str(a.ramp), *(["--direct"] if mode == "direct" else []),
                            a.image]
                    entry = {"mode": mode, "test": name, "target": target,
                             "round": i - a.warmup, "warmup": i < a.warmup}
                    status, so, se, wall = run_proc(argv, a.seconds + a.ramp + 60)
                    entry["wall_s"] = round(wall, 3)
                    try:
                        entry.update(json.loads(so.decode().strip().splitlines()[-1]))
                    except (ValueError, IndexError):
                        pass
                    entry["ok"] = status == 0 and "iops" in entry
                    if not entry["ok"]:
                        bad += 1
                        entry.update(status=status, argv=argv, stderr_tail=tail(se),
                                     stdout_tail=tail(so))
                        log(f"{mode} {name} {target}: FAILED (status {status}): {tail(se)}")
                    else:
                        log(f"{mode:<8} {name:<9} {target:<6} "
                            f"{'warm-up' if entry['warmup'] else 'run ' + str(i - a.warmup + 1)}: "
                            f"{entry['iops']:.0f} IOPS, {entry['mb_s']:.1f} MB/s, "
                            f"{entry['cpu_us_per_req']:.2f} us CPU/req")
                    res["runs"].append(entry)
                    out.save()
    out.save()
    return 1 if bad else 0


# ---- lab: fio in level 2 (Cove, QEMU) and on the file in level 1 ----

FIO_LINE = re.compile(rb"BLK-FIO ([^\r\n]*)")
ERR_LINE = re.compile(rb"BLK-ERROR ([^\r\n]*)")
RUN_STATUS = re.compile(rb"COVE-RUN-STATUS=(\d+)")


def specs():
    return [f"{n}:{rw}:{bs}:{qd}:{j}" for n, rw, bs, qd, j in TESTS]


def guest_run_cmd(runtime, ramp):
    return f"sh /bench/blk-guest.sh /dev/vda {runtime} {ramp} " + " ".join(specs())


def lab_argv(vmm, f, runtime, ramp):
    """The command line of one run (f: dict of input paths)."""
    run = guest_run_cmd(runtime, ramp)
    if vmm.startswith("cove"):
        block = f["image"] + (",direct" if vmm == "cove-direct" else "")
        return [f["cove"], "run", "--cpus", str(CPUS), "--mem", str(MEM_MIB),
                "--serial", "type=stdout,hardware=serial,console",
                "--block", block, "--initrd", f["initrd"],
                "--params", GUEST_PARAMS, "--params", f'cove_run="{run}"', f["kernel"]]
    if vmm.startswith("qemu"):
        drive = f"file={f['image']},format=raw,if=none,id=d0"
        if vmm == "qemu-direct":
            drive += ",cache=none,aio=io_uring"
        return [f["qemu"], "-M", "q35", "-enable-kvm", "-cpu", "host", "-smp", str(CPUS),
                "-m", str(MEM_MIB), "-nodefaults", "-no-user-config", "-nographic",
                "-no-reboot", "-serial", "stdio", "-kernel", f["kernel"], "-initrd", f["initrd"],
                "-append", f'console=ttyS0 {GUEST_PARAMS} cove_run="{run}"',
                "-drive", drive, "-device", "virtio-blk-pci,drive=d0"]
    # host: the same jobs on the file, in level 1.
    return ["/bin/sh", f["script"], f["image"], str(runtime), str(ramp), *specs()]


def parse_fio(out):
    """{test: {iops, mb_s, lat_us}} from the BLK-FIO lines, and the errors."""
    results, errors = {}, []
    for m in FIO_LINE.finditer(out):
        fields = m.group(1).decode("ascii", "replace").split(";")
        if len(fields) != 12:
            errors.append(f"malformed line: {m.group(0)[:200]!r}")
            continue
        name = fields[0]
        try:
            err = int(fields[1])
            rd = [float(x) for x in fields[2:7]]
            wr = [float(x) for x in fields[7:12]]
        except ValueError:
            errors.append(f"malformed line: {m.group(0)[:200]!r}")
            continue
        if err:
            errors.append(f"{name}: fio error {err}")
        # kb, KiB/s, iops, runtime ms, mean latency us
        kb, bw, iops, _rt, lat = wr if "write" in name else rd
        results[name] = {"iops": iops, "mb_s": bw * 1024 / 1e6, "lat_us": lat,
                         "kib": kb}
    for m in ERR_LINE.finditer(out):
        errors.append(m.group(1).decode("utf-8", "replace"))
    return results, errors


def lab_once(argv, timeout, expect_run_status):
    u0, s0 = cpu_children()
    status, out, err, wall = run_proc(argv, timeout)
    u1, s1 = cpu_children()
    results, problems = parse_fio(out)
    r = {"status": status, "wall_s": round(wall, 2), "user_s": round(u1 - u0, 2),
         "sys_s": round(s1 - s0, 2), "results": results}
    if status is None:
        problems.append(f"timed out after {timeout} s (killed)")
    elif status != 0:
        problems.append(f"exit status {status}")
    if expect_run_status:
        m = RUN_STATUS.search(out)
        if not m:
            problems.append("no COVE-RUN-STATUS line")
        elif m.group(1) != b"0":
            problems.append(f"guest command status {m.group(1).decode()}")
    missing = [n for n, *_ in TESTS if n not in results]
    if missing:
        problems.append("no result for " + ",".join(missing))
    r["ok"] = not problems
    if problems:
        r.update(error="; ".join(problems), argv=argv, stdout_tail=tail(out),
                 stderr_tail=tail(err))
    return r


def lab_summary(runs):
    out = {}
    for r in runs:
        out.setdefault(r["vmm"], []).append(r)
    summ = {}
    for vmm, rs in out.items():
        good = [r for r in rs if r.get("ok")]
        s = {"runs": len(rs), "ok": len(good),
             "failed": sum(1 for r in rs if not r.get("ok") and not r.get("skipped")),
             "skipped": sum(1 for r in rs if r.get("skipped")), "tests": {}}
        for name, *_ in TESTS:
            t = {}
            for key in ("iops", "mb_s", "lat_us"):
                st = stats(r["results"][name][key] for r in good if name in r["results"])
                if st:
                    t[key] = st
            s["tests"][name] = t
        for key in ("wall_s", "user_s", "sys_s"):
            st = stats(r.get(key) for r in good)
            if st:
                s[key] = st
        summ[vmm] = s
    return summ


def sh(cmd):
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"{cmd}: status {p.returncode}: {(p.stderr or p.stdout).strip()}")
    return p.stdout


def prepare_storage(work, size_mib):
    """ext4 on a RAM disk (brd) in level 1, and a raw image file on it.

    A RAM disk, so that the disk itself is far faster than any VMM path and
    O_DIRECT works (tmpfs refuses it on this kernel); the modules come from
    the test guests' kernel tree, which is level 1's own kernel.
    """
    kdir = os.path.join(REPO, "build/guest/kernel")
    rd_kib = (size_mib + 128) * 1024
    sh(f"modprobe -d {kdir} brd rd_nr=1 rd_size={rd_kib} max_part=0")
    sh(f"modprobe -d {kdir} ext4")
    sh("mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 /dev/ram0")
    mnt = os.path.join(work, "disk")
    os.mkdir(mnt)
    sh(f"mount -t ext4 /dev/ram0 {mnt}")
    image = os.path.join(mnt, "disk.img")
    sh(f"dd if=/dev/zero of={image} bs=1M count={size_mib} oflag=direct status=none")
    return image, mnt, f"ext4 on a {rd_kib // 1024} MiB RAM disk (brd) in level 1"


def drop_caches():
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def prewarm(binaries):
    """Reads binaries and their libraries once: no run pays for the 9p share."""
    paths = [b for b in binaries if b]
    for b in list(paths):
        p = subprocess.run(["ldd", b], capture_output=True, text=True)
        paths += re.findall(r"=> (/\S+)", p.stdout)
    for p in paths:
        try:
            with open(p, "rb") as f:
                while f.read(1 << 20):
                    pass
        except OSError:
            pass


def lab_inputs(a, work):
    qemu = shutil.which("qemu-system-x86_64")
    f = {"qemu": qemu}
    kernel = "build/guest/vmlinux" if os.path.exists("build/guest/vmlinux") else \
        "build/guest/bzImage"
    for key, src in (("cove", os.environ.get("COVE", "build/cove")), ("kernel", kernel),
                     ("initrd", a.initrd), ("script", "bench/blk-guest.sh")):
        if not os.path.exists(src):
            raise RuntimeError(f"missing input {src}")
        f[key] = os.path.join(work, os.path.basename(src))
        shutil.copy2(src, f[key])
    return f


def lab_phase(a):
    t_start = time.monotonic()
    os.environ["PATH"] = "/usr/sbin:/sbin:" + os.environ.get("PATH", "/usr/bin:/bin")
    vmms = [v for v in a.vmms.split(",") if v]
    if not shutil.which("qemu-system-x86_64"):
        log("no qemu-system-x86_64: QEMU runs are skipped")
        vmms = [v for v in vmms if not v.startswith("qemu")]
    if not os.path.exists("/dev/kvm"):
        log("no /dev/kvm here")
        return 2
    work = tempfile.mkdtemp(prefix="cove-blk-")
    mnt = None
    try:
        f = lab_inputs(a, work)
        f["image"], mnt, storage = prepare_storage(work, a.size_mib)
    except (RuntimeError, OSError) as e:
        log(f"cannot prepare the lab: {e}")
        return 2
    prewarm([f["qemu"], shutil.which("fio")])
    res = base_result("lab", {
        "runs": a.runs, "runtime_s": a.runtime, "ramp_s": a.ramp, "cpus": CPUS,
        "mem_mib": MEM_MIB, "image_mib": a.size_mib, "storage": storage,
        "guest_params": GUEST_PARAMS, "guest_fio": "direct=1 ioengine=libaio thread",
        "timeout_s": a.timeout, "budget_s": a.budget, "vmms": vmms,
        "kernel": os.path.basename(f["kernel"]),
        "drop_caches": drop_caches()})
    res["qemu_version"] = run_proc([f["qemu"], "--version"], 30)[1].decode().splitlines()[0] \
        if f["qemu"] else None
    res["fio_version"] = run_proc(["fio", "--version"], 30)[1].decode().strip()
    res["cove"] = os.path.abspath(os.environ.get("COVE", "build/cove"))
    res["kernel_version"] = open("build/guest/kernel-version").read().strip() \
        if os.path.exists("build/guest/kernel-version") else None
    res["argv"] = {v: lab_argv(v, f, a.runtime, a.ramp) for v in vmms}
    out = Results(a.out, res, lab_summary)
    out.save()
    for rnd in range(a.runs):
        k = rnd % len(vmms)
        for v in vmms[k:] + vmms[:k]:
            entry = {"vmm": v, "round": rnd}
            if time.monotonic() - t_start > a.budget:
                entry.update(ok=False, skipped=True,
                             error=f"not run: time budget of {a.budget:.0f} s spent")
            else:
                drop_caches()
                entry.update(lab_once(res["argv"][v], a.timeout, v != "host"))
            res["runs"].append(entry)
            out.save()
            if entry.get("ok"):
                rr = entry["results"]
                log(f"{v:<12} run {rnd + 1}/{a.runs} ({entry['wall_s']:.0f} s): " + ", ".join(
                    f"{n} {rr[n][METRIC[n]]:.0f}{' IOPS' if METRIC[n] == 'iops' else ' MB/s'}"
                    for n, *_ in TESTS))
            else:
                log(f"{v:<12} run {rnd + 1}/{a.runs}: FAILED: {entry.get('error')}")
                for key in ("stderr_tail", "stdout_tail"):
                    if entry.get(key):
                        log(f"  {key}:\n{entry[key]}")
    subprocess.run(["umount", mnt], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
    out.save()
    return 1 if any(not r.get("ok") for r in res["runs"]) else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="phase", required=True)
    h = sub.add_parser("host")
    h.add_argument("--out", required=True)
    h.add_argument("--runs", type=int, default=5)
    h.add_argument("--warmup", type=int, default=1)
    h.add_argument("--seconds", type=float, default=1.0)
    h.add_argument("--ramp", type=float, default=0.3)
    h.add_argument("--image", default="build/bench/blk-host.img")
    h.add_argument("--size-mib", type=int, default=IMAGE_MIB)
    h.add_argument("--tool", default=os.environ.get("BLK_BENCH", "build/tools/blk_bench"))
    lab = sub.add_parser("lab")
    lab.add_argument("--out", required=True)
    lab.add_argument("--runs", type=int, default=3)
    lab.add_argument("--runtime", type=int, default=2)
    lab.add_argument("--ramp", type=int, default=1)
    lab.add_argument("--timeout", type=float, default=240)
    lab.add_argument("--budget", type=float, default=660)
    lab.add_argument("--size-mib", type=int, default=IMAGE_MIB)
    lab.add_argument("--initrd", default="build/bench/fio-initramfs.cpio.gz")
    lab.add_argument("--vmms", default=",".join(LAB_VMMS))
    a = ap.parse_args()
    os.chdir(REPO)
    return host_phase(a) if a.phase == "host" else lab_phase(a)


if __name__ == "__main__":
    sys.exit(main())
