"""Who this device is: its keys, and the small helpers that name things.

No I/O here; the keystore seals an `Identity`'s secrets, the store never sees them.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from node import crypto, joining, tokens
from node.errors import UserError
from node.keystore import Secrets
from node.tokens import Capability, Role

TOKEN_LIFETIME = 2 * 365 * 24 * 3600


@dataclass(frozen=True)
class Identity:
    """This device's keys (and the office root's, where this device holds it)."""

    sign: crypto.SigningKeyPair
    box: crypto.BoxKeyPair
    root: crypto.SigningKeyPair | None

    @functools.cached_property
    def device_id(self) -> bytes:
        return tokens.device_id_of(self.sign.public)

    def request(self, user: str) -> bytes:
        """This device's signed join request (its user name and public keys)."""
        return joining.make_request(user, self.sign, self.box.public)

    @classmethod
    def from_secrets(cls, s: Secrets) -> Identity:
        return cls(
            sign=crypto.SigningKeyPair.from_seed(s.sign_seed),
            box=crypto.BoxKeyPair.from_secret(s.box_secret),
            root=None if s.root_seed is None else crypto.SigningKeyPair.from_seed(s.root_seed),
        )


def fingerprint(root_public: bytes) -> str:
    """The office fingerprint people compare by eye: 20 hex digit groups of 4."""
    digest = crypto.digest(b"OfficeVault fingerprint v1", root_public)[:10].hex().upper()
    return "-".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def when(seconds: int) -> str:
    """A time as people read it in messages: 2026-11-25 14:03 UTC (any integer works)."""
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return f"{seconds} s after 1970"


def check_name(name: str, what: str = "user name") -> str:
    if not tokens.valid_user_name(name):
        raise UserError(f"invalid {what} {name!r}: use 1-64 printable characters, no edge spaces")
    return name


def capability(
    office_id: bytes, issuer_id: bytes, sign_public: bytes, box_public: bytes,
    user: str, role: Role, now: int, serial: int,
) -> Capability:  # fmt: skip
    """A capability valid from `now` for TOKEN_LIFETIME."""
    return Capability(
        office_id=office_id,
        device_id=tokens.device_id_of(sign_public),
        sign_public=sign_public,
        box_public=box_public,
        user=user,
        role=role,
        not_before=now,
        not_after=now + TOKEN_LIFETIME,
        serial=serial,
        issuer_id=issuer_id,
    )
