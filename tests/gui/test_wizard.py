"""The first-launch wizard's checks (gui/wizard.py): every problem named at its field,
a password never quoted, an invite code checked for shape before any network."""

from __future__ import annotations

import pytest

from gui.wizard import check_create, check_join

PW = "correct horse battery"
CREATE = {"office": "Acme Ltd", "name": "alice", "password": PW, "again": PW}
JOIN = {"code": "42-otter-piano-ember", "name": "bob", "password": PW, "again": PW}

CREATE_CASES = [
    ("all good", {}, set()),
    ("no office name", {"office": "  "}, {"office"}),
    ("no name", {"name": ""}, {"name"}),
    ("a name too long", {"name": "n" * 65}, {"name"}),
    ("a short password", {"password": "short", "again": "short"}, {"password"}),
    ("passwords differ", {"again": PW + "!"}, {"again"}),
]


@pytest.mark.parametrize(("change", "fields"), [c[1:] for c in CREATE_CASES],
                         ids=[c[0] for c in CREATE_CASES])  # fmt: skip
def test_create(change: dict[str, str], fields: set[str]) -> None:
    problems = check_create({**CREATE, **change})
    assert set(problems) == fields
    assert all(PW not in m and "short" not in m for m in problems.values())


JOIN_CASES = [
    ("all good", {}, set()),
    ("as typed, any case and spaces", {"code": " 42 Otter PIANO-ember "}, set()),
    ("not a code", {"code": "hello"}, {"code"}),
    ("a word not in the list", {"code": "42-otter-piano-zzzz"}, {"code"}),
    ("number zero", {"code": "0-otter-piano-ember"}, {"code"}),
    ("no name and a short password", {"name": "", "password": "x", "again": "x"},
     {"name", "password"}),
]  # fmt: skip


@pytest.mark.parametrize(("change", "fields"), [c[1:] for c in JOIN_CASES],
                         ids=[c[0] for c in JOIN_CASES])  # fmt: skip
def test_join(change: dict[str, str], fields: set[str]) -> None:
    assert set(check_join({**JOIN, **change})) == fields
