"""node.transport (and node.runner over it): CurveZMQ links on 127.0.0.1 with real device keys.

Threats covered (SECURITY_TESTS 14, 17, 19, 20; DESIGN I-3, I-5):
- a client whose CURVE key no membership record names, one claiming an
  enrolled device's public key without its secret, a NULL (no security) and a
  PLAIN client: each fails the handshake and gets no frame through;
- random bytes, an HTTP request, a TLS hello and damaged ZMTP greetings sent
  to the port by a plain TCP client: dropped, the node keeps serving its peer;
- a frame over MAX_FRAME is refused (ZMQ_MAXMSGSIZE) and the link recovers;
- a device no longer allowed has its frames dropped on a live link and its
  next handshake refused; with real nodes, a revocation made by an admin
  reaches every online peer within a gossip round, the revoked node stops,
  and the others cut it off;
- the admin node's plain join endpoint takes raw bytes and floods without
  harm to the sync port and holds a bounded number of requests.

Every wait polls with a deadline of a few seconds; nothing sleeps. zmq is
imported here only to build hostile clients (tests/test_layout.py restricts
the source packages, not the tests).
"""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

import pytest
import zmq
from zmq.utils import z85
from zmq.utils.monitor import recv_monitor_message

from node.messages import MAX_FRAME
from node.office import Office
from node.runner import Node, PeerAddress
from node.sync import HEARTBEAT, PRESENCE
from node.transport import CURVE_OVERHEAD, Transport
from node.vault import Vault
from tests.node.vault_kit import PROFILE, T0, opened, pw, replicas

HOST = "127.0.0.1"
WAIT = 5.0  # seconds: the most any wait below may take before the test fails
RECOVER = 4.0  # seconds a link may take to come back (reconnect_ivl is 0.2 s)
SILENT = 1.0  # seconds of silence after which the test's links are reopened

Socket = zmq.Socket[bytes]
Context = zmq.Context[Socket]


@dataclass(frozen=True)
class Device:
    device: bytes
    secret: bytes
    public: bytes


@pytest.fixture(scope="module")
def devices(office: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Device]:
    """Each device's id and X25519 (CURVE) key pair, read from its keystore."""
    with opened(replicas(office, tmp_path_factory.mktemp("keys"))) as vaults:
        return {
            name: Device(
                v.office.identity.device_id,
                v.office.identity.box.secret,
                v.office.identity.box.public,
            )
            for name, v in vaults.items()
        }


@dataclass
class AllowList:
    """What the membership log says, as a transport asks it; the test edits it."""

    keys: dict[bytes, bytes]  # X25519 public key -> device id
    revoked: set[bytes] = field(default_factory=set)
    dropped: Counter[bytes] = field(default_factory=Counter)  # active() said no, per device

    def allow(self, key: bytes) -> bytes | None:
        device = self.keys.get(key)
        return None if device is None or device in self.revoked else device

    def active(self, device: bytes) -> bool:
        if device in self.keys.values() and device not in self.revoked:
            return True
        self.dropped[device] += 1
        return False


class Wire:
    """Transports polled in turn, and every frame each has handed up so far."""

    def __init__(self, transports: dict[str, Transport]) -> None:
        self.transports = transports
        self.inbox: dict[str, list[tuple[bytes, bytes]]] = {n: [] for n in transports}

    def pump(self, until: Callable[[], bool], seconds: float = WAIT) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            for name, transport in self.transports.items():
                self.inbox[name] += transport.poll(5)
                # as the node loop does (there with 3 x PRESENCE): reopen links gone silent
                transport.reopen_silent(time.monotonic(), SILENT)
            if until() or time.monotonic() > deadline:
                return until()

    def frames(self, name: str) -> list[bytes]:
        return [frame for _, frame in self.inbox[name]]

    def round_trip(self, marker: bytes, devices: dict[str, Device]) -> None:
        """bob and alice each send `marker` to the other until both have arrived.

        Both keep sending, as heartbeats do: after a reconnect, alice's route
        to bob is only fresh once bob has spoken on the new connection.
        """
        wanted = {
            dst: (devices[src].device, marker + b"-" + src.encode())
            for src, dst in (("bob", "alice"), ("alice", "bob"))
        }

        def arrived() -> bool:
            return all(w in self.inbox[dst] for dst, w in wanted.items())

        for _ in range(int(RECOVER / 0.1)):
            for dst, (_, frame) in wanted.items():
                src = "alice" if dst == "bob" else "bob"
                self.transports[src].send(devices[dst].device, frame)
            if self.pump(arrived, 0.1):
                return
        missing = [dst for dst, w in wanted.items() if w not in self.inbox[dst]]
        raise AssertionError(f"the link did not recover: nothing reached {missing}")


@dataclass
class Pair:
    wire: Wire
    alice: Transport
    bob: Transport
    lists: dict[str, AllowList]


@pytest.fixture
def pair(devices: dict[str, Device]) -> Iterator[Pair]:
    """alice's transport (the server, with an admin's join endpoint), and bob's linked to it."""
    lists = {
        name: AllowList({d.public: d.device for n, d in devices.items() if n != name})
        for name in ("alice", "bob")
    }
    a, b = devices["alice"], devices["bob"]
    alice = Transport(
        a.secret, a.public, lists["alice"].allow, lists["alice"].active, HOST, join_port=0
    )
    try:
        bob = Transport(b.secret, b.public, lists["bob"].allow, lists["bob"].active, HOST)
    except BaseException:
        alice.close()
        raise
    try:
        bob.connect(a.device, HOST, alice.port, a.public)
        yield Pair(Wire({"alice": alice, "bob": bob}), alice, bob, lists)
    finally:
        bob.close()
        alice.close()


# -- the real link ------------------------------------------------------------------------------


def test_frames_flow_both_ways_over_one_link(pair: Pair, devices: dict[str, Device]) -> None:
    a, b = devices["alice"].device, devices["bob"].device
    assert pair.bob.send(a, b"hello alice")
    assert pair.wire.pump(lambda: (b, b"hello alice") in pair.wire.inbox["alice"])
    assert pair.alice.candidates() == []  # alice answers on the link bob opened
    assert pair.alice.send(b, b"hello bob")
    assert pair.wire.pump(lambda: (a, b"hello bob") in pair.wire.inbox["bob"])
    assert pair.alice.linked() == [b] and pair.bob.linked() == [a]
    for i in range(20):  # order is kept on the link
        pair.bob.send(a, b"%d" % i)
    assert pair.wire.pump(lambda: len(pair.wire.inbox["alice"]) == 21)
    assert pair.wire.frames("alice")[1:] == [b"%d" % i for i in range(20)]
    assert pair.alice.stats["refused_handshakes"] == 0


# -- hostile clients ---------------------------------------------------------------------------

HANDSHAKE_FAILED = {
    zmq.EVENT_HANDSHAKE_FAILED_AUTH,
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
    zmq.EVENT_DISCONNECTED,
}


def _curve(server: Device, public: bytes, secret: bytes) -> Callable[[Socket], None]:
    def configure(sock: Socket) -> None:
        sock.curve_serverkey = z85.encode(server.public)
        sock.curve_publickey = z85.encode(public)
        sock.curve_secretkey = z85.encode(secret)

    return configure


def _plain(sock: Socket) -> None:
    sock.plain_username = b"admin"
    sock.plain_password = b"admin"


def _null(sock: Socket) -> None:
    """No security mechanism at all (ZMQ's default)."""


def _random_key_pair() -> tuple[bytes, bytes]:
    public, secret = zmq.curve_keypair()
    return z85.decode(public), z85.decode(secret)


HOSTILE_CLIENTS: dict[str, Callable[[dict[str, Device]], Callable[[Socket], None]]] = {
    "NULL mechanism": lambda d: _null,
    "PLAIN user and password": lambda d: _plain,
    "CURVE with a key no record names": lambda d: _curve(d["alice"], *_random_key_pair()),
    "CURVE claiming bob's public key without his secret": lambda d: _curve(
        d["alice"], d["bob"].public, _random_key_pair()[1]
    ),
}


@contextmanager
def zmq_context() -> Iterator[Context]:
    ctx: Context = zmq.Context()
    try:
        yield ctx
    finally:
        ctx.destroy(linger=0)


@pytest.mark.parametrize("make", HOSTILE_CLIENTS.values(), ids=list(HOSTILE_CLIENTS))
def test_a_hostile_client_fails_the_handshake_and_gets_nothing_through(
    pair: Pair,
    devices: dict[str, Device],
    make: Callable[[dict[str, Device]], Callable[[Socket], None]],
) -> None:
    pair.wire.round_trip(b"before", devices)
    with zmq_context() as ctx:
        sock = ctx.socket(zmq.DEALER)
        sock.linger = 0
        make(devices)(sock)
        monitor = sock.get_monitor_socket()
        sock.connect(f"tcp://{HOST}:{pair.alice.port}")
        for _ in range(3):
            sock.send(b"let me in", zmq.NOBLOCK)
        events: list[int] = []

        def failed() -> bool:
            while True:
                try:
                    events.append(int(recv_monitor_message(monitor, zmq.NOBLOCK)["event"]))
                except zmq.Again:
                    return bool(HANDSHAKE_FAILED & set(events))

        assert pair.wire.pump(failed), events
        pair.wire.pump(lambda: False, 0.1)  # give a wrongly admitted frame time to show
        assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in events
        sock.disable_monitor()
    assert b"let me in" not in pair.wire.frames("alice")
    pair.wire.round_trip(b"after", devices)  # alice still serves bob


def test_an_unknown_curve_key_is_refused_by_the_allow_list(
    pair: Pair, devices: dict[str, Device]
) -> None:
    public, secret = _random_key_pair()
    mallory = Transport(secret, public, lambda key: None, lambda device: False, HOST)
    try:
        mallory.connect(devices["alice"].device, HOST, pair.alice.port, devices["alice"].public)
        mallory.send(devices["alice"].device, b"let me in")
        wire = Wire({"alice": pair.alice, "mallory": mallory})
        assert wire.pump(lambda: pair.alice.stats["refused_handshakes"] > 0)
        wire.pump(lambda: False, 0.1)
        assert wire.inbox["alice"] == [] and mallory.linked() == []
    finally:
        mallory.close()


# -- raw bytes on the port ---------------------------------------------------------------------


def _greeting(mechanism: bytes, as_server: int = 0) -> bytes:
    """A ZMTP 3.0 greeting: signature, version, mechanism, as-server, filler (64 bytes)."""
    return (
        b"\xff"
        + bytes(8)
        + b"\x7f"
        + b"\x03\x00"
        + mechanism.ljust(20, b"\x00")
        + bytes([as_server])
        + bytes(31)
    )


LONG_2_63 = b"\x06" + (2**63 - 1).to_bytes(8, "big")  # a long command frame's size field
RAW_BYTES: dict[str, bytes] = {
    "nothing: connect and close": b"",
    "one byte": b"\xff",
    "4 KiB of random bytes": Random(17).randbytes(4096),
    "an HTTP request": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "a TLS ClientHello header": bytes.fromhex("160301020001000200fc0303") + bytes(64),
    "a ZMTP greeting of version 9": _greeting(b"CURVE").replace(b"\x7f\x03", b"\x7f\x09"),
    "a ZMTP greeting with the NULL mechanism, then a frame": (
        _greeting(b"NULL") + b"\x04\x05\x05READY" + b"\x00\x04evil"
    ),
    "a ZMTP greeting with the PLAIN mechanism": _greeting(b"PLAIN"),
    "a ZMTP greeting with an unknown mechanism": _greeting(b"ROOT"),
    "a CURVE greeting and a garbage HELLO": (
        _greeting(b"CURVE") + b"\x04\xc8\x05HELLO" + Random(18).randbytes(194)
    ),
    "a CURVE greeting and a command of 2**63 bytes": _greeting(b"CURVE") + LONG_2_63,
    "ten greetings in a row": _greeting(b"CURVE") * 10,
}


@pytest.mark.parametrize("endpoint", ["sync", "join"])
@pytest.mark.parametrize("payload", RAW_BYTES.values(), ids=list(RAW_BYTES))
def test_raw_bytes_to_a_port_leave_the_node_serving(
    pair: Pair, devices: dict[str, Device], payload: bytes, endpoint: str
) -> None:
    pair.wire.round_trip(b"before", devices)
    port = pair.alice.port if endpoint == "sync" else pair.alice.join_port
    assert port
    with socket.create_connection((HOST, port), timeout=WAIT) as raw:
        try:
            raw.sendall(payload)
            raw.shutdown(socket.SHUT_WR)
            received = 0
            while received < 1 << 16:  # read until alice hangs up (bounded by count and time)
                chunk = raw.recv(4096)
                if not chunk:
                    break
                received += len(chunk)
        except OSError:
            pass  # alice hung up first (reset, broken pipe, not connected): what we want
    pair.wire.round_trip(b"after", devices)
    assert set(pair.wire.frames("alice")) == {b"before-bob", b"after-bob"}
    assert pair.alice.stats["refused_handshakes"] == 0


def test_the_join_endpoint_holds_a_bounded_number_of_requests(pair: Pair) -> None:
    """Anyone on the LAN can write to an admin node's join endpoint: a flood is capped."""
    flood = 300
    with zmq_context() as ctx:
        sock = ctx.socket(zmq.DEALER)
        sock.linger = 0
        sock.sndhwm = flood
        sock.connect(f"tcp://{HOST}:{pair.alice.join_port}")
        for i in range(flood):
            sock.send(b"join me %d" % i, zmq.NOBLOCK)

        def drained() -> bool:
            return len(pair.alice.join_requests) + pair.alice.stats["bad_join_frames"] >= flood

        assert pair.wire.pump(drained)
    assert len(pair.alice.join_requests) == 64
    assert pair.wire.inbox["alice"] == []  # nothing from the join endpoint reaches sync


# -- frame size --------------------------------------------------------------------------------


@pytest.mark.parametrize(("src", "dst"), [("bob", "alice"), ("alice", "bob")])
def test_a_frame_over_max_frame_is_refused_and_the_link_recovers(
    pair: Pair, devices: dict[str, Device], src: str, dst: str
) -> None:
    pair.wire.round_trip(b"before", devices)
    sender = pair.alice if src == "alice" else pair.bob
    assert sender.send(devices[dst].device, b"\x00" * (MAX_FRAME + CURVE_OVERHEAD + 1))
    pair.wire.round_trip(b"after", devices)
    assert all(
        len(frame) <= MAX_FRAME for name in ("alice", "bob") for frame in pair.wire.frames(name)
    )


def test_a_peer_is_still_reached_over_its_own_link_when_ours_is_dead(
    pair: Pair, devices: dict[str, Device]
) -> None:
    """bob's DEALER to alice is dead (killed by an oversized frame from alice's ROUTER),
    but alice has her own healthy link into bob's ROUTER: bob's frames must take it.
    """
    a, b = devices["alice"].device, devices["bob"].device
    pair.wire.round_trip(b"before", devices)
    pair.alice.send(b, b"\x00" * (MAX_FRAME + CURVE_OVERHEAD + 1))  # on alice's ROUTER
    pair.wire.pump(lambda: False, 0.3)
    pair.alice.connect(b, HOST, pair.bob.port, devices["bob"].public)
    for _ in range(int(RECOVER / 0.1)):  # alice's new link up: bob learns a route to her
        pair.alice.send(b, b"hello from alice's own link")
        if pair.wire.pump(lambda: b"hello from alice's own link" in pair.wire.frames("bob"), 0.1):
            break
    assert b"hello from alice's own link" in pair.wire.frames("bob")
    assert a in pair.bob.linked()
    for _ in range(int(RECOVER / 0.1)):
        pair.bob.send(a, b"reply")
        if pair.wire.pump(lambda: b"reply" in pair.wire.frames("alice"), 0.1):
            break
    assert b"reply" in pair.wire.frames("alice"), pair.bob.stats


def test_a_frame_of_max_frame_bytes_is_delivered(pair: Pair, devices: dict[str, Device]) -> None:
    """messages.decode accepts frames up to MAX_FRAME; the transport must carry them all."""
    pair.wire.round_trip(b"before", devices)
    frame = b"\x01" * MAX_FRAME
    pair.bob.send(devices["alice"].device, frame)
    pair.bob.send(devices["alice"].device, b"next")
    assert pair.wire.pump(lambda: b"next" in pair.wire.frames("alice"), 2.0)
    assert frame in pair.wire.frames("alice")


# -- the allow-list changes ----------------------------------------------------------------------


def test_frames_of_a_device_no_longer_allowed_are_dropped(
    pair: Pair, devices: dict[str, Device]
) -> None:
    a, b = devices["alice"].device, devices["bob"].device
    pair.wire.round_trip(b"before", devices)
    pair.lists["alice"].revoked.add(b)
    pair.bob.send(a, b"after revocation")
    assert pair.wire.pump(lambda: pair.lists["alice"].dropped[b] > 0)
    assert b"after revocation" not in pair.wire.frames("alice")

    pair.bob.disconnect(a)  # bob's next handshake is refused as well
    pair.bob.connect(a, HOST, pair.alice.port, devices["alice"].public)
    refused = pair.alice.stats["refused_handshakes"]
    pair.bob.send(a, b"new link")
    assert pair.wire.pump(lambda: pair.alice.stats["refused_handshakes"] > refused)
    pair.wire.pump(lambda: False, 0.1)
    assert b"new link" not in pair.wire.frames("alice")


# -- real nodes ------------------------------------------------------------------------------------


class Clock:
    """The nodes' monotonic clock, moved by the test (real sockets, no waiting for PRESENCE)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Office3:
    nodes: dict[str, Node]
    paths: dict[str, Path]
    logs: dict[str, list[str]]
    clock: Clock

    def step_until(self, until: Callable[[], bool], seconds: float = WAIT) -> bool:
        """Step every running node (a revoked one has stopped) until `until()`, bounded."""
        deadline = time.monotonic() + seconds
        while not until() and time.monotonic() < deadline:
            self.clock.now += 0.05
            for node in self.nodes.values():
                if not node.revoked:
                    node.step(5)
        return until()


@pytest.fixture
def three(office: dict[str, Path], tmp_path: Path) -> Iterator[Office3]:
    """Nodes of alice, bob and carol, each linked to the other two on 127.0.0.1."""
    names = ("alice", "bob", "carol")
    paths = replicas({n: office[n] for n in names}, tmp_path / "nodes")
    clock = Clock()
    logs: dict[str, list[str]] = {n: [] for n in names}
    with opened(paths) as vaults:
        nodes: dict[str, Node] = {}
        try:
            for name in names:
                nodes[name] = Node(vaults[name], HOST, 0, logs[name].append, clock)
            for name, node in nodes.items():
                for other, peer in nodes.items():
                    if other != name:
                        node.add_peer(PeerAddress(HOST, peer.port, peer.me))
            yield Office3(nodes, paths, logs, clock)
        finally:
            for node in nodes.values():
                node.close()


def _all_online(o: Office3) -> bool:
    return all(len(n.core.online(o.clock.now)) == 2 for n in o.nodes.values())


def test_nodes_sync_an_entry_over_curve(three: Office3) -> None:
    assert three.step_until(lambda: _all_online(three))
    alice: Vault = three.nodes["alice"].vault
    before = set(alice.op_log())
    alice.add({"title": "Webmail", "password": "hunter2"}, T0 + 1000)
    three.nodes["alice"].push_local(b for b in alice.op_log() if b not in before)
    assert three.step_until(
        lambda: all(
            [s.title for s in n.vault.entries()] == ["Webmail"] for n in three.nodes.values()
        )
    )


def test_a_revocation_reaches_every_online_peer_who_cut_the_device_off(three: Office3) -> None:
    """alice's admin revokes bob (as the CLI would, in its own process); carol hears by gossip.

    Within one gossip round every node holds the revocation and refuses bob's
    key; bob's own node learns it and stops; alice and carol then close their
    links to bob and drop any frame he still sends (I-3, SECURITY_TESTS 14).
    """
    nodes = three.nodes
    assert three.step_until(lambda: _all_online(three))
    bob, carol = nodes["bob"].me, nodes["carol"].me
    bob_key = nodes["bob"].vault.office.identity.box.public
    start = three.clock.now
    with Office.unlock(three.paths["alice"], pw(), PROFILE) as admin:
        admin.revoke("bob", T0 + 1000, "left the office")
    learned: dict[str, float] = {}

    def everyone_knows() -> bool:
        for name, node in nodes.items():
            if name not in learned and bob in node.vault.office.membership.state.revoked:
                learned[name] = three.clock.now - start
        return len(learned) == len(nodes)

    assert three.step_until(everyone_knows), learned
    assert max(learned.values()) <= 2 * HEARTBEAT + 0.5, learned  # a look, then a round
    assert nodes["bob"].revoked
    assert [n for n in ("alice", "carol") if nodes[n].transport.allow(bob_key) is not None] == []

    def cut_off() -> bool:
        return all(
            bob not in nodes[n].transport.candidates() and bob not in nodes[n].core.peers
            for n in ("alice", "carol")
        )

    assert three.step_until(cut_off)
    nodes["bob"].transport.send(carol, b"still here")  # bob's old session into carol
    three.clock.now += PRESENCE + 1
    three.step_until(lambda: False, 0.2)
    for name in ("alice", "carol"):
        assert bob not in nodes[name].core.peers, name
        assert bob not in nodes[name].core.online(three.clock.now), name
