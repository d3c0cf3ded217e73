"""The host end of Cove's hybrid vsock (reference/protocols.md section 6):
connect to the Unix socket, send "CONNECT <port>\\n", read Cove's
"OK <host port>\\n". Shared by test_vsock.py and bench/net.py."""

import socket
import time


def host_connect(path, port, timeout=240):
    """Connects to the guest's port through Cove; retries until the guest
    listens. Returns (socket, the host port from OK)."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            s.sendall(f"CONNECT {port}\n".encode())
            line = b""
            while not line.endswith(b"\n"):
                b = s.recv(1)
                if not b:
                    break
                line += b
            if line.startswith(b"OK "):
                return s, int(line[3:])
        except OSError:
            pass
        s.close()
        if time.monotonic() > deadline:
            raise TimeoutError(f"guest port {port} never answered")
        time.sleep(0.5)
