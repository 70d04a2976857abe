"""The main list and the actions a role is offered (gui/entry_list.py, gui/actions.py),
over a real vault: categories with counts, search as you type, the trash, and what a
member is never offered (every peer would refuse it anyway)."""

from __future__ import annotations

import pytest

from gui.actions import Actions, actions
from gui.entry_list import ALL, ListPresenter
from node.tokens import Role
from node.vault import Summary, Vault
from tests.node.vault_kit import T0

T = T0 + 1000


@pytest.fixture
def alice(vaults: dict[str, Vault]) -> Vault:
    v = vaults["alice"]
    v.add({"title": "Office Wi-Fi", "username": "guest", "password": "p1", "category": "WiFi"}, T)
    v.add({"title": "Bank", "username": "acme", "password": "p2", "category": "Finance"}, T)
    v.add({"title": "Printer", "password": "p3"}, T)
    return v


def presenter(v: Vault) -> ListPresenter:
    return ListPresenter(v.entries, clock=lambda: float(T))


def test_categories_count_every_entry_and_all_comes_first(alice: Vault) -> None:
    view = presenter(alice).view()
    assert [(c.value, c.label) for c in view.categories] == [
        (None, f"{ALL} (3)"), ("Finance", "Finance (1)"), ("General", "General (1)"),
        ("WiFi", "WiFi (1)"),
    ]  # fmt: skip
    assert [r.title for r in view.rows] == ["Bank", "Office Wi-Fi", "Printer"]
    assert view.shown == "3 of 3 entries"


@pytest.mark.parametrize(
    ("category", "search", "titles"),
    [
        (None, "wi", ["Office Wi-Fi"]),
        (None, "ACME", ["Bank"]),
        ("Finance", "", ["Bank"]),
        ("Finance", "wi", []),
        (None, "  ", ["Bank", "Office Wi-Fi", "Printer"]),
        ("finance", "", ["Bank"]),  # the vault ignores case
        (None, "no such thing", []),
        (None, "acme bank", ["Bank"]),  # every word must match, in any field
        (None, "acme wi", []),
    ],
)
def test_search_and_category_filter(
    alice: Vault, category: str | None, search: str, titles: list[str]
) -> None:
    view = presenter(alice).view(category, search)
    assert [r.title for r in view.rows] == titles
    assert view.shown.endswith("of 3 entries")


def test_the_trash_lists_only_trashed_entries(alice: Vault) -> None:
    bank = next(s.id for s in alice.entries() if s.title == "Bank")
    alice.trash(bank, T + 1)
    p = presenter(alice)
    assert [r.title for r in p.view(trash=True).rows] == ["Bank"]
    assert p.view(trash=True).shown == "1 of 1 entry in the trash"
    assert [r.title for r in p.view().rows] == ["Office Wi-Fi", "Printer"]


def test_rows_carry_who_changed_what(alice: Vault) -> None:
    row = presenter(alice).view(search="bank").rows[0]
    assert (row.username, row.category, row.changed_by) == ("acme", "Finance", "alice")
    assert len(row.changed) == len("HH:MM")  # changed today, by the presenter's clock


def test_odd_category_names_case_variants_and_empty_ones(vaults: dict[str, Vault]) -> None:
    """A category may be named like the "all" choice, differ only in case, or be empty
    (an unreadable entry has no category): counts follow the vault's case-blind filter."""
    v = vaults["alice"]
    for title, category in (("a", "All entries"), ("b", "WiFi"), ("c", "wifi"), ("d", "")):
        v.add({"title": title, "password": "p", "category": category}, T)
    view = presenter(v).view()
    labels = [c.label for c in view.categories]
    assert labels == [f"{ALL} (4)", "All entries (1)", "General (1)", "WiFi (2)"]
    wifi = next(c for c in view.categories if c.label == "WiFi (2)")
    assert [r.title for r in presenter(v).view(wifi.value).rows] == ["b", "c"]
    everything = view.categories[0]
    assert everything.value is None and len(presenter(v).view(everything.value).rows) == 4


def summary(**change: object) -> Summary:
    base = dict(id="ab", title="t", username="u", url="", category="c", changed_at=T,
                changed_by="alice", created_by="alice", trashed=False, conflict=False,
                readable=True)  # fmt: skip
    return Summary(**{**base, **change})  # type: ignore[arg-type]


ACTION_TABLE = [
    ("no role: nothing", None, summary(), Actions()),
    ("member, nothing selected", Role.MEMBER, None, Actions(add=True)),
    ("member, an entry", Role.MEMBER, summary(), Actions(add=True, reveal=True, copy=True)),
    ("member, a conflict", Role.MEMBER, summary(conflict=True),
     Actions(add=True, reveal=True, copy=True)),
    ("member, unreadable", Role.MEMBER, summary(readable=False), Actions(add=True)),
    ("admin, nothing selected", Role.ADMIN, None, Actions(add=True, admin_panel=True)),
    ("admin, an entry", Role.ADMIN, summary(),
     Actions(True, True, True, True, True, False, True, False, True)),
    ("admin, trashed", Role.ADMIN, summary(trashed=True),
     Actions(True, True, True, False, False, True, True, False, True)),
    ("admin, conflict", Role.ADMIN, summary(conflict=True),
     Actions(True, True, True, False, True, False, True, True, True)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "selected", "expected"),
    [c[1:] for c in ACTION_TABLE],
    ids=[c[0] for c in ACTION_TABLE],
)
def test_actions_by_role(role: Role | None, selected: Summary | None, expected: Actions) -> None:
    assert actions(role, selected) == expected
