"""mDNS discovery, live on a private network: nodes find each other, and forged,
flooding or malformed records change nothing but hints (SECURITY_TESTS 18, 21).
An admin node's advert names its join desk; a new PC's search advertises
nothing and hears the desks of any office; mDNS on every interface is tried
only inside a namespace of our own, where every interface is its loopback.

Network rule: this file sends mDNS only where no other machine can hear it.
When it runs as root with `ip netns`, each live test makes its own network
namespace (only a loopback interface, brought up with multicast on) and
deletes it afterwards; otherwise it uses this host's loopback, bound to
127.0.0.1, if multicast works there; otherwise the live tests skip.
OFFICEVAULT_MDNS_NET=netns|loopback forces one of the two. Every wait is a
poll of at most a few seconds; every Mdns and Zeroconf made here is closed.

The TXT parser is tested without any network, as byte literals, the join
port ("j") with every hostile form we could think of.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from zeroconf import ServiceInfo, Zeroconf

from discovery.mdns import (
    MAX_TXT_VALUE,
    NAME_TRIES,
    SERVICE,
    Mdns,
    host_addresses,
    instance_name,
    read_advert,
    read_txt,
)
from discovery.peers import Advert, JoinDesks, PeerTable

OFFICE = "0f" * 16
OTHER_OFFICE = "1e" * 16
ALICE = "a1" * 16
BOB = "b2" * 16
OBSERVER = "0b" * 16
LOOPBACK = "127.0.0.1"
WAIT = 5.0  # seconds any live condition may take


def txt(*items: bytes) -> bytes:
    """A TXT record's wire form: each string prefixed by its length."""
    return b"".join(bytes([len(item)]) + item for item in items)


GOOD = txt(b"v=1", b"o=" + OFFICE.encode(), b"d=" + ALICE.encode())

# -- the TXT parser, offline -------------------------------------------------------------

HOSTILE_TXT = {
    "a length byte running past the end": b"\x05v=1",
    "a record over 1 KiB": txt(b"x=" + b"y" * 250) * 5,
    "seventeen strings": txt(*[b"x"] * 17),
}


@pytest.mark.parametrize("text", HOSTILE_TXT.values(), ids=HOSTILE_TXT.keys())
def test_a_malformed_txt_record_is_dropped_whole(text: bytes) -> None:
    assert read_txt(text) is None


def test_a_good_txt_record_reads_back() -> None:
    assert read_txt(GOOD) == {"v": "1", "o": OFFICE, "d": ALICE}


UNREADABLE_ADVERTS = {
    "no version": txt(b"o=" + OFFICE.encode(), b"d=" + ALICE.encode()),
    "version 2": txt(b"v=2", b"o=" + OFFICE.encode(), b"d=" + ALICE.encode()),
    "no device": txt(b"v=1", b"o=" + OFFICE.encode()),
    "an office value over 64 bytes": txt(b"v=1", b"o=" + b"0" * 65, b"d=" + ALICE.encode()),
    "a device value not ASCII": txt(b"v=1", b"o=" + OFFICE.encode(), "d=é".encode()),
    "keys in upper case": txt(b"V=1", b"O=" + OFFICE.encode(), b"D=" + ALICE.encode()),
    "keys without values": txt(b"v", b"o", b"d"),
    "empty": b"",
}


@pytest.mark.parametrize("text", UNREADABLE_ADVERTS.values(), ids=UNREADABLE_ADVERTS.keys())
def test_a_txt_record_without_a_usable_advert_gives_none(text: bytes) -> None:
    assert read_advert(text, [LOOPBACK], 4000, 1.0) is None


def test_a_repeated_key_keeps_its_first_value() -> None:
    """RFC 6763 section 6.4: a second "d" cannot override the first."""
    text = GOOD + txt(b"d=" + BOB.encode())
    advert = read_advert(text, [LOOPBACK], 4000, 1.0)
    assert advert is not None
    assert advert.device_id == ALICE


def test_a_value_of_exactly_the_limit_is_read() -> None:
    values = read_txt(txt(b"o=" + b"f" * MAX_TXT_VALUE))
    assert values == {"o": "f" * MAX_TXT_VALUE}


@pytest.mark.parametrize(
    ("addresses", "host"),
    [
        ([LOOPBACK], LOOPBACK),
        (["fe80::1", "192.0.2.1"], "192.0.2.1"),  # IPv4 first: no scope id needed
        (["::1"], "::1"),
        (["0.0.0.0", "224.0.0.251", "192.0.2.1"], "192.0.2.1"),
        ([], None),
        (["not-an-ip"], None),
        (["0.0.0.0"] * 8 + ["192.0.2.1"], None),  # only the first 8 are looked at
    ],
    ids=str,
)
def test_the_advert_takes_a_usable_address(addresses: list[str], host: str | None) -> None:
    advert = read_advert(GOOD, addresses, 4000, 1.0)
    assert (advert.host if advert else None) == host


def test_an_admin_adverts_join_port_is_read() -> None:
    advert = read_advert(GOOD + txt(b"j=5001"), [LOOPBACK], 4000, 1.0)
    assert advert is not None
    assert (advert.port, advert.join_port) == (4000, 5001)


def test_an_advert_without_a_join_port_has_none() -> None:
    advert = read_advert(GOOD, [LOOPBACK], 4000, 1.0)
    assert advert is not None
    assert advert.join_port is None


HOSTILE_JOIN_PORTS = {
    "not a number": b"j=desk",
    "empty": b"j=",
    "no value at all": b"j",
    "zero": b"j=0",
    "one past the top": b"j=65536",
    "out of range and long": b"j=99999999999999999999",
    "negative": b"j=-5001",
    "a plus sign": b"j=+5001",
    "a leading zero": b"j=05001",
    "a space": b"j= 5001",
    "hex": b"j=0x1389",
    "a NUL after the digits": b"j=5001\x00",
    "full-width digits": "j=\uff15\uff10\uff10\uff11".encode(),
    "over 64 bytes": b"j=" + b"5" * (MAX_TXT_VALUE + 1),
    "upper-case key": b"J=5001",
}


@pytest.mark.parametrize("item", HOSTILE_JOIN_PORTS.values(), ids=HOSTILE_JOIN_PORTS.keys())
def test_a_hostile_join_port_is_dropped_but_the_peer_hint_stays(item: bytes) -> None:
    """A node that names a bad join desk is still a peer: only the "j" value goes."""
    advert = read_advert(GOOD + txt(item), [LOOPBACK], 4000, 1.0)
    assert advert is not None
    assert (advert.device_id, advert.port, advert.join_port) == (ALICE, 4000, None)


def test_a_repeated_join_port_keeps_its_first_value() -> None:
    advert = read_advert(GOOD + txt(b"j=5001", b"j=6666"), [LOOPBACK], 4000, 1.0)
    assert advert is not None
    assert advert.join_port == 5001


def test_a_join_port_does_not_rescue_a_record_that_is_too_big() -> None:
    assert read_advert(txt(b"j=5001") + HOSTILE_TXT["a record over 1 KiB"], [LOOPBACK],
                       4000, 1.0) is None  # fmt: skip


def test_the_instance_name_carries_the_device_id() -> None:
    assert instance_name(ALICE) == f"ov-a1a1a1a1a1a1.{SERVICE}"
    assert instance_name(ALICE, 1) == f"ov-a1a1a1a1a1a1-2.{SERVICE}"


@pytest.mark.parametrize(
    ("office", "device", "port", "interfaces"),
    [
        (OFFICE, ALICE, 4000, []),
        (OFFICE, ALICE, 4000, ["0.0.0.0"]),
        (OFFICE, ALICE, 4000, ["::"]),
        (OFFICE, ALICE, 4000, ["lo"]),
        (OFFICE, ALICE, 4000, [LOOPBACK] * 9),
        (OFFICE, ALICE, 0, [LOOPBACK]),
        (OFFICE.upper(), ALICE, 4000, [LOOPBACK]),
        (OFFICE, "a1", 4000, [LOOPBACK]),
    ],
    ids=str,
)
def test_mdns_refuses_bad_settings_before_opening_anything(
    office: str, device: str, port: int, interfaces: list[str]
) -> None:
    """Binding to a wildcard would advertise on every interface: refused."""
    with pytest.raises(ValueError):
        Mdns(office, device, port, interfaces, lambda _advert: None)


BAD_ROLES: dict[str, tuple[object, ...]] = {
    "a join port of 0": (OFFICE, ALICE, 4000, [LOOPBACK], {"join_port": 0}),
    "a join port of 65536": (OFFICE, ALICE, 4000, [LOOPBACK], {"join_port": 65536}),
    "a browser with a port": (None, None, 4000, [LOOPBACK], {}),
    "a browser with a join port": (OFFICE, None, None, [LOOPBACK], {"join_port": 5001}),
    "a browser with addresses": (OFFICE, None, None, [LOOPBACK], {"addresses": [LOOPBACK]}),
    "an advert without an office": (None, ALICE, 4000, [LOOPBACK], {}),
    "every interface, no address named": (OFFICE, ALICE, 4000, None, {}),
    "a wildcard address named": (OFFICE, ALICE, 4000, None, {"addresses": ["0.0.0.0"]}),
    "no address named": (OFFICE, ALICE, 4000, None, {"addresses": []}),
    "nine addresses named": (OFFICE, ALICE, 4000, None, {"addresses": [LOOPBACK] * 9}),
}


@pytest.mark.parametrize("args", BAD_ROLES.values(), ids=BAD_ROLES.keys())
def test_mdns_refuses_a_muddled_role_before_opening_anything(args: tuple[object, ...]) -> None:
    office, device, port, interfaces, extra = args
    with pytest.raises(ValueError):
        Mdns(office, device, port, interfaces, lambda _a: None, **extra)  # type: ignore[arg-type]


def test_stop_before_start_is_a_no_op() -> None:
    mdns = Mdns(OFFICE, ALICE, 4000, [LOOPBACK], lambda _advert: None)
    mdns.stop()
    mdns.stop()
    with pytest.raises(RuntimeError):
        mdns.start()


# -- a private network for the live tests ---------------------------------------------------

CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def _ip(*args: str) -> bool:
    done = subprocess.run(["ip", *args], capture_output=True, timeout=10, check=False)
    return done.returncode == 0


def _make_netns() -> str | None:
    """A fresh namespace with its loopback up and multicast on, or None if we cannot."""
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("ip") is None:
        return None
    name = f"ovtest-{os.getpid()}-{secrets.token_hex(3)}"
    if not _ip("netns", "add", name):
        return None
    if _ip("-n", name, "link", "set", "lo", "up") and _ip(
        "-n", name, "link", "set", "lo", "multicast", "on"
    ):
        return name
    _ip("netns", "del", name)
    return None


def _loopback_multicast_works() -> bool:
    """Send one datagram to 224.0.0.251 through 127.0.0.1 and see it come back (loopback only)."""
    group = "224.0.0.251"
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        receiver.bind((group, 0))  # the group address, not a wildcard
        receiver.setsockopt(
            socket.IPPROTO_IP,
            socket.IP_ADD_MEMBERSHIP,
            socket.inet_aton(group) + socket.inet_aton(LOOPBACK),
        )
        receiver.settimeout(1.0)
        sender.bind((LOOPBACK, 0))
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LOOPBACK))
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        sender.sendto(b"officevault-probe", (group, receiver.getsockname()[1]))
        return receiver.recv(64) == b"officevault-probe"
    except OSError:
        return False
    finally:
        receiver.close()
        sender.close()


@dataclass
class Node:
    """A started Mdns with the table it feeds and every advert it delivered, in order."""

    mdns: Mdns
    table: PeerTable
    heard: list[Advert] = field(default_factory=list)

    def ports(self) -> dict[str, int]:
        return {a.device_id: a.port for a in self.table.peers(time.monotonic())}


class Lan:
    """Where a live test's mDNS runs: a namespace of its own (`netns`) or host loopback."""

    def __init__(self, netns: str | None) -> None:
        self.netns = netns
        # fresh ids per test, so that runs sharing host loopback cannot hear each other
        self.office, self.alice, self.bob, self.observer = (secrets.token_hex(16) for _ in "1234")
        self._nodes: list[Node] = []
        self._forgers: list[Zeroconf] = []

    @contextmanager
    def inside(self) -> Iterator[None]:
        """Make sockets inside the namespace (this thread only), then come back."""
        if self.netns is None:
            yield
            return
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            target = os.open(f"/run/netns/{self.netns}", os.O_RDONLY)
            try:
                _setns(target)
            finally:
                os.close(target)
            try:
                yield
            finally:
                try:
                    _setns(home)
                except OSError as error:  # never run other tests in the wrong network
                    pytest.exit(f"could not leave namespace {self.netns}: {error}", returncode=3)
        finally:
            os.close(home)

    def node(
        self,
        device: str,
        port: int,
        max_peers: int = 256,
        refresh: float = 30.0,
        *,
        office: str | None = None,
        join_port: int | None = None,
        every_interface: bool = False,
    ) -> Node:
        table = PeerTable(office or self.office, max_peers=max_peers)
        heard: list[Advert] = []

        def on_advert(advert: Advert) -> None:
            heard.append(advert)
            table.observe(advert, time.monotonic())

        if every_interface and self.netns is None:  # network rule: never the host's interfaces
            raise RuntimeError("mDNS on every interface only inside a namespace of our own")
        mdns = Mdns(office or self.office, device, port,
                    None if every_interface else [LOOPBACK], on_advert, refresh=refresh,
                    join_port=join_port, addresses=[LOOPBACK])  # fmt: skip
        node = Node(mdns, table, heard)
        self._nodes.append(node)
        with self.inside():
            mdns.start()
        return node

    def searcher(self) -> tuple[Mdns, JoinDesks, list[Advert]]:
        """A new PC's search: advertises nothing, hears every office."""
        desks = JoinDesks()
        heard: list[Advert] = []

        def on_advert(advert: Advert) -> None:
            heard.append(advert)
            desks.observe(advert)

        mdns = Mdns(None, None, None, [LOOPBACK], on_advert)
        self._nodes.append(Node(mdns, PeerTable(self.office), heard))
        with self.inside():
            mdns.start()
        return mdns, desks, heard

    def forger(self) -> Zeroconf:
        """A bare zeroconf on the same network, to send records no honest Mdns would."""
        with self.inside():
            zc = Zeroconf(interfaces=[LOOPBACK], use_asyncio=False)
        self._forgers.append(zc)
        return zc

    def close(self) -> None:
        for node in self._nodes:
            node.mdns.stop()
        for zc in self._forgers:
            zc.close()


@pytest.fixture
def lan() -> Iterator[Lan]:
    mode = os.environ.get("OFFICEVAULT_MDNS_NET", "auto")
    netns = _make_netns() if mode in ("auto", "netns") else None
    if netns is None:
        if mode == "netns":
            pytest.skip("OFFICEVAULT_MDNS_NET=netns, but no namespace (needs root and `ip netns`)")
        if not _loopback_multicast_works():
            pytest.skip(
                "no private network for mDNS: no namespace (needs root and `ip netns`) "
                "and multicast does not loop back on 127.0.0.1"
            )
    lan = Lan(netns)
    try:
        yield lan
    finally:
        try:
            lan.close()
        finally:
            if netns is not None:
                _ip("netns", "del", netns)


def wait_for(check: Callable[[], bool], seconds: float = WAIT) -> bool:
    """Poll `check` every 50 ms for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def forged_info(name: str, device: str, port: int, office: str) -> ServiceInfo:
    return ServiceInfo(
        SERVICE,
        name,
        port=port,
        properties={"o": office, "d": device, "v": "1"},
        server=f"forger-{device[:8]}.local.",
        addresses=[socket.inet_aton(LOOPBACK)],
    )


# -- live ---------------------------------------------------------------------------------


def test_two_nodes_find_each_other_and_stop_leaves_no_threads(lan: Lan) -> None:
    before = set(threading.enumerate())
    started = time.monotonic()
    alice = lan.node(lan.alice, 4001)
    bob = lan.node(lan.bob, 4002)
    assert time.monotonic() - started < 1.0, "start() must not wait for the registration"

    assert wait_for(lambda: alice.ports() == {lan.bob: 4002} and bob.ports() == {lan.alice: 4001})
    assert alice.table.peers(time.monotonic())[0].host == LOOPBACK
    assert alice.mdns.name == instance_name(lan.alice)
    with pytest.raises(RuntimeError):
        alice.mdns.start()

    alice.mdns.stop()
    bob.mdns.stop()
    bob.mdns.stop()
    assert set(threading.enumerate()) == before


def test_an_address_this_host_does_not_have_is_an_error_not_a_mute_node(lan: Lan) -> None:
    if lan.netns is None:
        pytest.skip("needs a namespace of our own: 192.0.2.123 might be real here")
    mdns = Mdns(lan.office, lan.alice, 4001, ["192.0.2.123"], lambda _advert: None)
    with lan.inside(), pytest.raises(OSError, match="cannot bind"):
        mdns.start()
    mdns.stop()


def test_a_second_node_claiming_a_device_id_is_renamed_and_replaces_the_hint(lan: Lan) -> None:
    """Threat 18: an impostor advertises a real peer's device id at another port.

    Registering does not crash (the taken name gets a suffix); the observer's
    hint for that device moves to the impostor, in one slot, and the
    handshake will refuse it; the real node keeps advertising.
    """
    alice = lan.node(lan.alice, 4001)
    observer = lan.node(lan.observer, 4000)
    assert wait_for(lambda: observer.ports() == {lan.alice: 4001})

    impostor = lan.node(lan.alice, 5998)
    assert wait_for(lambda: impostor.mdns.name is not None)
    assert impostor.mdns.name == instance_name(lan.alice, 1)
    assert impostor.mdns.stats.renames >= 1
    assert wait_for(lambda: observer.ports() == {lan.alice: 5998})
    assert alice.mdns.name == instance_name(lan.alice)


def test_when_every_name_is_taken_a_node_stays_silent_but_keeps_browsing(lan: Lan) -> None:
    """A squatter holds all of a device's names: registering gives up, bounded, without a crash."""
    lan.node(lan.bob, 4002)
    forger = lan.forger()
    assert forger.loop is not None
    names = [instance_name(lan.alice, attempt) for attempt in range(NAME_TRIES)]
    squats = [
        forger.async_register_service(
            forged_info(name, lan.alice, 6000, lan.office), cooperating_responders=True
        )
        for name in names
    ]
    for squat in squats:
        asyncio.run_coroutine_threadsafe(squat, forger.loop).result(WAIT)

    alice = lan.node(lan.alice, 4001)
    assert wait_for(lambda: alice.mdns.stats.renames == NAME_TRIES)
    assert alice.mdns.name is None
    assert wait_for(lambda: lan.bob in alice.ports())


def test_a_record_reusing_a_node_name_replaces_the_hint(lan: Lan) -> None:
    """Threat 18: a forger answers for alice's own instance name, with another port."""
    alice = lan.node(lan.alice, 4001)
    observer = lan.node(lan.observer, 4000)
    assert wait_for(lambda: observer.ports() == {lan.alice: 4001})
    assert alice.mdns.name is not None

    forger = lan.forger()
    forger.register_service(
        forged_info(alice.mdns.name, lan.alice, 5999, lan.office), cooperating_responders=True
    )
    assert wait_for(lambda: observer.ports() == {lan.alice: 5999})
    assert len(observer.table) == 1


def test_a_flood_of_records_stays_bounded_and_a_real_peer_is_still_found(lan: Lan) -> None:
    """Threat 21: 300 fake devices, some of another office, some malformed, then alice."""
    observer = lan.node(lan.observer, 4000, max_peers=32, refresh=1.0)
    forger = lan.forger()
    for n in range(300):
        office = OTHER_OFFICE if n % 10 == 0 else lan.office
        device = "zz" * 16 if n % 10 == 1 else f"{n:032x}"
        forger.send(
            forger.generate_service_broadcast(
                forged_info(f"fake{n}.{SERVICE}", device, 1 + n, office), None
            )
        )
        if n % 50 == 49:
            time.sleep(0.02)  # let the observer keep up, as a real LAN would
    assert wait_for(lambda: observer.table.stats.evicted > 0)

    alice = lan.node(lan.alice, 4001)
    assert wait_for(lambda: lan.alice in observer.ports())
    assert len(observer.table) <= 32
    assert observer.mdns.stats.dropped >= 30  # the other office's records
    assert observer.table.stats.ignored >= 30  # the malformed device ids
    assert alice.mdns.name == instance_name(lan.alice)


def test_an_admin_node_advertises_its_join_desk_and_a_member_none(lan: Lan) -> None:
    observer = lan.node(lan.observer, 4000)
    lan.node(lan.alice, 4001, join_port=5001)
    lan.node(lan.bob, 4002)
    assert wait_for(lambda: set(observer.ports()) == {lan.alice, lan.bob})
    joins = {a.device_id: a.join_port for a in observer.table.peers(time.monotonic())}
    assert joins == {lan.alice: 5001, lan.bob: None}


def test_a_new_pcs_search_hears_desks_of_any_office_and_advertises_nothing(lan: Lan) -> None:
    """The new PC knows no office yet: it keeps every office's desks (the PAKE tells them
    apart later), not the members' adverts, and it registers no name of its own."""
    other_office = secrets.token_hex(16)
    member = secrets.token_hex(16)
    lan.node(lan.alice, 4001, join_port=5001)
    lan.node(lan.bob, 4002, join_port=5002, office=other_office)
    lan.node(member, 4003)
    search, desks, heard = lan.searcher()

    def all_heard() -> bool:
        return {lan.alice, lan.bob, member} <= {a.device_id for a in heard}

    assert wait_for(all_heard)
    kept = {(d.office_id, d.device_id, d.join_port) for d in desks.desks()}
    assert {(lan.office, lan.alice, 5001), (other_office, lan.bob, 5002)} <= kept
    assert lan.netns is None or len(kept) == 2  # on host loopback, other runs may be heard
    assert member not in {d.device_id for d in desks.desks()}
    assert search.name is None
    assert search.stats.renames == 0


def test_mdns_on_every_interface_finds_a_peer_and_names_only_the_given_address(lan: Lan) -> None:
    """InterfaceChoice.All inside a namespace whose only interface is loopback (network rule:
    never tried on the host's own interfaces)."""
    if lan.netns is None:
        pytest.skip("mDNS on every interface needs a namespace of our own")
    everywhere = lan.node(lan.alice, 4001, every_interface=True, join_port=5001)
    assert everywhere.mdns.interfaces is None and everywhere.mdns.where == "every interface"
    pinned = lan.node(lan.bob, 4002)
    assert wait_for(lambda: everywhere.ports() == {lan.bob: 4002})
    assert wait_for(lambda: pinned.ports() == {lan.alice: 4001})
    found = pinned.table.peers(time.monotonic())[0]
    assert (found.host, found.join_port) == (LOOPBACK, 5001)


def test_host_addresses_leave_out_loopback(lan: Lan) -> None:
    """What a node listening on every address advertises (read inside our namespace)."""
    if lan.netns is None:
        pytest.skip("needs a namespace of our own, to know its addresses")
    with lan.inside():
        assert host_addresses() == []
    assert _ip("-n", lan.netns, "addr", "add", "192.0.2.77/32", "dev", "lo")
    with lan.inside():
        assert host_addresses() == ["192.0.2.77"]
