"""Capability tokens: every way a token can be bad is rejected (SECURITY_TESTS 12, 15).

The verifier is pure, so each case is data: a token, the verifier's pinned
office and root, `now`, what the issuer lookup answers, and the act asked
for. Positive controls sit next to the rejections they bracket, so a
verifier that refuses everything fails this file as surely as one that
accepts everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from node import codec, crypto, tokens
from node.codec import Value
from node.errors import InvalidTokenError
from node.tokens import (
    CLOCK_SKEW,
    MAX_TOKEN_SIZE,
    Act,
    Capability,
    Issuer,
    Role,
    device_id_of,
    office_id_of,
)
from tests.conftest import T0

DAY = 86_400
HEADER = crypto.ID_SIZE + crypto.SIG_SIZE


def _key(n: int) -> crypto.SigningKeyPair:
    return crypto.SigningKeyPair.from_seed(bytes([n]) * 32)


ROOT = _key(1)
OFFICE = office_id_of(ROOT.public)
OTHER_ROOT = _key(2)
OTHER_OFFICE = office_id_of(OTHER_ROOT.public)
ADMIN = _key(3)  # an admin device of OFFICE (and, in one case, of OTHER_OFFICE too)
ADMIN_ID = device_id_of(ADMIN.public)
MEMBER = _key(4)  # a member device of OFFICE
MEMBER_ID = device_id_of(MEMBER.public)
NEWCOMER = _key(5)  # the device every token below is about
FORGER = _key(6)  # a key nobody trusts
BOX = crypto.BoxKeyPair.from_secret(b"\x07" * 32).public

NOT_BEFORE = T0
NOT_AFTER = T0 + DAY
ADMIN_UNTIL = T0 + 30 * DAY


def _issuer(key: crypto.SigningKeyPair, role: Role, *, revoked: bool = False) -> Issuer:
    return Issuer(key.public, role, T0 - DAY, ADMIN_UNTIL, revoked)


ISSUERS = {ADMIN_ID: _issuer(ADMIN, Role.ADMIN), MEMBER_ID: _issuer(MEMBER, Role.MEMBER)}


def _cap(
    role: Role = Role.MEMBER,
    issuer_id: bytes = OFFICE,
    office_id: bytes = OFFICE,
    not_before: int = NOT_BEFORE,
    not_after: int = NOT_AFTER,
) -> Capability:
    return Capability(
        office_id=office_id,
        device_id=device_id_of(NEWCOMER.public),
        sign_public=NEWCOMER.public,
        box_public=BOX,
        user="carol",
        role=role,
        not_before=not_before,
        not_after=not_after,
        serial=1,
        issuer_id=issuer_id,
    )


ROOT_ADMIN_TOKEN = tokens.issue(_cap(Role.ADMIN), ROOT)
ROOT_MEMBER_TOKEN = tokens.issue(_cap(Role.MEMBER), ROOT)
ADMIN_MEMBER_TOKEN = tokens.issue(_cap(Role.MEMBER, issuer_id=ADMIN_ID), ADMIN)


def _body(**changes: Value) -> dict[str, Value]:
    """The fields of a good root-issued member token, with `changes` applied."""
    fields = codec.decode(_cap().body())
    assert isinstance(fields, dict)
    return {**fields, **changes}


def _signed(
    body: dict[str, Value] | bytes,
    key: crypto.SigningKeyPair = ROOT,
    issuer_id: bytes = OFFICE,
    office_id: bytes = OFFICE,
) -> bytes:
    """Sign any body the way `issue` does, without `issue`'s consistency checks."""
    raw = body if isinstance(body, bytes) else codec.encode(body)
    return issuer_id + key.sign(tokens.DOMAIN + office_id + raw) + raw


def _without(name: str) -> dict[str, Value]:
    return {k: v for k, v in _body().items() if k != name}


def _flip(token: bytes, pos: int) -> bytes:
    out = bytearray(token)
    out[pos] ^= 1 << (pos % 8)
    return bytes(out)


def _non_canonical(fields: dict[str, Value]) -> bytes:
    """A map with its keys in reverse order: decodable by a lax parser, not by ours."""
    good = codec.encode(fields)
    items = sorted(fields.items(), reverse=True)
    out = bytearray(good[:5])  # map tag and count are unchanged
    for key, value in items:
        out += codec.encode(key)
        out += codec.encode(value)
    assert bytes(out) != good and len(out) == len(good)
    return bytes(out)


def _late_admin_token(not_before: int) -> bytes:
    """A member token from ADMIN starting at `not_before` (ADMIN itself ends at ADMIN_UNTIL)."""
    body = _body(issuer=ADMIN_ID, not_before=not_before, not_after=ADMIN_UNTIL + 2 * DAY)
    return _signed(body, ADMIN, ADMIN_ID)


@dataclass(frozen=True)
class Case:
    token: bytes
    now: int = T0
    act: Act | None = None
    office_id: bytes = OFFICE
    issuers: dict[bytes, Issuer] = field(default_factory=lambda: dict(ISSUERS))

    def verify(self) -> Capability:
        return tokens.verify(
            self.token, self.office_id, ROOT.public, self.now, self.issuers.get, self.act
        )


OK, BAD = True, False

# (case, accepted?) -- the id names the threat, or the control it brackets.
CASES = [
    # Positive controls: the chain as it should be.
    pytest.param(Case(ROOT_ADMIN_TOKEN), OK, id="ok-root-issues-admin"),
    pytest.param(Case(ROOT_MEMBER_TOKEN), OK, id="ok-root-issues-member"),
    pytest.param(Case(ADMIN_MEMBER_TOKEN), OK, id="ok-admin-issues-member"),
    pytest.param(Case(_signed(_body())), OK, id="ok-hand-signed-body-control"),
    # Forged: a key that is not the pinned root or a known admin.
    pytest.param(Case(_signed(_body(), key=FORGER)), BAD, id="forged-random-key-poses-as-root"),
    pytest.param(
        Case(
            _signed(_body(), key=FORGER), issuers={**ISSUERS, OFFICE: _issuer(FORGER, Role.ADMIN)}
        ),
        BAD,
        id="forged-lookup-cannot-override-pinned-root",
    ),
    pytest.param(
        Case(
            _signed(_body(issuer=device_id_of(FORGER.public)), FORGER, device_id_of(FORGER.public))
        ),
        BAD,
        id="issuer-unknown-device",
    ),
    pytest.param(Case(ADMIN_MEMBER_TOKEN, issuers={}), BAD, id="issuer-unknown-to-lookup"),
    pytest.param(
        Case(_signed(_body(issuer=MEMBER_ID), MEMBER, MEMBER_ID)),
        BAD,
        id="issued-by-member-device",
    ),
    pytest.param(
        Case(_signed(_body(role="admin", issuer=ADMIN_ID), ADMIN, ADMIN_ID)),
        BAD,
        id="admin-token-issued-by-admin-device-not-root",
    ),
    pytest.param(
        Case(ADMIN_MEMBER_TOKEN, issuers={ADMIN_ID: _issuer(ADMIN, Role.ADMIN, revoked=True)}),
        BAD,
        id="chain-through-revoked-admin",
    ),
    pytest.param(
        Case(_late_admin_token(ADMIN_UNTIL + CLOCK_SKEW + 1), now=ADMIN_UNTIL + DAY),
        BAD,
        id="issued-after-issuer-capability-expired",
    ),
    pytest.param(
        Case(_late_admin_token(ADMIN_UNTIL + CLOCK_SKEW), now=ADMIN_UNTIL + DAY),
        OK,
        id="ok-issued-at-edge-of-issuer-capability",
    ),
    # Tampered by one bit: issuer id, signature, body.
    *[
        pytest.param(Case(_flip(token, pos)), BAD, id=f"bit-flip-{name}-{what}-byte-{pos}")
        for name, token in (("root", ROOT_ADMIN_TOKEN), ("admin", ADMIN_MEMBER_TOKEN))
        for what, pos in (
            ("issuer", 0),
            ("issuer", crypto.ID_SIZE - 1),
            ("signature", crypto.ID_SIZE),
            ("signature", crypto.ID_SIZE + 40),
            ("signature", HEADER - 1),
            ("body", HEADER),
            ("body", HEADER + 100),
            ("body", len(token) - 1),
        )
    ],
    # Another office.
    pytest.param(
        Case(tokens.issue(_cap(Role.ADMIN, OTHER_OFFICE, OTHER_OFFICE), OTHER_ROOT)),
        BAD,
        id="other-office-root-token",
    ),
    pytest.param(
        Case(tokens.issue(_cap(Role.MEMBER, ADMIN_ID, OTHER_OFFICE), ADMIN)),
        BAD,
        id="other-office-token-from-admin-of-both-offices",
    ),
    pytest.param(
        Case(ROOT_ADMIN_TOKEN, office_id=OTHER_OFFICE),
        BAD,
        id="this-office-token-shown-to-other-office",
    ),
    pytest.param(
        Case(_signed(_body(office=OTHER_OFFICE))),
        BAD,
        id="body-names-other-office-signed-for-this-one",
    ),
    # Validity window, with CLOCK_SKEW (300 s) either side.
    pytest.param(Case(ROOT_MEMBER_TOKEN, now=NOT_BEFORE - 299), OK, id="ok-not-before-minus-299"),
    pytest.param(Case(ROOT_MEMBER_TOKEN, now=NOT_BEFORE - 300), OK, id="ok-not-before-minus-300"),
    pytest.param(Case(ROOT_MEMBER_TOKEN, now=NOT_BEFORE - 301), BAD, id="not-yet-valid-minus-301"),
    pytest.param(Case(ROOT_MEMBER_TOKEN, now=NOT_BEFORE - DAY), BAD, id="not-yet-valid-by-a-day"),
    pytest.param(Case(ROOT_MEMBER_TOKEN, now=NOT_AFTER + 299), OK, id="ok-not-after-plus-299"),
    pytest.param(Case(ROOT_MEMBER_TOKEN, now=NOT_AFTER + 300), OK, id="ok-not-after-plus-300"),
    pytest.param(Case(ROOT_MEMBER_TOKEN, now=NOT_AFTER + 301), BAD, id="expired-plus-301"),
    pytest.param(Case(ROOT_MEMBER_TOKEN, now=NOT_AFTER + 365 * DAY), BAD, id="replayed-old-token"),
    pytest.param(
        Case(_signed(_body(not_before=NOT_AFTER + 1))), BAD, id="window-ends-before-it-starts"
    ),
    # Wrong role for the act (the full grid is in test_role_for_the_act).
    pytest.param(Case(ADMIN_MEMBER_TOKEN, act=Act.ADD_ENTRY), OK, id="ok-member-adds-entry"),
    pytest.param(Case(ADMIN_MEMBER_TOKEN, act=Act.EDIT_ENTRY), BAD, id="member-edits-entry"),
    pytest.param(Case(ADMIN_MEMBER_TOKEN, act=Act.DELETE_ENTRY), BAD, id="member-deletes-entry"),
    pytest.param(Case(ADMIN_MEMBER_TOKEN, act=Act.MANAGE_PEOPLE), BAD, id="member-manages-people"),
    pytest.param(Case(ROOT_ADMIN_TOKEN, act=Act.MANAGE_PEOPLE), OK, id="ok-admin-manages-people"),
    # Size.
    pytest.param(Case(b""), BAD, id="empty"),
    pytest.param(Case(ROOT_ADMIN_TOKEN[:HEADER]), BAD, id="truncated-to-header"),
    pytest.param(Case(ROOT_ADMIN_TOKEN[: HEADER + 1]), BAD, id="truncated-one-body-byte"),
    pytest.param(Case(ROOT_ADMIN_TOKEN[:-1]), BAD, id="truncated-by-one-byte"),
    pytest.param(Case(ROOT_ADMIN_TOKEN + b"\x00"), BAD, id="one-trailing-byte"),
    pytest.param(
        Case(ROOT_ADMIN_TOKEN + b"\x00" * (MAX_TOKEN_SIZE + 1 - len(ROOT_ADMIN_TOKEN))),
        BAD,
        id="oversized-by-one",
    ),
    pytest.param(
        Case(_signed(_body(user="x" * (MAX_TOKEN_SIZE)))), BAD, id="oversized-validly-signed"
    ),
    # Bodies the issuer really signed, but that are not a well-formed capability.
    pytest.param(Case(_signed(_body(scope="everything"))), BAD, id="body-extra-field"),
    pytest.param(Case(_signed(_without("serial"))), BAD, id="body-missing-serial"),
    pytest.param(Case(_signed(_without("not_after"))), BAD, id="body-missing-not-after"),
    pytest.param(Case(_signed(_body(role="owner"))), BAD, id="body-unknown-role"),
    pytest.param(Case(_signed(_body(serial=-1))), BAD, id="body-negative-serial"),
    pytest.param(Case(_signed(_body(serial="1"))), BAD, id="body-serial-not-an-integer"),
    pytest.param(
        Case(_signed(_body(device=device_id_of(FORGER.public)))),
        BAD,
        id="body-device-id-not-of-its-key",
    ),
    pytest.param(
        Case(_signed(_body(sign_public=NEWCOMER.public[:31]))), BAD, id="body-short-public-key"
    ),
    pytest.param(Case(_signed(_body(issuer=ADMIN_ID))), BAD, id="body-issuer-differs-from-header"),
    pytest.param(Case(_signed(_body(user=""))), BAD, id="body-empty-user-name"),
    pytest.param(Case(_signed(_body(user=" carol"))), BAD, id="body-padded-user-name"),
    pytest.param(Case(_signed(_body(user="car\nol"))), BAD, id="body-unprintable-user-name"),
    pytest.param(Case(_signed(codec.encode([1, 2]))), BAD, id="body-not-a-map"),
    pytest.param(Case(_signed(_non_canonical(_body()))), BAD, id="body-non-canonical-encoding"),
]


@pytest.mark.parametrize(("case", "accepted"), CASES)
def test_token_case(case: Case, accepted: bool) -> None:
    if accepted:
        cap = case.verify()
        assert cap.device_id == device_id_of(NEWCOMER.public)
        assert cap.office_id == case.office_id
    else:
        with pytest.raises(InvalidTokenError):
            case.verify()


@pytest.mark.parametrize(
    "token",
    [ROOT_ADMIN_TOKEN, ADMIN_MEMBER_TOKEN],
    ids=["root-issued", "admin-issued"],
)
def test_any_single_bit_flip_is_rejected(token: bytes) -> None:
    """Tampering: one bit flipped anywhere (issuer, signature, body) is refused."""
    assert Case(token).verify().device_id == device_id_of(NEWCOMER.public)
    for pos in range(len(token)):
        for bit in (0, 7):
            tampered = bytearray(token)
            tampered[pos] ^= 1 << bit
            with pytest.raises(InvalidTokenError):
                Case(bytes(tampered)).verify()


# Who may do what: the one table both `permits` and `verify(..., act)` are checked against.
PERMITTED: list[tuple[Role, Act, bool]] = [
    (Role.MEMBER, Act.VIEW, True),
    (Role.MEMBER, Act.ADD_ENTRY, True),
    (Role.MEMBER, Act.EDIT_ENTRY, False),
    (Role.MEMBER, Act.DELETE_ENTRY, False),
    (Role.MEMBER, Act.MANAGE_PEOPLE, False),
    (Role.MEMBER, Act.APPROVE_UPDATE, False),
    (Role.ADMIN, Act.VIEW, True),
    (Role.ADMIN, Act.ADD_ENTRY, True),
    (Role.ADMIN, Act.EDIT_ENTRY, True),
    (Role.ADMIN, Act.DELETE_ENTRY, True),
    (Role.ADMIN, Act.MANAGE_PEOPLE, True),
    (Role.ADMIN, Act.APPROVE_UPDATE, True),
]
TOKEN_OF = {Role.MEMBER: ADMIN_MEMBER_TOKEN, Role.ADMIN: ROOT_ADMIN_TOKEN}


def test_the_table_covers_every_role_and_act() -> None:
    """A new act (or role) must be added to PERMITTED, not silently allowed or refused."""
    pairs = [(role, act) for role, act, _ in PERMITTED]
    assert sorted(pairs, key=str) == sorted(((r, a) for r in Role for a in Act), key=str)


@pytest.mark.parametrize(
    ("role", "act", "expected"),
    PERMITTED,
    ids=lambda v: v.name if isinstance(v, Role | Act) else str(v),
)
def test_role_for_the_act(role: Role, act: Act, expected: bool) -> None:
    """A member may only view and add; an admin may do everything; verify agrees."""
    assert tokens.permits(role, act) is expected

    def verify() -> Capability:
        return tokens.verify(TOKEN_OF[role], OFFICE, ROOT.public, T0, ISSUERS.get, act)

    if expected:
        assert verify().role is role
    else:
        with pytest.raises(InvalidTokenError, match="does not allow"):
            verify()


def test_verify_returns_exactly_what_was_issued() -> None:
    """The capability a verifier acts on is the one the issuer signed, field for field."""
    cap = _cap(Role.MEMBER, issuer_id=ADMIN_ID)
    assert Case(tokens.issue(cap, ADMIN)).verify() == cap


@pytest.mark.parametrize(
    "cap",
    [
        replace(_cap(), issuer_id=ADMIN_ID),  # issuer id of another key
        replace(_cap(), device_id=device_id_of(FORGER.public)),  # device id not of its key
        replace(_cap(), user=""),
    ],
    ids=["issuer-id-of-another-key", "device-id-not-of-key", "empty-user"],
)
def test_issue_refuses_inconsistent_capabilities(cap: Capability) -> None:
    """Misuse by our own code is a RuntimeError, never a token that looks fine."""
    with pytest.raises(RuntimeError):
        tokens.issue(cap, ROOT)


def test_subject_of_reads_the_device_and_tolerates_garbage() -> None:
    assert tokens.subject_of(ADMIN_MEMBER_TOKEN) == device_id_of(NEWCOMER.public)
    assert tokens.subject_of(b"") is None
    assert tokens.subject_of(ADMIN_MEMBER_TOKEN[:-1]) is None
