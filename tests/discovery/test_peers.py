"""The peer table and static peers: hostile adverts cost little and evict no one recent
(SECURITY_TESTS 18, 21, 22).

Anyone on the LAN can advertise anything, so every malformed advert is a
row of data that must be ignored and counted. A flood of valid-looking
adverts keeps the table at its bound while peers observed recently stay;
an advert that moves a known device to another address replaces the hint
(the CURVE handshake decides later who is real). Time is passed in.

Join desks (an admin node's join port, for a new PC that knows no office
yet): a join port is read only in the one form we write, a malformed one is
dropped without dropping the peer hint, and the desks a new PC keeps are of
any office but checked and bounded the same way, so a flood crowds the list
without growing it (the join's PAKE, not the advert, proves the office).
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from discovery.peers import (
    MAX_DESKS,
    MAX_PEERS,
    TTL,
    Advert,
    JoinDesks,
    PeerTable,
    parse_static,
    read_port,
)
from tests.conftest import T0

OFFICE = "0f" * 16
OTHER_OFFICE = "1e" * 16
ALICE = "a1" * 16
BOB = "b2" * 16
CAROL = "c3" * 16


def advert(device: str = ALICE, /, **changes: object) -> Advert:
    base = Advert(OFFICE, device, "192.0.2.10", 4000, T0)
    return replace(base, **changes)  # type: ignore[arg-type]


def fake(n: int) -> str:
    """The n-th flood device id."""
    return f"{n:032x}"


HOSTILE = {
    "another office": advert(office_id=OTHER_OFFICE),
    "office id upper-case": advert(office_id=OFFICE.upper()),
    "office id of 31 digits": advert(office_id=OFFICE[:31]),
    "office id of 1 MB": advert(office_id="0" * 1_000_000),
    "device id upper-case": advert(ALICE.upper()),
    "device id of 31 digits": advert(ALICE[:31]),
    "device id of 33 digits": advert(ALICE + "0"),
    "device id not hex": advert("g" * 32),
    "device id with a newline": advert(ALICE[:31] + "\n"),
    "device id in full-width digits": advert("\uff10" * 32),
    "device id of 1 MB": advert("a" * 1_000_000),
    "port 0": advert(port=0),
    "port 65536": advert(port=65536),
    "port -1": advert(port=-1),
    "port 2**64": advert(port=2**64),
    "port a bool": advert(port=True),
    "port a string": advert(port="4000"),
    "host empty": advert(host=""),
    "host a name": advert(host="localhost"),
    "host with a port": advert(host="192.0.2.10:4000"),
    "host with a space": advert(host=" 192.0.2.10"),
    "host with leading zeros": advert(host="192.000.002.010"),
    "host unspecified v4": advert(host="0.0.0.0"),
    "host unspecified v6": advert(host="::"),
    "host multicast": advert(host="224.0.0.251"),
    "host of 1 MB": advert(host="1" * 1_000_000),
    "host not a string": advert(host=3221225994),
}


@pytest.mark.parametrize("bad", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_malformed_or_foreign_advert_is_ignored_and_counted(bad: Advert) -> None:
    table = PeerTable(OFFICE)
    assert table.observe(bad, T0) is False
    assert table.peers(T0) == []
    assert (table.stats.seen, table.stats.ignored) == (0, 1)


@pytest.mark.parametrize(
    ("host", "stored"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
        ("0:0::0001", "::1"),
        ("fe80::1%eth0", "fe80::1%eth0"),
    ],
)
def test_an_ip_literal_is_accepted_in_normal_form(host: str, stored: str) -> None:
    """Positive control for the rejections above."""
    table = PeerTable(OFFICE)
    assert table.observe(advert(host=host), T0) is True
    assert table.peers(T0) == [advert(host=stored)]


def test_the_table_keeps_the_time_it_was_told_not_the_adverts() -> None:
    table = PeerTable(OFFICE)
    table.observe(advert(seen=0.0), T0 + 5)
    assert table.peers(T0 + 5)[0].seen == T0 + 5


def test_another_device_of_the_office_is_a_separate_peer() -> None:
    table = PeerTable(OFFICE)
    assert table.observe(advert(ALICE), T0)
    assert table.observe(advert(BOB, port=4001), T0)
    assert [a.device_id for a in table.peers(T0)] == [ALICE, BOB]


def test_a_refresh_is_not_news_but_keeps_the_hint_fresh() -> None:
    table = PeerTable(OFFICE)
    assert table.observe(advert(), T0) is True
    assert table.observe(advert(), T0 + 100) is False
    assert table.peers(T0 + 100 + TTL) == [advert(seen=T0 + 100)]
    assert (table.stats.seen, table.stats.ignored) == (2, 0)


@pytest.mark.parametrize(
    "moved", [{"port": 4001}, {"host": "192.0.2.99"}, {"host": "::1", "port": 9}], ids=str
)
def test_an_advert_moving_a_known_device_replaces_the_hint(moved: dict[str, object]) -> None:
    """Threat 18: an impostor claims a peer's device id; the handshake will judge it."""
    table = PeerTable(OFFICE)
    table.observe(advert(), T0)
    assert table.observe(advert(**moved), T0 + 1) is True
    assert table.peers(T0 + 1) == [advert(seen=T0 + 1, **moved)]
    assert table.stats.evicted == 0


def test_a_flood_keeps_the_table_bounded_and_recent_peers_in_it() -> None:
    """Threat 21: 10,000 fake devices, while the real ones keep being observed."""
    table = PeerTable(OFFICE)
    real = [ALICE, BOB, CAROL]
    now = float(T0)
    started = time.monotonic()
    for n in range(10_000):
        now += 0.001
        table.observe(advert(fake(n), port=1 + n % 65535), now)
        if n % 100 == 0:  # each real peer answers the browser's queries now and then
            for device in real:
                table.observe(advert(device), now)
        assert len(table) <= MAX_PEERS
    elapsed = time.monotonic() - started
    peers = {a.device_id for a in table.peers(now)}
    assert len(table) == MAX_PEERS
    assert set(real) <= peers
    assert table.stats.evicted == 10_000 + len(real) - MAX_PEERS
    assert elapsed < 2.0, f"10,000 adverts took {elapsed:.2f} s"


def test_a_burst_evicts_the_least_recent_and_a_real_peer_comes_back_when_seen() -> None:
    """Threat 21, the worst case: the flood outnumbers the table at one instant."""
    table = PeerTable(OFFICE, max_peers=8)
    table.observe(advert(ALICE), T0)
    for n in range(100):
        table.observe(advert(fake(n)), T0 + 1)
    assert ALICE not in {a.device_id for a in table.peers(T0 + 1)}
    assert table.observe(advert(ALICE), T0 + 2) is True  # found again: the node connects
    assert ALICE in {a.device_id for a in table.peers(T0 + 2)}
    assert len(table) == 8


def test_one_device_hopping_ports_takes_one_slot() -> None:
    table = PeerTable(OFFICE, max_peers=4)
    for port in range(1, 5001):
        table.observe(advert(port=port), T0)
    assert len(table) == 1
    assert table.stats.evicted == 0


def test_a_hint_not_observed_within_the_ttl_expires() -> None:
    table = PeerTable(OFFICE, ttl=60.0)
    table.observe(advert(ALICE), T0)
    table.observe(advert(BOB), T0 + 30)
    assert table.expire(T0 + 60) == []  # exactly ttl old: still fresh
    assert [a.device_id for a in table.peers(T0 + 60.5)] == [BOB]  # stale ones are hidden...
    assert len(table) == 2  # ...until expired
    assert table.expire(T0 + 60.5) == [ALICE]
    assert table.expire(T0 + 1000) == [BOB]
    assert len(table) == 0
    assert table.stats.expired == 2


def test_forget_drops_one_hint() -> None:
    table = PeerTable(OFFICE)
    table.observe(advert(ALICE), T0)
    table.observe(advert(BOB), T0)
    assert table.forget(ALICE) is True
    assert table.forget(ALICE) is False
    assert [a.device_id for a in table.peers(T0)] == [BOB]


def test_peers_are_sorted_by_device_id() -> None:
    table = PeerTable(OFFICE)
    for device in (CAROL, ALICE, BOB):
        table.observe(advert(device), T0)
    assert [a.device_id for a in table.peers(T0)] == [ALICE, BOB, CAROL]


@pytest.mark.parametrize(
    "args", [("nope",), (OFFICE.upper(),), (OFFICE, 0), (OFFICE, 8, 0.0)], ids=str
)
def test_a_table_is_made_only_with_sane_settings(args: tuple[object, ...]) -> None:
    with pytest.raises(ValueError):
        PeerTable(*args)  # type: ignore[arg-type]


STATIC_GOOD = [
    ("127.0.0.1:4000", ("127.0.0.1", 4000)),
    ("  192.0.2.7:1\n", ("192.0.2.7", 1)),
    ("[::1]:65535", ("::1", 65535)),
    ("[fe80::0001]:80", ("fe80::1", 80)),
]


@pytest.mark.parametrize(("text", "expected"), STATIC_GOOD, ids=[t for t, _ in STATIC_GOOD])
def test_a_static_peer_is_parsed(text: str, expected: tuple[str, int]) -> None:
    """Threat 22: where multicast is blocked, static peers are the way in."""
    assert parse_static(text) == expected


STATIC_BAD = {
    "empty": "",
    "no port": "127.0.0.1",
    "empty port": "127.0.0.1:",
    "no host": ":4000",
    "port 0": "127.0.0.1:0",
    "port 65536": "127.0.0.1:65536",
    "port with a sign": "127.0.0.1:+80",
    "port in full-width digits": "127.0.0.1:\uff18\uff10",
    "port of six digits": "127.0.0.1:000080",
    "a host name": "vault.example:4000",
    "unspecified host": "0.0.0.0:4000",
    "IPv6 without brackets": "::1:4000",
    "brackets without a colon": "[::1]4000",
    "a newline inside": "127.0.0.1:40\n00",
    "1 MB": "1" * 1_000_000 + ":80",
}


@pytest.mark.parametrize("text", STATIC_BAD.values(), ids=STATIC_BAD.keys())
def test_a_bad_static_peer_gets_a_one_line_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"static peer|IPv6") as caught:
        parse_static(text)
    message = str(caught.value)
    assert "\n" not in message
    assert len(message) < 400


# -- join ports and join desks ---------------------------------------------------------------
PORTS_GOOD = {"1": 1, "80": 80, "8080": 8080, "65535": 65535}
PORTS_BAD = {
    "empty": "",
    "zero": "0",
    "one past the top": "65536",
    "five nines": "99999",
    "six digits": "123456",
    "a leading zero": "08080",
    "a plus sign": "+80",
    "a minus sign": "-1",
    "a leading space": " 80",
    "a trailing newline": "80\n",
    "hex": "0x50",
    "a decimal point": "80.0",
    "a letter": "8o80",
    "full-width digits": "\uff18\uff10",
    "arabic-indic digits": "\u0668\u0660",
    "a thousand digits": "9" * 1000,
}


@pytest.mark.parametrize(("text", "port"), PORTS_GOOD.items(), ids=PORTS_GOOD.keys())
def test_a_join_port_in_the_form_we_write_is_read(text: str, port: int) -> None:
    assert read_port(text) == port


@pytest.mark.parametrize("text", PORTS_BAD.values(), ids=PORTS_BAD.keys())
def test_a_join_port_in_any_other_form_is_none(text: str) -> None:
    assert read_port(text) is None


@pytest.mark.parametrize("join_port", [0, -1, 65536, True, "5000", 2**64])
def test_the_table_keeps_a_peer_whose_join_port_is_malformed_without_the_port(
    join_port: object,
) -> None:
    table = PeerTable(OFFICE)
    assert table.observe(advert(join_port=join_port), T0)
    assert [(a.device_id, a.join_port) for a in table.peers(T0)] == [(ALICE, None)]


def test_the_table_keeps_a_good_join_port() -> None:
    table = PeerTable(OFFICE)
    table.observe(advert(join_port=5000), T0)
    assert table.peers(T0)[0].join_port == 5000


def desk(device: str = ALICE, /, **changes: object) -> Advert:
    return advert(device, **{"join_port": 5000, **changes})


def test_a_new_pc_keeps_the_desks_of_any_office() -> None:
    desks = JoinDesks()
    assert desks.observe(desk(ALICE))
    assert desks.observe(desk(BOB, office_id=OTHER_OFFICE, host="192.0.2.11"))
    assert {(d.office_id, d.host, d.join_port) for d in desks.desks()} == {
        (OFFICE, "192.0.2.10", 5000),
        (OTHER_OFFICE, "192.0.2.11", 5000),
    }


DESKS_HOSTILE = {
    "no join port": advert(),
    "join port 0": desk(join_port=0),
    "join port 65536": desk(join_port=65536),
    "join port a string": desk(join_port="5000"),
    "join port a bool": desk(join_port=True),
    **{name: replace(bad, join_port=5000) for name, bad in HOSTILE.items()
       if name != "another office"},
}  # fmt: skip


@pytest.mark.parametrize("bad", DESKS_HOSTILE.values(), ids=DESKS_HOSTILE.keys())
def test_a_malformed_desk_advert_is_ignored_and_counted(bad: Advert) -> None:
    desks = JoinDesks()
    assert not desks.observe(bad)
    assert len(desks) == 0
    assert desks.stats.ignored == 1


def test_one_desk_heard_twice_is_one_desk_and_the_first_advert_stays() -> None:
    desks = JoinDesks()
    assert desks.observe(desk(ALICE))
    assert not desks.observe(desk(BOB))  # same host and join port, another device claims it
    assert [d.device_id for d in desks.desks()] == [ALICE]
    assert desks.observe(desk(ALICE, join_port=5001))  # another desk on the same host


def test_a_flood_of_desks_stays_bounded_and_the_first_heard_are_kept() -> None:
    """Threat 21 for a new PC: a flood cannot grow the list (it may crowd it: then --peer)."""
    desks = JoinDesks()
    real = desk(ALICE, host="192.0.2.1")
    assert desks.observe(real)
    for n in range(1000):
        desks.observe(desk(fake(n), host=f"198.51.100.{n % 250 + 1}", join_port=1000 + n))
    assert len(desks) == MAX_DESKS
    assert desks.stats.evicted == 1001 - MAX_DESKS
    assert real in desks.desks()


def test_desks_come_in_address_order_ipv4_first() -> None:
    desks = JoinDesks()
    for host, port in [("2001:db8::1", 1), ("192.0.2.10", 7), ("192.0.2.9", 9),
                       ("192.0.2.10", 3)]:  # fmt: skip
        desks.observe(desk(host=host, join_port=port))
    assert [(d.host, d.join_port) for d in desks.desks()] == [
        ("192.0.2.9", 9), ("192.0.2.10", 3), ("192.0.2.10", 7), ("2001:db8::1", 1),
    ]  # fmt: skip


def test_desks_are_made_only_with_a_sane_bound() -> None:
    with pytest.raises(ValueError):
        JoinDesks(0)
