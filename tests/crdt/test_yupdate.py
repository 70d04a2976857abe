"""The strict Y update decoder: real pycrdt updates decode; everything else is refused.

Threats covered: update bytes from a peer that crash or confuse yrs (two
sections of one client with overlapping clocks kill the process; overlong
numbers are silently truncated; huge counts make it allocate), and shapes
the vault document never writes, which a role check could misread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map, TransactionEvent

from crdt.errors import UpdateError
from crdt.yupdate import DeleteRange, ItemId, decode

CLIENT = 1000


def new_doc(client: int) -> Doc[Any]:
    return Doc(client_id=client)


def updates_of(doc: Doc[Any], *steps: Callable[[Map[Any]], None]) -> list[bytes]:
    """Run each step in its own transaction on the doc's "entries" map; return each update."""
    entries = doc.get("entries", type=Map)
    out: list[bytes] = []

    def keep(event: TransactionEvent) -> None:
        out.append(event.update)

    sub = doc.observe(keep)
    try:
        for step in steps:
            with doc.transaction():
                step(entries)
    finally:
        doc.unobserve(sub)
    return out


def test_a_new_key_with_bytes() -> None:
    (update,) = updates_of(new_doc(CLIENT), lambda e: e.__setitem__("k1", b"\x01\x02\x03"))
    assert update == bytes.fromhex("0101e80700280107656e7472696573026b3101740301020300")
    decoded = decode(update)
    assert decoded.client == CLIENT and decoded.first_clock == 0 and decoded.end_clock == 1
    (item,) = decoded.items
    assert item.id == ItemId(CLIENT, 0)
    assert (item.origin, item.parent_root, item.parent_item, item.key) == (
        None,
        "entries",
        None,
        "k1",
    )
    assert item.value == b"\x01\x02\x03"
    assert decoded.deletes == ()


def test_a_nested_map_names_its_parent_by_id() -> None:
    doc = new_doc(CLIENT)
    (update,) = updates_of(doc, lambda e: e.__setitem__("k", Map({"a": b"A", "b": "B"})))
    items = decode(update).items
    assert items[0].is_map and items[0].key == "k" and items[0].parent_root == "entries"
    assert {i.key: i.value for i in items[1:]} == {"a": b"A", "b": "B"}
    assert all(i.parent_item == items[0].id for i in items[1:])


def test_an_overwrite_has_an_origin_and_deletes_the_old_value() -> None:
    doc = new_doc(CLIENT)
    _, second = updates_of(
        doc, lambda e: e.__setitem__("k", b"old"), lambda e: e.__setitem__("k", b"new")
    )
    decoded = decode(second)
    (item,) = decoded.items
    assert item.origin == ItemId(CLIENT, 0) and item.key is None and item.parent_root is None
    assert item.value == b"new"
    assert decoded.deletes == (DeleteRange(CLIENT, 0, 1),)


def test_a_delete_carries_no_items() -> None:
    doc = new_doc(CLIENT)
    _, removal = updates_of(doc, lambda e: e.__setitem__("k", b"v"), lambda e: e.pop("k"))
    decoded = decode(removal)
    assert decoded.client is None and decoded.items == ()
    assert decoded.deletes == (DeleteRange(CLIENT, 0, 1),)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.one_of(st.binary(max_size=40), st.text(max_size=40), st.none()),
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(min_value=0, max_value=2**53 - 1),
)
def test_every_update_of_honest_map_writes_decodes(
    ops: list[tuple[str, bytes | str | None]], client: int
) -> None:
    """Writes, overwrites and deletes as the vault document makes them always decode."""
    doc = new_doc(client)

    def step(key: str, value: bytes | str | None) -> Callable[[Map[Any]], None]:
        def run(entries: Map[Any]) -> None:
            if value is None:
                if key in entries:
                    del entries[key]
            else:
                entries[key] = value

        return run

    for update in updates_of(doc, *(step(k, v) for k, v in ops)):
        decoded = decode(update)
        assert decoded.client in (None, client)
        replica = new_doc(client + 1 if client < 2**53 - 1 else 0)
        replica.apply_update(update)


# Each literal names the attack. All are refused before pycrdt could see them.
HOSTILE = [
    ("empty", b""),
    ("two-client-sections-same-client-overlapping-clocks-segfaults-yrs",
     bytes.fromhex("0201e8070028010765") + b"ntries" + bytes.fromhex("0161017401410001e80700")),
    ("two-client-sections", bytes.fromhex("02")),
    ("overlong-varuint-client", bytes.fromhex("0101e8878000002801") + b"\x07entries\x01k\x01\x74\x00\x00"),
    ("client-id-2**53-truncated-to-0-by-yrs",
     bytes.fromhex("0101") + bytes.fromhex("8080808080808010") + bytes.fromhex("00280107") + b"entries\x01k\x01\x74\x00\x00"),
    ("gc-struct", bytes.fromhex("0101e807000001" "00")),
    ("skip-struct", bytes.fromhex("0101e807000a01" "00")),
    ("deleted-content", bytes.fromhex("0101e8070021010765") + b"ntries\x01t\x01\x00"),
    ("right-origin", bytes.fromhex("0101e8070068e8070001740100" "00")),
    ("info-bit-4-masked-away-by-yrs", bytes.fromhex("0101e8070038010765") + b"ntries\x01k\x01\x74\x00\x00"),
    ("json-content", bytes.fromhex("0101e8070022010765") + b"ntries\x01k\x00\x00"),
    ("binary-content", bytes.fromhex("0101e8070023010765") + b"ntries\x01k\x00\x00"),
    ("string-content", bytes.fromhex("0101e8070024010765") + b"ntries\x01k\x00\x00"),
    ("doc-content", bytes.fromhex("0101e8070029010765") + b"ntries\x01k\x00\x00"),
    ("nested-array-type", bytes.fromhex("0101e8070027010765") + b"ntries\x01k\x00\x00"),
    ("nested-text-type", bytes.fromhex("0101e8070027010765") + b"ntries\x01k\x02\x00"),
    ("any-with-two-values", bytes.fromhex("0101e8070028010765") + b"ntries\x01k\x02\x74\x00\x74\x00\x00"),
    ("any-number", bytes.fromhex("0101e8070028010765") + b"ntries\x01k\x01\x7d\x05\x00"),
    ("any-object", bytes.fromhex("0101e8070028010765") + b"ntries\x01k\x01\x76\x00\x00"),
    ("truncated-value", bytes.fromhex("0101e8070028010765") + b"ntries\x01k\x01\x74\x05ab"),
    ("huge-declared-length", bytes.fromhex("0101e8070028010765") + b"ntries\x01k\x01\x74\xff\xff\xff\x7f"),
    ("huge-struct-count", bytes.fromhex("01ffffffff0f")),
    ("invalid-utf8-key", bytes.fromhex("0101e8070028010765") + b"ntries\x01\xff\x01\x74\x00\x00"),
    ("trailing-bytes", bytes.fromhex("0000ff")),
    ("empty-client-section", bytes.fromhex("0100e8070000")),
    ("delete-set-client-twice", bytes.fromhex("0002e8070100" "01e807010001")),
    ("empty-delete-range", bytes.fromhex("0001e807010000")),
    ("clock-past-2**32", bytes.fromhex("0101e807ffffffff0f28010765") + b"ntries\x01k\x01\x74\x00\x00"),
]  # fmt: skip


@pytest.mark.parametrize("data", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_updates_are_refused(data: bytes) -> None:
    with pytest.raises(UpdateError):
        decode(data)


def test_the_smallest_update_decodes() -> None:
    """Control for the table: `00 00` (nothing, no deletes) is a valid empty update."""
    empty = decode(b"\x00\x00")
    assert (empty.client, empty.items, empty.deletes) == (None, (), ())


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_update_error(data: bytes) -> None:
    with contextlib.suppress(UpdateError):
        decode(data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_real_updates_decode_or_raise_update_error(data: st.DataObject) -> None:
    doc = new_doc(CLIENT)
    (update,) = updates_of(doc, lambda e: e.__setitem__("k", Map({"a": b"A", "b": "text"})))
    raw = bytearray(update)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        raw[data.draw(st.integers(min_value=0, max_value=len(raw) - 1))] = data.draw(
            st.integers(min_value=0, max_value=255)
        )
    with contextlib.suppress(UpdateError):
        decode(bytes(raw))
