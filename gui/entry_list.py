"""What the main screen lists: categories on the left, the filtered entries, the count.

`ListPresenter.view` turns the vault's summaries into plain rows (no secrets:
a Summary holds none) for a category, a search text and the trash or not; the
widget only draws them. `when` formats a time the way every row shows it.

A keystroke must repaint within 16 ms at 10,000 entries, so the filter runs at C speed
(map/compress over the case-folded texts) and remembers its last few results: a word
typed on narrows the previous result instead of scanning everything again, and a
backspace finds its earlier result remembered.
"""

from __future__ import annotations

import operator
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import compress, repeat

from node.vault import Summary

ALL = "All entries"  # the label of the category choice that shows everything
NONE = "(no category)"  # the label of entries with an empty (or unreadable) category

Source = Callable[[str | None, str | None, bool], list[Summary]]  # Vault.entries
REMEMBERED = 16  # results kept for typing on and backspacing (a few tuples of references)


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


_Query = tuple[bool, str | None, frozenset[str]]  # trash, case-folded category, words
_Found = tuple[tuple[Row, ...], tuple[str, ...]]  # the rows matched, and their texts


class ListPresenter:
    """Reads the vault once per change (`invalidate`), then filters in memory: a keystroke
    at 10,000 entries must repaint within 16 ms."""

    def __init__(self, source: Source, clock: Callable[[], float] = time.time) -> None:
        self._source = source
        self._clock = clock
        self._loaded: dict[bool, _Loaded] = {}
        self._found: OrderedDict[_Query, _Found] = OrderedDict()  # the latest last
        self.generation = 0  # grows whenever what `every` returns may have changed

    def invalidate(self) -> None:
        """The vault changed: read it again when next asked."""
        self._loaded.clear()
        self._found.clear()
        self.generation += 1

    def every(self, trash: bool = False) -> tuple[Row, ...]:
        return self._load(trash).rows

    def view(self, category: str | None = None, search: str = "", trash: bool = False) -> ListView:
        """`category`: a Category.value (None: every entry), matched ignoring case; `search`:
        words that must all appear in the title, username or URL, case ignored."""
        data = self._load(trash)
        group = None if category is None else category.casefold()
        rows, _ = self._find(data, (trash, group, frozenset(search.casefold().split())))
        total = len(data.rows)
        noun = "entry" if total == 1 else "entries"
        where = " in the trash" if trash else ""
        return ListView(rows, data.categories, f"{len(rows)} of {total} {noun}{where}")

    def _find(self, data: _Loaded, query: _Query) -> _Found:
        """The rows `query` matches, narrowed from the narrowest remembered result that
        holds them all: one of the same trash and category each of whose words is part of
        a word of `query` (a row that holds "bank" holds "ban")."""
        found = self._found.get(query)
        if found is not None:
            self._found.move_to_end(query)
            return found
        trash, group, words = query
        if group is None:
            rows, texts = data.rows, data.texts
        elif words:
            rows, texts = self._find(data, (trash, group, frozenset()))
        else:
            keep = list(map(operator.eq, data.groups, repeat(group)))
            rows, texts = tuple(compress(data.rows, keep)), tuple(compress(data.texts, keep))
        done: frozenset[str] = frozenset()
        for (t, g, had), (r, tx) in self._found.items():
            if (
                (t, g) == (trash, group)
                and len(r) < len(rows)
                and all(any(h in w for w in words) for h in had)
            ):
                rows, texts, done = r, tx, had
        for word in words - done:
            keep = list(map(operator.contains, texts, repeat(word)))
            rows, texts = tuple(compress(rows, keep)), tuple(compress(texts, keep))
        self._found[query] = rows, texts
        while len(self._found) > REMEMBERED:
            self._found.popitem(last=False)
        return rows, texts

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
        shown: dict[int, str] = {}  # each time formatted once (an import shares one)

        def changed(at: int) -> str:
            text = shown.get(at)
            if text is None:
                text = shown[at] = when(at, now)
            return text

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
                    changed(s.changed_at),
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
