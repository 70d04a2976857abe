"""Builders shared by the membership fold tests (a plain module, not a conftest).

Records are built directly with `records.sign`; `after=` lists the records their
author had seen (the parents). `None` as a signer means the office root. Every
enrolment carries the enrolled device's own signed join request; by default the
genuine one (what an attacker can copy from the log), which names the device's
real box key.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from node import crypto, joining, records, tokens
from node.membership import Membership, State, fold
from node.records import Enroll, Genesis, Invite, Payload, Revoke, RoleChange, Rotate
from node.tokens import Capability, Role
from tests.conftest import T0

LIFETIME = 365 * 86_400
ROOT = crypto.SigningKeyPair.from_seed(b"\x01" * 32)
OFFICE = tokens.office_id_of(ROOT.public)
ROOT_BOX = crypto.box_public_of_signing_key(ROOT.public)
INVITE_ID = b"\x11" * 16
INVITE_2 = b"\x22" * 16


@dataclass(frozen=True)
class Device:
    sign: crypto.SigningKeyPair
    box: crypto.BoxKeyPair

    @property
    def id(self) -> bytes:
        return tokens.device_id_of(self.sign.public)


def device(n: int) -> Device:
    return Device(
        crypto.SigningKeyPair.from_seed(n.to_bytes(32, "big")),
        crypto.BoxKeyPair.from_secret((n + 10_000).to_bytes(32, "big")),
    )


A, B, C, D, E, F, G, X, M, N = (device(n) for n in range(2, 12))

Signer = Device | None


def rid(blob: bytes) -> bytes:
    return records.record_id(blob)


def sign(signer: Signer, after: Sequence[bytes], at: int, payload: Payload) -> bytes:
    parents = sorted({rid(b) for b in after})
    if signer is None:
        return records.sign(OFFICE, ROOT, OFFICE, parents, at, payload)
    return records.sign(signer.id, signer.sign, OFFICE, parents, at, payload)


def genesis(name: str = "Acme Ltd", at: int = T0) -> bytes:
    return sign(None, [], at, Genesis(name, ROOT.public))


def token(
    dev: Device,
    user: str,
    role: Role,
    issuer: Signer,
    at: int,
    serial: int = 1,
    box_public: bytes | None = None,
) -> bytes:
    """A capability for `dev` (with its own box key unless `box_public` is given)."""
    cap = Capability(
        office_id=OFFICE,
        device_id=dev.id,
        sign_public=dev.sign.public,
        box_public=dev.box.public if box_public is None else box_public,
        user=user,
        role=role,
        not_before=at,
        not_after=at + LIFETIME,
        serial=serial,
        issuer_id=OFFICE if issuer is None else issuer.id,
    )
    return tokens.issue(cap, ROOT if issuer is None else issuer.sign)


def request(dev: Device, user: str) -> bytes:
    """`dev`'s genuine join request: signed by its own key, naming its own box key."""
    return joining.make_request(user, dev.sign, dev.box.public)


def enroll(
    signer: Signer,
    dev: Device,
    user: str,
    role: Role,
    after: Sequence[bytes],
    at: int,
    invite_id: bytes | None = None,
    *,
    serial: int = 1,
    box_public: bytes | None = None,
    join_request: bytes | None = None,
) -> bytes:
    """An enrolment of `dev`; `box_public` puts another box key in its token, and
    `join_request` replaces the device's genuine request (`request(dev, user)`)."""
    tok = token(dev, user, role, signer, at, serial, box_public)
    req = request(dev, user) if join_request is None else join_request
    return sign(signer, after, at, Enroll(tok, req, invite_id, {}))


def role_change(
    dev: Device, user: str, role: Role, serial: int, after: Sequence[bytes], at: int
) -> bytes:
    """A root-signed role change (the only kind the fold accepts)."""
    return sign(None, after, at, RoleChange(token(dev, user, role, None, at, serial)))


def revoke(
    signer: Signer, target: Device, after: Sequence[bytes], at: int, cutoff: int = 0
) -> bytes:
    return sign(signer, after, at, Revoke(target.id, cutoff, "left the office"))


def rotate(
    signer: Signer, epoch: int, to: Sequence[Device], after: Sequence[bytes], at: int
) -> bytes:
    key = crypto.random_bytes(crypto.KEY_SIZE)
    payload = Rotate(
        epoch=epoch,
        key_id=crypto.key_id(b"test vault key", key),
        sealed={d.id: crypto.seal(d.box.public, key) for d in to},
        root_sealed=crypto.seal(ROOT_BOX, key),
    )
    return sign(signer, after, at, payload)


def rotate_for(
    signer: Signer, state: State, after: Sequence[bytes], at: int
) -> tuple[bytes, bytes]:
    """The rotation an honest admin's node makes: the next epoch after the newest one,
    a fresh key sealed to the box key the fold holds for each active device. Returns
    the record and the key."""
    key = crypto.random_bytes(crypto.KEY_SIZE)
    payload = Rotate(
        epoch=state.max_epoch() + 1,
        key_id=crypto.key_id(b"test vault key", key),
        sealed={
            m.device_id: crypto.seal(m.capability.box_public, key) for m in state.active_members()
        },
        root_sealed=crypto.seal(ROOT_BOX, key),
    )
    return sign(signer, after, at, payload), key


def invite(
    signer: Signer, invite_id: bytes, user: str, after: Sequence[bytes], at: int, expires: int
) -> bytes:
    return sign(signer, after, at, Invite(invite_id, 1234, user, "member", expires, {}))


def foreign_genesis() -> bytes:
    """A genesis our root signed, but naming another office root."""
    other_root = crypto.SigningKeyPair.from_seed(b"\x02" * 32)
    return records.sign(OFFICE, ROOT, OFFICE, [], T0, Genesis("Evil", other_root.public))


def genesis_after(real: bytes) -> bytes:
    """A second root-signed genesis whose id sorts after `real` (so `real` stays first)."""
    for n in range(1000):
        other = genesis(f"Other {n}", T0 + 1)
        if rid(other) > rid(real):
            return other
    raise AssertionError("unreachable")


def start(admins: int = 1) -> list[bytes]:
    """The genesis, then alice (A) and, for two, bob (B): admins the root enrolled
    at T0 + 1 and T0 + 2, each having seen only the genesis."""
    g = genesis()
    out = [g, enroll(None, A, "alice", Role.ADMIN, [g], T0 + 1)]
    if admins == 2:
        out.append(enroll(None, B, "bob", Role.ADMIN, [g], T0 + 2))
    return out


def flip(blob: bytes, pos: int) -> bytes:
    out = bytearray(blob)
    out[pos] ^= 0x01
    return bytes(out)


def fold_(*blobs: bytes) -> Membership:
    return fold(ROOT.public, blobs)


def accounted(m: Membership) -> set[bytes]:
    return set(m.valid) | set(m.invalid) | set(m.broken) | set(m.pending)


def active_users(m: Membership) -> dict[str, Role]:
    return {member.user: member.role for member in m.state.active_members()}


def admin_ids(m: Membership) -> set[bytes]:
    return {a.device_id for a in m.state.admins()}


# -- a small office's log --------------------------------------------------------


@dataclass(frozen=True)
class OfficeLog:
    named: dict[str, bytes]

    def __getitem__(self, name: str) -> bytes:
        return self.named[name]

    def ids(self, *names: str) -> set[bytes]:
        return {rid(self.named[n]) for n in names}

    @property
    def blobs(self) -> list[bytes]:
        return list(self.named.values())


@functools.cache
def office_log() -> OfficeLog:
    """Admins A, B (concurrent enrolments), members, an invite, a promotion, an admin
    revoking a member, an admin trying to revoke an admin, a demotion with concurrent
    acts (an enrolment, cut off; a revocation, exempt), a re-promotion followed by an
    act, a root revocation of an admin with a concurrent (cut-off) invite, a rotation
    away from the revoked, and records that are pending or broken."""
    r: dict[str, bytes] = {}
    r["g"] = g = genesis()
    r["ea"] = ea = enroll(None, A, "alice", Role.ADMIN, [g], T0 + 10)
    r["eb"] = eb = enroll(None, B, "bob", Role.ADMIN, [g], T0 + 11)
    r["rot1"] = rot1 = rotate(A, 1, [A, B], [ea, eb], T0 + 20)
    r["inv"] = inv = invite(A, INVITE_ID, "carol", [rot1], T0 + 30, T0 + 86_400)
    r["ec"] = ec = enroll(B, C, "carol", Role.MEMBER, [inv], T0 + 40, INVITE_ID)
    r["ed"] = ed = enroll(A, D, "dave", Role.MEMBER, [rot1], T0 + 41)
    r["ee"] = ee = enroll(None, E, "erin", Role.MEMBER, [ea], T0 + 42)
    r["pe"] = pe = role_change(E, "erin", Role.ADMIN, 2, [ee, ed], T0 + 50)
    r["rvd"] = rvd = revoke(B, D, [ec, ed], T0 + 60)
    r["rot2"] = rot2 = rotate(B, 2, [A, B, C, E], [rvd, pe], T0 + 70)
    r["b_rv_e"] = revoke(B, E, [rot2], T0 + 72)  # an admin revoking an admin: invalid
    r["dma"] = dma = role_change(A, "alice", Role.MEMBER, 2, [rot2], T0 + 80)
    r["late_a"] = enroll(A, F, "frank", Role.MEMBER, [rot2], T0 + 81)  # concurrent with "dma"
    r["late_rv"] = late_rv = revoke(A, C, [rot2], T0 + 82)  # concurrent with "dma"; sticks
    r["pa"] = pa = role_change(A, "alice", Role.ADMIN, 3, [dma], T0 + 90)
    r["ena"] = ena = enroll(A, N, "nina", Role.MEMBER, [pa], T0 + 91)  # re-promoted, acts
    r["rvb"] = rvb = revoke(None, B, [ena], T0 + 100)
    r["late_b"] = invite(B, INVITE_2, "gina", [rot2], T0 + 101, T0 + 86_400)  # vs "rvb"
    r["by_c"] = revoke(C, E, [rot2], T0 + 90)  # C was enrolled by an admin: key unknown
    phantom = enroll(None, M, "mallory", Role.MEMBER, [rot2], T0 + 95)  # never delivered
    r["orphan"] = enroll(None, G, "gina", Role.MEMBER, [phantom], T0 + 96)
    r["flipped"] = flip(ee, len(ee) - 3)
    # B and C, revoked, hold "rot2": a new key for those who remain.
    r["rot3"] = rotate(A, 3, [A, E, N], [rvb, late_rv], T0 + 110)
    return OfficeLog(r)


OFFICE_LOG_VALID = (
    *("g", "ea", "eb", "rot1", "inv", "ec", "ed", "ee", "pe", "rvd", "rot2"),
    *("dma", "late_rv", "pa", "ena", "rvb", "rot3"),
)
OFFICE_LOG_INVALID = ("b_rv_e", "late_a", "late_b")


# -- a revoked device and records trying to bring it back ---------------------------


@dataclass(frozen=True)
class AfterRevoke:
    base: list[bytes]
    revocation: bytes
    pool: list[bytes]
    doomed: frozenset[bytes]  # pool records that must never be valid


def _attempts(
    x_admin: bool, after: Sequence[bytes], at: int, post: bool
) -> list[tuple[bytes, bool]]:
    """Records trying to bring X back (or to act as X), made seeing `after`; paired with
    "must never be valid". Made before seeing the revocation (`post` false), some are
    legitimately concurrent: a duplicate enrolment of X with its own keys and request
    may count, but never makes X active again. Every enrolment of X with another serial
    or box key, every enrolment or rotation X signs, and every admin-signed revocation
    of an admin is doomed."""
    x_role = Role.ADMIN if x_admin else Role.MEMBER
    readmit_by_root = enroll(None, X, "xavier", x_role, after, at + 2)
    readmit_by_b = enroll(B, X, "xavier", Role.MEMBER, after, at + 3)
    pairs = [
        (role_change(X, "xavier", Role.MEMBER, 3, after, at + 1), post),
        (readmit_by_root, post),
        (readmit_by_b, post),
        (enroll(A, X, "xavier", Role.MEMBER, after, at + 4), post),
        (enroll(B, X, "xavier", Role.MEMBER, after, at + 14, serial=2**40), True),
        (enroll(B, X, "xavier", Role.MEMBER, after, at + 15, box_public=M.box.public), True),
        (rotate(B, 1, [A, B, X, M], after, at + 5), post),
        (rotate(A, 1, [A, X], after, at + 6), post),
        (revoke(B, A, after, at + 7), True),  # only the root revokes admins
        (revoke(None, A, after, at + 8), False),
        (revoke(B, M, after, at + 9), False),
        (revoke(X, A, after, at + 10), True),
        # A back-dated revocation of a member by a revoked admin: the documented residual.
        (revoke(X, M, after, at + 11), post if x_admin else True),
        (enroll(X, N, "nina", Role.MEMBER, after, at + 12), True),
        (rotate(X, 1, [X, M], after, at + 13), True),
        # Built on a re-admission attempt:
        (rotate(B, 1, [B, X], [readmit_by_b, *after], at + 20), post),
        (enroll(X, N, "nina", Role.MEMBER, [readmit_by_root, *after], at + 22), True),
    ]
    if x_admin:
        # For a member X an admin revoked, root tokens naming X admin are left out:
        # made concurrently, one voids the admin's revocation by design (only the root
        # revokes admins); made after it, see test_root_sees_admin_revocations_in_its_past.
        pairs += [
            (role_change(X, "xavier", Role.ADMIN, 2, after, at), post),
            (role_change(X, "xavier", Role.ADMIN, 4, [readmit_by_root, *after], at + 21), post),
        ]
    else:
        pairs.append(
            (role_change(X, "xavier", Role.MEMBER, 4, [readmit_by_root, *after], at + 21), post)
        )
    return pairs


@functools.cache
def after_revoke(by_root: bool = True) -> AfterRevoke:
    """Admins A, B, member M and X, an admin (`by_root`: the office root revokes it) or a
    member the root enrolled (else admin A revokes it). Then a pool of records that try
    to bring X back, each made both before ("backdated") and after seeing the
    revocation."""
    g = genesis()
    ea = enroll(None, A, "alice", Role.ADMIN, [g], T0 + 1)
    eb = enroll(None, B, "bob", Role.ADMIN, [g], T0 + 2)
    ex = enroll(None, X, "xavier", Role.ADMIN if by_root else Role.MEMBER, [g], T0 + 3)
    em = enroll(A, M, "mia", Role.MEMBER, [ea, eb, ex], T0 + 4)
    pre = [ea, eb, ex, em]
    rv = revoke(None if by_root else A, X, pre, T0 + 100)
    pairs = _attempts(by_root, pre, T0 + 50, post=False)
    pairs += _attempts(by_root, [rv], T0 + 150, post=True)
    return AfterRevoke(
        base=[g, *pre],
        revocation=rv,
        pool=[blob for blob, _ in pairs],
        doomed=frozenset(rid(blob) for blob, doomed in pairs if doomed),
    )
