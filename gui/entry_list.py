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


@dataclass(frozen=True)
class _Loaded:
    rows: tuple[Row, ...]  # every entry, sorted as the vault sorts
    texts: tuple[str, ...]  # each row's search text: title, username, URL, case-folded
    groups: tuple[str, ...]  # each row's category, case-folded
    categories: tuple[Category, ...]


class ListPresenter:
    """Reads the vault once per change (`invalidate`), then filters in memory: a keystroke
    at 10,000 entries must repaint within 16 ms."""

    def __init__(self, source: Source, clock: Callable[[], float] = time.time) -> None:
        self._source = source
        self._clock = clock
        self._loaded: dict[bool, _Loaded] = {}
        self.generation = 0  # grows whenever what `every` returns may have changed

    def invalidate(self) -> None:
        """The vault changed: read it again when next asked."""
        self._loaded.clear()
        self.generation += 1

    def every(self, trash: bool = False) -> tuple[Row, ...]:
        return self._load(trash).rows

    def view(self, category: str | None = None, search: str = "", trash: bool = False) -> ListView:
        """`category`: a Category.value (None: every entry), matched ignoring case; `search`:
        words that must all appear in the title, username or URL, case ignored."""
        data = self._load(trash)
        words = search.casefold().split()
        group = None if category is None else category.casefold()
        rows = tuple(
            row
            for row, text, g in zip(data.rows, data.texts, data.groups, strict=True)
            if (group is None or g == group) and all(w in text for w in words)
        )
        total = len(data.rows)
        noun = "entry" if total == 1 else "entries"
        where = " in the trash" if trash else ""
        return ListView(rows, data.categories, f"{len(rows)} of {total} {noun}{where}")

    def _load(self, trash: bool) -> _Loaded:
        loaded = self._loaded.get(trash)
        if loaded is not None:
            return loaded
        every = self._source(None, None, trash)
        now = self._clock()
        counts: dict[str, int] = {}
        spelling: dict[str, str] = {}  # the first spelling seen of each (case-folded) name
        for s in every:
            key = s.category.casefold()
            counts[key] = counts.get(key, 0) + 1
            spelling.setdefault(key, s.category)
        named = sorted(counts, key=lambda k: (k == "", k))
        categories = (Category(None, f"{ALL} ({len(every)})", len(every)),
                      *(Category(spelling[k], f"{spelling[k] or NONE} ({counts[k]})", counts[k])
                        for k in named))  # fmt: skip
        loaded = _Loaded(
            rows=tuple(
                Row(
                    s.id,
                    s.title,
                    s.username,
                    s.category,
                    when(s.changed_at, now),
                    s.changed_by,
                    s.conflict,
                    s.readable,
                )
                for s in every
            ),
            texts=tuple(f"{s.title}\n{s.username}\n{s.url}".casefold() for s in every),
            groups=tuple(s.category.casefold() for s in every),
            categories=categories,
        )
        self._loaded[trash] = loaded
        return loaded
