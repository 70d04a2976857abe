"""node.office: capabilities that expire, renewing them, and the clock acts are signed at.

Threats covered: a capability is good for identity.TOKEN_LIFETIME (two years)
plus the allowed clock skew; after that `verify(now)` names every expired
device and `expiring(now)` lists those about to expire (each device is in
exactly one of fine, expiring, expired); an admin whose capability expired
cannot invite, enrol or revoke, and is told to run 'vault-admin renew';
`renew` (root key only) re-issues each capability with the same role, the
next serial and a fresh window, even on a root PC whose own admin
capability has expired; `set_role` and `renew` need only the root key, so a
root PC that demoted its own user can undo it. Acts never sign before the
office's newest record: a clock a little behind signs at that record's time,
one more than the skew behind is refused with one line. Unlock refuses a log
without its genesis record; verify still opens it and says so.

Each test starts from conftest's `alice` office (made at T0, alice's root PC).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from node import crypto, joining, keystore, onboarding, records
from node.errors import NotFoundError, PermissionDeniedError, StorageError, UserError
from node.identity import TOKEN_LIFETIME
from node.invites import InviteCode
from node.office import Office
from node.records import Invite, RoleChange
from node.tokens import CLOCK_SKEW, Role
from tests.conftest import PASSWORD, T0

HOUR = 3600
DAY = 86_400
LIFE = TOKEN_LIFETIME
ALICE_END = T0 + LIFE + CLOCK_SKEW  # the last second alice's first capability is good for
PROFILE = keystore.INSECURE_TEST


def pw() -> bytearray:
    return bytearray(PASSWORD.encode())


def when(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def request_for(user: str) -> bytes:
    return joining.make_request(
        user, crypto.SigningKeyPair.generate(), crypto.BoxKeyPair.generate().public
    )


def enroll(office: Office, code: object, request: bytes, now: int) -> bytes:
    delivered: list[bytes] = []
    office.enroll(str(code), request, now, delivered.append)
    return delivered[0]


def enrol_member(office: Office, user: str, now: int) -> bytes:
    """Invite and enrol a device for `user` (no PC needed); returns its device id."""
    request = request_for(user)
    enroll(office, office.invite(user, Role.MEMBER, HOUR, now), request, now)
    return joining.read_request(request).device_id


def new_records(office: Office, before: list[bytes]) -> list[records.Record]:
    return [office._cache[records.record_id(b)] for b in office.store.records() if b not in before]


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert message
    assert "\n" not in message
    return message


@pytest.fixture
def second_pc(alice: Office, tmp_path: Path) -> Iterator[Office]:
    """Alice's second admin PC (A2, no root key), enrolled at T0 + 50, with bob at T0 + 10."""
    enrol_member(alice, "bob", T0 + 10)
    code = alice.invite("alice", Role.ADMIN, HOUR, T0 + 50)
    requests: list[bytes] = []
    onboarding.new_device(tmp_path / "A2", "alice", pw(), PROFILE, requests.append)
    welcome = enroll(alice, code, requests[0], T0 + 50)
    onboarding.accept_welcome(tmp_path / "A2", pw(), PROFILE, welcome, str(code)).close()
    with Office.unlock(tmp_path / "A2", pw(), PROFILE) as a2:
        assert a2.identity.root is None
        yield a2


# -- verify and expiring ------------------------------------------------------------------
def test_verify_names_each_device_whose_capability_expired(alice: Office) -> None:
    bob = enrol_member(alice, "bob", T0 + HOUR)
    me = alice.identity.device_id.hex()[:12]
    mine = f"alice's device {me}: capability expired on {when(T0 + LIFE)} (vault-admin renew)"
    bobs = f"bob's device {bob.hex()[:12]}: capability expired on {when(T0 + HOUR + LIFE)}"
    assert alice.verify(T0) == []
    assert alice.verify(ALICE_END) == []  # the skew is allowed
    assert alice.verify(ALICE_END + 1) == [mine]
    problems = alice.verify(ALICE_END + HOUR + 1)
    assert sorted(problems) == sorted([mine, bobs + " (vault-admin renew)"])
    assert all("\n" not in p for p in problems)


def test_expiring_lists_devices_within_the_window(alice: Office) -> None:
    """At any time a device is exactly one of: fine, expiring (warned), expired (a problem)."""
    me = alice.member
    window = 30 * DAY
    assert alice.expiring(ALICE_END - window - 1) == []
    assert alice.expiring(ALICE_END - window) == [me]
    assert alice.expiring(ALICE_END) == [me]
    assert alice.expiring(ALICE_END + 1) == []
    assert alice.expiring(T0, within=LIFE + CLOCK_SKEW) == [me]
    assert alice.expiring(T0, within=LIFE + CLOCK_SKEW - 1) == []
    for t in (T0, ALICE_END - window - 1, ALICE_END - window, ALICE_END, ALICE_END + 1):
        warned, failed = bool(alice.expiring(t)), bool(alice.verify(t))
        assert not (warned and failed), t
        assert warned == (ALICE_END - window <= t <= ALICE_END), t
        assert failed == (t > ALICE_END), t


def test_a_revoked_device_is_neither_expiring_nor_expired(alice: Office) -> None:
    enrol_member(alice, "bob", T0 + 10)
    alice.revoke("bob", T0 + 20)
    assert [m.user for m in alice.expiring(ALICE_END)] == ["alice"]
    [problem] = alice.verify(ALICE_END + DAY)
    assert problem.startswith("alice's device")


# -- renew ----------------------------------------------------------------------------------
def test_renew_everyone_reissues_each_active_device(alice: Office) -> None:
    lost = enrol_member(alice, "bob", T0 + 10)
    enrol_member(alice, "bob", T0 + 20)
    enrol_member(alice, "carol", T0 + 30)
    alice.set_role("carol", Role.ADMIN, T0 + 40)
    alice.revoke("bob", T0 + 50, "", lost.hex())
    old = {m.device_id: m.capability for m in alice.membership.state.active_members()}
    assert len(old) == 3  # alice, one of bob's, carol
    later = T0 + LIFE - 10 * DAY
    before = alice.store.records()
    assert sorted(alice.renew([], later)) == sorted(old)
    for member in alice.membership.state.active_members():
        cap, was = member.capability, old[member.device_id]
        assert (cap.user, cap.role, cap.sign_public, cap.box_public) == (
            was.user, was.role, was.sign_public, was.box_public,
        )  # fmt: skip
        assert (cap.serial, cap.not_before, cap.not_after) == (was.serial + 1, later, later + LIFE)
        assert cap.issuer_id == alice.office_id
    made = new_records(alice, before)
    assert len(made) == 3
    assert all(isinstance(r.payload, RoleChange) for r in made)
    assert {(r.signer_id, r.at) for r in made} == {(alice.office_id, later)}
    assert alice.verify(ALICE_END + DAY) == []
    assert alice.expiring(later) == []


def test_renew_named_users_renews_only_theirs(alice: Office) -> None:
    bob = enrol_member(alice, "bob", T0 + 10)
    dave = enrol_member(alice, "dave", T0 + 20)
    state = alice.membership.state
    assert alice.renew(["bob"], T0 + DAY) == [bob]
    after = alice.membership.state
    assert after.devices[bob].capability.not_after == T0 + DAY + LIFE
    assert after.devices[dave].capability == state.devices[dave].capability
    assert after.devices[alice.identity.device_id].capability.not_after == T0 + LIFE
    assert sorted(alice.renew(["dave", "alice"], T0 + DAY)) == sorted(
        [dave, alice.identity.device_id]
    )


@pytest.mark.parametrize("users", [["carol"], ["bob", "carol"], ["bob", "Bob"]])
def test_renew_of_a_user_without_active_devices_changes_nothing(
    alice: Office, users: list[str]
) -> None:
    enrol_member(alice, "carol", T0 + 10)
    enrol_member(alice, "bob", T0 + 20)
    alice.revoke("carol", T0 + 30)
    before = alice.store.records()
    with pytest.raises(NotFoundError, match="no active user named") as info:
        alice.renew(users, T0 + DAY)
    one_line(info)
    assert alice.store.records() == before


@pytest.mark.parametrize("act", ["renew", "set_role"])
def test_renew_and_set_role_need_the_root_key(second_pc: Office, act: str) -> None:
    before = second_pc.store.records()
    with pytest.raises(PermissionDeniedError, match="needs the office root key") as info:
        if act == "renew":
            second_pc.renew([], T0 + DAY)
        else:
            second_pc.set_role("bob", Role.ADMIN, T0 + DAY)
    one_line(info)
    assert second_pc.store.records() == before


# -- an admin whose capability expired ---------------------------------------------------------
@pytest.mark.parametrize("act", ["invite", "enroll", "revoke"])
def test_an_admin_whose_capability_expired_is_told_to_renew(second_pc: Office, act: str) -> None:
    a2_end = T0 + 50 + LIFE
    code = second_pc.invite("dan", Role.MEMBER, 30 * DAY, a2_end - DAY)  # made while still good
    acts: dict[str, Callable[[int], object]] = {
        "invite": lambda t: second_pc.invite("erin", Role.MEMBER, HOUR, t),
        "enroll": lambda t: enroll(second_pc, code, request_for("dan"), t),
        "revoke": lambda t: second_pc.revoke("bob", t),
    }
    before = second_pc.store.records()
    with pytest.raises(PermissionDeniedError) as info:
        acts[act](a2_end + CLOCK_SKEW + 1)
    message = one_line(info)
    assert f"this device's admin capability expired on {when(a2_end)}" in message
    assert "'vault-admin renew'" in message
    assert second_pc.store.records() == before
    acts[act](a2_end + CLOCK_SKEW)  # only the expiry made the difference (and it is valid)
    assert len(second_pc.store.records()) > len(before)


def test_the_root_pc_renews_even_its_own_expired_admin_capability(alice: Office) -> None:
    bob = enrol_member(alice, "bob", T0 + 10)
    late = ALICE_END + 1
    with pytest.raises(PermissionDeniedError, match="vault-admin renew"):
        alice.invite("dan", Role.MEMBER, HOUR, late)
    assert sorted(alice.renew([], late)) == sorted([alice.identity.device_id, bob])
    assert alice.member is not None
    assert (alice.member.role, alice.member.capability.not_after) == (Role.ADMIN, late + LIFE)
    code = alice.invite("dan", Role.MEMBER, HOUR, late)  # works again
    enroll(alice, code, request_for("dan"), late + 1)
    assert alice.verify(late + 1) == []


# -- the clock acts sign at ---------------------------------------------------------------------
def test_a_clock_behind_the_newest_record_signs_at_its_time_or_is_refused(alice: Office) -> None:
    enrol_member(alice, "bob", T0 + HOUR)  # the newest records are at T0 + 3600
    before = alice.store.records()
    alice.invite("dan", Role.MEMBER, HOUR, T0 + HOUR - 100)
    [made] = new_records(alice, before)
    assert isinstance(made.payload, Invite)
    assert made.at == T0 + HOUR  # not the clock's T0 + 3500: never before what it follows
    assert made.payload.expires == T0 + 2 * HOUR
    before = alice.store.records()
    with pytest.raises(UserError) as info:
        alice.invite("erin", Role.MEMBER, HOUR, T0)
    assert one_line(info) == (
        f"this PC's clock reads {when(T0)}, before the office's newest record "
        f"({when(T0 + HOUR)}); set the clock right and try again"
    )
    assert alice.store.records() == before
    alice.invite("erin", Role.MEMBER, HOUR, T0 + 2 * HOUR)  # a clock ahead signs at its time
    assert max(r.at for r in new_records(alice, before)) == T0 + 2 * HOUR
    assert alice.verify(T0 + 2 * HOUR) == []


NEWEST = T0 + HOUR  # the time of the office's newest record in `at_newest`
ClockAct = Callable[[Office, InviteCode, int], object]
CLOCK_ACTS: dict[str, ClockAct] = {
    "invite": lambda o, code, t: o.invite("dan", Role.MEMBER, HOUR, t),
    "enroll": lambda o, code, t: enroll(o, code, request_for("erin"), t),
    "set_role": lambda o, code, t: o.set_role("bob", Role.ADMIN, t),
    "renew": lambda o, code, t: o.renew([], t),
    "revoke": lambda o, code, t: o.revoke("bob", t),
}


@pytest.fixture
def at_newest(alice: Office) -> tuple[Office, InviteCode]:
    """Alice's office whose newest records (bob's enrolment, erin's invite) are at NEWEST."""
    enrol_member(alice, "bob", NEWEST)
    return alice, alice.invite("erin", Role.MEMBER, DAY, NEWEST)


@pytest.mark.parametrize("act", list(CLOCK_ACTS))
def test_every_act_signs_at_the_newest_record_when_the_clock_is_within_the_skew(
    at_newest: tuple[Office, InviteCode], act: str
) -> None:
    office, code = at_newest
    before = office.store.records()
    CLOCK_ACTS[act](office, code, NEWEST - CLOCK_SKEW)
    made = new_records(office, before)
    assert made
    assert {r.at for r in made} == {NEWEST}
    assert office.verify(NEWEST) == []


@pytest.mark.parametrize("act", list(CLOCK_ACTS))
def test_every_act_refuses_a_clock_further_behind(
    at_newest: tuple[Office, InviteCode], act: str
) -> None:
    office, code = at_newest
    before = office.store.records()
    with pytest.raises(UserError) as info:
        CLOCK_ACTS[act](office, code, NEWEST - CLOCK_SKEW - 1)
    assert type(info.value) is UserError
    assert one_line(info).startswith(f"this PC's clock reads {when(NEWEST - CLOCK_SKEW - 1)}")
    assert office.store.records() == before


def role_of_this_pc(office: Office) -> Role:
    assert office.member is not None
    return office.member.role


# -- root acts need only the root key ------------------------------------------------------------
def test_a_root_pc_that_demoted_its_own_user_can_undo_it(alice: Office) -> None:
    bob = enrol_member(alice, "bob", T0 + 10)
    alice.set_role("bob", Role.ADMIN, T0 + 20)  # so alice is not the last admin
    alice.set_role("alice", Role.MEMBER, T0 + 30)
    assert role_of_this_pc(alice) is Role.MEMBER
    with pytest.raises(PermissionDeniedError, match="only an admin"):
        alice.invite("dan", Role.MEMBER, HOUR, T0 + 40)
    assert alice.renew(["bob"], T0 + 40) == [bob]  # the root key is enough
    assert alice.set_role("alice", Role.ADMIN, T0 + 50) == [alice.identity.device_id]
    assert role_of_this_pc(alice) is Role.ADMIN
    alice.invite("dan", Role.MEMBER, HOUR, T0 + 60)
    assert alice.verify(T0 + 60) == []


# -- a log without its genesis record ------------------------------------------------------------
def test_unlock_refuses_a_log_without_genesis_but_verify_reports_it(alice: Office) -> None:
    [genesis] = [r for r in alice.membership.valid if alice._cache[r].kind == "genesis"]
    with alice.store.transaction():
        alice.store._query("DELETE FROM membership WHERE id = ?", (genesis,))
    path = alice.datadir.path
    with pytest.raises(StorageError) as info:
        Office.unlock(path, pw(), PROFILE)
    message = one_line(info)
    assert "no genesis" in message
    assert "vault-admin verify" in message
    with Office.unlock(path, pw(), PROFILE, strict=False) as office:
        problems = office.verify(T0)
    assert "membership log: no valid genesis record for the pinned office root" in problems
    assert "this device is not an active member of the office" in problems
