"""Fixtures for Cove's integration tests (real Linux guests on real KVM).

These tests normally run inside the nested lab (tests/lab/run-suite), where
/dev/kvm is nested KVM; run directly they need a host whose /dev/kvm can boot
Linux. A test that cannot run is skipped with the reason, never passed.

Environment:
  COVE   path of the cove binary (set by `make check`); tests needing it skip
         when it is unset.
  TINY   path of the freestanding tiny guest (build/tiny/tiny.bin).
  COVE_TEST_OUT  where each process's stdout/stderr files go (default
         build/test-output/), kept after the run for debugging.

Fixtures:
  repo      the repository root (pathlib.Path)
  guest     the test guest: .bzimage, .vmlinux, .initramfs, .kernel_version,
            .rootfs (the Debian root image; may be missing: see need_rootfs)
            (built by guest/build-all; the tests skip if it is missing)
  kvm       skips unless /dev/kvm answers KVM_CREATE_VM
  cove      the path of $COVE (skips when unset or not executable)
  run_proc  run_proc(argv, timeout, stdin=None) -> (status, stdout, stderr)
  run_cove  run_cove(args, timeout, stdin=None) -> (status, stdout, stderr),
            i.e. run_proc([$COVE, *args], ...); needs kvm and cove.

Helpers for the guest's init contract (guest/init): guest_cmdline() builds a
kernel command line that runs a command, and parse_guest() reads the console
output back. run_logged() is run_proc's engine, for module-scoped fixtures
that boot one guest for several tests (out_dir() names their folder);
need_rootfs(guest) skips unless build/guest/rootfs.ext4 exists.
"""

import fcntl
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build"

KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01


def kvm_problem():
    """None if /dev/kvm can create a VM, else a reason string."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"/dev/kvm: {e.strerror}"
    try:
        version = fcntl.ioctl(fd, KVM_GET_API_VERSION)
        if version != 12:
            return f"/dev/kvm: API version {version}, expected 12"
        os.close(fcntl.ioctl(fd, KVM_CREATE_VM, 0))
    except OSError as e:
        return f"/dev/kvm: KVM_CREATE_VM: {e.strerror}"
    finally:
        os.close(fd)
    return None


def guest_cmdline(run=None, then=None, console="ttyS0", extra="", quiet=True):
    """A kernel command line for the test guest (see guest/init).

    run: shell command for cove_run (must not contain a double quote);
    then: poweroff (default), reboot, shell or panic;
    console: None leaves console= out (when the VMM adds it, as --serial's
    `console` key does); quiet=False leaves "quiet loglevel=3" out.
    """
    parts = [f"console={console}"] if console else []
    if quiet:
        parts += ["quiet", "loglevel=3"]
    parts.append("panic=-1")
    if extra:
        parts.append(extra)
    if run is not None:
        if '"' in run:
            raise ValueError("cove_run cannot contain a double quote")
        parts.append(f'cove_run="{run}"')
    if then is not None:
        parts.append(f"cove_then={then}")
    return " ".join(parts)


class GuestOutput:
    """What the test guest printed: ready (saw COVE-GUEST-READY), lines (the
    command's output, between the ready line and the status line) and status
    (the int of COVE-RUN-STATUS=, or None)."""

    def __init__(self, ready, lines, status):
        self.ready, self.lines, self.status = ready, lines, status

    def __repr__(self):
        return f"GuestOutput(ready={self.ready}, status={self.status}, lines={self.lines!r})"


def parse_guest(text):
    """Parse console text (CRs from the serial line are dropped). Kernel log
    lines ("[    1.234] ...") are left out of .lines."""
    ready, lines, status = False, [], None
    for line in text.replace("\r", "").split("\n"):
        if line == "COVE-GUEST-READY":
            ready = True
            continue
        m = re.fullmatch(r"COVE-RUN-STATUS=(\d+)", line)
        if m:
            status = int(m.group(1))
            break
        if ready and not re.match(r"\[\s*\d+\.\d+\]", line):
            lines.append(line)
    if lines and lines[-1] == "":
        lines.pop()
    return GuestOutput(ready, lines, status)


def _tail(path, n=20):
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def guest():
    g = BUILD / "guest"

    class Guest:
        bzimage = g / "bzImage"
        vmlinux = g / "vmlinux"
        initramfs = g / "initramfs.cpio.gz"
        rootfs = g / "rootfs.ext4"
        kernel_version = (g / "kernel-version").read_text().strip() \
            if (g / "kernel-version").exists() else None

    for p in (Guest.bzimage, Guest.initramfs):
        if not p.exists():
            pytest.skip(f"{p} missing: run guest/build-all")
    return Guest


def need_rootfs(guest):
    """Skips the test unless the Debian root image was built."""
    if not guest.rootfs.exists():
        pytest.skip(f"{guest.rootfs} missing: guest/build-all builds it "
                    "(debootstrap needs Debian's mirror)")
    return guest.rootfs


@pytest.fixture(scope="session")
def kvm():
    problem = kvm_problem()
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="session")
def cove():
    path = os.environ.get("COVE")
    if not path:
        pytest.skip("COVE is not set (make check sets it)")
    if not os.access(path, os.X_OK):
        pytest.skip(f"COVE={path} is not an executable")
    return path


def out_dir(name):
    """COVE_TEST_OUT/<name> (characters other than word, '.', '-' become
    '_'), created: where a test's process output is kept."""
    base = Path(os.environ.get("COVE_TEST_OUT", BUILD / "test-output"))
    d = base / re.sub(r"[^\w.-]+", "_", name)
    d.mkdir(parents=True, exist_ok=True)
    return d


# How long a process killed for running over its time may take to die. One
# that outlives this is stuck inside the kernel (a KVM_RUN that never
# returns, say): the test fails with its threads' kernel stacks instead of
# waiting on it forever.
KILL_GRACE = 20


def _thread_states(pid):
    """One line a thread of pid: its name, state and kernel wait channel,
    then its kernel stack (readable as root); "" when pid is gone."""
    lines = []
    for task in sorted(Path(f"/proc/{pid}/task").glob("*")):
        try:
            stat = (task / "stat").read_text()
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            state = stat[stat.rindex(")") + 2]
            wchan = (task / "wchan").read_text()
            lines.append(f"  {task.name} {name} {state} wchan={wchan}")
            lines += ["    " + f for f in (task / "stack").read_text().splitlines()]
        except (OSError, ValueError):
            continue
    return "\n".join(lines)


def run_logged(argv, timeout, outdir, name, stdin=None):
    """Runs argv -> (status, stdout, stderr), as run_proc describes, with
    stdout and stderr in outdir/NAME.stdout and outdir/NAME.stderr."""
    out, err = outdir / f"{name}.stdout", outdir / f"{name}.stderr"
    if isinstance(stdin, str):
        stdin = stdin.encode()
    with open(out, "wb") as fo, open(err, "wb") as fe:
        p = subprocess.Popen([str(a) for a in argv], stdout=fo, stderr=fe,
                             stdin=subprocess.PIPE if stdin is not None
                             else subprocess.DEVNULL,
                             start_new_session=True)
        try:
            p.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            threads = _thread_states(p.pid)
            os.killpg(p.pid, signal.SIGKILL)
            try:
                p.wait(timeout=KILL_GRACE)
                stuck = ""
            except subprocess.TimeoutExpired:
                stuck = (f"\nit did not die within {KILL_GRACE} s of SIGKILL "
                         f"(stuck in the kernel); its threads now:\n{_thread_states(p.pid)}")
            pytest.fail(f"{argv[0]} timed out after {timeout} s; its threads then:\n"
                        f"{threads}{stuck}\n"
                        f"stdout tail:\n{_tail(out)}\nstderr tail:\n{_tail(err)}")
    return (p.returncode, out.read_text(errors="replace"),
            err.read_text(errors="replace"))


@pytest.fixture
def run_proc(request):
    """run_proc(argv, timeout, stdin=None) -> (status, stdout, stderr).

    Runs argv in its own session with stdout and stderr in files under
    COVE_TEST_OUT/<test name>/ (NAME.stdout, NAME.stderr, NAME numbered per
    call), stdin from the given str/bytes (or /dev/null). On timeout the whole
    process group is killed and the test fails with the output's tail: it
    never hangs. status is the exit code, or -SIGNAL if killed by a signal.
    """
    outdir = out_dir(request.node.nodeid)
    count = [0]

    def run(argv, timeout, stdin=None):
        count[0] += 1
        return run_logged(argv, timeout, outdir, f"{count[0]}-{Path(str(argv[0])).name}",
                          stdin)

    return run


@pytest.fixture
def run_cove(kvm, cove, run_proc):
    """run_cove(args, timeout, stdin=None) -> (status, stdout, stderr)."""

    def run(args, timeout, stdin=None):
        return run_proc([cove, *args], timeout, stdin)

    return run
