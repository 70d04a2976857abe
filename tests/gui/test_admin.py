"""The admin panel's logic (gui/admin.py), no display: who can be revoked or change role,
open invites listed as pending, what the confirmations name, the audit filters (as a
table, hostile dates included), the CSV (formulas defused; secrets only if revealed),
and the import/export summaries in the CLI's words.
Threat covered: a title like =HYPERLINK(...) run by the spreadsheet that opens the CSV."""

from __future__ import annotations

import csv
import io

import pytest

from gui.admin import (
    ANY,
    AUDIT_COLUMNS,
    SHOWN_MAX,
    AuditQuery,
    audit_csv,
    audit_rows,
    audit_users,
    export_question,
    export_summary,
    file_kinds,
    filter_audit,
    import_summary,
    invite_shown,
    other_role,
    people,
    person_cells,
    revoke_warning,
    role_done,
    role_question,
    since_of,
)
from node.audit import AuditEvent
from node.errors import UserError
from node.importers import BadRow
from node.tokens import Role
from node.vault import Vault
from tests.node.vault_kit import HOUR, T0

T = T0 + 1000


def test_people_rows_and_who_may_be_revoked(vaults: dict[str, Vault]) -> None:
    rows = {p.user: p for p in people(vaults["alice"].office.users(), me="alice")}
    assert set(rows) == {"alice", "bob", "carol", "dave"}
    assert (rows["bob"].role, rows["bob"].devices, rows["bob"].can_revoke) == ("member", 1, True)
    assert not rows["alice"].can_revoke  # this PC's own user
    assert rows["dave"].can_revoke  # two admins: either may go
    only_admin = [u for u in vaults["alice"].office.users() if u.user != "dave"]
    assert not {p.user: p for p in people(only_admin, me="bob")}["alice"].can_revoke


def test_the_revoke_warning_names_the_consequences() -> None:
    text = revoke_warning("bob", devices=2, exposed=14)
    wanted = ("refuse bob's 2 PCs", "lock and wipe", "vault key will be changed",
              "could read 14 entries", "change those passwords", "cannot be undone")  # fmt: skip
    for words in wanted:
        assert words in text
    assert "1 entry" in revoke_warning("bob", 1, 1) and "bob's PC " in revoke_warning("bob", 1, 1)


def test_the_audit_csv_defuses_formulas_and_keeps_secrets_hidden_unless_revealed(
    vaults: dict[str, Vault],
) -> None:
    alice = vaults["alice"]
    entry = alice.add({"title": '=HYPERLINK("http://evil")', "password": "old-pw"}, T)
    alice.edit(entry, {"password": "new-pw"}, T + 60)
    hidden = audit_csv(alice.audit())
    rows = list(csv.reader(io.StringIO(hidden.decode())))
    assert tuple(rows[0]) == AUDIT_COLUMNS
    assert all(not cell.startswith("=") for row in rows[1:] for cell in row)
    assert b"old-pw" not in hidden and b"new-pw" not in hidden
    shown = audit_csv(alice.audit(reveal=True))
    assert b"old-pw" in shown and b"new-pw" in shown


def test_an_event_without_changes_is_one_row() -> None:
    event = AuditEvent(T, "alice", "ab12", "trashed", "e1", "Bank", ())
    rows = list(csv.reader(io.StringIO(audit_csv([event]).decode())))
    assert rows[1][3:6] == ["trashed", "e1", "Bank"] and rows[1][6:] == ["", "", ""]


# -- people and invites ----------------------------------------------------------------------


def test_open_invites_are_listed_as_pending_and_revoked_people_without_a_role(
    vaults: dict[str, Vault],
) -> None:
    office = vaults["alice"].office
    office.invite("erin", Role.MEMBER, HOUR, T)
    office.revoke("carol", T + 1)
    rows = people(office.users(), "alice", office.membership.state.open_invites(T + 2))
    by_user = {p.user: p for p in rows}
    assert [p.user for p in rows] == ["alice", "bob", "carol", "dave", "erin"]
    erin = by_user["erin"]
    assert (erin.role, erin.devices, erin.can_revoke, erin.can_change_role) == (
        "member", 0, False, False)  # fmt: skip
    assert erin.status.startswith("invited; the code works until ")
    assert person_cells(by_user["carol"]) == ("carol", "-", "0", "1", "revoked")
    assert by_user["bob"].can_change_role and by_user["bob"].status == "active"
    expired = office.membership.state.open_invites(T + HOUR + 1)
    assert "erin" not in {p.user for p in people(office.users(), "alice", expired)}


@pytest.mark.parametrize(
    ("role", "becomes", "words", "done"),
    [
        ("member", Role.ADMIN, "Make bob an admin? Admins can edit and delete",
         "bob is now an admin."),
        ("admin", Role.MEMBER, "Make bob a member? bob will only read and add",
         "bob is now a member."),
        ("-", Role.ADMIN, "Make bob an admin?", "bob is now an admin."),
    ],
)  # fmt: skip
def test_change_role_flips_and_asks_in_plain_words(
    role: str, becomes: Role, words: str, done: str
) -> None:
    assert other_role(role) is becomes
    assert role_question("bob", becomes).startswith(words)
    assert role_done("bob", becomes) == done


def test_the_invite_texts_name_the_expiry_and_the_fingerprint() -> None:
    shown = invite_shown("erin", "admin", T0, "ab12 cd34")
    assert shown.heading == "Invite code for erin (admin):"
    assert "It works once and expires 2027-01-15 08:00 UTC." in shown.expires
    assert shown.fingerprint.endswith("office fingerprint reads ab12 cd34")


# -- the audit filters ------------------------------------------------------------------------

DAY = 24 * 3600
EVENTS = [
    AuditEvent(T0, "alice", "d1", "added", "aa11", "Bank", (("password", "", "***"),)),
    AuditEvent(T0 + DAY, "bob", "d2", "added", "bb22", "Printer", ()),
    AuditEvent(T0 + 2 * DAY, "alice", "d1", "changed", "aa11", "Bank", (("url", "a", "b"),)),
    AuditEvent(T0 + 2 * DAY, "dave", "d3", "trashed", "cc33", "Office Wi-Fi", ()),
]


@pytest.mark.parametrize(
    ("user", "action", "text", "since", "titles", "problem"),
    [
        ("", ANY, "", "", ["Bank", "Printer", "Bank", "Office Wi-Fi"], ""),
        (ANY, "", "", "", ["Bank", "Printer", "Bank", "Office Wi-Fi"], ""),
        ("bob", ANY, "", "", ["Printer"], ""),
        (" bob ", ANY, "", "", ["Printer"], ""),
        ("nobody", ANY, "", "", [], ""),
        (ANY, "changed", "", "", ["Bank"], ""),
        (ANY, ANY, "BANK", "", ["Bank", "Bank"], ""),
        (ANY, ANY, "wi-f", "", ["Office Wi-Fi"], ""),
        (ANY, ANY, "bb2", "", ["Printer"], ""),  # the start of the entry id
        (ANY, ANY, "", "2027-01-16", ["Printer", "Bank", "Office Wi-Fi"], ""),
        (ANY, ANY, "", "2027-01-17", ["Bank", "Office Wi-Fi"], ""),
        ("alice", "added", "bank", "2027-01-15", ["Bank"], ""),
        # an unfinished or impossible date filters nothing and says why
        (ANY, ANY, "", "2027-0", ["Bank", "Printer", "Bank", "Office Wi-Fi"],
         "since wants a date like 2026-11-01, not '2027-0'"),
        (ANY, ANY, "", "2027-13-01", ["Bank", "Printer", "Bank", "Office Wi-Fi"],
         "since wants a date like 2026-11-01, not '2027-13-01'"),
        (ANY, ANY, "", "'; DROP TABLE", ["Bank", "Printer", "Bank", "Office Wi-Fi"],
         "since wants a date like 2026-11-01, not \"'; DROP TABLE\""),
    ],
)  # fmt: skip
def test_the_audit_filters(
    user: str, action: str, text: str, since: str, titles: list[str], problem: str
) -> None:
    query, said = AuditQuery.typed(user, action, text, since)
    assert [e.title for e in filter_audit(EVENTS, query)] == titles
    assert said == problem


def test_since_is_midnight_utc_as_the_cli_reads_it() -> None:
    assert since_of("2027-01-15") == T0 - 8 * 3600
    with pytest.raises(UserError, match="since wants a date"):
        since_of("15/01/2027")


def test_audit_rows_are_newest_first_and_capped() -> None:
    rows, count = audit_rows(EVENTS)
    assert [r[3] for r in rows] == ["Office Wi-Fi", "Bank", "Printer", "Bank"]
    assert rows[1] == ("2027-01-17 08:00:00", "alice", "changed", "Bank", "aa11", "url")
    assert count == "4 changes"
    many = [EVENTS[0]] * (SHOWN_MAX + 5)
    rows, count = audit_rows(many)
    assert len(rows) == SHOWN_MAX
    assert count == f"{SHOWN_MAX + 5} changes (the newest {SHOWN_MAX} shown; the CSV holds all)"
    assert audit_rows(EVENTS[:1])[1] == "1 change"
    assert audit_users(EVENTS, ["carol", "Zed", "alice"]) == [
        ANY, "alice", "bob", "carol", "dave", "Zed"]  # fmt: skip


# -- import and export texts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("imported", "bad", "lines"),
    [
        (1, [], ["Imported 1 entry from f.csv."]),
        (3, [BadRow("line 4", "no title"), BadRow("line 9", "wrong number of columns (2, "
                                                            "expected 6)")],
         ["Imported 3 entries from f.csv.", "2 row(s) were not imported:", "  line 4: no title",
          "  line 9: wrong number of columns (2, expected 6)"]),
        (0, [BadRow("item 1", "no title")],
         ["Imported 0 entries from f.csv.", "1 row(s) were not imported:", "  item 1: no title"]),
    ],
)  # fmt: skip
def test_the_import_summary_says_what_the_cli_prints(
    imported: int, bad: list[BadRow], lines: list[str]
) -> None:
    assert import_summary(imported, "f.csv", bad).splitlines() == lines


def test_the_export_texts_warn_that_every_password_is_in_the_clear() -> None:
    question = export_question("csv", "/tmp/x.csv")
    assert question.startswith("Export every entry as csv to /tmp/x.csv?")
    assert "every password of the office unencrypted" in question
    said = export_summary(5, "x.csv", 0).splitlines()
    assert said[0] == "Exported 5 entries to x.csv." and "in the clear" in said[-1]
    assert "2 entr(y/ies) could not be decrypted" in export_summary(5, "x.csv", 2)
    assert file_kinds("bitwarden-json")[0] == ("JSON files", "*.json")
    assert file_kinds("1password-csv")[0] == ("CSV files", "*.csv")
