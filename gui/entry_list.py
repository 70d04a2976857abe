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

ALL = "All entries"  # the label of the category choice that shows everything
NONE = "(no category)"  # the label of entries with an empty (or unreadable) category

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
class Category:
    value: str | None  # what `view` takes back (None: everything)
    label: str  # what the list shows, with the count
    count: int


@dataclass(frozen=True)
class ListView:
    rows: tuple[Row, ...]
    categories: tuple[Category, ...]  # everything first, then by name (case ignored)
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
        """`category`: a Category.value (None: every entry); the vault ignores case."""
        every = self._source(None, None, trash)
        counts: dict[str, int] = {}
        spelling: dict[str, str] = {}  # the first spelling seen of each (case-folded) name
        for s in every:
            key = s.category.casefold()
            counts[key] = counts.get(key, 0) + 1
            spelling.setdefault(key, s.category)
        needle = search.strip() or None
        found = self._source(category, needle, trash) if category is not None or needle else every
        now = self._clock()
        rows = tuple(Row(s.id, s.title, s.username, s.category, when(s.changed_at, now),
                         s.changed_by, s.conflict, s.readable) for s in found)  # fmt: skip
        named = sorted(counts, key=lambda k: (k == "", k))
        categories = (Category(None, f"{ALL} ({len(every)})", len(every)),
                      *(Category(spelling[k], f"{spelling[k] or NONE} ({counts[k]})", counts[k])
                        for k in named))  # fmt: skip
        noun = "entry" if len(every) == 1 else "entries"
        where = " in the trash" if trash else ""
        shown = f"{len(rows)} of {len(every)} {noun}{where}"
        return ListView(rows, categories, shown)
