"""What the sync protocol sees of a vault: `VaultHoldings`, node/sync.py's `Holdings`.

Envelopes and records from peers are verified here before they are stored:
an envelope by its author's signature (an unknown author's waits for the
membership records, which anti-entropy sends first), a membership record
by the fold, which keeps only records whose signatures check out.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable

from node import checkpoints, records
from node.checkpoints import Checkpoint, Shortfall
from node.errors import PeerError, StorageError
from node.tokens import Role
from node.vault import Vault

MAX_HELD_DIGESTS = 200_000  # remembered envelope digests (16 bytes each), then start over
CHECKPOINT_META = "checkpoint"


class VaultHoldings:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.refused = 0
        self.duplicates = 0
        self._vector: tuple[int, dict[bytes, int]] | None = None  # (store commits, vector)
        self._ids: tuple[int, set[bytes]] | None = None  # (record count, ids)
        # Digests of envelopes known to be held here, exactly as received: a copy that
        # arrives again (forwarded, or pushed while anti-entropy also sends it) is
        # dropped before its signature is checked again or the store is asked.
        self._held: set[bytes] = set()
        self.wall: Callable[[], float] = time.time
        self._shortfall: tuple[tuple[int, int, bytes], Shortfall] | None = None

    def changed(self) -> None:
        """Forget cached views (after another program stored something)."""
        self._vector = None  # record ids are cached by count: the set only grows

    def vector(self) -> dict[bytes, int]:
        commits = self.vault.office.store.commits
        if self._vector is None or self._vector[0] != commits:
            self._vector = (commits, self.vault.office.store.vector())
        return self._vector[1]

    def envelopes_after(self, author: bytes, after: int, limit: int) -> list[bytes]:
        held = self.vault.office.store.envelopes_since(author, after, limit)
        out: list[bytes] = []
        for seq, blob in held:
            if seq != after + len(out) + 1:
                break
            out.append(blob)
        return out

    def take_envelopes(self, blobs: Iterable[bytes]) -> list[bytes]:
        fresh = []
        for blob in blobs:
            digest = hashlib.blake2b(blob, digest_size=16).digest()
            if digest in self._held:
                self.duplicates += 1
                continue
            try:
                if self.vault.take(blob):
                    fresh.append(blob)
            except (PeerError, StorageError):
                self.refused += 1
                continue
            if len(self._held) >= MAX_HELD_DIGESTS:
                self._held.clear()
            self._held.add(digest)
        return fresh

    def record_ids(self) -> set[bytes]:
        blobs = self.vault.office.blobs
        if self._ids is None or self._ids[0] != len(blobs):
            self._ids = (len(blobs), {records.record_id(b) for b in blobs})
        return self._ids[1]

    def record_blobs(self, ids: Iterable[bytes]) -> list[bytes]:
        wanted = set(ids)
        return [b for b in self.vault.office.blobs if records.record_id(b) in wanted]

    def take_records(self, blobs: Iterable[bytes]) -> bool:
        office = self.vault.office
        have = self.record_ids()
        new = [b for b in blobs if records.record_id(b) not in have]
        if not new:
            return False
        candidate = office.fold([*office.blobs, *new])
        keep = [
            b
            for b in new
            if records.record_id(b) not in candidate.broken
            and records.record_id(b) not in candidate.pending
        ]
        self.refused += len(new) - len(keep)
        if not keep:
            return False
        # the fold is of the set: with nothing left out, the candidate is the new membership
        self.vault.merge_records(keep, candidate if len(keep) == len(new) else None)
        self.changed()
        return True

    def is_admin(self) -> bool:
        member = self.vault.office.member
        return member is not None and member.role is Role.ADMIN

    def admin_device(self, device: bytes) -> bool:
        member = self.vault.office.membership.state.active(device)
        return member is not None and member.role is Role.ADMIN

    # -- checkpoints ------------------------------------------------------------------
    def checkpoint_from(self, blob: bytes) -> Checkpoint:
        office = self.vault.office
        return checkpoints.verify(blob, office.office_id, office.membership.state, int(self.wall()))

    def keep_checkpoint(self, checkpoint: Checkpoint) -> None:
        store = self.vault.office.store
        with store.transaction(durable=False):  # the signer and its peers hold it too
            store.set_meta(CHECKPOINT_META, checkpoint.blob)

    def kept_checkpoint(self) -> Checkpoint | None:
        """The checkpoint kept before, if it still verifies (its signer may be gone since)."""
        blob = self.vault.office.store.get_meta(CHECKPOINT_META)
        try:
            return self.checkpoint_from(blob) if blob else None
        except PeerError:
            return None

    def sign_checkpoint(self, term: int) -> Checkpoint:
        """A checkpoint of what this (admin) device holds now."""
        office = self.vault.office
        store = office.store
        heads = [
            (device, seq, checkpoints.head_hash(store.envelope(device, seq) or b""))
            for device, seq in sorted(self.vector().items())
            if seq > 0
        ]
        ids = self.record_ids()
        blob = checkpoints.seal(office.identity.device_id, office.identity.sign, office.office_id,
                                term, int(self.wall()), heads, len(ids),
                                checkpoints.records_digest(ids))  # fmt: skip
        return self.checkpoint_from(blob)

    def shortfall(self, checkpoint: Checkpoint) -> Shortfall:
        store = self.vault.office.store
        key = (store.commits, len(self.vault.office.blobs), checkpoint.blob)
        if self._shortfall is not None and self._shortfall[0] == key:
            return self._shortfall[1]

        def head_hash_at(device: bytes, seq: int) -> bytes | None:
            blob = store.envelope(device, seq)
            return None if blob is None else checkpoints.head_hash(blob)

        ids = self.record_ids()
        short = checkpoints.shortfall(
            checkpoint, self.vector(), head_hash_at, len(ids), checkpoints.records_digest(ids)
        )
        self._shortfall = (key, short)
        return short
