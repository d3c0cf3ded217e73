#!/usr/bin/python3
"""bench/9p.py: virtio-9p throughput and metadata rates, Cove against QEMU.

Run by bench/9p-run inside one level-1 boot of the nested lab. Both VMMs
boot the same guest (build/guest/bzImage + initramfs, 1 vCPU, 512 MiB)
with the same share: a tmpfs directory of level 1, security model
passthrough, mounted by the guest with the same options
(trans=virtio,version=9p2000.L,msize=MSIZE). In the guest, 9p-bench
(bench/9p-bench.c, run from the share) writes then reads a MIB-MiB file in
1 MiB calls and creates, stats and unlinks FILES small files, timing each
phase with the guest's clock.

  cove  cove run --cpus 1 --mem 512 --serial type=stdout,hardware=serial,console
        --shared-dir SHARE:hostshare:security_model=passthrough:msize=MSIZE ...
  qemu  qemu-system-x86_64 -M q35 -enable-kvm -cpu host -smp 1 -m 512 ...
        -fsdev local,id=fsdev0,path=SHARE,security_model=passthrough
        -device virtio-9p-pci,fsdev=fsdev0,mount_tag=hostshare   (the seeds' line)

Runs alternate between the VMMs, the first one rotating each round; a
failed run is kept with its output tail. Results (medians, ratios
Cove/QEMU: above 1 means Cove is faster) go to --out as JSON after every
run.

  9p.py --out FILE --bench BIN [--runs N] [--mib N] [--files N] [--msize N] [--timeout S]
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

KEYS = ["write_mibps", "read_mibps", "create_ops", "stat_ops", "unlink_ops"]


def log(msg):
    print(f"bench-9p: {msg}", file=sys.stderr, flush=True)


def guest_run(args):
    return (f"mount -t 9p -o trans=virtio,version=9p2000.L,msize={args.msize} hostshare /mnt"
            f" && /mnt/9p-bench /mnt {args.mib} {args.files}")


def argv_for(vmm, f, share, args):
    params = f'quiet loglevel=3 panic=-1 cove_run="{guest_run(args)}"'
    if vmm == "cove":
        return [f["cove"], "--log-level=warn", "run", "--cpus", "1", "--mem", "512",
                "--serial", "type=stdout,hardware=serial,console",
                "--shared-dir", f"{share}:hostshare:security_model=passthrough:msize={args.msize}",
                "--initrd", f["initrd"], "--params", params, f["kernel"]]
    return [f["qemu"], "-M", "q35", "-enable-kvm", "-cpu", "host", "-smp", "1", "-m", "512",
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-serial", "stdio",
            "-kernel", f["kernel"], "-initrd", f["initrd"], "-append", "console=ttyS0 " + params,
            "-fsdev", f"local,id=fsdev0,path={share},security_model=passthrough",
            "-device", "virtio-9p-pci,fsdev=fsdev0,mount_tag=hostshare"]


def clean(share):
    for name in os.listdir(share):
        if name == "9p-bench":
            continue
        p = os.path.join(share, name)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        else:
            os.unlink(p)


def run_once(vmm, f, share, args, logs):
    """One boot of vmm; its stdout and stderr go to logs + ".out"/".err"
    as it runs (beside --out, so a stalled run can be watched from the
    host)."""
    clean(share)
    argv = argv_for(vmm, f, share, args)
    t0 = time.monotonic()
    with open(logs + ".out", "wb") as fo, open(logs + ".err", "wb") as fe:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                             start_new_session=True)
        try:
            rc = p.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            rc = None
    with open(logs + ".out", "rb") as fo, open(logs + ".err", "rb") as fe:
        out, err = fo.read().decode(errors="replace"), fe.read().decode(errors="replace")
    if rc is None:
        err += f"\ntimed out after {args.timeout} s"
    res = {"vmm": vmm, "argv": argv, "wall_s": round(time.monotonic() - t0, 1), "status": rc}
    for line in out.replace("\r", "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "BENCH" and parts[1] in KEYS:
            res[parts[1]] = float(parts[2])
    res["ok"] = rc == 0 and all(k in res for k in KEYS) and "BENCH done" in out
    if not res["ok"]:
        res["stdout_tail"], res["stderr_tail"] = out[-3000:], err[-3000:]
    return res


def summary(runs):
    out = {}
    for vmm in ("cove", "qemu"):
        ok = [r for r in runs if r["vmm"] == vmm and r["ok"]]
        out[vmm] = {k: statistics.median(r[k] for r in ok) if ok else None for k in KEYS}
        out[vmm]["runs"] = len(ok)
    out["ratio"] = {k: (out["cove"][k] / out["qemu"][k]
                        if out["cove"][k] and out["qemu"][k] else None) for k in KEYS}
    return out


def save(path, data):
    with open(path + ".tmp", "w") as fh:
        json.dump(data, fh, indent=1)
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--bench", required=True, help="the static 9p-bench binary")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--msize", type=int, default=512000)
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bench9p-")
    f = {"cove": os.environ.get("COVE", "build/cove"), "kernel": "build/guest/bzImage",
         "initrd": "build/guest/initramfs.cpio.gz", "qemu": shutil.which("qemu-system-x86_64")}
    for k in ("cove", "kernel", "initrd"):
        dst = os.path.join(work, os.path.basename(f[k]))
        shutil.copy(f[k], dst)
        f[k] = dst
    share = os.path.join(work, "share")
    os.mkdir(share)
    shutil.copy(args.bench, os.path.join(share, "9p-bench"))
    data = {"config": {"mib": args.mib, "files": args.files, "msize": args.msize,
                       "runs": args.runs, "share": "tmpfs (level 1)", "model": "passthrough",
                       "qemu": subprocess.run([f["qemu"], "--version"], capture_output=True,
                                              text=True).stdout.splitlines()[0]},
            "runs": []}
    order = ["cove", "qemu"]
    for rnd in range(args.runs):
        for vmm in order if rnd % 2 == 0 else order[::-1]:
            log(f"round {rnd + 1}/{args.runs}: {vmm}")
            logs = os.path.join(os.path.dirname(os.path.abspath(args.out)),
                                f"9p-{vmm}-{rnd + 1}")
            res = run_once(vmm, f, share, args, logs)
            log(f"  {'ok' if res['ok'] else 'FAILED'} in {res['wall_s']} s: " +
                ", ".join(f"{k}={res.get(k)}" for k in KEYS))
            data["runs"].append(res)
            data["summary"] = summary(data["runs"])
            save(args.out, data)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r["ok"] for r in data["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
