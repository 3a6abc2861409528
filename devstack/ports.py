"""Free loopback ports.

Ports are drawn below the kernel's ephemeral range, so that an outgoing connection cannot
take one between the moment it is chosen here and the moment its server binds it; and never
twice from one process.
"""

import random
import socket
from pathlib import Path

LOOPBACK = "127.0.0.1"
LOWEST = 20000
_given: set[int] = set()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port on the loopback address that nothing listens on right now."""
    highest = max(_ephemeral_start() - 1, LOWEST + 1000)
    for _ in range(1000):
        port = random.randint(LOWEST, highest)  # noqa: S311 (not cryptography)
        if port in _given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise OSError(f"no free port on {LOOPBACK} between {LOWEST} and {highest}")
