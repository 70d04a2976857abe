"""The admin panel: people (invite, change role, revoke), the audit trail, import/export.

`AdminPanel` wires gui/widgets/admin_panel.py to the vault through the presenter
(gui/admin.py) and does each act exactly as `vault-admin` does it (admin_tools/):
the same checks (an admin's vault; the office and the vault check again), the same
durable writes, then `office.wake_node()` so this PC's node pushes the change at
once. A VaultError's one-line message goes to the panel's status line.

What needs a human (a yes/no, a file to open or to save) goes through an `Asker`,
so tests answer it; `TkAsker` asks with Tk's dialogs, transient to the panel. A Tk
dialog runs a nested event loop: the idle lock, the OS session lock, a revocation or
the tray's Lock may close the panel and lock the vault while one is open, so after
every answer the act stops at once if that happened, and every act of a closed panel
does nothing. Everything runs on the Tk thread: an import paints its progress bar
with update_idletasks as add_many reports. It does not keep an invite code: the code
is shown, then forgotten with the widget.

Which acts are offered follows `Powers` (gui/admin.py): this PC's admin capability and
whether it holds the office root key (`office.identity.root`, as Office._require_root
decides). The Office still checks every act.
"""

from __future__ import annotations

import contextlib
import tkinter as tk
from collections.abc import Callable, Sequence
from pathlib import Path
from tkinter import filedialog, messagebox
from typing import Protocol

from gui.admin import (
    ROLES,
    AuditQuery,
    Person,
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
    revoke_done,
    revoke_warning,
    role_done,
    role_question,
)
from gui.widgets.admin_panel import AdminCallbacks, AdminView
from node import exporters, importers, invites
from node.audit import AuditEvent
from node.errors import PermissionDeniedError, UserError, VaultError
from node.files import atomic_write, read_capped, write_new
from node.tokens import Role
from node.vault import Vault

Kinds = Sequence[tuple[str, str]]  # a file dialog's (label, pattern) pairs


class _Gone(Exception):
    """The panel was closed or the vault locked while a question was open: stop the act.
    Never leaves AdminPanel (`_attempt` catches it)."""


class Asker(Protocol):
    """What the panel asks a person: tests answer it, TkAsker shows Tk's dialogs."""

    def confirm(self, title: str, text: str) -> bool: ...

    def open_file(self, title: str, kinds: Kinds) -> Path | None: ...

    def save_file(self, title: str, suggested: str, kinds: Kinds) -> Path | None: ...


class TkAsker:
    def __init__(self, parent: tk.Misc) -> None:
        self.parent = parent

    def confirm(self, title: str, text: str) -> bool:
        return bool(messagebox.askyesno(title, text, parent=self.parent, icon="warning"))

    def open_file(self, title: str, kinds: Kinds) -> Path | None:
        name = filedialog.askopenfilename(parent=self.parent, title=title, filetypes=kinds)
        return Path(name) if isinstance(name, str) and name else None

    def save_file(self, title: str, suggested: str, kinds: Kinds) -> Path | None:
        name = filedialog.asksaveasfilename(parent=self.parent, title=title,
                                            initialfile=suggested, filetypes=kinds)  # fmt: skip
        return Path(name) if isinstance(name, str) and name else None


class AdminPanel:
    def __init__(
        self,
        root: tk.Misc,
        vault: Vault,
        wall: Callable[[], float],
        ask: Asker | None = None,
    ) -> None:
        self.vault, self.wall = vault, wall
        self.closed = False
        self.people: list[Person] = []
        self.chosen: Person | None = None
        self.events: list[AuditEvent] | None = None  # read when the Audit tab is shown
        self.shown: list[AuditEvent] = []  # what the audit filters let through
        self.query, self.since_problem = AuditQuery(), ""
        self.view = AdminView(root, f"Admin: {vault.office.office_name}", AdminCallbacks(
            self.on_select, self.on_invite, self.on_hide_code, self.on_change_role,
            self.on_revoke, self.on_tab, self.on_audit_filter, self.load_audit,
            self.on_export_audit, self.on_import, self.on_export, self.close,
        ), importers.FORMATS, exporters.EXPORT_FORMATS)  # fmt: skip
        self.window: tk.Toplevel = self.view
        self.ask: Asker = ask if ask is not None else TkAsker(self.window)
        self.show_people()

    def close(self) -> None:
        """Hide any invite code and close the panel (again: nothing)."""
        if self.closed:
            return
        self.closed = True
        self.events, self.shown = None, []
        with contextlib.suppress(tk.TclError):  # the whole app may be gone already
            if self.window.winfo_exists():
                self.view.hide_code()
                self.window.destroy()

    def _attempt(self, act: Callable[[], str | None]) -> None:
        """Run an act; show what it says, or the VaultError's one line (never a traceback).
        Nothing once the panel is closed; a panel whose vault got locked closes."""
        if self._gone():
            return
        try:
            said = act()
        except _Gone:
            return
        except VaultError as exc:
            said = str(exc)
        if said is not None and not self._gone():
            self.view.show_status(said)

    def _gone(self) -> bool:
        """Whether the panel is closed; closes it first if the vault was locked."""
        if not self.closed and self.vault.locked:
            self.close()
        return self.closed

    def _still_here(self) -> None:
        """Called after every question: a nested event loop ran while it was open."""
        if self._gone():
            raise _Gone

    def _confirm(self, title: str, text: str) -> bool:
        answer = self.ask.confirm(title, text)
        self._still_here()
        return answer

    def _open_file(self, title: str, kinds: Kinds) -> Path | None:
        path = self.ask.open_file(title, kinds)
        self._still_here()
        return path

    def _save_file(self, title: str, suggested: str, kinds: Kinds) -> Path | None:
        path = self.ask.save_file(title, suggested, kinds)
        self._still_here()
        return path

    def _require_admin(self, act: str) -> None:
        """The CLI's check before it reads the audit, imports or exports (vault_cli.py)."""
        if self.vault.role is not Role.ADMIN:
            raise PermissionDeniedError(f"only an admin can {act}")

    def _now(self) -> int:
        return int(self.wall())

    def _powers(self) -> Powers:
        """As Office decides: an admin device with a current capability (`_require_admin`;
        read at the wall time, not the signing time), and the root key (`_require_root`)."""
        office = self.vault.office
        member = office.member
        admin = (member is not None and member.role is Role.ADMIN
                 and not member.capability.expired_at(self._now()))  # fmt: skip
        return Powers(admin=admin, root=office.identity.root is not None)

    def on_tab(self, name: str) -> None:
        if self._gone():
            return
        if name == "people":
            self.show_people()
        elif name == "audit":
            self.load_audit()

    # -- people ------------------------------------------------------------------------
    def show_people(self) -> None:
        if self._gone():
            return
        office = self.vault.office
        me = office.member.user if office.member is not None else ""
        invited = office.membership.state.open_invites(self._now())
        powers = self._powers()
        self.people = people(office.users(), me, invited, powers=powers)
        self.chosen = None
        self.view.show_people([person_cells(p) for p in self.people])
        self.view.show_person_actions(False, "Change role", False)
        self.view.show_invite_roles(invite_roles(powers))

    def on_select(self, index: int | None) -> None:
        if self._gone():
            return
        found = index is not None and 0 <= index < len(self.people)
        self.chosen = self.people[index] if found and index is not None else None
        p = self.chosen
        if p is None:
            self.view.show_person_actions(False, "Change role", False)
            return
        label = f"Make {other_role(p.role).value}"
        self.view.show_person_actions(p.can_change_role, label, p.can_revoke)

    def on_invite(self, user: str, role: str, lifetime: str) -> None:
        def act() -> str:
            if role not in ROLES:
                raise UserError(f"choose a role: {' or '.join(ROLES)}")
            seconds = invites.parse_duration(lifetime)
            office = self.vault.office
            name = user.strip()
            at = office.signing_time(self._now())
            code = office.invite(name, Role(role), seconds, at)
            office.wake_node()
            self.view.show_code(str(code), invite_shown(name, role, at + seconds,
                                                        office.fingerprint))  # fmt: skip
            self.view.clear_invite_form()
            self.show_people()
            return f"Invited {name}: give them the code; it is shown only here, only now."

        self._attempt(act)

    def on_hide_code(self) -> None:
        if not self.closed:
            self.view.hide_code()

    def on_change_role(self) -> None:
        p = self.chosen
        if p is None:
            return

        def act() -> str | None:
            role = other_role(p.role)
            if not self._confirm("Change role", role_question(p.user, role)):
                return None
            self.vault.office.set_role(p.user, role, self._now())
            self.vault.office.wake_node()
            self.show_people()
            return role_done(p.user, role)

        self._attempt(act)

    def on_revoke(self) -> None:
        p = self.chosen
        if p is None:
            return

        def act() -> str:
            self._require_admin("revoke people")
            exposed = self.vault.exposed(p.user)
            if not self._confirm(f"Revoke {p.user}", revoke_warning(p.user, p.devices, exposed)):
                return f"{p.user} was not revoked."
            devices = self.vault.office.revoke(p.user, self._now())
            self.vault.office.wake_node()
            self.show_people()
            return revoke_done(p.user, len(devices))

        self._attempt(act)

    # -- the audit trail ---------------------------------------------------------------
    def load_audit(self) -> None:
        """Read the trail again (shown on the Audit tab, and by its Refresh button)."""

        def act() -> None:
            self._require_admin("read the audit trail")
            self.events = self.vault.audit()
            users = [u.user for u in self.vault.office.users()]
            self.view.show_audit_users(audit_users(self.events, users))
            self._show_audit()

        self._attempt(act)

    def on_audit_filter(self, user: str, action: str, text: str, since: str) -> None:
        self.query, self.since_problem = AuditQuery.typed(user, action, text, since)
        if self.events is not None and not self._gone():
            self._show_audit()

    def _show_audit(self) -> None:
        self.shown = filter_audit(self.events or [], self.query)
        rows, count = audit_rows(self.shown)
        self.view.show_audit(rows, count, self.since_problem)

    def on_export_audit(self) -> None:
        def act() -> str | None:
            if self.events is None:
                self.load_audit()
                if self.events is None:
                    return None  # load_audit said why
            path = self._save_file("Export the audit trail", "audit.csv", file_kinds("csv"))
            if path is None:
                return None
            atomic_write(path, audit_csv(self.shown))
            count = len(self.shown)
            return f"Wrote {count} change{'' if count == 1 else 's'} to {path}."

        self._attempt(act)

    # -- import and export -------------------------------------------------------------
    def on_import(self, fmt: str) -> None:
        def act() -> str | None:
            self._require_admin("import entries")
            path = self._open_file(f"Import a {fmt} file", file_kinds(fmt))
            if path is None:
                return None
            data = read_capped(path, importers.MAX_INPUT_SIZE, "import file")
            rows, bad = importers.parse(data, fmt)
            del data
            total = len(rows)
            self.view.show_summary("")
            self.view.show_progress(0, total)
            if rows:
                self.vault.add_many([r.fields for r in rows], self._now(),
                                    lambda done: self._progress(done, total))  # fmt: skip
                self.vault.office.wake_node()
            summary = import_summary(total, str(path), bad)
            self.view.show_summary(summary)
            return summary.splitlines()[0]

        self._attempt(act)

    def on_export(self, fmt: str) -> None:
        def act() -> str | None:
            self._require_admin("export the vault")
            if fmt not in exporters.EXPORT_FORMATS:
                raise UserError(f"choose a format: {', '.join(exporters.EXPORT_FORMATS)}")
            suffix = "json" if fmt.endswith("json") else "csv"
            kinds = file_kinds(fmt)
            path = self._save_file("Export every entry", f"officevault-export.{suffix}", kinds)
            if path is None:
                return None
            if path.exists():
                raise UserError(f"{path} exists; choose a new file name")
            if not self._confirm("Export every password", export_question(fmt, str(path))):
                return "Nothing was exported."
            rows, unreadable = self.vault.rows()
            write_new(path, exporters.export(rows, fmt))
            summary = export_summary(len(rows), str(path), unreadable)
            self.view.show_summary(summary)
            return summary.splitlines()[0]

        self._attempt(act)

    def _progress(self, done: int, total: int) -> None:
        if not self.closed:  # update_idletasks runs idle callbacks, which may close it
            self.view.show_progress(done, total)
