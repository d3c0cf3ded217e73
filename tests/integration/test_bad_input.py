"""Bad user input: one line on stderr naming the problem and what is
expected, a non-zero status, no core dump. Most of these never reach KVM;
the ones that do run where /dev/kvm exists (the lab)."""

import os
import subprocess

import pytest


def run_bad(cove, args, **kw):
    p = subprocess.run([cove, *[str(a) for a in args]], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL, **kw)
    lines = p.stderr.strip().splitlines()
    return p.returncode, lines


def assert_one_line(rc, lines, *needles):
    assert rc != 0 and rc > 0, "must fail with a status, not a signal"
    assert len(lines) == 1, lines
    for n in needles:
        assert n in lines[0], lines


@pytest.fixture
def kernel(guest):
    return guest.bzimage


@pytest.mark.parametrize("args,needles", [
    (["--cpus", "0"], ["--cpus", "1 to 64"]),
    (["--cpus", "num-cores=x"], ["--cpus", "'x'"]),
    (["--cpus", "num-cores=2,bogus=1"], ["--cpus", "bogus"]),
    (["--mem", "size=0"], ["--mem"]),
    (["--mem", "size=99999999999"], ["--mem"]),
    (["--bogus-option"], ["--bogus-option", "cove run --help"]),
    (["--serial", "type=stdout,colour=blue"], ["--serial", "colour", "expected"]),
    (["--serial", "type=file"], ["--serial", "path"]),
    (["--hypervisor", "gunyah"], ["gunyah", "supported: kvm"]),
    (["--protected-vm-without-firmware"], ["protected"]),
])
def test_bad_flags(cove, kernel, args, needles):
    rc, lines = run_bad(cove, ["run", *args, kernel])
    assert_one_line(rc, lines, *needles)


def test_missing_kernel_argument(cove):
    rc, lines = run_bad(cove, ["run", "--mem", "128"])
    assert_one_line(rc, lines, "KERNEL")


def test_kernel_file_missing(run_cove_bad):
    rc, lines = run_cove_bad(["run", "/nonexistent/bzImage"])
    assert_one_line(rc, lines, "kernel", "/nonexistent/bzImage", "No such file")


def test_file_that_is_no_kernel(run_cove_bad, tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(os.urandom(8192))
    rc, lines = run_cove_bad(["run", junk])
    assert_one_line(rc, lines, "not a kernel", "bzImage")


def test_missing_initrd(run_cove_bad, kernel):
    rc, lines = run_cove_bad(["run", "--initrd", "/nonexistent/initrd", kernel])
    assert_one_line(rc, lines, "--initrd", "/nonexistent/initrd")


def test_more_memory_than_host(run_cove_bad, kernel):
    host_mib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1 << 20)
    rc, lines = run_cove_bad(["run", "--mem", str(host_mib * 2), kernel])
    assert_one_line(rc, lines, "--mem", "more than this host")


def test_no_kvm_device(cove, kernel):
    rc, lines = run_bad(cove, ["run", "--hypervisor", "kvm[device=/nonexistent/kvm]", kernel])
    assert_one_line(rc, lines, "/nonexistent/kvm", "KVM is not available")


def test_kvm_device_not_accessible(cove, kernel, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to an unprivileged user")
    dev = tmp_path / "kvm"
    dev.write_bytes(b"")
    os.chmod(dev, 0)
    os.chmod(tmp_path, 0o755)
    rc, lines = run_bad("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                    cove, "run", "--hypervisor", f"kvm[device={dev}]", kernel])
    assert_one_line(rc, lines, str(dev), "permission denied")


def test_not_a_kvm_device(cove, kernel):
    rc, lines = run_bad(cove, ["run", "--hypervisor", "kvm[device=/dev/null]", kernel])
    assert_one_line(rc, lines, "/dev/null")


@pytest.fixture
def run_cove_bad(kvm, cove):
    """Bad input detected after KVM is opened: needs a usable /dev/kvm."""
    return lambda args: run_bad(cove, args)
