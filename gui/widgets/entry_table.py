"""The entry list as a virtual table: a Treeview that holds only the rows on screen.

A ttk.Treeview slows down with every item it holds (each repaint walks them, and
inserting 10,000 costs a tenth of a second), so `EntryTable` keeps the whole filtered
list in Python and gives the Treeview only the slice that fits (the rows wholly shown,
plus the one cut off at the bottom). Its own scrollbar is mapped onto the whole list;
the mouse wheel scrolls; Up/Down/PageUp/PageDown/Home/End move the selection through
the whole list, scrolling it into view. A repaint costs O(rows on screen) in Tk,
whatever the list's length.

The selection is kept by entry id across repaints and scrolling (a selected row
scrolled out of view is still selected, and shows so when it comes back). Where the
view stands after `show`: the same list repainted (its row at the top unchanged) keeps
its place, so a change arriving from a peer does not move what the user is reading;
another list (a new search, a change that moved the rows) starts at its top. A newly
given selection, or one in another list, is scrolled into view if it is listed.

Dumb: it draws the rows it is given and reports the user's choice through `on_select`;
which rows, in which order, is the presenter's business (gui/entry_list.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import fields
from tkinter import Event, Misc

import ttkbootstrap as ttk

from gui.entry_list import Row

CONFLICT = "⚠ "  # before the title of an entry with a conflict
WHEEL_ROWS = 3  # rows one notch of the mouse wheel scrolls
_ROW_FIELDS = frozenset(f.name for f in fields(Row))
_KEYS = ("Up", "Down", "Prior", "Next", "Home", "End")


class EntryTable(ttk.Frame):
    def __init__(
        self,
        parent: Misc,
        columns: Sequence[tuple[str, str, int]],
        on_select: Callable[[str], None],
    ) -> None:
        """`columns`: (a Row field, its heading, its width in pixels), in order."""
        super().__init__(parent)
        unknown = [name for name, _, _ in columns if name not in _ROW_FIELDS]
        if unknown:
            raise ValueError(f"not fields of a Row: {', '.join(unknown)}")
        self._columns = tuple(name for name, _, _ in columns)
        self._on_select = on_select
        self.tree = ttk.Treeview(self, columns=self._columns, show="headings",
                                 selectmode="browse")  # fmt: skip
        for name, heading, width in columns:
            self.tree.heading(name, text=heading, anchor="w")
            self.tree.column(name, width=width, anchor="w")
        self.scrollbar = ttk.Scrollbar(self, orient="vertical", command=self.yview)
        self.tree.grid(row=0, column=0, sticky="nsew")
        self.scrollbar.grid(row=0, column=1, sticky="ns")
        self.rowconfigure(0, weight=1)
        self.columnconfigure(0, weight=1)
        self._rows: Sequence[Row] = ()
        self._index: dict[str, int] | None = None  # id -> position in _rows, made when asked
        self._top = 0  # the position of the row shown at the top
        self._painted: tuple[Row, ...] = ()  # the rows the tree holds, top first
        self._selected: str | None = None
        self._height = 0  # the tree's height in pixels (0: not laid out yet)
        self._row_height = 0  # measured from a row on screen (0: not yet)
        self._head = 0  # pixels above the first row: the heading and the border
        self._foot = 0  # pixels of border below the last row
        self.tree.bind("<<TreeviewSelect>>", self._chosen)
        self.tree.bind("<Configure>", self._resized)
        for key in _KEYS:
            self.tree.bind(f"<{key}>", self._key)
        self.tree.bind("<MouseWheel>", self._wheel)
        self.tree.bind("<Button-4>", lambda _e: self._scroll_by(-WHEEL_ROWS))  # X11 wheel up
        self.tree.bind("<Button-5>", lambda _e: self._scroll_by(WHEEL_ROWS))  # and down

    # -- what the window calls ------------------------------------------------------------
    def show(self, rows: Sequence[Row], selected: str | None) -> None:
        """Draw `rows` (filtered and sorted already) with `selected` selected if listed."""
        old, top, moved = self._rows, self._top, selected != self._selected
        self._rows, self._index, self._selected = rows, None, selected
        same = rows is old or (top < len(rows) and top < len(old) and rows[top].id == old[top].id)
        if not same:
            self._top = 0
        if not same or moved:
            position = self._position(selected)
            if position is not None:
                self._bring_into_view(position)
        self._paint()

    def visible_ids(self) -> list[str]:
        """The ids of the rows the tree holds (on screen), top first."""
        return [r.id for r in self._painted]

    def select(self, entry_id: str) -> None:
        """Scroll to `entry_id` and select it, telling on_select; nothing if it is not listed."""
        position = self._position(entry_id)
        if position is not None:
            self._choose(position)

    def yview(self, *args: str) -> None:
        """The scrollbar's command: ("moveto", fraction) or ("scroll", n, "units"|"pages")."""
        if not args:
            return
        if args[0] == "moveto" and len(args) == 2:
            self._scroll_to(round(float(args[1]) * len(self._rows)))
        elif args[0] == "scroll" and len(args) == 3:
            step = self._page() if args[2].startswith("page") else 1
            self._scroll_by(int(args[1]) * step)

    @property
    def top(self) -> int:
        """The position in the list of the row at the top of the view."""
        return self._top

    # -- layout ----------------------------------------------------------------------------
    def _page(self) -> int:
        """Rows wholly shown (before the first layout: the tree's requested height)."""
        if not self._height or not self._row_height:
            return max(1, int(self.tree.cget("height")))
        return max(1, (self._height - self._head - self._foot) // self._row_height)

    def _held(self) -> int:
        """Rows the tree holds: the ones wholly shown and the one cut off at the bottom."""
        if not self._height or not self._row_height:
            return self._page()
        room = self._height - self._head - self._foot  # the bottom border hides a row too
        return max(1, math.ceil(room / self._row_height))

    def _measure(self) -> bool:
        """Read the row height and the heading's from a row on screen; True if they changed."""
        if not self._painted:
            return False
        box = self.tree.bbox(self._painted[0].id)
        if not box:  # not laid out yet
            return False
        x, y, _, height = box
        if (y, height, x) == (self._head, self._row_height, self._foot) or height <= 0:
            return False
        # the border is as wide at the bottom as at the left, where the row starts
        self._head, self._row_height, self._foot = y, height, x
        return True

    def _resized(self, event: Event[Misc]) -> None:
        if event.height != self._height:
            self._height = event.height
            self._paint()

    # -- scrolling and choosing --------------------------------------------------------------
    def _scroll_to(self, top: int) -> None:
        if top != self._top:
            self._top = top
            self._paint()

    def _scroll_by(self, rows: int) -> str:
        self._scroll_to(self._top + rows)
        return "break"  # not the Treeview's own scrolling: it holds one screen only

    def _wheel(self, event: Event[Misc]) -> str:
        notches = event.delta // 120 if abs(event.delta) >= 120 else (1 if event.delta > 0 else -1)
        return self._scroll_by(-notches * WHEEL_ROWS)  # Windows: ±120 a notch; macOS: ±1

    def _bring_into_view(self, position: int) -> None:
        page = self._page()
        if position < self._top:
            self._top = position
        elif position >= self._top + page:
            self._top = position - page + 1

    def _choose(self, position: int) -> None:
        entry = self._rows[position].id
        self._bring_into_view(position)
        self._selected = entry
        self._paint()
        self._on_select(entry)

    def _key(self, event: Event[Misc]) -> str:
        key = event.keysym
        if not self._rows or key not in _KEYS:
            return "break"
        page, last = self._page(), len(self._rows) - 1
        at = self._position(self._selected)
        if at is None:  # nothing selected on the list: start from the top of the view
            at = {"Home": 0, "End": last}.get(key, self._top)
        else:
            moves = {"Up": -1, "Down": 1, "Prior": -page, "Next": page, "Home": -at,
                     "End": last - at}  # fmt: skip
            at += moves[key]
        self._choose(max(0, min(last, at)))
        return "break"  # not the Treeview's own keys: they know only the rows it holds

    def _chosen(self, _event: object) -> None:
        """The Treeview's selection changed: a click, or our own selection_set (ignored)."""
        chosen = self.tree.selection()
        if not chosen or chosen[0] == self._selected:
            return
        position = self._position(chosen[0])
        if position is None:
            return
        self._choose(position)  # a click on the row cut off at the bottom scrolls it in

    def _position(self, entry: str | None) -> int | None:
        """Where `entry` is in the list: looked for on screen first, then in an index made
        once per list."""
        if entry is None:
            return None
        for i, row in enumerate(self._painted):
            if row.id == entry:
                at = self._top + i
                if at < len(self._rows) and self._rows[at].id == entry:
                    return at
                break
        if self._index is None:
            self._index = {r.id: i for i, r in enumerate(self._rows)}
        return self._index.get(entry)

    # -- drawing -----------------------------------------------------------------------------
    def _paint(self) -> None:
        """Give the tree the rows from the top of the view, select the selected one if it
        is among them, and set the scrollbar; measure the rows the first time they show."""
        for _ in range(2):  # the second time only if measuring changed the page
            total, page = len(self._rows), self._page()
            self._top = max(0, min(self._top, total - page))
            shown = tuple(self._rows[self._top : self._top + self._held()])
            if shown != self._painted:
                if self._painted:
                    self.tree.delete(*(r.id for r in self._painted))
                for row in shown:
                    self.tree.insert("", "end", iid=row.id, values=self._values(row))
                self._painted = shown
                self.tree.yview_moveto(0)  # a click on the last row may have scrolled it
            if not self._measure():
                break
        selected = self._selected
        if selected is not None and any(r.id == selected for r in self._painted):
            if self.tree.selection() != (selected,):
                self.tree.selection_set(selected)
                self.tree.focus(selected)
        elif self.tree.selection():
            self.tree.selection_set()
        if total:
            self.scrollbar.set(self._top / total, min(1.0, (self._top + page) / total))
        else:
            self.scrollbar.set(0.0, 1.0)

    def _values(self, row: Row) -> tuple[str, ...]:
        return tuple(
            (CONFLICT + row.title if row.conflict else row.title)
            if name == "title"
            else str(getattr(row, name))
            for name in self._columns
        )
