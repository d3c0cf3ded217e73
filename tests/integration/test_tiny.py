"""Cove on KVM with the tiny PVH guest (tests/tiny/tiny.S): VM creation,
the PVH entry, the UART, the boot marker, every way a VM ends, SIGTERM,
stdin, and the terminal left as it was. The tiny guest runs in milliseconds,
so these run many VMs cheaply."""

import os
import signal
import subprocess
import termios
import time

import pytest


@pytest.fixture(scope="session")
def tiny():
    path = os.environ.get("TINY")
    if not path or not os.path.exists(path):
        pytest.skip("TINY is not set or missing (make check builds build/tiny/tiny.elf)")
    return path


def tiny_args(tiny, mode, *extra):
    """Arguments of `cove run` for the tiny guest acting on `mode` (tiny.S)."""
    return ["--log-level=info", "run", *extra, "--params", f"tiny={mode}", tiny]


@pytest.mark.parametrize("mode,status,log", [
    ("p", 0, "power-off"),
    ("r", 32, "reset"),
    ("t", 32, "triple fault"),
    ("k", 34, "panic"),
])
def test_tiny_exit_statuses(run_cove, tiny, mode, status, log):
    rc, out, err = run_cove(tiny_args(tiny, mode, "--cpus", "2"), timeout=60)
    assert "TINY: hello from the tiny guest" in out
    assert "guest boot marker at" in err
    assert "vCPU 0: first run" in err
    assert log in err
    assert rc == status, err


def test_tiny_immediate_reset_never_hangs(run_cove, tiny):
    # A guest that resets in its first instant, with a second vCPU parked in
    # the kernel waiting for SIPI: the stop must reach both vCPUs every time.
    for _ in range(20):
        rc, out, err = run_cove(tiny_args(tiny, "r", "--cpus", "2"), timeout=30)
        assert rc == 32, err


def test_tiny_serial_to_file(run_cove, tiny, tmp_path):
    log = tmp_path / "com1.log"
    rc, out, err = run_cove(
        tiny_args(tiny, "p", f"--serial=type=file,path={log},hardware=serial,num=1,console"),
        timeout=60)
    assert rc == 0, err
    assert "TINY: hello" in log.read_text()
    assert "TINY" not in out


def test_tiny_sink_discards(run_cove, tiny):
    rc, out, err = run_cove(tiny_args(tiny, "p", "--serial", "type=sink,console"), timeout=60)
    assert rc == 0, err
    assert out == ""


def test_tiny_stdin_reaches_guest(run_cove, tiny):
    # More than a 16-byte FIFO's worth, so Cove's back-pressure is exercised;
    # no "q" inside, since "q" is what ends the echo.
    text = "abcdefghijklmnoprstuvwxyz0123456789" * 4
    rc, out, err = run_cove(tiny_args(tiny, "e"), timeout=60, stdin=text + "q")
    assert rc == 0, err
    assert "TINY: echo ready" in out
    assert text in out


@pytest.mark.parametrize("mode", [
    "h",  # both vCPUs halted: KVM_RUN waits in the kernel
    "l",  # vCPU 0 spins in the guest and never exits on its own
])
def test_tiny_sigterm_stops_cleanly(kvm, cove, tiny, mode):
    p = subprocess.Popen([cove, *tiny_args(tiny, mode, "--cpus", "2")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = p.stdout.readline()
        assert b"TINY: hello" in line
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=20)
    finally:
        p.kill()
    err = p.stderr.read().decode()
    assert rc == 0, err
    assert "received signal 15" in err


def test_tiny_terminal_restored(kvm, cove, tiny):
    """With stdin a terminal Cove makes it raw, and restores it on exit:
    after a normal power-off and after SIGTERM."""
    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        for mode, stop in (("p", None), ("h", signal.SIGTERM)):
            p = subprocess.Popen([cove, *tiny_args(tiny, mode)], stdin=slave,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if stop:
                assert b"TINY: hello" in p.stdout.readline()
                time.sleep(0.2)
                during = termios.tcgetattr(slave)
                assert not during[3] & termios.ICANON, "not raw while running"
                p.send_signal(stop)
            assert p.wait(timeout=20) == 0, p.stderr.read()
            assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_tiny_pvh_state(run_cove, tiny):
    # Entered through the PVH note, not the bzImage path.
    rc, out, err = run_cove(tiny_args(tiny, "p"), timeout=60)
    assert rc == 0
    assert "(PVH)" in err
