"""The crash checker judged on tables: it must see a loss, not only pass sound vaults.

A durability test whose checker cannot fail proves nothing, so every kind of
loss the kill rounds look for (and every kind of change nobody made) is shown
here to be caught, next to the legitimate cases it must let through: the write
under way at the kill, committed or not.
"""

from __future__ import annotations

import pytest

from tests.crash.ledger import Report, Seen, check, parse

E1, E2, E3, E9 = "e1" * 16, "e2" * 16, "e3" * 16, "e9" * 16


def seen(title: str, *older: str, trashed: bool = False, trashes: int = 0, restores: int = 0,
         conflict: bool = False) -> Seen:  # fmt: skip
    """An entry whose history holds the `older` titles, then `title`."""
    return Seen(title, trashed, (*older, title), trashes, restores, conflict)


ADD_E1 = f"intent add - a1\nsaved add {E1} a1\n"
EDIT_E1 = f"intent edit {E1} e2\nsaved edit {E1} e2\n"
KNOWN_E1 = {E1: seen("a1")}

# (id, known before the round, writer output, vault afterwards, lost, unexpected, checked)
CASES: list[tuple[str, dict[str, Seen], str, dict[str, Seen], int, int, int]] = [
    ("add-found", {}, ADD_E1, {E1: seen("a1")}, 0, 0, 1),
    ("add-lost", {}, ADD_E1, {}, 1, 0, 0),
    ("edit-found", KNOWN_E1, EDIT_E1, {E1: seen("e2", "a1")}, 0, 0, 1),
    ("edit-lost", KNOWN_E1, EDIT_E1, {E1: seen("a1")}, 2, 0, 0),
    ("edit-kept-but-older-shown", KNOWN_E1, EDIT_E1, {E1: Seen("a1", False, ("a1", "e2"))}, 1, 0,
     1),
    ("trash-found", KNOWN_E1, f"intent trash {E1} -\nsaved trash {E1} -\n",
     {E1: seen("a1", trashed=True, trashes=1)}, 0, 0, 1),
    ("trash-lost", KNOWN_E1, f"intent trash {E1} -\nsaved trash {E1} -\n", KNOWN_E1, 2, 0, 0),
    ("restore-lost", KNOWN_E1,
     f"intent trash {E1} -\nsaved trash {E1} -\nintent restore {E1} -\nsaved restore {E1} -\n",
     {E1: seen("a1", trashed=True, trashes=1)}, 2, 0, 1),
    ("earlier-round-entry-vanished", KNOWN_E1, "", {}, 1, 0, 0),
    ("earlier-round-trash-vanished", {E1: seen("a1", trashed=True, trashes=1)}, "",
     {E1: seen("a1")}, 2, 0, 0),
    ("entry-nobody-added", {}, "", {E9: seen("zz")}, 0, 1, 0),
    ("title-nobody-saved", KNOWN_E1, "", {E1: seen("zz", "a1")}, 0, 1, 0),
    ("trash-nobody-saved", KNOWN_E1, "", {E1: seen("a1", trashed=True, trashes=1)}, 1, 1, 0),
    ("conflict", KNOWN_E1, "", {E1: seen("a1", conflict=True)}, 0, 1, 0),
    ("reported-twice", {}, ADD_E1 + f"intent add - a1\nsaved add {E1} a1\n", {E1: seen("a1")}, 0,
     1, 2),
    # the write under way at the kill: either outcome is sound, and only that write
    ("in-flight-edit-committed", KNOWN_E1, f"intent edit {E1} e2\n", {E1: seen("e2", "a1")}, 0,
     0, 0),
    ("in-flight-edit-not-committed", KNOWN_E1, f"intent edit {E1} e2\n", KNOWN_E1, 0, 0, 0),
    ("in-flight-edit-of-another-entry", {**KNOWN_E1, E2: seen("a2")}, f"intent edit {E2} e3\n",
     {E1: seen("e3", "a1"), E2: seen("a2")}, 0, 1, 0),
    ("in-flight-trash-committed", KNOWN_E1, f"intent trash {E1} -\n",
     {E1: seen("a1", trashed=True, trashes=1)}, 0, 0, 0),
    ("in-flight-add-many-partly-reported", {}, f"intent add_many - m1,m2,m3\n"
     f"saved add_many {E1} m1\n", {E1: seen("m1"), E2: seen("m2"), E3: seen("m3")}, 0, 0, 1),
    ("in-flight-add-twice", {}, "intent add - a1\n", {E1: seen("a1"), E2: seen("a1")}, 0, 1, 0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("known", "output", "after", "lost", "unexpected", "checked"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_check_finds_what_was_lost_and_what_nobody_saved(
    known: dict[str, Seen],
    output: str,
    after: dict[str, Seen],
    lost: int,
    unexpected: int,
    checked: int,
) -> None:
    verdict = check(known, parse(output), after)
    assert (len(verdict.lost), len(verdict.unexpected), verdict.checked) == (
        lost,
        unexpected,
        checked,
    ), (verdict.lost, verdict.unexpected)


def test_the_write_under_way_is_noticed_when_it_committed() -> None:
    report = parse(f"intent edit {E1} e2\n")
    assert check(KNOWN_E1, report, {E1: seen("e2", "a1")}).in_flight_committed
    assert not check(KNOWN_E1, report, KNOWN_E1).in_flight_committed


def test_a_write_that_failed_must_not_be_in_the_vault() -> None:
    """After a reported failure (a full disk), the failed write is a change nobody saved."""
    report = parse("ready 0 0\nintent add - a1\nfailed StorageError the disk is full\n")
    assert report.failed == "StorageError the disk is full"
    assert check({}, report, {}, may_commit=False).unexpected == []
    assert len(check({}, report, {E1: seen("a1")}, may_commit=False).unexpected) == 1


def test_parse_ignores_a_line_the_kill_cut_short() -> None:
    report = parse(f"ready 0 0\nintent add - a1\nsaved add {E1} a1\nintent edit {E1} e2\nsav")
    assert report.ready
    assert [s.marker for s in report.saves] == ["a1"]
    assert report.pending is not None
    assert report.pending.markers == ("e2",)


def test_parse_tells_a_kill_in_a_reopen() -> None:
    assert parse("ready 0 0\nreopening\n").reopening
    assert not parse("ready 0 0\nreopening\nreopen\n").reopening


@pytest.mark.parametrize(
    "output",
    [f"saved add {E1} a1\n", f"intent add - a1\nsaved edit {E1} a1\n", "hello\n"],
    ids=["save-never-announced", "save-of-another-kind", "unknown-line"],
)
def test_parse_refuses_output_it_does_not_understand(output: str) -> None:
    with pytest.raises(ValueError, match="writer"):
        parse(output)


def test_an_empty_report_is_no_report() -> None:
    assert parse("") == Report((), None, False, None)
