"""The peer table and static peers: hostile adverts cost little and evict no one recent
(SECURITY_TESTS 18, 21, 22).

Anyone on the LAN can advertise anything, so every malformed advert is a
row of data that must be ignored and counted. A flood of valid-looking
adverts keeps the table at its bound while peers observed recently stay;
an advert that moves a known device to another address replaces the hint
(the CURVE handshake decides later who is real). Time is passed in.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from discovery.peers import MAX_PEERS, TTL, Advert, PeerTable, parse_static
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
