"""The lab itself works: /dev/kvm is real KVM, and a reference VMM (QEMU with
KVM) boots the level-2 test guest, which follows its init contract. If these
fail, Cove's own integration tests cannot be trusted either way."""

import fcntl
import os
import shutil

import pytest

from conftest import KVM_CREATE_VM, KVM_GET_API_VERSION, guest_cmdline, parse_guest


def test_kvm_create_vm():
    if not os.path.exists("/dev/kvm"):
        pytest.skip("no /dev/kvm here (run through tests/lab/run-suite)")
    fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    try:
        assert fcntl.ioctl(fd, KVM_GET_API_VERSION) == 12
        vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
        assert vm >= 0
        os.close(vm)
    finally:
        os.close(fd)


def test_qemu_boots_test_guest(kvm, guest, run_proc):
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        pytest.skip("qemu-system-x86_64 not installed (scripts/setup)")
    # One boot checks several parts of the contract: the quoted multi-word
    # command, the modules loaded by init, and the exit status report.
    cmd = ("grep -c ^processor /proc/cpuinfo && "
           "grep -ow ^virtio_pci /proc/modules && exit 7")
    status, out, err = run_proc(
        [qemu, "-enable-kvm", "-M", "q35", "-cpu", "host", "-smp", "2", "-m", "256",
         "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
         "-serial", "stdio", "-kernel", guest.bzimage, "-initrd", guest.initramfs,
         "-append", guest_cmdline(run=cmd)],
        timeout=240)
    g = parse_guest(out)
    assert g.ready, f"no COVE-GUEST-READY; stderr: {err}"
    assert g.lines == ["2", "virtio_pci"], g
    assert g.status == 7, g
    assert status == 0, f"QEMU exited {status} (guest did not power off?): {err}"
