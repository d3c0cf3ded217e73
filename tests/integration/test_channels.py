"""Named channels on virtio-console (--serial ...,hardware=virtio-console,name=N)
seen from inside Debian's kernel, with the initramfs guest: one boot, every
host type at once.

  org.test.sock   type=unix-stream: Cove listens, the test connects; the
                  guest reads EOF until a client is there (PORT_OPEN),
                  then 1 MiB each way, checked by md5, the host reading
                  slowly (back-pressure); the client's hang-up is an EOF
                  in the guest.
  org.test.file   type=file
  org.test.stdout type=stdout (mixed with the console on Cove's stdout)
  org.test.pty    type=pty: the path Cove prints on stderr, raw both ways
  org.test.dev    type=dev: a host terminal (a pty whose master the test
                  holds) opened raw, both ways
  org.test.flood  type=unix-stream whose client never reads while the guest
                  floods it, and fills it the other way while the guest
                  never reads: every other channel must still work.
  org.qemu.guest_agent.0 is not given: Cove adds it.

The guest's script is too long for the kernel command line: it is a raw
read-only disk (vda), run with `sh /dev/vda`.
"""

import hashlib
import os
import re
import socket
import subprocess
import threading
import time
import tty

import pytest

from conftest import guest_cmdline, out_dir, parse_guest

BOOT_TIMEOUT = 300  # whole run; the lab is emulated and noisy (test-lab.md)
MIB = 1 << 20
P = "/dev/virtio-ports"

GUEST_SCRIPT = r"""
P=/dev/virtio-ports
for n in $(ls $P); do echo port=$n; echo link-$n=$(readlink $P/$n); done
# A port whose host client never reads: the guest floods it in the background.
cat /dev/zero >$P/org.test.flood 2>/dev/null &
flood=$!
echo file-says-42 >$P/org.test.file && echo file-written=yes
echo stdout-channel-says-42 >$P/org.test.stdout
# unix-stream: one fd for the whole session (Linux drops unread input on
# close). Reads give EOF until the host connects.
exec 3<>$P/org.test.sock
echo sock-waiting
n=0
until read -r line <&3; do
	n=$((n + 1))
	[ $n -lt 1200 ] || break
	sleep 0.1
done
echo sock-eof-before-client=$n
echo sock-got=$line
echo pong:$line >&3
echo sock-in-md5=$(head -c 1048576 <&3 | md5sum | cut -d' ' -f1)
head -c 1048576 /dev/urandom >/tmp/out.bin
echo sock-out-md5=$(md5sum </tmp/out.bin | cut -d' ' -f1)
cat /tmp/out.bin >&3
echo sock-sent=yes
cat <&3 >/dev/null
echo sock-eof-after-hangup=yes
exec 3<&-
# pty and host terminal: a line each way.
exec 4<>$P/org.test.pty
echo pty-says-42 >&4
read -r l <&4
echo pty-got=$l
exec 4<&-
exec 5<>$P/org.test.dev
echo dev-says-42 >&5
read -r l <&5
echo dev-got=$l
exec 5<&-
kill $flood && echo flood-killed=yes
"""


def kv(lines):
    d = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key and " " not in key:
            d.setdefault(key, []).append(value)
    return d


def kernel(guest):
    return guest.vmlinux if guest.vmlinux.exists() else guest.bzimage


def connect(path, deadline):
    """Connects to the unix socket at path, retrying until Cove made it."""
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(str(path))
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def read_line(recv, deadline):
    """Bytes from recv() up to and including b'\\n'."""
    buf = b""
    while not buf.endswith(b"\n"):
        if time.monotonic() > deadline:
            raise AssertionError(f"no full line by the deadline: {buf!r}")
        chunk = recv()
        if chunk is None:
            continue
        if not chunk:
            raise AssertionError(f"end of stream in a line: {buf!r}")
        buf += chunk
    return buf


class Host:
    """The test's side of every channel, one thread each; results in .r."""

    def __init__(self, d, stdout_path, stderr_path, dev_master):
        self.d, self.stdout_path, self.stderr_path = d, stdout_path, stderr_path
        self.dev_master = dev_master
        self.deadline = time.monotonic() + BOOT_TIMEOUT
        self.r, self.errors = {}, []
        self.flood_sock = None
        self.threads = [threading.Thread(target=self.guard, args=(f,), daemon=True)
                        for f in (self.sock, self.flood, self.pty, self.dev)]

    def guard(self, fn):
        try:
            fn()
        except Exception as e:  # reported by the test
            self.errors.append(f"{fn.__name__}: {e!r}")

    def wait_output(self, path, pattern):
        while True:
            m = re.search(pattern, path.read_text(errors="replace"))
            if m:
                return m
            if time.monotonic() > self.deadline:
                raise AssertionError(f"no {pattern!r} in {path}")
            time.sleep(0.1)

    def sock(self):
        # Connect only once the guest is reading: it must see EOF first.
        self.wait_output(self.stdout_path, r"sock-waiting")
        time.sleep(1)
        s = connect(self.d / "chan.sock", self.deadline)
        s.settimeout(5)

        def recv():
            try:
                return s.recv(65536)
            except socket.timeout:
                return None

        s.sendall(b"ping-from-host\n")
        self.r["pong"] = read_line(recv, self.deadline)
        data = os.urandom(MIB)
        self.r["in_md5"] = hashlib.md5(data).hexdigest()
        s.sendall(data)
        got = bytearray()
        while len(got) < MIB:
            chunk = recv()
            if chunk is None:
                assert time.monotonic() < self.deadline, f"got {len(got)} of {MIB}"
                continue
            assert chunk, f"end of stream after {len(got)} bytes"
            got += chunk
            time.sleep(0.002)  # a slow reader: the guest must wait, not drop
        self.r["out_md5"] = hashlib.md5(bytes(got[:MIB])).hexdigest()
        self.r["out_len"] = len(got)
        s.close()  # the guest's cat must see EOF

    def flood(self):
        s = connect(self.d / "flood.sock", self.deadline)
        s.setblocking(False)
        sent = 0
        try:
            while sent < 64 * MIB:
                sent += s.send(b"x" * 65536)
        except BlockingIOError:
            pass
        self.r["flood_sent"] = sent
        self.flood_sock = s  # never read, closed at the end

    def pty(self):
        path = self.wait_output(self.stderr_path,
                                r"org\.test\.pty\) is (/dev/pts/\d+)").group(1)
        self.r["pty_path"] = path
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        self.r["pty_line"] = read_line(lambda: os.read(fd, 4096), self.deadline)
        os.write(fd, b"to-pty\n")
        time.sleep(1)
        os.close(fd)

    def dev(self):
        fd = self.dev_master
        self.r["dev_line"] = read_line(lambda: os.read(fd, 4096), self.deadline)
        os.write(fd, b"to-dev\n")

    def start(self):
        for t in self.threads:
            t.start()

    def join(self, timeout):
        for t in self.threads:
            t.join(max(0.1, self.deadline - time.monotonic() if timeout else 0.1))


@pytest.fixture(scope="module")
def channels_boot(kvm, cove, guest, tmp_path_factory):
    d = tmp_path_factory.mktemp("chan")
    script = d / "script.img"
    body = GUEST_SCRIPT.encode()
    script.write_bytes(body + b"\n" * (4096 - len(body) % 4096))
    master, slave = os.openpty()
    outdir = out_dir("test_channels_boot")
    out, err = outdir / "cove.stdout", outdir / "cove.stderr"
    vc = "hardware=virtio-console"
    argv = [cove, "run", "--mem", "256",
            f"--serial=type=unix-stream,path={d / 'chan.sock'},{vc},name=org.test.sock",
            f"--serial=type=file,path={d / 'chan.out'},{vc},name=org.test.file",
            f"--serial=type=stdout,{vc},name=org.test.stdout",
            f"--serial=type=pty,{vc},name=org.test.pty",
            f"--serial=type=dev,path={os.ttyname(slave)},{vc},name=org.test.dev",
            f"--serial=type=unix-stream,path={d / 'flood.sock'},{vc},name=org.test.flood",
            "--block", f"{script},ro",
            "--initrd", guest.initramfs,
            "--params", guest_cmdline(run="sh /dev/vda"), kernel(guest)]
    host = Host(d, out, err, master)
    with open(out, "wb") as fo, open(err, "wb") as fe:
        p = subprocess.Popen([str(a) for a in argv], stdout=fo, stderr=fe,
                             stdin=subprocess.DEVNULL, start_new_session=True)
    host.start()
    try:
        status = p.wait(timeout=BOOT_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        p.wait()
        status = "timeout"
    host.join(timeout=10)
    if host.flood_sock:
        host.flood_sock.close()
    os.close(master)
    os.close(slave)
    text = out.read_text(errors="replace")
    g = parse_guest(text)

    class Boot:
        pass

    b = Boot()
    b.status, b.out, b.err, b.guest, b.kv, b.host, b.dir = (
        status, text, err.read_text(errors="replace"), g, kv(g.lines), host, d)
    return b


def value(b, key):
    v = b.kv.get(key, [])
    assert len(v) == 1, (key, v, b.guest.lines[-40:])
    return v[0]


def test_boot_ran(channels_boot):
    b = channels_boot
    assert b.guest.ready, b.err[-3000:]
    assert not b.host.errors, (b.host.errors, b.guest.lines[-40:])
    assert b.guest.status == 0, (b.guest, b.err[-2000:])
    assert b.status == 0, b.err[-3000:]


def test_ports_linked_by_name(channels_boot):
    b = channels_boot
    names = set(b.kv.get("port", []))
    assert names == {"org.test.sock", "org.test.file", "org.test.stdout", "org.test.pty",
                     "org.test.dev", "org.test.flood", "org.qemu.guest_agent.0"}, b.guest
    for n in names:
        assert re.fullmatch(r"\.\./vport\d+p\d+", value(b, f"link-{n}")), b.guest


def test_file_and_stdout_channels(channels_boot):
    b = channels_boot
    assert value(b, "file-written") == "yes"
    assert (b.dir / "chan.out").read_text() == "file-says-42\n"
    assert "stdout-channel-says-42" in b.out


def test_unix_stream_open_close_and_data(channels_boot):
    b = channels_boot
    # EOF while no client was connected, data once one was.
    assert int(value(b, "sock-eof-before-client")) > 0, b.guest
    assert value(b, "sock-got") == "ping-from-host"
    assert b.host.r["pong"] == b"pong:ping-from-host\n"
    # 1 MiB each way, nothing lost or reordered under back-pressure.
    assert value(b, "sock-in-md5") == b.host.r["in_md5"]
    assert b.host.r["out_len"] == MIB
    assert value(b, "sock-out-md5") == b.host.r["out_md5"]
    # The client's hang-up reached the guest as an end of file.
    assert value(b, "sock-eof-after-hangup") == "yes"


def test_pty_channel(channels_boot):
    b = channels_boot
    assert b.host.r["pty_line"] == b"pty-says-42\n"  # raw: no \r added
    assert value(b, "pty-got") == "to-pty"


def test_host_terminal_channel(channels_boot):
    b = channels_boot
    assert b.host.r["dev_line"] == b"dev-says-42\n"
    assert value(b, "dev-got") == "to-dev"


def test_flood_stalls_nothing_else(channels_boot):
    b = channels_boot
    # The guest flooded a port nobody read and never read what the host
    # pushed at it; every check above still ran, and the guest ended.
    assert b.host.r.get("flood_sent", 0) > 0
    assert value(b, "flood-killed") == "yes"
