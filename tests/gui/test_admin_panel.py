"""The admin panel on a virtual screen (Xvfb), over real vaults of a test office: an invite
shows a code that really enrols a PC, a role change, a revocation only once confirmed,
the audit filters and their CSV, an import with its progress bar, an export that the
importer reads back, and a member's vault refused with a message, never a traceback.
Only what the Office would do is offered (alice holds the root key, dave does not, bob
is a member). What needs a human (yes/no, a file) is answered by `Answers`.

Threats covered: a lock (idle, OS session, revocation, the tray) that fires while a
dialog's nested event loop runs must stop the act, write nothing and raise nothing;
an invite code must not reach the X PRIMARY selection, which any X client can read."""

from __future__ import annotations

import contextlib
import csv
import io
import time
import tkinter as tk
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from tkinter import filedialog, messagebox
from typing import Protocol

import pytest

from gui.admin_panel import AdminPanel, Kinds, TkAsker
from node import importers, onboarding
from node.invites import parse_code
from node.office import UserView
from node.vault import Vault
from tests.gui.conftest import screenshot
from tests.node.vault_kit import PROFILE, T0, deliver, pw

T = T0 + 1000
DAY = 24 * 3600


@dataclass
class Answers:
    """The human: says `yes` to every question, picks `opened` / `saved` in file dialogs."""

    yes: bool = True
    opened: Path | None = None
    saved: Path | None = None
    asked: list[str] = field(default_factory=list)
    dialogs: int = 0

    def confirm(self, title: str, text: str) -> bool:
        self.asked.append(text)
        return self.yes

    def open_file(self, title: str, kinds: Kinds) -> Path | None:
        self.dialogs += 1
        return self.opened

    def save_file(self, title: str, suggested: str, kinds: Kinds) -> Path | None:
        self.dialogs += 1
        return self.saved


class Make(Protocol):
    def __call__(self, name: str, wall: float = T) -> tuple[AdminPanel, Answers]: ...


@pytest.fixture
def panel_of(root: tk.Tk, vaults: dict[str, Vault]) -> Iterator[Make]:
    made: list[AdminPanel] = []

    def make(name: str, wall: float = T) -> tuple[AdminPanel, Answers]:
        answers = Answers()
        made.append(AdminPanel(root, vaults[name], lambda: wall, answers))
        root.update()
        return made[-1], answers

    yield make
    for panel in made:
        panel.close()


def status(panel: AdminPanel) -> str:
    return str(panel.view.status.cget("text"))


def rows(tree: tk.Misc) -> list[tuple[str, ...]]:
    return [tuple(str(v) for v in tree.item(i, "values")) for i in tree.get_children()]  # type: ignore[attr-defined]


def choose(panel: AdminPanel, root: tk.Tk, user: str) -> None:
    index = next(i for i, p in enumerate(panel.people) if p.user == user)
    panel.view.select_person(index)
    root.update()
    assert panel.chosen is not None and panel.chosen.user == user


def count_wakes(vault: Vault) -> list[int]:
    """How often the panel woke this PC's node (to push what it saved)."""
    woken = [0]

    def wake() -> None:
        woken[0] += 1

    vault.office.wake_node = wake  # type: ignore[method-assign]
    return woken


def view_of(vault: Vault, user: str) -> UserView:
    return next(v for v in vault.office.users() if v.user == user)


# -- people --------------------------------------------------------------------------------


def test_an_invite_shows_a_code_that_enrols_the_new_pc(
    panel_of: Make, root: tk.Tk, vaults: dict[str, Vault], tmp_path: Path
) -> None:
    panel, _ = panel_of("alice")
    alice = vaults["alice"]
    panel.view.invite_user.set("erin")
    panel.view.invite_role.set("member")
    panel.view.invite_button.invoke()
    root.update()
    code = panel.view.code_text.get()
    parse_code(code)  # a well-formed code, shown in full
    assert panel.view.code_heading.cget("text") == "Invite code for erin (member):"
    assert "It works once and expires 2027-01-16 08:16 UTC" in panel.view.code_expires.cget("text")
    assert alice.office.fingerprint in panel.view.code_fingerprint.cget("text")
    assert panel.view.invite_user.get() == ""
    erin = next(r for r in rows(panel.view.people) if r[0] == "erin")
    assert erin[1:4] == ("member", "0", "0") and erin[4].startswith("invited; the code works")
    screenshot(panel.window, "admin-people")
    # the code shown is the one the office redeems: a new PC joins with it
    requests: list[bytes] = []
    onboarding.new_device(tmp_path / "erin", "erin", pw(), PROFILE, requests.append)
    alice.office.enroll(code, requests[0], T + 5, lambda _welcome: None)
    panel.show_people()
    assert next(r for r in rows(panel.view.people) if r[0] == "erin")[1:] == (
        "member", "1", "0", "active")  # fmt: skip
    panel.view.code_done.invoke()
    assert panel.view.code_text.get() == "" and not panel.view.code_box.winfo_ismapped()


@pytest.mark.parametrize(
    ("who", "user", "role", "lifetime", "said"),
    [
        ("alice", "", "member", "24h", "invalid user name ''"),
        ("alice", "Bob", "member", "24h", "a user named 'bob' exists or is invited"),
        ("alice", "erin\x00", "member", "24h", "invalid user name"),
        ("alice", "x" * 65, "member", "24h", "invalid user name"),
        ("alice", "erin", "member", "40d", "an invite must expire within 30 days"),
        ("alice", "erin", "member", "soon", "cannot read the duration"),
        ("alice", "erin", "owner", "24h", "choose a role: member or admin"),
        ("dave", "erin", "admin", "24h", "this needs the office root key"),
        ("bob", "erin", "member", "24h", "only an admin can invite people"),
    ],
)  # fmt: skip
def test_a_refused_invite_says_why_and_shows_no_code(
    panel_of: Make, root: tk.Tk, who: str, user: str, role: str, lifetime: str, said: str
) -> None:
    panel, _ = panel_of(who)
    panel.on_invite(user, role, lifetime)
    root.update()
    assert said in status(panel)
    assert panel.view.code_text.get() == ""
    assert all(not r[4].startswith("invited") for r in rows(panel.view.people))


def test_change_role_both_ways_and_never_the_last_admin(
    panel_of: Make, root: tk.Tk, vaults: dict[str, Vault]
) -> None:
    panel, answers = panel_of("alice")
    alice = vaults["alice"]
    woken = count_wakes(alice)
    choose(panel, root, "bob")
    assert panel.view.role_button.cget("text") == "Make admin"
    answers.yes = False
    panel.view.role_button.invoke()
    assert view_of(alice, "bob").role.value == "member"
    answers.yes = True
    panel.view.role_button.invoke()
    assert view_of(alice, "bob").role.value == "admin"
    assert status(panel) == "bob is now an admin."
    assert woken == [1]  # this PC's node pushes the change at once (not on a refusal)
    assert "Make bob an admin?" in answers.asked[-1]
    for user in ("bob", "dave"):
        choose(panel, root, user)
        assert panel.view.role_button.cget("text") == "Make member"
        panel.view.role_button.invoke()
        assert view_of(alice, user).role.value == "member"
    choose(panel, root, "alice")
    assert str(panel.view.role_button.cget("state")) == "disabled"  # the last admin
    panel.on_change_role()  # the Office refuses it all the same
    assert status(panel) == (
        "alice is the last admin; make someone else admin before you make them a member"
    )
    assert view_of(alice, "alice").role.value == "admin"


def test_revoke_only_when_confirmed_naming_what_they_could_read(
    panel_of: Make, root: tk.Tk, vaults: dict[str, Vault]
) -> None:
    alice = vaults["alice"]
    alice.add({"title": "Bank", "password": "b"}, T)
    alice.add({"title": "Office Wi-Fi", "password": "w"}, T)
    panel, answers = panel_of("alice")
    choose(panel, root, "alice")
    assert str(panel.view.revoke_button.cget("state")) == "disabled"  # not this PC's own user
    choose(panel, root, "bob")
    assert str(panel.view.revoke_button.cget("state")) == "normal"
    answers.yes = False
    panel.view.revoke_button.invoke()
    assert "could read 2 entries" in answers.asked[-1] and "cannot be undone" in answers.asked[-1]
    assert answers.asked[-1].splitlines()[-2:] == ["  Bank", "  Office Wi-Fi"]  # to change
    assert status(panel) == "bob was not revoked."
    assert len(view_of(alice, "bob").devices) == 1
    answers.yes = True
    choose(panel, root, "bob")
    panel.view.revoke_button.invoke()
    bob = view_of(alice, "bob")
    assert bob.devices == () and len(bob.revoked) == 1
    assert status(panel).startswith("Revoked bob (1 PC); the vault key was changed.")
    assert next(r for r in rows(panel.view.people) if r[0] == "bob")[1:] == (
        "-", "0", "1", "revoked")  # fmt: skip


# -- the audit trail --------------------------------------------------------------------------


def audit_titles(panel: AdminPanel) -> list[str]:
    return [r[3] for r in rows(panel.view.audit)]


def test_the_audit_filters_narrow_the_rows_and_the_csv_holds_what_is_shown(
    panel_of: Make, root: tk.Tk, vaults: dict[str, Vault], tmp_path: Path
) -> None:
    alice, bob = vaults["alice"], vaults["bob"]
    bank = alice.add({"title": "Bank", "password": "old-pw"}, T)
    bob.add({"title": "Printer"}, T + DAY)
    deliver(bob, alice)
    alice.add({"title": "Office Wi-Fi"}, T + 2 * DAY)
    alice.edit(bank, {"password": "new-pw"}, T + 2 * DAY)
    panel, answers = panel_of("alice", T + 3 * DAY)
    panel.view.notebook.select(1)
    root.update()
    assert audit_titles(panel) == ["Bank", "Office Wi-Fi", "Printer", "Bank"]  # newest first
    assert panel.view.audit_count.cget("text") == "4 changes"
    assert "bob" in panel.view.user_choice.cget("values")
    panel.view.audit_user.set("bob")
    root.update()
    assert audit_titles(panel) == ["Printer"]
    panel.view.audit_user.set("(any)")
    panel.view.audit_text.set("ban")
    assert audit_titles(panel) == ["Bank", "Bank"]
    panel.view.audit_action.set("changed")
    assert [r[2] for r in rows(panel.view.audit)] == ["changed"]
    panel.view.audit_action.set("(any)")
    panel.view.audit_text.set("")
    panel.view.audit_since.set(time.strftime("%Y-%m-", time.gmtime(T)))  # still being typed
    assert len(audit_titles(panel)) == 4
    assert "since wants a date like" in panel.view.since_problem.cget("text")
    panel.view.audit_since.set(time.strftime("%Y-%m-%d", time.gmtime(T + 2 * DAY)))
    assert audit_titles(panel) == ["Bank", "Office Wi-Fi"]
    assert panel.view.since_problem.cget("text") == ""
    screenshot(panel.window, "admin-audit")
    answers.saved = tmp_path / "audit.csv"
    panel.view.export_audit_button.invoke()
    written = list(csv.reader(io.StringIO(answers.saved.read_text())))
    assert {r[5] for r in written[1:]} == {"Bank", "Office Wi-Fi"}
    assert {r[3] for r in written[1:]} == {"added", "changed"}
    assert b"new-pw" not in answers.saved.read_bytes()  # secrets stay hidden
    assert status(panel) == f"Wrote 2 changes to {answers.saved}."


def test_a_cancelled_audit_export_writes_nothing(
    panel_of: Make, root: tk.Tk, tmp_path: Path
) -> None:
    panel, answers = panel_of("alice")
    panel.view.export_audit_button.invoke()  # loads the trail first, then asks where
    assert answers.dialogs == 1 and status(panel) == ""
    assert [p.name for p in tmp_path.iterdir()] == ["replicas"]  # the vaults, nothing else


# -- import and export ------------------------------------------------------------------------

GOOD_CSV = (
    b"title,username,password,url,category,notes\r\n"
    b"Router,admin,r-pass,http://192.168.0.1,Network,\r\n"
    b"NAS,root,n-pass,,Network,\r\n"
    b",nobody,x,,,\r\n"
    b"Printer,,p-pass,,,\r\n"
)


def test_an_import_fills_the_vault_and_the_bar_reaches_its_end(
    panel_of: Make, root: tk.Tk, vaults: dict[str, Vault], tmp_path: Path
) -> None:
    panel, answers = panel_of("alice")
    answers.opened = tmp_path / "export.csv"
    answers.opened.write_bytes(GOOD_CSV)
    panel.view.notebook.select(2)
    panel.view.import_format.set("csv")
    seen: list[tuple[int, int]] = []
    show = panel.view.show_progress

    def shown(done: int, total: int) -> None:
        seen.append((done, total))
        show(done, total)

    panel.view.show_progress = shown  # type: ignore[method-assign]
    woken = count_wakes(vaults["alice"])
    panel.view.import_button.invoke()
    root.update()
    assert sorted(s.title for s in vaults["alice"].entries()) == ["NAS", "Printer", "Router"]
    assert woken == [1]
    bar = panel.view.progress
    assert float(bar.cget("value")) == float(bar.cget("maximum")) == 3
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    summary = panel.view.summary.get("1.0", "end").splitlines()
    assert summary[:3] == [f"Imported 3 entries from {answers.opened}.",
                           "1 row(s) were not imported:", "  line 4: no title"]  # fmt: skip
    assert status(panel) == summary[0]
    screenshot(panel.window, "admin-import")


@pytest.mark.parametrize(
    ("data", "fmt", "said"),
    [
        (b"", "csv", "the file is empty"),
        (b"\xff\xfet\x00i\x00", "csv", "the file is UTF-16 text; export it again as UTF-8"),
        (b"\xc3\x28", "csv", "the file is not UTF-8 text"),
        (b"{not json", "bitwarden-json", "the file is not valid JSON"),
        # a file exported without a header: its first row is secrets, never quoted back
        (b"Bank,alice,hunter2\r\n", "csv", "the first line is not a CSV header"),
        (b"title\r\n" + b"a" * (1024 * 1024 + 1) + b"\r\n", "csv", "longer than 1 MiB"),
    ],
)  # fmt: skip
def test_a_bad_import_file_says_why_and_adds_nothing(
    panel_of: Make, vaults: dict[str, Vault], tmp_path: Path, data: bytes, fmt: str, said: str
) -> None:
    panel, answers = panel_of("alice")
    answers.opened = tmp_path / "bad"
    answers.opened.write_bytes(data)
    panel.on_import(fmt)
    assert said in status(panel) and "hunter2" not in status(panel)
    assert len(vaults["alice"]) == 0


def test_an_import_of_a_missing_file_or_none_chosen(
    panel_of: Make, vaults: dict[str, Vault], tmp_path: Path
) -> None:
    panel, answers = panel_of("alice")
    panel.on_import("csv")  # the dialog was cancelled
    assert status(panel) == "" and len(vaults["alice"]) == 0
    answers.opened = tmp_path / "gone.csv"
    panel.on_import("csv")
    assert status(panel).startswith("cannot read the import file")


@pytest.mark.parametrize("fmt", ["csv", "bitwarden-json"])
def test_an_export_after_the_warning_is_read_back_by_the_importer(
    panel_of: Make, vaults: dict[str, Vault], tmp_path: Path, fmt: str
) -> None:
    alice = vaults["alice"]
    alice.add({"title": "Bank", "username": "acme", "password": "s3cret", "category": "Finance",
               "notes": "PIN at the safe"}, T)  # fmt: skip
    alice.add({"title": "Office Wi-Fi", "password": "wifi-pass", "url": "http://ap"}, T)
    panel, answers = panel_of("alice")
    panel.view.export_format.set(fmt)
    answers.saved = tmp_path / f"out.{fmt}"
    answers.yes = False
    panel.view.export_button.invoke()
    assert "every password of the office unencrypted" in answers.asked[-1]
    assert status(panel) == "Nothing was exported." and not answers.saved.exists()
    answers.yes = True
    panel.view.export_button.invoke()
    assert status(panel) == f"Exported 2 entries to {answers.saved}."
    read, bad = importers.parse(answers.saved.read_bytes(), fmt)
    assert bad == []
    key = sorted  # the order of the file is the vault's
    assert key(tuple(sorted(r.fields.items())) for r in read) == key(
        tuple(sorted(r.items())) for r in alice.rows()[0])  # fmt: skip
    asked = len(answers.asked)
    panel.view.export_button.invoke()  # the same file again: refused before any question
    assert status(panel) == f"{answers.saved} exists; choose a new file name"
    assert len(answers.asked) == asked


# -- a member, and closing --------------------------------------------------------------------


def audit_tab(panel: AdminPanel, root: tk.Tk) -> None:
    panel.view.notebook.select(1)
    root.update()


def revoke_carol(panel: AdminPanel, root: tk.Tk) -> None:
    choose(panel, root, "carol")
    assert str(panel.view.revoke_button.cget("state")) == "disabled"  # not offered
    panel.on_revoke()


def carol_admin(panel: AdminPanel, root: tk.Tk) -> None:
    choose(panel, root, "carol")
    assert str(panel.view.role_button.cget("state")) == "disabled"  # not offered
    panel.on_change_role()


@pytest.mark.parametrize(
    ("act", "said"),
    [
        (audit_tab, "only an admin can read the audit trail"),
        (lambda p, _r: p.view.export_audit_button.invoke(), "only an admin can read the audit"),
        (lambda p, _r: p.view.import_button.invoke(), "only an admin can import entries"),
        (lambda p, _r: p.view.export_button.invoke(), "only an admin can export the vault"),
        (lambda p, _r: p.on_invite("erin", "member", "24h"), "only an admin can invite people"),
        (revoke_carol, "only an admin can revoke people"),
        (carol_admin, "this needs the office root key"),
    ],
)  # fmt: skip
def test_a_members_vault_is_refused_with_a_message(
    panel_of: Make,
    root: tk.Tk,
    vaults: dict[str, Vault],
    act: Callable[[AdminPanel, tk.Tk], None],
    said: str,
) -> None:
    panel, answers = panel_of("bob")
    act(panel, root)
    assert status(panel).startswith(said)
    assert answers.dialogs == 0 and rows(panel.view.audit) == []
    assert view_of(vaults["alice"], "carol").role.value == "member"
    assert len(view_of(vaults["bob"], "carol").devices) == 1


def test_close_hides_the_code_and_is_idempotent(panel_of: Make, root: tk.Tk) -> None:
    panel, _ = panel_of("alice")
    panel.on_invite("erin", "member", "1h")
    assert panel.view.code_text.get()
    code_var = panel.view.code_text
    panel.close()
    panel.close()
    root.update()
    assert code_var.get() == "" and not panel.window.winfo_exists()
    second, _ = panel_of("alice")
    root.tk.call(second.window.protocol("WM_DELETE_WINDOW"))  # the title bar's close button
    assert second.closed and not second.window.winfo_exists()


# -- what is offered: alice holds the root key, dave is an admin without it, bob a member ----

OFF, ON = "disabled", "normal"
# who -> {user chosen: (role button, its label, revoke button)}, the invite form's roles
OFFERED = [
    ("alice", {"alice": (ON, "Make member", OFF), "bob": (ON, "Make admin", ON),
               "carol": (ON, "Make admin", ON), "dave": (ON, "Make member", ON)},
     ("member", "admin")),
    ("dave", {"alice": (OFF, "Make member", OFF), "bob": (OFF, "Make admin", ON),
              "carol": (OFF, "Make admin", ON), "dave": (OFF, "Make member", OFF)},
     ("member",)),
    ("bob", {"alice": (OFF, "Make member", OFF), "bob": (OFF, "Make admin", OFF),
             "carol": (OFF, "Make admin", OFF), "dave": (OFF, "Make member", OFF)},
     ()),
]  # fmt: skip


@pytest.mark.parametrize(("who", "buttons", "roles"), OFFERED, ids=[o[0] for o in OFFERED])
def test_the_panel_offers_only_what_the_office_would_do(
    panel_of: Make,
    root: tk.Tk,
    who: str,
    buttons: dict[str, tuple[str, str, str]],
    roles: tuple[str, ...],
) -> None:
    panel, _ = panel_of(who)
    seen = {}
    for user in buttons:
        choose(panel, root, user)
        view = panel.view
        seen[user] = (str(view.role_button.cget("state")), str(view.role_button.cget("text")),
                      str(view.revoke_button.cget("state")))  # fmt: skip
    assert seen == buttons
    view = panel.view
    assert tuple(str(r) for r in root.tk.splitlist(view.role_choice.cget("values"))) == roles
    assert view.invite_role.get() == (roles[0] if roles else "")
    form = OFF if not roles else ON
    assert str(view.invite_button.cget("state")) == form
    assert str(view.invite_entry.cget("state")) == form


def test_what_dave_is_offered_succeeds(
    panel_of: Make, root: tk.Tk, vaults: dict[str, Vault]
) -> None:
    panel, _ = panel_of("dave")
    panel.view.invite_user.set("erin")
    panel.view.invite_button.invoke()  # the only role offered: member
    assert panel.view.code_text.get() and status(panel).startswith("Invited erin")
    choose(panel, root, "carol")
    panel.view.revoke_button.invoke()
    assert status(panel).startswith("Revoked carol (1 PC)")
    assert view_of(vaults["dave"], "carol").devices == ()


# -- a lock while a dialog's nested event loop runs ---------------------------------------------


@dataclass
class Leaving:
    """The human, while a dialog's nested event loop runs: at the question `at`, the window's
    lock (idle, OS session, revocation, the tray) closes the panel and/or locks the vault;
    then the question returns as if answered: yes, or `file`."""

    vault: Vault
    at: str  # "confirm", "open" or "save"
    close: bool
    lock: bool
    file: Path
    panel: AdminPanel | None = None
    asked: list[str] = field(default_factory=list)

    def _meanwhile(self, question: str) -> None:
        self.asked.append(question)
        if question == self.at and self.panel is not None:
            if self.close:
                self.panel.close()
            if self.lock:
                self.vault.lock()

    def confirm(self, title: str, text: str) -> bool:
        self._meanwhile("confirm")
        return True

    def open_file(self, title: str, kinds: Kinds) -> Path | None:
        self._meanwhile("open")
        return self.file

    def save_file(self, title: str, suggested: str, kinds: Kinds) -> Path | None:
        self._meanwhile("save")
        return self.file


def revoke_bob(panel: AdminPanel, root: tk.Tk) -> None:
    choose(panel, root, "bob")
    panel.on_revoke()


def bob_admin(panel: AdminPanel, root: tk.Tk) -> None:
    choose(panel, root, "bob")
    panel.on_change_role()


ASKING = [
    ("revoke", revoke_bob, "confirm"),
    ("change role", bob_admin, "confirm"),
    ("export: its file", lambda p, _r: p.on_export("csv"), "save"),
    ("export: its warning", lambda p, _r: p.on_export("csv"), "confirm"),
    ("import", lambda p, _r: p.on_import("csv"), "open"),
    ("audit CSV", lambda p, _r: p.on_export_audit(), "save"),
]  # fmt: skip
LOCKS = [(True, True), (True, False), (False, True)]


@contextlib.contextmanager
def alice_as_saved(vaults: dict[str, Vault], tmp_path: Path) -> Iterator[Vault]:
    """alice's vault as it is on disk (opened again if the test locked it)."""
    if not vaults["alice"].locked:
        yield vaults["alice"]
        return
    with Vault.open(tmp_path / "replicas" / "alice", pw(), PROFILE) as again:
        yield again


def every_act(panel: AdminPanel) -> list[Callable[[], None]]:
    return [lambda: panel.on_invite("erin", "member", "24h"), panel.on_revoke,
            panel.on_change_role, lambda: panel.on_tab("audit"), lambda: panel.on_tab("people"),
            panel.load_audit, panel.on_export_audit, lambda: panel.on_import("csv"),
            lambda: panel.on_export("csv"), lambda: panel.on_select(0), panel.on_hide_code,
            lambda: panel.on_audit_filter("bob", "(any)", "", ""), panel.show_people]  # fmt: skip


@pytest.mark.parametrize(("close", "lock"), LOCKS, ids=["closed+locked", "closed", "locked"])
@pytest.mark.parametrize(("act", "at"), [a[1:] for a in ASKING], ids=[a[0] for a in ASKING])
def test_a_lock_while_a_question_is_open_stops_the_act(
    root: tk.Tk,
    vaults: dict[str, Vault],
    tmp_path: Path,
    act: Callable[[AdminPanel, tk.Tk], None],
    at: str,
    close: bool,
    lock: bool,
) -> None:
    alice = vaults["alice"]
    alice.add({"title": "Bank", "password": "b"}, T)  # something to export, a trail to write
    given, written = tmp_path / "in.csv", tmp_path / "out.csv"
    given.write_bytes(GOOD_CSV)
    leaving = Leaving(alice, at, close, lock, given if at == "open" else written)
    panel = AdminPanel(root, alice, lambda: T, leaving)
    leaving.panel = panel
    try:
        root.update()
        act(panel, root)  # raises nothing (it raised a TclError from the destroyed status line)
        assert leaving.asked[-1] == at  # stopped at once: no further question
        assert panel.closed and not panel.window.winfo_exists()  # a locked vault's panel closes
        for again in every_act(panel):
            again()
        assert leaving.asked[-1] == at
    finally:
        panel.close()
    assert not written.exists()
    with alice_as_saved(vaults, tmp_path) as saved:
        bob = view_of(saved, "bob")
        assert (bob.role.value, len(bob.devices)) == ("member", 1)
        assert [e.title for e in saved.entries()] == ["Bank"]


def test_a_closed_panel_does_nothing(
    panel_of: Make, root: tk.Tk, vaults: dict[str, Vault], tmp_path: Path
) -> None:
    panel, answers = panel_of("alice")
    answers.opened, answers.saved = tmp_path / "in.csv", tmp_path / "out.csv"
    answers.opened.write_bytes(GOOD_CSV)
    choose(panel, root, "bob")
    panel.close()
    for act in every_act(panel):
        act()
    assert answers.asked == [] and answers.dialogs == 0
    office = vaults["alice"].office
    assert [i.invite.user for i in office.membership.state.open_invites(T)] == []
    assert len(view_of(vaults["alice"], "bob").devices) == 1
    assert len(vaults["alice"]) == 0 and not answers.saved.exists()


def test_a_lock_during_the_real_revoke_dialog_stops_it_quietly(
    root: tk.Tk, vaults: dict[str, Vault]
) -> None:
    """The reviewer's X11 reproduction: Tk's own yes/no dialog, its nested event loop, and a
    lock (as MainWindow.lock does it: close the panel, lock the vault) firing inside it."""
    alice = vaults["alice"]
    panel = AdminPanel(root, alice, lambda: T)  # TkAsker: the real dialogs
    fired: list[str] = []

    def lock() -> None:
        fired.append("lock")
        panel.close()  # destroys the dialog too: it is the panel's child
        alice.lock()

    root.update()
    choose(panel, root, "bob")
    root.after(200, lock)
    # never hang on a dialog nobody answers: after 5 s it answers "no"
    rescue = root.after(5000, lambda: root.tk.call("set", "::tk::Priv(button)", "no"))
    try:
        panel.on_revoke()  # returns when the dialog goes; raised a TclError before
    finally:
        root.after_cancel(rescue)
        panel.close()
    assert fired == ["lock"] and panel.closed


def test_the_dialogs_are_transient_to_the_panel(
    panel_of: Make, root: tk.Tk, monkeypatch: pytest.MonkeyPatch
) -> None:
    panel, _ = panel_of("alice")
    parents: list[object] = []

    def asked(*_args: object, **kw: object) -> str:
        parents.append(kw.get("parent"))
        return ""

    monkeypatch.setattr(messagebox, "askyesno", asked)
    monkeypatch.setattr(filedialog, "askopenfilename", asked)
    monkeypatch.setattr(filedialog, "asksaveasfilename", asked)
    ask = TkAsker(panel.window)
    assert not ask.confirm("t", "x")
    assert ask.open_file("t", [("All files", "*")]) is None
    assert ask.save_file("t", "a.csv", [("All files", "*")]) is None
    assert parents == [panel.window] * 3
    default = AdminPanel(root, panel.vault, lambda: T)
    try:
        assert isinstance(default.ask, TkAsker) and default.ask.parent is default.window
    finally:
        default.close()


# -- the invite code and the X selection ------------------------------------------------------


def test_the_invite_code_is_not_offered_to_other_x_clients(panel_of: Make, root: tk.Tk) -> None:
    """Any X client may read the PRIMARY selection: the selected code must not be it."""
    panel, _ = panel_of("alice")
    panel.on_invite("erin", "member", "1h")
    root.update()
    code = panel.view.code_text.get()
    assert code and panel.view.code.selection_present()  # shown selected, for the eye
    try:
        primary: str | None = root.selection_get()  # selection="PRIMARY"
    except tk.TclError:  # nobody owns it
        primary = None
    assert primary is None or code not in primary
