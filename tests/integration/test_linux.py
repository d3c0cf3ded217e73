"""Cove boots Debian's kernel with the busybox test guest (guest/init) on
real KVM, and the guest checks from inside what a user would: CPUs, memory,
command line, power-off, reboot, panic, the serial console both ways."""

import re
import signal
import subprocess
import time

import pytest

from conftest import guest_cmdline, parse_guest

BOOT_TIMEOUT = 180  # seconds; the lab is emulated and noisy (test-lab.md)


def memtotal_kib(lines):
    for line in lines:
        m = re.match(r"MemTotal:\s+(\d+) kB", line)
        if m:
            return int(m.group(1))
    return None


def test_issue_example_two_cpus_512m(run_cove, guest):
    """The README's example line: 2 vCPUs, 512 MiB, COM1 with earlycon."""
    check = ("grep -c ^processor /proc/cpuinfo; grep MemTotal /proc/meminfo; "
             "cat /proc/cmdline; cat /sys/class/tty/ttyS0/type")
    rc, out, err = run_cove(
        ["--log-level=info", "run", "--cpus", "num-cores=2", "--mem", "size=512",
         "--serial=type=stdout,hardware=serial,earlycon,console,stdin,num=1",
         "--initrd", guest.initramfs,
         "--params", "quiet panic=-1", "--params", f'cove_run="{check}"',
         guest.bzimage], timeout=BOOT_TIMEOUT)
    g = parse_guest(out)
    assert g.ready, err
    assert g.status == 0, g
    assert g.lines[0] == "2", g
    kib = memtotal_kib(g.lines)
    assert kib and 400 * 1024 < kib <= 512 * 1024, g
    assert g.lines[2].startswith("console=ttyS0 earlycon=uart8250,io,0x3f8 quiet panic=-1"), g
    assert g.lines[3] == "4", g  # PORT_16550A: the UART model Linux detected
    assert "guest boot marker at" in err
    assert rc == 0, err


def test_one_cpu_128m_console_to_file(run_cove, guest, tmp_path):
    console = tmp_path / "console.log"
    check = "grep -c ^processor /proc/cpuinfo; grep MemTotal /proc/meminfo"
    rc, out, err = run_cove(
        ["run", "--cpus", "1", "--mem", "128",
         f"--serial=type=file,path={console},console",
         "--initrd", guest.initramfs, "--params", guest_cmdline(run=check, console="ttyS0"),
         guest.bzimage], timeout=BOOT_TIMEOUT)
    g = parse_guest(console.read_text(errors="replace"))
    assert g.ready and g.status == 0, g
    assert g.lines[0] == "1", g
    kib = memtotal_kib(g.lines)
    assert kib and 64 * 1024 < kib <= 128 * 1024, g
    assert "COVE-GUEST-READY" not in out  # the console went to the file only
    assert rc == 0, err


@pytest.mark.parametrize("then,status", [("reboot", 32), ("panic", 34)])
def test_guest_end_status(run_cove, guest, then, status):
    rc, out, err = run_cove(
        ["--log-level=info", "run", "--cpus", "2", "--mem", "256", "--initrd", guest.initramfs,
         "--params", guest_cmdline(run="true", then=then), guest.bzimage],
        timeout=BOOT_TIMEOUT)
    assert parse_guest(out).ready, err
    assert rc == status, f"expected {status} after {then}, got {rc}: {err}"


def read_until(stream, marker, timeout):
    """Reads lines from `stream` until one contains `marker`; returns all text."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line.decode(errors="replace"))
        if marker in seen[-1]:
            return "".join(seen)
    pytest.fail(f"no {marker!r} within {timeout} s; output:\n{''.join(seen)[-2000:]}")


def test_shell_gets_stdin_then_sigterm_stops(kvm, cove, guest):
    """Without cove_run the guest starts a shell on ttyS0: input sent to
    Cove's stdin reaches it; then SIGTERM stops Cove cleanly (status 0)."""
    p = subprocess.Popen(
        [cove, "--log-level=info", "run", "--mem", "256", "--initrd", guest.initramfs,
         "--params", guest_cmdline(), guest.bzimage],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        read_until(p.stdout, "COVE-GUEST-READY", BOOT_TIMEOUT)
        time.sleep(1)  # let the shell start; early input would wait in the tty anyway
        p.stdin.write(b"echo shell-says-$((6*7))\n")
        p.stdin.flush()
        read_until(p.stdout, "shell-says-42", 60)
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
    finally:
        p.kill()
    err = p.stderr.read().decode()
    assert "received signal 15" in err
    assert rc == 0, err


@pytest.mark.parametrize("command,status", [("poweroff", 0), ("reboot", 32)])
def test_shell_poweroff_and_reboot(kvm, cove, guest, command, status):
    """`poweroff` and `reboot` typed in the guest's shell (the README's
    quickstart) end Cove with 0 and 32."""
    p = subprocess.Popen(
        [cove, "--log-level=info", "run", "--mem", "256", "--initrd", guest.initramfs,
         "--params", guest_cmdline(), guest.bzimage],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        read_until(p.stdout, "COVE-GUEST-READY", BOOT_TIMEOUT)
        time.sleep(1)
        p.stdin.write(command.encode() + b"\n")
        p.stdin.flush()
        rc = p.wait(timeout=60)
    finally:
        p.kill()
    assert rc == status, p.stderr.read().decode()


def test_pvh_vmlinux_boots(run_cove, guest):
    if not guest.vmlinux.exists():
        pytest.skip("build/guest/vmlinux missing (guest/build-all extracts it)")
    rc, out, err = run_cove(
        ["--log-level=info", "run", "--mem", "256", "--initrd", guest.initramfs,
         "--params", guest_cmdline(run="grep -c ^processor /proc/cpuinfo"), guest.vmlinux],
        timeout=BOOT_TIMEOUT)
    g = parse_guest(out)
    assert "(PVH)" in err
    assert g.ready and g.status == 0 and g.lines == ["1"], (g, err)
    assert rc == 0, err
