"""Regression tests for the vault review's findings, one test per finding.

1. An admin's edit made concurrently with his demotion is dropped, and his
   later adds are accepted everywhere (a skipped envelope fills its clock
   range).
2. A failed save rebuilds the vault from the store (no gap, keys intact); if
   even that fails, the vault locks and stores nothing.
3. `lock()` forgets every decrypted value, and every later call says locked.
4. A purge's delete set naming a version not yet received survives a reopen
   from the snapshot.
5. `State.role_for`: a renewal with a smaller cut-off never moves an envelope
   back across an earlier role change's boundary.
6. An envelope time outside the author's capability window is judged
   invalid, and listing still works on every replica.
7. Export skips an entry whose decrypted fields are invalid.
8. No plaintext of a purged or re-judged version stays in the plain cache.

One office is built per module (vault_kit.template) and copied per test.
Forgeries are built at the update level with tests/node/forging.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

from node import audit, crypto, envelopes, exporters, versions
from node import vault as vault_module
from node.entry_fields import FIELDS
from node.errors import StorageError, UserError
from node.identity import when
from node.membership_state import Member, State
from node.oplog import Verdict
from node.tokens import Capability, Role
from node.vault import Summary, Vault
from node.versions import Kind
from tests.node import forging
from tests.node.vault_kit import PROFILE, T0, deliver, opened, pw

T = T0 + 1000  # the tests' "now"; every act passes its time in
BANK = {"title": "Bank", "username": "acme", "password": "hunter2", "notes": "PIN 4711"}

Vaults = dict[str, Vault]


# -- helpers ---------------------------------------------------------------------------
def titles(summaries: list[Summary]) -> list[str]:
    return [s.title for s in summaries]


def version_keys(blobs: Iterable[bytes], entry: str) -> set[str]:
    """The keys of every version of `entry` that the envelopes `blobs` carry."""
    return {
        v.key
        for blob in blobs
        for v in audit.versions_of(envelopes.read_stored(blob))
        if v.entry.hex() == entry
    }


def receive_all(target: Vault, blobs: Iterable[bytes]) -> list[Verdict | None]:
    return [target.receive(blob) for blob in blobs]


def fail_once(monkeypatch: pytest.MonkeyPatch, vault: Vault) -> None:
    """The vault's store refuses the next envelope it is asked to store (a disk error)."""
    store = vault.office.store
    real = store.add_envelope
    failed: list[int] = []

    def add_envelope(author: bytes, seq: int, blob: bytes) -> bool:
        if not failed:
            failed.append(seq)
            raise StorageError("disk I/O error")
        return real(author, seq, blob)

    monkeypatch.setattr(store, "add_envelope", add_envelope)


def stored_seqs(vault: Vault) -> list[int]:
    return [envelopes.read_stored(blob).seq for blob in vault.op_log()]


def forged_add(author: Vault, raw: Mapping[str, str], at: int) -> bytes:
    """An add bound to `author`'s device whose fields are sealed exactly as given
    (no field checks), in an envelope correctly signed by `author` at its next sequence."""
    nonce = crypto.random_bytes(versions.ID)
    entry = versions.entry_id_of(forging.device(author), nonce)
    key_id, key = forging.vault_key(author)
    office_id = author.office.office_id
    fields = {
        name: versions.seal_field(key, office_id, entry, name, key_id, raw.get(name, ""))
        for name in FIELDS
    }
    add = forging.version(author, Kind.ADD, entry, at, nonce=nonce, fields=fields)
    _, update = forging.raw_doc(author).write([add])
    return forging.sign(author, update, at)


def listing(vault: Vault) -> list[str]:
    """What `officevault ls`, `show`, `history` and `audit` print about times."""
    out = []
    for s in vault.entries() + vault.entries(trash=True):
        out.append(f"{s.title} {when(s.changed_at)}")
        out += [f"{h.label} {when(h.at)}" for h in vault.history(s.id)]
        out += [f"{h.label} {when(h.at)}" for h in vault.get(s.id).heads]
    return out + [f"{e.action} {when(e.at)}" for e in vault.audit()]


# -- 1. an admin's edit concurrent with his demotion ------------------------------------
def test_demoted_admin_edit_is_dropped_and_his_later_add_counts_everywhere(
    vaults: Vaults,
) -> None:
    alice, dave, carol = vaults["alice"], vaults["dave"], vaults["carol"]
    entry = alice.add(BANK, T)
    deliver(alice, dave)
    dave.edit(entry, {"password": "rotated"}, T + 10)  # dave's envelope 1: alice has not seen it
    edit_key = forging.version_in(forging.last_envelope(dave)).key
    alice.office.set_role("dave", Role.MEMBER, T + 20)  # cut-off 0: the edit lies past it

    dave.merge_records(alice.office.blobs)
    deliver(alice, dave)
    assert dave.role is Role.MEMBER
    added = dave.add({"title": "Dave's own", "password": "x"}, T + 30)  # the old bug: refused

    carol.merge_records(alice.office.blobs)
    deliver(alice, carol)
    for target in (alice, carol):
        first, second = receive_all(target, forging.own_envelopes(dave))
        assert first is not None and first.change is None
        assert second is not None and second.change is not None

    expected = forging.shown(alice)
    for v in (alice, dave, carol):
        assert titles(v.entries()) == ["Bank", "Dave's own"]
        assert v.get(entry, reveal=True).password == "hunter2"
        assert v.get(added, reveal=True).password == "x"
        assert edit_key not in dict(v.document())
        assert forging.shown(v) == expected
        assert v.document() == alice.document()


# -- 2. a failed save ----------------------------------------------------------------------
def test_failed_save_rebuilds_without_gap_and_failed_recovery_locks(
    vaults: Vaults, paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, carol, dave = vaults["alice"], vaults["carol"], vaults["dave"]

    # The store refuses the save; the vault rebuilds from the store.
    fail_once(monkeypatch, alice)
    with pytest.raises(StorageError):
        alice.add({"title": "Lost", "password": "p1"}, T)
    assert alice.entries() == [] and alice.document() == [] and alice.op_log() == []
    assert alice._ring and all(any(key) for key in alice._ring.values())
    kept = alice.add({"title": "Kept", "password": "p2"}, T + 1)
    assert stored_seqs(alice) == [1]
    deliver(alice, carol)
    assert [s.id for s in carol.entries()] == [kept]
    assert carol.get(kept, reveal=True).password == "p2"
    assert carol.document() == alice.document()

    # The save fails and so does the rebuild: the vault locks and stores nothing.
    def reload_fails() -> None:
        raise StorageError("disk I/O error")

    fail_once(monkeypatch, dave)
    monkeypatch.setattr(dave.office, "reload", reload_fails)
    with pytest.raises(StorageError):
        dave.add({"title": "Lost", "password": "p1"}, T)
    assert dave.locked
    assert dave._ring == {}
    with pytest.raises(UserError, match="locked"):
        dave.add({"title": "After", "password": "p3"}, T + 1)
    with pytest.raises(UserError, match="locked"):
        dave.entries()
    with Vault.open(paths["dave"], pw(), PROFILE) as reopened:
        assert reopened.op_log() == [] and reopened.entries() == []


# -- 3. lock ----------------------------------------------------------------------------------
def test_lock_forgets_every_decrypted_value_and_later_calls_say_locked(
    vaults: Vaults,
) -> None:
    alice = vaults["alice"]
    entry = alice.add(BANK, T)
    assert alice.get(entry, reveal=True).notes == "PIN 4711"
    alice.history(entry, reveal=True)
    alice.audit(reveal=True)
    alice.entries(search="a")  # the search text is made when first searched
    assert alice._plain and alice._cached and alice._search and alice._summaries
    keys = list(alice._ring.values())

    alice.lock()
    assert alice.locked
    calls: list[Callable[[], object]] = [
        alice.entries,
        lambda: alice.get(entry),
        lambda: alice.history(entry),
        alice.audit,
        lambda: alice.add({"title": "After", "password": "x"}, T + 1),
    ]
    for call in calls:
        with pytest.raises(UserError, match="locked"):
            call()
    assert alice._plain == {} and alice._cached == {}
    assert alice._search == {} and alice._summaries == {}
    assert alice._ring == {}
    assert keys and all(not any(key) for key in keys)  # wiped, not just dropped


# -- 4. a purge's deletes of a version not yet received, through a snapshot ------------------
def test_purge_of_an_unreceived_version_survives_a_reopen_from_the_snapshot(
    paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault_module, "SNAPSHOT_EVERY", 1)  # carol's close writes a snapshot
    authors = {name: paths[name] for name in ("alice", "dave", "bob")}
    with opened(authors) as v:
        alice, dave, bob = v["alice"], v["dave"], v["bob"]
        entry = alice.add(BANK, T)
        deliver(alice, dave)
        dave.edit(entry, {"password": "dave-edit"}, T + 10)
        deliver(dave, alice)
        assert alice.get(entry).summary.changed_by == "dave"  # the purge names dave's edit
        alice.trash(entry, T + 20)
        alice.purge(entry, T + 30)
        alice_log, dave_log = forging.own_envelopes(alice), forging.own_envelopes(dave)
        receive_all(bob, alice_log + dave_log)  # the replica that never closes
        with Vault.open(paths["carol"], pw(), PROFILE) as carol:
            receive_all(carol, alice_log)
        with Vault.open(paths["carol"], pw(), PROFILE) as carol:
            assert carol._replica.replayed == 0  # opened from the snapshot
            receive_all(carol, dave_log)
            assert carol.document() == bob.document() == alice.document()
            assert not version_keys(dave_log, entry) & set(dict(carol.document()))
            assert carol.entries() == carol.entries(trash=True) == []


# -- 5. role boundaries are a running maximum -------------------------------------------------
def member(device: bytes, role: Role, serial: int) -> Member:
    office = b"o" * 16
    cap = Capability(
        office, device, b"s" * 32, b"b" * 32, "u", role, T0, T0 + 10**8, serial, office
    )
    return Member(device, cap, b"", T0)


def test_role_for_a_renewal_with_a_smaller_cutoff_keeps_the_earlier_boundary() -> None:
    dave, bob = b"d" * 16, b"b" * 16
    state = State(office_id=b"o" * 16, root_public=b"r" * 32)
    state.devices = {dave: member(dave, Role.MEMBER, 3), bob: member(bob, Role.ADMIN, 3)}
    state.role_log = {
        # enrolled admin; demoted keeping envelopes 1..5 admin; renewed with cut-off 2
        dave: {(1, 0, "admin"), (2, 5, "member"), (3, 2, "member")},
        # enrolled member; promoted keeping envelopes 1..10 member; renewed with cut-off 3
        bob: {(1, 0, "member"), (2, 10, "admin"), (3, 3, "admin")},
    }
    assert [state.role_for(dave, n) for n in range(1, 8)] == [Role.ADMIN] * 5 + [Role.MEMBER] * 2
    assert [state.role_for(bob, n) for n in (3, 7, 10, 11)] == [Role.MEMBER] * 3 + [Role.ADMIN]


# -- 6. an envelope time outside the author's capability window -------------------------------
def test_far_future_add_is_invalid_everywhere_and_listing_still_works(vaults: Vaults) -> None:
    far = 2**62
    assert isinstance(when(far), str)
    alice, bob = vaults["alice"], vaults["bob"]
    alice.add(BANK, T)
    for target in vaults.values():
        if target is not alice:
            deliver(alice, target)
    _, add = forging.own_add(bob, far, title="far future")
    _, update = forging.raw_doc(bob).write([add])
    forged = forging.sign(bob, update, far)
    expected = forging.shown(alice)
    for name, target in vaults.items():
        verdict = target.receive(forged)
        assert verdict is not None and verdict.change is None, name
        assert "outside the author's capability window" in verdict.why, name
        assert titles(target.entries()) == ["Bank"], name
        assert listing(target), name
        assert forging.shown(target) == expected, name


# -- 7. export skips invalid decrypted entries ------------------------------------------------
def test_export_skips_a_member_add_with_an_empty_title(vaults: Vaults) -> None:
    alice, bob, carol = vaults["alice"], vaults["bob"], vaults["carol"]
    alice.add(BANK, T)
    deliver(alice, carol)
    empty_title = {"title": "", "password": "p"}
    forged = forged_add(bob, empty_title, T + 10)
    for target in (alice, carol):
        verdict = target.receive(forged)
        assert verdict is not None and verdict.change is not None  # judged without decrypting
        assert len(target.entries()) == 2
        rows, skipped = target.rows()
        assert skipped == 1
        assert [row["title"] for row in rows] == ["Bank"]
        assert b"Bank" in exporters.export(rows, "csv")


# -- 8. no plaintext of purged or re-judged versions stays cached ------------------------------
def test_plain_cache_keeps_nothing_of_purged_or_rejudged_versions(vaults: Vaults) -> None:
    alice, dave, carol, bob = vaults["alice"], vaults["dave"], vaults["carol"], vaults["bob"]

    # A purge concurrent with an edit: carol and dave had the edit cached, alice gets it later.
    entry = alice.add(BANK, T)
    deliver(alice, dave)
    deliver(alice, carol)
    dave.edit(entry, {"notes": "PIN 4711 for the bank card"}, T + 10)  # alice has not seen it
    deliver(dave, carol)
    every_key = version_keys(dave.op_log(), entry)
    carol.entries()  # listing decrypts and caches
    assert every_key & set(carol.office.store.plain())  # cached before the purge
    alice.trash(entry, T + 20)
    alice.purge(entry, T + 30)
    for target in (dave, carol):
        deliver(alice, target)
    deliver(dave, alice)  # the concurrent edit arrives after the purge
    every_key |= version_keys(alice.op_log(), entry)
    for v in (alice, dave, carol):
        assert v.entries() == v.entries(trash=True) == []
        assert not every_key & set(v.office.store.plain())

    # A revocation whose cut-off drops bob's second add, which carol had cached.
    bob.add({"title": "Bob one", "password": "b1"}, T + 40)
    bob.add({"title": "Bob two", "password": "b2"}, T + 50)
    first, second = forging.own_envelopes(bob)
    alice.receive(first)
    receive_all(carol, [first, second])
    dropped = forging.version_in(second).key
    carol.entries()
    assert dropped in carol.office.store.plain()  # cached before the revocation
    alice.office.revoke("bob", T + 60)  # alice holds only bob's first envelope: cut-off 1
    carol.merge_records(alice.office.blobs)
    verdict = alice.receive(second)
    assert verdict is not None and verdict.change is None
    for v in (alice, carol):
        assert titles(v.entries()) == ["Bob one"]
        assert dropped not in dict(v.document())
        assert dropped not in v.office.store.plain()


# -- 10. a key that arrives after the entries it opens -----------------------------------------
def test_an_entry_unreadable_until_its_key_arrives_is_readable_once_it_does(
    vaults: Vaults,
) -> None:
    """An envelope under a new vault key can arrive before the record carrying that key:
    listed meanwhile as "(unreadable)", it must not stay so once the key is here."""
    alice, carol = vaults["alice"], vaults["carol"]
    alice.add({"title": "Before", "password": "p0"}, T)
    deliver(alice, carol)
    alice.office.revoke("bob", T + 10)  # rotates the vault key
    alice.add({"title": "After", "password": "p1"}, T + 20)
    carol.receive(forging.last_envelope(alice))  # the envelope, not yet the records
    assert sorted(s.title for s in carol.entries()) == ["(unreadable)", "Before"]
    assert carol.entries(search="after") == []
    carol.merge_records(alice.office.blobs)
    assert sorted(s.title for s in carol.entries()) == ["After", "Before"]
    assert [s.title for s in carol.entries(search="after")] == ["After"]
