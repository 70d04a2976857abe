"""node.vault: the `Vault` facade on real replicas of a four-device office.

Threats and promises covered: a member can only add (DESIGN I-2: every other
act is refused before anything is signed, so no envelope is written); every
edit keeps the old value in history and the audit trail shows "from -> to"
with passwords masked unless revealed; trash is restorable and purge is for
good, even against a version of the entry that arrives after the purge; two
admins editing at once leave a conflict that loses nothing; an edit made
concurrently with a delete survives inside the trashed entry; what was saved
survives a restart, through the snapshot and through a full replay; a
duplicated or reordered delivery changes nothing or waits; a revocation
drops the revoked device's envelopes after its cut-off, identically on every
replica that merges the revoking admin's records (I-1, I-3, I-7).

One office is built per module (vault_kit.template); each test opens its own
copies of the data dirs and closes every vault it opens.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from node import onboarding, versions
from node import vault as vault_module
from node.errors import NotFoundError, PeerError, PermissionDeniedError, UserError
from node.office import Office
from node.tokens import Role
from node.vault import Change, Summary, Vault, VersionView
from node.versions import Kind
from tests.node.vault_kit import PROFILE, T0, deliver, opened, pw, replicas

T = T0 + 1000  # the tests' "now"; every act passes its time in

Vaults = dict[str, Vault]


# -- helpers ------------------------------------------------------------------------


def exchange(vaults: Vaults) -> None:
    """Every replica's op log to every other one (one pass is enough: each log
    holds its own author's envelopes)."""
    for source in vaults.values():
        for target in vaults.values():
            if target is not source:
                deliver(source, target)


def ids(summaries: list[Summary]) -> list[str]:
    return [s.id for s in summaries]


def titles(summaries: list[Summary]) -> list[str]:
    return [s.title for s in summaries]


def passwords(history: list[VersionView]) -> list[str]:
    return [h.fields["password"] for h in history]


def values_of(vault: Vault, entry: str) -> list[versions.Version]:
    """The versions of `entry` in the vault document."""
    found = [versions.decode(key, value) for key, value in vault.document()]
    return [v for v in found if v.entry.hex() == entry]


def heard(vault: Vault) -> list[Change]:
    changes: list[Change] = []
    vault.subscribe(changes.append)
    return changes


def reopen(path: Path) -> Vault:
    return Vault.open(path, pw(), PROFILE)


def view(vault: Vault) -> tuple[object, ...]:
    """Everything a replica shows, as plain data, to compare before and after."""
    listed = vault.entries() + vault.entries(trash=True)
    histories = {s.id: vault.history(s.id, reveal=True) for s in listed}
    details = {s.id: vault.get(s.id, reveal=True) for s in listed}
    return (
        vault.document(),
        vault.entries(),
        vault.entries(trash=True),
        vault.audit(reveal=True),
        histories,
        details,
    )


# -- adding and reading -------------------------------------------------------------


def test_add_lists_without_secrets_and_reveals_only_when_asked(vaults: Vaults) -> None:
    alice = vaults["alice"]
    entry = alice.add(
        {"title": "Mail", "username": "ann", "password": "s3cret!", "url": "https://mail"}, T
    )
    assert len(bytes.fromhex(entry)) == 16  # 128 random bits, as hex
    [summary] = alice.entries()
    assert (summary.id, summary.title, summary.username, summary.url) == (
        entry,
        "Mail",
        "ann",
        "https://mail",
    )
    assert (summary.category, summary.created_by, summary.changed_by) == (
        "General",
        "alice",
        "alice",
    )
    assert not summary.trashed and not summary.conflict and summary.readable
    assert "s3cret!" not in repr(alice.entries())
    hidden = alice.get(entry)
    assert hidden.password is None
    assert "s3cret!" not in repr(hidden)
    assert alice.get(entry, reveal=True).password == "s3cret!"
    assert alice.get(entry[:8]).summary == summary  # a prefix of 6+ hex digits names it


def test_search_matches_title_username_url_ignoring_case_and_filters_by_category(
    vaults: Vaults,
) -> None:
    alice = vaults["alice"]
    mail = alice.add({"title": "Webmail", "username": "ann", "url": "https://post.example"}, T)
    bank = alice.add({"title": "Bank", "username": "Treasurer", "category": "Money"}, T)
    wifi = alice.add({"title": "Wi-Fi", "notes": "mail me", "category": "office"}, T)
    assert ids(alice.entries(search="MAIL")) == [mail]  # notes are not searched
    assert ids(alice.entries(search="treas")) == [bank]
    assert ids(alice.entries(search="POST.EX")) == [mail]
    assert ids(alice.entries(search="nothing like it")) == []
    assert ids(alice.entries(category="money")) == [bank]
    assert ids(alice.entries(category="Office")) == [wifi]
    assert ids(alice.entries(category="general")) == [mail]
    assert titles(alice.entries()) == ["Bank", "Webmail", "Wi-Fi"]  # sorted by title
    assert alice.categories() == {"General": 1, "Money": 1, "office": 1}


def test_every_member_may_add_and_everyone_sees_it(vaults: Vaults) -> None:
    bob_entry = vaults["bob"].add({"title": "Printer", "password": "1234"}, T)
    carol_entry = vaults["carol"].add({"title": "Alarm", "password": "9876"}, T + 1)
    exchange(vaults)
    for vault in vaults.values():
        listed = {s.id: s.created_by for s in vault.entries()}
        assert listed == {bob_entry: "bob", carol_entry: "carol"}
        assert vault.get(bob_entry, reveal=True).password == "1234"


AdminAct = Callable[[Vault, dict[str, str]], None]

ADMIN_ACTS: dict[str, AdminAct] = {
    "edit entries": lambda v, e: v.edit(e["plain"], {"password": "mine now"}, T + 10),
    "delete entries": lambda v, e: v.trash(e["plain"], T + 10),
    "restore entries": lambda v, e: v.restore(e["trashed"], T + 10),
    "purge entries": lambda v, e: v.purge(e["trashed"], T + 10),
    "resolve conflicts": lambda v, e: v.resolve(e["conflict"], e["keep"], T + 10),
}


@pytest.mark.parametrize("owner", ["alice", "bob"])
@pytest.mark.parametrize("act", list(ADMIN_ACTS))
def test_a_member_may_not_change_anything_and_writes_nothing(
    vaults: Vaults, owner: str, act: str
) -> None:
    """I-2 at the facade: refused before signing, whoever added the entry (even the member).

    Each act targets an entry it would apply to if an admin asked (a trashed
    entry for restore and purge, a conflict for resolve), so the role is the
    only reason for the refusal.
    """
    adder, alice, dave, bob = vaults[owner], vaults["alice"], vaults["dave"], vaults["bob"]
    entries = {
        name: adder.add({"title": name, "password": "p"}, T)
        for name in ("plain", "trashed", "conflict")
    }
    exchange(vaults)
    alice.trash(entries["trashed"], T + 1)
    alice.edit(entries["conflict"], {"password": "alice's"}, T + 2)
    dave.edit(entries["conflict"], {"password": "dave's"}, T + 2)
    exchange(vaults)
    assert bob.get(entries["conflict"]).summary.conflict
    entries["keep"] = bob.get(entries["conflict"]).heads[0].label
    before = (bob.op_log(), view(bob))
    with pytest.raises(PermissionDeniedError, match=f"^only an admin can {act}$"):
        ADMIN_ACTS[act](bob, entries)
    assert (bob.op_log(), view(bob)) == before


# -- history and audit --------------------------------------------------------------


def test_edits_keep_history_and_the_audit_shows_from_and_to(vaults: Vaults) -> None:
    alice, dave = vaults["alice"], vaults["dave"]
    entry = alice.add({"title": "Mail", "username": "ann", "password": "old"}, T)
    alice.edit(entry, {"password": "new"}, T + 1)
    deliver(alice, dave)
    dave.edit(entry, {"title": "Webmail"}, T + 2)
    deliver(dave, alice)
    for vault in (alice, dave):
        history = vault.history(entry, reveal=True)
        assert [(h.kind, h.by, h.at) for h in history] == [
            ("added", "alice", T),
            ("changed", "alice", T + 1),
            ("changed", "dave", T + 2),
        ]
        assert passwords(history) == ["old", "new", "new"]
        assert [h.fields["title"] for h in history] == ["Mail", "Mail", "Webmail"]
        assert passwords(vault.history(entry)) == ["", "", ""]  # not revealed
        changed = [(e.user, e.at, e.changes) for e in vault.audit() if e.action == "changed"]
        assert changed == [
            ("alice", T + 1, (("password", "***", "***"),)),
            ("dave", T + 2, (("title", "Mail", "Webmail"),)),
        ]
        revealed = [e.changes for e in vault.audit(reveal=True) if e.action == "changed"]
        assert revealed[0] == (("password", "old", "new"),)
        [added] = [e for e in vault.audit(entry=entry) if e.action == "added"]
        assert ("password", "", "***") in added.changes
        assert [e.action for e in vault.audit(user="dave")] == ["changed"]
        assert [e.action for e in vault.audit(since=T + 1)] == ["changed", "changed"]


# -- trash, restore, purge ----------------------------------------------------------


def test_trash_and_restore(vaults: Vaults) -> None:
    alice, dave = vaults["alice"], vaults["dave"]
    entry = alice.add({"title": "Mail", "password": "p"}, T)
    alice.trash(entry, T + 1)
    assert ids(alice.entries()) == [] and ids(alice.entries(trash=True)) == [entry]
    assert alice.get(entry).summary.trashed
    with pytest.raises(NotFoundError):
        alice.trash(entry, T + 2)  # the trash is not listed, so not found there
    deliver(alice, dave)
    assert ids(dave.entries(trash=True)) == [entry]
    dave.restore(entry, T + 2)
    assert ids(dave.entries()) == [entry] and dave.entries(trash=True) == []
    deliver(dave, alice)
    assert ids(alice.entries()) == [entry]
    assert alice.get(entry, reveal=True).password == "p"
    with pytest.raises(UserError, match="not in the trash"):
        alice.restore(entry, T + 3)
    assert [e.action for e in alice.audit()] == ["added", "trashed", "restored"]


def test_purge_only_from_the_trash_and_then_everything_of_it_is_gone(vaults: Vaults) -> None:
    alice, dave = vaults["alice"], vaults["dave"]
    entry = alice.add({"title": "Mail", "password": "p"}, T)
    alice.edit(entry, {"password": "q"}, T + 1)
    kept = alice.add({"title": "Bank"}, T + 1)
    log = alice.op_log()
    with pytest.raises(UserError, match="trash first"):
        alice.purge(entry, T + 2)
    assert alice.op_log() == log
    alice.trash(entry, T + 2)
    alice.purge(entry, T + 3)
    deliver(alice, dave)
    for vault in (alice, dave):
        assert ids(vault.entries()) == [kept] and vault.entries(trash=True) == []
        for look in (vault.get, vault.history):
            with pytest.raises(NotFoundError):
                look(entry)
        # Only the purge mark stays (it keeps late versions out); no value, no field.
        [mark] = values_of(vault, entry)
        assert mark.kind is Kind.PURGE and mark.fields == {}
        events = [e for e in vault.audit(reveal=True) if e.entry == entry]
        assert [e.action for e in events] == ["added", "changed", "trashed", "purged"]
        assert all(e.changes == () and e.title == "" for e in events)
    assert alice.document() == dave.document()


def test_a_version_arriving_after_the_purge_does_not_bring_the_entry_back(
    vaults: Vaults,
) -> None:
    alice, dave = vaults["alice"], vaults["dave"]
    entry = alice.add({"title": "Mail", "password": "p"}, T)
    exchange(vaults)
    dave.edit(entry, {"password": "dave's, concurrent"}, T + 1)  # alice does not see it yet
    alice.trash(entry, T + 2)
    alice.purge(entry, T + 3)
    exchange(vaults)
    for vault in vaults.values():
        assert vault.entries() == [] and vault.entries(trash=True) == []
        with pytest.raises(NotFoundError):
            vault.get(entry)
        assert vault.document() == alice.document()
        assert {v.kind for v in values_of(vault, entry)} == {Kind.PURGE, Kind.EDIT}


# -- conflicts ----------------------------------------------------------------------


def make_conflict(vaults: Vaults) -> str:
    """alice and dave edit one entry from the same base, unseen; then all exchange."""
    entry = vaults["alice"].add({"title": "Mail", "password": "base"}, T)
    exchange(vaults)
    vaults["alice"].edit(entry, {"password": "alice's"}, T + 1)
    vaults["dave"].edit(entry, {"password": "dave's"}, T + 1)
    exchange(vaults)
    return entry


def test_concurrent_admin_edits_are_a_conflict_shown_alike_everywhere(vaults: Vaults) -> None:
    entry = make_conflict(vaults)
    shown = vaults["alice"].get(entry, reveal=True)
    assert sorted(h.by for h in shown.heads) == ["alice", "dave"]
    assert sorted(passwords(list(shown.heads))) == ["alice's", "dave's"]
    for vault in vaults.values():
        detail = vault.get(entry, reveal=True)
        assert detail.summary.conflict and vault.entries()[0].conflict
        assert [h.label for h in detail.heads] == [h.label for h in shown.heads]
        assert detail.password == shown.heads[0].fields["password"]  # the shown head
    for admin in ("alice", "dave"):
        with pytest.raises(UserError, match="resolve it first"):
            vaults[admin].edit(entry, {"password": "third"}, T + 2)


@pytest.mark.parametrize("resolver", ["alice", "dave"])
@pytest.mark.parametrize("keeper", ["alice", "dave"])
def test_either_admin_resolves_a_conflict_for_everyone_and_nothing_is_lost(
    vaults: Vaults, resolver: str, keeper: str
) -> None:
    entry = make_conflict(vaults)
    [keep] = [h.label for h in vaults[resolver].get(entry).heads if h.by == keeper]
    vaults[resolver].resolve(entry, keep, T + 2)
    exchange(vaults)
    for vault in vaults.values():
        detail = vault.get(entry, reveal=True)
        assert not detail.summary.conflict and len(detail.heads) == 1
        assert detail.password == f"{keeper}'s"
        history = vault.history(entry, reveal=True)
        assert {"base", "alice's", "dave's"} <= set(passwords(history))
        assert [e.action for e in vault.audit(entry=entry)][-1] == "resolved"
        assert vault.document() == vaults["alice"].document()


def test_resolve_names_a_version_among_the_heads(vaults: Vaults) -> None:
    entry = make_conflict(vaults)
    with pytest.raises(NotFoundError, match="among the conflicting ones"):
        vaults["alice"].resolve(entry, "00000000", T + 2)
    plain = vaults["alice"].add({"title": "Bank"}, T + 2)
    with pytest.raises(UserError, match="no conflict"):
        vaults["alice"].resolve(plain, "00000000", T + 3)


def test_an_edit_concurrent_with_a_delete_is_kept_in_the_trash_and_restored(
    vaults: Vaults,
) -> None:
    alice, dave = vaults["alice"], vaults["dave"]
    entry = alice.add({"title": "Mail", "password": "before"}, T)
    exchange(vaults)
    alice.edit(entry, {"password": "edited", "title": "Webmail"}, T + 1)
    dave.trash(entry, T + 1)
    exchange(vaults)
    for vault in vaults.values():
        assert vault.entries() == [] and ids(vault.entries(trash=True)) == [entry]
        assert vault.get(entry, reveal=True).password == "edited"
    dave.restore(entry, T + 2)
    exchange(vaults)
    for vault in vaults.values():
        assert titles(vault.entries()) == ["Webmail"]
        assert vault.get(entry, reveal=True).password == "edited"


def test_deleting_then_adding_the_same_title_keeps_the_trashed_one(vaults: Vaults) -> None:
    alice, dave = vaults["alice"], vaults["dave"]
    old = alice.add({"title": "Mail", "password": "one"}, T)
    alice.trash(old, T + 1)
    new = alice.add({"title": "Mail", "password": "two"}, T + 2)
    deliver(alice, dave)
    for vault in (alice, dave):
        assert new != old
        assert ids(vault.entries()) == [new] and ids(vault.entries(trash=True)) == [old]
        assert vault.get(old, reveal=True).password == "one"
        assert vault.get(new, reveal=True).password == "two"


# -- durability -----------------------------------------------------------------------


def test_saved_values_survive_close_and_reopen(paths: dict[str, Path]) -> None:
    with reopen(paths["alice"]) as alice:
        entry = alice.add({"title": "Mail", "password": "p"}, T)
        alice.edit(entry, {"password": "q"}, T + 1)
        gone = alice.add({"title": "Old"}, T + 2)
        alice.trash(gone, T + 3)
        before = view(alice)
    with reopen(paths["alice"]) as alice:
        assert view(alice) == before
        assert alice.get(entry, reveal=True).password == "q"


def snapshot_of(path: Path) -> bytes | None:
    with Office.unlock(path, pw(), PROFILE) as office:
        return office.store.get_meta("doc_snapshot")


def drop_snapshot(path: Path, plain_too: bool) -> None:
    """Force a full replay on the next open (and, with `plain_too`, fresh decryption)."""
    with Office.unlock(path, pw(), PROFILE) as office, office.store.transaction():
        office.store.set_meta("doc_snapshot", b"")
        if plain_too:
            office.store.clear_plain()


def many_writes(alice: Vault, dave: Vault, count: int, start: int) -> None:
    """`count` envelopes of alice's, of every kind, and two of dave's."""
    live: list[str] = []
    trashed: list[str] = []
    for i in range(count):
        now = start + i
        if i % 8 == 3:
            alice.edit(live[-1], {"password": f"edit {i}"}, now)
        elif i % 8 == 5:
            trashed.append(live.pop())
            alice.trash(trashed[-1], now)
        elif i % 8 == 7:
            live.append(trashed.pop())
            alice.restore(live[-1], now)
        else:
            live.append(alice.add({"title": f"Entry {i}", "password": f"pw {i}"}, now))
    extra = dave.add({"title": "Dave's", "password": "d"}, start)
    dave.edit(extra, {"password": "d2"}, start + 1)
    deliver(dave, alice)


@pytest.mark.parametrize("plain_too", [False, True], ids=["snapshot", "snapshot-and-cache"])
def test_values_survive_the_snapshot_path_and_a_full_replay(
    paths: dict[str, Path], plain_too: bool
) -> None:
    with reopen(paths["alice"]) as alice, reopen(paths["dave"]) as dave:
        many_writes(alice, dave, vault_module.SNAPSHOT_EVERY + 6, T)
        before = view(alice)
    assert snapshot_of(paths["alice"])  # more than SNAPSHOT_EVERY writes: one was taken
    with reopen(paths["alice"]) as alice:
        assert view(alice) == before
        tail = alice.add({"title": "After the snapshot", "password": "t"}, T + 500)
        alice.edit(tail, {"password": "t2"}, T + 501)
        before = view(alice)
    with reopen(paths["alice"]) as alice:  # the snapshot, then the envelopes after it
        assert view(alice) == before
    drop_snapshot(paths["alice"], plain_too)
    with reopen(paths["alice"]) as alice:  # a full replay of the op log
        assert view(alice) == before
        assert alice.get(tail, reveal=True).password == "t2"


def test_an_envelope_held_for_a_gap_survives_reopen_and_applies_when_the_gap_fills(
    paths: dict[str, Path],
) -> None:
    with opened({name: paths[name] for name in ("alice", "dave", "carol")}) as vaults:
        alice, carol = vaults["alice"], vaults["carol"]
        first = carol.add({"title": "First"}, T)
        second = carol.add({"title": "Second"}, T + 1)
        log = carol.op_log()
        many_writes(alice, vaults["dave"], vault_module.SNAPSHOT_EVERY, T + 2)
        alice.receive(log[1])  # before log[0]: held
        assert second not in ids(alice.entries())
    assert snapshot_of(paths["alice"])  # taken while the envelope was held
    with reopen(paths["alice"]) as alice:
        assert second not in ids(alice.entries())
        alice.receive(log[0])
        assert {first, second} <= set(ids(alice.entries()))


# -- listeners ------------------------------------------------------------------------


def test_listeners_hear_local_and_received_changes(vaults: Vaults) -> None:
    alice, dave = vaults["alice"], vaults["dave"]
    at_alice, at_dave = heard(alice), heard(dave)
    entry = alice.add({"title": "Mail"}, T)
    assert at_alice == [Change((entry,), "alice", local=True)]
    deliver(alice, dave)
    assert at_dave == [Change((entry,), "alice", local=False)]
    dave.edit(entry, {"password": "x"}, T + 1)
    deliver(dave, alice)
    assert at_alice[1:] == [Change((entry,), "dave", local=False)]
    assert at_dave[1:] == [Change((entry,), "dave", local=True)]


def test_an_unsubscribed_listener_hears_nothing(vaults: Vaults) -> None:
    changes: list[Change] = []
    stop = vaults["alice"].subscribe(changes.append)
    stop()
    vaults["alice"].add({"title": "Mail"}, T)
    assert changes == []


# -- receiving --------------------------------------------------------------------------


def test_a_duplicate_delivery_changes_nothing(vaults: Vaults) -> None:
    alice, dave = vaults["alice"], vaults["dave"]
    entry = alice.add({"title": "Mail"}, T)
    alice.edit(entry, {"password": "x"}, T + 1)
    deliver(alice, dave)
    before = (dave.op_log(), view(dave))
    changes = heard(dave)
    assert [dave.receive(blob) for blob in alice.op_log()] == [None, None]
    assert (dave.op_log(), view(dave)) == before
    assert changes == []


def test_an_out_of_order_envelope_is_held_until_the_one_before_arrives(vaults: Vaults) -> None:
    alice, dave = vaults["alice"], vaults["dave"]
    first = alice.add({"title": "First"}, T)
    second = alice.add({"title": "Second"}, T + 1)
    log = alice.op_log()
    changes = heard(dave)
    assert dave.receive(log[1]) is None
    assert dave.entries() == [] and changes == []
    assert dave.receive(log[1]) is None  # held, and a duplicate of the held one
    verdict = dave.receive(log[0])
    assert verdict is not None and verdict.change is not None
    assert ids(dave.entries()) == [first, second]  # sorted by title
    assert changes == [Change(tuple(sorted([first, second])), "alice", local=False)]
    assert dave.document() == alice.document()


def test_a_second_different_envelope_with_the_same_sequence_is_refused(
    office: dict[str, Path], tmp_path: Path
) -> None:
    """One device signing two different envelopes as seq 1 (a cloned PC, or a forger
    holding its key): the second is refused and changes nothing."""
    paths = replicas(office, tmp_path / "replicas")
    shutil.copytree(office["alice"], tmp_path / "clone")
    pair = {"alice": paths["alice"], "dave": paths["dave"]}
    with opened(pair) as vaults, reopen(tmp_path / "clone") as clone:
        clone.add({"title": "Forked"}, T)
        vaults["alice"].add({"title": "Mail"}, T)
        deliver(vaults["alice"], vaults["dave"])
        before = view(vaults["dave"])
        with pytest.raises(PeerError, match="same sequence number"):
            deliver(clone, vaults["dave"])
        assert view(vaults["dave"]) == before


# -- revocation --------------------------------------------------------------------------


def test_a_revocation_keeps_the_envelopes_up_to_its_cutoff_and_drops_the_rest(
    vaults: Vaults,
) -> None:
    """I-3: bob's envelopes that alice had seen when she revoked him stay; the one
    she had not seen is dropped by every replica that merges her records, whether it
    held that envelope before the merge or received it after."""
    alice, bob, carol, dave = vaults["alice"], vaults["bob"], vaults["carol"], vaults["dave"]
    seen = bob.add({"title": "Seen by alice", "password": "kept"}, T)
    deliver(bob, alice)
    unseen = bob.add({"title": "Not seen by alice"}, T + 1)
    deliver(bob, dave)  # dave holds both before the revocation reaches him
    assert set(ids(dave.entries())) == {seen, unseen}
    alice.office.revoke("bob", T + 2)
    alice.merge_records(alice.office.blobs)
    dave.merge_records(alice.office.blobs)
    carol.merge_records(alice.office.blobs)
    deliver(bob, carol)  # carol gets both only after the revocation
    deliver(dave, alice)
    after = alice.add({"title": "After the rotation", "password": "new key"}, T + 3)
    deliver(alice, carol)
    deliver(alice, dave)
    for name in ("alice", "carol", "dave"):
        vault = vaults[name]
        assert set(ids(vault.entries())) == {seen, after}, name
        assert vault.get(seen, reveal=True).password == "kept"
        assert vault.get(after, reveal=True).password == "new key"
        assert view(vault) == view(alice)


def test_the_revoking_admins_open_vault_follows_its_own_revocation(vaults: Vaults) -> None:
    """I-1: alice revokes bob through her open vault's `office`; without any further
    call her vault judges bob's later envelope as dave's does, and writes under the
    rotated key."""
    alice, bob, dave = vaults["alice"], vaults["bob"], vaults["dave"]
    seen = bob.add({"title": "Seen by alice"}, T)
    deliver(bob, alice)
    bob.add({"title": "Not seen by alice"}, T + 1)
    alice.office.revoke("bob", T + 2)
    dave.merge_records(alice.office.blobs)
    deliver(bob, dave)
    deliver(bob, alice)
    assert ids(alice.entries()) == ids(dave.entries()) == [seen]
    after = alice.add({"title": "After the rotation"}, T + 3)
    deliver(alice, dave)
    assert view(dave) == view(alice)
    assert after in ids(dave.entries())


def test_an_enrolment_is_followed_without_a_replay_and_a_revocation_with_one(
    vaults: Vaults, tmp_path: Path
) -> None:
    """A new device has no envelopes, so enrolling it changes no verdict: the open vault
    follows it without replaying its log (joins must stay cheap for the admin node), and
    ends where a full replay would. A revocation of an author does replay."""
    alice, bob = vaults["alice"], vaults["bob"]
    bob.add({"title": "Bob's printer"}, T)
    alice.add({"title": "Alice's router", "password": "r"}, T)
    deliver(bob, alice)
    replica = alice._replica
    code = alice.office.invite("erin", Role.MEMBER, 3600, T)
    requests: list[bytes] = []
    onboarding.new_device(tmp_path / "erin", "erin", pw(), PROFILE, requests.append)
    alice.office.enroll(str(code), requests[0], T + 1, lambda _welcome: None)
    alice.add({"title": "After erin"}, T + 2)  # follows the new membership
    assert alice._replica is replica  # no replay
    with _replayed_copy(alice, tmp_path) as fresh:
        assert view(fresh) == view(alice)
        assert fresh.document() == alice.document()
    alice.office.revoke("bob", T + 3)
    alice.add({"title": "After bob"}, T + 4)
    assert alice._replica is not replica  # bob's facts changed: his envelopes judged again


def _replayed_copy(vault: Vault, tmp_path: Path) -> Vault:
    """A copy of `vault`'s data dir with no snapshot, opened: a full replay of its log."""
    source = vault.office.datadir.path
    copy = tmp_path / "replayed"
    shutil.copytree(source, copy)
    opened_copy = Vault.open(copy, pw(), PROFILE)
    opened_copy._rebuild()
    return opened_copy
