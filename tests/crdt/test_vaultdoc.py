"""`VaultDoc`: the write-once map of byte values that every replica builds.

Threats covered: an envelope that carries more than its own transaction
(an earlier delete smuggled along would be signed by the wrong change),
listeners that miss a value appearing or disappearing (the plain view would
drift from the document), and garbage update bytes that pycrdt refuses but
that leave the document half-changed or escape as a foreign exception
(SECURITY_TESTS 27).
"""

from __future__ import annotations

import pytest

from crdt import rules, yupdate
from crdt.errors import UpdateError
from crdt.vaultdoc import VaultDoc
from crdt.yupdate import DeleteRange

ALICE, BOB = 1000, 2000


class Recorder:
    """Every (added, removed) a document's listener hears."""

    def __init__(self, doc: VaultDoc) -> None:
        self.heard: list[tuple[list[tuple[str, bytes]], list[str]]] = []
        self.stop = doc.subscribe(lambda added, removed: self.heard.append((added, removed)))


def test_write_puts_values_under_fresh_version_keys() -> None:
    doc = VaultDoc(ALICE)
    keys, _ = doc.write([b"one", b"two"])
    assert keys == [rules.version_key(ALICE, 0), rules.version_key(ALICE, 1)]
    assert doc.get(keys[1]) == b"two" and isinstance(doc.get(keys[1]), bytes)
    assert sorted(doc.items()) == [(keys[0], b"one"), (keys[1], b"two")]
    assert keys[0] in doc and "3e8.9" not in doc and len(doc) == 2
    assert doc.get("3e8.9") is None


def test_an_update_applied_elsewhere_gives_the_same_values() -> None:
    alice, bob = VaultDoc(ALICE), VaultDoc(BOB)
    keys, update = alice.write([b"\x00secret\xff"])
    bob.apply(update)
    assert dict(bob.items()) == {keys[0]: b"\x00secret\xff"} == dict(alice.items())


def test_listeners_hear_adds_locally_and_remotely() -> None:
    alice, bob = VaultDoc(ALICE), VaultDoc(BOB)
    here, there = Recorder(alice), Recorder(bob)
    keys, update = alice.write([b"a", b"b"])
    bob.apply(update)
    expected: tuple[list[tuple[str, bytes]], list[str]] = (
        sorted(zip(keys, [b"a", b"b"], strict=True)),
        [],
    )
    assert [(sorted(a), r) for a, r in here.heard] == [expected]
    assert [(sorted(a), r) for a, r in there.heard] == [expected]


def test_listeners_hear_deletes_locally_and_remotely() -> None:
    alice, bob = VaultDoc(ALICE), VaultDoc(BOB)
    keys, added = alice.write([b"a", b"b"])
    bob.apply(added)
    here, there = Recorder(alice), Recorder(bob)
    _, removal = alice.write([], [keys[0]])
    bob.apply(removal)
    assert here.heard == [([], [keys[0]])] and there.heard == [([], [keys[0]])]
    assert dict(bob.items()) == {keys[1]: b"b"}


def test_a_purge_value_and_its_deletes_are_heard_together() -> None:
    doc = VaultDoc(ALICE)
    keys, _ = doc.write([b"a"])
    heard = Recorder(doc)
    (purge,), _ = doc.write([b"purge"], keys)
    assert heard.heard == [([(purge, b"purge")], keys)]


def test_an_unsubscribed_listener_hears_nothing() -> None:
    doc = VaultDoc(ALICE)
    heard = Recorder(doc)
    heard.stop()
    doc.write([b"a"])
    assert heard.heard == []


def test_next_clock_counts_only_own_items() -> None:
    alice, bob = VaultDoc(ALICE), VaultDoc(BOB)
    assert alice.next_clock() == 0
    _, update = alice.write([b"a", b"b", b"c"])
    assert alice.next_clock() == 3
    bob.apply(update)
    assert bob.next_clock() == 0 and bob.state() == {ALICE: 3}
    bob.write([b"x"])
    assert bob.next_clock() == 1 and bob.state() == {ALICE: 3, BOB: 1}


def test_a_delete_does_not_move_the_clock() -> None:
    doc = VaultDoc(ALICE)
    keys, _ = doc.write([b"a"])
    doc.write([], keys)
    assert doc.next_clock() == 1
    assert doc.write([b"b"])[0] == [rules.version_key(ALICE, 1)]


def test_a_snapshot_round_trips() -> None:
    alice = VaultDoc(ALICE)
    keys, _ = alice.write([b"a", b"b", b"c"])
    alice.write([], [keys[1]])
    copy = VaultDoc(BOB)
    heard = Recorder(copy)
    copy.apply(alice.snapshot())
    assert sorted(copy.items()) == sorted(alice.items()) == [(keys[0], b"a"), (keys[2], b"c")]
    assert copy.state() == alice.state()
    assert sorted(heard.heard[0][0]) == [(keys[0], b"a"), (keys[2], b"c")]


def test_a_restarted_device_continues_its_clock_from_its_snapshot() -> None:
    before = VaultDoc(ALICE)
    before.write([b"a", b"b"])
    after = VaultDoc(ALICE)
    after.apply(before.snapshot())
    assert after.next_clock() == 2
    assert after.write([b"c"])[0] == [rules.version_key(ALICE, 2)]


def test_the_update_of_a_write_is_exactly_that_transaction() -> None:
    """No earlier delete (or value) rides along: each update is only what its write did."""
    doc = VaultDoc(ALICE)
    keys, first = doc.write([b"a"])
    _, removal = doc.write([], keys)
    new_keys, last = doc.write([b"b"])
    decoded = yupdate.decode(last)
    assert decoded.deletes == () and [i.key for i in decoded.items] == new_keys
    assert decoded.first_clock == 1
    assert yupdate.decode(removal).items == ()
    assert yupdate.decode(removal).deletes == (DeleteRange(ALICE, 0, 1),)
    assert rules.check(last, ALICE, 1, may_delete=False).values == ((new_keys[0], b"b"),)
    assert len(yupdate.decode(first).items) == 1


def test_an_update_received_is_not_carried_by_the_next_write() -> None:
    alice, bob = VaultDoc(ALICE), VaultDoc(BOB)
    _, theirs = bob.write([b"theirs"])
    alice.apply(theirs)
    _, mine = alice.write([b"mine"])
    decoded = yupdate.decode(mine)
    assert decoded.client == ALICE and [i.value for i in decoded.items] == [b"mine"]


def test_a_delete_of_an_absent_key_is_skipped() -> None:
    doc = VaultDoc(ALICE)
    keys, update = doc.write([b"a"], ["3e8.77"])
    assert yupdate.decode(update).deletes == () and list(doc.items()) == [(keys[0], b"a")]


def test_a_write_that_changes_nothing_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        VaultDoc(ALICE).write([])


def _good() -> bytes:
    return VaultDoc(BOB).write([b"value"])[1]


# Bytes pycrdt itself refuses. (Bytes it accepts, such as trailing garbage, never reach it:
# rules.check runs first; see test_rules.py.)
GARBAGE = [
    ("empty", b""),
    ("one-byte-ff", b"\xff"),
    ("only-the-client-count", b"\x00"),
    ("section-header-only", b"\x01\x01"),
    ("truncated-by-three", _good()[:-3]),
    ("truncated-to-five", _good()[:5]),
    ("overlong-varuint", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
]


@pytest.mark.parametrize("data", [g[1] for g in GARBAGE], ids=[g[0] for g in GARBAGE])
def test_garbage_raises_update_error_and_changes_nothing(data: bytes) -> None:
    doc = VaultDoc(ALICE)
    keys, _ = doc.write([b"kept"])
    heard = Recorder(doc)
    with pytest.raises(UpdateError):
        doc.apply(data)
    assert list(doc.items()) == [(keys[0], b"kept")]
    assert doc.state() == {ALICE: 1} and heard.heard == []
