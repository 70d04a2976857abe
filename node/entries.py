"""The entries of a vault, folded from the versions present in the document.

The fold is a function of the set of versions alone, so every replica that
holds the same versions shows the same entries, whatever order they came in:

- An entry exists once its add is present. Its id is bound to the adding
  device (versions.entry_id_of), so only that device can add it; if it added
  it twice, its first add (lowest clock) counts and later ones are ignored.
- Content: the add and the admins' edits form a graph by `base`. Its heads
  are the versions no other version replaces. One head: the entry's current
  content. Several (admins edited at once): a conflict. All heads are kept;
  the newest (by time, then version key) is shown until an admin resolves.
- Status: trash and restore versions form their own graph by `base`; among
  its heads the newest wins. Content and status are independent, so an edit
  made concurrently with a delete is kept inside the trashed entry and comes
  back with a restore (the documented edit-versus-delete rule).
- A purge version removes the entry for good: it and its history disappear
  from the view, and any version of it that arrives later is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from node.versions import CONTENT_KINDS, Kind, Version, entry_id_of


@dataclass(frozen=True)
class EntryState:
    entry_id: bytes
    add: Version
    heads: tuple[Version, ...]  # content heads, the shown one first
    trashed: bool
    versions: tuple[Version, ...]  # every version of the entry, oldest first

    @property
    def current(self) -> Version:
        return self.heads[0]

    @property
    def conflict(self) -> bool:
        return len(self.heads) > 1


def _newest_first(versions: Iterable[Version]) -> list[Version]:
    return sorted(versions, key=lambda v: (v.at, v.clock, v.key), reverse=True)


def _heads(versions: list[Version]) -> list[Version]:
    replaced = {key for v in versions for key in v.base}
    return _newest_first(v for v in versions if v.key not in replaced)


def first_add(entry_id: bytes, versions: Iterable[Version]) -> Version | None:
    """The add that makes the entry: bound to its adding device, the lowest clock.

    A later add of the same entry (only its own device can make one) counts
    nowhere: not in the entry, not in the audit trail.
    """
    adds = [
        v
        for v in versions
        if v.kind is Kind.ADD and v.nonce is not None and entry_id_of(v.author, v.nonce) == entry_id
    ]
    return min(adds, key=lambda v: v.clock, default=None)


def fold_entry(entry_id: bytes, versions: Iterable[Version]) -> EntryState | None:
    """The state of one entry from its versions; None if it is not (or no longer) shown."""
    present = list(versions)
    if any(v.kind is Kind.PURGE for v in present):
        return None
    add = first_add(entry_id, present)
    if add is None:
        return None
    if len(present) == 1:  # the common case: an entry never changed since it was added
        return EntryState(entry_id, add, (add,), False, (add,))
    content = [add, *(v for v in present if v.kind is Kind.EDIT)]
    status = [v for v in present if v.kind in (Kind.TRASH, Kind.RESTORE)]
    status_heads = _heads(status)
    trashed = bool(status_heads) and status_heads[0].kind is Kind.TRASH
    shown = [v for v in present if v.kind not in CONTENT_KINDS or v in content]
    ordered = tuple(sorted(shown, key=lambda v: (v.at, v.clock, v.key)))
    return EntryState(entry_id, add, tuple(_heads(content)), trashed, ordered)


class EntryTable:
    """All entries, kept current as versions appear and disappear."""

    def __init__(self) -> None:
        self._versions: dict[bytes, dict[str, Version]] = {}
        self._entry_of: dict[str, bytes] = {}
        self.entries: dict[bytes, EntryState] = {}

    def update(self, added: Iterable[Version], removed: Iterable[str]) -> set[bytes]:
        """Apply a change; return the ids of the entries whose state may have changed."""
        touched: set[bytes] = set()
        for key in removed:
            entry = self._entry_of.pop(key, None)
            if entry is not None:
                self._versions[entry].pop(key, None)
                touched.add(entry)
        for version in added:
            self._versions.setdefault(version.entry, {})[version.key] = version
            self._entry_of[version.key] = version.entry
            touched.add(version.entry)
        for entry in touched:
            state = fold_entry(entry, self._versions.get(entry, {}).values())
            if state is None:
                self.entries.pop(entry, None)
            else:
                self.entries[entry] = state
        return touched

    def versions_of(self, entry_id: bytes) -> list[Version]:
        return list(self._versions.get(entry_id, {}).values())

    def purged(self, entry_id: bytes) -> bool:
        return any(v.kind is Kind.PURGE for v in self._versions.get(entry_id, {}).values())
