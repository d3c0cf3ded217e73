#!/usr/bin/python3
"""bench/boot.py: the boot benchmark driver (stdlib only; see bench/README.md).

Run by bench/run, normally inside the nested lab's level 1 (tests/lab/lab),
where /dev/kvm is real nested KVM. Boots the same Linux guest with Cove,
QEMU -M microvm and QEMU -M q35, alternating, and the tiny PVH guest with
Cove and QEMU -M microvm, and measures for every run, from the instant
before the VMM process is spawned:

  ready_ms  the console line COVE-GUEST-READY (tiny guest: its "TINY:"
            line) read on the VMM's stdout, a pipe;
  exit_ms   the process exit (a pidfd becomes readable);
  status    the exit status (0 expected; QEMU on the tiny guest: 105, see
            QEMU_TINY_STATUS);
  rss_mib   the VMM's peak RSS (ru_maxrss of its wait4), reported by GNU
            time (/usr/bin/time -f %M), which spawns the VMM: a process's
            ru_maxrss starts from the RSS of whatever forked it, and Python's
            own ~8-12 MiB would otherwise be the floor of every figure (GNU
            time's is ~1.1 MiB). Without /usr/bin/time, os.wait4 on the VMM
            itself is used and the JSON says so (config.rss_method);
  for Cove also the `first run` and `guest boot marker` times it logs.

A run that exits with another status, never prints the ready line, or is
still running after --timeout seconds (then killed) is recorded with ok:
false and its stdout/stderr tails; it is never dropped. The results are
written as JSON to --out after every run, so a lab that dies part-way still
leaves the runs done so far.

  boot.py --out FILE [--runs N] [--tiny-runs N] [--warmup N] [--timeout S]
          [--budget S] [--phases boot,tiny] [--vmms cove,qemu-microvm,qemu-q35]
          [--where lab|host]

Inputs (paths relative to the repo root, which is the working directory):
$COVE (default build/cove), build/guest/bzImage, build/guest/initramfs.cpio.gz,
build/tiny/tiny.elf; they are copied to a private temporary folder first
(tmpfs in the lab) so no run reads them over the lab's 9p share.
"""

import argparse
import datetime
import json
import os
import platform
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

READY = b"COVE-GUEST-READY"
TINY_LINE = b"TINY:"
# Guest command-line items shared by every VMM (console= is added per VMM:
# Cove adds console=ttyS0 itself for a --serial ...,console port).
GUEST_PARAMS = 'quiet panic=-1 cove_run="true"'
MEM_MIB = 256
# The tiny guest powers off by writing SLEEP_S5_ENABLE (0x34) to port 0x600,
# Cove's ACPI PM sleep-control register. QEMU's microvm has nothing there;
# an isa-debug-exit device at 0x600 turns that write into QEMU's exit with
# status (0x34 << 1) | 1 = 105, which thus means "the guest powered off".
QEMU_TINY_STATUS = (0x34 << 1) | 1
# microvm: acpi=on gives the guest a power-off device (ACPI GED) so QEMU
# exits when the guest powers off; rtc=on is needed, or the default leaves
# an RTC the guest's rtc_cmos driver probes for about 3.6 s (nested) before
# "broken or not accessible". Debian's kernel needs no tsc_early_khz= here
# (nested KVM gives it kvm-clock); see bench/README.md.
MICROVM_MACHINE = "microvm,acpi=on,rtc=on"
QEMU_COMMON = ["-enable-kvm", "-cpu", "host", "-smp", "1", "-m", str(MEM_MIB),
               "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
               "-serial", "stdio"]
TAIL_BYTES = 4096
COVE_FIRST_RUN = re.compile(rb"vCPU 0: first run ([0-9.]+) ms after start")
COVE_MARKER = re.compile(rb"guest boot marker at ([0-9.]+) ms")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def boot_argv(vmm, f):
    """The command line of one Linux boot (f: dict of input paths)."""
    if vmm == "cove":
        return [f["cove"], "--log-level=info", "run", "--cpus", "1",
                "--mem", str(MEM_MIB),
                "--serial", "type=stdout,hardware=serial,console",
                "--initrd", f["initrd"],
                "--params", "quiet panic=-1", "--params", 'cove_run="true"',
                f["kernel"]]
    machine = {"qemu-microvm": MICROVM_MACHINE, "qemu-q35": "q35"}[vmm]
    return [f["qemu"], "-M", machine, *QEMU_COMMON,
            "-kernel", f["kernel"], "-initrd", f["initrd"],
            "-append", "console=ttyS0 " + GUEST_PARAMS]


def tiny_argv(vmm, f):
    if vmm == "cove":
        return [f["cove"], "--log-level=info", "run", "--cpus", "1",
                "--mem", str(MEM_MIB), "--params", "tiny=p", f["tiny"]]
    return [f["qemu"], "-M", MICROVM_MACHINE, *QEMU_COMMON,
            "-device", "isa-debug-exit,iobase=0x600,iosize=1",
            "-kernel", f["tiny"], "-append", "tiny=p"]


def tail(b):
    return b[-TAIL_BYTES:].decode("utf-8", "replace")


GNU_TIME = "/usr/bin/time"


def rss_method():
    return "gnu-time" if os.access(GNU_TIME, os.X_OK) else "wait4"


def run_once(argv, marker, expect_status, timeout, errdir):
    """Spawn argv, stdout on a pipe, stderr to a file, stdin /dev/null.

    With GNU time, argv runs as its child (GNU time exits with argv's status,
    128+N for signal N) and its peak RSS comes from time's -o file; the
    process group is killed on timeout.
    """
    rfd, wfd = os.pipe()
    errpath = os.path.join(errdir, "stderr")
    rusepath = os.path.join(errdir, "rusage")
    errfd = os.open(errpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    nullfd = os.open(os.devnull, os.O_RDONLY)
    actions = [(os.POSIX_SPAWN_DUP2, nullfd, 0), (os.POSIX_SPAWN_DUP2, wfd, 1),
               (os.POSIX_SPAWN_DUP2, errfd, 2)]
    gnu_time = rss_method() == "gnu-time"
    spawn_argv = argv
    if gnu_time:
        if os.path.exists(rusepath):
            os.unlink(rusepath)
        spawn_argv = [GNU_TIME, "-q", "-o", rusepath, "-f", "%M", "--", *argv]
    t0 = time.monotonic()
    try:
        pid = os.posix_spawn(spawn_argv[0], spawn_argv, os.environ,
                             file_actions=actions, setpgroup=0)
    except OSError as e:
        for fd in (rfd, wfd, errfd, nullfd):
            os.close(fd)
        return {"ok": False, "error": f"spawn: {e}", "argv": argv}
    for fd in (wfd, errfd, nullfd):
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    os.set_blocking(rfd, False)
    out = bytearray()
    ready = exited = None
    timed_out = False
    deadline = t0 + timeout
    open_fds = [rfd, pidfd]
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        readable, _, _ = select.select(open_fds, [], [], left)
        now = time.monotonic()
        if rfd in readable:
            try:
                chunk = os.read(rfd, 65536)
            except BlockingIOError:
                chunk = None
            if chunk == b"":
                open_fds.remove(rfd)
            elif chunk:
                # The marker may straddle two reads: search the joint.
                start = max(0, len(out) - len(marker))
                out += chunk
                if ready is None and out.find(marker, start) >= 0:
                    ready = now
        if pidfd in readable:
            exited = now
            open_fds.remove(pidfd)
    if timed_out:
        os.killpg(pid, signal.SIGKILL)
    _, wstatus, rusage = os.wait4(pid, 0)
    maxrss_kib = rusage.ru_maxrss
    if gnu_time:
        try:
            with open(rusepath) as rf:
                maxrss_kib = int(rf.read().split()[-1])
        except (OSError, ValueError, IndexError):
            maxrss_kib = None   # killed before GNU time could report
    # Whatever is left in the pipe (a killed run, or output racing the exit).
    try:
        while True:
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            out += chunk
    except (BlockingIOError, OSError):
        pass
    os.close(rfd)
    os.close(pidfd)
    with open(errpath, "rb") as ef:
        err = ef.read()
    status = os.waitstatus_to_exitcode(wstatus)  # -N for signal N
    r = {
        "ready_ms": None if ready is None else round((ready - t0) * 1000, 3),
        "exit_ms": None if timed_out else round((exited - t0) * 1000, 3),
        "status": status,
        "rss_mib": None if maxrss_kib is None else round(maxrss_kib / 1024, 3),
        "user_s": round(rusage.ru_utime, 3),
        "sys_s": round(rusage.ru_stime, 3),
        "timed_out": timed_out,
    }
    m = COVE_FIRST_RUN.search(err)
    if m:
        r["cove_first_run_ms"] = float(m.group(1))
    m = COVE_MARKER.search(err)
    if m:
        r["cove_boot_marker_ms"] = float(m.group(1))
    problems = []
    if timed_out:
        problems.append(f"timed out after {timeout} s (killed)")
    if ready is None:
        problems.append(f"no {marker.decode()} line on stdout")
    if status != expect_status:
        problems.append(f"exit status {status}, expected {expect_status}")
    r["ok"] = not problems
    if problems:
        r["error"] = "; ".join(problems)
        r["argv"] = argv
        r["stdout_tail"] = tail(bytes(out))
        r["stderr_tail"] = tail(err)
    return r


def summary(values):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    q = statistics.quantiles(v, n=4, method="inclusive") if len(v) > 1 else [v[0]] * 3
    return {"n": len(v), "median": statistics.median(v), "min": v[0],
            "max": v[-1], "q1": q[0], "q3": q[2]}


def summarize(runs, kinds):
    """Per (phase, vmm): medians and spreads over the ok, non-warm-up runs."""
    out = {}
    for phase, vmms in kinds.items():
        out[phase] = {}
        for vmm in vmms:
            rs = [r for r in runs if r["phase"] == phase and r["vmm"] == vmm
                  and not r["warmup"]]
            good = [r for r in rs if r.get("ok")]
            s = {"runs": len(rs), "ok": len(good),
                 "failed": sum(1 for r in rs if not r.get("ok") and not r.get("skipped")),
                 "skipped": sum(1 for r in rs if r.get("skipped"))}
            for key in ("ready_ms", "exit_ms", "rss_mib", "cove_first_run_ms",
                        "cove_boot_marker_ms"):
                st = summary(r.get(key) for r in good)
                if st:
                    s[key] = st
            out[phase][vmm] = s
    return out


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"/dev/kvm: {e.strerror}"
    try:
        import fcntl
        if fcntl.ioctl(fd, 0xAE00) != 12:       # KVM_GET_API_VERSION
            return "/dev/kvm: unexpected API version"
        os.close(fcntl.ioctl(fd, 0xAE01, 0))    # KVM_CREATE_VM
    except OSError as e:
        return f"/dev/kvm: {e.strerror}"
    finally:
        os.close(fd)
    return None


def cmd_version(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (p.stdout or p.stderr).splitlines()[0]
    except Exception as e:  # only informational
        return f"unknown ({e})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--tiny-runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--budget", type=float, default=1500,
                    help="start no run after this many seconds")
    ap.add_argument("--phases", default="boot,tiny")
    ap.add_argument("--vmms", default="cove,qemu-microvm,qemu-q35")
    ap.add_argument("--where", default="lab")
    ap.add_argument("--host-direct", default=None,
                    help="what happened on the host itself (recorded as is)")
    a = ap.parse_args()
    t_start = time.monotonic()

    problem = kvm_usable()
    if problem:
        log(f"no usable KVM here: {problem}")
        return 2
    qemu = shutil.which("qemu-system-x86_64")
    cove = os.path.abspath(os.environ.get("COVE", "build/cove"))
    vmms = [v for v in a.vmms.split(",") if v]
    phases = [p for p in a.phases.split(",") if p]
    if not qemu:
        log("no qemu-system-x86_64: QEMU runs are skipped")
        vmms = [v for v in vmms if not v.startswith("qemu")]

    # Private copies of the inputs (tmpfs in the lab, not 9p).
    work = tempfile.mkdtemp(prefix="cove-bench-")
    f = {"qemu": qemu}
    for key, src in (("cove", cove), ("kernel", "build/guest/bzImage"),
                     ("initrd", "build/guest/initramfs.cpio.gz"),
                     ("tiny", "build/tiny/tiny.elf")):
        if not os.path.exists(src):
            if key == "tiny" and "tiny" in phases:
                log(f"no {src}: the tiny phase is skipped")
                phases.remove("tiny")
                continue
            if key == "tiny":
                continue
            log(f"missing input {src}")
            return 2
        f[key] = os.path.join(work, os.path.basename(src))
        shutil.copy2(src, f[key])
    errdir = os.path.join(work, "err")
    os.mkdir(errdir)

    kinds = {}
    if "boot" in phases:
        kinds["boot"] = vmms
    if "tiny" in phases:
        kinds["tiny"] = [v for v in ("cove", "qemu-microvm") if v in vmms]
    res = {
        "schema": 1,
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "where": a.where,
        "host_direct": a.host_direct,
        "host": {"kernel": platform.release(), "cpus": os.cpu_count(),
                 "python": platform.python_version()},
        "qemu_version": cmd_version([qemu, "--version"]) if qemu else None,
        "cove": cove,
        "kernel_version": open("build/guest/kernel-version").read().strip()
        if os.path.exists("build/guest/kernel-version") else None,
        "config": {"runs": a.runs, "tiny_runs": a.tiny_runs, "warmup": a.warmup,
                   "timeout_s": a.timeout, "budget_s": a.budget, "mem_mib": MEM_MIB,
                   "cpus": 1, "guest_params": GUEST_PARAMS,
                   "microvm_machine": MICROVM_MACHINE,
                   "qemu_tiny_status": QEMU_TINY_STATUS,
                   "rss_method": rss_method()},
        "argv": {}, "runs": [],
    }
    for phase, vs in kinds.items():
        make = boot_argv if phase == "boot" else tiny_argv
        for v in vs:
            res["argv"][f"{phase}/{v}"] = make(v, f)

    def save():
        res["elapsed_s"] = round(time.monotonic() - t_start, 1)
        res["summary"] = summarize(res["runs"], kinds)
        tmp = a.out + ".tmp"
        with open(tmp, "w") as o:
            json.dump(res, o, indent=1)
            o.write("\n")
        os.replace(tmp, a.out)

    def schedule(phase, n):
        """(round, vmm, warmup) in alternating order, rotating who goes first."""
        vs = kinds[phase]
        for i in range(a.warmup + n):
            k = i % len(vs)
            for v in vs[k:] + vs[:k]:
                yield i - a.warmup, v, i < a.warmup

    for phase in kinds:
        n = a.runs if phase == "boot" else a.tiny_runs
        marker = READY if phase == "boot" else TINY_LINE
        for rnd, v, warm in schedule(phase, n):
            argv = res["argv"][f"{phase}/{v}"]
            entry = {"phase": phase, "vmm": v, "round": rnd, "warmup": warm}
            if time.monotonic() - t_start > a.budget:
                entry.update(ok=False, skipped=True,
                             error=f"not run: time budget of {a.budget:.0f} s spent")
            else:
                expect = QEMU_TINY_STATUS if phase == "tiny" and v != "cove" else 0
                entry.update(run_once(argv, marker, expect, a.timeout, errdir))
            res["runs"].append(entry)
            save()
            what = "warm-up" if warm else f"run {rnd + 1}/{n}"
            if entry.get("ok"):
                log(f"{phase} {v:<12} {what}: ready {entry['ready_ms']:.0f} ms, "
                    f"exit {entry['exit_ms']:.0f} ms, rss {entry['rss_mib']:.1f} MiB")
            else:
                log(f"{phase} {v:<12} {what}: FAILED: {entry.get('error')}")
                for key in ("stderr_tail", "stdout_tail"):
                    if entry.get(key):
                        log(f"  {key}:\n{entry[key]}")
    shutil.rmtree(work, ignore_errors=True)
    save()
    bad = sum(1 for r in res["runs"] if not r.get("ok"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
