"""The control socket (`cove run -s`) and its verbs against real guests:
status, suspend/resume, the balloon moving the guest's MemTotal and the
host's RSS of the Cove process, balloon statistics, free page reporting,
the ACPI power button (the guest shuts down cleanly), stop, events, and the
failures that must be one clear line (bad socket paths, a socket in use, a
VM without a balloon asked to balloon, hostile requests).

Three Linux boots in all (docs/testing.md: keep them few); the error cases
use the tiny guest, which needs no boot."""

import json
import os
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import guest_cmdline, need_rootfs

BOOT_TIMEOUT = 180  # seconds: the lab is emulated and noisy
MiB = 1024 * 1024


class VM:
    """A `cove run` in the background with its control socket in a fresh
    directory under /tmp (a Unix socket path has at most 107 bytes); its
    console goes to outdir/console.log, its log to outdir/cove.log."""

    def __init__(self, cove, outdir, args):
        self.cove = cove
        self.sockdir = Path(tempfile.mkdtemp(prefix="cove-ctl-", dir="/tmp"))
        self.console = outdir / "console.log"
        self.log = outdir / "cove.log"
        with open(self.console, "wb") as out, open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [cove, "--log-level=info", "run", "-s", self.sockdir, *args],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
        self.sock = self.sockdir / f"cove-{self.proc.pid}.sock"
        wait_for(lambda: self.sock.exists() or self.proc.poll() is not None, 30, "the socket")
        assert self.proc.poll() is None, self.log.read_text()

    def ctl(self, verb, *args, timeout=60):
        """Runs `cove VERB [ARGS] SOCKET`: (status, stdout, stderr)."""
        p = subprocess.run([self.cove, verb, *args, self.sock], capture_output=True,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def query(self, verb):
        rc, out, err = self.ctl(verb)
        assert rc == 0, err
        return json.loads(out)

    def console_text(self):
        return self.console.read_text(errors="replace").replace("\r", "")

    def wait_console(self, pattern, timeout=BOOT_TIMEOUT):
        """Waits for a console line matching `pattern`; returns the last match."""
        found = []

        def seen():
            found[:] = re.findall(pattern, self.console_text(), re.M)
            return found or self.proc.poll() is not None

        wait_for(seen, timeout, f"{pattern!r} on the console")
        assert found, f"cove exited first:\n{self.log.read_text()[-3000:]}"
        return found[-1]

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) // 1024

    def wait(self, timeout=60):
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def kernel(guest):
    # The PVH vmlinux boots seconds faster under emulation.
    return guest.vmlinux if guest.vmlinux.exists() else guest.bzimage


@pytest.fixture
def outdir(request):
    base = Path(os.environ.get("COVE_TEST_OUT", Path(__file__).resolve().parents[2] /
                               "build" / "test-output"))
    d = base / re.sub(r"[^\w.-]+", "_", request.node.nodeid)
    d.mkdir(parents=True, exist_ok=True)
    return d


# A guest that dirties 768 MiB (a file in its tmpfs, then removed: free in
# the guest, still resident in the host), then prints its MemTotal and
# uptime every second.
MEMLOOP = ("dd if=/dev/zero of=/tmp/fill bs=1M count=768 2>/dev/null; rm /tmp/fill; "
           "echo FILLED; while :; do echo MEM $(grep MemTotal /proc/meminfo | tr -s ' ' | "
           "cut -d' ' -f2) UP $(cut -d. -f1 /proc/uptime); sleep 1; done")


def memtotal_mib(vm, after):
    """The guest's MemTotal (MiB) from the first MEM line printed after
    uptime `after`."""
    def fresh():
        lines = re.findall(r"^MEM (\d+) UP (\d+)$", vm.console_text(), re.M)
        return [int(m) for m, up in lines if int(up) > after]

    wait_for(lambda: fresh() or vm.proc.poll() is not None, 60, "a MemTotal line")
    return fresh()[0] // 1024


def uptime(vm):
    return int(vm.wait_console(r"^MEM \d+ UP (\d+)$", 60))


def settle_memtotal(vm, want_below=None, want_above=None, timeout=120):
    """Waits until the guest's MemTotal crosses the given bound; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        mib = memtotal_mib(vm, uptime(vm))
        if (want_below is None or mib < want_below) and (want_above is None or mib > want_above):
            return mib
        if time.monotonic() > deadline:
            pytest.fail(f"MemTotal stayed at {mib} MiB")
        time.sleep(1)


def test_status_suspend_balloon_stop(kvm, cove, guest, outdir):
    """2 GiB guest: status; suspend stops the guest and resume restarts it;
    a 1.5 GiB balloon (the seeds' `virsh setmem 512M`) drops MemTotal to
    about 400 MB and the host RSS with it; statistics; back to 0 returns
    MemTotal; a hostile request harms nothing; `cove stop` ends it."""
    vm = VM(cove, outdir, ["--cpus", "2", "--mem", "2048", "--initrd", guest.initramfs,
                           "--params", guest_cmdline(run=MEMLOOP), kernel(guest)])
    try:
        vm.wait_console(r"^FILLED$")
        st = vm.query("status")
        assert st["status"] == "running" and st["running"] is True, st
        assert st["vcpus"] == 2 and st["memory"] == 2048 * MiB, st
        assert "virtio-balloon" in [d["name"] for d in st["devices"]], st
        assert st["balloon"]["driver_ok"] is True, st
        full = memtotal_mib(vm, uptime(vm))
        assert 1800 < full <= 2048, full

        # Suspend: no line for a while; resume: lines again.
        assert vm.ctl("suspend")[0] == 0
        assert vm.query("status")["status"] == "paused"
        time.sleep(1)  # a line already on its way may still land
        before = vm.console_text()
        time.sleep(4)
        assert vm.console_text() == before, "the guest ran while suspended"
        assert vm.ctl("resume")[0] == 0
        assert vm.query("status")["status"] == "running"
        wait_for(lambda: vm.console_text() != before, 30, "output after resume")

        # Balloon down: 1.5 GiB taken, 512 MiB left.
        rss_full = vm.rss_mib()
        rc, out, err = vm.ctl("balloon", str(1536 * MiB))
        assert rc == 0 and out == "" and err == "", (rc, out, err)
        small = settle_memtotal(vm, want_below=600)
        assert 300 < small < 600, small
        wait_for(lambda: vm.query("balloon_stats")["balloon_actual"] == 1536 * MiB, 60,
                 "the balloon to reach its target")
        rss_small = vm.rss_mib()
        print(f"MemTotal {full} -> {small} MiB, RSS {rss_full} -> {rss_small} MiB")
        assert rss_small < rss_full - 400, (rss_full, rss_small)
        assert rss_small < 700, rss_small

        stats = vm.query("balloon_stats")
        assert stats["balloon_target"] == 1536 * MiB, stats
        assert stats["actual"] == 512 * MiB, stats
        s = stats["stats"]
        for key in ("free_memory", "total_memory", "available_memory", "disk_caches",
                    "major_faults", "minor_faults", "swap_in", "swap_out"):
            assert key in s, stats
        assert s["total_memory"] is not None and s["total_memory"] < 600 * MiB, stats
        assert s["free_memory"] is not None and s["free_memory"] < s["total_memory"], stats

        # Hostile and malformed requests: an error each, the VM unharmed.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(30)
            c.connect(str(vm.sock))
            f = c.makefile("rwb")
            assert json.loads(f.readline())["cove"]["protocol"] == 1
            f.write(b"{nonsense\n" + b"x" * 100000 + b"\n" +
                    b'{"execute":"balloon","arguments":{"num_bytes":-5}}\n'
                    b'{"execute":"agent","arguments":{"message":{"execute":"guest-ping"}}}\n'
                    b'{"execute":"query-status","id":9}\n')
            f.flush()
            errors = [json.loads(f.readline()) for _ in range(4)]
            assert [e["error"]["class"] for e in errors] == ["GenericError"] * 4, errors
            # The agent channel always exists; no qemu-ga answers in this guest.
            assert "guest agent" in errors[3]["error"]["desc"]
            last = json.loads(f.readline())
            assert last["id"] == 9 and last["return"]["status"] == "running", last

        # Deflate: MemTotal comes back.
        assert vm.ctl("balloon", "0")[0] == 0
        back = settle_memtotal(vm, want_above=1800)
        assert abs(back - full) <= 4, (full, back)

        rc, out, err = vm.ctl("stop")
        assert rc == 0 and out == "" and err == "", (rc, out, err)
        assert vm.wait() == 0, vm.log.read_text()
    finally:
        vm.kill()
    log = vm.log.read_text()
    assert "control: stop requested" in log, log
    assert "COVE-RUN-STATUS" not in vm.console_text()  # stopped, not powered off
    assert not vm.sock.exists()


def fsck_clean(img):
    """img was unmounted cleanly (no journal to recover) and is consistent."""
    p = subprocess.run(["dumpe2fs", "-h", img], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "needs_recovery" not in p.stdout, p.stdout
    p = subprocess.run(["e2fsck", "-fn", img], capture_output=True, text=True)
    assert p.returncode == 0 and "Fix?" not in p.stdout, p.stdout + p.stderr


@pytest.mark.parametrize("root", ["initramfs", "debian"])
def test_page_reporting_and_power_button(kvm, cove, guest, outdir, tmp_path, root):
    """Free page reporting gives freed guest memory back to the host; the
    power button makes the guest power off cleanly (the busybox initramfs,
    and the Debian root image, whose disk is then clean); a client watching
    the socket sees POWERDOWN, then SHUTDOWN."""
    run = ("dd if=/dev/zero of=/tmp/fill bs=1M count=512 2>/dev/null; rm /tmp/fill; "
           "echo FREED; sleep 600")
    args = ["--mem", "1024", "--balloon-page-reporting", "--initrd", guest.initramfs]
    said = "init: power button: powering off"
    if root == "debian":
        image = need_rootfs(guest)
        disk = tmp_path / "root.ext4"
        subprocess.run(["cp", "--sparse=always", image, disk], check=True)
        args += ["--block", f"{disk},root", "--params",
                 guest_cmdline(run=run, extra="init=/sbin/cove-init")]
        said = "cove-init: power button: powering off"
    else:
        args += ["--params", guest_cmdline(run=run)]
    vm = VM(cove, outdir, [*args, kernel(guest)])
    try:
        vm.wait_console(r"^FREED$")
        rss_dirty = vm.rss_mib()
        wait_for(lambda: vm.rss_mib() < rss_dirty - 300, 90, "reported pages to leave the RSS")
        stats = vm.query("balloon_stats")
        assert stats["free_page_reported"] >= 300 * MiB, stats
        assert stats["balloon_actual"] == 0, stats
        print(f"RSS {rss_dirty} -> {vm.rss_mib()} MiB by free page reporting")

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as watcher:
            watcher.settimeout(120)
            watcher.connect(str(vm.sock))
            f = watcher.makefile("rb")
            f.readline()  # greeting
            rc, out, err = vm.ctl("powerbtn")
            assert rc == 0 and out == "" and err == "", (rc, out, err)
            events = []
            for line in f:
                events.append(json.loads(line)["event"])
                if events[-1] == "SHUTDOWN":
                    break
            assert events == ["POWERDOWN", "SHUTDOWN"], events
        assert vm.wait(BOOT_TIMEOUT) == 0, vm.log.read_text()
    finally:
        vm.kill()
    assert said in vm.console_text(), vm.console_text()[-2000:]
    assert "guest requested power-off (S5)" in vm.log.read_text()
    if root == "debian":
        fsck_clean(disk)


@pytest.fixture
def tiny():
    t = os.environ.get("TINY")
    if not t or not os.path.exists(t):
        pytest.skip("TINY is not set or missing (make check builds build/tiny/tiny.elf)")
    return t


def one_line_error(p, *parts):
    err = p.stderr.strip()
    assert p.returncode == 1, (p.returncode, err)
    assert len(err.splitlines()) == 1, err
    for part in parts:
        assert part in err, err
    return err


def test_failures_are_one_clear_line(kvm, cove, tiny, tmp_path, outdir):
    """Bad socket paths, a socket in use, and a VM without a balloon asked
    to balloon: one line each, exit status 1. The tiny guest halts forever
    (mode h) and is stopped with `cove stop`."""
    def run(*args):
        return subprocess.run([cove, "run", *args, "--params", "tiny=p", tiny],
                              capture_output=True, text=True, timeout=60)

    one_line_error(run("-s", tmp_path / "no" / "such" / "dir.sock"),
                   "control socket", "directory does not exist")
    one_line_error(run("-s", "/tmp/" + "x" * 120 + ".sock"), "too long")
    (tmp_path / "file").write_text("x")
    one_line_error(run("-s", tmp_path / "file"), "not a socket")

    vm = VM(cove, outdir, ["--no-balloon", "--params", "tiny=h", tiny])
    try:
        one_line_error(run("-s", vm.sock), "in use")
        for verb, args in (("balloon", ["1G"]), ("balloon_stats", [])):
            rc, out, err = vm.ctl(verb, *args)
            assert rc == 1 and out == "", (rc, out, err)
            assert err.count("\n") == 1 and "DeviceNotFound" in err and "--no-balloon" in err
        rc, out, err = vm.ctl("balloon", "lots")
        assert rc == 1 and "not a size" in err and err.count("\n") == 1, err
        st = vm.query("status")
        assert st["balloon"] is None and st["status"] == "running", st
        assert vm.ctl("stop")[0] == 0
        assert vm.wait() == 0
    finally:
        vm.kill()
    p = subprocess.run([cove, "status", vm.sock], capture_output=True, text=True, timeout=30)
    one_line_error(p, "cove status", "cannot connect")
