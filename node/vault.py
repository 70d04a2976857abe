"""`Vault`: the entries of an office, for the CLI, the window and the network layer.

Open it (unlocks the device), read and search entries, add; admins also
edit, trash, restore, purge and resolve conflicts. Every change is one
signed envelope, judged by the same rules as a peer's (node/oplog.py) and
stored in SQLCipher in one durable transaction before the call returns.
The document is the replay of the judged op log (node/replica.py).

Searchable fields of each version are decrypted once and kept in the
(encrypted) store, so opening does not decrypt ten thousand entries; the
password is decrypted only when asked for. Locking wipes the vault keys and
forgets every decrypted value.

It does not read the clock (methods take `now`) and does not print.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from node import audit, crypto, envelopes, records, tokens, vaultkeys
from node import versions as vfmt
from node.audit import AuditEvent, Filters
from node.entries import EntryState, EntryTable
from node.entry_fields import FIELDS, Fields, check_fields
from node.errors import (
    CryptoError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    UserError,
)
from node.identity import when
from node.keystore import KdfProfile, Secrets
from node.membership import Membership
from node.office import Office, unlock_keys
from node.oplog import Verdict
from node.replica import SNAPSHOT_EVERY, SNAPSHOT_META, Replica, judging_digest
from node.tokens import Role
from node.versions import Kind, Version

__all__ = ["SNAPSHOT_EVERY", "AuditEvent", "Change", "Detail", "Summary", "Vault", "VersionView"]

BATCH = 200  # entries per envelope in a bulk add
LISTED = ("title", "username", "url", "category", "notes")  # cached decrypted fields


@dataclass(frozen=True)
class Summary:
    """One entry as a list shows it (no secrets)."""

    id: str
    title: str
    username: str
    url: str
    category: str
    changed_at: int
    changed_by: str
    created_by: str
    trashed: bool
    conflict: bool
    readable: bool


@dataclass(frozen=True)
class VersionView:
    label: str  # short, stable name of a version (for `resolve --keep`)
    kind: str
    at: int
    by: str
    fields: dict[str, str]  # secrets only when revealed
    readable: bool


@dataclass(frozen=True)
class Detail:
    summary: Summary
    notes: str
    password: str | None  # None unless revealed
    heads: tuple[VersionView, ...]  # more than one: a conflict


@dataclass(frozen=True)
class Change:
    """What a listener hears: entries that changed, and who changed them."""

    entries: tuple[str, ...]
    by: str
    local: bool


Listener = Callable[[Change], None]


def label_of(key: str) -> str:
    return hashlib.blake2b(key.encode(), digest_size=4).hexdigest()


class Vault:
    """An unlocked vault. `lock()`/`close()` (or `with`) wipes its keys."""

    def __init__(self, office: Office) -> None:
        self.office = office
        self._closed = False
        self._seen_version = -1  # the store's data_version when `refresh` last looked
        self._listeners: list[Listener] = []
        self._ring: dict[bytes, bytearray] = {}
        self._open()

    @classmethod
    def open(cls, path: Path, password: bytearray, profile: KdfProfile) -> Vault:
        return cls.open_with(path, unlock_keys(path, password, profile))

    @classmethod
    def open_with(cls, path: Path, secrets: Secrets) -> Vault:
        """`open` once `node.office.unlock_keys` derived the keys (on any thread): the
        store opens on this one, which then owns the vault."""
        office = Office.open_with(path, secrets)
        try:
            return cls(office)
        except BaseException:
            office.close()
            raise

    def lock(self) -> None:
        """Wipe the vault keys, forget every decrypted value, close the store."""
        self.close()

    @property
    def locked(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._maybe_snapshot()
        finally:
            self._forget()
            self.office.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- loading and following the membership ------------------------------------
    def _open(self) -> None:
        self._forget()
        self._ring = self.office.key_ring()
        self._membership = self.office.membership
        self._cached.update(self.office.store.plain())
        self._replica = Replica(self.office.store, self.office.office_id,
                                self.office.identity.device_id, self._membership.state)  # fmt: skip
        self._replica.subscribe(self._on_versions)
        self._replica.load()
        self._flush_plain_now()

    def _forget(self) -> None:
        vaultkeys.wipe_ring(self._ring)
        self._ring = {}
        self._table = EntryTable()
        self._plain: dict[str, list[str] | None] = {}
        self._cached: dict[str, str] = {}
        self._new_plain: list[tuple[str, str]] = []
        self._dropped: set[str] = set()
        self._search: dict[bytes, str] = {}
        self._summaries: dict[bytes, Summary] = {}
        self._touched: set[bytes] = set()  # entries changed by the document since last asked

    def _sync(self) -> list[Verdict]:
        """Follow the office's membership (changed by a merge, or by an Office act here).

        A change in what judging depends on replays the op log; any other
        change refreshes the key ring and judges what was waiting.
        """
        if self._closed:
            raise UserError("the vault is locked; unlock it again")
        membership = self.office.membership
        if membership is self._membership:
            return []
        digest = judging_digest(membership.state)
        if digest != self._replica.digest:
            # Replay only if a fact about a device whose envelopes were judged changed (a
            # revocation, a role change); a new device (an enrolment) changes no verdict.
            judged = set(self._replica.judge.cursors)
            old = judging_digest(self._membership.state, judged)
            if judging_digest(membership.state, judged) != old:
                self._rebuild()
                return []
            self._replica.digest = digest
        self._membership = membership
        vaultkeys.wipe_ring(self._ring)
        ring = self.office.key_ring()
        if set(ring) != set(self._ring):  # a key that came late makes unreadable versions readable
            self._plain = {k: v for k, v in self._plain.items() if v is not None}
            self._summaries.clear()
            self._search.clear()
        self._ring = ring
        self._replica.state = membership.state
        self._replica.judge.follow(membership.state)
        applied = self._replica.catch_up()
        self._flush_plain_now()
        return applied

    def _rebuild(self) -> None:
        before = set(self._table.entries)
        with self.office.store.transaction():
            self.office.store.set_meta(SNAPSHOT_META, b"")
            self.office.store.clear_plain()  # dropped versions must not keep their plaintext
        self._open()
        changed = before | set(self._table.entries)
        self._tell(Change(tuple(sorted(e.hex() for e in changed)), "", local=False))

    def merge_records(self, blobs: Iterable[bytes], folded: Membership | None = None) -> None:
        """Take membership records (from a peer): store them, then follow them.

        `folded`: the fold of the records held and these, if the caller has it already.
        """
        store = self.office.store
        kept = list(blobs)
        with store.transaction():
            store.add_records((records.record_id(b), b) for b in kept)
        if folded is None:
            self.office.reload()
        else:
            self.office.merged(kept, folded)
        self._sync()

    # -- the plain view, kept current from document events -----------------------------
    def _on_versions(self, found: list[Version], removed: list[str]) -> None:
        for key in removed:
            self._plain.pop(key, None)
            if key in self._cached:
                self._dropped.add(key)
        touched = self._table.update(found, removed)
        self._touched |= touched
        for entry in touched:
            self._summaries.pop(entry, None)
            self._search.pop(entry, None)  # decrypted again when next searched or listed
            if entry not in self._table.entries and self._table.purged(entry):
                # no plaintext of a purged entry stays cached
                self._dropped.update(v.key for v in self._table.versions_of(entry))

    def _listed(self, v: Version) -> list[str] | None:
        """The decrypted searchable fields of a version (cached); None if unreadable."""
        if v.key in self._plain:
            return self._plain[v.key]
        cached = self._cached.get(v.key)
        values: list[str] | None
        if cached is not None:
            values = [str(x) for x in json.loads(cached)]
        else:
            try:
                values = [self._open_field(v, name) for name in LISTED]
            except CryptoError:
                values = None
            else:
                self._new_plain.append((v.key, json.dumps(values)))
        self._plain[v.key] = values
        return values

    def _open_field(self, v: Version, name: str) -> str:
        key = self._ring.get(v.key_id)
        if key is None:
            raise CryptoError("this device does not hold that vault key")
        return vfmt.open_field(key, self.office.office_id, v.entry, name, v.key_id, v.fields[name])

    def _flush_plain_now(self) -> None:
        if self._new_plain or self._dropped:
            # a cache, rebuilt if lost; but a purge's removal from it must stick
            with self.office.store.transaction(durable=bool(self._dropped)):
                self._flush_plain()

    def _flush_plain(self) -> None:
        """Write the cache changes (inside the caller's transaction)."""
        store = self.office.store
        store.put_plain(self._new_plain)
        store.drop_plain(self._dropped)
        for key, value in self._new_plain:
            self._cached[key] = value
        for key in self._dropped:
            self._cached.pop(key, None)
        self._new_plain, self._dropped = [], set()

    # -- reading -----------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _tell(self, change: Change) -> None:
        for listener in list(self._listeners):
            listener(change)

    @property
    def role(self) -> Role | None:
        member = self.office.member
        return None if member is None else member.role

    def __len__(self) -> int:
        return sum(1 for s in self._table.entries.values() if not s.trashed)

    def entries(
        self, category: str | None = None, search: str | None = None, trash: bool = False
    ) -> list[Summary]:
        """Entries (in the trash, with `trash`), filtered, sorted by title."""
        self._sync()
        needle = (search or "").casefold()
        out = []
        for state in self._table.entries.values():
            if state.trashed != trash:
                continue
            if needle and needle not in self._search_text(state):
                continue
            summary = self._summary(state)
            if category is not None and summary.category.casefold() != category.casefold():
                continue
            out.append(summary)
        out.sort(key=lambda s: (s.title.casefold(), s.id))
        with contextlib.suppress(StorageError):  # a cache: rebuilt if this write is lost
            self._flush_plain_now()
        return out

    def _search_text(self, state: EntryState) -> str:
        text = self._search.get(state.entry_id)
        if text is None:
            shown = self._listed(state.current)
            text = "\n".join(shown[:3]).casefold() if shown else ""
            self._search[state.entry_id] = text
        return text

    def categories(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.entries():
            counts[s.category] = counts.get(s.category, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: kv[0].casefold()))

    def get(self, entry: str, reveal: bool = False) -> Detail:
        state = self._find(entry, include_trash=True)
        listed = self._listed(state.current)
        password = None
        if reveal and listed is not None:
            password = self._open_field(state.current, "password")
        heads = tuple(self._version_view(v, reveal) for v in state.heads)
        notes = listed[4] if listed is not None else ""
        return Detail(self._summary(state), notes, password, heads)

    def rows(self) -> tuple[list[Fields], int]:
        """Every field of each entry outside the trash (to export), and how many were left out.

        Left out: entries this device cannot decrypt, and entries whose
        decrypted fields are not valid (a member's add is judged without
        reading its encrypted fields).
        """
        out, skipped = [], 0
        for summary in self.entries():
            state = self._table.entries[bytes.fromhex(summary.id)]
            try:
                out.append(check_fields(self._decrypt_all(state.current)))
            except UserError:
                skipped += 1
        return out, skipped

    def exposed(self, user: str) -> list[Summary]:
        """Entries `user`'s devices could read: shown under a vault key one of them held.

        After a revocation these are the passwords to change ("rotate these"):
        the key rotation protects what is written next, not what they saw.
        """
        self._sync()
        state = self.office.membership.state
        devices = {d for d, m in state.devices.items() if m.user == user}
        if not devices:
            raise NotFoundError(f"no user named {user!r} was ever enrolled")
        held = {kid for kid, epoch in state.keys.items() if devices & set(epoch.sealed)}
        for record_id in self.office.membership.valid:
            record = self.office.record(record_id)
            payload = record.payload
            if isinstance(payload, records.Enroll) and tokens.subject_of(payload.token) in devices:
                held |= set(payload.keys)
        return [
            self._summary(s)
            for s in sorted(self._table.entries.values(), key=lambda s: s.entry_id)
            if any(v.key_id in held for v in s.versions if v.fields)
        ]

    def history(self, entry: str, reveal: bool = False) -> list[VersionView]:
        state = self._find(entry, include_trash=True)
        return [self._version_view(v, reveal) for v in state.versions]

    def audit(
        self,
        user: str | None = None,
        entry: str | None = None,
        since: int | None = None,
        reveal: bool = False,
    ) -> list[AuditEvent]:
        """What every accepted change did, oldest first, from the signed op log."""
        self._sync()
        accepted = self._replica.accepted
        found = [
            envelopes.read_stored(blob)
            for author in self.office.store.authors()
            for seq, blob in self.office.store.envelopes_since(author, 0)
            if (author, seq) in accepted
        ]

        def decrypt(v: Version) -> dict[str, str]:
            try:
                return self._decrypt_all(v)
            except UserError:
                return {}

        def title_of(entry_id: bytes) -> str:
            state = self._table.entries.get(entry_id)
            listed = self._listed(state.current) if state else None
            return listed[0] if listed else ""

        filters = Filters(user, entry, since, reveal)
        return audit.trail(found, decrypt, self._user_of, title_of, filters)

    def op_log(self) -> list[bytes]:
        """Every stored envelope (author and sequence order), as signed."""
        store = self.office.store
        return [blob for a in sorted(store.authors()) for _, blob in store.envelopes_since(a, 0)]

    def document(self) -> list[tuple[str, bytes]]:
        """The document's values, sorted by key (to compare replicas)."""
        return sorted(self._replica.doc.items())

    # -- writing (every method is durable before it returns) ------------------------------
    def add(self, values: Mapping[str, str], now: int) -> str:
        return self.add_many([values], now)[0]

    def add_many(
        self,
        rows: Sequence[Mapping[str, str]],
        now: int,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        """Add entries (any enrolled user), BATCH to an envelope, all in one transaction."""
        self._require_member(now)
        checked = [check_fields(r) for r in rows]
        me = self.office.identity.device_id
        ids: list[str] = []
        batches = []
        for start in range(0, len(checked), BATCH):
            made = []
            for fields in checked[start : start + BATCH]:
                nonce = crypto.random_bytes(vfmt.ID)
                entry = vfmt.entry_id_of(me, nonce)
                made.append(self._version(Kind.ADD, entry, now, (), fields, nonce))
                ids.append(entry.hex())
            batches.append(made)
        self._write(batches, (), now, progress)
        return ids

    def edit(self, entry: str, changes: Mapping[str, str], now: int) -> None:
        self._require_admin("edit entries", now)
        state = self._find(entry, include_trash=True)
        if state.conflict:
            raise UserError("this entry has a conflict; resolve it first (see 'show')")
        if state.trashed:
            raise UserError("this entry is in the trash; restore it first")
        old = self._decrypt_all(state.current)
        fields = check_fields({**old, **check_fields(changes, partial=True)})
        if fields == old:
            raise UserError("nothing to change")
        base = (state.current.key,)
        self._write([[self._version(Kind.EDIT, state.entry_id, now, base, fields)]], (), now)

    def resolve(self, entry: str, keep: str, now: int) -> None:
        self._require_admin("resolve conflicts", now)
        state = self._find(entry, include_trash=True)
        if not state.conflict:
            raise UserError("this entry has no conflict")
        chosen = [v for v in state.heads if label_of(v.key) == keep.lower()]
        if not chosen:
            labels = ", ".join(label_of(v.key) for v in state.heads)
            raise NotFoundError(f"no version {keep!r} among the conflicting ones ({labels})")
        fields = self._decrypt_all(chosen[0])
        base = tuple(v.key for v in state.heads)
        self._write([[self._version(Kind.EDIT, state.entry_id, now, base, fields)]], (), now)

    def trash(self, entry: str, now: int) -> None:
        self._require_admin("delete entries", now)
        state = self._find(entry)
        self._write([[self._status(state, Kind.TRASH, now)]], (), now)

    def restore(self, entry: str, now: int) -> None:
        self._require_admin("restore entries", now)
        state = self._find(entry, include_trash=True)
        if not state.trashed:
            raise UserError("this entry is not in the trash")
        self._write([[self._status(state, Kind.RESTORE, now)]], (), now)

    def purge(self, entry: str, now: int) -> None:
        """Remove an entry and its history from the document for good (admins)."""
        self._require_admin("purge entries", now)
        state = self._find(entry, include_trash=True)
        if not state.trashed:
            raise UserError("move the entry to the trash first ('rm'), then purge it")
        keys = tuple(v.key for v in self._table.versions_of(state.entry_id))
        self._write([[self._version(Kind.PURGE, state.entry_id, now, (), {})]], keys, now)

    def take(self, blob: bytes) -> bool:
        """Take a peer's envelope (as `receive`); True if it was new to this PC."""
        return self._take(blob)[0]

    def refresh(self) -> list[bytes]:
        """Pick up what another program (a CLI) stored in this data dir since we last looked.

        Returns the envelopes newly applied here, to push to peers. Cheap when
        nothing changed: SQLite tells us whether anyone else committed.
        """
        self._sync()
        version = self.office.store.data_version()
        if version == self._seen_version:
            return []
        self._seen_version = version
        count = len(self.office.blobs)
        fresh = []
        if self.office.store.record_count() != count:
            self.office.reload()
            fresh = self._sync()  # what a new enrolment let through is news too
        fresh += self._replica.catch_up()
        self._flush_plain_now()
        touched = sorted({v.entry.hex() for d in fresh if d.change for v in d.versions})
        if touched:
            self._tell(Change(tuple(touched), "", local=False))
        return [d.envelope.blob for d in fresh]

    def receive(self, blob: bytes) -> Verdict | None:
        """Take a peer's envelope: verify, store durably, apply what is now in sequence.

        Returns the verdict on this envelope if it could be judged now, None if
        it waits for earlier ones (or was a duplicate).
        """
        return self._take(blob)[1]

    def _take(self, blob: bytes) -> tuple[bool, Verdict | None]:
        """(new to this PC, its verdict if judged now) for a peer's envelope."""
        self._sync()
        env = self._replica.verified(blob)
        applying = False
        try:
            # One commit for the envelope, what it let through and the cache; no wait for
            # the disk: its author holds it durably, and anti-entropy brings it again.
            with self.office.store.transaction(durable=False):
                if not self._replica.hold(env):
                    return False, None
                applying = True
                verdicts = self._replica.catch_up([env.author], known=env)
                self._flush_plain()
        except BaseException:
            if applying:  # the document may hold what the store does not
                self._recover()
            raise
        mine: Verdict | None = None
        touched: list[str] = []
        for verdict in verdicts:
            if verdict.change is not None:
                touched += [v.entry.hex() for v in verdict.versions]
            if verdict.envelope.seq == env.seq:
                mine = verdict
        if touched:
            self._tell(Change(tuple(sorted(set(touched))), self._user_of(env.author), False))
        return True, mine

    # -- internals -------------------------------------------------------------------
    def _status(self, state: EntryState, kind: Kind, now: int) -> bytes:
        statuses = [v for v in state.versions if v.kind in (Kind.TRASH, Kind.RESTORE)]
        replaced = {k for v in statuses for k in v.base}
        base = tuple(v.key for v in statuses if v.key not in replaced)
        return self._version(kind, state.entry_id, now, base, {})

    def _version(
        self,
        kind: Kind,
        entry: bytes,
        now: int,
        base: tuple[str, ...],
        fields: Mapping[str, str],
        nonce: bytes | None = None,
    ) -> bytes:
        key_id, key = self._current_key()
        office_id = self.office.office_id
        sealed = {
            name: vfmt.seal_field(key, office_id, entry, name, key_id, value)
            for name, value in fields.items()
        }
        me = self.office.identity.device_id
        return vfmt.encode(kind, entry, me, key_id, now, nonce, base, sealed)

    def _current_key(self) -> tuple[bytes, bytearray]:
        epoch = self.office.membership.state.current_key()
        if epoch is None or epoch.key_id not in self._ring:
            raise UserError("this device holds no current vault key; ask an admin to rotate it")
        return epoch.key_id, self._ring[epoch.key_id]

    def _write(
        self,
        batches: list[list[bytes]],
        deletes: Sequence[str],
        now: int,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Sign each batch as one envelope, judge it, and store them all in one transaction.

        The document takes each change as it is made (that is how the update
        is produced); if anything fails before the commit, the vault is
        rebuilt from the store, so nothing unsaved stays visible.
        """
        me = self.office.identity.device_id
        store = self.office.store
        key_id, _ = self._current_key()
        self._touched = set()
        made: list[Verdict] = []
        try:
            seq = self._replica.next_seq(me)
            if store.envelope(me, seq) is not None or (
                seq > 1 and store.envelope(me, seq - 1) is None
            ):
                raise StorageError("this device's op log and document disagree; reopen the vault")
            for i, values in enumerate(batches):
                _, update = self._replica.doc.write(values, deletes if i == 0 else ())
                blob = envelopes.seal(me, self.office.identity.sign, self.office.office_id,
                                      seq + i, key_id, now, update)  # fmt: skip
                verdict = self._replica.judge.judge(self._replica.verified(blob))
                if verdict.change is None:
                    raise PermissionDeniedError(f"refused: {verdict.why}")
                made.append(verdict)
                if progress is not None:
                    progress(sum(len(b) for b in batches[: i + 1]))
            with store.transaction():
                for verdict in made:
                    if not store.add_envelope(me, verdict.envelope.seq, verdict.envelope.blob):
                        raise StorageError(
                            "another program on this PC saved a change at the same moment; "
                            "nothing was saved, try again"
                        )
                self._flush_plain()
        except BaseException:
            self._recover()
            raise
        for verdict in made:
            self._replica.record(verdict)
            self._replica.replayed += len(verdict.versions)
        changed = tuple(sorted(e.hex() for e in self._touched))
        self._tell(Change(changed, self._user_of(me), local=True))

    def _recover(self) -> None:
        """After a failed write: rebuild from the store, or lock if even that fails."""
        try:
            self.office.reload()
            self._open()
        except BaseException:
            self._closed = True
            self._forget()
            self.office.close()
            raise StorageError("the vault could not be reloaded after a failed save; "
                               "it is locked: open it again") from None  # fmt: skip

    def _maybe_snapshot(self) -> None:
        if self._replica.replayed < SNAPSHOT_EVERY or not self._ring:
            return
        try:
            with self.office.store.transaction():
                self.office.store.set_meta(SNAPSHOT_META, self._replica.snapshot())
        except StorageError:
            return  # only a cache: the next open replays the log instead
        self._replica.replayed = 0

    def _require_member(self, now: int) -> None:
        self._sync()
        member = self.office.member
        if member is None:
            raise PermissionDeniedError("this device is not an active member of the office")
        if member.capability.expired_at(now):
            raise PermissionDeniedError(
                f"this device's capability expired on {when(member.capability.not_after)}; "
                "ask an admin to renew it"
            )

    def _require_admin(self, act: str, now: int) -> None:
        self._require_member(now)
        if self.role is not Role.ADMIN:
            raise PermissionDeniedError(f"only an admin can {act}")

    def _find(self, entry: str, include_trash: bool = False) -> EntryState:
        self._sync()
        text = entry.strip().lower()
        if len(text) < 6 or any(c not in "0123456789abcdef" for c in text):
            raise NotFoundError(f"{entry!r} is not an entry id (6 or more hex digits; see 'ls')")
        exact = self._table.entries.get(bytes.fromhex(text)) if len(text) == 32 else None
        found = (
            [exact]
            if exact is not None
            else [s for e, s in self._table.entries.items() if e.hex().startswith(text)]
        )
        if len(found) > 1:
            raise NotFoundError(f"{entry!r} matches {len(found)} entries; give more digits")
        if not found or (found[0].trashed and not include_trash):
            raise NotFoundError(f"no entry {entry!r}" + ("" if include_trash else " (see 'ls')"))
        return found[0]

    def _decrypt_all(self, v: Version) -> Fields:
        try:
            return {name: self._open_field(v, name) for name in FIELDS}
        except CryptoError:
            raise UserError("that version cannot be decrypted on this device") from None

    def _summary(self, state: EntryState) -> Summary:
        cached = self._summaries.get(state.entry_id)
        if cached is None:
            cached = self._summaries[state.entry_id] = self._make_summary(state)
        return cached

    def _make_summary(self, state: EntryState) -> Summary:
        listed = self._listed(state.current)
        title, username, url, category = (listed or ["(unreadable)", "", "", ""])[:4]
        return Summary(
            id=state.entry_id.hex(),
            title=title,
            username=username,
            url=url,
            category=category,
            changed_at=state.current.at,
            changed_by=self._user_of(state.current.author),
            created_by=self._user_of(state.add.author),
            trashed=state.trashed,
            conflict=state.conflict,
            readable=listed is not None,
        )

    def _version_view(self, v: Version, reveal: bool) -> VersionView:
        fields: dict[str, str] = {}
        listed = self._listed(v) if v.fields else []
        if listed:
            fields = dict(zip(LISTED, listed, strict=True))
            fields["password"] = self._open_field(v, "password") if reveal else ""
        return VersionView(label_of(v.key), audit.ACTIONS[v.kind], v.at, self._user_of(v.author),
                           fields, listed is not None)  # fmt: skip

    def _user_of(self, device: bytes) -> str:
        member = self.office.membership.state.devices.get(device)
        return member.user if member else device.hex()[:12]
