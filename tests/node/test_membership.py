"""The membership fold's rules: who may do what, from a set of signed records.

Threats covered (SECURITY_TESTS 14-16, DESIGN I-1, I-3): a revoked device never
comes back; only the office root revokes admins, so admins cannot remove each
other; a revoked or demoted admin cannot act by backdating, except for the
documented residual (back-dated revocations of members); a re-promoted admin can
act again; the last admin cannot be removed; forged, tampered, orphaned and
replayed records have no effect; only admins write membership and only the root
changes roles. The Hypothesis properties are in test_membership_props.py; the
attacks a security review confirmed against the previous fold (back-dating,
re-enrolment with another box key, leaky rotations, times running backwards) are
in test_membership_attacks.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from node.records import Enroll, Genesis, RoleChange
from node.tokens import Role
from tests.conftest import T0
from tests.node.membership_builders import (
    INVITE_ID,
    OFFICE,
    ROOT,
    A,
    B,
    C,
    D,
    E,
    M,
    N,
    Signer,
    X,
    active_users,
    admin_ids,
    enroll,
    flip,
    fold_,
    foreign_genesis,
    genesis,
    genesis_after,
    invite,
    request,
    revoke,
    rid,
    role_change,
    rotate,
    sign,
    start,
    token,
)

ONLY_ROOT = "only the office root may revoke an admin"

# -- revocation is sticky ---------------------------------------------------------------


@pytest.mark.parametrize("revoker", [None, A], ids=["by-root", "by-admin"])
def test_revocation_before_enrolment_bars_the_device(revoker: Signer) -> None:
    """A device id revoked before it was ever enrolled (say, a stolen join request)
    cannot be enrolled afterwards, by an admin or by the root, whoever revoked it."""
    g, ea = start()
    rv = revoke(revoker, X, [ea], T0 + 2)
    by_admin = enroll(A, X, "xavier", Role.MEMBER, [rv], T0 + 3)
    by_root = enroll(None, X, "xavier", Role.ADMIN, [rv], T0 + 4)
    m = fold_(g, ea, rv, by_admin, by_root)
    assert rid(rv) in m.valid
    assert m.state.active(X.id) is None
    assert rid(by_admin) in m.invalid
    assert rid(by_root) in m.invalid, "the root re-enrolled a device revoked in its past"
    control = enroll(A, X, "xavier", Role.MEMBER, [ea], T0 + 3)
    assert rid(control) in fold_(g, ea, control).valid


def test_root_sees_admin_revocations_in_its_past() -> None:
    """Last admin and sticky revocation, with no concurrency at all: an admin revokes
    member X; the root, having seen that, promotes X, then revokes the other admin.
    Judged by its own causal past, the promotion is of a revoked device and the
    revocation removes the only active admin: both are refused."""
    g, ea = start()
    ex = enroll(None, X, "xavier", Role.MEMBER, [ea], T0 + 2)
    rv = revoke(A, X, [ex], T0 + 3)
    promote = role_change(X, "xavier", Role.ADMIN, 2, [rv], T0 + 4)
    root_revokes_a = revoke(None, A, [promote], T0 + 5)
    m = fold_(g, ea, ex, rv, promote, root_revokes_a)
    assert rid(rv) in m.valid
    assert m.state.active(X.id) is None
    assert admin_ids(m) == {A.id}, "a log with no concurrency was left without an admin"
    assert rid(promote) in m.invalid
    assert rid(root_revokes_a) in m.invalid


def test_stricter_cutoff_wins() -> None:
    """Two valid revocations of one device with different cut-offs: the lower one
    holds, whichever came later, so nobody can widen a revoked device's window."""
    g, ea, eb = start(2)
    em = enroll(A, M, "mia", Role.MEMBER, [ea, eb], T0 + 3)
    strict = revoke(A, M, [em], T0 + 10, cutoff=5)
    lenient_later = revoke(B, M, [strict], T0 + 20, cutoff=50)
    lenient_concurrent = revoke(B, M, [em], T0 + 10, cutoff=40)
    by_root_later = revoke(None, M, [strict], T0 + 30, cutoff=60)
    for blobs in ([strict, lenient_later], [lenient_concurrent, strict], [strict, by_root_later]):
        m = fold_(g, ea, eb, em, *blobs)
        assert set(map(rid, blobs)) <= set(m.valid)
        assert m.state.revoked[M.id].cutoff == 5
        assert m.state.revoked[M.id].record_id == rid(strict)


# -- who may revoke whom; the cut-off and back-dating -------------------------------------


def test_admin_revocation_of_an_admin_is_invalid_the_roots_is_valid() -> None:
    """Admins removing each other: two admins revoke each other at once; one revokes
    itself (also as the only admin, SECURITY_TESTS 16); one revokes a member the root
    has promoted. Only the root revokes admins: none counts; the root's revocation does."""
    g, ea, eb = start(2)
    en = enroll(None, N, "nina", Role.MEMBER, [ea, eb], T0 + 3)
    promote = role_change(N, "nina", Role.ADMIN, 2, [en], T0 + 4)
    attempts = (
        revoke(A, B, [ea, eb], T0 + 10),
        revoke(B, A, [ea, eb], T0 + 10),
        revoke(A, A, [ea, eb], T0 + 11),
        revoke(A, A, [ea], T0 + 1),
        revoke(B, N, [promote], T0 + 12),
    )
    m = fold_(g, ea, eb, en, promote, *attempts)
    assert {m.invalid.get(rid(b)) for b in attempts} == {ONLY_ROOT}
    assert admin_ids(m) == {A.id, B.id, N.id}
    assert m.state.revoked == {}

    by_root = revoke(None, B, [ea, eb], T0 + 12)
    m2 = fold_(g, ea, eb, en, promote, *attempts, by_root)
    assert rid(by_root) in m2.valid
    assert {rid(b) for b in attempts} <= set(m2.invalid)
    assert admin_ids(m2) == {A.id, N.id}
    assert m2.state.revoked[B.id].by == OFFICE


@pytest.mark.parametrize(
    "removal",
    [
        lambda seen: revoke(None, A, [seen], T0 + 20),
        lambda seen: role_change(A, "alice", Role.MEMBER, 2, [seen], T0 + 20),
    ],
    ids=["revoked", "demoted"],
)
def test_removed_admin_cannot_act_by_backdating(removal: Callable[[bytes], bytes]) -> None:
    """I-3 cut-off: an admin the root revoked or demoted enrols a member and rotates the
    vault key with parents from before its removal. Both are refused, as is a record
    made after the removal; the enrolment the removal had seen stays."""
    g, ea, eb = start(2)
    seen = enroll(A, C, "carol", Role.MEMBER, [ea, eb], T0 + 10)
    rv = removal(seen)
    backdated = enroll(A, D, "dave", Role.MEMBER, [seen], T0 + 15)
    backdated_key = rotate(A, 1, [A, B, C], [seen], T0 + 16)
    after = enroll(A, E, "erin", Role.MEMBER, [rv], T0 + 30)
    m = fold_(g, ea, eb, seen, rv, backdated, backdated_key, after)
    assert {rid(rv), rid(seen)} <= set(m.valid)
    assert "concurrently" in m.invalid[rid(backdated)]
    assert "concurrently" in m.invalid[rid(backdated_key)]
    assert "not an active admin" in m.invalid[rid(after)]
    assert m.state.active(C.id) is not None and m.state.current_key() is None
    assert D.id not in m.state.devices and E.id not in m.state.devices
    # Control: without the removal, the same backdated records are valid.
    control = fold_(g, ea, eb, seen, backdated, backdated_key)
    assert {rid(backdated), rid(backdated_key)} <= set(control.valid)


def test_revoked_admin_backdates_revocation_of_a_member_documented_residual() -> None:
    """Documented residual risk: revocations are exempt from the cut-off (that is what
    makes them stick), so an admin the root revoked can still sign a back-dated
    revocation of a member, and it counts. The harm is a re-enrolment, never access:
    its back-dated enrolment is refused, and so is a revocation made after its own."""
    g, ea, eb = start(2)
    em = enroll(B, M, "mia", Role.MEMBER, [ea, eb], T0 + 3)
    en = enroll(None, N, "nina", Role.MEMBER, [ea, eb], T0 + 4)
    rv = revoke(None, A, [em, en], T0 + 20)
    backdated = revoke(A, M, [em, en], T0 + 15)
    backdated_enrol = enroll(A, D, "dave", Role.MEMBER, [em, en], T0 + 16)
    after = revoke(A, N, [rv], T0 + 30)
    m = fold_(g, ea, eb, em, en, rv, backdated, backdated_enrol, after)
    assert {rid(rv), rid(backdated)} <= set(m.valid)
    assert m.state.revoked[M.id].by == A.id
    assert "concurrently" in m.invalid[rid(backdated_enrol)]
    assert "not an active admin" in m.invalid[rid(after)]
    assert active_users(m) == {"bob": Role.ADMIN, "nina": Role.MEMBER}


@pytest.mark.parametrize(
    "seen",
    [lambda ea, eb: [eb], lambda ea, eb: [ea]],
    ids=["admin-in-its-past", "last-admin-enrolled-after-its-past"],
)
def test_revoked_admin_cannot_backdate_revocation_of_an_admin(
    seen: Callable[[bytes, bytes], list[bytes]],
) -> None:
    """Admins removing each other by back-dating: the root enrols B, then revokes A,
    leaving B as the last admin. A signs a back-dated revocation of B, with B's
    enrolment in its past or with parents from before it. Only the root revokes
    admins: neither counts, and B stays admin."""
    g, ea = start()
    eb = enroll(None, B, "bob", Role.ADMIN, [ea], T0 + 5)
    rv = revoke(None, A, [eb], T0 + 20)
    backdated = revoke(A, B, seen(ea, eb), T0 + 6)
    m = fold_(g, ea, eb, rv, backdated)
    assert rid(rv) in m.valid
    assert admin_ids(m) == {B.id}, "a revoked admin removed the last admin"
    assert rid(backdated) in m.invalid


def test_repromoted_admin_can_act_again() -> None:
    """A demotion cuts off what the demoted admin did concurrently, not what it does
    after the root has made it admin again: records with the promotion in their past
    count; one made after the demotion but without the promotion does not."""
    g, ea, eb = start(2)
    demote = role_change(A, "alice", Role.MEMBER, 2, [ea, eb], T0 + 10)
    promote = role_change(A, "alice", Role.ADMIN, 3, [demote], T0 + 20)
    between = enroll(A, D, "dave", Role.MEMBER, [demote], T0 + 15)
    enrols = enroll(A, C, "carol", Role.MEMBER, [promote], T0 + 30)
    rotates = rotate(A, 1, [A, B, C], [enrols], T0 + 31)
    m = fold_(g, ea, eb, demote, promote, between, enrols, rotates)
    assert {rid(demote), rid(promote), rid(enrols), rid(rotates)} <= set(m.valid)
    assert "not an active admin" in m.invalid[rid(between)]
    assert active_users(m) == {"alice": Role.ADMIN, "bob": Role.ADMIN, "carol": Role.MEMBER}
    key = m.state.current_key()
    assert key is not None and key.by == A.id


# -- the last admin -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "removal",
    [  # the latest admin enrolment -> a root record removing alice that has seen it
        lambda seen: revoke(None, A, [seen], T0 + 10),
        lambda seen: role_change(A, "alice", Role.MEMBER, 2, [seen], T0 + 10),
    ],
    ids=["root-revokes-only-admin", "root-demotes-only-admin"],
)
def test_last_admin_cannot_be_removed(removal: Callable[[bytes], bytes]) -> None:
    """SECURITY_TESTS 16: the root revoking or demoting the only admin is refused by the
    fold; with a second admin the same record is accepted (control)."""
    g, ea = start()
    rec = removal(ea)
    m = fold_(g, ea, rec)
    assert "last admin" in m.invalid[rid(rec)]
    assert admin_ids(m) == {A.id}

    eb = enroll(None, B, "bob", Role.ADMIN, [ea], T0 + 5)
    rec2 = removal(eb)
    m2 = fold_(g, ea, eb, rec2)
    assert rid(rec2) in m2.valid
    assert admin_ids(m2) == {B.id}


def test_root_removing_two_admins_concurrently_can_repair() -> None:
    """No admin left: the root, from two PCs that have not synced (office PC and
    recovery kit), revokes one admin and demotes the other. Each was fine in its own
    past, so both stand (a documented gap of judging by causal past); the root can
    always enrol a new admin."""
    g, ea, eb = start(2)
    revokes_a = revoke(None, A, [ea, eb], T0 + 10)
    demotes_b = role_change(B, "bob", Role.MEMBER, 2, [ea, eb], T0 + 10)
    m = fold_(g, ea, eb, revokes_a, demotes_b)
    assert {rid(revokes_a), rid(demotes_b)} <= set(m.valid)
    assert m.state.admins() == []

    repair = enroll(None, C, "carol", Role.ADMIN, [revokes_a, demotes_b], T0 + 20)
    m2 = fold_(g, ea, eb, revokes_a, demotes_b, repair)
    assert rid(repair) in m2.valid
    assert admin_ids(m2) == {C.id}


# -- pending, broken, foreign and replayed records ----------------------------------------


def test_record_with_missing_parent_waits_and_has_no_effect() -> None:
    """A record whose parent has not arrived is pending and changes nothing, nor do its
    descendants; when the parent arrives, all of them take effect."""
    g, ea = start()
    eb = enroll(None, B, "bob", Role.ADMIN, [ea], T0 + 2)
    rv = revoke(None, A, [eb], T0 + 3)
    em = enroll(B, M, "mia", Role.MEMBER, [rv], T0 + 4)
    m = fold_(g, rv, eb, em)
    assert set(m.pending) == {rid(eb), rid(rv), rid(em)}
    assert m.valid == (rid(g),)
    assert m.state.devices == {} and m.state.revoked == {}
    m2 = fold_(g, rv, eb, em, ea)
    assert set(m2.valid) == {rid(g), rid(ea), rid(eb), rid(rv), rid(em)}
    assert m2.pending == {}
    assert active_users(m2) == {"bob": Role.ADMIN, "mia": Role.MEMBER}


def test_record_by_unknown_device_is_pending() -> None:
    """Only keys named in root-issued tokens can sign membership records: anyone else
    (a stranger, or a member enrolled by an admin) waits in pending with no effect."""
    g, ea = start()
    em = enroll(A, M, "mia", Role.MEMBER, [ea], T0 + 2)
    by_stranger = revoke(N, A, [em], T0 + 3)
    by_member = rotate(M, 1, [A, M], [em], T0 + 4)
    m = fold_(g, ea, em, by_stranger, by_member)
    assert set(m.pending) == {rid(by_stranger), rid(by_member)}
    assert m.state.revoked == {} and m.state.keys == {}


@pytest.mark.parametrize("where", ["signature", "body-start", "body-end", "signer-id"])
def test_tampered_record_has_no_effect(where: str) -> None:
    """A bit flipped in a record's signature or body: broken. In its signer id: the
    signer is unknown, so pending. No effect either way."""
    g, ea = start()
    pos = {"signer-id": 3, "signature": 20, "body-start": 16 + 64, "body-end": len(ea) - 1}
    bad = flip(ea, pos[where])
    m = fold_(g, bad)
    assert set(m.pending if where == "signer-id" else m.broken) == {rid(bad)}
    assert m.state.devices == {}


def test_second_genesis_is_invalid() -> None:
    """A second genesis, with or without parents, never becomes a second root of the log."""
    g, ea = start()
    second = genesis_after(g)
    with_parent = sign(None, [ea], T0 + 2, Genesis("Acme Ltd", ROOT.public))
    m = fold_(g, ea, second, with_parent)
    assert m.genesis == rid(g)
    assert set(m.valid) == {rid(g), rid(ea)}
    assert "second genesis" in m.invalid[rid(second)]
    assert "second genesis" in m.invalid[rid(with_parent)]
    assert m.state.office_name == "Acme Ltd"


def test_record_not_descending_from_genesis_is_invalid() -> None:
    """A root-signed record that does not descend from the genesis (no parents, or a
    foreign genesis for another root) has no effect."""
    g = genesis()
    no_parents = enroll(None, A, "alice", Role.ADMIN, [], T0 + 1)
    foreign = foreign_genesis()
    under_foreign = enroll(None, B, "bob", Role.ADMIN, [foreign], T0 + 2)
    m = fold_(g, no_parents, foreign, under_foreign)
    assert m.valid == (rid(g),)
    assert {rid(no_parents), rid(foreign), rid(under_foreign)} <= set(m.invalid)
    assert m.state.devices == {}
    # Without any genesis of this office nothing is valid.
    assert fold_(no_parents).valid == ()


def test_replayed_old_token_in_a_new_record_is_refused() -> None:
    """SECURITY_TESTS 15: an old capability re-wrapped in a new record does not undo a
    later change. A role change must raise the serial; an enrolment (serial 1, with
    the device's own request copied from the log) may count again, but a device's
    current token is its highest serial, so it changes nothing."""
    g, ea, eb = start(2)
    demote = role_change(B, "bob", Role.MEMBER, 2, [ea, eb], T0 + 10)
    old_admin_token = token(B, "bob", Role.ADMIN, None, T0 + 2)
    replay_role = sign(None, [demote], T0 + 20, RoleChange(old_admin_token))
    replay_enrol = sign(
        None, [demote], T0 + 21, Enroll(old_admin_token, request(B, "bob"), None, {})
    )
    m = fold_(g, ea, eb, demote, replay_role, replay_enrol)
    assert "does not raise the serial" in m.invalid[rid(replay_role)]
    assert rid(replay_enrol) not in m.pending and rid(replay_enrol) not in m.broken
    assert active_users(m) == {"alice": Role.ADMIN, "bob": Role.MEMBER}
    assert m.state.devices[B.id].capability.serial == 2


# -- who may write what -------------------------------------------------------------------


def test_role_changes_only_by_root() -> None:
    """Escalation: an admin device cannot change roles (neither promote a member to
    admin, nor rewrite a member's token, nor re-sign a root token, nor demote a fellow
    admin); the root can (control)."""
    g, ea, eb = start(2)
    em = enroll(A, M, "mia", Role.MEMBER, [ea, eb], T0 + 2)
    attempts = [
        sign(A, [em], at, RoleChange(token(dev, user, role, issuer, at, 2)))
        for dev, user, role, issuer, at in [
            (M, "mia2", Role.MEMBER, A, T0 + 3),
            (M, "mia", Role.ADMIN, A, T0 + 4),
            (M, "mia", Role.ADMIN, None, T0 + 5),
            (B, "bob", Role.MEMBER, A, T0 + 6),
        ]
    ]
    m = fold_(g, ea, eb, em, *attempts)
    assert {rid(b) for b in attempts} <= set(m.invalid)
    assert "only the office root" in m.invalid[rid(attempts[-1])]
    assert active_users(m) == {"alice": Role.ADMIN, "bob": Role.ADMIN, "mia": Role.MEMBER}

    promotion = role_change(M, "mia", Role.ADMIN, 2, [em], T0 + 5)
    m2 = fold_(g, ea, eb, em, promotion)
    assert rid(promotion) in m2.valid
    assert active_users(m2)["mia"] is Role.ADMIN


@pytest.mark.parametrize(
    ("user", "serial", "why"),
    [("alice", 1, "serial"), ("alicia", 2, "user or keys")],
    ids=["serial-not-raised", "user-renamed"],
)
def test_root_role_change_must_raise_serial_and_keep_identity(
    user: str, serial: int, why: str
) -> None:
    """Replay and identity swap: a root role change that does not raise the serial, or
    that renames the device's user, is refused."""
    g, ea, eb = start(2)
    change = role_change(A, user, Role.MEMBER, serial, [ea, eb], T0 + 10)
    m = fold_(g, ea, eb, change)
    assert why in m.invalid[rid(change)]
    assert active_users(m)["alice"] is Role.ADMIN


def test_member_enrolment_by_admin_valid_by_member_invalid() -> None:
    """Only admins enrol: a member (even one whose key the log knows) cannot."""
    g, ea = start()
    em = enroll(None, M, "mia", Role.MEMBER, [ea], T0 + 2)  # root-enrolled: key known
    by_admin = enroll(A, C, "carol", Role.MEMBER, [em], T0 + 3)
    by_member = enroll(M, D, "dave", Role.MEMBER, [em], T0 + 4)
    m = fold_(g, ea, em, by_admin, by_member)
    assert rid(by_admin) in m.valid
    assert rid(by_member) in m.invalid
    assert set(active_users(m)) == {"alice", "mia", "carol"}


def test_rotation_epochs_must_follow() -> None:
    """Key rotation: epoch 1 first, then each next one; skips, repeats and root-signed
    rotations are refused."""
    g, ea = start()
    skip_first = rotate(A, 2, [A], [ea], T0 + 2)
    r1 = rotate(A, 1, [A], [ea], T0 + 3)
    repeat = rotate(A, 1, [A], [r1], T0 + 4)
    skip = rotate(A, 3, [A], [r1], T0 + 5)
    r2 = rotate(A, 2, [A], [r1], T0 + 6)
    by_root = rotate(None, 3, [A], [r2], T0 + 7)
    m = fold_(g, ea, skip_first, r1, repeat, skip, r2, by_root)
    assert {rid(r1), rid(r2)} <= set(m.valid)
    assert {rid(skip_first), rid(repeat), rid(skip), rid(by_root)} <= set(m.invalid)
    current = m.state.current_key()
    assert current is not None and current.record_id == rid(r2)


def test_rotation_sealed_to_revoked_device_is_invalid() -> None:
    """I-3: a new vault key must never be sealed to a device already revoked."""
    g, ea = start()
    em = enroll(A, M, "mia", Role.MEMBER, [ea], T0 + 2)
    rv = revoke(A, M, [em], T0 + 3)
    leaky = rotate(A, 1, [A, M], [rv], T0 + 4)
    clean = rotate(A, 1, [A], [rv], T0 + 5)
    m = fold_(g, ea, em, rv, leaky, clean)
    assert "revoked" in m.invalid[rid(leaky)]
    assert rid(clean) in m.valid


def test_invite_is_consumed_by_its_enrolment() -> None:
    """An invite lets exactly its user in, once, before it expires."""
    g, ea = start()
    inv = invite(A, INVITE_ID, "carol", [ea], T0 + 2, expires=T0 + 1000)
    first = enroll(A, C, "carol", Role.MEMBER, [inv], T0 + 3, INVITE_ID)
    again = enroll(A, D, "carol", Role.MEMBER, [first], T0 + 4, INVITE_ID)
    m = fold_(g, ea, inv, first, again)
    assert rid(first) in m.valid
    assert m.state.consumed == {INVITE_ID: C.id}
    assert "already used" in m.invalid[rid(again)]

    wrong_user = enroll(A, D, "dave", Role.MEMBER, [inv], T0 + 5, INVITE_ID)
    never_issued = enroll(A, D, "carol", Role.MEMBER, [ea], T0 + 5, INVITE_ID)
    expired = enroll(A, D, "carol", Role.MEMBER, [inv], T0 + 1000 + 301, INVITE_ID)
    for bad in (wrong_user, never_issued, expired):
        assert rid(bad) in fold_(g, ea, inv, bad).invalid
