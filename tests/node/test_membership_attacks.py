"""Attacks a security review confirmed against the previous membership fold.

Each test names its threat and fails if the rule that stops it is removed:
revoked admins back-dating revocations of admins the root named later; an admin
re-enrolling someone else's device with a huge serial or a box key of its own;
a vault key sealed to a device revoked concurrently becoming current; records
whose time runs backwards along the DAG; root records blind to admin revocations;
and a record with no parents crashing every peer's fold.
"""

from __future__ import annotations

import hashlib

import pytest

from node import joining
from node.membership_state import Member
from node.tokens import Role
from tests.conftest import T0
from tests.node.membership_builders import (
    LIFETIME,
    A,
    B,
    C,
    D,
    Device,
    M,
    N,
    X,
    admin_ids,
    enroll,
    fold_,
    request,
    revoke,
    rid,
    role_change,
    rotate,
    rotate_for,
    start,
    token,
)

ONLY_ROOT = "only the office root may revoke an admin"


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# -- back-dated revocations of admins ---------------------------------------------------


@pytest.mark.parametrize("target", ["admin-enrolled-later", "member-promoted-later"])
def test_revoked_admin_cannot_backdate_revocation_of_a_later_admin(target: str) -> None:
    """Admins removing admins by back-dating: the root enrols C as admin and promotes
    member N, then revokes A. A signs a revocation of C with parents from before C's
    enrolment, or of N from before N's promotion: in the past A picks, the target is
    no admin. Only the root revokes anyone a root token ever named admin, whatever
    the past: neither counts."""
    g, ea, eb = start(2)
    ec = enroll(None, C, "carol", Role.ADMIN, [ea, eb], T0 + 10)
    en = enroll(None, N, "nina", Role.MEMBER, [ea, eb], T0 + 11)
    pn = role_change(N, "nina", Role.ADMIN, 2, [en], T0 + 12)
    rv = revoke(None, A, [ec, pn], T0 + 20)
    if target == "admin-enrolled-later":
        backdated = revoke(A, C, [ea, eb], T0 + 5)
    else:
        backdated = revoke(A, N, [en], T0 + 11)
    m = fold_(g, ea, eb, ec, en, pn, rv, backdated)
    assert rid(rv) in m.valid
    assert m.invalid[rid(backdated)] == ONLY_ROOT
    assert admin_ids(m) == {B.id, C.id, N.id}
    assert set(m.state.revoked) == {A.id}


# -- re-enrolling someone else's device -------------------------------------------------

VICTIMS = ["root-enrolled-admin", "other-admins-member"]
HUGE = 2**40


def _office_with_victim(victim: str) -> tuple[list[bytes], Device, str, list[bytes]]:
    """Admins A, B and C (the root's); B enrols member M. Returns the log, the victim,
    its user name, and a back-dated past in which the victim is not enrolled yet."""
    g, ea, eb = start(2)
    ec = enroll(None, C, "carol", Role.ADMIN, [ea, eb], T0 + 3)
    em = enroll(B, M, "mia", Role.MEMBER, [ec], T0 + 4)
    if victim == "root-enrolled-admin":
        return [g, ea, eb, ec, em], B, "bob", [ea]
    return [g, ea, eb, ec, em], M, "mia", [ec]


def _attack(variant: str, dev: Device, user: str, past: list[bytes]) -> tuple[bytes, str]:
    """Admin A's re-enrolment of `dev` as a member, and why the fold must refuse it."""
    copied = request(dev, user)  # the victim's genuine request, copied from the log
    if variant == "all-at-once":
        rec = enroll(A, dev, user, Role.MEMBER, past, T0 + 30, serial=HUGE, box_public=A.box.public)
        return rec, "serial 1"
    if variant == "huge-serial":  # the victim's own keys: only the serial outranks
        return enroll(A, dev, user, Role.MEMBER, past, T0 + 30, serial=HUGE), "serial 1"
    if variant == "attacker-box-key":
        rec = enroll(A, dev, user, Role.MEMBER, past, T0 + 30, box_public=A.box.public)
        return rec, "does not match the device's own request"
    if variant == "attacker-signed-request":
        forged = joining.make_request(user, A.sign, A.box.public)
        rec = enroll(
            A, dev, user, Role.MEMBER, past, T0 + 30, box_public=A.box.public, join_request=forged
        )
        return rec, "does not match the device's own request"
    assert variant == "damaged-request"
    damaged = copied[:-1] + bytes([copied[-1] ^ 1])
    rec = enroll(
        A, dev, user, Role.MEMBER, past, T0 + 30, box_public=A.box.public, join_request=damaged
    )
    return rec, "no valid join request"


@pytest.mark.parametrize("victim", VICTIMS)
@pytest.mark.parametrize(
    "variant",
    [
        "all-at-once",
        "huge-serial",
        "attacker-box-key",
        "attacker-signed-request",
        "damaged-request",
    ],
)
def test_admin_cannot_reenrol_a_device_with_a_huge_serial_or_another_box_key(
    victim: str, variant: str
) -> None:
    """Vault keys sealed to the attacker: admin A re-enrols an existing admin (or another
    admin's member) with a back-dated past, role member, a huge serial (to outrank its
    current token) and A's box key (so the next rotation seals the victim's copy to
    A). Enrolments must have serial 1 and carry the device's own signed request,
    which A can copy but not forge: refused. The victim keeps its capability and box
    key, and the next honest rotation seals to its real box key."""
    log, dev, user, past = _office_with_victim(victim)
    before = fold_(*log).state.devices[dev.id]
    attack, why = _attack(variant, dev, user, past)
    m = fold_(*log, attack)
    assert why in m.invalid[rid(attack)]
    assert m.state.devices[dev.id] == before
    assert m.state.devices[dev.id].capability.box_public == dev.box.public

    rotation, key = rotate_for(C, m.state, [*log, attack], T0 + 40)
    m2 = fold_(*log, attack, rotation)
    assert rid(rotation) in m2.valid
    current = m2.state.current_key()
    assert current is not None and current.record_id == rid(rotation)
    assert bytes(dev.box.unseal(current.sealed[dev.id])) == key


@pytest.mark.parametrize("victim", VICTIMS)
def test_duplicate_enrolment_by_an_admin_never_changes_the_device(victim: str) -> None:
    """Demotion by duplicate: admin A re-enrols the victim with its own keys, its copied
    request and serial 1, but as a member. That is a duplicate and may count; a device's
    current token is the highest (serial, issued by the root, hash), so a root-issued
    admin token is never outranked, even when A's token hash sorts higher; and the
    user and keys cannot change whichever token wins."""
    log, dev, user, past = _office_with_victim(victim)
    before: Member = fold_(*log).state.devices[dev.id]
    hashes_above = 0
    for n in range(24):
        dup = enroll(A, dev, user, Role.MEMBER, past, T0 + 30 + n)
        m = fold_(*log, dup)
        assert rid(dup) in m.valid
        cap = m.state.devices[dev.id].capability
        assert (cap.user, cap.sign_public, cap.box_public) == (
            user,
            dev.sign.public,
            dev.box.public,
        )
        if victim == "root-enrolled-admin":
            assert m.state.devices[dev.id] == before, "an admin's token outranked the root's"
        dup_token = token(dev, user, Role.MEMBER, A, T0 + 30 + n)
        hashes_above += _sha(dup_token) > _sha(before.token)
    assert 0 < hashes_above < 24, "both hash orders were tried"


# -- a rotation concurrent with a revocation --------------------------------------------


def test_key_sealed_to_a_concurrently_revoked_device_is_never_current() -> None:
    """Vault key leak: admin A rotates without having seen B's revocation of member M,
    sealing the new key to M. Both records stand, but no key M holds is ever current:
    the office needs a rotation. The next one takes the epoch after the newest (not
    after the current one), excludes M, and becomes current."""
    g, ea, eb = start(2)
    em = enroll(A, M, "mia", Role.MEMBER, [ea, eb], T0 + 3)
    r1 = rotate(A, 1, [A, B, M], [em], T0 + 4)
    rv = revoke(B, M, [r1], T0 + 10)
    leaky = rotate(A, 2, [A, B, M], [r1], T0 + 11)
    log = [g, ea, eb, em, r1, rv, leaky]
    m = fold_(*log)
    assert {rid(rv), rid(leaky)} <= set(m.valid)
    assert m.state.current_key() is None
    assert m.state.needs_rotation()
    assert m.state.max_epoch() == 2
    later = enroll(B, D, "dave", Role.MEMBER, [rv, leaky], T0 + 12)
    assert fold_(*log, later).state.current_key() is None, "a leaked key became current"

    restart = rotate(B, 1, [A, B], [rv, leaky], T0 + 20)
    fix, _ = rotate_for(B, m.state, [rv, leaky], T0 + 21)
    m2 = fold_(*log, restart, fix)
    assert "does not follow the newest one" in m2.invalid[rid(restart)]
    assert rid(fix) in m2.valid
    current = m2.state.current_key()
    assert current is not None and current.record_id == rid(fix) and current.epoch == 3
    assert M.id not in current.sealed
    assert not m2.state.needs_rotation()


# -- time runs forward along the DAG ----------------------------------------------------


def test_record_claiming_a_time_before_its_parents_is_invalid() -> None:
    """Back-timing: A's token expired; the root has since enrolled admin C. A signs
    records on top of C's enrolment but claims a time when its token was valid
    (an enrolment, a rotation, a revocation of a member). Every record must claim a
    time no earlier than its parents': all refused. Signed at the honest time, A is
    no active admin; C, at its parent's time, may act."""
    g, ea = start()
    em = enroll(A, M, "mia", Role.MEMBER, [ea], T0 + 2)
    later = T0 + LIFETIME + 1000
    ec = enroll(None, C, "carol", Role.ADMIN, [em], later)
    backtimed = [
        enroll(A, D, "dave", Role.MEMBER, [ec], T0 + 100),
        rotate(A, 1, [A, C, M], [ec], T0 + 101),
        revoke(A, M, [ec], T0 + 102),
    ]
    honest = enroll(A, D, "dave", Role.MEMBER, [ec], later + 1)
    by_c = enroll(C, N, "nina", Role.MEMBER, [ec], later)
    m = fold_(g, ea, em, ec, *backtimed, honest, by_c)
    for rec in backtimed:
        assert m.invalid[rid(rec)] == "claims a time before the records it follows"
    assert "not an active admin" in m.invalid[rid(honest)]
    assert rid(by_c) in m.valid
    assert m.state.active(M.id) is not None and m.state.keys == {}
    assert D.id not in m.state.devices


# -- root records see admin revocations -------------------------------------------------


def test_root_cannot_bring_back_a_member_an_admin_revoked() -> None:
    """Sticky admin revocations: admin A revokes member X; the root, having seen that,
    re-enrols X with its own keys or raises its serial. Root records are judged with
    every revocation in their causal past: both refused, X stays revoked."""
    g, ea = start()
    ex = enroll(None, X, "xavier", Role.MEMBER, [ea], T0 + 2)
    rv = revoke(A, X, [ex], T0 + 3)
    reenrol = enroll(None, X, "xavier", Role.MEMBER, [rv], T0 + 4)
    reissue = role_change(X, "xavier", Role.MEMBER, 2, [rv], T0 + 5)
    m = fold_(g, ea, ex, rv, reenrol, reissue)
    assert rid(rv) in m.valid
    assert "revoked" in m.invalid[rid(reenrol)]
    assert "revoked" in m.invalid[rid(reissue)]
    assert m.state.active(X.id) is None
    assert m.state.devices[X.id].capability.serial == 1


# -- a record with no parents ---------------------------------------------------------


@pytest.mark.parametrize("signer", ["revoked-admin", "root"])
def test_parentless_record_does_not_crash_the_fold(signer: str) -> None:
    """Denial of service: any key a root token ever named (a revoked admin's, say) can
    sign a record with no parents. Every peer's fold must judge it (it does not
    descend from the genesis), not raise."""
    g, ea, eb = start(2)
    rv = revoke(None, A, [ea, eb], T0 + 10)
    orphan = enroll(A if signer == "revoked-admin" else None, D, "dave", Role.MEMBER, [], T0 + 11)
    m = fold_(g, ea, eb, rv, orphan)
    assert "does not descend" in m.invalid[rid(orphan)]
    assert rid(rv) in m.valid
