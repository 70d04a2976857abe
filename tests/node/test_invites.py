"""node.invites: invite codes, durations, and redeeming a code against an office.

Threats covered: an invite code is one-time, expires, and names exactly one
invite; a used, expired or unknown code is refused with a message saying
which; the code's secret words are never stored in the clear (only sealed
to admin devices and the office root), so no member can read them from the
membership log; hand-typed input can only produce an `InviteError`/`UserError`.
The number of a used or expired invite may be handed out again: a code still
redeems only its own invite, and the open one wins.
"""

from __future__ import annotations

import re
import secrets

import pytest

from node import crypto, invites, joining
from node.errors import InviteError, UserError
from node.invites import InviteCode
from node.membership import IssuedInvite
from node.office import Office
from node.tokens import Role
from node.wordlist import WORDS
from tests.conftest import T0

HOUR = 3600
A, B, C = WORDS[0], WORDS[1], WORDS[2]


def redeem_as(office: Office, code: InviteCode, now: int) -> IssuedInvite:
    """Redeem with every key this (root-holding) admin device has."""
    assert office.identity.root is not None
    return invites.redeem(
        office.membership.state,
        code,
        now,
        [office.identity.box, office.identity.root.box_keys()],
        [office.identity.device_id, office.office_id],
    )


def fresh_request(user: str) -> bytes:
    """A join request as a new PC makes it: fresh device keys."""
    sign = crypto.SigningKeyPair.generate()
    box = crypto.BoxKeyPair.generate()
    return joining.make_request(user, sign, box.public)


def enroll(office: Office, code_text: str, request: bytes, now: int) -> bytes:
    """Enrol through the Office API; returns the welcome it delivered."""
    delivered: list[bytes] = []
    office.enroll(code_text, request, now, delivered.append)
    assert len(delivered) == 1
    return delivered[0]


def without_public_text(blob: bytes) -> bytes:
    """A record blob minus the role names it carries in clear ("member" contains "ember")."""
    for role in Role:
        blob = blob.replace(role.value.encode(), b"")
    return blob


# -- the code ------------------------------------------------------------------------


def test_new_code_shape() -> None:
    for _ in range(50):
        code = invites.new_code(set())
        assert re.fullmatch(r"[1-9][0-9]?-[a-z]+-[a-z]+-[a-z]+", str(code)), str(code)
        assert 1 <= code.nameplate <= 99
        assert len(code.words) == invites.WORDS_PER_CODE
        assert all(w in WORDS for w in code.words)
        assert code.secret == "-".join(code.words).encode()
        assert invites.parse_code(str(code)) == code


def test_new_code_avoids_taken_nameplates_and_grows_when_full() -> None:
    taken = set(range(1, 100)) - {42}
    assert invites.new_code(taken).nameplate == 42
    longer = invites.new_code(set(range(1, 100)))
    assert 100 <= longer.nameplate <= 999


def test_new_code_when_every_nameplate_is_taken_is_a_user_error() -> None:
    with pytest.raises(UserError):
        invites.new_code(set(range(1, invites.MAX_NAMEPLATE + 1)))


def test_code_repr_hides_the_words() -> None:
    code = InviteCode(42, (A, B, C))
    for word in code.words:
        assert word not in repr(code)


@pytest.mark.parametrize(
    "text",
    [
        f"42-{A}-{B}-{C}",
        f"42 {A} {B} {C}",
        f"  42-{A.upper()}-{B.title()}-{C}  ",
        f"42 - {A} -- {B}\t{C}",
        f"042-{A}-{B}-{C}",
    ],
    ids=["hyphens", "spaces", "mixed-case-and-padding", "mixed-separators", "leading-zero"],
)
def test_parse_code_forgives_how_people_type(text: str) -> None:
    assert invites.parse_code(text) == InviteCode(42, (A, B, C))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "42",
        f"42-{A}-{B}",
        f"42-{A}-{B}-{C}-{A}",
        f"{A}-{B}-{C}-42",
        f"x-{A}-{B}-{C}",
        f"4x2-{A}-{B}-{C}",
        f"0-{A}-{B}-{C}",
        f"10000-{A}-{B}-{C}",
        f"42-{A}-{B}-notaword",
        f"42-{A}-{B}-{C}s",
        f"42-{A}-{B}-{C[:-1]}",
        f"42_{A}_{B}_{C}",
        f"4.2-{A}-{B}-{C}",
        f"²-{A}-{B}-{C}",
        f"{'9' * 5000}-{A}-{B}-{C}",
    ],
    ids=[
        "empty",
        "blank",
        "nameplate-only",
        "too-few-words",
        "too-many-words",
        "nameplate-last",
        "nameplate-not-a-number",
        "nameplate-with-letter",
        "nameplate-zero",
        "nameplate-too-big",
        "unknown-word",
        "word-plus-suffix",
        "word-prefix",
        "underscores",
        "decimal-nameplate",
        "superscript-digit-nameplate",
        "5000-digit-nameplate",
    ],
)
def test_parse_code_refuses_bad_input(text: str) -> None:
    """Whatever is typed or pasted, the only outcome besides a code is an InviteError."""
    with pytest.raises(InviteError):
        invites.parse_code(text)


# -- durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 30 * 60),
        ("24h", 24 * HOUR),
        ("7d", 7 * 24 * HOUR),
        ("1s", 1),
        ("30d", 30 * 24 * HOUR),
        ("720h", 30 * 24 * HOUR),
        (" 24h ", 24 * HOUR),
    ],
)
def test_parse_duration_accepts(text: str, seconds: int) -> None:
    assert invites.parse_duration(text) == seconds


ZERO, TOO_LONG, UNREADABLE = (
    "must last longer than that",
    "must expire within 30 days",
    "cannot read",
)


@pytest.mark.parametrize(
    ("text", "why"),
    [("0s", ZERO), ("0d", ZERO), ("000m", ZERO), ("31d", TOO_LONG), ("721h", TOO_LONG),
     ("2592001s", UNREADABLE), ("99y", UNREADABLE), ("", UNREADABLE), ("abc", UNREADABLE),
     ("24", UNREADABLE), ("h", UNREADABLE), ("-1h", UNREADABLE), ("1.5h", UNREADABLE),
     ("1h30m", UNREADABLE), ("1000000d", UNREADABLE), ("1234567s", UNREADABLE),
     ("24 h", UNREADABLE)],
)  # fmt: skip
def test_parse_duration_refuses(text: str, why: str) -> None:
    with pytest.raises(UserError, match=why):
        invites.parse_duration(text)


# -- redeeming against an office ------------------------------------------------------------


def test_redeem_before_expiry_finds_the_invite(alice: Office) -> None:
    code = alice.invite("bob", Role.MEMBER, HOUR, T0)
    issued = redeem_as(alice, code, T0 + 10)
    assert issued.invite.user == "bob"
    assert issued.invite.role == Role.MEMBER.value
    assert issued.invite.nameplate == code.nameplate
    assert issued.invite.expires == T0 + HOUR


def test_redeem_by_device_key_alone_and_by_root_key_alone(alice: Office) -> None:
    """Any admin device can redeem (sealed to it), and so can the office root."""
    assert alice.identity.root is not None
    code = alice.invite("bob", Role.MEMBER, HOUR, T0)
    state = alice.membership.state
    by_device = invites.redeem(state, code, T0, [alice.identity.box], [alice.identity.device_id])
    by_root = invites.redeem(state, code, T0, [alice.identity.root.box_keys()], [alice.office_id])
    assert by_device == by_root


def test_redeem_at_the_expiry_second_still_works(alice: Office) -> None:
    code = alice.invite("bob", Role.MEMBER, HOUR, T0)
    assert redeem_as(alice, code, T0 + HOUR).invite.user == "bob"


def test_redeem_after_expiry_fails(alice: Office) -> None:
    code = alice.invite("bob", Role.MEMBER, HOUR, T0)
    with pytest.raises(InviteError, match="expired"):
        redeem_as(alice, code, T0 + HOUR + 1)


def test_enrol_after_expiry_fails(alice: Office) -> None:
    code = alice.invite("bob", Role.MEMBER, HOUR, T0)
    with pytest.raises(InviteError, match="expired"):
        enroll(alice, str(code), fresh_request("bob"), T0 + 2 * HOUR)


def test_code_is_one_time(alice: Office) -> None:
    code = alice.invite("bob", Role.MEMBER, HOUR, T0)
    welcome = enroll(alice, str(code), fresh_request("bob"), T0 + 60)
    assert joining.read_welcome(welcome).office_name == "Acme Ltd"
    with pytest.raises(InviteError, match="already been used"):
        redeem_as(alice, code, T0 + 120)
    with pytest.raises(InviteError, match="already been used"):
        enroll(alice, str(code), fresh_request("bob"), T0 + 120)


def test_used_takes_precedence_over_expired(alice: Office) -> None:
    """After use, the message says "used" even once the deadline has passed."""
    code = alice.invite("bob", Role.MEMBER, HOUR, T0)
    enroll(alice, str(code), fresh_request("bob"), T0 + 60)
    with pytest.raises(InviteError, match="already been used"):
        redeem_as(alice, code, T0 + 2 * HOUR)


def test_enrol_with_a_request_from_another_user_is_refused(alice: Office) -> None:
    code = alice.invite("bob", Role.MEMBER, HOUR, T0)
    with pytest.raises(InviteError):
        enroll(alice, str(code), fresh_request("mallory"), T0 + 60)
    # The failed attempt did not use the code up.
    assert redeem_as(alice, code, T0 + 61).invite.user == "bob"


def test_unknown_nameplate_is_not_known(alice: Office) -> None:
    code = alice.invite("bob", Role.MEMBER, HOUR, T0)
    other = InviteCode(code.nameplate % invites.MAX_NAMEPLATE + 1, code.words)
    with pytest.raises(InviteError, match="not known"):
        redeem_as(alice, other, T0)


def test_wrong_words_are_not_known(alice: Office) -> None:
    code = alice.invite("bob", Role.MEMBER, HOUR, T0)
    first = WORDS[(WORDS.index(code.words[0]) + 1) % len(WORDS)]
    wrong = InviteCode(code.nameplate, (first, *code.words[1:]))
    with pytest.raises(InviteError, match="not known"):
        redeem_as(alice, wrong, T0)
    swapped = InviteCode(code.nameplate, tuple(reversed(code.words)))
    if swapped != code:
        with pytest.raises(InviteError, match="not known"):
            redeem_as(alice, swapped, T0)


def test_no_invites_at_all_is_not_known(alice: Office) -> None:
    with pytest.raises(InviteError, match="not known"):
        redeem_as(alice, InviteCode(1, (A, B, C)), T0)


def test_keys_that_open_nothing_find_nothing(alice: Office) -> None:
    """A device the code was not sealed to (say, a member) cannot redeem it."""
    code = alice.invite("bob", Role.MEMBER, HOUR, T0)
    stranger = crypto.BoxKeyPair.generate()
    with pytest.raises(InviteError, match="not known"):
        invites.redeem(alice.membership.state, code, T0, [stranger], [alice.identity.device_id])


def test_two_invites_each_redeem_to_their_own(alice: Office) -> None:
    first = alice.invite("bob", Role.MEMBER, HOUR, T0)
    second = alice.invite("carol", Role.MEMBER, HOUR, T0)
    assert first.nameplate != second.nameplate
    assert redeem_as(alice, first, T0).invite.user == "bob"
    assert redeem_as(alice, second, T0).invite.user == "carol"


def test_code_secret_is_never_stored_in_clear(alice: Office) -> None:
    """No member can read an open invite's words from the membership log or the DB."""
    codes = [alice.invite(name, Role.MEMBER, HOUR, T0) for name in ("bob", "carol")]
    enroll(alice, str(codes[0]), fresh_request("bob"), T0 + 60)
    blobs = alice.store.records()
    assert len(blobs) >= 5
    for code in codes:
        for blob in blobs:
            assert code.secret not in blob
            assert str(code).encode() not in blob
            assert " ".join(code.words).encode() not in blob
            for word in code.words:
                assert word.encode() not in without_public_text(blob), word


# -- nameplates of used or expired invites come back --------------------------------------


@pytest.fixture
def lowest_nameplate(monkeypatch: pytest.MonkeyPatch) -> None:
    """`new_code` picks the lowest free nameplate; the words stay random."""
    real = secrets.randbelow
    words = len(WORDS)

    def pick(n: int) -> int:
        return real(n) if n == words else 0

    monkeypatch.setattr(secrets, "randbelow", pick)


@pytest.mark.usefixtures("lowest_nameplate")
def test_nameplate_of_an_open_invite_is_not_reused(alice: Office) -> None:
    first = alice.invite("bob", Role.MEMBER, HOUR, T0)
    second = alice.invite("carol", Role.MEMBER, HOUR, T0)
    assert (first.nameplate, second.nameplate) == (1, 2)


@pytest.mark.usefixtures("lowest_nameplate")
def test_nameplate_of_a_used_invite_comes_back_and_each_code_keeps_its_invite(
    alice: Office,
) -> None:
    used = alice.invite("bob", Role.MEMBER, HOUR, T0)
    enroll(alice, str(used), fresh_request("bob"), T0 + 60)
    fresh = alice.invite("carol", Role.MEMBER, HOUR, T0 + 120)
    assert fresh.nameplate == used.nameplate
    assert redeem_as(alice, fresh, T0 + 180).invite.user == "carol"
    if fresh.words != used.words:
        with pytest.raises(InviteError, match="already been used"):
            redeem_as(alice, used, T0 + 180)
    enroll(alice, str(fresh), fresh_request("carol"), T0 + 240)
    assert {v.user for v in alice.users()} == {"alice", "bob", "carol"}


@pytest.mark.usefixtures("lowest_nameplate")
def test_nameplate_of_an_expired_invite_comes_back(alice: Office) -> None:
    expired = alice.invite("bob", Role.MEMBER, HOUR, T0)
    fresh = alice.invite("carol", Role.MEMBER, HOUR, T0 + 2 * HOUR)
    assert fresh.nameplate == expired.nameplate
    assert redeem_as(alice, fresh, T0 + 2 * HOUR).invite.user == "carol"
    if fresh.words != expired.words:
        with pytest.raises(InviteError, match="expired"):
            redeem_as(alice, expired, T0 + 2 * HOUR)


def test_a_code_identical_to_a_used_one_redeems_the_open_invite(
    alice: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same nameplate and same words as a used invite: `redeem` prefers the open one."""
    monkeypatch.setattr(secrets, "randbelow", lambda n: 0)
    used = alice.invite("bob", Role.MEMBER, HOUR, T0)
    enroll(alice, str(used), fresh_request("bob"), T0 + 60)
    again = alice.invite("carol", Role.MEMBER, HOUR, T0 + 120)
    assert again == used
    assert redeem_as(alice, again, T0 + 180).invite.user == "carol"
    enroll(alice, str(again), fresh_request("carol"), T0 + 240)
    with pytest.raises(InviteError, match="already been used"):
        redeem_as(alice, again, T0 + 300)
