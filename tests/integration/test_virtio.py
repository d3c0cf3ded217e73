"""virtio-pci devices seen from inside Debian's kernel: virtio-blk (--block),
virtio-console (--serial ...,hardware=virtio-console), virtio-rng (present
unless --no-rng), and the Debian root image booted from a disk marked root.

Each level-2 boot costs 10-25 s in the lab, so one module-scoped fixture
boots a guest once and several tests read what it reported: the guest's
command prints KEY=VALUE lines (kv() collects them). The host then checks the
disk images themselves (debugfs, e2fsck, bytes at offsets). Bad --block input
needs no guest: Cove must refuse it with one line on stderr.
"""

import fcntl
import hashlib
import os
import select
import shutil
import signal
import subprocess
import time

import pytest

from conftest import guest_cmdline, need_rootfs, out_dir, parse_guest, run_logged

BOOT_TIMEOUT = 180  # seconds; the lab is emulated and noisy (test-lab.md)
MIB = 1 << 20
VIRTIO_VENDOR = 0x1AF4
VIRTIO_BLK, VIRTIO_CONSOLE, VIRTIO_RNG = 0x1042, 0x1043, 0x1044  # modern IDs (0x1040 + type)

# Guest-side checks, one shell statement each, joined with "; " into cove_run
# (no double quote may appear: the kernel would end the value there).
PCI_CHECK = ("for p in /sys/bus/pci/devices/*; do "
             "echo pci=$(cat $p/vendor),$(cat $p/device),$(cat $p/revision); done")
RNG_CHECK = "echo rng-current=$(cat /sys/class/misc/hw_random/rng_current)"

# The block boot: vda = data.img (ext4, id=data0), vdb = raw.img, vdc = ro.img (ext4, ro).
RAW_READ_SECTOR, RAW_WRITE_SECTOR = 2048, 4096
RAW_WRITTEN = b"cove-raw-write\n"
DATA_WRITTEN = "hello-from-cove-42"  # computed in the guest: $((6*7))
BLK_CHECK = "; ".join([
    "for d in vda vdb vdc; do echo $d-size=$(cat /sys/block/$d/size); "
    "echo $d-ro=$(cat /sys/block/$d/ro); done",
    "echo vda-serial=$(cat /sys/block/vda/serial)",
    "mkdir -p /data /ro",
    "mount -t ext4 /dev/vda /data && echo data-read=$(cat /data/before.txt) && "
    "echo hello-from-cove-$((6*7)) >/data/dir/hello.txt && sync && umount /data && "
    "echo data-written=yes",
    f"echo vdb-md5=$(dd if=/dev/vdb bs=512 skip={RAW_READ_SECTOR} count=8 2>/dev/null | "
    "md5sum | cut -d' ' -f1)",
    f"echo {RAW_WRITTEN.decode().strip()} | dd of=/dev/vdb bs=512 seek={RAW_WRITE_SECTOR} conv=sync,fsync "
    "2>/dev/null && echo vdb-written=yes",
    "mount -t ext4 -o ro /dev/vdc /ro && echo ro-read=$(cat /ro/hello.txt) && umount /ro",
    "dd if=/dev/zero of=/dev/vdc bs=512 count=1 conv=fsync 2>/dev/null && "
    "echo ro-raw-write=accepted || echo ro-raw-write=refused",
    RNG_CHECK,
    "echo rng-bytes=$(timeout 20 dd if=/dev/hwrng bs=16 count=1 2>/dev/null | "
    "od -An -tx1 | tr -d ' \\n')",
    PCI_CHECK,
])

# The Debian root image (rootfs.ext4, booted through guest/init's root mode
# into /sbin/cove-init), with --no-rng.
ROOT_WRITTEN = "cove-root-was-here"
ROOT_CHECK = "; ".join([
    "echo debian=$(cat /etc/debian_version)",
    "echo pid1=$(cat /proc/1/comm)",
    "echo root-source=$(findmnt -no SOURCE /)",
    "echo root-fstype=$(findmnt -no FSTYPE /)",
    "echo root-mode=$(findmnt -no OPTIONS / | cut -d, -f1)",
    "echo modinfo=$(modinfo -F name virtio_blk)",
    "for t in socat fio iperf3 qemu-ga lspci; do command -v $t >/dev/null || "
    "echo missing-tool=$t; done",
    f"echo {ROOT_WRITTEN} >/root/cove-root-test.txt && sync && echo root-written=yes",
    RNG_CHECK,
    PCI_CHECK,
])

# virtio-console as the console (hvc0), COM1 as earlycon into a file.
CONSOLE_CHECK = "; ".join([
    "dmesg -n 1",  # the boot was verbose for earlycon; quiet from here on
    "for c in $(cut -d' ' -f1 /proc/consoles); do echo console=$c; done",
    "echo console-active=$(cat /sys/class/tty/console/active)",
    PCI_CHECK,
])


def kv(lines):
    """KEY=VALUE lines -> {KEY: [VALUE, ...]} (other lines are ignored)."""
    d = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key and " " not in key:
            d.setdefault(key, []).append(value)
    return d


def one(d, key):
    """The single value of KEY in a kv() dict, or None."""
    values = d.get(key, [])
    assert len(values) <= 1, (key, values)
    return values[0] if values else None


def virtio_pci(d):
    """The virtio functions a kv() dict lists: [(device, revision), ...]."""
    found = []
    for v in d.get("pci", []):
        vendor, device, revision = (int(x, 16) for x in v.split(","))
        if vendor == VIRTIO_VENDOR:
            found.append((device, revision))
    return found


def assert_modern(d, expected):
    """The guest's virtio PCI functions: as many of each device ID as
    `expected` ({device ID: count}) says (other types, such as a balloon, may
    be there too), and every one modern (non-transitional: ID 0x1040 + type,
    revision >= 1)."""
    found = virtio_pci(d)
    ids = [f"{dev:#x} rev {rev}" for dev, rev in found]
    for dev, count in expected.items():
        assert sum(1 for x, _ in found if x == dev) == count, (f"{dev:#x} x{count}", ids)
    for dev, rev in found:
        assert dev >= 0x1040 and rev >= 1, f"not a modern virtio device: {ids}"


def kernel(guest):
    """The PVH vmlinux when built (no decompression: seconds saved per boot)."""
    return guest.vmlinux if guest.vmlinux.exists() else guest.bzimage


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mkfs_ext4(img, mib, files):
    """A sparse MIB MiB ext4 image holding `files` ({relative path: text})."""
    tree = img.parent / (img.name + ".tree")
    for rel, text in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text)
    with open(img, "wb") as f:
        f.truncate(mib * MIB)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", tree, img], check=True)
    shutil.rmtree(tree)


def debugfs_cat(img, path):
    p = subprocess.run(["debugfs", "-R", f"cat {path}", img], capture_output=True,
                       text=True, check=True)
    return p.stdout


def assert_fsck_clean(img):
    """img was unmounted cleanly and is consistent. e2fsck -fn alone is not
    enough: it skips the journal of a file system that was never unmounted
    (needs_recovery) and still exits 0, only printing "Fix? no" for the
    summary counts; so the superblock is read too."""
    p = subprocess.run(["dumpe2fs", "-h", img], capture_output=True, text=True)
    assert p.returncode == 0, f"dumpe2fs -h {img}: {p.stderr}"
    features = next((line for line in p.stdout.splitlines()
                     if line.startswith("Filesystem features:")), "")
    assert "needs_recovery" not in features.split(), f"{img} was not unmounted: {features}"
    p = subprocess.run(["e2fsck", "-fn", img], capture_output=True, text=True)
    report = f"e2fsck -fn {img}: status {p.returncode}\n{p.stdout}{p.stderr}"
    assert p.returncode == 0 and "Fix?" not in p.stdout, report


def no_dac_override():
    """A command prefix under which file permissions bind even for root, so
    that mode 0444 means read-only (root otherwise writes anything): setpriv
    dropping CAP_DAC_OVERRIDE. Empty for other users."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) missing: cannot drop CAP_DAC_OVERRIDE")
    return ["setpriv", "--inh-caps=-dac_override", "--bounding-set=-dac_override"]


class Boot:
    """One guest run: status, stdout, stderr, the parsed console (.guest),
    its KEY=VALUE lines (.kv), and the files the test made (.files)."""

    def __init__(self, status, out, err, files):
        self.status, self.out, self.err, self.files = status, out, err, files
        self.guest = parse_guest(out)
        self.kv = kv(self.guest.lines)

    def value(self, key):
        return one(self.kv, key)

    def assert_ran(self):
        assert self.guest.ready, f"no COVE-GUEST-READY; stderr:\n{self.err[-3000:]}"
        assert self.guest.status == 0, self.guest
        assert self.status == 0, f"cove exited {self.status}: {self.err[-3000:]}"


# ---- virtio-blk with the initramfs guest, and virtio-rng: one boot ----

@pytest.fixture(scope="module")
def blk_boot(kvm, cove, guest, tmp_path_factory):
    d = tmp_path_factory.mktemp("blk")
    data, raw, ro = d / "data.img", d / "raw.img", d / "ro.img"
    mkfs_ext4(data, 64, {"before.txt": "written-by-host\n", "dir/.keep": ""})
    with open(raw, "wb") as f:
        f.truncate(32 * MIB)
        f.seek(RAW_READ_SECTOR * 512)
        f.write(os.urandom(4096))
    mkfs_ext4(ro, 16, {"hello.txt": "read-only-hello\n"})
    os.chmod(ro, 0o444)
    files = {"data": data, "raw": raw, "ro": ro, "ro_sha256": sha256(ro)}
    # ro.img is mode 0444 and Cove runs without CAP_DAC_OVERRIDE: `ro` must
    # open it read-only.
    argv = [*no_dac_override(), cove, "run", "--mem", "256",
            "--block", f"{data},id=data0", "--block", raw, "--block", f"{ro},ro",
            "--initrd", guest.initramfs, "--params", guest_cmdline(run=BLK_CHECK),
            kernel(guest)]
    return Boot(*run_logged(argv, BOOT_TIMEOUT, out_dir("test_virtio-blk_boot"), "cove"),
                files)


def test_blk_guest_ran(blk_boot):
    blk_boot.assert_ran()


def test_blk_ext4_written_in_guest_found_on_host(blk_boot):
    b = blk_boot
    assert b.value("data-read") == "written-by-host", b.guest
    assert b.value("data-written") == "yes", b.guest
    assert debugfs_cat(b.files["data"], "/dir/hello.txt") == DATA_WRITTEN + "\n"
    assert_fsck_clean(b.files["data"])


def test_blk_disks_named_in_order_with_sizes(blk_boot):
    b = blk_boot
    sizes = {d: b.value(f"{d}-size") for d in ("vda", "vdb", "vdc")}
    assert sizes == {"vda": str(64 * 2048), "vdb": str(32 * 2048), "vdc": str(16 * 2048)}, \
        b.guest


def test_blk_raw_read_and_write(blk_boot):
    b = blk_boot
    raw = b.files["raw"].read_bytes()
    start = RAW_READ_SECTOR * 512
    assert b.value("vdb-md5") == hashlib.md5(raw[start:start + 4096]).hexdigest(), b.guest
    assert b.value("vdb-written") == "yes", b.guest
    start = RAW_WRITE_SECTOR * 512
    assert raw[start:start + 512] == RAW_WRITTEN + bytes(512 - len(RAW_WRITTEN))


def test_blk_ro_disk_refuses_writes(blk_boot):
    b = blk_boot
    assert b.value("vdc-ro") == "1", b.guest
    assert b.value("vda-ro") == "0" and b.value("vdb-ro") == "0", b.guest
    assert b.value("ro-read") == "read-only-hello", b.guest
    assert b.value("ro-raw-write") == "refused", b.guest
    assert sha256(b.files["ro"]) == b.files["ro_sha256"], "ro.img changed"


def test_blk_id_is_the_serial(blk_boot):
    assert blk_boot.value("vda-serial") == "data0", blk_boot.guest


def test_rng_gives_bytes(blk_boot):
    b = blk_boot
    assert (b.value("rng-current") or "").startswith("virtio_rng"), b.guest
    data = b.value("rng-bytes") or ""
    assert len(data) == 32 and data != "0" * 32, b.guest


def test_pci_ids_are_modern(blk_boot):
    assert_modern(blk_boot.kv, {VIRTIO_BLK: 3, VIRTIO_RNG: 1})


# ---- the Debian root image, booted read-write from a copy; --no-rng ----

@pytest.fixture(scope="module")
def root_boot(kvm, cove, guest, tmp_path_factory):
    image = need_rootfs(guest)
    d = tmp_path_factory.mktemp("root")
    root = d / "root.ext4"
    subprocess.run(["cp", "--sparse=always", image, root], check=True)
    argv = [cove, "run", "--mem", "256", "--no-rng", "--block", f"{root},root",
            "--initrd", guest.initramfs,
            "--params", guest_cmdline(run=ROOT_CHECK, extra="init=/sbin/cove-init"),
            kernel(guest)]
    return Boot(*run_logged(argv, BOOT_TIMEOUT, out_dir("test_virtio-root_boot"), "cove"),
                {"root": root})


def test_root_boots_debian(root_boot):
    b = root_boot
    b.assert_ran()
    assert (b.value("debian") or "").startswith("12."), b.guest
    assert b.value("pid1") == "cove-init", b.guest
    assert b.value("root-source") == "/dev/vda", b.guest
    assert b.value("root-fstype") == "ext4", b.guest
    assert b.value("root-mode") == "rw", b.guest
    assert b.value("modinfo") == "virtio_blk", b.guest
    assert "missing-tool" not in b.kv, b.guest


def test_root_image_clean_after_poweroff(root_boot):
    b = root_boot
    assert b.value("root-written") == "yes", b.guest
    assert debugfs_cat(b.files["root"], "/root/cove-root-test.txt") == ROOT_WRITTEN + "\n"
    assert_fsck_clean(b.files["root"])


def test_no_rng_means_no_virtio_rng(root_boot):
    b = root_boot
    assert not (b.value("rng-current") or "").startswith("virtio_rng"), b.guest
    assert_modern(b.kv, {VIRTIO_BLK: 1, VIRTIO_RNG: 0})


# ---- virtio-console: hvc0 is the console, both ways; COM1 has earlycon ----

def read_until(fd, marker, timeout, seen, start=0):
    """Appends what fd gives to seen (a bytearray) until marker is in it at
    or after offset start; returns the offset just past the marker. Raises
    AssertionError after timeout seconds or at end of file."""
    deadline = time.monotonic() + timeout
    while seen.find(marker, start) < 0:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no {marker!r} within {timeout} s; output:\n"
                                 f"{seen[-3000:].decode(errors='replace')}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"end of output before {marker!r}:\n"
                                 f"{seen[-3000:].decode(errors='replace')}")
        seen += chunk
    return seen.find(marker, start) + len(marker)


def stop(p):
    """Kills p's process group if p still runs; waits for p."""
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()


@pytest.fixture(scope="module")
def console_boot(kvm, cove, guest, tmp_path_factory):
    d = tmp_path_factory.mktemp("console")
    com1 = d / "com1.log"
    outdir = out_dir("test_virtio-console_boot")
    # Not quiet: the early kernel messages must reach COM1 through earlycon.
    params = guest_cmdline(run=CONSOLE_CHECK, then="shell", console=None, quiet=False,
                           extra="loglevel=6")
    argv = [cove, "run", "--mem", "256",
            "--serial=type=stdout,hardware=virtio-console,console,stdin,num=1",
            f"--serial=type=file,path={com1},hardware=serial,earlycon,num=1",
            "--initrd", guest.initramfs, "--params", params, kernel(guest)]
    seen = bytearray()
    err = outdir / "cove.stderr"
    with open(err, "wb") as ferr:
        p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=ferr, start_new_session=True)
    try:
        fd = p.stdout.fileno()
        at = read_until(fd, b"COVE-RUN-STATUS=", BOOT_TIMEOUT, seen)
        read_until(fd, b"\n", 10, seen, at)
        time.sleep(1)  # the shell starts on hvc0; earlier input waits in the tty anyway
        p.stdin.write(b"echo hvc-says-$((6*7))\n")
        p.stdin.flush()
        at = read_until(fd, b"hvc-says-42", 60, seen)
        # The whole line first: the echo of the next input could land in it.
        read_until(fd, b"\n", 10, seen, at)
        p.stdin.write(b"exit\n")  # the shell ends, init powers off
        p.stdin.close()
        status = p.wait(timeout=60)
        seen += p.stdout.read()
    except (AssertionError, OSError, subprocess.TimeoutExpired) as e:
        stop(p)
        pytest.fail(f"{e}\nstderr:\n{err.read_text(errors='replace')[-3000:]}")
    finally:
        stop(p)
        (outdir / "cove.stdout").write_bytes(seen)
    return Boot(status, seen.decode(errors="replace"), err.read_text(errors="replace"),
                {"com1": com1})


def test_console_on_hvc0_both_ways(console_boot):
    b = console_boot
    b.assert_ran()
    assert "hvc0" in b.kv.get("console", []), b.guest
    assert b.value("console-active") == "hvc0", b.guest
    # The command ran, then the shell read what Cove's stdin gave it.
    assert "hvc-says-42" in b.out.replace("\r", "").split("\n"), b.out[-2000:]


def test_console_earlycon_on_com1(console_boot):
    com1 = console_boot.files["com1"].read_text(errors="replace")
    assert "Linux version" in com1, com1[-2000:]
    assert "COVE-GUEST-READY" not in com1  # init's output went to hvc0 only


def test_console_pci_id(console_boot):
    assert_modern(console_boot.kv, {VIRTIO_CONSOLE: 1, VIRTIO_RNG: 1})


# ---- bad --block input: one line on stderr, non-zero status, no guest ----

def run_bad(cove, guest, args, prefix=()):
    """Runs `cove run ARGS` with a guest that would power off at once if Cove
    wrongly accepted ARGS -> (status, stderr lines)."""
    argv = [*prefix, cove, "run", "--mem", "128", *args, "--initrd", guest.initramfs,
            "--params", guest_cmdline(run="true"), kernel(guest)]
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       timeout=BOOT_TIMEOUT, stdin=subprocess.DEVNULL)
    return p.returncode, p.stderr.strip().splitlines()


def assert_one_line(rc, lines, *needles):
    """Failed with a status (not a signal), one stderr line holding every
    needle; a needle that is a tuple needs any one of its strings. Case is
    ignored."""
    assert rc > 0, f"must fail with a status, got {rc}: {lines}"
    assert len(lines) == 1, lines
    line = lines[0].lower()
    for n in needles:
        alternatives = n if isinstance(n, tuple) else (n,)
        assert any(a.lower() in line for a in alternatives), (n, lines[0])


@pytest.fixture
def disk(tmp_path):
    img = tmp_path / "disk.img"
    with open(img, "wb") as f:
        f.truncate(8 * MIB)
    return img


def test_block_missing_file(kvm, cove, guest, tmp_path):
    missing = tmp_path / "nonexistent" / "disk.img"
    rc, lines = run_bad(cove, guest, ["--block", missing])
    assert_one_line(rc, lines, str(missing), "no such file")


def test_block_directory(kvm, cove, guest, tmp_path):
    rc, lines = run_bad(cove, guest, ["--block", tmp_path])
    assert_one_line(rc, lines, str(tmp_path), "directory")


@pytest.mark.parametrize("suffix,needles", [
    (",bogus=1", ["--block", "bogus"]),
    (",id=" + "x" * 21, ["--block", "id"]),
    (",ro=maybe", ["--block", "maybe"]),
])
def test_block_bad_keys(cove, guest, disk, suffix, needles):
    rc, lines = run_bad(cove, guest, ["--block", f"{disk}{suffix}"])
    assert_one_line(rc, lines, *needles)


def test_block_two_roots(cove, guest, disk, tmp_path):
    other = tmp_path / "other.img"
    shutil.copy(disk, other)
    rc, lines = run_bad(cove, guest, ["--block", f"{disk},root", "--block", f"{other},root"])
    assert_one_line(rc, lines, "root")


def test_block_locked_by_another_process(kvm, cove, guest, disk):
    with open(disk, "rb+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        rc, lines = run_bad(cove, guest, ["--block", disk])
    assert_one_line(rc, lines, str(disk), "lock")


def test_block_locked_by_another_cove(kvm, cove, guest, disk, tmp_path):
    """A second Cove on a writable disk that a running Cove has open fails.
    The first runs until its guest is up (its disks are open by then)."""
    with open(tmp_path / "first.stderr", "wb") as ferr:
        first = subprocess.Popen(
            [str(a) for a in [cove, "run", "--mem", "128", "--block", disk, "--initrd",
                              guest.initramfs, "--params", guest_cmdline(run="sleep 600"),
                              kernel(guest)]],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=ferr,
            start_new_session=True)
    try:
        try:
            read_until(first.stdout.fileno(), b"COVE-GUEST-READY", BOOT_TIMEOUT, bytearray())
        except AssertionError as e:
            pytest.fail(f"the first Cove: {e}\nstderr:\n"
                        f"{(tmp_path / 'first.stderr').read_text(errors='replace')[-3000:]}")
        rc, lines = run_bad(cove, guest, ["--block", disk])
    finally:
        stop(first)
    assert_one_line(rc, lines, str(disk), "lock")


def test_block_read_only_file_without_ro(kvm, cove, guest, disk):
    os.chmod(disk, 0o444)
    rc, lines = run_bad(cove, guest, ["--block", disk], prefix=no_dac_override())
    assert_one_line(rc, lines, str(disk), ("permission denied", "read-only"))
