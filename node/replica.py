"""`Replica`: the vault document of one device, as the replay of its judged op log.

The op log (the store's envelopes) holds every authentic envelope; this
class judges them in each author's sequence order (node/oplog.py) and
applies the valid ones to the pycrdt document. Invalid ones change nothing
but their clock range, which is filled so every replica's document and the
author's own next clock agree with judging.

A snapshot (the document, each author's cursor, the accepted envelopes and
every delete applied) lets a reopen replay only what came after it. It is
used only while the digest of the membership facts that judging depends on
is unchanged; otherwise everything is judged again.

Listeners hear of versions that appear in or leave the document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable

from crdt.errors import UpdateError
from crdt.vaultdoc import VaultDoc
from node import codec, envelopes, versions
from node.envelopes import Envelope
from node.errors import DecodeError, PeerError
from node.membership_state import State
from node.oplog import Cursor, Judge, Verdict
from node.store import Store
from node.versions import Version

SNAPSHOT_META = "doc_snapshot"
SNAPSHOT_EVERY = 256  # versions replayed since the snapshot before a new one is written
MAX_AHEAD = 10_000  # how far past an author's next sequence an envelope may be held
PAGE = 64  # envelopes read from the op log at a time while catching up

Listener = Callable[[list[Version], list[str]], None]


class Replica:
    def __init__(self, store: Store, office_id: bytes, device_id: bytes, state: State) -> None:
        self.store = store
        self.office_id = office_id
        self.state = state
        self.digest = judging_digest(state)
        self.doc = VaultDoc(envelopes.client_id_of(device_id))  # filled by `load`
        self.judge = Judge(state)
        self.accepted: set[tuple[bytes, int]] = set()  # (author, seq) judged valid
        self.deletes: set[tuple[int, int, int]] = set()  # every (client, clock, length) applied
        self.replayed = 0
        self._listeners: list[Listener] = []
        self._ahead: set[bytes] = set()  # authors with an envelope held past a gap

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _on_doc(self, added: list[tuple[str, bytes]], removed: list[str]) -> None:
        found = []
        for key, value in added:
            try:
                found.append(versions.decode(key, value))
            except DecodeError:
                continue  # judged before it was applied: cannot happen
        for listener in self._listeners:
            listener(found, removed)

    # -- loading -----------------------------------------------------------------
    def load(self) -> None:
        """Fill the document from the snapshot (if it still holds) and the op log after it."""
        snap = self.store.get_meta(SNAPSHOT_META)
        doc = VaultDoc(self.doc.client_id)
        loaded = bool(snap) and self._load_snapshot(snap or b"", doc)
        if not loaded:
            doc = VaultDoc(self.doc.client_id)
            self.replayed = SNAPSHOT_EVERY  # write a fresh snapshot when closing
        self.doc = doc
        doc.subscribe(self._on_doc)
        if loaded:
            self._on_doc(list(doc.items()), [])
        self.catch_up()

    def _load_snapshot(self, snap: bytes, doc: VaultDoc) -> bool:
        """Load a snapshot into the fresh `doc`; False (and nothing else changed) if it is stale."""
        try:
            f = codec.Fields(codec.decode(snap), "snapshot")
            f.exactly("digest", "doc", "cursors", "log", "deletes")
            if f.blob("digest", 32) != self.digest:
                return False
            cursors = {}
            for item in f.array("cursors", 100_000):
                c = codec.Fields(item, "cursor").exactly("author", "seq", "clock")
                cursors[c.blob("author", 16)] = Cursor(c.integer("seq"), c.integer("clock"))
            accepted = set(_unpack(f.blob("log", max_size=2**31), 16, 8))
            deletes = set(_unpack_deletes(f.blob("deletes", max_size=2**31)))
            doc.apply(f.blob("doc", max_size=2**31))
            doc.apply_deletes(sorted(deletes))
        except (DecodeError, UpdateError):
            return False
        self.judge.cursors, self.accepted, self.deletes = cursors, accepted, deletes
        return True

    def snapshot(self) -> bytes:
        cursors: list[codec.Value] = [
            {"author": a, "seq": c.seq, "clock": c.clock}
            for a, c in sorted(self.judge.cursors.items())
        ]
        log = b"".join(a + s.to_bytes(8, "big") for a, s in sorted(self.accepted))
        deletes = b"".join(
            c.to_bytes(8, "big") + k.to_bytes(4, "big") + n.to_bytes(4, "big")
            for c, k, n in sorted(self.deletes)
        )
        return codec.encode({"digest": self.digest, "doc": self.doc.snapshot(),
                             "cursors": cursors, "log": log, "deletes": deletes})  # fmt: skip

    # -- judging and applying ----------------------------------------------------------
    def verified(self, blob: bytes) -> Envelope:
        """Check an envelope's signature against the device that claims to have signed it."""

        def signer(device: bytes) -> bytes | None:
            member = self.state.devices.get(device)
            return None if member is None else member.capability.sign_public

        return envelopes.verify(blob, self.office_id, signer)

    def next_seq(self, author: bytes) -> int:
        return self.judge.next_seq(author)

    def catch_up(
        self, authors: Iterable[bytes] | None = None, known: Envelope | None = None
    ) -> list[Verdict]:
        """Judge and apply every held envelope that is next in its author's sequence.

        `known` is one of them already verified (the one just received): it is
        not verified again.
        """
        if (
            known is not None
            and known.author not in self._ahead
            and known.seq == self.next_seq(known.author)
            and authors is not None
            and list(authors) == [known.author]
        ):
            # the usual case, a peer's next envelope with nothing held after it: no need to
            # read back from the op log what was just stored
            return [self.apply(known)]
        out: list[Verdict] = []
        wanted = self.store.authors() if authors is None else list(authors)
        for author in wanted:
            self._ahead.discard(author)
            self._catch_up(author, known, out)
        return out

    def _catch_up(self, author: bytes, known: Envelope | None, out: list[Verdict]) -> None:
        """Apply `author`'s held envelopes in sequence, a page at a time, up to a gap."""
        while True:
            page = self.store.envelopes_since(author, self.next_seq(author) - 1, PAGE)
            for seq, blob in page:
                if seq != self.next_seq(author):
                    self._ahead.add(author)  # a gap: wait for the missing envelope
                    return
                held = known if known is not None and known.id == (author, seq) else None
                out.append(self.apply(held or self.verified(blob)))
            if len(page) < PAGE:
                return

    def apply(self, env: Envelope) -> Verdict:
        """Judge the author's next envelope and apply it (or fill its clock range)."""
        before = self.judge.cursors.get(env.author, Cursor()).clock
        verdict = self.judge.judge(env)
        try:
            if verdict.change is None:
                after = self.judge.cursors[env.author].clock
                self.doc.skip(envelopes.client_id_of(env.author), before, after)
            else:
                self.doc.apply(env.update)
                self.record(verdict)
        except UpdateError:
            raise PeerError("the document refused a judged update") from None
        self.replayed += len(verdict.versions)
        return verdict

    def record(self, verdict: Verdict) -> None:
        """Count an applied verdict (also for our own writes, applied as they are made)."""
        self.accepted.add(verdict.envelope.id)
        if verdict.change is not None:
            self.deletes.update((d.client, d.clock, d.length) for d in verdict.change.deletes)

    def hold(self, env: Envelope) -> bool:
        """Put a peer's envelope in the op log (inside the caller's transaction); False if it
        was there already.

        A different envelope under a sequence number already held is refused
        (an author signing two histories); so is one implausibly far ahead.
        """
        if env.seq > self.next_seq(env.author) + MAX_AHEAD:
            raise PeerError("an envelope too far ahead of its author's sequence")
        if self.store.add_envelope(env.author, env.seq, env.blob):
            if env.seq > self.next_seq(env.author):
                self._ahead.add(env.author)
            return True
        if self.store.envelope(env.author, env.seq) != env.blob:
            raise PeerError("a second, different envelope with the same sequence number")
        return False


def judging_digest(state: State, authors: Collection[bytes] | None = None) -> bytes:
    """A digest of every membership fact that judging envelopes depends on; with `authors`,
    of those facts about these devices only (a verdict depends on its author's facts alone:
    role, revocation cut-off, capability window, a shared client id)."""

    def of(device: bytes) -> bool:
        return authors is None or device in authors

    facts = {
        "shared": sorted(d for d in Judge(state).shared if of(d)),
        "revoked": sorted([d, r.cutoff] for d, r in state.revoked.items() if of(d)),
        "roles": sorted(
            [d, s, c, r] for d, log in state.role_log.items() if of(d) for s, c, r in log
        ),
        "windows": sorted([d, *state.window(d)] for d in state.devices if of(d)),
    }
    return hashlib.sha256(json.dumps(facts, default=bytes.hex).encode()).digest()


def _unpack(data: bytes, first: int, second: int) -> Iterable[tuple[bytes, int]]:
    size = first + second
    for i in range(0, len(data) - len(data) % size, size):
        yield data[i : i + first], int.from_bytes(data[i + first : i + size], "big")


def _unpack_deletes(data: bytes) -> Iterable[tuple[int, int, int]]:
    for i in range(0, len(data) - len(data) % 16, 16):
        chunk = data[i : i + 16]
        yield (int.from_bytes(chunk[:8], "big"), int.from_bytes(chunk[8:12], "big"),
               int.from_bytes(chunk[12:], "big"))  # fmt: skip
