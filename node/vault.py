"""`Vault`: the entries of an office, for the CLI, the window and the network layer.

Open it (unlocks the device), read and search entries, add; admins also
edit, trash, restore, purge and resolve conflicts. Every change is one
signed envelope, judged by the same rules as a peer's (node/oplog.py),
stored in SQLCipher in one durable transaction before the call returns.

The document is the replay of the judged-valid envelopes of the op log. To
open fast, a snapshot of the document is kept with the sequence each author
had reached and a digest of the membership facts that judging depends on;
if the digest still matches, only the envelopes after the snapshot are
replayed, otherwise everything is judged again (a revocation's cut-off, a
role change or a new device can change what counts).

Searchable fields of each version are decrypted once and kept in the
(encrypted) store, so opening does not decrypt ten thousand entries. The
password is decrypted only when asked for.

It does not read the clock (methods take `now`) and does not print.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from crdt import yupdate
from crdt.errors import UpdateError
from crdt.vaultdoc import VaultDoc
from node import codec, crypto, envelopes, records
from node import versions as vfmt
from node.entries import EntryState, EntryTable
from node.entry_fields import FIELDS, SECRET_FIELDS, Fields, check_fields
from node.envelopes import Envelope
from node.errors import (
    CryptoError,
    DecodeError,
    NotFoundError,
    PeerError,
    PermissionDeniedError,
    StorageError,
    UserError,
)
from node.identity import when
from node.keystore import KdfProfile
from node.membership_state import State
from node.office import Office
from node.oplog import Cursor, Judge, Verdict
from node.tokens import Role
from node.versions import Kind, Version

SNAPSHOT_EVERY = 256  # versions replayed since the snapshot before a new one is written
BATCH = 200  # entries per envelope in a bulk add
LISTED = ("title", "username", "url", "category", "notes")  # cached decrypted fields
_META_SNAPSHOT = "doc_snapshot"


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
    fields: dict[str, str]  # secrets only when revealed; "" when unreadable
    readable: bool


@dataclass(frozen=True)
class Detail:
    summary: Summary
    notes: str
    password: str | None  # None unless revealed
    heads: tuple[VersionView, ...]  # more than one: a conflict


@dataclass(frozen=True)
class AuditEvent:
    at: int
    user: str
    device: str
    action: str  # added, changed, trashed, restored, purged, resolved
    entry: str
    title: str
    changes: tuple[tuple[str, str, str], ...]  # (field, from, to); secrets only when revealed


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
    """An unlocked vault. `close()` (or `with`) wipes its keys."""

    def __init__(self, office: Office) -> None:
        self.office = office
        self._closed = False
        self._plain: dict[str, list[str] | None] = {}
        self._search: dict[bytes, str] = {}
        self._summaries: dict[bytes, Summary] = {}
        self._listeners: list[Listener] = []
        self._ring: dict[bytes, bytearray] = {}
        self._open()

    @classmethod
    def open(cls, path: Path, password: bytearray, profile: KdfProfile) -> Vault:
        office = Office.unlock(path, password, profile)
        try:
            return cls(office)
        except BaseException:
            office.close()
            raise

    def lock(self) -> None:
        """Wipe the vault keys, forget every decrypted value, close the store (same as close)."""
        self.close()

    @property
    def locked(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Lock: wipe the vault keys, forget every decrypted value, close the store."""
        if self._closed:
            return
        self._closed = True
        self._maybe_snapshot()
        for key in self._ring.values():
            crypto.wipe(key)
        self._ring = {}
        self._plain = {}
        self._search = {}
        self._summaries = {}
        self.office.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- loading ------------------------------------------------------------------
    def _open(self) -> None:
        store = self.office.store
        self._ring = self.office.key_ring()
        self._doc = VaultDoc(envelopes.client_id_of(self.office.identity.device_id))
        self._table = EntryTable()
        self._plain = {}
        self._search = {}
        self._summaries = {}
        self._cached = {k: v for k, v in store.plain().items()}
        self._new_plain: list[tuple[str, str]] = []
        self._dropped: list[str] = []
        self._accepted: set[tuple[bytes, int]] = set()  # (author, seq) judged valid
        self._replayed = 0
        self._doc.subscribe(self._on_doc)
        self._membership = self.office.membership
        state = self._membership.state
        self._judge = Judge(state)
        digest = _judging_digest(state)
        snap = store.get_meta(_META_SNAPSHOT)
        loaded = snap is not None and self._load_snapshot(snap, digest)
        if not loaded:
            self._doc = VaultDoc(self._doc.client_id)
            self._table = EntryTable()
            self._search = {}
            self._summaries = {}
            self._doc.subscribe(self._on_doc)
            self._judge = Judge(state)
            self._accepted = set()
            self._replayed = SNAPSHOT_EVERY  # write a fresh snapshot on close
        self._catch_up()
        self._digest = digest
        self._flush_plain_now()

    def _load_snapshot(self, snap: bytes, digest: bytes) -> bool:
        try:
            f = codec.Fields(codec.decode(snap), "snapshot").exactly(
                "digest", "doc", "cursors", "log"
            )
            if f.blob("digest", 32) != digest:
                return False
            self._doc.apply(f.blob("doc", max_size=2**31))
            for item in f.array("cursors", 100_000):
                c = codec.Fields(item, "cursor").exactly("author", "seq", "clock")
                cursor = self._judge.cursors.setdefault(c.blob("author", 16), Cursor())
                cursor.seq, cursor.clock = c.integer("seq"), c.integer("clock")
            self._accepted = set(_unpack_ids(f.blob("log", max_size=2**31)))
        except (DecodeError, UpdateError):
            return False
        return True

    def _catch_up(self) -> None:
        """Judge and apply every stored envelope after the cursors, in sequence order."""
        after = {a: c.seq for a, c in self._judge.cursors.items()}
        for author, seq, blob in self.office.store.envelopes(after):
            if seq != self._judge.next_seq(author):
                continue  # a gap: wait for the missing envelope
            self._replayed += len(self._apply(self._verified(blob)).versions)

    def _verified(self, blob: bytes) -> Envelope:
        state = self.office.membership.state
        return envelopes.verify(blob, self.office.office_id, lambda a: _sign_key(state, a))

    def _apply(self, env: Envelope) -> Verdict:
        verdict = self._judge.judge(env)
        if verdict.change is not None:
            self._doc.apply(env.update)
            self._record(verdict)
        return verdict

    def _record(self, verdict: Verdict) -> None:
        self._accepted.add(verdict.envelope.id)

    # -- the plain view, kept current from document events -----------------------------
    def _on_doc(self, added: list[tuple[str, bytes]], removed: list[str]) -> None:
        found = []
        for key, value in added:
            try:
                found.append(vfmt.decode(key, value))
            except DecodeError:
                continue  # judged before it was applied: cannot happen
        for key in removed:
            self._plain.pop(key, None)
            if key in self._cached:
                self._dropped.append(key)
        touched = self._table.update(found, removed)
        for entry in touched:
            self._summaries.pop(entry, None)
            state = self._table.entries.get(entry)
            if state is None:
                self._search.pop(entry, None)
            else:
                shown = self._listed(state.current)
                self._search[entry] = "\n".join(shown[:3]).casefold() if shown else ""

    def _listed(self, v: Version) -> list[str] | None:
        """The decrypted searchable fields of a version (cached); None if unreadable."""
        if v.key in self._plain:
            return self._plain[v.key]
        cached = self._cached.get(v.key)
        if cached is not None:
            values: list[str] | None = [str(x) for x in json.loads(cached)]
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
            with self.office.store.transaction():
                self._flush_plain()

    def _flush_plain(self) -> None:
        store = self.office.store
        store.put_plain(self._new_plain)
        store.drop_plain(self._dropped)
        for key, value in self._new_plain:
            self._cached[key] = value
        for key in self._dropped:
            self._cached.pop(key, None)
        self._new_plain, self._dropped = [], []

    # -- reading -----------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

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
        for entry_id, state in self._table.entries.items():
            if state.trashed != trash:
                continue
            if needle and needle not in self._search.get(entry_id, ""):
                continue
            summary = self._summary(state)
            if category is not None and summary.category.casefold() != category.casefold():
                continue
            out.append(summary)
        out.sort(key=lambda s: (s.title.casefold(), s.id))
        return out

    def categories(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.entries():
            counts[s.category] = counts.get(s.category, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: kv[0].casefold()))

    def get(self, entry: str, reveal: bool = False) -> Detail:
        self._sync()
        state = self._find(entry, include_trash=True)
        current = state.current
        listed = self._listed(current)
        password = None
        if reveal and listed is not None:
            password = self._open_field(current, "password")
        heads = tuple(self._version_view(v, reveal) for v in state.heads)
        notes = listed[4] if listed is not None else ""
        return Detail(self._summary(state), notes, password, heads)

    def rows(self) -> tuple[list[Fields], int]:
        """Every field of each entry outside the trash (to export), and how many were unreadable."""
        out, unreadable = [], 0
        for summary in self.entries():
            state = self._table.entries[bytes.fromhex(summary.id)]
            try:
                out.append(self._decrypt_all(state.current))
            except UserError:
                unreadable += 1
        return out, unreadable

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
        accepted = []
        for author, seq, blob in self.office.store.envelopes():
            if (author, seq) in self._accepted:
                env = envelopes.read_stored(blob)
                accepted.append((env, [vfmt.decode(k, v) for k, v in _values_of(env)]))
        accepted.sort(key=lambda ev: (ev[0].at, ev[0].id))
        every = {v.key: v for _, found in accepted for v in found}
        purged = {v.entry for v in every.values() if v.kind is Kind.PURGE}
        first_add: dict[bytes, Version] = {}
        for v in every.values():  # an entry's first add counts; a later one is ignored
            if v.kind is Kind.ADD and (
                v.entry not in first_add or v.clock < first_add[v.entry].clock
            ):
                first_add[v.entry] = v
        events = []
        for env, found in accepted:
            if since is not None and env.at < since:
                continue
            name = self._user_of(env.author)
            if user is not None and name != user:
                continue
            for v in found:
                if entry is not None and not v.entry.hex().startswith(entry.lower()):
                    continue
                if v.kind is Kind.ADD and first_add[v.entry] is not v:
                    continue
                events.append(self._event(v, name, reveal, every, v.entry in purged))
        return events

    # -- writing (every method is one durable envelope) ------------------------------
    def add(self, values: Mapping[str, str], now: int) -> str:
        return self.add_many([values], now)[0]

    def add_many(
        self,
        rows: Sequence[Mapping[str, str]],
        now: int,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        """Add entries (any enrolled user), BATCH to an envelope; returns their ids."""
        self._require_member(now)
        checked = [check_fields(r) for r in rows]
        me = self.office.identity.device_id
        ids: list[str] = []
        for start in range(0, len(checked), BATCH):
            made = []
            for fields in checked[start : start + BATCH]:
                nonce = crypto.random_bytes(vfmt.ID)
                entry = vfmt.entry_id_of(me, nonce)
                made.append(self._version(Kind.ADD, entry, now, (), fields, nonce))
                ids.append(entry.hex())
            self._write(made, (), now)
            if progress is not None:
                progress(len(ids))
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
        self._write([self._version(Kind.EDIT, state.entry_id, now, (state.current.key,), fields)],
                    (), now)  # fmt: skip

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
        self._write([self._version(Kind.EDIT, state.entry_id, now, base, fields)], (), now)

    def trash(self, entry: str, now: int) -> None:
        self._require_admin("delete entries", now)
        state = self._find(entry)
        self._write([self._status(state, Kind.TRASH, now)], (), now)

    def restore(self, entry: str, now: int) -> None:
        self._require_admin("restore entries", now)
        state = self._find(entry, include_trash=True)
        if not state.trashed:
            raise UserError("this entry is not in the trash")
        self._write([self._status(state, Kind.RESTORE, now)], (), now)

    def purge(self, entry: str, now: int) -> None:
        """Remove an entry and its history from the document for good (admins)."""
        self._require_admin("purge entries", now)
        state = self._find(entry, include_trash=True)
        if not state.trashed:
            raise UserError("move the entry to the trash first ('rm'), then purge it")
        keys = tuple(v.key for v in self._table.versions_of(state.entry_id))
        self._write([self._version(Kind.PURGE, state.entry_id, now, (), {})], keys, now)

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

    def _write(self, values: list[bytes], deletes: Sequence[str], now: int) -> None:
        """Sign, judge, store durably, then tell listeners. Values must share `now`."""
        me = self.office.identity.device_id
        cursor = self._judge.cursors.get(me)
        seq = (cursor.seq if cursor else 0) + 1
        if self.office.store.envelope(me, seq) is not None:
            raise StorageError("this device's op log is ahead of its document; reopen the vault")
        key_id, _ = self._current_key()
        before = dict(self._table.entries)
        _keys, update = self._doc.write(values, deletes)
        blob = envelopes.seal(me, self.office.identity.sign, self.office.office_id, seq, key_id,
                              now, update)  # fmt: skip
        try:
            verdict = self._judge.judge(self._verified(blob))
            if verdict.change is None:
                raise PermissionDeniedError(f"refused: {verdict.why}")
            with self.office.store.transaction():
                self.office.store.add_envelope(me, seq, blob)
                self._flush_plain()
        except BaseException:
            self._reload()
            raise
        self._record(verdict)
        self._replayed += len(verdict.versions)
        changed = {v.entry.hex() for v in verdict.versions} | {
            e.hex() for e in before if e not in self._table.entries
        }
        self._tell(Change(tuple(sorted(changed)), self._user_of(me), local=True))

    def _reload(self) -> None:
        """Rebuild from the store after a failed write (the document may hold it)."""
        for key in self._ring.values():
            crypto.wipe(key)
        self.office.reload()
        self._open()

    def receive(self, blob: bytes) -> Verdict | None:
        """Take a peer's envelope: verify, store durably, apply what is now in sequence.

        Returns the verdict on this envelope if it could be judged now, None if
        it waits for earlier ones (or was a duplicate).
        """
        self._sync()
        env = self._verified(blob)
        store = self.office.store
        if env.seq < self._judge.next_seq(env.author):
            held = store.envelope(env.author, env.seq)
            if held is not None and held != blob:
                raise PeerError("a second, different envelope with the same sequence number")
            return None
        with store.transaction():
            added = store.add_envelope(env.author, env.seq, blob)
            if not added and store.envelope(env.author, env.seq) != blob:
                raise PeerError("a second, different envelope with the same sequence number")
        mine: Verdict | None = None
        touched: list[str] = []
        for seq, stored in store.envelopes_since(env.author, self._judge.next_seq(env.author) - 1):
            if seq != self._judge.next_seq(env.author):
                break
            verdict = self._apply(self._verified(stored))
            touched += [v.entry.hex() for v in verdict.versions if verdict.change is not None]
            if seq == env.seq:
                mine = verdict
            self._replayed += len(verdict.versions)
        self._flush_plain_now()
        if touched:
            self._tell(Change(tuple(sorted(set(touched))), self._user_of(env.author), False))
        return mine

    def merge_records(self, blobs: Iterable[bytes]) -> None:
        """Take membership records (from a peer): store them, then re-judge if that matters.

        Records are judged by the membership fold; a change in what judging
        envelopes depends on (a revocation's cut-off, a role change, a new
        device) replays the whole op log.
        """
        store = self.office.store
        with store.transaction():
            store.add_records((records.record_id(b), b) for b in blobs)
        self.office.reload()
        self._sync()

    def _sync(self) -> None:
        """Follow the office's membership (changed by a merge, or by an Office act here).

        A change in what judging depends on replays the op log; any other
        change refreshes the key ring and judges what was waiting.
        """
        membership = self.office.membership
        if membership is self._membership:
            return
        if _judging_digest(membership.state) != self._digest:
            self._rebuild()
            return
        self._membership = membership
        for key in self._ring.values():
            crypto.wipe(key)
        self._ring = self.office.key_ring()
        self._judge.state = membership.state
        self._catch_up()
        self._flush_plain_now()

    def _rebuild(self) -> None:
        before = set(self._table.entries)
        for key in self._ring.values():
            crypto.wipe(key)
        self.office.store.set_meta(_META_SNAPSHOT, b"")
        self._open()
        changed = before ^ set(self._table.entries) | set(self._table.entries)
        self._tell(Change(tuple(sorted(e.hex() for e in changed)), "", local=False))

    def op_log(self) -> list[bytes]:
        """Every stored envelope (author and sequence order), as signed."""
        return [blob for _, _, blob in self.office.store.envelopes()]

    def document(self) -> list[tuple[str, bytes]]:
        """The document's values, sorted by key (to compare replicas)."""
        return sorted(self._doc.items())

    def _tell(self, change: Change) -> None:
        for listener in list(self._listeners):
            listener(change)

    def _maybe_snapshot(self) -> None:
        if self._replayed < SNAPSHOT_EVERY or not self._ring:
            return
        cursors: list[codec.Value] = [
            {"author": a, "seq": c.seq, "clock": c.clock}
            for a, c in sorted(self._judge.cursors.items())
        ]
        ids = b"".join(a + s.to_bytes(8, "big") for a, s in sorted(self._accepted))
        snap = codec.encode(
            {"digest": self._digest, "doc": self._doc.snapshot(), "cursors": cursors, "log": ids}
        )
        try:
            with self.office.store.transaction():
                self.office.store.set_meta(_META_SNAPSHOT, snap)
        except StorageError:
            return  # only a cache: the next open replays the log instead
        self._replayed = 0

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
        found = [s for e, s in self._table.entries.items() if e.hex().startswith(text)]
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
        return VersionView(label_of(v.key), _ACTIONS[v.kind], v.at, self._user_of(v.author),
                           fields, listed is not None)  # fmt: skip

    def _event(
        self, v: Version, user: str, reveal: bool, every: dict[str, Version], purged: bool
    ) -> AuditEvent:
        state = self._table.entries.get(v.entry)
        title = ""
        changes: list[tuple[str, str, str]] = []
        action = _ACTIONS[v.kind]
        if v.kind is Kind.EDIT and len(v.base) > 1:
            action = "resolved"
        if v.fields and not purged:
            new = self._try_decrypt(v)
            title = new.get("title", "")
            old_version = every.get(v.base[0]) if v.base else None
            old = self._try_decrypt(old_version) if old_version else {}
            for name in FIELDS:
                if v.kind is Kind.ADD and not new.get(name):
                    continue
                if v.kind is Kind.EDIT and old.get(name) == new.get(name):
                    continue
                hidden = name in SECRET_FIELDS and not reveal
                before = "***" if hidden and old.get(name) else old.get(name, "")
                after = "***" if hidden and new.get(name) else new.get(name, "")
                changes.append((name, before, after))
        elif state is not None:
            listed = self._listed(state.current)
            title = listed[0] if listed else ""
        device = v.author.hex()[:12]
        return AuditEvent(v.at, user, device, action, v.entry.hex(), title, tuple(changes))

    def _try_decrypt(self, v: Version) -> dict[str, str]:
        try:
            return {name: self._open_field(v, name) for name in FIELDS}
        except CryptoError:
            return {}

    def _user_of(self, device: bytes) -> str:
        member = self.office.membership.state.devices.get(device)
        return member.user if member else device.hex()[:12]


_ACTIONS = {
    Kind.ADD: "added",
    Kind.EDIT: "changed",
    Kind.TRASH: "trashed",
    Kind.RESTORE: "restored",
    Kind.PURGE: "purged",
}


def _sign_key(state: State, device: bytes) -> bytes | None:
    member = state.devices.get(device)
    return None if member is None else member.capability.sign_public


def _judging_digest(state: State) -> bytes:
    """A digest of every membership fact that judging envelopes depends on."""
    clients: dict[int, list[bytes]] = {}
    for device in state.devices:
        clients.setdefault(envelopes.client_id_of(device), []).append(device)
    facts = {
        # a new device changes no judgement of stored envelopes, unless it shares a client id
        "shared": sorted(d for ds in clients.values() if len(ds) > 1 for d in ds),
        "revoked": sorted([d, r.cutoff] for d, r in state.revoked.items()),
        "roles": sorted([d, s, c, role] for d, log in state.role_log.items() for s, c, role in log),
    }
    return hashlib.sha256(json.dumps(facts, default=bytes.hex).encode()).digest()


def _unpack_ids(log: bytes) -> Iterable[tuple[bytes, int]]:
    for i in range(0, len(log) - len(log) % 24, 24):
        yield log[i : i + 16], int.from_bytes(log[i + 16 : i + 24], "big")


def _values_of(env: Envelope) -> list[tuple[str, bytes]]:
    decoded = yupdate.decode(env.update)
    return [(i.key or "", i.value) for i in decoded.items if isinstance(i.value, bytes)]
