"""virtio-net on a tap, end to end with Debian's kernel and the busybox guest.

Every test makes its own network namespace with its own taps and addresses
(never the machine's own interfaces) and runs Cove inside it, as the seeds
do: tap0 with the host at 192.168.100.1/24, the guest at 192.168.100.2/24.
Host-side tools: iproute2 (`ip netns`, `ip tuntap`), socat, busybox ping.
"""

import hashlib
import os
import shutil
import subprocess
import time
import uuid

import pytest

from conftest import guest_cmdline, parse_guest

BOOT_TIMEOUT = 240
MIB = 1024 * 1024
XFER = 100 * MIB
# The long transfers run on one vCPU. In the nested lab (QEMU's TCG emulating
# SVM, KVM inside) a level-2 guest with two vCPUs under sustained network load
# reset or stalled after a few MiB in 5 of 5 runs, and QEMU/KVM's own guest did
# the same (reset after 7 MiB of the same upload); one vCPU did the 100 MiB in
# about 30 s. Level 1's kernel itself has also panicked under this load
# ("corrupted stack end detected inside scheduler" in KVM_RUN), with one and
# two level-2 vCPUs: the nested platform, not the device, is what breaks.
# Two vCPUs are kept where they matter (multi-queue).
XFER_CPUS = 1


def need_tools():
    for tool in ("ip", "socat", "busybox"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed")
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("no /dev/net/tun")
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (run in the lab)")


class Netns:
    """A network namespace of our own, deleted at the end."""

    def __init__(self):
        self.name = f"cove-net-{uuid.uuid4().hex[:8]}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.sh("ip link set lo up")

    def argv(self, *cmd):
        return ["ip", "netns", "exec", self.name, *cmd]

    def sh(self, cmd, check=True):
        return subprocess.run(self.argv("sh", "-c", cmd), check=check,
                              capture_output=True, text=True)

    def tap(self, name, host_ip, multi_queue=False):
        mq = " multi_queue" if multi_queue else ""
        self.sh(f"ip tuntap add dev {name} mode tap{mq} && "
                f"ip addr add {host_ip}/24 dev {name} && ip link set {name} up")

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name], check=False)


@pytest.fixture
def netns():
    need_tools()
    ns = Netns()
    yield ns
    ns.delete()


def cove_argv(cove, guest, nets, run, mem=512, cpus=2):
    argv = [cove, "--log-level=info", "run", "--cpus", str(cpus), "--mem", str(mem)]
    for n in nets:
        argv += ["--net", n]
    return argv + ["--initrd", guest.initramfs,
                   "--params", guest_cmdline(run=run), guest.bzimage]


def start(argv, out_dir, name):
    out = open(out_dir / f"{name}.stdout", "wb")
    err = open(out_dir / f"{name}.stderr", "wb")
    p = subprocess.Popen([str(a) for a in argv], stdout=out, stderr=err,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    p.files = (out, err)
    return p


def finish(p, timeout):
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        p.wait()
    for f in p.files:
        f.close()
    return p.returncode


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    return h.hexdigest()


@pytest.fixture
def out_dir(repo, request):
    d = repo / "build" / "test-output" / request.node.name
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_seed_example_ping_and_100mib_each_way(netns, cove, kvm, guest, out_dir, tmp_path):
    """The seeds' tap example with a MAC from the command line and mergeable
    buffers: ping both ways, then 100 MiB guest->host and host->guest over
    TCP with their SHA-256 compared on both ends."""
    netns.tap("tap0", "192.168.100.1")
    mac = "52:54:00:c0:ff:ee"
    run = ("cat /sys/class/net/eth0/address; "
           "ip addr add 192.168.100.2/24 dev eth0 && ip link set eth0 up && "
           "ping -c 3 -W 5 192.168.100.1 >/dev/null && echo GUEST-PING-OK; "
           "mkfifo /tmp/f; (sha256sum </tmp/f >/tmp/sum) & "
           f"head -c {XFER} /dev/urandom | tee /tmp/f | nc 192.168.100.1 5001; wait; "
           "echo UP=$(cut -d' ' -f1 /tmp/sum); "
           "echo DOWN=$(nc -l -p 5002 | sha256sum | cut -d' ' -f1)")
    received = tmp_path / "from-guest"
    sink = subprocess.Popen(netns.argv("socat", "-u", "TCP-LISTEN:5001,reuseaddr",
                                       f"CREATE:{received}"))
    p = start(netns.argv(*cove_argv(cove, guest, [f"tap-name=tap0,mac={mac},mrg_rxbuf"],
                                    run, cpus=XFER_CPUS)), out_dir, "cove")
    try:
        sink.wait(timeout=BOOT_TIMEOUT + 300)
    except subprocess.TimeoutExpired:
        sink.kill()
    ping = netns.sh("busybox ping -c 3 -W 5 192.168.100.2", check=False)
    payload = tmp_path / "to-guest"
    with open(payload, "wb") as f:
        for _ in range(XFER // MIB):
            f.write(os.urandom(MIB))
    send = subprocess.run(netns.argv("socat", "-u", f"FILE:{payload}",
                                     "TCP:192.168.100.2:5002,retry=120,interval=0.5"),
                          capture_output=True, text=True, timeout=600)
    rc = finish(p, timeout=300)
    g = parse_guest((out_dir / "cove.stdout").read_text(errors="replace"))
    err = (out_dir / "cove.stderr").read_text(errors="replace")
    assert g.ready, err
    assert g.lines and g.lines[0] == mac, g
    assert "GUEST-PING-OK" in g.lines, g
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert send.returncode == 0, send.stderr
    up = [l[3:] for l in g.lines if l.startswith("UP=")]
    down = [l[5:] for l in g.lines if l.startswith("DOWN=")]
    assert received.stat().st_size == XFER
    assert up == [sha256_file(received)], g
    assert down == [sha256_file(payload)], g
    assert g.status == 0 and rc == 0, err


def test_two_nics_one_multiqueue(netns, cove, kvm, guest, out_dir, tmp_path):
    """Two NICs at once: tap0 (one queue pair, no mergeable buffers) and a
    multi-queue tap1 with two pairs; each pings its host side, and 8 MiB
    cross the second one with matching checksums."""
    netns.tap("tap0", "192.168.100.1")
    netns.tap("tap1", "192.168.101.1", multi_queue=True)
    run = ("ip addr add 192.168.100.2/24 dev eth0 && ip link set eth0 up && "
           "ip addr add 192.168.101.2/24 dev eth1 && ip link set eth1 up && "
           "ping -c 2 -W 5 192.168.100.1 >/dev/null && echo PING0-OK; "
           "ping -c 2 -W 5 192.168.101.1 >/dev/null && echo PING1-OK; "
           "ls /sys/class/net/eth1/queues | tr '\\n' ' '; echo; "
           "echo DOWN=$(nc -l -p 5003 | sha256sum | cut -d' ' -f1)")
    p = start(netns.argv(*cove_argv(cove, guest, ["tap-name=tap0",
                                                  "tap-name=tap1,vq-pairs=2,mrg_rxbuf"],
                                    run)), out_dir, "cove")
    payload = tmp_path / "to-guest"
    payload.write_bytes(os.urandom(8 * MIB))
    send = subprocess.run(netns.argv("socat", "-u", f"FILE:{payload}",
                                     "TCP:192.168.101.2:5003,retry=400,interval=0.5"),
                          capture_output=True, text=True, timeout=BOOT_TIMEOUT + 60)
    rc = finish(p, timeout=120)
    g = parse_guest((out_dir / "cove.stdout").read_text(errors="replace"))
    err = (out_dir / "cove.stderr").read_text(errors="replace")
    assert g.ready, err
    assert "PING0-OK" in g.lines and "PING1-OK" in g.lines, g
    queues = next(l for l in g.lines if "rx-" in l).split()
    assert sorted(queues) == ["rx-0", "rx-1", "tx-0", "tx-1"], g
    assert send.returncode == 0, send.stderr
    assert [l[5:] for l in g.lines if l.startswith("DOWN=")] == [sha256_file(payload)], g
    assert g.status == 0 and rc == 0, err


def run_bad(netns, cove, guest, net, extra_prefix=()):
    r = subprocess.run(netns.argv(*extra_prefix, cove, "run", "--net", net,
                                  "--initrd", guest.initramfs, guest.bzimage),
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stderr.strip().splitlines()


def test_tap_errors_are_one_line(netns, cove, kvm, guest):
    """A tap Cove may not create, a name that is no tap, a single-queue tap
    asked for two pairs, a bad fd: each one clear line and status 1."""
    netns.sh("ip link add dummy0 type dummy")
    netns.tap("tap0", "192.168.100.1")
    setpriv = ("setpriv", "--bounding-set=-net_admin")
    cases = [
        ("tap-name=nosuch0", setpriv, "does not exist and Cove may not create it"),
        ("tap-name=dummy0", (), "dummy0 is not a tap interface"),
        ("tap-name=tap0,vq-pairs=2", (), "tap0 is not a multi-queue tap"),
        ("tap-fd=99", (), "tap-fd=99: not an open file descriptor"),
        ("tap-fd=0", (), "tap-fd=0: not a file descriptor of a tap interface"),
        ("tap-name=tap0,mac=01:00:5e:00:00:01", (), "multicast"),
        ("tap-name=tap0,vq-pairs=17", (), "vq-pairs"),
        ("mac=52:54:00:00:00:01", (), "missing tap"),
        ("tap-name=tap0,host-ip=1.2.3.4", (), "not supported yet"),
    ]
    for net, prefix, expected in cases:
        rc, lines = run_bad(netns, cove, guest, net, prefix)
        assert rc == 1, (net, lines)
        assert len(lines) == 1 and expected in lines[0], (net, lines)


def test_missing_tap_is_created_with_the_right(netns, cove, kvm, guest, out_dir):
    """As root (CAP_NET_ADMIN) a missing tap is created and goes away with Cove."""
    run = "cat /sys/class/net/eth0/operstate"
    p = start(netns.argv(*cove_argv(cove, guest, ["tap-name=fresh0"], run, mem=256, cpus=1)),
              out_dir, "cove")
    seen = False
    for _ in range(60):
        if netns.sh("ip link show fresh0", check=False).returncode == 0:
            seen = True
            break
        time.sleep(0.5)
    rc = finish(p, timeout=BOOT_TIMEOUT)
    assert seen
    assert rc == 0, (out_dir / "cove.stderr").read_text()
    assert netns.sh("ip link show fresh0", check=False).returncode != 0


def test_vhost_net(netns, cove, kvm, guest, out_dir, tmp_path):
    """vhost-net (the level 1 can load it): ping, and 16 MiB host->guest
    with matching checksums."""
    subprocess.run(["modprobe", "vhost_net"], capture_output=True)
    if not os.path.exists("/dev/vhost-net"):
        pytest.skip("/dev/vhost-net is missing (no vhost_net module)")
    netns.tap("tap0", "192.168.100.1")
    run = ("ip addr add 192.168.100.2/24 dev eth0 && ip link set eth0 up && "
           "ping -c 3 -W 5 192.168.100.1 >/dev/null && echo PING-OK; "
           "echo DOWN=$(nc -l -p 5004 | sha256sum | cut -d' ' -f1)")
    p = start(netns.argv(*cove_argv(cove, guest, ["tap-name=tap0,mrg_rxbuf,vhost-net"], run,
                                    cpus=XFER_CPUS)),
              out_dir, "cove")
    payload = tmp_path / "to-guest"
    payload.write_bytes(os.urandom(16 * MIB))
    send = subprocess.run(netns.argv("socat", "-u", f"FILE:{payload}",
                                     "TCP:192.168.100.2:5004,retry=400,interval=0.5"),
                          capture_output=True, text=True, timeout=BOOT_TIMEOUT + 60)
    rc = finish(p, timeout=120)
    g = parse_guest((out_dir / "cove.stdout").read_text(errors="replace"))
    err = (out_dir / "cove.stderr").read_text(errors="replace")
    assert g.ready, err
    assert "PING-OK" in g.lines, g
    assert send.returncode == 0, send.stderr
    assert [l[5:] for l in g.lines if l.startswith("DOWN=")] == [sha256_file(payload)], g
    assert g.status == 0 and rc == 0, err
