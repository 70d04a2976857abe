"""Capability tokens: an issuer's signed statement that a device acts for a user in a role.

Wire form (no algorithm field; Ed25519 is the only signature there is):

    issuer_id (16) | signature (64) | body

The signature covers DOMAIN | office_id | body, where office_id is the
verifier's pinned office, not a value read from the token: a token of another
office fails the signature check before its body is decoded.

The chain is at most two links: the office root signs admin tokens (and may
sign member tokens); an admin device signs member tokens. The verifier does
no I/O and never reads the clock: `now` is passed in, and issuers are looked
up through a callback that answers "what was this issuer when it signed?".
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from node import codec, crypto
from node.errors import CryptoError, DecodeError, InvalidTokenError

DOMAIN = b"OfficeVault capability token v1\x00"
DEVICE_DOMAIN = b"OfficeVault device id v1"
OFFICE_DOMAIN = b"OfficeVault office id v1"
MAX_TOKEN_SIZE = 2048
CLOCK_SKEW = 300  # seconds allowed either side of a validity window
MAX_NAME = 64


class Role(enum.Enum):
    MEMBER = "member"
    ADMIN = "admin"


class Act(enum.Enum):
    VIEW = "view"
    ADD_ENTRY = "add"
    EDIT_ENTRY = "edit"
    DELETE_ENTRY = "delete"
    MANAGE_PEOPLE = "manage people"
    APPROVE_UPDATE = "approve updates"


MEMBER_ACTS = frozenset({Act.VIEW, Act.ADD_ENTRY})


def permits(role: Role, act: Act) -> bool:
    return role is Role.ADMIN or act in MEMBER_ACTS


def device_id_of(sign_public: bytes) -> bytes:
    return crypto.key_id(DEVICE_DOMAIN, sign_public)


def office_id_of(root_public: bytes) -> bytes:
    return crypto.key_id(OFFICE_DOMAIN, root_public)


@dataclass(frozen=True)
class Capability:
    office_id: bytes
    device_id: bytes
    sign_public: bytes
    box_public: bytes
    user: str
    role: Role
    not_before: int
    not_after: int
    serial: int
    issuer_id: bytes

    def started_by(self, at: int) -> bool:
        """Has the window opened by `at` (with the allowed clock skew)?"""
        return at >= self.not_before - CLOCK_SKEW

    def expired_at(self, at: int) -> bool:
        """Has the window closed by `at` (with the allowed clock skew)?"""
        return at > self.not_after + CLOCK_SKEW

    def valid_at(self, at: int) -> bool:
        return self.started_by(at) and not self.expired_at(at)

    def body(self) -> bytes:
        return codec.encode(
            {
                "office": self.office_id,
                "device": self.device_id,
                "sign_public": self.sign_public,
                "box_public": self.box_public,
                "user": self.user,
                "role": self.role.value,
                "not_before": self.not_before,
                "not_after": self.not_after,
                "serial": self.serial,
                "issuer": self.issuer_id,
            }
        )


@dataclass(frozen=True)
class Issuer:
    """What the verifier needs to know of an issuer at the time it signed."""

    sign_public: bytes
    role: Role | None  # None for the office root
    not_before: int
    not_after: int
    revoked: bool


IssuerLookup = Callable[[bytes], Issuer | None]


def valid_user_name(name: str) -> bool:
    """1-64 printable characters, no edge spaces, in Unicode NFC (one spelling per name)."""
    return (
        0 < len(name) <= MAX_NAME
        and name.isprintable()
        and name.strip() == name
        and unicodedata.is_normalized("NFC", name)
    )


def issue(cap: Capability, issuer: crypto.SigningKeyPair) -> bytes:
    """Sign a capability. Misuse (bad fields) is a programming error."""
    if cap.issuer_id not in (device_id_of(issuer.public), office_id_of(issuer.public)):
        raise RuntimeError("issuer_id does not match the signing key")
    if cap.device_id != device_id_of(cap.sign_public) or not valid_user_name(cap.user):
        raise RuntimeError("capability fields are inconsistent")
    body = cap.body()
    return cap.issuer_id + issuer.sign(DOMAIN + cap.office_id + body) + body


def verify(
    token: bytes,
    office_id: bytes,
    root_public: bytes,
    now: int,
    issuers: IssuerLookup,
    act: Act | None = None,
) -> Capability:
    """Verify a token against the pinned root at time `now`; return its capability.

    Raises InvalidTokenError for every reason a token can be bad.
    """
    if not crypto.ID_SIZE + crypto.SIG_SIZE < len(token) <= MAX_TOKEN_SIZE:
        raise InvalidTokenError("capability token has an impossible size")
    issuer_id = token[: crypto.ID_SIZE]
    signature = token[crypto.ID_SIZE : crypto.ID_SIZE + crypto.SIG_SIZE]
    body = token[crypto.ID_SIZE + crypto.SIG_SIZE :]
    if issuer_id == office_id:
        issuer: Issuer | None = Issuer(root_public, None, -(2**62), 2**62, revoked=False)
    else:
        issuer = issuers(issuer_id)
    if issuer is None:
        raise InvalidTokenError("capability token is signed by an unknown issuer")
    try:
        crypto.verify(issuer.sign_public, DOMAIN + office_id + body, signature)
    except CryptoError:
        raise InvalidTokenError("capability token signature is not valid") from None
    try:
        cap = parse_body(body)
    except DecodeError:
        raise InvalidTokenError("capability token body is malformed") from None
    _check(cap, issuer_id, office_id, issuer, now, act)
    return cap


def subject_of(token: bytes) -> bytes | None:
    """The device a token is about, for tokens that were verified before. None if unreadable."""
    try:
        return parse_body(token[crypto.ID_SIZE + crypto.SIG_SIZE :]).device_id
    except DecodeError:
        return None


def parse_body(body: bytes) -> Capability:
    f = codec.Fields(codec.decode(body), "capability").exactly(
        "office", "device", "sign_public", "box_public", "user", "role",
        "not_before", "not_after", "serial", "issuer",
    )  # fmt: skip
    try:
        role = Role(f.text("role"))
    except ValueError:
        raise DecodeError("capability has an unknown role") from None
    return Capability(
        office_id=f.blob("office", crypto.ID_SIZE),
        device_id=f.blob("device", crypto.ID_SIZE),
        sign_public=f.blob("sign_public", 32),
        box_public=f.blob("box_public", 32),
        user=f.text("user", MAX_NAME),
        role=role,
        not_before=f.integer("not_before"),
        not_after=f.integer("not_after"),
        serial=f.integer("serial"),
        issuer_id=f.blob("issuer", crypto.ID_SIZE),
    )


def _check(
    cap: Capability, issuer_id: bytes, office_id: bytes, issuer: Issuer, now: int, act: Act | None
) -> None:
    if cap.office_id != office_id or cap.issuer_id != issuer_id:
        raise InvalidTokenError("capability token belongs to another office or issuer")
    if cap.device_id != device_id_of(cap.sign_public) or not valid_user_name(cap.user):
        raise InvalidTokenError("capability token names an inconsistent device")
    if cap.not_before > cap.not_after or cap.serial < 0:
        raise InvalidTokenError("capability token has an impossible validity window")
    if issuer.role is not None:  # signed by a device, not the root
        if issuer.role is not Role.ADMIN:
            raise InvalidTokenError("capability token was issued by a device that is not admin")
        if cap.role is Role.ADMIN:
            raise InvalidTokenError("only the office root may issue admin capabilities")
        if issuer.revoked:
            raise InvalidTokenError("capability token was issued by a revoked admin")
        if not issuer.not_before - CLOCK_SKEW <= cap.not_before <= issuer.not_after + CLOCK_SKEW:
            raise InvalidTokenError("capability token was issued outside its issuer's validity")
    if not cap.started_by(now):
        raise InvalidTokenError("capability token is not valid yet")
    if cap.expired_at(now):
        raise InvalidTokenError("capability token has expired")
    if act is not None and not permits(cap.role, act):
        raise InvalidTokenError(f"a {cap.role.value} capability does not allow: {act.value}")
