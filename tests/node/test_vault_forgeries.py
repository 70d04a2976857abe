"""Forged and replayed envelopes against the vault, in every delivery order.

Threats covered (DESIGN I-1, I-2, I-6; SECURITY_TESTS 13, 15): an enrolled member
(bob) who writes Y updates by hand, seals fields with the real vault key and signs
envelopes with his real device key, so that only the role and structure rules can
stop him: edits, trash and purge of an admin's entry (a, b), delete sets (c),
client-id squatting and keys naming another device's item (d), adds of entry ids
bound to another device (e), and a second add of his own entry (f); an admin (dave)
writing past his demotion's cut-off (g); replays of every envelope and record, and a
second envelope under a used sequence number.

Every forgery is delivered to every replica (alice, dave, carol, and a fresh copy
that syncs from carol's op log) before, between and after the legitimate envelopes
it attacks; every replica must then show exactly what the authors' alice shows. The
forging kit and the office are tests/node/forging.py's. Not covered here: bytes that
are not what their author signed (tests/node/test_vault_tampering.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crdt import yupdate
from crdt.rules import version_key
from node import crypto, envelopes, versions
from node.errors import PeerError
from node.tokens import Role
from node.vault import Vault
from node.versions import Kind
from tests.node import vault_kit as kit
from tests.node.forging import (
    FORGED,
    ORDERS,
    T1,
    T2,
    T3,
    T4,
    Attack,
    AttackMaker,
    Records,
    World,
    assert_legitimate_state_only,
    client,
    device,
    feed,
    forged_fields,
    last_envelope,
    own_add,
    raw_doc,
    shown,
    sign,
    sync_authors,
    target_of,
    two_adds,
    version,
    version_in,
    y_update,
)


# -- attacks judged invalid: a member's (a-e) and a demoted admin's (g) ---------------------
def member_edit(claim_admin: bool) -> AttackMaker:
    def make(w: World) -> Attack:
        first, second = two_adds(w)
        bob, alice = w.authors["bob"], w.authors["alice"]
        entry, key = target_of(first)
        fields = forged_fields(bob, entry)
        author = device(alice) if claim_admin else None
        edit = version(bob, Kind.EDIT, entry, T3, base=(key,), fields=fields, author=author)
        _, update = raw_doc(bob).write([edit])
        why = "differs from its envelope" if claim_admin else "a member may only add"
        return Attack((first, second), (sign(bob, update, T3),), why)

    return make


def member_edit_beside_own_add(w: World) -> Attack:
    """One envelope with a valid add of bob's own and an edit of alice's: all of it goes."""
    first, second = two_adds(w)
    bob = w.authors["bob"]
    entry, key = target_of(first)
    edit = version(bob, Kind.EDIT, entry, T3, base=(key,), fields=forged_fields(bob, entry))
    _, update = raw_doc(bob).write([own_add(bob, T3)[1], edit])
    return Attack((first, second), (sign(bob, update, T3),), "a member may only add")


def member_status(kind: Kind, delete: bool = False) -> AttackMaker:
    def make(w: World) -> Attack:
        first, second = two_adds(w)
        bob = w.authors["bob"]
        entry, key = target_of(first)
        _, update = raw_doc(bob).write([version(bob, kind, entry, T3)], [key] if delete else ())
        why = "may not delete" if delete else "a member may only add"
        return Attack((first, second), (sign(bob, update, T3),), why)

    return make


def member_delete_set(with_own_add: bool) -> AttackMaker:
    def make(w: World) -> Attack:
        first, second = two_adds(w)
        bob = w.authors["bob"]
        _, key = target_of(first)
        values = [own_add(bob, T3)[1]] if with_own_add else []
        _, update = raw_doc(bob).write(values, [key])
        return Attack((first, second), (sign(bob, update, T3),), "may not delete")

    return make


def squat_next_clock(w: World) -> Attack:
    """Bob writes under alice's client id at the clock her second add is about to use."""
    first, second = two_adds(w)
    bob, alice = w.authors["bob"], w.authors["alice"]
    doc = raw_doc(bob, as_client=client(alice), upto=1)  # bob's copy, holding only `first`
    assert doc.next_clock() == yupdate.decode(envelopes.read_stored(second).update).first_clock
    _, update = doc.write([own_add(bob, T3)[1]])
    return Attack((first, second), (sign(bob, update, T3),), "another device's client id")


def squat_future_clock(w: World) -> Attack:
    first, second = two_adds(w)
    bob, alice = w.authors["bob"], w.authors["alice"]
    update = y_update(client(alice), 7, version_key(client(alice), 7), own_add(bob, T3)[1])
    return Attack((first, second), (sign(bob, update, T3),), "another device's client id")


def own_client_foreign_key(w: World) -> Attack:
    """Bob's own item id, but under the key of alice's item: an overwrite without origin."""
    first, second = two_adds(w)
    bob = w.authors["bob"]
    entry, key = target_of(first)
    edit = version(bob, Kind.EDIT, entry, T3, base=(key,), fields=forged_fields(bob, entry))
    update = y_update(client(bob), 0, key, edit)
    return Attack((first, second), (sign(bob, update, T3),), "other than its own version key")


def own_client_with_origin(w: World) -> Attack:
    """Bob's own item id, placed after alice's item as its origin: an overwrite of her key."""
    first, second = two_adds(w)
    bob, alice = w.authors["bob"], w.authors["alice"]
    entry, key = target_of(first)
    edit = version(bob, Kind.EDIT, entry, T3, base=(key,), fields=forged_fields(bob, entry))
    update = y_update(client(bob), 0, "", edit, origin=(client(alice), 0))
    return Attack((first, second), (sign(bob, update, T3),), "not a new top-level entry value")


def add_of_foreign_entry(nonce_from_alice: bool, claim_alice: bool) -> AttackMaker:
    def make(w: World) -> Attack:
        first, second = two_adds(w)
        bob, alice = w.authors["bob"], w.authors["alice"]
        target = version_in(first)
        assert target.nonce is not None
        nonce = target.nonce if nonce_from_alice else crypto.random_bytes(versions.ID)
        author = device(alice) if claim_alice else None
        fields = forged_fields(bob, target.entry)
        add = version(bob, Kind.ADD, target.entry, T3, nonce=nonce, fields=fields, author=author)
        _, update = raw_doc(bob).write([add])
        why = "differs from its envelope" if claim_alice else "not bound to its author"
        return Attack((first, second), (sign(bob, update, T3),), why)

    return make


def demoted_admin_edit(w: World) -> Attack:
    """Dave edits as an admin, is demoted (cut-off: that edit), then edits again."""
    first, second = two_adds(w)
    alice, dave = w.authors["alice"], w.authors["dave"]
    entry = target_of(first)[0]
    dave.edit(entry.hex(), {"password": "rotated-by-dave"}, T3)
    dave_edit = last_envelope(dave)
    kit.deliver(dave, alice)
    alice.office.set_role("dave", Role.MEMBER, T3 + 10)
    assert alice.office.membership.state.role_for(device(dave), 2) is Role.MEMBER
    alice.merge_records(())  # alice's vault re-judges under the new roles
    records = Records(alice.office.blobs)
    _, head = target_of(dave_edit)
    edit = version(dave, Kind.EDIT, entry, T4, base=(head,), fields=forged_fields(dave, entry))
    _, update = raw_doc(dave).write([edit])
    forged = sign(dave, update, T4)
    legit = (first, second, dave_edit, records)
    return Attack(legit, (forged,), "a member may only add", between=3)


ATTACKS: list[tuple[str, AttackMaker]] = [
    ("a-member-edits-admins-entry", member_edit(claim_admin=False)),
    ("a-member-edits-admins-entry-claiming-admin-authorship", member_edit(claim_admin=True)),
    ("a-member-edit-beside-a-valid-own-add", member_edit_beside_own_add),
    ("b-member-trashes-admins-entry", member_status(Kind.TRASH)),
    ("b-member-restores-admins-entry", member_status(Kind.RESTORE)),
    ("b-member-purge-version", member_status(Kind.PURGE)),
    ("b-member-purge-with-delete-set", member_status(Kind.PURGE, delete=True)),
    ("c-member-delete-set-only", member_delete_set(with_own_add=False)),
    ("c-member-delete-set-beside-own-add", member_delete_set(with_own_add=True)),
    ("d-squats-admins-next-clock", squat_next_clock),
    ("d-squats-admins-future-clock", squat_future_clock),
    ("d-own-client-id-under-admins-key", own_client_foreign_key),
    ("d-own-client-id-with-admins-item-as-origin", own_client_with_origin),
    ("e-add-of-admins-entry-id-fresh-nonce", add_of_foreign_entry(False, False)),
    ("e-add-of-admins-entry-id-admins-nonce", add_of_foreign_entry(True, False)),
    ("e-add-of-admins-entry-id-claiming-admin", add_of_foreign_entry(True, True)),
    ("g-demoted-admin-edits-past-cutoff", demoted_admin_edit),
]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("make", [a[1] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_forgery_is_rejected_by_every_replica_in_every_order(
    world: World, make: AttackMaker, order: str
) -> None:
    attack = make(world)
    feed(world, attack, order)
    assert_legitimate_state_only(world, attack)


# -- f: a member adds his own entry twice (judged valid, but never shown) -------------------
def duplicate_own_add(w: World) -> Attack:
    """Bob adds his entry, then re-adds the same id (same nonce) with new content."""
    first, second = two_adds(w)
    bob = w.authors["bob"]
    bob.add({"title": "Bob's router", "password": "original"}, T2 + 10)
    original = last_envelope(bob)
    sync_authors(w)
    added = version_in(original)
    fields = forged_fields(bob, added.entry)
    again = version(bob, Kind.ADD, added.entry, T3, nonce=added.nonce, fields=fields)
    _, update = raw_doc(bob).write([again])
    return Attack((first, original, second), (sign(bob, update, T3),), "", 2, accepted=True)


@pytest.mark.parametrize("order", ORDERS)
def test_f_a_second_add_of_own_entry_never_replaces_the_first(world: World, order: str) -> None:
    """Judged valid (the id is bob's), but the first add stays the shown content and history."""
    attack = duplicate_own_add(world)
    feed(world, attack, order)
    assert_legitimate_state_only(world, attack, audit=False)
    for replica in world.every_replica():
        (bobs,) = [s for s in replica.entries() if s.created_by == "bob"]
        assert replica.get(bobs.id, reveal=True).password == "original"
        assert [h.kind for h in replica.history(bobs.id)] == ["added"]


@pytest.mark.parametrize("order", ORDERS)
def test_f_a_second_add_of_own_entry_is_not_in_the_audit_trail(world: World, order: str) -> None:
    """The audit must not claim bob "added" content that no replica ever shows."""
    attack = duplicate_own_add(world)
    feed(world, attack, order)
    expected = world.baseline.audit(reveal=True)
    for replica in world.every_replica():
        trail = replica.audit(reveal=True)
        assert FORGED not in repr(trail)
        assert trail == expected


# -- replays ----------------------------------------------------------------------------
def test_replaying_every_envelope_changes_nothing(world: World) -> None:
    """I-6: envelopes (accepted and rejected) and membership records again: no effect."""
    attack = member_edit(claim_admin=False)(world)
    feed(world, attack, "forgery-last")
    for replica in world.every_replica():
        before = (replica.op_log(), replica.document(), shown(replica))
        for blob in [*attack.legit, *attack.forged, *replica.op_log()]:
            assert isinstance(blob, bytes)
            assert replica.receive(blob) is None
        replica.merge_records(replica.office.blobs)
        assert (replica.op_log(), replica.document(), shown(replica)) == before
    assert_legitimate_state_only(world, attack)


def test_a_second_envelope_with_a_used_sequence_number_is_refused(world: World) -> None:
    """Equivocation: bob signs two different envelopes as his number 1."""
    bob = world.authors["bob"]
    _, one = raw_doc(bob).write([own_add(bob, T1, title="one")[1]])
    _, two = raw_doc(bob).write([own_add(bob, T1, title="two")[1]])
    first, second = sign(bob, one, T1, seq=1), sign(bob, two, T1, seq=1)
    for replica in world.judges():
        replica.receive(first)
        with pytest.raises(PeerError):
            replica.receive(second)
        assert [s.title for s in replica.entries()] == ["one"]
        assert replica.op_log() == [first]


def test_a_replica_reopened_rebuilds_the_same_judged_document(
    world: World, forging_office: dict[str, Path], tmp_path: Path
) -> None:
    """Opening again judges the stored log afresh (rejected envelopes included): same state."""
    attack = squat_next_clock(world)
    feed(world, attack, "forgery-first")
    path = kit.replicas({"carol": forging_office["carol"]}, tmp_path / "reopened")["carol"]
    with Vault.open(path, kit.pw(), kit.PROFILE) as replica:
        kit.deliver(world.replicas["carol"], replica)
        before = (replica.document(), shown(replica))
    assert before[0] == world.baseline.document()
    for _ in range(2):
        with Vault.open(path, kit.pw(), kit.PROFILE) as replica:
            assert (replica.document(), shown(replica)) == before
