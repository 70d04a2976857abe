"""Properties of the membership fold: order, duplicates, prefixes, stickiness.

Threats covered (SECURITY_TESTS 14-15, DESIGN I-1, I-3): peers that see the same
records in another order, with duplicates, or a few at a time must agree (also on
conflicts: concurrent role changes, one invite used twice) and never lose a valid
revocation; replayed records change nothing; a device the office root (or an
admin) revoked never comes back (by role token, re-enrolment with its keys, a
rotation sealed to it, or records of its own), no vault key it holds is current,
and only a fresh enrolment with new keys brings the person back. The deterministic
rules are in test_membership.py.
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node import records
from node.membership import fold
from node.tokens import Role
from tests.conftest import T0
from tests.node.membership_builders import (
    INVITE_ID,
    OFFICE_LOG_INVALID,
    OFFICE_LOG_VALID,
    ROOT,
    A,
    B,
    C,
    D,
    E,
    X,
    accounted,
    active_users,
    after_revoke,
    device,
    enroll,
    fold_,
    invite,
    office_log,
    rid,
    role_change,
    start,
)

# -- the office log: order, duplicates and prefixes ------------------------------


def test_office_log_folds_as_designed() -> None:
    """Control for the properties below: the log they shuffle exercises every verdict
    (valid, cut off, only-root-revokes-admins, pending, broken), so they are not vacuous."""
    log = office_log()
    m = fold_(*log.blobs)
    assert set(m.valid) == log.ids(*OFFICE_LOG_VALID)
    assert set(m.invalid) == log.ids(*OFFICE_LOG_INVALID)
    assert "concurrently" in m.invalid[rid(log["late_a"])]
    assert "concurrently" in m.invalid[rid(log["late_b"])]
    assert "only the office root may revoke an admin" in m.invalid[rid(log["b_rv_e"])]
    assert set(m.pending) == log.ids("by_c", "orphan")
    assert set(m.broken) == {rid(log["flipped"])}
    assert set(m.heads) == log.ids("b_rv_e", "late_a", "late_b", "rot3")
    assert m.genesis == rid(log["g"])
    assert active_users(m) == {"alice": Role.ADMIN, "erin": Role.ADMIN, "nina": Role.MEMBER}
    assert set(m.state.revoked) == {B.id, C.id, D.id}
    assert E.id not in m.state.revoked
    assert m.state.consumed == {INVITE_ID: C.id}
    assert set(m.state.invites) == {INVITE_ID}
    key = m.state.current_key()
    assert key is not None and key.epoch == 3 and key.record_id == rid(log["rot3"])
    assert not m.state.needs_rotation()
    before = fold_(*(blob for name, blob in log.named.items() if name != "rot3")).state
    assert before.current_key() is None, "every key was sealed to B or C, revoked since"
    assert before.needs_rotation()


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_order_with_duplicates_folds_identically(data: st.DataObject) -> None:
    """I-1: peers holding the same records, received in any order and any number of
    times, reach the same state and the same verdicts."""
    log = office_log()
    blobs = log.blobs
    extra = data.draw(st.lists(st.sampled_from(blobs), max_size=10), label="duplicates")
    shuffled = data.draw(st.permutations([*blobs, *extra]), label="order")
    expected = fold_(*blobs)
    got = fold_(*shuffled)
    assert got.state == expected.state
    assert got.valid == expected.valid
    assert got.invalid == expected.invalid
    assert got.pending == expected.pending
    assert got.broken == expected.broken
    assert got.heads == expected.heads
    assert got == expected


@settings(max_examples=25, deadline=None)
@given(order=st.permutations(office_log().blobs))
def test_prefixes_of_any_order_fold_and_converge(order: list[bytes]) -> None:
    """A peer that learns records a few at a time never crashes, accounts for every
    record it holds, never loses a valid revocation (root- or admin-signed), and ends
    where everyone ends. The fold cache, reused across prefixes as a node does,
    changes nothing."""
    full = fold_(*office_log().blobs)
    cache: dict[bytes, records.Record] = {}
    for n in range(len(order) + 1):
        prefix = order[:n]
        m = fold(ROOT.public, prefix, cache)
        assert accounted(m) == {rid(b) for b in prefix}
        assert len(m.valid) + len(m.invalid) + len(m.broken) + len(m.pending) == len(prefix)
        for rec_id in m.valid:
            if cache[rec_id].kind == "revoke":
                assert rec_id in full.valid, "a valid revocation was undone by more records"
    assert fold(ROOT.public, order, cache) == full


def test_replayed_records_change_nothing() -> None:
    """SECURITY_TESTS 15: the same record delivered again (and again) has no effect."""
    log = office_log().blobs
    once = fold_(*log)
    assert fold_(*log, *log, *log[:5]) == once


def test_concurrent_role_changes_keep_the_highest_serial() -> None:
    """Two role changes the root made without seeing each other (say on the office PC
    and on a recovery PC): every peer keeps the higher serial, whichever record sorts
    first in the fold."""
    g, ea, eb = start(2)
    low = role_change(B, "bob", Role.ADMIN, 2, [ea, eb], T0 + 10)
    seen: set[bool] = set()
    for n in range(64):
        high = role_change(B, "bob", Role.MEMBER, 3, [ea, eb], T0 + 11 + n)
        m = fold_(g, ea, eb, low, high)
        assert {rid(low), rid(high)} <= set(m.valid)
        member = m.state.devices[B.id]
        assert (member.capability.serial, member.role) == (3, Role.MEMBER)
        seen.add(rid(high) < rid(low))
        if len(seen) == 2:
            return
    raise AssertionError("never saw both id orders")


@functools.cache
def invite_race() -> list[bytes]:
    """Two admins each enrol someone with the same invite, neither seeing the other."""
    g, ea, eb = start(2)
    inv = invite(A, INVITE_ID, "carol", [ea, eb], T0 + 3, expires=T0 + 1000)
    by_a = enroll(A, C, "carol", Role.MEMBER, [inv], T0 + 4, INVITE_ID)
    by_b = enroll(B, D, "carol", Role.MEMBER, [inv], T0 + 4, INVITE_ID)
    return [g, ea, eb, inv, by_a, by_b]


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_same_invite_used_twice_concurrently_folds_identically(data: st.DataObject) -> None:
    """I-1 with a conflict: one invite used twice concurrently. Whatever the fold
    decides, every order (with duplicates) gives the same answer, and the invite ends
    consumed by one of the two devices."""
    blobs = invite_race()
    extra = data.draw(st.lists(st.sampled_from(blobs), max_size=4), label="duplicates")
    shuffled = data.draw(st.permutations([*blobs, *extra]), label="order")
    expected = fold_(*blobs)
    assert fold_(*shuffled) == expected
    assert expected.state.consumed[INVITE_ID] in {C.id, D.id}


# -- revocation is sticky ----------------------------------------------------------


REVOKERS = pytest.mark.parametrize(
    "by_root", [True, False], ids=["root-revokes-admin", "admin-revokes-member"]
)


@REVOKERS
def test_revocation_fixture_is_live(by_root: bool) -> None:
    """Control for the property below: X is active before it is revoked, and some pool
    records are valid on their own (so they are really judged, not just ignored),
    including, for a revoked admin, a back-dated revocation of a member signed by X."""
    s = after_revoke(by_root)
    assert fold_(*s.base).state.active(X.id) is not None
    m = fold_(*s.base, s.revocation, *s.pool)
    assert rid(s.revocation) in m.valid
    live = set(m.valid) & {rid(b) for b in s.pool}
    assert len(live) >= 3
    assert not live & s.doomed
    assert not set(m.pending) & {rid(b) for b in s.pool}
    by_x = {rid(b) for b in s.pool if b[: len(X.id)] == X.id}  # a record starts with its signer
    if by_root:
        assert by_x & live, "X's back-dated revocation of a member is valid (documented residual)"
    else:
        assert by_x and not by_x & live, "a member signs no membership record"
        assert A.id in m.state.revoked, "the revoker's own revocation is in the pool"


@REVOKERS
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_revoked_device_is_never_readmitted(by_root: bool, data: st.DataObject) -> None:
    """I-3, sticky revocation, by the root (of an admin) or by an admin (of a member):
    no role token, re-enrolment with the same keys (or with another box key or serial),
    rotation sealed to it, root or admin revocation of anyone else (the revoker
    included), or record of its own ever makes a revoked device active again; none of
    the attempts made after seeing the revocation counts, and no admin-signed
    revocation of an admin ever does; a fresh enrolment with new keys does bring the
    person back."""
    s = after_revoke(by_root)
    chosen = data.draw(st.lists(st.sampled_from(s.pool), max_size=12), label="attempts")
    blobs = data.draw(st.permutations([*s.base, s.revocation, *chosen]), label="order")
    m = fold_(*blobs)
    assert rid(s.revocation) in m.valid
    assert X.id in m.state.revoked
    assert m.state.active(X.id) is None
    assert X.id not in {member.device_id for member in m.state.active_members()}
    assert not s.doomed & set(m.valid)
    assert B.id in {a.device_id for a in m.state.admins()}, "only the root removes admins"
    key = m.state.current_key()
    assert key is None or X.id not in key.sealed

    x2 = device(99)
    fresh = enroll(None, x2, "xavier", Role.ADMIN, [s.revocation], T0 + 500)
    m2 = fold_(*blobs, fresh)
    assert rid(fresh) in m2.valid
    member = m2.state.active(x2.id)
    assert member is not None and member.user == "xavier" and member.role is Role.ADMIN
    assert m2.state.active(X.id) is None


def test_fresh_enrolment_by_an_admin_readmits_the_person() -> None:
    """The only way back after revocation: new keys, enrolled by an admin."""
    s = after_revoke()
    x2 = device(98)
    fresh = enroll(B, x2, "xavier", Role.MEMBER, [s.revocation], T0 + 500)
    same_keys = enroll(B, X, "xavier", Role.MEMBER, [s.revocation], T0 + 501)
    m = fold_(*s.base, s.revocation, fresh, same_keys)
    assert {rid(s.revocation), rid(fresh)} <= set(m.valid)
    assert rid(same_keys) in m.invalid
    assert m.state.active(x2.id) is not None
    assert m.state.active(X.id) is None
