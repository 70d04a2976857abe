"""The membership fold: from a set of signed records to who may do what.

`fold(root_public, blobs)` is a pure function of the *set* of records: any
order of arrival, with any duplicates, gives the same `Membership` (DESIGN
I-1). How it decides:

1. Records signed by the pinned office root are checked first; the device
   keys named in root-issued tokens are the only other keys that can sign a
   membership record (only admins write membership, and only the root makes
   admins). A record whose signer is unknown, or whose parents have not all
   arrived, waits in `pending` and has no effect.
2. Records form a DAG by their `parents`. Each record is judged against the
   state of its own causal past (the records its author had seen), which
   never changes once the record exists.
3. Phase A judges, in causal order, the records the office root signed
   (genesis, enrolments, every role change, revocations of anyone) and the
   revocations admins signed, so root records see admin revocations in their
   past. Only the root makes, unmakes or revokes admins: an admin's
   revocation fails if the root named its target admin in any record that
   had not seen the revocation (a fact of signatures and the graph, so a
   back-dated past cannot dodge it). Enrolments carry the device's own
   signed request, so no one can enrol a device under another name or box
   key; an enrolment token has serial 1.
4. Phase B judges the other records admins sign: member enrolments,
   vault-key rotations, invites. On top of the causal-past check, a record
   made concurrently with a root revocation or demotion of its signer
   (neither had seen the other) is dropped: the removal is the cut-off.
5. Revocations are never cut off, so a valid revocation stays valid: a
   revoked device id is never re-admitted (only a fresh enrolment with new
   keys brings a person back). The exceptions are deliberate: the root
   outranks an admin, so an admin's revocation of a device the root made
   admin concurrently does not stand. The price of stickiness: a revoked
   admin's key can still sign back-dated revocations of members (never of
   admins); peers refuse its connections, so such a record can only arrive
   through another enrolled device, and the harm is a re-enrolment.
6. Every record's time is at least its parents' times, so an admin whose
   capability expired cannot sign "in the past" on top of new records.

Last-admin protection: a revocation or demotion is invalid if, in its causal
past, its target is the only active admin. Since only the root removes
admins, two admins can never remove each other at once; and the root itself
(recovery kit) can always enrol a new admin, which is why it is never
revocable.

The vault key: every `rotate` seals a fresh key to each remaining device and
to the office root, with the epoch after the newest; the current key is the
highest (epoch, key id) that no revoked device can open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from node import crypto, joining, records, tokens
from node.causal import Dag, Pasts, causal_order
from node.errors import InvalidRecordError, InvalidTokenError, PeerError
from node.membership_state import (
    IssuedInvite,
    KeyEpoch,
    Member,
    Revocation,
    State,
    apply,
)
from node.records import Enroll, Genesis, Invite, Record, Revoke, RoleChange, Rotate
from node.tokens import CLOCK_SKEW, Capability, Role

__all__ = [
    "IssuedInvite",
    "KeyEpoch",
    "Member",
    "Membership",
    "Revocation",
    "State",
    "fold",
]

MAX_RECORDS = 100_000


@dataclass(frozen=True)
class Membership:
    """The fold's answer: the state, plus what was rejected or is still waiting."""

    state: State
    valid: tuple[bytes, ...]  # record ids, in fold order
    invalid: dict[bytes, str]  # record id -> why it has no effect
    broken: dict[bytes, str]  # record id -> why its signature or encoding fails
    pending: dict[bytes, str]  # record id -> what it waits for
    heads: tuple[bytes, ...]  # records no other folded record names as parent
    genesis: bytes | None


def fold(
    root_public: bytes, blobs: Iterable[bytes], cache: dict[bytes, Record] | None = None
) -> Membership:
    """Fold a set of record blobs into membership. Pure; `cache` only saves re-verifying."""
    return _Folder(root_public, cache if cache is not None else {}).run(blobs)


class _Folder:
    def __init__(self, root_public: bytes, cache: dict[bytes, Record]) -> None:
        self.root_public = root_public
        self.office_id = tokens.office_id_of(root_public)
        self.cache = cache
        self.invalid: dict[bytes, str] = {}
        self.broken: dict[bytes, str] = {}
        # Device -> root-signed records whose token names it admin. A fact of
        # signatures alone, so it needs no judging (see _admin_named_before).
        self.root_named_admins: dict[bytes, list[bytes]] = {}
        self.dag = Dag([], {}, {})
        self.pending: dict[bytes, str] = {}

    # -- verification -------------------------------------------------------
    def run(self, blobs: Iterable[bytes]) -> Membership:
        unique: dict[bytes, bytes] = {}
        for blob in blobs:
            if len(blob) > records.MAX_RECORD_SIZE:
                continue  # can never verify; not worth hashing
            unique.setdefault(records.record_id(blob), blob)
            if len(unique) > MAX_RECORDS:
                raise InvalidRecordError("membership log is impossibly large")
        verified = self._verify_all(unique)
        self.dag, waiting = causal_order(verified)
        for rid in waiting:
            self.pending[rid] = "waits for a record it names as parent"
        order, ancestors = self.dag.order, self.dag.ancestors
        genesis = self._genesis(order)
        valid = self._judge(order, ancestors, genesis)
        state = self._state_of(order, valid)
        children = {p for r in order for p in r.parents}
        return Membership(
            state=state,
            valid=tuple(r.id for r in order if r.id in valid),
            invalid=self.invalid,
            broken=self.broken,
            pending=self.pending,
            heads=tuple(sorted(r.id for r in order if r.id not in children)),
            genesis=genesis.id if genesis else None,
        )

    def _verify_all(self, unique: dict[bytes, bytes]) -> dict[bytes, Record]:
        verified: dict[bytes, Record] = {}
        device_keys: dict[bytes, bytes] = {}
        later: list[tuple[bytes, bytes]] = []
        for rid, blob in sorted(unique.items()):
            signer = blob[: crypto.ID_SIZE]
            if signer == self.office_id:
                rec = self._verify(rid, blob, self.root_public)
                if rec is not None:
                    verified[rid] = rec
                    self._learn_device_key(rec, device_keys)
            else:
                later.append((rid, blob))
        for rid, blob in later:
            key = device_keys.get(blob[: crypto.ID_SIZE])
            if key is None:
                self.pending[rid] = "signed by a device no root-issued token names"
                continue
            rec = self._verify(rid, blob, key)
            if rec is not None:
                verified[rid] = rec
        return verified

    def _verify(self, rid: bytes, blob: bytes, key: bytes) -> Record | None:
        if rid in self.cache:
            return self.cache[rid]
        try:
            rec = records.verify(blob, self.office_id, key)
        except InvalidRecordError as exc:
            self.broken[rid] = str(exc)
            return None
        self.cache[rid] = rec
        return rec

    def _learn_device_key(self, rec: Record, device_keys: dict[bytes, bytes]) -> None:
        if not isinstance(rec.payload, Enroll | RoleChange):
            return
        try:
            cap = tokens.verify(
                rec.payload.token, self.office_id, self.root_public, rec.at, lambda _: None
            )
        except InvalidTokenError:
            return
        device_keys[cap.device_id] = cap.sign_public
        if cap.role is Role.ADMIN:
            self.root_named_admins.setdefault(cap.device_id, []).append(rec.id)

    def _empty_state(self) -> State:
        return State(self.office_id, self.root_public)

    def _genesis(self, order: list[Record]) -> Record | None:
        candidates = [
            r
            for r in order
            if r.kind == "genesis"
            and r.signer_id == self.office_id
            and not r.parents
            and isinstance(r.payload, Genesis)
            and r.payload.root_public == self.root_public
        ]
        return min(candidates, key=lambda r: r.id) if candidates else None

    # -- judging --------------------------------------------------------------
    def _judge(
        self, order: list[Record], ancestors: dict[bytes, int], genesis: Record | None
    ) -> set[bytes]:
        valid: set[bytes] = set()
        if genesis is None:
            for rec in order:
                self.invalid[rec.id] = "no genesis record of this office"
            return valid
        index = self.dag.index
        gbit = 1 << index[genesis.id]

        in_a = [r.signer_id == self.office_id or r.kind == "revoke" for r in order]
        pasts = Pasts(self.dag, valid, self._empty_state)
        for i, rec in enumerate(order):
            if in_a[i]:
                why = self._why_invalid(
                    rec, pasts.at(i), rec is genesis, gbit & ancestors[rec.id] != 0
                )
                self._record(rec, why, valid)
            pasts.advance(i)

        removals: dict[bytes, list[bytes]] = {}
        for rec in order:
            by_root = rec.signer_id == self.office_id
            target = self._removal_target(rec) if by_root and rec.id in valid else None
            if target is not None:
                removals.setdefault(target, []).append(rec.id)

        pasts = Pasts(self.dag, valid, self._empty_state)
        for i, rec in enumerate(order):
            if not in_a[i]:
                why = self._why_invalid(rec, pasts.at(i), False, gbit & ancestors[rec.id] != 0)
                # The cut-off: a record made concurrently with its author's removal
                # (neither saw the other) is dropped. Records after the removal are
                # judged by their own past. (Revocations were judged in phase A.)
                if why is None:
                    for r in removals.get(rec.signer_id, []):
                        if not ancestors[r] & (1 << i) and not ancestors[rec.id] & (1 << index[r]):
                            why = "made concurrently with its author's revocation or demotion"
                            break
                self._record(rec, why, valid)
            pasts.advance(i)
        return valid

    def _admin_named_before(self, device_id: bytes, revoke_id: bytes) -> bool:
        """Did the root name this device admin in a record that had not seen this revocation?

        Decided on signatures and the graph alone, whatever past the revoker
        chose: a back-dated revocation of an admin fails, and so does one made
        concurrently with the root's promotion (the root outranks an admin).
        A promotion made after seeing the revocation does not undo it.
        """
        return any(
            not self.dag.descends(named, revoke_id)
            for named in self.root_named_admins.get(device_id, [])
            if named in self.dag.index
        )

    def parent_time(self, rec: Record) -> int:
        return max((self.dag.record(p).at for p in rec.parents), default=rec.at)

    def _record(self, rec: Record, why: str | None, valid: set[bytes]) -> None:
        if why is None:
            valid.add(rec.id)
        else:
            self.invalid[rec.id] = why

    def _removal_target(self, rec: Record) -> bytes | None:
        if isinstance(rec.payload, Revoke):
            return rec.payload.device_id
        if isinstance(rec.payload, RoleChange):
            body = rec.payload.token[crypto.ID_SIZE + crypto.SIG_SIZE :]
            cap = tokens.parse_body(body)  # verified when judged
            return cap.device_id if cap.role is Role.MEMBER else None
        return None

    def _state_of(self, order: list[Record], valid: set[bytes]) -> State:
        state = self._empty_state()
        for rec in order:
            if rec.id in valid:
                apply(state, rec)
        return state

    def _why_invalid(
        self, rec: Record, past: State, is_genesis: bool, has_genesis: bool
    ) -> str | None:
        if rec.kind == "genesis":
            return None if is_genesis else "a second genesis record"
        if not has_genesis:
            return "does not descend from this office's genesis"
        if rec.at < self.parent_time(rec):
            return "claims a time before the records it follows"
        by_root = rec.signer_id == self.office_id
        if not by_root and not past.is_admin_at(rec.signer_id, rec.at):
            return "signer was not an active admin when it signed"
        p = rec.payload
        if isinstance(p, Enroll | RoleChange):
            return self._why_token_invalid(rec, p, past)
        if isinstance(p, Revoke):
            if not by_root and self._admin_named_before(p.device_id, rec.id):
                return "only the office root may revoke an admin"
            if _would_remove_last_admin(past, p.device_id):
                return "would revoke the last admin"
            return None
        if by_root:
            return "the office root signs only genesis, enrolments, roles and revocations"
        if isinstance(p, Rotate):
            if p.epoch != past.max_epoch() + 1:
                return "vault key epoch does not follow the newest one"
            if any(d in past.revoked for d in p.sealed):
                return "vault key sealed to a revoked device"
            return None
        if isinstance(p, Invite):
            if not tokens.valid_user_name(p.user) or p.role not in ("member", "admin"):
                return "invite names an invalid user or role"
            return None
        return "unknown record kind"

    def _why_token_invalid(self, rec: Record, p: Enroll | RoleChange, past: State) -> str | None:
        try:
            cap = tokens.verify(p.token, self.office_id, self.root_public, rec.at, past.issuer)
        except InvalidTokenError as exc:
            return str(exc)
        if cap.issuer_id != rec.signer_id:
            return "token issuer is not the record's signer"
        existing = past.devices.get(cap.device_id)
        if isinstance(p, Enroll):
            if cap.device_id in past.revoked:
                return "device was revoked (a fresh enrolment needs new keys)"
            if cap.serial != 1:
                return "an enrolment's token must have serial 1"
            why = _why_request_invalid(p.request, cap)
            if why is None and p.invite_id is not None and rec.signer_id != self.office_id:
                why = _why_invite_invalid(past, p.invite_id, cap, rec.at)
            return why
        # Role changes come only from the root, whose token stands on its own:
        # the device may have been enrolled by an admin in a record phase A
        # does not look at, so "not seen yet" is not a reason to refuse.
        if rec.signer_id != self.office_id:
            return "only the office root may change a role"
        if cap.device_id in past.revoked:
            return "role change for a revoked device"
        if existing is not None:
            old = existing.capability
            if (cap.user, cap.sign_public, cap.box_public) != (
                old.user,
                old.sign_public,
                old.box_public,
            ):
                return "role change alters the device's user or keys"
            if cap.serial <= old.serial:
                return "role change does not raise the serial"
        if cap.role is Role.MEMBER and _would_remove_last_admin(past, cap.device_id):
            return "would demote the last admin"
        return None


def _why_request_invalid(request: bytes, cap: Capability) -> str | None:
    """The device's own signed request must name the same user and keys as its token.

    This is what stops an admin from re-enrolling someone else's device with a
    box key of its own choosing (so that vault keys get sealed to the admin).
    """
    try:
        req = joining.read_request(request)
    except PeerError:
        return "enrolment carries no valid join request from the device"
    if (req.user, req.sign_public, req.box_public) != (cap.user, cap.sign_public, cap.box_public):
        return "enrolment token does not match the device's own request"
    return None


def _why_invite_invalid(past: State, invite_id: bytes, cap: Capability, at: int) -> str | None:
    issued = past.invites.get(invite_id)
    if issued is None:
        return "enrolment names an invite that was never issued"
    if invite_id in past.consumed:
        return "enrolment uses an invite that was already used"
    inv = issued.invite
    if inv.user != cap.user or inv.role != cap.role.value:
        return "enrolment does not match its invite's user and role"
    if at > inv.expires + CLOCK_SKEW:
        return "enrolment uses an expired invite"
    return None


def _would_remove_last_admin(past: State, device_id: bytes) -> bool:
    admins = past.admins()
    return len(admins) == 1 and admins[0].device_id == device_id
