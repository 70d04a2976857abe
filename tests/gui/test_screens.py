"""The first screen, the conflict view and the history view (gui/screens.py), over real
vaults: two admins edit one entry at once, the comparison shows both, "keep this one"
resolves it the same everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from gui import screens
from gui.actions import actions
from gui.screens import REVOKED_NOTE, Screen, compare, first_screen, timeline
from node.tokens import Role
from node.vault import Summary, Vault
from tests.node.vault_kit import T0, deliver

T = T0 + 1000


def test_the_first_screen_follows_the_data_folder(tmp_path: Path, office: dict[str, Path]) -> None:
    assert first_screen(tmp_path / "nothing") is Screen.WIZARD
    assert first_screen(office["bob"]) is Screen.UNLOCK
    (tmp_path / REVOKED_NOTE).write_text("revoked")
    assert first_screen(tmp_path) is Screen.REVOKED


def test_a_conflict_side_by_side_and_keep_this_one(vaults: dict[str, Vault]) -> None:
    alice, dave = vaults["alice"], vaults["dave"]
    entry = alice.add({"title": "Router", "username": "admin", "password": "p0"}, T)
    deliver(alice, dave)
    alice.edit(entry, {"username": "root"}, T + 10)
    dave.edit(entry, {"username": "admin2", "notes": "new box"}, T + 20)
    deliver(dave, alice)
    deliver(alice, dave)
    heads = alice.get(entry).heads
    assert len(heads) == 2
    view = compare(heads)
    by_field = dict(zip(view.fields, view.differs, strict=True))
    assert by_field["username"] and by_field["notes"] and not by_field["title"]
    assert {s.heading.split(" at ")[0] for s in view.sides} == {"changed by alice",
                                                               "changed by dave"}  # fmt: skip
    keep = next(s for s in view.sides if "admin2" in s.values)
    alice.resolve(entry, keep.label, T + 30)
    deliver(alice, dave)
    for v in (alice, dave):
        summary = v.entries(search="router")[0]
        assert not summary.conflict and summary.username == "admin2"


def test_history_newest_first_with_the_password_only_when_revealed(
    vaults: dict[str, Vault],
) -> None:
    alice = vaults["alice"]
    entry = alice.add({"title": "Bank", "username": "acme", "password": "old"}, T)
    alice.edit(entry, {"password": "new"}, T + 10)
    alice.edit(entry, {"username": "acme2"}, T + 20)
    hidden = timeline(alice.history(entry), revealed=False)
    assert [s.changed for s in hidden][:2] == [(("username", "acme2"),), ()]
    assert all(name != "password" for s in hidden for name, _ in s.changed)
    shown = timeline(alice.history(entry, reveal=True), revealed=True)
    assert shown[1].changed == (("password", "new"),)
    assert ("password", "old") in shown[-1].changed and shown[-1].heading == "added by alice"


def test_a_conflict_only_in_the_password_is_marked_but_never_shown(
    vaults: dict[str, Vault],
) -> None:
    alice, dave = vaults["alice"], vaults["dave"]
    entry = alice.add({"title": "Router", "password": "p0"}, T)
    deliver(alice, dave)
    alice.edit(entry, {"password": "alice-pw"}, T + 10)
    dave.edit(entry, {"password": "dave-pw"}, T + 20)
    deliver(dave, alice)
    view = compare(alice.get(entry, reveal=True).heads)
    marked = dict(zip(view.fields, view.differs, strict=True))
    assert marked["password"] and not marked["title"]
    shown = [v for side in view.sides for v in side.values]
    assert "alice-pw" not in shown and "dave-pw" not in shown


@pytest.mark.parametrize(
    ("conflict", "role", "expected"),
    [(False, Role.ADMIN, ""), (True, Role.ADMIN, screens.CONFLICT_ADMIN),
     (True, Role.MEMBER, screens.CONFLICT_MEMBER), (False, Role.MEMBER, "")],
)  # fmt: skip
def test_the_conflict_banner_speaks_to_whoever_can_act(
    conflict: bool, role: Role, expected: str
) -> None:
    summary = Summary("e1", "Bank", "acme", "", "Finance", 0, "alice", "alice", trashed=False,
                      conflict=conflict, readable=True)  # fmt: skip
    assert screens.banner(summary, actions(role, summary)) == expected
