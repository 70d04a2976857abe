"""The admin panel's logic (gui/admin.py), no display: who can be revoked or change role
(as tables for the root key holder, an admin without it, and a member: only what the
Office would do is offered), open invites listed as pending, what the confirmations name
(the revoke warning lists the titles to change), the audit filters (as a table, hostile
dates included), the CSV (formulas defused; secrets only if revealed), and the
import/export summaries in the CLI's words.
Threats covered: a title like =HYPERLINK(...) run by the spreadsheet that opens the CSV;
a title with line breaks or bidi overrides that forges lines of the revoke warning."""

from __future__ import annotations

import csv
import io

import pytest

from gui.admin import (
    ANY,
    AUDIT_COLUMNS,
    EXPOSED_LISTED,
    NO_POWERS,
    SHOWN_MAX,
    AuditQuery,
    Powers,
    audit_csv,
    audit_rows,
    audit_users,
    export_question,
    export_summary,
    file_kinds,
    filter_audit,
    import_summary,
    invite_roles,
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
from node.vault import Summary, Vault
from tests.node.vault_kit import HOUR, T0

T = T0 + 1000


ROOT = Powers(admin=True, root=True)  # alice: an admin PC holding the office root key
ADMIN = Powers(admin=True, root=False)  # dave: an admin PC without it
ROOT_ONLY = Powers(admin=False, root=True)  # the root PC made a member (or its capability expired)

# (who, powers) -> {user: (can_change_role, can_revoke)}, as Office.set_role/revoke decide
OFFERED = [
    ("alice", ROOT, {"alice": (True, False), "bob": (True, True), "carol": (True, True),
                     "dave": (True, True)}),
    ("dave", ADMIN, {"alice": (False, False), "bob": (False, True), "carol": (False, True),
                     "dave": (False, False)}),
    ("bob", NO_POWERS, {"alice": (False, False), "bob": (False, False),
                        "carol": (False, False), "dave": (False, False)}),
    ("alice", ROOT_ONLY, {"alice": (True, False), "bob": (True, False),
                          "carol": (True, False), "dave": (True, False)}),
]  # fmt: skip


@pytest.mark.parametrize(("me", "powers", "offered"), OFFERED)
def test_people_offers_only_what_the_office_would_do(
    vaults: dict[str, Vault], me: str, powers: Powers, offered: dict[str, tuple[bool, bool]]
) -> None:
    rows = people(vaults["alice"].office.users(), me=me, powers=powers)
    assert {p.user: (p.can_change_role, p.can_revoke) for p in rows} == offered
    by_user = {p.user: p for p in rows}
    assert (by_user["bob"].role, by_user["bob"].devices) == ("member", 1)


@pytest.mark.parametrize(("powers", "offered"), [(ROOT, (True, True)), (ADMIN, (False, True))])
def test_never_the_last_admin(vaults: dict[str, Vault], powers: Powers,
                              offered: tuple[bool, bool]) -> None:  # fmt: skip
    only_admin = [u for u in vaults["alice"].office.users() if u.user != "dave"]
    rows = {p.user: p for p in people(only_admin, me="bob", powers=powers)}
    alice = rows["alice"]
    assert (alice.can_change_role, alice.can_revoke) == (False, False)
    assert (rows["carol"].can_change_role, rows["carol"].can_revoke) == offered


@pytest.mark.parametrize(
    ("powers", "roles"),
    [(ROOT, ("member", "admin")), (ADMIN, ("member",)), (NO_POWERS, ()), (ROOT_ONLY, ())],
)
def test_the_invite_form_offers_admin_only_to_the_root_key_holder(
    powers: Powers, roles: tuple[str, ...]
) -> None:
    assert invite_roles(powers) == roles


def summary(title: str, trashed: bool = False, id: str = "e1") -> Summary:
    return Summary(id, title, "", "", "", 0, "", "", trashed, False, True)


def test_the_revoke_warning_names_the_consequences() -> None:
    exposed = [summary(f"Entry {i:02}", id=f"e{i}") for i in range(14)]
    text = revoke_warning("bob", devices=2, exposed=exposed)
    wanted = ("refuse bob's 2 PCs", "lock and wipe", "vault key will be changed",
              "could read 14 entries", "change those passwords", "cannot be undone")  # fmt: skip
    for words in wanted:
        assert words in text
    assert "audit panel" not in text  # it pointed to a list that did not exist
    one = revoke_warning("bob", 1, [summary("Bank")])
    assert "could read 1 entry;" in one and "bob's PC " in one
    assert revoke_warning("bob", 1, []).endswith("bob could read 0 entries.")


def test_the_revoke_warning_lists_the_titles_to_change() -> None:
    exposed = [summary("Office Wi-Fi", id="e2"), summary("bank", id="e1"),
               summary("Old printer", trashed=True, id="e3")]  # fmt: skip
    text = revoke_warning("bob", 1, exposed)
    assert text.splitlines()[-4:] == [
        "bob could read 3 entries; change those passwords:",
        "  bank",
        "  Office Wi-Fi",
        "  Old printer  (in the trash)",
    ]


def test_the_revoke_warning_lists_at_most_twenty_then_says_how_many_more() -> None:
    exposed = [summary(f"Entry {i:02}", id=f"e{i}") for i in range(EXPOSED_LISTED + 7)]
    lines = revoke_warning("bob", 1, exposed).splitlines()
    listed = [line for line in lines if line.startswith("  Entry ")]
    assert listed == [f"  Entry {i:02}" for i in range(EXPOSED_LISTED)]
    assert lines[-1] == "  and 7 more (vault-admin audit --exposed bob lists them all)"


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("Bank\n  and 0 more", "  Bank   and 0 more"),  # a forged line of the warning
        ("Bank\u202egnp.exe", "  Bank gnp.exe"),  # a bidi override flips what follows
        ("Bank\x00\x1b[2J", "  Bank  [2J"),
        ("", "  (no title)"),
        ("\n\t", "  (no title)"),
        ("x" * 200, "  " + "x" * 59 + "…"),
    ],
)  # fmt: skip
def test_a_hostile_title_is_one_short_line_in_the_warning(title: str, shown: str) -> None:
    lines = revoke_warning("bob", 1, [summary(title)]).splitlines()
    assert lines[-2:] == ["bob could read 1 entry; change those passwords:", shown]


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
    rows = people(office.users(), "alice", office.membership.state.open_invites(T + 2), powers=ROOT)
    by_user = {p.user: p for p in rows}
    assert [p.user for p in rows] == ["alice", "bob", "carol", "dave", "erin"]
    erin = by_user["erin"]
    assert (erin.role, erin.devices, erin.can_revoke, erin.can_change_role) == (
        "member", 0, False, False)  # fmt: skip
    assert erin.status.startswith("invited; the code works until ")
    assert person_cells(by_user["carol"]) == ("carol", "-", "0", "1", "revoked")
    assert by_user["bob"].can_change_role and by_user["bob"].status == "active"
    expired = office.membership.state.open_invites(T + HOUR + 1)
    assert "erin" not in {p.user for p in people(office.users(), "alice", expired, powers=ROOT)}


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
