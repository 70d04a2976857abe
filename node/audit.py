"""The audit trail: what every accepted change did, read from the signed op log.

Each accepted envelope is signed by its author, so the trail cannot be
forged. An edit is shown field by field against the version it replaced;
secrets only when the caller asks to reveal them. An entry's first add is
its add; a later add of the same entry (the fold ignores it) is left out,
and a purged entry's values are never shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from crdt import yupdate
from node import versions
from node.entries import first_add
from node.entry_fields import FIELDS, SECRET_FIELDS
from node.envelopes import Envelope
from node.versions import Kind, Version

ACTIONS = {
    Kind.ADD: "added",
    Kind.EDIT: "changed",
    Kind.TRASH: "trashed",
    Kind.RESTORE: "restored",
    Kind.PURGE: "purged",
}


@dataclass(frozen=True)
class AuditEvent:
    at: int
    user: str
    device: str
    action: str  # added, changed, resolved, trashed, restored, purged
    entry: str
    title: str
    changes: tuple[tuple[str, str, str], ...]  # (field, from, to); secrets only when revealed


@dataclass(frozen=True)
class Filters:
    user: str | None = None
    entry: str | None = None  # leading hex digits of the entry id
    since: int | None = None
    reveal: bool = False


Decrypt = Callable[[Version], dict[str, str]]  # every field, or {} if it cannot be opened


def versions_of(env: Envelope) -> list[Version]:
    """The versions an accepted envelope carries (its update was judged when accepted)."""
    decoded = yupdate.decode(env.update)
    return [
        versions.decode(item.key or "", item.value)
        for item in decoded.items
        if isinstance(item.value, bytes)
    ]


def trail(
    accepted: Iterable[Envelope],
    decrypt: Decrypt,
    user_of: Callable[[bytes], str],
    title_of: Callable[[bytes], str],
    filters: Filters,
) -> list[AuditEvent]:
    """Events of `accepted`, oldest first (by time, then author and sequence)."""
    found = sorted(((env, versions_of(env)) for env in accepted), key=lambda e: (e[0].at, e[0].id))
    every = {v.key: v for _, vs in found for v in vs}
    purged = {v.entry for v in every.values() if v.kind is Kind.PURGE}
    adds: dict[bytes, list[Version]] = {}
    for v in every.values():
        if v.kind is Kind.ADD:
            adds.setdefault(v.entry, []).append(v)
    counted = {a.key for entry, vs in adds.items() if (a := first_add(entry, vs)) is not None}
    events = []
    for env, vs in found:
        name = user_of(env.author)
        if (filters.since is not None and env.at < filters.since) or (
            filters.user is not None and name != filters.user
        ):
            continue
        for v in vs:
            if filters.entry is not None and not v.entry.hex().startswith(filters.entry.lower()):
                continue
            if v.kind is Kind.ADD and v.key not in counted:
                continue
            events.append(_event(v, name, every, v.entry in purged, decrypt, title_of, filters))
    return events


def _event(
    v: Version,
    user: str,
    every: dict[str, Version],
    purged: bool,
    decrypt: Decrypt,
    title_of: Callable[[bytes], str],
    filters: Filters,
) -> AuditEvent:
    action = "resolved" if v.kind is Kind.EDIT and len(v.base) > 1 else ACTIONS[v.kind]
    changes: list[tuple[str, str, str]] = []
    title = "" if purged else title_of(v.entry)
    if v.fields and not purged:
        new = decrypt(v)
        title = new.get("title", title)
        replaced = every.get(v.base[0]) if v.base else None
        old = decrypt(replaced) if replaced is not None else {}
        for name in FIELDS:
            before, after = old.get(name, ""), new.get(name, "")
            if (v.kind is Kind.ADD and not after) or (v.kind is Kind.EDIT and before == after):
                continue
            if name in SECRET_FIELDS and not filters.reveal:
                before, after = ("***" if before else ""), ("***" if after else "")
            changes.append((name, before, after))
    return AuditEvent(v.at, user, v.author.hex()[:12], action, v.entry.hex(), title,
                      tuple(changes))  # fmt: skip
