#!/usr/bin/python3
"""bench/net.py: virtio-net and virtio-vsock, Cove against QEMU (stdlib only).

  net.py lab --out FILE [--seconds S] [--vmms cove,cove-vhost,qemu,qemu-vhost]
             [--vsock-mib N] [--budget S]

Runs inside the nested lab's level 1 (bench/net-run starts it there), in one
level-1 boot. For each VMM in turn it boots the same level-2 guest (Debian's
kernel, the busybox test guest plus socat and iperf3: tests/integration/
guest_tools.py) with 2 vCPUs and 512 MiB, one virtio-net NIC on tap0 in a
network namespace of its own (host 192.168.100.1/24, guest .2/24) and one
virtio-vsock device (guest CID 3), and measures from the host side:

  tcp_h2g_1, tcp_h2g_4   iperf3 host -> guest, 1 and 4 streams (Mbit/s)
  tcp_g2h_1, tcp_g2h_4   iperf3 guest -> host (-R), 1 and 4 streams (Mbit/s)
  ping_ms                busybox ping, 20 echoes 0.2 s apart, average RTT
  vsock_h2g, vsock_g2h   MiB/s of one stream to a sink (socat in the guest)

VMMs: cove (data path in Cove; vsock over the hybrid Unix socket), cove-vhost
(--net ...,vhost-net and --vsock cid=3 over /dev/vhost-vsock), qemu (q35,
virtio-net-pci on the tap with vhost=off, vhost-vsock-pci: QEMU has no vsock
of its own), qemu-vhost (vhost=on). A VMM whose kernel module is missing is
recorded as skipped with the reason. Results (JSON) are rewritten after each
VMM; the table with the ratios Cove/QEMU is printed at the end.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from guest_tools import tools_initramfs  # noqa: E402
from vsock_host import host_connect  # noqa: E402

NS = "cove-bench-net"
HOST_IP, GUEST_IP = "192.168.100.1", "192.168.100.2"
CID = 3
MIB = 1024 * 1024
GUEST_RUN = (
    f"ip addr add {GUEST_IP}/24 dev eth0 && ip link set eth0 up && iperf3 -s -D && "
    "(socat -u VSOCK-LISTEN:1234,fork /dev/null &) && "
    "(socat -U VSOCK-LISTEN:1236,fork SYSTEM:'head -c {vsock_bytes} /dev/zero' &) && "
    "echo BENCH-READY; sleep 100000")
METRICS = ["tcp_h2g_1", "tcp_h2g_4", "tcp_g2h_1", "tcp_g2h_4", "ping_ms",
           "vsock_h2g", "vsock_g2h"]
HIGHER_IS_BETTER = {m: m != "ping_ms" for m in METRICS}


def log(msg):
    print(f"bench: net: {msg}", file=sys.stderr, flush=True)


def sh(cmd, check=True, timeout=60):
    """Runs a shell command line in a session of its own; on timeout the
    whole session is killed (iperf3 under `ip netns exec sh -c` would keep
    the output pipes open, and a plain kill of the shell would wait on
    them forever) and subprocess.TimeoutExpired is raised."""
    with subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, start_new_session=True) as p:
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise
    if check and p.returncode != 0:
        raise subprocess.CalledProcessError(p.returncode, cmd, out, err)
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def ns(cmd):
    """cmd, a shell command line, run whole inside the namespace (a bare
    `ip netns exec NS a && b` would run b outside it)."""
    return f"ip netns exec {NS} sh -c {shlex.quote(cmd)}"


def setup_netns():
    sh(f"ip netns del {NS}", check=False)
    sh(f"ip netns add {NS}")
    sh(ns("ip link set lo up"))
    sh(ns(f"ip tuntap add dev tap0 mode tap && ip addr add {HOST_IP}/24 dev tap0 && "
          "ip link set tap0 up"))


def vmm_argv(name, guest, initrd, uds, cmdline):
    cove = os.environ.get("COVE", os.path.join(REPO, "build", "cove"))
    if name.startswith("cove"):
        vhost = name == "cove-vhost"
        net = "tap-name=tap0,mrg_rxbuf" + (",vhost-net" if vhost else "")
        vsock = f"cid={CID}" + ("" if vhost else f",uds-path={uds}")
        return [cove, "run", "--cpus", "2", "--mem", "512", "--net", net, "--vsock", vsock,
                "--serial", "type=stdout,console", "--initrd", initrd,
                "--params", cmdline, guest]
    vhost = "on" if name == "qemu-vhost" else "off"
    return ["qemu-system-x86_64", "-M", "q35", "-enable-kvm", "-cpu", "host", "-smp", "2",
            "-m", "512", "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-serial", "stdio", "-kernel", guest, "-initrd", initrd,
            "-append", "console=ttyS0 " + cmdline,
            "-netdev", f"tap,id=n0,ifname=tap0,script=no,downscript=no,vhost={vhost}",
            "-device", "virtio-net-pci,netdev=n0,mrg_rxbuf=on",
            "-device", f"vhost-vsock-pci,guest-cid={CID}"]


def missing_module(name):
    need = []
    if name in ("cove-vhost", "qemu-vhost"):
        need.append("/dev/vhost-net")
    if name != "cove":
        need.append("/dev/vhost-vsock")
    for dev in need:
        if not os.path.exists(dev):
            return f"{dev} is missing (modprobe {os.path.basename(dev).replace('-', '_')})"
    return None


def wait_ready(proc, out_path, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with open(out_path, "rb") as f:
            if b"BENCH-READY" in f.read():
                return True
        time.sleep(0.5)
    return False


def iperf(seconds, streams, reverse):
    args = f"iperf3 -J -c {GUEST_IP} -t {seconds} -P {streams}" + (" -R" if reverse else "")
    r = sh(ns(args), check=False, timeout=seconds + 60)
    if r.returncode != 0:
        raise RuntimeError(f"iperf3 failed: {r.stdout[-500:]} {r.stderr[-500:]}")
    return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6


def ping():
    r = sh(ns(f"busybox ping -c 20 -i 0.2 {GUEST_IP}"), check=False, timeout=60)
    m = re.search(r"min/avg/max = [\d.]+/([\d.]+)/", r.stdout)
    if not m:
        raise RuntimeError(f"ping failed: {r.stdout[-300:]}")
    return float(m.group(1))


VSOCK_TIMEOUT = 120  # seconds any one socket call may block: a stall is an error


def vsock_connect(name, uds, port):
    if name == "cove":
        s, _ = host_connect(uds, port, timeout=VSOCK_TIMEOUT)
        s.settimeout(VSOCK_TIMEOUT)
        return s
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    s.settimeout(VSOCK_TIMEOUT)
    s.connect((CID, port))
    return s


def vsock_h2g(name, uds, nbytes):
    s = vsock_connect(name, uds, 1234)
    buf = b"\0" * MIB
    t0 = time.monotonic()
    sent = 0
    while sent < nbytes:
        s.sendall(buf)
        sent += len(buf)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # the guest's close: everything was read
    s.close()
    return sent / MIB / (time.monotonic() - t0)


def vsock_g2h(name, uds):
    s = vsock_connect(name, uds, 1236)
    t0, n = None, 0
    while True:
        b = s.recv(MIB)
        if not b:
            break
        if t0 is None:
            t0 = time.monotonic()
        n += len(b)
    s.close()
    return n / MIB / (time.monotonic() - t0) if t0 else 0.0


def measure(name, args, guest, initrd, workdir):
    uds = os.path.join(workdir, "v.sock")
    cmdline = "quiet loglevel=3 panic=-1 cove_run=\"{}\"".format(
        GUEST_RUN.format(vsock_bytes=args.vsock_mib * MIB))
    argv = vmm_argv(name, guest, initrd, uds, cmdline)
    out = os.path.join(workdir, f"{name}.out")
    err = os.path.join(workdir, f"{name}.err")
    res = {"vmm": name, "argv": argv}
    with open(out, "wb") as fo, open(err, "wb") as fe:
        p = subprocess.Popen(["ip", "netns", "exec", NS, *argv], stdout=fo, stderr=fe,
                             stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        if not wait_ready(p, out, 240):
            raise RuntimeError("the guest never got ready")
        steps = [(f"tcp_{way}_{n}", lambda n=n, r=r: iperf(args.seconds, n, r))
                 for n in (1, 4) for way, r in (("h2g", False), ("g2h", True))]
        steps += [("ping_ms", ping),
                  ("vsock_h2g", lambda: vsock_h2g(name, uds, args.vsock_mib * MIB)),
                  ("vsock_g2h", lambda: vsock_g2h(name, uds))]
        for metric, step in steps:
            try:
                res[metric] = step()
            except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
                raise RuntimeError(f"{metric}: {e}") from e
            log(f"{name}: {metric} {res[metric]:.2f}")
    except Exception as e:  # recorded and reported, never dropped
        res["error"] = str(e)
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        if "error" in res:
            with open(out, "rb") as f:
                res["stdout_tail"] = f.read()[-2000:].decode(errors="replace")
            with open(err, "rb") as f:
                res["stderr_tail"] = f.read()[-2000:].decode(errors="replace")
    return res


def table(results):
    rows = [f"{'metric':<12}" + "".join(f"{r['vmm']:>12}" for r in results)]
    for m in METRICS:
        cells = []
        for r in results:
            v = r.get(m)
            cells.append(f"{v:12.2f}" if isinstance(v, float) else f"{'-':>12}")
        rows.append(f"{m:<12}" + "".join(cells))
    by = {r["vmm"]: r for r in results}
    for cove, qemu in (("cove", "qemu"), ("cove-vhost", "qemu-vhost"), ("cove", "qemu-vhost")):
        if cove in by and qemu in by:
            parts = []
            for m in METRICS:
                a, b = by[cove].get(m), by[qemu].get(m)
                if isinstance(a, float) and isinstance(b, float) and a > 0 and b > 0:
                    ratio = a / b if HIGHER_IS_BETTER[m] else b / a
                    parts.append(f"{m} {ratio:.2f}x")
            rows.append(f"{cove}/{qemu} (>1: Cove better): " + ", ".join(parts))
    for r in results:
        if "error" in r or "skipped" in r:
            rows.append(f"{r['vmm']}: {r.get('error') or r.get('skipped')}")
    return "\n".join(rows)


def lab(args):
    guest = os.path.join(REPO, "build", "guest", "bzImage")
    initrd = tools_initramfs()
    if not initrd:
        log("socat or iperf3 missing (scripts/setup)")
        return 2
    initrd = str(initrd)  # it lands in the JSON (each result's argv)
    for mod in ("vhost_net", "vhost_vsock", "tun"):
        sh(f"modprobe {mod}", check=False)
    # Level 1 only (a VM of its own): QEMU madvises its guest RAM for huge
    # pages and Cove does not; under the lab's emulation khugepaged then
    # stalls level 1 for minutes. Small pages for both, the same for both.
    sh("echo never > /sys/kernel/mm/transparent_hugepage/enabled", check=False)
    workdir = "/tmp/cove-bench-net"
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    start = time.monotonic()
    doc = {"bench": "net", "started": datetime.datetime.now().astimezone().isoformat(),
           "config": {"seconds": args.seconds, "vsock_mib": args.vsock_mib,
                      "cpus": 2, "mem_mib": 512}, "results": []}
    setup_netns()
    try:
        for name in args.vmms.split(","):
            why = missing_module(name)
            if not why and time.monotonic() - start > args.budget:
                why = "out of time budget"
            res = {"vmm": name, "skipped": why} if why else measure(name, args, guest, initrd,
                                                                      workdir)
            log(f"{name}: " + json.dumps({k: v for k, v in res.items() if k != 'argv'})[:400])
            doc["results"].append(res)
            with open(args.out, "w") as f:
                json.dump(doc, f, indent=1)
    finally:
        sh(f"ip netns del {NS}", check=False)
    print(table(doc["results"]))
    return 0 if all("error" not in r for r in doc["results"]) else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["lab", "table"])
    ap.add_argument("--out", default="/dev/null")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--vsock-mib", type=int, default=256)
    ap.add_argument("--vmms", default="cove,qemu,cove-vhost,qemu-vhost")
    ap.add_argument("--budget", type=int, default=1200)
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    if args.mode == "table":
        for f in args.files:
            print(table(json.load(open(f))["results"]))
        return 0
    return lab(args)


if __name__ == "__main__":
    sys.exit(main())
