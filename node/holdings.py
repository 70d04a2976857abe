"""What the sync protocol sees of a vault: `VaultHoldings`, node/sync.py's `Holdings`.

Envelopes and records from peers are verified here before they are stored:
an envelope by its author's signature (an unknown author's waits for the
membership records, which anti-entropy sends first), a membership record
by the fold, which keeps only records whose signatures check out.
"""

from __future__ import annotations

from collections.abc import Iterable

from node import records
from node.errors import PeerError, StorageError
from node.tokens import Role
from node.vault import Vault


class VaultHoldings:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.refused = 0
        self._vector: dict[bytes, int] | None = None
        self._ids: tuple[int, set[bytes]] | None = None  # (record count, ids)

    def changed(self) -> None:
        """Forget cached views (after anything was stored)."""
        self._vector = None  # record ids are cached by count: the set only grows

    def vector(self) -> dict[bytes, int]:
        if self._vector is None:
            self._vector = self.vault.office.store.vector()
        return self._vector

    def envelopes_after(self, author: bytes, after: int, limit: int) -> list[bytes]:
        held = self.vault.office.store.envelopes_since(author, after)
        out: list[bytes] = []
        for seq, blob in held[:limit]:
            if seq != after + len(out) + 1:
                break
            out.append(blob)
        return out

    def take_envelopes(self, blobs: Iterable[bytes]) -> list[bytes]:
        fresh = []
        for blob in blobs:
            try:
                if self.vault.take(blob):
                    fresh.append(blob)
            except (PeerError, StorageError):
                self.refused += 1
        if fresh:
            self.changed()
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
        self.vault.merge_records(keep)
        self.changed()
        return True

    def is_admin(self) -> bool:
        member = self.vault.office.member
        return member is not None and member.role is Role.ADMIN

    def admin_device(self, device: bytes) -> bool:
        member = self.vault.office.membership.state.active(device)
        return member is not None and member.role is Role.ADMIN
