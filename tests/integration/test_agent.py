"""The guest agent against the real qemu-guest-agent of the Debian root image
(guest/cove-init starts `qemu-ga -m virtio-serial` on
/dev/virtio-ports/org.qemu.guest_agent.0): `cove agent` and `cove exec`
through the control socket (`cove run -s`).

Two boots of the Debian image:
  default   the agent's channel is the one Cove adds by itself: ping, info,
            the seeds' `cove exec VM cat /proc/meminfo | grep -i total`,
            failing and killed commands, 10 MiB of output, stdin and
            environment, an agent error, a command that is not JSON, and
            last an agent that is not running (a clear error after the
            timeout, no hang).
  socket    the user gives the agent's channel a type=unix-stream socket:
            a client talks to qemu-ga directly there (as libvirt would),
            `cove agent` is refused while it is connected and works again
            once it has gone.
"""

import hashlib
import json
import os
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import guest_cmdline, need_rootfs, out_dir

BOOT_TIMEOUT = 240  # seconds: the lab is emulated and noisy (test-lab.md)
AGENT_PORT = "org.qemu.guest_agent.0"


def kernel(guest):
    return guest.vmlinux if guest.vmlinux.exists() else guest.bzimage


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.2)


class VM:
    """`cove run -s SOCK` of a copy of the Debian root image, in the
    background, its console in outdir/console.log and log in cove.log."""

    def __init__(self, cove, guest, outdir, extra_args=()):
        self.cove = cove
        self.dir = Path(tempfile.mkdtemp(prefix="cove-agent-", dir="/tmp"))
        self.sock = self.dir / "ctl.sock"
        root = self.dir / "root.ext4"
        subprocess.run(["cp", "--sparse=always", need_rootfs(guest), root], check=True)
        self.console = outdir / "console.log"
        self.log = outdir / "cove.log"
        argv = [cove, "--log-level=info", "run", "--mem", "384", "-s", self.sock,
                "--block", f"{root},root", *extra_args, "--initrd", guest.initramfs,
                "--params", guest_cmdline(run="sleep 3600", extra="init=/sbin/cove-init"),
                kernel(guest)]
        with open(self.console, "wb") as out, open(self.log, "wb") as err:
            self.proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err, start_new_session=True)
        wait_for(lambda: "COVE-GUEST-READY" in self.console_text() or
                 self.proc.poll() is not None, BOOT_TIMEOUT, "COVE-GUEST-READY")
        assert self.proc.poll() is None, self.log.read_text()[-3000:]

    def console_text(self):
        return self.console.read_text(errors="replace").replace("\r", "")

    def run(self, *args, stdin=None, timeout=120, shell=None):
        """`cove VERB ...` with SOCK substituted -> (status, stdout bytes, stderr str)."""
        argv = [self.cove, *[str(self.sock) if a == "SOCK" else a for a in args]]
        p = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout,
                           stdin=None if stdin is not None else subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr.decode(errors="replace")

    def agent(self, json_text, *opts, timeout=120):
        return self.run("agent", *opts, "SOCK", json_text, timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            subprocess.run([self.cove, "stop", str(self.sock)], capture_output=True,
                           timeout=30)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


@pytest.fixture(scope="module")
def vm(kvm, cove, guest):
    v = VM(cove, guest, out_dir("test_agent_default"))
    yield v
    v.stop()


def one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_guest_ping(vm):
    rc, out, err = vm.agent('{"execute":"guest-ping"}')
    assert (rc, out, err) == (0, b'{"return":{}}\n', "")


def test_guest_info_pretty(vm):
    rc, out, err = vm.agent('{"execute":"guest-info"}', "--pretty")
    assert rc == 0, err
    assert out.count(b"\n") > 3  # indented
    info = json.loads(out)["return"]
    assert re.match(r"\d+\.\d+", info["version"])
    names = {c["name"] for c in info["supported_commands"] if c["enabled"]}
    assert {"guest-exec", "guest-exec-status", "guest-ping"} <= names


def test_seeds_example_meminfo(vm):
    # The seeds' line: ./virt-exec testvm cat /proc/meminfo | grep -i total
    p = subprocess.run(f"'{vm.cove}' exec '{vm.sock}' cat /proc/meminfo | grep -i total",
                       shell=True, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    keys = [line.split(":")[0] for line in p.stdout.splitlines()]
    assert "MemTotal" in keys and "SwapTotal" in keys, p.stdout
    assert all("total" in k.lower() for k in keys), p.stdout


def test_exec_failing_command(vm):
    rc, out, err = vm.run("exec", "SOCK", "--", "sh", "-c",
                          "echo to-stdout; echo to-stderr >&2; exit 3")
    assert rc == 3, err
    assert out == b"to-stdout\n"
    assert err == "to-stderr\n"


def test_exec_killed_by_signal(vm):
    rc, out, err = vm.run("exec", "SOCK", "--", "sh", "-c", "kill -9 $$")
    assert rc == 128 + 9, err


def test_exec_missing_program(vm):
    rc, out, err = vm.run("exec", "SOCK", "--", "/nonexistent/program")
    assert rc == 127
    assert "nonexistent" in one_line(err)
    assert out == b""


def test_exec_ten_mib_of_output(vm):
    rc, out, err = vm.run("exec", "SOCK", "--", "sh", "-c",
                          "head -c 10485760 /dev/urandom >/tmp/big && md5sum </tmp/big")
    assert rc == 0, err
    want = out.split()[0].decode()
    t0 = time.monotonic()
    rc, out, err = vm.run("exec", "SOCK", "--", "cat", "/tmp/big", timeout=300)
    assert rc == 0, err
    assert len(out) == 10 * 1024 * 1024
    assert hashlib.md5(out).hexdigest() == want
    print(f"10 MiB through cove exec in {time.monotonic() - t0:.1f} s")


def test_exec_stdin_and_environment(vm):
    rc, out, err = vm.run("exec", "SOCK", "--", "tr", "a-z", "A-Z", stdin=b"hello stdin\n")
    assert (rc, out) == (0, b"HELLO STDIN\n"), err
    rc, out, err = vm.run("exec", "SOCK", "-e", "COVE_TEST=forty-two", "--", "sh", "-c",
                          "echo $COVE_TEST")
    assert (rc, out) == (0, b"forty-two\n"), err


def test_agent_error_is_passed_through(vm):
    rc, out, err = vm.agent('{"execute":"guest-no-such-command"}')
    assert rc == 1
    reply = json.loads(out)
    assert reply["error"]["class"] == "CommandNotFound", reply
    assert err == ""


def test_command_that_is_not_json(vm):
    rc, out, err = vm.agent('{"execute":"guest-ping"')
    assert rc == 1 and out == b""
    assert "not JSON" in one_line(err)
    rc, out, err = vm.agent('{"arguments":{}}')
    assert rc == 1 and out == b""
    assert "execute" in one_line(err)
    # The VM and its agent are still fine.
    assert vm.agent('{"execute":"guest-ping"}')[0] == 0


def test_zz_agent_not_running(vm):
    """Last: stops qemu-ga in the guest, through itself."""
    rc, out, err = vm.run("exec", "SOCK", "--", "sh", "-c",
                          "setsid sh -c 'sleep 1; kill $(cat /run/qemu-ga.pid)' "
                          "</dev/null >/dev/null 2>&1 &")
    assert rc == 0, err
    time.sleep(3)
    t0 = time.monotonic()
    rc, out, err = vm.agent('{"execute":"guest-ping"}', "--timeout", "3", timeout=60)
    took = time.monotonic() - t0
    assert rc == 1 and out == b""
    line = one_line(err)
    assert "did not answer within 3 s" in line and "qemu-ga" in line, line
    assert 2.5 < took < 20, took
    # exec fails the same way, without hanging.
    rc, out, err = vm.run("exec", "--timeout", "2", "SOCK", "--", "true", timeout=60)
    assert rc == 1 and "did not answer" in one_line(err)
    assert vm.proc.poll() is None  # the VM runs on


# ---- the agent's channel on a user socket ----

@pytest.fixture(scope="module")
def socket_vm(kvm, cove, guest):
    qga = Path(tempfile.mkdtemp(prefix="cove-qga-", dir="/tmp")) / "qga.sock"
    v = VM(cove, guest, out_dir("test_agent_socket"),
           [f"--serial=type=unix-stream,path={qga},hardware=virtio-console,name={AGENT_PORT}"])
    v.qga = qga
    yield v
    v.stop()


def client_command(s, command, deadline):
    """libvirt's way on a raw socket: guest-sync-delimited, then the command.
    qemu-ga writes its JSON with spaces ({"return": 4242}): parse, do not
    compare bytes."""
    s.sendall(b'\xff{"execute":"guest-sync-delimited","arguments":{"id":4242}}\n')
    buf = b""

    def line():
        nonlocal buf
        while b"\n" not in buf:
            assert time.monotonic() < deadline, buf
            chunk = s.recv(4096)
            assert chunk, buf
            buf += chunk
        first, buf = buf.split(b"\n", 1)
        return first

    while True:  # skip up to the sentinel and our id
        text = line()
        if b"\xff" in text and json.loads(text.rsplit(b"\xff", 1)[1]).get("return") == 4242:
            break
    s.sendall(command + b"\n")
    return json.loads(line())


def test_user_socket_client_and_cove_take_turns(socket_vm):
    v = socket_vm
    # Nobody on the socket: Cove borrows the channel.
    rc, out, err = v.agent('{"execute":"guest-ping"}')
    assert (rc, out) == (0, b'{"return":{}}\n'), err
    # A client talks to qemu-ga itself.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(str(v.qga))
    reply = client_command(s, b'{"execute":"guest-info"}', time.monotonic() + 60)
    assert "version" in reply["return"], reply
    # Meanwhile Cove's requests are refused at once, with one line.
    t0 = time.monotonic()
    rc, out, err = v.agent('{"execute":"guest-ping"}')
    assert rc == 1 and time.monotonic() - t0 < 10
    assert "in use by a client of" in one_line(err) and str(v.qga) in err
    s.close()
    # Once it has gone, Cove gets the channel back.
    deadline = time.monotonic() + 30
    while True:
        rc, out, err = v.agent('{"execute":"guest-ping"}')
        if rc == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (rc, out) == (0, b'{"return":{}}\n'), err
    rc, out, err = v.run("exec", "SOCK", "--", "echo", "via-cove")
    assert (rc, out) == (0, b"via-cove\n"), err
