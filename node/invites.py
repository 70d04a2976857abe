"""Invite codes: short, one-time, expiring, bound to one office, one user and one role.

A code reads like `42-otter-piano-ember`: a nameplate (which invite) and
three words (24 bits of secret). The words are never stored in the clear
anywhere: the invite record carries them sealed to each admin device and to
the office root, so any admin node can redeem them and no member can read
them from the log. 24 bits is enough only because the code is checked online
(by a PAKE in the network layer, which limits guesses); it is not a password.

This module makes and reads codes and decides whether a code redeems an
invite, given the membership state. It does no I/O.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from node import crypto
from node.errors import CryptoError, InviteError, UserError
from node.membership import IssuedInvite, State
from node.wordlist import WORDS

WORDS_PER_CODE = 3
MAX_NAMEPLATE = 9999
MAX_EXPIRY = 30 * 24 * 3600
_WORD_INDEX = {w: i for i, w in enumerate(WORDS)}
_DURATION = re.compile(r"^(\d{1,6})([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class InviteCode:
    nameplate: int
    words: tuple[str, ...]

    @property
    def secret(self) -> bytes:
        return "-".join(self.words).encode()

    def __str__(self) -> str:
        return "-".join((str(self.nameplate), *self.words))

    def __repr__(self) -> str:
        return f"InviteCode({self.nameplate}, <secret>)"


def new_code(taken: set[int]) -> InviteCode:
    """A fresh code whose nameplate no open invite uses (short while it can be).

    A nameplate of a used or expired invite may come back: `redeem` tells
    invites apart by their secret words, and prefers the open one.
    """
    for limit in (99, 999, MAX_NAMEPLATE):
        free = [n for n in range(1, limit + 1) if n not in taken]
        if free:
            nameplate = free[secrets.randbelow(len(free))]
            words = tuple(WORDS[secrets.randbelow(len(WORDS))] for _ in range(WORDS_PER_CODE))
            return InviteCode(nameplate, words)
    raise UserError("too many invites have been issued; no invite number is free")


def parse_code(text: str) -> InviteCode:
    """Read a code as typed: any case, spaces or hyphens between the parts."""
    parts = [p for p in re.split(r"[\s\-]+", text.strip().lower()) if p]
    if len(parts) != 1 + WORDS_PER_CODE or not re.fullmatch(r"[0-9]{1,4}", parts[0]):
        raise InviteError("that is not an invite code (expected e.g. 42-otter-piano-ember)")
    if any(w not in _WORD_INDEX for w in parts[1:]):
        raise InviteError("that invite code has a word that is not in the code word list")
    nameplate = int(parts[0])
    if not 0 < nameplate <= MAX_NAMEPLATE:
        raise InviteError("that invite code has an impossible number")
    return InviteCode(nameplate, tuple(parts[1:]))


def parse_duration(text: str) -> int:
    """'24h', '30m', '7d' -> seconds; at most 30 days."""
    match = _DURATION.match(text.strip())
    if not match:
        raise UserError(f"cannot read the duration {text!r} (use e.g. 30m, 24h or 7d)")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds == 0:
        raise UserError("an invite must last longer than that (use e.g. 30m, 24h or 7d)")
    if seconds > MAX_EXPIRY:
        raise UserError("an invite must expire within 30 days")
    return seconds


def redeem(
    state: State,
    code: InviteCode,
    now: int,
    box_keys: list[crypto.BoxKeyPair],
    recipients: list[bytes],
) -> IssuedInvite:
    """Find the open invite this code names, or say exactly why there is none.

    `box_keys[i]` opens what was sealed to `recipients[i]` (this device, and
    the office root where this device holds it).
    """
    matched: list[IssuedInvite] = []
    for issued in state.invites.values():
        inv = issued.invite
        if inv.nameplate != code.nameplate:
            continue
        for keys, recipient in zip(box_keys, recipients, strict=True):
            sealed = inv.sealed.get(recipient)
            if sealed is None:
                continue
            try:
                secret = keys.unseal(sealed)
            except CryptoError:
                continue
            ok = crypto.equal(secret, code.secret)
            crypto.wipe(secret)
            if ok:
                matched.append(issued)
                break
    if not matched:
        raise InviteError("that invite code is not known to this office")
    open_ = [i for i in matched if i.invite.invite_id not in state.consumed]
    if not open_:
        raise InviteError("that invite code has already been used")
    live = [i for i in open_ if now <= i.invite.expires]
    if not live:
        raise InviteError("that invite code has expired; ask an admin for a new one")
    return min(live, key=lambda i: i.record_id)
