"""The structural rules of vault document updates, decided from the bytes alone.

Threats covered (DESIGN "The hard part", I-2): a peer's update that writes
under another device's client id, skips or re-uses clocks, puts a value
under a key other than its item's own version key (so that it lands on an
existing entry: an overwrite without an origin), writes outside the
"entries" root, nests maps, carries an origin (an overwrite), stores text
instead of bytes, deletes without the right to, or says nothing; and keys
that look like version keys but are not canonical, so that two spellings of
one item could coexist. Updates the vault document itself writes are the
control: they must always pass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map, TransactionEvent

from crdt import rules
from crdt.errors import UpdateError
from crdt.rules import check, parse_version_key, version_key
from crdt.vaultdoc import VaultDoc
from crdt.yupdate import MAX_CLIENT, MAX_CLOCK, DeleteRange

CLIENT = 1000  # version keys "3e8.<clock>"


def written(client: int, *steps: tuple[list[bytes], list[str]]) -> list[bytes]:
    """The update of each VaultDoc.write(values, deletes) step, in order."""
    doc = VaultDoc(client)
    return [doc.write(values, deletes)[1] for values, deletes in steps]


def raw(client: int, *steps: Callable[[Doc[Any]], None]) -> list[bytes]:
    """Updates of a plain pycrdt Doc, one per step: what a hostile peer can send."""
    doc: Doc[Any] = Doc(client_id=client)
    out: list[bytes] = []

    def keep(event: TransactionEvent) -> None:
        out.append(event.update)

    doc.observe(keep)
    for step in steps:
        with doc.transaction():
            step(doc)
    return out


def put(key: str, value: Any, root: str = rules.ROOT) -> Callable[[Doc[Any]], None]:
    def run(doc: Doc[Any]) -> None:
        doc.get(root, type=Map)[key] = value

    return run


# -- what the vault document writes passes --------------------------------------------------
Case = tuple[bytes, int, int, bool]  # update, author client, author's first clock, may delete

ACCEPTED: list[tuple[str, Callable[[], Case], tuple[str, ...], tuple[DeleteRange, ...], int]] = [
    ("one-value",
     lambda: (written(CLIENT, ([b"v"], []))[0], CLIENT, 0, False), ("3e8.0",), (), 1),
    ("three-values-in-one-write",
     lambda: (written(CLIENT, ([b"a", b"b", b"c"], []))[0], CLIENT, 0, False),
     ("3e8.0", "3e8.1", "3e8.2"), (), 3),
    ("a-second-write-continues-the-clock",
     lambda: (written(CLIENT, ([b"a"], []), ([b"b", b"c"], []))[1], CLIENT, 1, False),
     ("3e8.1", "3e8.2"), (), 3),
    ("an-empty-value",
     lambda: (written(CLIENT, ([b""], []))[0], CLIENT, 0, False), ("3e8.0",), (), 1),
    ("client-zero",
     lambda: (written(0, ([b"v"], []))[0], 0, 0, False), ("0.0",), (), 1),
    ("the-largest-client-id",
     lambda: (written(MAX_CLIENT, ([b"v"], []))[0], MAX_CLIENT, 0, False),
     ("1fffffffffffff.0",), (), 1),
    ("an-admin-delete-alone",
     lambda: (written(CLIENT, ([b"a"], []), ([], ["3e8.0"]))[1], CLIENT, 1, True),
     (), (DeleteRange(CLIENT, 0, 1),), 1),
    ("an-admin-purge-value-with-its-deletes",
     lambda: (written(CLIENT, ([b"a", b"b"], []), ([b"p"], ["3e8.0", "3e8.1"]))[1],
              CLIENT, 2, True),
     ("3e8.2",), (DeleteRange(CLIENT, 0, 2),), 3),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "keys", "deletes", "end"),
    [a[1:] for a in ACCEPTED],
    ids=[a[0] for a in ACCEPTED],
)
def test_what_the_vault_document_writes_is_accepted(
    make: Callable[[], Case], keys: tuple[str, ...], deletes: tuple[DeleteRange, ...], end: int
) -> None:
    update, client, first, may_delete = make()
    change = check(update, client, first, may_delete)
    assert tuple(k for k, _ in change.values) == keys
    assert change.deletes == deletes and change.end_clock == end


def test_values_come_back_as_written() -> None:
    (update,) = written(CLIENT, ([b"\x00one", b"two\xff"], []))
    assert check(update, CLIENT, 0, False).values == (("3e8.0", b"\x00one"), ("3e8.1", b"two\xff"))


def test_an_admin_may_delete_another_devices_item() -> None:
    """Purges remove the versions of every author; the role check, not this one, limits it."""
    (theirs,) = written(CLIENT + 1, ([b"v"], []))
    doc = VaultDoc(CLIENT)
    doc.apply(theirs)
    _, purge = doc.write([], ["3e9.0"])
    assert check(purge, CLIENT, 0, True).deletes == (DeleteRange(CLIENT + 1, 0, 1),)


# -- what else a peer can send is refused ----------------------------------------------------
REJECTED: list[tuple[str, Callable[[], Case], str]] = [
    ("another-devices-client-id",
     lambda: (written(CLIENT, ([b"v"], []))[0], CLIENT + 1, 0, True), "another device"),
    ("clock-gap-skips-the-authors-next-clock",
     lambda: (written(CLIENT, ([b"a"], []), ([b"b"], []))[1], CLIENT, 0, True), "continue"),
    ("clock-overlap-reuses-an-earlier-clock",
     lambda: (written(CLIENT, ([b"a"], []))[0], CLIENT, 1, True), "continue"),
    ("clock-overlap-by-part-of-the-update",
     lambda: (written(CLIENT, ([b"a"], []), ([b"b", b"c"], []))[1], CLIENT, 2, True), "continue"),
    ("key-of-a-later-clock",
     lambda: (raw(CLIENT, put("3e8.1", b"v"))[0], CLIENT, 0, True), "own version key"),
    ("key-of-another-client",
     lambda: (raw(CLIENT, put("3e9.0", b"v"))[0], CLIENT, 0, True), "own version key"),
    ("a-plain-name-as-key",
     lambda: (raw(CLIENT, put("title", b"v"))[0], CLIENT, 0, True), "own version key"),
    ("non-canonical-key-leading-zero",
     lambda: (raw(CLIENT, put("03e8.0", b"v"))[0], CLIENT, 0, True), "own version key"),
    ("non-canonical-key-upper-case",
     lambda: (raw(CLIENT, put("3E8.0", b"v"))[0], CLIENT, 0, True), "own version key"),
    ("non-canonical-key-padded-clock",
     lambda: (raw(CLIENT, put("3e8.00", b"v"))[0], CLIENT, 0, True), "own version key"),
    ("the-right-key-in-another-root",
     lambda: (raw(CLIENT, put("3e8.0", b"v", root="other"))[0], CLIENT, 0, True), "top-level"),
    ("a-nested-map",
     lambda: (raw(CLIENT, put("3e8.0", Map({"3e8.1": b"v"})))[0], CLIENT, 0, True), "entry value"),
    ("an-overwrite-with-an-origin-even-by-an-admin",
     lambda: (raw(CLIENT, put("3e8.0", b"a"), put("3e8.0", b"b"))[1], CLIENT, 1, True),
     "top-level"),
    ("a-string-value",
     lambda: (raw(CLIENT, put("3e8.0", "text"))[0], CLIENT, 0, True), "not bytes"),
    ("a-delete-by-a-member",
     lambda: (written(CLIENT, ([b"a"], []), ([], ["3e8.0"]))[1], CLIENT, 1, False), "delete"),
    ("a-value-and-a-delete-by-a-member",
     lambda: (written(CLIENT, ([b"a"], []), ([b"b"], ["3e8.0"]))[1], CLIENT, 1, False), "delete"),
    ("an-empty-update", lambda: (b"\x00\x00", CLIENT, 0, True), "empty"),
    ("five-client-sections", lambda: (b"\x05\x00", CLIENT, 0, True), "out of range"),
    ("a-truncated-update",
     lambda: (written(CLIENT, ([b"v"], []))[0][:-2], CLIENT, 0, True), "truncated"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "why"), [r[1:] for r in REJECTED], ids=[r[0] for r in REJECTED])
def test_hostile_updates_are_refused(make: Callable[[], Case], why: str) -> None:
    update, client, first, may_delete = make()
    with pytest.raises(UpdateError, match=why):
        check(update, client, first, may_delete)


def test_the_overwrite_of_the_table_is_a_real_one() -> None:
    """Control: the origin case above really overwrites (pycrdt keeps only the new value)."""
    doc: Doc[Any] = Doc(client_id=CLIENT + 7)
    for update in raw(CLIENT, put("3e8.0", b"a"), put("3e8.0", b"b")):
        doc.apply_update(update)
    assert dict(doc.get(rules.ROOT, type=Map)) == {"3e8.0": b"b"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.booleans())
def test_any_bytes_are_accepted_or_refused_with_update_error(data: bytes, may_delete: bool) -> None:
    with contextlib.suppress(UpdateError):
        check(data, CLIENT, 0, may_delete)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(min_value=0, max_value=MAX_CLIENT),
    st.lists(st.lists(st.binary(max_size=20), min_size=1, max_size=4), min_size=1, max_size=4),
)
def test_every_write_of_the_vault_document_passes(client: int, writes: list[list[bytes]]) -> None:
    doc = VaultDoc(client)
    clock = 0
    for values in writes:
        keys, update = doc.write(values)
        change = check(update, client, clock, may_delete=False)
        assert change.values == tuple(zip(keys, values, strict=True))
        assert [parse_version_key(k) for k in keys] == [
            (client, clock + i) for i in range(len(keys))
        ]
        clock = change.end_clock
    assert clock == doc.next_clock()


# -- version keys -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("client", "clock", "key"),
    [(0, 0, "0.0"), (CLIENT, 0, "3e8.0"), (CLIENT, 26, "3e8.1a"),
     (MAX_CLIENT, MAX_CLOCK, "1fffffffffffff.ffffffff")],
    ids=["zero", "client-1000", "hex-clock", "largest"],
)  # fmt: skip
def test_version_keys_are_lower_case_hex_without_padding(client: int, clock: int, key: str) -> None:
    assert version_key(client, clock) == key
    assert parse_version_key(key) == (client, clock)


NOT_VERSION_KEYS = [
    ("leading-zero-client", "03e8.0"),
    ("leading-zero-clock", "3e8.00"),
    ("upper-case", "3E8.0"),
    ("upper-case-clock", "3e8.A"),
    ("empty", ""),
    ("no-clock", "3e8"),
    ("empty-clock", "3e8."),
    ("empty-client", ".0"),
    ("three-parts", "3e8.0.0"),
    ("negative", "-1.0"),
    ("hex-prefix", "0x3e8.0"),
    ("leading-space", " 3e8.0"),
    ("trailing-newline", "3e8.0\n"),
    ("comma", "3e8,0"),
    ("non-ascii-digit", "3e8.\u0661"),
    ("client-2**53", "20000000000000.0"),
    ("client-15-digits", "100000000000000.0"),
    ("clock-2**32", "3e8.100000000"),
]


@pytest.mark.parametrize(
    "key", [k[1] for k in NOT_VERSION_KEYS], ids=[k[0] for k in NOT_VERSION_KEYS]
)
def test_non_canonical_version_keys_are_refused(key: str) -> None:
    with pytest.raises(UpdateError):
        parse_version_key(key)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=MAX_CLIENT), st.integers(min_value=0, max_value=MAX_CLOCK)
)
def test_version_keys_round_trip(client: int, clock: int) -> None:
    assert parse_version_key(version_key(client, clock)) == (client, clock)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEF.x- ", max_size=24))
def test_a_parsed_key_is_the_canonical_spelling(key: str) -> None:
    """One item, one key: any string that parses is exactly the key version_key would make."""
    with contextlib.suppress(UpdateError):
        assert version_key(*parse_version_key(key)) == key
