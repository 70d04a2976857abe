"""Waking a running node: from its own process (a thread, a signal) or from a CLI beside it.

The node loop sleeps until its next heartbeat or a frame arrives (each
wake-up costs CPU on every PC of the office, all day). Two things must wake
it sooner:

- another thread of its own process (a window that saved a change, a
  benchmark's command) or a signal (Ctrl-C): `Waker.wake()`, a byte on a
  socket pair, also installable as the signal wakeup fd;
- a CLI that saved a change in the same data dir (`officevault edit` while
  the node runs): one empty UDP datagram to 127.0.0.1 at the port the node
  keeps in its store (`POKE_META`), sent when the CLI closes its store
  after committing. A datagram carries nothing: it only makes the node look
  at the store now instead of at its next heartbeat, so anyone on this PC
  who sends one can cause at most a cheap look (PRAGMA data_version).
"""

from __future__ import annotations

import contextlib
import socket

POKE_META = "node_poke"
LOOPBACK = "127.0.0.1"
MAX_DRAIN = 64


class Waker:
    def __init__(self) -> None:
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind((LOOPBACK, 0))
        self._udp.setblocking(False)
        self.port: int = self._udp.getsockname()[1]
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)

    def sockets(self) -> tuple[socket.socket, socket.socket]:
        """What the loop waits on besides its own sockets."""
        return self._udp, self._read

    @property
    def signal_fd(self) -> int:
        """For `signal.set_wakeup_fd`: a signal wakes the loop."""
        return self._write.fileno()

    def wake(self) -> None:
        """Wake the loop (any thread)."""
        with contextlib.suppress(OSError):  # full: a wake-up is pending anyway
            self._write.send(b"!")

    def drain(self) -> None:
        for sock in (self._udp, self._read):
            for _ in range(MAX_DRAIN):
                try:
                    sock.recv(64)
                except OSError:  # nothing left (BlockingIOError), or an ICMP error
                    break

    def close(self) -> None:
        for sock in (self._udp, self._read, self._write):
            sock.close()


def poke(port: int) -> None:
    """Tell the node listening on 127.0.0.1:`port` to look at its store now (best effort)."""
    if not 0 < port < 65536:
        return
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"", (LOOPBACK, port))
