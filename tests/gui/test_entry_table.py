"""The virtual entry table (gui/widgets/entry_table.py) on a virtual screen (Xvfb), over
thousands of synthetic rows: the Treeview holds only what is on screen, the scrollbar,
the wheel and the keys move through the whole list, the selection is kept by entry id.
Also the presenter's remembered filter results (gui/entry_list.py), which a keystroke's
speed relies on, against a plain full scan. No timing here: scripts/bench_window does it.
"""

from __future__ import annotations

import math
import tkinter as tk
from collections.abc import Callable, Iterator, Sequence

import pytest

from gui.entry_list import ListPresenter, Row
from gui.widgets.entry_table import CONFLICT, WHEEL_ROWS, EntryTable
from node.vault import Summary
from tests.gui.conftest import screenshot

COLUMNS = (("title", "Title", 260), ("username", "Username", 170), ("category", "Category", 110),
           ("changed", "Changed", 90), ("changed_by", "By", 90))  # fmt: skip
WORDS = ("mail", "bank", "wifi", "printer", "router", "crm", "vpn", "payroll", "shop", "nas")
CATEGORIES = ("Work", "WiFi", "Finance", "", "Shared")


def make_rows(n: int, prefix: str = "e") -> tuple[Row, ...]:
    return tuple(
        Row(f"{prefix}{i:05d}", f"{WORDS[i % 10].title()} {i}", f"user{i}@acme.example",
            CATEGORIES[i % 5], "2026-01-02", "alice", conflict=i % 7 == 3, readable=True)
        for i in range(n)
    )  # fmt: skip


ROWS = make_rows(5000)


@pytest.fixture
def table(root: tk.Tk) -> Iterator[tuple[EntryTable, list[str]]]:
    chosen: list[str] = []
    t = EntryTable(root, COLUMNS, chosen.append)
    t.pack(fill="both", expand=True)
    root.update()
    yield t, chosen


def held(t: EntryTable) -> list[str]:
    return list(t.tree.get_children())


def box(t: EntryTable, item: str) -> tuple[int, int, int, int]:
    """Where the tree draws `item`: x, y, width, height; fails if it is not on screen."""
    found = t.tree.bbox(item)
    assert isinstance(found, tuple), f"{item} is not on screen"
    return found


def wholly_shown(t: EntryTable, item: str) -> bool:
    _, y, _, height = box(t, item)
    return y + height <= t.tree.winfo_height()


def fits(t: EntryTable) -> tuple[int, int]:
    """(rows wholly on screen, rows at least partly on screen), from the tree's geometry."""
    x, y, _, height = box(t, held(t)[0])
    room = t.tree.winfo_height() - y - x  # the bottom border is as wide as the left one
    return room // height, math.ceil(room / height)


def scrollbar(t: EntryTable, *args: str) -> None:
    """Move the view as dragging or clicking the scrollbar does: through its command."""
    t.tk.call(t.scrollbar.cget("command"), *args)
    t.update()


def press(t: EntryTable, key: str) -> None:
    t.tree.focus_force()
    t.tree.event_generate(f"<{key}>")
    t.update()


def test_the_tree_holds_only_the_rows_on_screen(
    table: tuple[EntryTable, list[str]], root: tk.Tk
) -> None:
    t, chosen = table
    t.show(ROWS, None)
    root.update()
    whole, partly = fits(t)
    assert whole >= 10  # the fixture's window shows a screenful
    assert len(held(t)) == partly  # every row that shows, and no other
    assert held(t) == t.visible_ids() == [r.id for r in ROWS[:partly]]
    assert all(t.tree.bbox(i) for i in held(t))  # each on screen
    assert t.tree.item(ROWS[3].id, "values")[0] == CONFLICT + ROWS[3].title  # a conflict
    assert list(t.tree.item(ROWS[1].id, "values")) == ["Bank 1", "user1@acme.example",
                                                         "WiFi", "2026-01-02", "alice"]  # fmt: skip
    first, last = (float(x) for x in t.scrollbar.get())
    assert first == 0.0 and last == pytest.approx(whole / len(ROWS))
    assert chosen == []
    screenshot(root, "entry-table")


def test_a_filtered_list_is_drawn_from_its_top(
    table: tuple[EntryTable, list[str]], root: tk.Tk
) -> None:
    t, _ = table
    t.show(ROWS, None)
    scrollbar(t, "moveto", "0.5")
    banks = tuple(r for r in ROWS if "bank" in r.title.casefold())
    t.show(banks, None)
    root.update()
    _, partly = fits(t)
    assert t.top == 0 and t.visible_ids() == [r.id for r in banks[:partly]]


@pytest.mark.parametrize(
    ("args", "top"),
    [
        (("moveto", "0.5"), lambda page: 2500),
        (("moveto", "1.0"), lambda page: 5000 - page),  # the last row wholly shown
        (("moveto", "-0.3"), lambda page: 0),
        (("scroll", "1", "pages"), lambda page: page),
        (("scroll", "3", "units"), lambda page: 3),
        (("scroll", "-1", "units"), lambda page: 0),
    ],
)
def test_the_scrollbar_moves_through_the_whole_list(
    table: tuple[EntryTable, list[str]], args: tuple[str, ...], top: Callable[[int], int]
) -> None:
    t, chosen = table
    t.show(ROWS, None)
    t.update()
    whole, partly = fits(t)
    scrollbar(t, *args)
    expected = top(whole)
    assert t.top == expected
    assert t.visible_ids() == [r.id for r in ROWS[expected : expected + partly]]
    first, last = (float(x) for x in t.scrollbar.get())
    assert first == pytest.approx(expected / 5000) and last == pytest.approx(
        min(1.0, (expected + whole) / 5000)
    )
    assert chosen == []  # scrolling selects nothing


def test_the_last_row_is_wholly_shown_at_the_end(table: tuple[EntryTable, list[str]]) -> None:
    t, _ = table
    t.show(ROWS, None)
    scrollbar(t, "moveto", "1")
    assert t.visible_ids()[-1] == ROWS[-1].id and wholly_shown(t, ROWS[-1].id)


@pytest.mark.parametrize(
    ("start", "key", "expected"),
    [
        (None, "Down", lambda page: 0),  # nothing selected: the row at the top of the view
        (None, "End", lambda page: 4999),
        (0, "Down", lambda page: 1),
        (10, "Up", lambda page: 9),
        (0, "Up", lambda page: 0),
        (0, "Next", lambda page: page),
        (100, "Prior", lambda page: 100 - page),
        (2, "Prior", lambda page: 0),
        (4990, "Next", lambda page: 4999),
        (2500, "Home", lambda page: 0),
        (2500, "End", lambda page: 4999),
    ],
)
def test_the_keys_move_the_selection_through_the_whole_list(
    table: tuple[EntryTable, list[str]], start: int | None, key: str, expected: Callable[[int], int]
) -> None:
    t, chosen = table
    t.show(ROWS, None if start is None else ROWS[start].id)
    t.update()
    whole, _ = fits(t)
    at = expected(whole)
    press(t, key)
    assert chosen == [ROWS[at].id]
    assert t.tree.selection() == (ROWS[at].id,)
    assert wholly_shown(t, ROWS[at].id)  # scrolled into view


def test_key_after_key_walks_the_list(table: tuple[EntryTable, list[str]]) -> None:
    t, chosen = table
    t.show(ROWS, ROWS[0].id)
    t.update()
    whole, _ = fits(t)
    for _ in range(whole + 5):
        press(t, "Down")
    assert chosen[-1] == ROWS[whole + 5].id and len(chosen) == whole + 5
    assert t.top == 6  # the selection at the bottom of the view
    assert len(held(t)) <= whole + 1


@pytest.mark.parametrize(
    ("event", "options", "top"),
    [
        ("<Button-5>", {}, WHEEL_ROWS),  # X11: the wheel turned down
        ("<MouseWheel>", {"delta": -120}, WHEEL_ROWS),  # Windows: one notch down
        ("<MouseWheel>", {"delta": -360}, 3 * WHEEL_ROWS),
        ("<MouseWheel>", {"delta": -1}, WHEEL_ROWS),  # macOS: small deltas
    ],
)
def test_the_mouse_wheel_scrolls(
    table: tuple[EntryTable, list[str]], event: str, options: dict[str, int], top: int
) -> None:
    t, chosen = table
    t.show(ROWS, None)
    t.update()
    t.tree.event_generate(event, x=50, y=60, **options)  # type: ignore[arg-type]
    t.update()
    assert t.top == top and t.visible_ids()[0] == ROWS[top].id
    t.tree.event_generate("<Button-4>" if event == "<Button-5>" else event, x=50, y=60,
                          **{k: -v for k, v in options.items()})  # type: ignore[arg-type]  # fmt: skip
    t.update()
    assert t.top == 0 and chosen == []


def test_the_selection_survives_scrolling_and_repaints(
    table: tuple[EntryTable, list[str]],
) -> None:
    t, chosen = table
    picked = ROWS[4].id
    t.show(ROWS, picked)
    t.update()
    assert t.tree.selection() == (picked,)
    scrollbar(t, "moveto", "0.5")
    assert picked not in held(t) and t.tree.selection() == ()
    scrollbar(t, "moveto", "0")
    assert t.tree.selection() == (picked,)
    t.show(tuple(ROWS), picked)  # the same list again (a repaint)
    t.update()
    assert t.tree.selection() == (picked,)
    press(t, "Down")
    assert chosen == [ROWS[5].id]  # the keys go on from the kept selection


def test_a_repaint_keeps_the_place_the_user_scrolled_to(
    table: tuple[EntryTable, list[str]],
) -> None:
    """A change from a peer repaints the same list: what the user reads stays put, even
    with the selection elsewhere; a new selection is scrolled to."""
    t, _ = table
    t.show(ROWS, ROWS[2].id)
    scrollbar(t, "moveto", "0.5")
    edited = (*ROWS[:2], Row(**{**vars(ROWS[2]), "title": "Mail 2 (renamed)"}), *ROWS[3:])
    t.show(edited, ROWS[2].id)
    t.update()
    assert t.top == 2500 and t.tree.selection() == ()
    t.show(edited, ROWS[10].id)
    t.update()
    assert t.top == 10 and t.tree.selection() == (ROWS[10].id,)
    t.show((*edited, *make_rows(3, prefix="z")), ROWS[10].id)  # rows added below
    t.update()
    assert t.top == 10


def test_a_listed_selection_is_scrolled_into_view(table: tuple[EntryTable, list[str]]) -> None:
    t, chosen = table
    far = ROWS[4000].id
    t.show(ROWS, far)
    t.update()
    assert far in held(t) and t.tree.selection() == (far,)
    t.show(ROWS[3990:], far)  # another list, still holding it
    t.update()
    assert far in held(t) and t.tree.selection() == (far,)
    assert chosen == []  # showing a selection is not the user choosing it


def test_a_click_selects_and_tells_the_id(table: tuple[EntryTable, list[str]]) -> None:
    t, chosen = table
    t.show(ROWS, None)
    t.update()
    target = held(t)[2]
    x, y, _, h = box(t, target)
    t.tree.event_generate("<Button-1>", x=x + 20, y=y + h // 2)
    t.tree.event_generate("<ButtonRelease-1>", x=x + 20, y=y + h // 2)
    t.update()
    assert chosen == [target] and t.tree.selection() == (target,)


def test_a_click_on_the_row_cut_off_at_the_bottom_scrolls_it_in(
    table: tuple[EntryTable, list[str]],
) -> None:
    t, chosen = table
    t.show(ROWS, None)
    t.update()
    whole, partly = fits(t)
    if partly == whole:
        pytest.skip("the window's height shows no row cut off")
    target = held(t)[-1]
    x, y, _, _ = box(t, target)
    t.tree.event_generate("<Button-1>", x=x + 20, y=y + 2)
    t.tree.event_generate("<ButtonRelease-1>", x=x + 20, y=y + 2)
    t.update()
    assert chosen == [target] and t.top == 1 and wholly_shown(t, target)


def test_select_scrolls_to_an_entry_and_tells_it(table: tuple[EntryTable, list[str]]) -> None:
    t, chosen = table
    t.show(ROWS, None)
    t.select(ROWS[3210].id)
    t.update()
    assert chosen == [ROWS[3210].id] and t.tree.selection() == (ROWS[3210].id,)
    assert ROWS[3210].id in t.visible_ids()
    t.select("no-such-entry")
    t.update()
    assert chosen == [ROWS[3210].id]


def test_an_empty_list(table: tuple[EntryTable, list[str]]) -> None:
    t, chosen = table
    t.show(ROWS, ROWS[1].id)
    t.show((), ROWS[1].id)
    t.update()
    assert held(t) == [] and t.visible_ids() == [] and t.tree.selection() == ()
    assert tuple(float(x) for x in t.scrollbar.get()) == (0.0, 1.0)
    for key in ("Down", "End", "Next"):
        press(t, key)
    t.tree.event_generate("<Button-5>", x=50, y=60)
    scrollbar(t, "moveto", "0.5")
    assert held(t) == [] and chosen == [] and t.top == 0


@pytest.mark.parametrize("left", [0, 1, 8, 30, 300])
def test_rows_shrinking_under_the_scroll_position(
    table: tuple[EntryTable, list[str]], left: int
) -> None:
    t, chosen = table
    t.show(ROWS, None)
    scrollbar(t, "moveto", "0.9")
    assert t.top == 4500
    t.show(ROWS[:left], None)
    t.update()
    if left:
        _, partly = fits(t)
        assert t.visible_ids() == [r.id for r in ROWS[: min(left, partly)]]
    assert len(held(t)) == len(t.visible_ids()) and t.top == 0
    press(t, "End")
    assert chosen == ([ROWS[left - 1].id] if left else [])


def test_a_shrunken_list_keeps_a_selection_it_holds(table: tuple[EntryTable, list[str]]) -> None:
    t, _ = table
    t.show(ROWS, ROWS[4600].id)
    scrollbar(t, "moveto", "0.95")
    t.show(ROWS[4550:4620], ROWS[4600].id)
    t.update()
    assert t.tree.selection() == (ROWS[4600].id,)


def test_a_resized_window_holds_as_many_rows_as_show(
    table: tuple[EntryTable, list[str]], root: tk.Tk
) -> None:
    t, _ = table
    t.show(ROWS, None)
    root.update()
    before = len(held(t))
    t.pack_configure(fill="x", expand=False)
    t.tree.configure(height=5)
    root.update()
    _, partly = fits(t)
    assert len(held(t)) == partly < before
    assert t.visible_ids() == [r.id for r in ROWS[:partly]]


def test_a_column_that_is_not_a_row_field_is_refused(root: tk.Tk) -> None:
    with pytest.raises(ValueError, match="password"):
        EntryTable(root, [("title", "Title", 100), ("password", "Password", 100)], print)


# -- the presenter's remembered results, against a full scan ------------------------------


def summaries(n: int) -> list[Summary]:
    return [
        Summary(r.id, r.title, r.username, f"https://{r.title.split()[0].lower()}.example",
                r.category, 1_800_000_000, r.changed_by, "alice", trashed=i % 9 == 0,
                conflict=r.conflict, readable=True)
        for i, r in enumerate(make_rows(n))
    ]  # fmt: skip


def full_scan(every: list[Summary], category: str | None, search: str, trash: bool) -> list[str]:
    words = search.casefold().split()
    return [
        s.id
        for s in every
        if s.trashed == trash
        and (category is None or s.category.casefold() == category.casefold())
        and all(w in f"{s.title}\n{s.username}\n{s.url}".casefold() for w in words)
    ]


TYPED: list[tuple[str, Sequence[tuple[str | None, str, bool]]]] = [
    ("typing on, then backspacing",
     [(None, "mail 1"[:i], False) for i in range(7)] + [(None, "mail 1"[:i], False)
                                                       for i in range(5, -1, -1)]),
    ("words in another order and repeated",
     [(None, "ba", False), (None, "ba 12", False), (None, "12 bank", False),
     (None, "bank bank", False), (None, "ank 12", False), (None, "an 1", False)]),
    ("categories, case ignored, and the trash",
     [("WiFi", "", False), ("wifi", "wi", False), ("WiFi", "wifi 3", False),
     (None, "wifi 3", False), ("WiFi", "wifi 3", True), ("", "", False), ("", "1", False),
     (None, "", True), (None, "1", True)]),
    ("a word that no longer narrows",
     [(None, "shop", False), (None, "shopx", False), (None, "shop", False),
     (None, "hop", False), (None, "", False)]),
    ("the trash and the list never narrow each other",
     [(None, "1", False), (None, "18", True), (None, "1", True), (None, "18", False),
      ("Work", "", True), ("Work", "", False)]),
]  # fmt: skip


@pytest.mark.parametrize("steps", [t[1] for t in TYPED], ids=[t[0] for t in TYPED])
def test_remembered_results_match_a_full_scan(
    steps: Sequence[tuple[str | None, str, bool]],
) -> None:
    every = summaries(3000)

    def source(_c: str | None, _s: str | None, trash: bool) -> list[Summary]:
        return [s for s in every if s.trashed == trash]

    lister = ListPresenter(source, clock=lambda: 1_800_000_000.0)
    for category, search, trash in [*steps, *steps]:  # the second time: from what it remembers
        got = [r.id for r in lister.view(category, search, trash).rows]
        assert got == full_scan(every, category, search, trash), (category, search, trash)


def test_an_invalidated_presenter_forgets_its_results() -> None:
    every = summaries(50)
    lister = ListPresenter(lambda _c, _s, _t: list(every), clock=lambda: 1_800_000_000.0)
    before = [r.id for r in lister.view(None, "bank").rows]
    every.append(Summary("new", "Bank new", "", "", "", 1_800_000_000, "bob", "bob", False,
                         False, True))  # fmt: skip
    assert [r.id for r in lister.view(None, "bank").rows] == before
    lister.invalidate()
    assert [r.id for r in lister.view(None, "bank").rows] == [*before, "new"]
