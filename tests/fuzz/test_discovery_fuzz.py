"""Fuzzing mDNS adverts: discovery.mdns `read_txt` and `read_advert`, and the tables they
feed (discovery.peers `PeerTable`, `JoinDesks`, `normal_host`, `read_port`).

Anyone on the LAN can send any TXT record and any address list. Threats: a
record that crashes zeroconf's callback thread in our parser, or a hint of
the wrong shape that gets into the peer table or the join desks (an address
that is not an IP literal, a port out of range, an id that is not 32 hex
digits), or crashes the table when it sorts its desks. The readers never
raise (a bad record is None), and what reaches a table is well formed.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from discovery.mdns import read_advert, read_txt
from discovery.peers import JoinDesks, PeerTable, is_id, is_port, normal_host, read_port
from tests.fuzz.hostile import FUZZ, hostile, outcome, watchdog

OFFICE = "0123456789abcdef" * 2
DEVICE = "fedcba9876543210" * 2


def txt(*items: bytes) -> bytes:
    """A TXT record as DNS writes it: each item one length byte, then the item."""
    return b"".join(bytes([len(item)]) + item for item in items)


RECORDS = (
    txt(b"o=" + OFFICE.encode(), b"d=" + DEVICE.encode(), b"v=1"),
    txt(b"v=1", b"o=" + OFFICE.encode(), b"d=" + DEVICE.encode(), b"j=4242", b"x=ignored"),
)
addresses = st.lists(
    st.sampled_from(["127.0.0.1", "10.0.0.7", "::1", "fe80::1%eth0", "0.0.0.0", "224.0.0.251",
                     "010.0.0.1", "1.2.3", "host.local", "", "::ffff:10.0.0.1", "1" * 65])
    | st.text(st.sampled_from("0123456789abcdef.:%[]"), max_size=40)
    | st.text(max_size=12),
    max_size=10,
)  # fmt: skip


def test_the_samples_are_valid() -> None:
    for record in RECORDS:
        advert = read_advert(record, ["10.0.0.7"], 4000, 1.0)
        assert advert is not None and (advert.office_id, advert.device_id) == (OFFICE, DEVICE)


@FUZZ
@given(hostile(RECORDS, max_size=1100), addresses, st.integers(-1, 70_000))
def test_a_hostile_advert_is_dropped_or_well_formed_in_the_tables(
    record: bytes, hosts: list[str], port: int
) -> None:
    """Threat: a forged TXT record or address list crashes the parser on zeroconf's thread, or
    puts a hint that is not an IP literal, a port or an id into the peer table or desks."""
    values = outcome(lambda: read_txt(record))
    assert values is None or (set(values) <= {"o", "d", "v", "j"} and all(
        v.isascii() and len(v) <= 64 for v in values.values()))  # fmt: skip
    advert = outcome(lambda: read_advert(record, hosts, port, 1.0))
    if advert is None:
        return
    assert normal_host(advert.host) is not None
    assert advert.join_port is None or is_port(advert.join_port)
    table, desks = PeerTable(OFFICE), JoinDesks()
    with watchdog():
        table.observe(advert, 2.0)
        desks.observe(advert)
        kept = [*table.peers(2.0), *desks.desks()]
    for hint in kept:
        assert is_id(hint.device_id) and is_port(hint.port)
        assert normal_host(hint.host) == hint.host


@FUZZ
@given(addresses.map(lambda hosts: hosts[0] if hosts else "") | st.text(max_size=70))
def test_an_address_is_refused_or_normal_and_stable(host: str) -> None:
    """Threat: an address that normalises to something that does not normalise to itself
    (two spellings of one peer), or to a name or an address no peer can listen at."""
    normal = outcome(lambda: normal_host(host))
    if normal is not None:
        assert normal_host(normal) == normal


@FUZZ
@given(st.text(st.sampled_from("0123456789+-x ٣\n"), max_size=8) | st.text(max_size=8))
def test_a_port_is_refused_or_canonical(text: str) -> None:
    """Threat: a join port written as '08080', '+80', ' 80' or in non-ASCII digits is read."""
    port = outcome(lambda: read_port(text))
    if port is not None:
        assert is_port(port) and str(port) == text
