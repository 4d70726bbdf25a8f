"""Run a module inside a network namespace that has only loopback: `unshare --net -- python -m
tests.offline_run MODULE [ARGS...]`. Brings `lo` up (a fresh namespace has it down), checks that nothing
outside is reachable, then runs MODULE as __main__."""

from __future__ import annotations

import errno
import fcntl
import runpy
import socket
import struct
import sys

from core.imports import leave_out_unused

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14s", b"lo", 0, b"\0" * 14)
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b"\0" * 14))


def assert_isolated() -> None:
    with socket.socket() as s:
        s.settimeout(2)
        try:
            s.connect(("192.0.2.1", 443))  # TEST-NET-1
        except OSError as exc:
            if exc.errno not in (errno.ENETUNREACH, errno.EHOSTUNREACH):
                raise
        else:
            raise SystemExit("offline_run: an outside address is reachable; not in an isolated namespace")


if __name__ == "__main__":
    leave_out_unused()
    loopback_up()
    assert_isolated()
    module, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
