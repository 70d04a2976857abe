"""Form validation, edit changes, the category picker (gui/forms.py), and how long a
revealed secret stays shown (gui/reveal.py). Threat covered: a message that quotes what
was typed (a password in an error), a secret left on screen."""

from __future__ import annotations

import pytest

from gui.forms import categories, changes, validate
from gui.reveal import Reveals
from node.entry_fields import MAX_LENGTH

GOOD = {"title": "Bank", "password": "s3cret!", "url": "https://bank.example"}

PROBLEMS = [
    ("a good entry", {}, {}),
    ("no title", {"title": "  "}, {"title": "an entry needs a title"}),
    ("no password", {"password": ""}, {"password": "type one, or press Generate"}),
    ("a NUL", {"notes": "a\x00b"}, {"notes": "contains a character that cannot be saved"}),
    ("a long title", {"title": "t" * (MAX_LENGTH["title"] + 1)},
     {"title": "at most 256 characters"}),
    ("a long password", {"password": "p" * 5000}, {"password": "at most 4,096 characters"}),
    ("a URL with spaces", {"url": "bank example"}, {"url": "a web address has no spaces"}),
]  # fmt: skip


@pytest.mark.parametrize(("change", "expected"), [p[1:] for p in PROBLEMS],
                         ids=[p[0] for p in PROBLEMS])  # fmt: skip
def test_messages_per_field_never_quote_the_value(
    change: dict[str, str], expected: dict[str, str]
) -> None:
    values = {**GOOD, **change}
    problems = validate(values)
    assert problems == expected
    for message in problems.values():
        assert all(v not in message for v in values.values() if len(v) > 3)


def test_an_edit_may_leave_the_password_as_it_was() -> None:
    assert validate({"title": "Bank"}, adding=False) == {}
    assert changes({"title": "Bank", "password": "a"}, {"title": "Bank", "password": "b"}) == {
        "password": "b"
    }
    assert changes({"title": "Bank"}, {"title": "Bank"}) == {}


def test_the_category_picker_offers_those_in_use_and_the_default() -> None:
    assert categories(["WiFi", "finance", "", "WiFi"]) == ["finance", "General", "WiFi"]


def test_a_revealed_secret_hides_itself_and_lock_hides_all() -> None:
    r = Reveals(reveal_for=20)
    r.show("e1/password", 100.0)
    r.show("e2/password", 110.0)
    assert r.shown("e1/password", 119.9) and not r.shown("e1/password", 120.0)
    assert r.expired(120.0) == ["e1/password"]
    assert r.expired(120.0) == []
    assert r.hide_all() == ["e2/password"]
    assert not r.shown("e2/password", 111.0)
