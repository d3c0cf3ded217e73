"""The test guest plus host tools: build/guest/tools-initramfs.cpio.gz.

The busybox guest (build/guest/initramfs.cpio.gz) has no socat or iperf3.
Linux unpacks concatenated cpio archives one after the other, so this
appends a second archive carrying the host's own /usr/bin/socat and
/usr/bin/iperf3 (Debian packages, installed by scripts/setup) with the
shared libraries ldd names and the dynamic loader. The guest runs Debian's
kernel and the binaries are this Debian's, so they run there unchanged.
Rebuilt when missing or older than its inputs; written atomically.
"""

import gzip
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOOLS = ("/usr/bin/socat", "/usr/bin/iperf3")


def _libs(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
            libs.append(parts[2])
        elif parts and parts[0].startswith("/"):
            libs.append(parts[0])  # the loader
    return libs


def tools_initramfs(base=None, out=None):
    """Returns the path of the combined archive, building it if needed;
    None when a tool is missing on this host."""
    base = Path(base or REPO / "build" / "guest" / "initramfs.cpio.gz")
    out = Path(out or base.with_name("tools-initramfs.cpio.gz"))
    tools = [t for t in TOOLS if os.path.exists(t)]
    if len(tools) != len(TOOLS) or not base.exists():
        return None
    inputs = [base, *map(Path, tools), Path(__file__)]
    if out.exists() and all(out.stat().st_mtime >= p.stat().st_mtime for p in inputs):
        return out
    files = set(tools)
    for t in tools:
        files.update(_libs(t))
    with tempfile.TemporaryDirectory(dir=out.parent) as stage:
        for f in sorted(files):
            dst = Path(stage) / f.lstrip("/")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(os.path.realpath(f), dst)
        names = sorted(str(p.relative_to(stage)) for p in Path(stage).rglob("*"))
        cpio = subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"],
                              cwd=stage, input="\n".join(names).encode(),
                              capture_output=True, check=True).stdout
    tmp = out.with_name(out.name + f".tmp.{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(base.read_bytes())
        f.write(gzip.compress(cpio, 6))
    os.replace(tmp, out)
    return out


if __name__ == "__main__":
    print(tools_initramfs())
