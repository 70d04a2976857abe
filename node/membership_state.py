"""The membership state and its join: what a set of valid records says, in any order.

`State` is what the fold builds: enrolled devices with their current
capability, revocations, vault-key epochs, invites and their use. `apply`
joins one already-judged record into a state; it is commutative and
idempotent, so the order in which valid records are applied never matters.
Judging which records are valid is membership.py's job, not this module's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from node import crypto, tokens
from node.records import Enroll, Genesis, Invite, Record, Revoke, RoleChange, Rotate
from node.tokens import Capability, Issuer, Role


@dataclass(frozen=True)
class Member:
    """An enrolled device and its current (highest-serial) capability."""

    device_id: bytes
    capability: Capability
    token: bytes
    since: int

    @property
    def user(self) -> str:
        return self.capability.user

    @property
    def role(self) -> Role:
        return self.capability.role


@dataclass(frozen=True)
class Revocation:
    device_id: bytes
    cutoff: int
    by: bytes
    at: int
    reason: str
    record_id: bytes


@dataclass(frozen=True)
class KeyEpoch:
    epoch: int
    key_id: bytes
    sealed: dict[bytes, bytes]
    root_sealed: bytes
    by: bytes
    at: int
    record_id: bytes


@dataclass(frozen=True)
class IssuedInvite:
    invite: Invite
    by: bytes
    at: int
    record_id: bytes


@dataclass
class State:
    """Who is in the office. Built only by `fold`; treat as read-only outside it."""

    office_id: bytes
    root_public: bytes
    office_name: str = ""
    devices: dict[bytes, Member] = field(default_factory=dict)
    revoked: dict[bytes, Revocation] = field(default_factory=dict)
    keys: dict[bytes, KeyEpoch] = field(default_factory=dict)
    invites: dict[bytes, IssuedInvite] = field(default_factory=dict)
    consumed: dict[bytes, bytes] = field(default_factory=dict)  # invite id -> device id
    # device id -> {(token serial, envelope cut-off, role)}: which role judges which envelopes
    role_log: dict[bytes, set[tuple[int, int, str]]] = field(default_factory=dict)

    def copy(self) -> State:
        return replace(
            self,
            devices=dict(self.devices),
            revoked=dict(self.revoked),
            keys=dict(self.keys),
            invites=dict(self.invites),
            consumed=dict(self.consumed),
            role_log={d: set(log) for d, log in self.role_log.items()},
        )

    def active(self, device_id: bytes) -> Member | None:
        if device_id in self.revoked:
            return None
        return self.devices.get(device_id)

    def active_members(self) -> list[Member]:
        return [m for d, m in sorted(self.devices.items()) if d not in self.revoked]

    def admins(self) -> list[Member]:
        return [m for m in self.active_members() if m.role is Role.ADMIN]

    def current_key(self) -> KeyEpoch | None:
        """The newest vault key that no revoked device can open.

        A rotation made without seeing a concurrent revocation may seal its key
        to the revoked device; such a key is never current (an admin rotates
        again: see `needs_rotation`).
        """
        clean = [k for k in self.keys.values() if not any(d in self.revoked for d in k.sealed)]
        return max(clean, key=lambda k: (k.epoch, k.key_id)) if clean else None

    def max_epoch(self) -> int:
        return max((k.epoch for k in self.keys.values()), default=0)

    def needs_rotation(self) -> bool:
        """True when the newest key was sealed to a device revoked since."""
        current = self.current_key()
        return self.max_epoch() > 0 and (current is None or current.epoch < self.max_epoch())

    def is_admin_at(self, device_id: bytes, at: int) -> bool:
        member = self.active(device_id)
        if member is None or member.role is not Role.ADMIN:
            return False
        return member.capability.valid_at(at)

    def open_invites(self, now: int) -> list[IssuedInvite]:
        """Invites neither used nor expired at `now`."""
        return [
            i
            for i in self.invites.values()
            if i.invite.invite_id not in self.consumed and now <= i.invite.expires
        ]

    def role_for(self, device_id: bytes, seq: int) -> Role | None:
        """The role that judges the device's envelope number `seq`; None if it is not accepted.

        None for a device never enrolled, and past the cut-off of its
        revocation. A role change applies to the envelopes after its
        cut-off; earlier ones keep the role they were written under, so a
        demotion never undoes an admin's past edits.
        """
        if device_id not in self.devices:
            return None
        revoked = self.revoked.get(device_id)
        if revoked is not None and seq > revoked.cutoff:
            return None
        # In serial order, each token's boundary is the highest cut-off so far: a
        # later token (a renewal signed on a PC that had seen less) never moves an
        # envelope back across an earlier boundary.
        role: str | None = None
        boundary = 0
        for _serial, cutoff, changed_to in sorted(self.role_log.get(device_id, ())):
            boundary = max(boundary, cutoff)
            if role is None or boundary < seq:
                role = changed_to
        return None if role is None else Role(role)

    def window(self, device_id: bytes) -> tuple[int, int]:
        """When the device may write: from its enrolment to its capability's end."""
        member = self.devices[device_id]
        return member.since, member.capability.not_after

    def issuer(self, issuer_id: bytes) -> Issuer | None:
        """Token issuer lookup, as this state sees it."""
        member = self.devices.get(issuer_id)
        if member is None:
            return None
        cap = member.capability
        return Issuer(
            cap.sign_public, cap.role, cap.not_before, cap.not_after, issuer_id in self.revoked
        )


def _rank(cap: Capability, token: bytes) -> tuple[int, bool, bytes]:
    """Which of a device's tokens is current: highest serial, then the root's, then hash."""
    return cap.serial, cap.issuer_id == cap.office_id, hashlib.sha256(token).digest()


def apply(state: State, rec: Record) -> None:
    """Join one valid record into `state`. Commutative: order never matters."""
    p = rec.payload
    if isinstance(p, Genesis):
        state.office_name = p.office_name
    elif isinstance(p, Enroll | RoleChange):
        body = p.token[crypto.ID_SIZE + crypto.SIG_SIZE :]
        cap = tokens.parse_body(body)  # verified when judged
        old = state.devices.get(cap.device_id)
        since = rec.at if old is None else min(old.since, rec.at)
        new = Member(cap.device_id, cap, p.token, since)
        cutoff = p.cutoff if isinstance(p, RoleChange) else 0
        state.role_log.setdefault(cap.device_id, set()).add((cap.serial, cutoff, cap.role.value))
        if old is None or _rank(cap, p.token) > _rank(old.capability, old.token):
            state.devices[cap.device_id] = new
        else:
            state.devices[cap.device_id] = replace(old, since=since)
        if isinstance(p, Enroll) and p.invite_id is not None:
            prior = state.consumed.get(p.invite_id)
            state.consumed[p.invite_id] = min(prior, cap.device_id) if prior else cap.device_id
    elif isinstance(p, Revoke):
        new_rev = Revocation(p.device_id, p.cutoff, rec.signer_id, rec.at, p.reason, rec.id)
        old_rev = state.revoked.get(p.device_id)
        if old_rev is None or (p.cutoff, rec.id) < (old_rev.cutoff, old_rev.record_id):
            state.revoked[p.device_id] = new_rev
    elif isinstance(p, Rotate):
        epoch = KeyEpoch(p.epoch, p.key_id, p.sealed, p.root_sealed, rec.signer_id, rec.at, rec.id)
        old_key = state.keys.get(p.key_id)
        if old_key is None or rec.id < old_key.record_id:
            state.keys[p.key_id] = epoch
    elif isinstance(p, Invite):
        old_inv = state.invites.get(p.invite_id)
        if old_inv is None or rec.id < old_inv.record_id:
            state.invites[p.invite_id] = IssuedInvite(p, rec.signer_id, rec.at, rec.id)
