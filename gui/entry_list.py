"""What the main screen lists: categories on the left, the filtered entries, the count.

`ListPresenter.view` turns the vault's summaries into plain rows (no secrets:
a Summary holds none) for a category, a search text and the trash or not; the
widget only draws them. `when` formats a time the way every row shows it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from node.vault import Summary

ALL = "All entries"

Source = Callable[[str | None, str | None, bool], list[Summary]]  # Vault.entries


@dataclass(frozen=True)
class Row:
    id: str
    title: str
    username: str
    category: str
    changed: str
    changed_by: str
    conflict: bool
    readable: bool


@dataclass(frozen=True)
class ListView:
    rows: tuple[Row, ...]
    categories: tuple[tuple[str, int], ...]  # (name, entries), ALL first
    shown: str  # "12 of 340 entries"


def when(at: int, now: float) -> str:
    """A short local time: the clock time today, else the date."""
    local, today = time.localtime(at), time.localtime(now)
    if local[:3] == today[:3]:
        return time.strftime("%H:%M", local)
    return time.strftime("%Y-%m-%d", local)


class ListPresenter:
    def __init__(self, source: Source, clock: Callable[[], float] = time.time) -> None:
        self._source = source
        self._clock = clock

    def view(self, category: str | None = None, search: str = "", trash: bool = False) -> ListView:
        every = self._source(None, None, trash)
        counts: dict[str, int] = {}
        for s in every:
            counts[s.category] = counts.get(s.category, 0) + 1
        chosen = None if category in (None, ALL) else category
        found = self._source(chosen, search.strip() or None, trash) if chosen or search else every
        now = self._clock()
        rows = tuple(Row(s.id, s.title, s.username, s.category, when(s.changed_at, now),
                         s.changed_by, s.conflict, s.readable) for s in found)  # fmt: skip
        categories = ((ALL, len(every)), *sorted(counts.items(), key=lambda kv: kv[0].casefold()))
        noun = "entry" if len(every) == 1 else "entries"
        where = " in the trash" if trash else ""
        shown = f"{len(rows)} of {len(every)} {noun}{where}"
        return ListView(rows, categories, shown)
