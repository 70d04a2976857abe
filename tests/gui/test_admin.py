"""The admin panel's logic (gui/admin.py) over a real office: who can be revoked, what
the confirmation names, and the audit CSV (formulas defused; secrets only if revealed).
Threat covered: a title like =HYPERLINK(...) run by the spreadsheet that opens the CSV."""

from __future__ import annotations

import csv
import io

from gui.admin import AUDIT_COLUMNS, audit_csv, people, revoke_warning
from node.audit import AuditEvent
from node.vault import Vault
from tests.node.vault_kit import T0

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
