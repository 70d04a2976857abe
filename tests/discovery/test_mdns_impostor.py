"""Live mDNS impostors against real nodes (SECURITY_TESTS 18), in a network namespace of our own.

alice's and bob's real `Node`s listen on 127.0.0.1 and find each other only by
mDNS, wired as `officevault node` wires it (node_cli._start_mdns: every advert
of our office goes to `Node.offer_peer`). A forger on the same mDNS network
advertises the impostor's address (a CURVE server with a key nobody enrolled):
under bob's device id and a name of its own, under bob's own instance name, or
with our office id and a device id no record names. Every hint reaches alice's
node; the handshake refuses the impostor; bob is still found and synced with.

Network rule: mDNS runs only inside a namespace this test makes (its loopback,
multicast on), never on the host's interfaces; without one (not root, no `ip
netns`) the test skips. Adverts there name 127.0.0.1, so the TCP they lead to
stays on the host's loopback, where the nodes and the impostor listen. Every
wait is bounded; every Mdns, Zeroconf, node and socket made here is closed.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import zmq

from discovery.mdns import SERVICE, Mdns, instance_name
from node.node_cli import _start_mdns
from node.runner import Node, PeerAddress
from node.vault import Vault
from tests.discovery.test_mdns import Lan, _ip, _make_netns, forged_info
from tests.node.test_hostile_soak import Impostor, impostor_at
from tests.node.test_transport import Clock, zmq_context
from tests.node.vault_kit import T0, opened, replicas, template

HOST = "127.0.0.1"
T = T0 + 1000  # the vault's "now" (inside every capability of the kit)
WAIT = 10.0  # seconds: registering and resolving take a few seconds in a namespace
STEP = 0.05  # fake seconds per step of the nodes


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """vault_kit's office (built once here: tests/node's conftest is not in reach)."""
    return template(tmp_path_factory.mktemp("office"))


@pytest.fixture
def lan() -> Iterator[Lan]:
    """A namespace of our own for mDNS, or a skip: never the host's interfaces."""
    netns = _make_netns()
    if netns is None:
        pytest.skip(
            "live mDNS runs only in a network namespace of our own (needs root and `ip netns`)"
        )
    lan = Lan(netns)
    try:
        yield lan
    finally:
        try:
            lan.close()
        finally:
            _ip("netns", "del", netns)


@dataclass
class Office:
    alice: Node
    bob: Node
    vaults: dict[str, Vault]
    clock: Clock
    log: list[str]

    def step(self, until: Callable[[], bool], seconds: float = WAIT) -> bool:
        deadline = time.monotonic() + seconds
        while not until() and time.monotonic() < deadline:
            self.clock.now += STEP
            self.alice.step(5)
            self.bob.step(5)
        return until()

    def found(self) -> bool:
        now = self.clock.now
        return self.bob.me in self.alice.core.online(now) and self.alice.me in self.bob.core.online(
            now
        )


@pytest.fixture
def office(kit: dict[str, Path], tmp_path: Path, lan: Lan) -> Iterator[Office]:
    """alice's and bob's nodes on 127.0.0.1, not linked: each only advertises and browses."""
    paths = replicas({n: kit[n] for n in ("alice", "bob")}, tmp_path / "nodes")
    clock, log = Clock(), list[str]()
    with opened(paths) as vaults:
        nodes: list[Node] = []
        mdns: list[Mdns] = []
        try:
            for name in ("alice", "bob"):
                node = Node(vaults[name], HOST, 0, log.append, clock)
                nodes.append(node)
                node.wall = lambda: float(T)
                with lan.inside():  # zeroconf's sockets and thread live in the namespace
                    started = _start_mdns(HOST, [HOST], vaults[name], node, log.append)
                assert started is not None, log
                mdns.append(started)
            yield Office(nodes[0], nodes[1], vaults, clock, log)
        finally:
            for each in mdns:
                each.stop()
            for node in nodes:
                node.close()


Forge = Callable[[Office], tuple[str, str]]  # the instance name and device id (hex) advertised

FORGERIES: dict[str, tuple[Forge, bool]] = {
    # how the forged advert reads -> whether alice opens a link to its address
    "bob's device id under a name of its own": (
        lambda o: (f"ov-{secrets.token_hex(6)}.{SERVICE}", o.bob.me.hex()),
        True,
    ),
    "bob's own instance name and device id": (
        lambda o: (instance_name(o.bob.me.hex()), o.bob.me.hex()),
        True,
    ),
    "our office id, a device id no record names": (
        lambda o: (f"ov-{secrets.token_hex(6)}.{SERVICE}", secrets.token_hex(16)),
        False,
    ),
}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=list(FORGERIES))
def test_a_forged_advert_leads_to_a_failed_handshake_and_bob_is_still_found(
    lan: Lan, office: Office, forgery: tuple[Forge, bool]
) -> None:
    forge, linked = forgery
    office_id = office.vaults["alice"].office.office_id.hex()
    with zmq_context() as ctx, impostor_at(ctx) as impostor:
        name, device = forge(office)
        forger = lan.forger()
        forger.register_service(
            forged_info(name, device, impostor.port, office_id), cooperating_responders=True
        )
        hint = PeerAddress(HOST, impostor.port, bytes.fromhex(device))

        def heard_both() -> bool:
            impostor.watch()
            taken = hint in office.alice._addresses
            return office.found() and (taken or office.alice.transport.stats["hints_ignored"] > 0)

        assert office.step(heard_both), office.log[-10:]
        settle = time.monotonic() + 0.5  # a few reconnect intervals at the impostor
        office.step(lambda: _watched(impostor, settle), 2.0)

        at_impostor = [k for k in office.alice.transport._dealers if k.port == impostor.port]
        # a hint for bob is tried only if it came before bob's real address answered
        assert len(at_impostor) <= (1 if linked else 0)
        assert impostor.frames == []
        assert impostor.events[zmq.EVENT_HANDSHAKE_SUCCEEDED] == 0
        assert all(k.port == office.bob.port for k in office.alice.transport._good)
        assert office.alice.transport.linked() == [office.bob.me]
        _syncs(office)


def _watched(impostor: Impostor, until: float) -> bool:
    impostor.watch()
    return time.monotonic() > until


def _syncs(office: Office) -> None:
    """An entry of alice's reaches bob over the link mDNS led to."""
    alice = office.vaults["alice"]
    before = set(alice.op_log())
    alice.add({"title": "Found by mDNS", "password": "s3cret"}, T)
    office.alice.push_local(b for b in alice.op_log() if b not in before)
    bob = office.vaults["bob"]
    assert office.step(lambda: "Found by mDNS" in {s.title for s in bob.entries()})
