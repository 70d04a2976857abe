"""`Office`: one unlocked device and the trust operations it can perform.

This is the public API the CLIs (and later the window and the node) use for
people and keys: unlock a device, invite, enrol, change a role, revoke, list
users, verify. Founding an office and joining one live in onboarding.py.
Every change is written to SQLCipher in one transaction, and is durable,
before the call returns.

It does not read the clock: every method that needs time takes `now`.
It does not print or prompt: that is the CLI's job.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from node import crypto, invites, joining, keystore, records, tokens, vaultkeys
from node.datadir import DataDir
from node.errors import (
    InviteError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    UserError,
)
from node.identity import Identity, capability, check_name, fingerprint, when
from node.keystore import KdfProfile
from node.membership import Member, Membership, fold
from node.poke import POKE_META, poke
from node.records import Enroll, Invite, Payload, Record, Revoke, RoleChange
from node.store import Store
from node.tokens import CLOCK_SKEW, Role

META_ROOT = "root_public"
META_USER = "user"


@dataclass(frozen=True)
class UserView:
    user: str
    role: Role
    devices: tuple[Member, ...]
    revoked: tuple[bytes, ...]


class Office:
    """An unlocked device of an office. Close it (or use `with`) when done."""

    def __init__(self, datadir: DataDir, store: Store, identity: Identity, root_public: bytes):
        self.datadir = datadir
        self.store = store
        self.identity = identity
        self.root_public = root_public
        self.office_id = tokens.office_id_of(root_public)
        self._cache: dict[bytes, Record] = {}
        self.reload()

    # -- opening -------------------------------------------------------------
    @classmethod
    def unlock(
        cls, path: Path, password: bytearray, profile: KdfProfile, strict: bool = True
    ) -> Office:
        """Open a device. `strict=False` opens even a log with broken records (for verify)."""
        return cls.open_with(path, unlock_keys(path, password, profile), strict)

    @classmethod
    def open_with(cls, path: Path, secrets: keystore.Secrets, strict: bool = True) -> Office:
        """`unlock`'s quick half, once `unlock_keys` derived the keys (a window runs that
        on a worker thread): open the store on this thread and check the log."""
        datadir, store, identity = _open_store(path, secrets)
        root_public = store.get_meta(META_ROOT)
        if root_public is None:
            store.close()
            raise UserError(
                "this device has not joined an office yet (run 'officevault accept' "
                "with the welcome file from your admin)"
            )
        try:
            office = cls(datadir, store, identity, root_public)
            if strict:
                office._check_log()
        except BaseException:
            store.close()
            raise
        return office

    def reload(self) -> None:
        """Read the stored records once; later commits keep this copy current."""
        self._blobs = self.store.records()
        self.membership = self.fold(self._blobs)

    def record(self, record_id: bytes) -> Record:
        """A verified record of the current membership (by id)."""
        return self._cache[record_id]

    @property
    def blobs(self) -> tuple[bytes, ...]:
        """Every stored membership record, as stored."""
        return tuple(self._blobs)

    def close(self) -> None:
        """Close the store; if this program saved anything, wake the data dir's node."""
        if self.store.commits:
            self.wake_node()
        self.store.close()

    def wake_node(self) -> None:
        """Make the node running on this data dir (if any) pick up what was saved here now."""
        with contextlib.suppress(StorageError):
            port = self.store.get_meta(POKE_META)
            if port:
                poke(int.from_bytes(port, "big"))

    def __enter__(self) -> Office:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_password(self, password: bytearray, profile: KdfProfile) -> None:
        """Raise WrongPasswordError unless `password` opens this device's keystore."""
        keystore.read(self.datadir.keystore, password, profile)

    # -- reading ---------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        return fingerprint(self.root_public)

    @property
    def office_name(self) -> str:
        return self.membership.state.office_name

    @property
    def member(self) -> Member | None:
        """This device's active membership, or None if it is not (or no longer) enrolled."""
        return self.membership.state.active(self.identity.device_id)

    def users(self) -> list[UserView]:
        state = self.membership.state
        by_user: dict[str, list[Member]] = {}
        for member in state.devices.values():
            by_user.setdefault(member.user, []).append(member)
        views = []
        for user, members in sorted(by_user.items()):
            active = tuple(m for m in members if m.device_id not in state.revoked)
            revoked = tuple(m.device_id for m in members if m.device_id in state.revoked)
            role = Role.ADMIN if any(m.role is Role.ADMIN for m in active) else Role.MEMBER
            views.append(UserView(user, role, active, revoked))
        return views

    def verify(self, now: int) -> list[str]:
        """Every check we can make locally; [] when all hold."""
        problems = [f"database: {p}" for p in self.store.integrity_problems()]
        m = self.membership
        if m.genesis is None:
            problems.append("membership log: no valid genesis record for the pinned office root")
        for label, table in (("broken", m.broken), ("pending", m.pending)):
            problems += [
                f"record {rid.hex()[:12]} {label}: {why}" for rid, why in sorted(table.items())
            ]
        if self.member is None:
            problems.append("this device is not an active member of the office")
        for member in self._by_user():
            if member.capability.expired_at(now):
                problems.append(
                    f"{member.user}'s device {member.device_id.hex()[:12]}: capability expired "
                    f"on {when(member.capability.not_after)} (vault-admin renew)"
                )
        return problems

    def expiring(self, now: int, within: int = 30 * 24 * 3600) -> list[Member]:
        """Active devices whose capability ends within `within` seconds of `now`."""
        return [
            m
            for m in self._by_user()
            # still valid at `now`, no longer valid a second after `now + within`
            if not m.capability.expired_at(now) and m.capability.expired_at(now + within + 1)
        ]

    def _by_user(self) -> list[Member]:
        """Active devices in the order people read them: by user, then device id."""
        return sorted(self.membership.state.active_members(), key=lambda m: (m.user, m.device_id))

    # -- admin acts ---------------------------------------------------------
    def invite(self, user: str, role: Role, lifetime: int, now: int) -> invites.InviteCode:
        now = self._at(now)
        self._require_admin("invite people", now)
        check_name(user)
        state = self.membership.state
        open_invites = [i.invite for i in state.open_invites(now)]
        for other in {v.user for v in self.users()} | {i.user for i in open_invites}:
            if other != user and other.casefold() == user.casefold():
                raise UserError(f"a user named {other!r} exists or is invited; use that name")
        if role is Role.ADMIN and self.identity.root is None:
            raise PermissionDeniedError(_NEEDS_ROOT)
        code = invites.new_code({i.nameplate for i in open_invites})
        recipients = {m.device_id: m.capability.box_public for m in state.admins()}
        recipients[self.office_id] = crypto.box_public_of_signing_key(self.root_public)
        invite = Invite(
            invite_id=crypto.random_bytes(crypto.ID_SIZE),
            nameplate=code.nameplate,
            user=user,
            role=role.value,
            expires=now + lifetime,
            sealed={rid: crypto.seal(pub, code.secret) for rid, pub in recipients.items()},
        )
        self.commit([self._sign_device(now, invite)])
        return code

    def enroll(
        self,
        code_text: str,
        request_data: bytes,
        now: int,
        deliver: Callable[[bytes], None],
        kdf: joining.Kdf | None = None,
    ) -> None:
        """Redeem an invite code for a join request and hand the welcome to `deliver`.

        Nothing is saved unless `deliver` returns: a welcome that could not be
        written must not use up the invite. `kdf` keys the welcome's MAC (the
        node passes one that runs in a child process: node/isolated.py).
        """
        now = self._at(now)
        self._require_admin("enrol people", now)
        code = invites.parse_code(code_text)
        request = joining.read_request(request_data)
        boxes, ids = [self.identity.box], [self.identity.device_id]
        if self.identity.root is not None:
            boxes.append(self.identity.root.box_keys())
            ids.append(self.office_id)
        issued = invites.redeem(self.membership.state, code, now, boxes, ids)
        if issued.invite.user != request.user:
            raise InviteError(
                f"this invite is for {issued.invite.user!r}, "
                f"but the request is from {request.user!r}"
            )
        state = self.membership.state
        if request.device_id in state.devices or request.device_id in state.revoked:
            raise UserError("that device was enrolled before; the new PC must make fresh keys")
        role = Role(issued.invite.role)
        if role is Role.ADMIN and self.identity.root is None:
            raise PermissionDeniedError(_NEEDS_ROOT)
        record = self.admit(request_data, role, now, None, invite_id=issued.invite.invite_id)
        staged = self.stage([record])
        mac = joining.welcome_mac(code.secret, self.root_public, request_data, kdf)
        welcome = joining.Welcome(self.office_name, self.root_public, (*self._blobs, record), mac)
        deliver(joining.make_welcome(welcome))
        self.commit([record], staged)

    def set_role(self, user: str, role: Role, now: int) -> list[bytes]:
        """Make `user` an admin or a member. Needs the office root key on this PC."""
        now = self._at(now)
        root = self._require_root()
        view = self._user(user)
        if view.role is role and all(m.role is role for m in view.devices):
            raise UserError(f"{user} is already {'an' if role is Role.ADMIN else 'a'} {role.value}")
        if role is Role.MEMBER:
            self._keep_an_admin(user, view.devices, "make them a member")
        self.commit([self._reissue(root, m, role, now) for m in view.devices])
        return [m.device_id for m in view.devices]

    def renew(self, users: list[str], now: int) -> list[bytes]:
        """Re-issue the capabilities of `users` (everyone if empty) for another lifetime.

        Capabilities expire (identity.TOKEN_LIFETIME); the root re-issues them
        with the same role and the next serial.
        """
        now = self._at(now)
        root = self._require_root()
        names = list(dict.fromkeys(users))  # each user once, in the order given
        views = [self._user(u) for u in names] if names else [v for v in self.users() if v.devices]
        devices = [m for v in views for m in v.devices]
        self.commit([self._reissue(root, m, m.role, now) for m in devices])
        return [m.device_id for m in devices]

    def _reissue(self, root: crypto.SigningKeyPair, member: Member, role: Role, now: int) -> bytes:
        old = member.capability
        cap = capability(self.office_id, self.office_id, old.sign_public, old.box_public,
                         old.user, role, now, old.serial + 1)  # fmt: skip
        change = RoleChange(tokens.issue(cap, root), self._cutoff(member.device_id))
        return self.sign_root(list(self.membership.heads), now, change)

    def revoke(
        self, user: str, now: int, reason: str = "", device: str | None = None
    ) -> list[bytes]:
        """Revoke `user`'s devices (or the one whose id starts with `device`), then rotate.

        Members are revoked by this admin device; admins only by the office root.
        """
        now = self._at(now)
        self._require_admin("revoke people", now)
        view = self._user(user)
        targets = list(view.devices)
        if device is not None:
            targets = [m for m in targets if m.device_id.hex().startswith(device.lower())]
            if len(device) < 6 or len(targets) != 1:
                raise NotFoundError(
                    f"no single active device of {user!r} starts with {device!r} "
                    "(give at least 6 hex digits; see 'vault-admin users --json')"
                )
        self._keep_an_admin(user, targets, "revoke them")
        if any(m.device_id == self.identity.device_id for m in targets):
            raise UserError("this PC cannot revoke itself; do it from another admin PC")
        out = []
        for m in targets:
            payload = Revoke(m.device_id, self._cutoff(m.device_id), reason[:256])
            if m.role is Role.ADMIN:
                out.append(self.sign_root(list(self.membership.heads), now, payload))
            else:
                out.append(self._sign_device(now, payload))
        self.commit([*out, self.rotation(now, self.stage(out))])
        return [m.device_id for m in targets]

    # -- internals ---------------------------------------------------------------
    def _require_admin(self, act: str, now: int) -> None:
        member = self.member
        if member is None:
            raise PermissionDeniedError("this device is not an active member of the office")
        if member.role is not Role.ADMIN:
            raise PermissionDeniedError(f"only an admin can {act}")
        if member.capability.expired_at(now):
            raise PermissionDeniedError(
                f"this device's admin capability expired on {when(member.capability.not_after)};"
                " renew it with 'vault-admin renew' on the PC that holds the office root key"
            )

    def _require_root(self) -> crypto.SigningKeyPair:
        if self.identity.root is None:
            raise PermissionDeniedError(_NEEDS_ROOT)
        return self.identity.root

    def signing_time(self, now: int) -> int:
        """The time this device's next record will carry (see `_at`)."""
        return self._at(now)

    def _at(self, now: int) -> int:
        """The time to sign at: never before the newest record this device has seen.

        A clock a little behind (within the allowed skew) signs at that record's
        time; one further behind is refused, because the fold would refuse it.
        """
        newest = max((self._cache[h].at for h in self.membership.heads), default=now)
        if newest <= now:
            return now
        if newest - now <= CLOCK_SKEW:
            return newest
        raise UserError(
            f"this PC's clock reads {when(now)}, before the office's newest record "
            f"({when(newest)}); set the clock right and try again"
        )

    def _user(self, user: str) -> UserView:
        for view in self.users():
            if view.user == user and view.devices:
                return view
        raise NotFoundError(f"no active user named {user!r}")

    def _keep_an_admin(self, user: str, losing: Sequence[Member], act: str) -> None:
        """Refuse an act that would leave no admin device (the fold refuses it too)."""
        remaining = [m for m in self.membership.state.admins() if m not in losing]
        if any(m.role is Role.ADMIN for m in losing) and not remaining:
            raise UserError(f"{user} is the last admin; make someone else admin before you {act}")

    def _cutoff(self, device_id: bytes) -> int:
        """The highest envelope sequence of `device_id` this PC holds with no gap before it.

        A revocation keeps the device's envelopes up to here and drops later
        ones; a role change judges those up to here by the old role.
        """
        return self.store.contiguous_seq(device_id)

    def admit(
        self,
        request_data: bytes,
        role: Role,
        now: int,
        parents: list[bytes] | None,
        invite_id: bytes | None = None,
    ) -> bytes:
        """An enrolment record for the device that signed `request_data`."""
        request = joining.read_request(request_data)
        sign_public, box_public, user = request.sign_public, request.box_public, request.user
        by_root = role is Role.ADMIN
        signer = self.identity.root if by_root else self.identity.sign
        if signer is None:
            raise PermissionDeniedError(_NEEDS_ROOT)
        issuer_id = self.office_id if by_root else self.identity.device_id
        cap = capability(self.office_id, issuer_id, sign_public, box_public, user, role, now, 1)
        token = tokens.issue(cap, signer)
        payload = Enroll(token, request_data, invite_id, self._key_ring_for(box_public))
        parents = list(self.membership.heads) if parents is None else parents
        if by_root:
            return self.sign_root(parents, now, payload)
        return records.sign(issuer_id, signer, self.office_id, parents, now, payload)

    def _key_ring_for(self, box_public: bytes) -> dict[bytes, bytes]:
        ring = self.key_ring()
        try:
            return vaultkeys.seal_ring(ring, box_public)
        finally:
            vaultkeys.wipe_ring(ring)

    def key_ring(self) -> dict[bytes, bytearray]:
        """Every vault key this device can open. The caller must wipe them."""
        enrolments = [self._cache[rid] for rid in self.membership.valid]
        return vaultkeys.open_ring(self.membership.state, enrolments, self.identity)

    def rotation(self, now: int, base: Membership | None = None) -> bytes:
        """A fresh vault key sealed to every active device of `base` (default: now)."""
        base = base or self.membership
        return self._sign_device(now, vaultkeys.new_epoch(base.state), base)

    def _sign_device(self, now: int, payload: Payload, base: Membership | None = None) -> bytes:
        return records.sign(
            self.identity.device_id, self.identity.sign, self.office_id,
            list((base or self.membership).heads), now, payload,
        )  # fmt: skip

    def sign_root(self, parents: list[bytes], now: int, payload: Payload) -> bytes:
        root = self._require_root()
        return records.sign(self.office_id, root, self.office_id, parents, now, payload)

    def commit(self, blobs: list[bytes], staged: Membership | None = None) -> None:
        """Persist our own new records in one durable transaction.

        `staged` is what `stage(blobs)` returned, when the caller already has it.
        """
        candidate = staged or self.stage(blobs)
        with self.store.transaction():
            self.store.add_records((records.record_id(b), b) for b in blobs)
        self._blobs.extend(blobs)
        self.membership = candidate

    def merged(self, blobs: list[bytes], folded: Membership) -> None:
        """A peer's records, stored by the caller; `folded` is `fold` of ours and these."""
        held = set(self._blobs)
        self._blobs.extend(b for b in blobs if b not in held)
        self.membership = folded

    def stage(self, blobs: list[bytes]) -> Membership:
        """The membership if `blobs` were added; refuse any record the fold would reject."""
        candidate = self.fold([*self._blobs, *blobs])
        for blob in blobs:
            rid = records.record_id(blob)
            why = (
                candidate.invalid.get(rid)
                or candidate.broken.get(rid)
                or candidate.pending.get(rid)
            )
            if why is not None:
                raise UserError(f"refused: {why}")
        return candidate

    def fold(self, blobs: list[bytes]) -> Membership:
        return fold(self.root_public, blobs, self._cache)

    def _check_log(self) -> None:
        if self.membership.genesis is None:
            raise StorageError(
                "the membership log has no genesis record for this office; it was altered "
                "(run 'vault-admin verify')"
            )
        broken = self.membership.broken
        if broken:
            raise StorageError(
                f"the membership log holds {len(broken)} record(s) that fail their checks; "
                "it was altered (run 'vault-admin verify')"
            )


_NEEDS_ROOT = (
    "this needs the office root key: run it on the PC where the office was created, "
    "or on one made with 'vault-admin recover'"
)


def unlock_keys(path: Path, password: bytearray, profile: KdfProfile) -> keystore.Secrets:
    """Unlocking's slow half (Argon2id): the device's keys from its keystore. It reads
    only the keystore file, so it may run on any thread."""
    datadir = DataDir(path)
    datadir.require_existing()
    return keystore.read(datadir.keystore, password, profile)


def _open_store(path: Path, secrets: keystore.Secrets) -> tuple[DataDir, Store, Identity]:
    datadir = DataDir(path)
    store = Store.open(datadir.database, secrets.db_key)
    return datadir, store, Identity.from_secrets(secrets)


def open_device(
    path: Path, password: bytearray, profile: KdfProfile
) -> tuple[DataDir, Store, Identity]:
    return _open_store(path, unlock_keys(path, password, profile))
