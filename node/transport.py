"""The only module that imports zmq: CurveZMQ links between nodes.

Each node binds one ROUTER socket as a CURVE server and connects one DEALER
(a CURVE client, with its device's X25519 key) to each peer it knows. A
frame sent on our DEALER arrives at the peer's ROUTER, and the peer's reply
goes back through its ROUTER to our DEALER, so one link carries both ways.

Authentication: libzmq asks our ZAP handler (a REP socket at
inproc://zeromq.zap.01, served in our own poll loop, no thread) about every
CURVE handshake; `allow(client_key)` answers from the current membership
log, so a revoked or unknown key is refused at the handshake and a NULL or
PLAIN client never gets past the mechanism check. Frames from a device that
is no longer allowed are dropped too. ZMQ_MAXMSGSIZE refuses an oversized
message before it is read whole. Sends never block: a full queue drops the
frame (anti-entropy resends what matters).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import zmq
from zmq.utils import z85

from node.errors import TransportError
from node.messages import MAX_FRAME, MAX_JOIN_FRAME

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
DOMAIN = b"officevault"
HWM = 1000


@dataclass(frozen=True)
class Link:
    device: bytes
    host: str
    port: int


CURVE_OVERHEAD = 1024  # room for CURVE's framing above the largest message we accept


@dataclass
class Transport:
    box_secret: bytes
    box_public: bytes
    allow: Callable[[bytes], bytes | None]  # client X25519 key -> device id, or None
    active: Callable[[bytes], bool]  # is this device still allowed (not revoked)?
    host: str = "127.0.0.1"
    port: int = 0
    join_port: int | None = None  # an admin node's enrollment endpoint (0: any free port)
    stats: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._ctx = zmq.Context()
        self._zap = self._ctx.socket(zmq.REP)
        self._zap.linger = 0
        self._zap.bind(ZAP_ENDPOINT)
        self._router = self._ctx.socket(zmq.ROUTER)
        self._router.linger = 0
        self._router.curve_server = True
        self._router.curve_secretkey = z85.encode(self.box_secret)
        self._router.curve_publickey = z85.encode(self.box_public)
        self._router.zap_domain = DOMAIN
        self._router.maxmsgsize = MAX_FRAME + CURVE_OVERHEAD
        self._router.sndhwm = HWM
        self._router.router_mandatory = False
        if self.port:
            self._router.bind(f"tcp://{self.host}:{self.port}")
        else:
            self.port = self._router.bind_to_random_port(f"tcp://{self.host}")
        self._dealers: dict[Link, zmq.Socket[bytes]] = {}
        self._links: dict[zmq.Socket[bytes], Link] = {}  # the other way round
        self._opened: dict[Link, float] = {}  # when each link was opened
        self._good: set[Link] = set()  # links whose handshake succeeded (a frame came back)
        self._keys: dict[Link, bytes] = {}  # the server key each link expects
        self._heard: dict[Link, float] = {}  # when each link last delivered a frame
        self._routes: dict[bytes, bytes] = {}  # device id -> ROUTER routing id
        self._poller = zmq.Poller()
        self._watched: set[int] = set()
        self.woken = False  # a watched socket was readable (reset by the caller)
        self._poller.register(self._zap, zmq.POLLIN)
        self._poller.register(self._router, zmq.POLLIN)
        self.join_requests: list[tuple[bytes, bytes]] = []  # (return address, frame)
        self._join: zmq.Socket[bytes] | None = None
        if self.join_port is not None:
            # No CURVE here: the new PC has no key the office knows yet. The invite
            # code's PAKE (node/enrollment.py) authenticates and encrypts instead.
            self._join = self._ctx.socket(zmq.ROUTER)
            self._join.linger = 0
            self._join.maxmsgsize = MAX_JOIN_FRAME
            if self.join_port:
                self._join.bind(f"tcp://{self.host}:{self.join_port}")
            else:
                self.join_port = self._join.bind_to_random_port(f"tcp://{self.host}")
            self._poller.register(self._join, zmq.POLLIN)

    # -- links -------------------------------------------------------------------
    def connect(self, device: bytes, host: str, port: int, server_key: bytes) -> None:
        """Open our DEALER to `device` at host:port, expecting it to hold `server_key`.

        Several candidate links may be open for one address (a static peer
        whose device is unknown is tried with each member's key); the first
        that answers wins and the other candidates are closed.
        """
        link = Link(device, host, port)
        if link in self._dealers:
            return
        dealer = self._ctx.socket(zmq.DEALER)
        dealer.linger = 0
        dealer.curve_serverkey = z85.encode(server_key)
        dealer.curve_publickey = z85.encode(self.box_public)
        dealer.curve_secretkey = z85.encode(self.box_secret)
        dealer.maxmsgsize = MAX_FRAME + CURVE_OVERHEAD
        dealer.sndhwm = HWM
        dealer.reconnect_ivl = 200
        dealer.reconnect_ivl_max = 5000
        dealer.connect(f"tcp://{_bracket(host)}:{port}")
        self._dealers[link] = dealer
        self._links[dealer] = link
        self._opened[link] = time.monotonic()
        self._keys[link] = server_key
        self._poller.register(dealer, zmq.POLLIN)

    def disconnect(self, device: bytes) -> None:
        for link in [k for k in self._dealers if k.device == device]:
            self._close(link)
        self._routes.pop(device, None)

    def _close(self, link: Link) -> None:
        dealer = self._dealers.pop(link)
        self._links.pop(dealer, None)
        self._opened.pop(link, None)
        self._good.discard(link)
        self._keys.pop(link, None)
        self._heard.pop(link, None)
        self._poller.unregister(dealer)
        dealer.close()

    def answered(self, host: str, port: int) -> bool:
        """Did a link to host:port complete its handshake (a frame came back)?"""
        return any((k.host, k.port) == (host, port) for k in self._good)

    def unanswered_since(self, host: str, port: int) -> float | None:
        """When the oldest open, never answered link to host:port was opened (None: none)."""
        times = [t for k, t in self._opened.items()
                 if (k.host, k.port) == (host, port) and k not in self._good]  # fmt: skip
        return min(times, default=None)

    def close_unanswered(self, host: str, port: int) -> None:
        """Close the links to host:port that never answered (libzmq would retry a failing
        CURVE handshake every reconnect interval, for ever)."""
        for link in [k for k in self._dealers if (k.host, k.port) == (host, port)]:
            if link not in self._good:
                self._close(link)
                self.stats["closed_unanswered"] += 1

    def linked(self) -> list[bytes]:
        return sorted({k.device for k in self._good} | set(self._routes))

    def candidates(self) -> list[bytes]:
        """Devices with any open outgoing link (answered or not)."""
        return sorted({k.device for k in self._dealers})

    # -- frames --------------------------------------------------------------------
    def send(self, device: bytes, frame: bytes) -> bool:
        """Queue one frame for `device`; False (and counted) if there is no room or no link."""
        links = [k for k in self._dealers if k.device == device]
        good = [k for k in links if k in self._good]
        route = self._routes.get(device)
        # A link that answered; else every link still trying (a frame waits there until
        # the handshake proves the device, and is never sent to anyone else) and also the
        # peer's own link to us, if it has one (its handshake proved it already).
        sent = queued = False
        for link in good[:1] or links:
            with contextlib.suppress(zmq.ZMQError):
                self._dealers[link].send(frame, zmq.NOBLOCK)
                sent, queued = bool(good), True
        self.stats["sent_bytes"] += len(frame)
        if not sent and route is not None:
            with contextlib.suppress(zmq.ZMQError):
                self._router.send_multipart([route, frame], zmq.NOBLOCK)
                sent = True
        sent = sent or queued
        if not sent:
            self.stats["dropped_sends"] += 1
        return sent

    def reopen_silent(self, now: float, silent_for: float) -> None:
        """Reopen answered links that have been silent too long (libzmq gives up on a
        link after a protocol error, e.g. an oversized message from the peer)."""
        for link in [k for k in self._good if now - self._heard.get(k, now) > silent_for]:
            key = self._keys[link]
            self._close(link)
            self.connect(link.device, link.host, link.port, key)
            self.stats["reopened_links"] += 1

    def watch(self, sock: socket.socket) -> None:
        """Also wake `poll` when `sock` (not a zmq socket) is readable; `woken` tells."""
        self._watched.add(sock.fileno())
        self._poller.register(sock.fileno(), zmq.POLLIN)  # the poller answers with the fd

    def poll(self, timeout_ms: int) -> list[tuple[bytes, bytes]]:
        """Wait up to `timeout_ms` and return (device id, frame) pairs that arrived."""
        out: list[tuple[bytes, bytes]] = []
        for sock, _ in self._poller.poll(timeout_ms):
            if sock in self._watched:
                self.woken = True
            elif sock is self._zap:
                self._answer_zap()
            elif sock is self._join:
                self._drain_join()
            elif sock is self._router:
                self._drain_router(out)
            else:
                self._drain_dealer(sock, out)
        return out

    def _answer_zap(self) -> None:
        for _ in range(64):
            try:
                request = self._zap.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            version, request_id = request[0], request[1] if len(request) > 1 else b""
            device = None
            if len(request) >= 7 and version == b"1.0" and request[5] == b"CURVE":
                key = request[6]
                device = self.allow(key) if len(key) == 32 else None
            if device is None:
                self.stats["refused_handshakes"] += 1
                self._zap.send_multipart([b"1.0", request_id, b"400", b"not allowed", b"", b""])
            else:
                self._zap.send_multipart(
                    [b"1.0", request_id, b"200", b"OK", device.hex().encode(), b""]
                )

    def _drain_join(self) -> None:
        assert self._join is not None
        for _ in range(16):
            try:
                parts = self._join.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(parts) == 2 and len(self.join_requests) < 64:
                self.join_requests.append((parts[0], parts[1]))
            else:
                self.stats["bad_join_frames"] += 1

    def reply_join(self, address: bytes, frame: bytes) -> None:
        if self._join is not None:
            with contextlib.suppress(zmq.ZMQError):
                self._join.send_multipart([address, frame], zmq.NOBLOCK)

    def _drain_router(self, out: list[tuple[bytes, bytes]]) -> None:
        for _ in range(256):
            try:
                parts = self._router.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            if len(parts) != 2:
                self.stats["bad_frame_counts"] += 1
                continue
            try:
                device = bytes.fromhex(str(parts[1].get("User-Id")))
            except (ValueError, zmq.ZMQError):
                self.stats["unauthenticated_frames"] += 1
                continue
            if self.active(device):
                self._routes[device] = parts[0].bytes
                out.append((device, parts[1].bytes))

    def _drain_dealer(self, sock: zmq.Socket[bytes], out: list[tuple[bytes, bytes]]) -> None:
        link = self._links.get(sock)
        for _ in range(256):
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if link is None or len(frames) != 1:
                self.stats["bad_frame_counts"] += 1
                continue
            if self.active(link.device):
                out.append((link.device, frames[0]))
                self._heard[link] = time.monotonic()
        if link is not None and link not in self._good:
            self._good.add(link)
            rivals = [
                k
                for k in self._dealers
                if k != link
                and (k.device == link.device or (k.host, k.port) == (link.host, link.port))
            ]
            for rival in rivals:
                self._close(rival)

    def close(self) -> None:
        for link in list(self._dealers):
            self._close(link)
        if self._join is not None:
            self._join.close()
        self._router.close()
        self._zap.close()
        self._ctx.term()


class JoinLine:
    """The new PC's line to an admin node's enrollment endpoint: one frame out, one back."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.linger = 0
        self._sock.maxmsgsize = MAX_JOIN_FRAME
        self._sock.connect(f"tcp://{_bracket(host)}:{port}")
        self._where = f"{host}:{port}"
        self._timeout_ms = int(timeout * 1000)

    def __call__(self, frame: bytes) -> bytes:
        self._sock.send(frame)
        if not self._sock.poll(self._timeout_ms, zmq.POLLIN):
            raise TransportError(f"no answer from an admin node at {self._where}")
        parts = self._sock.recv_multipart()
        if len(parts) != 1:
            raise TransportError(f"a malformed answer from {self._where}")
        return parts[0]

    def close(self) -> None:
        self._sock.close()
        self._ctx.term()

    def __enter__(self) -> JoinLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host
