"""The admin panel's window: a Toplevel with three tabs (People, Audit, Import/Export)
and a status line.

Dumb: it draws the rows, texts and progress it is given (gui/admin.py makes them) and
reports the admin's acts through AdminCallbacks; it decides nothing, reads no vault and
keeps nothing but what it shows. The invite code it shows is cleared by `hide_code`, and
never exported to the X selection (PRIMARY), which any X client may read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from tkinter import Misc

import ttkbootstrap as ttk

from gui.admin import AUDIT_ACTIONS, LIFETIMES, ROLES, InviteShown

TABS = ("people", "audit", "import")
PEOPLE_TABLE = (("user", "User", 160), ("role", "Role", 80), ("pcs", "PCs", 50),
                ("revoked", "Revoked PCs", 90), ("status", "Status", 360))  # fmt: skip
# in the order of gui.admin.AuditRow
AUDIT_TABLE = (("when", "When (UTC)", 150), ("user", "User", 90), ("action", "Action", 80),
               ("title", "Title", 220), ("entry", "Entry", 110),
               ("fields", "Fields changed", 200))  # fmt: skip
CODE_FONT = ("TkFixedFont", 22, "bold")


@dataclass
class AdminCallbacks:
    select_person: Callable[[int | None], None]  # the row's index in the last show_people
    invite: Callable[[str, str, str], None]  # user, role, lifetime
    hide_code: Callable[[], None]
    change_role: Callable[[], None]
    revoke: Callable[[], None]
    tab: Callable[[str], None]  # one of TABS
    audit_filter: Callable[[str, str, str, str], None]  # user, action, text, since
    refresh_audit: Callable[[], None]
    export_audit: Callable[[], None]
    import_file: Callable[[str], None]  # format
    export_file: Callable[[str], None]  # format
    close: Callable[[], None]


class AdminView(ttk.Toplevel):
    def __init__(
        self,
        parent: Misc,
        title: str,
        callbacks: AdminCallbacks,
        import_formats: Sequence[str],
        export_formats: Sequence[str],
    ) -> None:
        super().__init__(master=parent, title=title, size=(940, 620))
        self._cb = callbacks
        self.protocol("WM_DELETE_WINDOW", callbacks.close)
        self.notebook = ttk.Notebook(self)
        self.notebook.pack(fill="both", expand=True, padx=8, pady=8)
        tabs = (self._people_tab(), self._audit_tab(),
                self._import_tab(import_formats, export_formats))  # fmt: skip
        for frame, text in zip(tabs, ("People", "Audit", "Import / Export"), strict=True):
            self.notebook.add(frame, text=text)
        self.notebook.bind("<<NotebookTabChanged>>", self._tab_changed)
        self.status = ttk.Label(self, text="", bootstyle="secondary", wraplength=900)
        self.status.pack(fill="x", padx=10, pady=(0, 8))

    # -- building ---------------------------------------------------------------------
    def _people_tab(self) -> ttk.Frame:
        tab = ttk.Frame(self.notebook, padding=10)
        self.people = ttk.Treeview(tab, columns=[c[0] for c in PEOPLE_TABLE], show="headings",
                                   selectmode="browse", height=8)  # fmt: skip
        for name, heading, width in PEOPLE_TABLE:
            self.people.heading(name, text=heading, anchor="w")
            self.people.column(name, width=width, anchor="w")
        self.people.bind("<<TreeviewSelect>>", self._person_chosen)
        self.people.pack(fill="both", expand=True)
        acts = ttk.Frame(tab)
        acts.pack(fill="x", pady=8)
        self.role_button = ttk.Button(acts, text="Change role", bootstyle="secondary",
                                      command=self._cb.change_role, state="disabled")  # fmt: skip
        self.role_button.pack(side="left")
        self.revoke_button = ttk.Button(acts, text="Revoke…", bootstyle="danger",
                                        command=self._cb.revoke, state="disabled")  # fmt: skip
        self.revoke_button.pack(side="left", padx=6)
        form = ttk.Labelframe(tab, text="Invite a person or a new PC", padding=8)
        form.pack(fill="x")
        self.invite_user = ttk.StringVar()
        self.invite_role = ttk.StringVar(value=ROLES[0])
        self.invite_lifetime = ttk.StringVar(value="24h")
        ttk.Label(form, text="User name").pack(side="left")
        self.invite_entry = ttk.Entry(form, textvariable=self.invite_user, width=20)
        self.invite_entry.pack(side="left", padx=6)
        ttk.Label(form, text="Role").pack(side="left")
        self.role_choice = ttk.Combobox(form, textvariable=self.invite_role, values=ROLES,
                                        state="readonly", width=9)  # fmt: skip
        self.role_choice.pack(side="left", padx=6)
        ttk.Label(form, text="Valid for").pack(side="left")
        lifetime = self.invite_lifetime
        self.lifetime_choice = ttk.Combobox(form, textvariable=lifetime, values=LIFETIMES,
                                            state="readonly", width=5)  # fmt: skip
        self.lifetime_choice.pack(side="left", padx=6)
        self.invite_button = ttk.Button(form, text="Invite", bootstyle="success",
                                        command=self._invite)  # fmt: skip
        self.invite_button.pack(side="left")
        self.code_box = self._code_box(tab)
        return tab

    def _code_box(self, tab: ttk.Frame) -> ttk.Frame:
        box = ttk.Frame(tab, padding=(0, 10, 0, 0))
        self.code_heading = ttk.Label(box, text="", font=("TkDefaultFont", 11, "bold"))
        self.code_heading.pack(anchor="w")
        self.code_text = ttk.StringVar()
        # exportselection=False: selecting the code (show_code does) must not offer it to
        # every X client as the PRIMARY selection
        self.code = ttk.Entry(box, textvariable=self.code_text, state="readonly",
                              font=CODE_FONT, justify="center", width=30,
                              exportselection=False)  # fmt: skip
        self.code.pack(anchor="w", pady=6)
        self.code_expires = ttk.Label(box, text="", wraplength=880)
        self.code_expires.pack(anchor="w")
        self.code_fingerprint = ttk.Label(box, text="", bootstyle="info", wraplength=880)
        self.code_fingerprint.pack(anchor="w", pady=(2, 6))
        self.code_done = ttk.Button(box, text="Done: hide the code", bootstyle="secondary",
                                    command=self._cb.hide_code)  # fmt: skip
        self.code_done.pack(anchor="w")
        return box

    def _audit_tab(self) -> ttk.Frame:
        tab = ttk.Frame(self.notebook, padding=10)
        filters = ttk.Frame(tab)
        filters.pack(fill="x")
        self.audit_user, self.audit_action = ttk.StringVar(value="(any)"), ttk.StringVar()
        self.audit_text, self.audit_since = ttk.StringVar(), ttk.StringVar()
        self.audit_action.set(AUDIT_ACTIONS[0])
        ttk.Label(filters, text="User").pack(side="left")
        self.user_choice = ttk.Combobox(filters, textvariable=self.audit_user, width=14)
        self.user_choice.pack(side="left", padx=(4, 10))
        ttk.Label(filters, text="Action").pack(side="left")
        ttk.Combobox(filters, textvariable=self.audit_action, values=AUDIT_ACTIONS,
                     state="readonly", width=10).pack(side="left", padx=(4, 10))  # fmt: skip
        ttk.Label(filters, text="Entry or title").pack(side="left")
        ttk.Entry(filters, textvariable=self.audit_text, width=16).pack(side="left", padx=4)
        ttk.Label(filters, text="Since (YYYY-MM-DD)").pack(side="left", padx=(6, 0))
        ttk.Entry(filters, textvariable=self.audit_since, width=12).pack(side="left", padx=4)
        for var in (self.audit_user, self.audit_action, self.audit_text, self.audit_since):
            var.trace_add("write", lambda *_: self._filtered())
        bar = ttk.Frame(tab)
        bar.pack(fill="x", pady=6)
        self.audit_count = ttk.Label(bar, text="")
        self.audit_count.pack(side="left")
        self.since_problem = ttk.Label(bar, text="", bootstyle="warning")
        self.since_problem.pack(side="left", padx=10)
        self.export_audit_button = ttk.Button(bar, text="Export CSV…", bootstyle="primary",
                                              command=self._cb.export_audit)  # fmt: skip
        self.export_audit_button.pack(side="right")
        ttk.Button(bar, text="Refresh", bootstyle="secondary",
                   command=self._cb.refresh_audit).pack(side="right", padx=6)  # fmt: skip
        self.audit = ttk.Treeview(tab, columns=[c[0] for c in AUDIT_TABLE], show="headings",
                                  selectmode="none")  # fmt: skip
        for name, heading, width in AUDIT_TABLE:
            self.audit.heading(name, text=heading, anchor="w")
            self.audit.column(name, width=width, anchor="w")
        self.audit.pack(fill="both", expand=True)
        return tab

    def _import_tab(
        self, import_formats: Sequence[str], export_formats: Sequence[str]
    ) -> ttk.Frame:
        tab = ttk.Frame(self.notebook, padding=10)
        box = ttk.Labelframe(tab, text="Import from another password manager", padding=10)
        box.pack(fill="x")
        self.import_format = ttk.StringVar(value=import_formats[0])
        ttk.Label(box, text="Format").pack(side="left")
        ttk.Combobox(box, textvariable=self.import_format, values=list(import_formats),
                     state="readonly", width=16).pack(side="left", padx=6)  # fmt: skip
        self.import_button = ttk.Button(box, text="Choose a file and import…", bootstyle="primary",
                                        command=lambda: self._cb.import_file(
                                            self.import_format.get()))  # fmt: skip
        self.import_button.pack(side="left", padx=6)
        self.progress = ttk.Progressbar(tab, mode="determinate", maximum=1, value=0,
                                        bootstyle="success")  # fmt: skip
        self.progress.pack(fill="x", pady=(10, 4))
        self.summary = ttk.Text(tab, height=9, wrap="word", state="disabled")
        self.summary.pack(fill="both", expand=True)
        out = ttk.Labelframe(tab, text="Export every entry", padding=10)
        out.pack(fill="x", pady=(10, 0))
        self.export_format = ttk.StringVar(value=export_formats[0])
        ttk.Label(out, text="Format").pack(side="left")
        ttk.Combobox(out, textvariable=self.export_format, values=list(export_formats),
                     state="readonly", width=16).pack(side="left", padx=6)  # fmt: skip
        self.export_button = ttk.Button(out, text="Export…", bootstyle="danger",
                                        command=lambda: self._cb.export_file(
                                            self.export_format.get()))  # fmt: skip
        self.export_button.pack(side="left", padx=6)
        ttk.Label(out, text="The file holds every password unencrypted.",
                  bootstyle="danger").pack(side="left", padx=6)  # fmt: skip
        return tab

    # -- input --------------------------------------------------------------------------
    def _tab_changed(self, _event: object) -> None:
        self._cb.tab(TABS[self.notebook.index("current")])

    def _person_chosen(self, _event: object) -> None:
        chosen = self.people.selection()
        self._cb.select_person(int(chosen[0]) if chosen else None)

    def _invite(self) -> None:
        self._cb.invite(self.invite_user.get(), self.invite_role.get(), self.invite_lifetime.get())

    def _filtered(self) -> None:
        self._cb.audit_filter(self.audit_user.get(), self.audit_action.get(),
                              self.audit_text.get(), self.audit_since.get())  # fmt: skip

    # -- drawing ------------------------------------------------------------------------
    def show_people(self, rows: Sequence[Sequence[str]]) -> None:
        """Draw the people table; row i's item id is str(i). The selection is cleared."""
        self.people.delete(*self.people.get_children())
        for i, cells in enumerate(rows):
            self.people.insert("", "end", iid=str(i), values=list(cells))

    def select_person(self, index: int) -> None:
        self.people.selection_set(str(index))

    def show_person_actions(self, can_change_role: bool, role_label: str, can_revoke: bool) -> None:
        self.role_button.configure(text=role_label,
                                   state="normal" if can_change_role else "disabled")  # fmt: skip
        self.revoke_button.configure(state="normal" if can_revoke else "disabled")

    def show_invite_roles(self, roles: Sequence[str]) -> None:
        """Offer these roles in the invite form; none disables the form."""
        state, choice = ("normal", "readonly") if roles else ("disabled", "disabled")
        self.role_choice.configure(values=list(roles), state=choice)
        self.lifetime_choice.configure(state=choice)
        if self.invite_role.get() not in roles:
            self.invite_role.set(roles[0] if roles else "")
        self.invite_entry.configure(state=state)
        self.invite_button.configure(state=state)

    def show_code(self, code: str, shown: InviteShown) -> None:
        self.code_heading.configure(text=shown.heading)
        self.code_text.set(code)
        self.code_expires.configure(text=shown.expires)
        self.code_fingerprint.configure(text=shown.fingerprint)
        self.code_box.pack(fill="x")
        self.code.focus_set()
        self.code.select_range(0, "end")

    def hide_code(self) -> None:
        self.code_text.set("")
        for label in (self.code_heading, self.code_expires, self.code_fingerprint):
            label.configure(text="")
        self.code_box.pack_forget()

    def clear_invite_form(self) -> None:
        self.invite_user.set("")

    def show_audit(self, rows: Sequence[Sequence[str]], count: str, since_problem: str) -> None:
        self.audit.delete(*self.audit.get_children())
        for cells in rows:
            self.audit.insert("", "end", values=list(cells))
        self.audit_count.configure(text=count)
        self.since_problem.configure(text=since_problem)

    def show_audit_users(self, users: Sequence[str]) -> None:
        self.user_choice.configure(values=list(users))

    def show_progress(self, done: int, total: int) -> None:
        """Move the import's bar and paint it now (the import runs on this thread)."""
        self.progress.configure(maximum=max(total, 1), value=done)
        self.update_idletasks()

    def show_summary(self, text: str) -> None:
        self.summary.configure(state="normal")
        self.summary.delete("1.0", "end")
        self.summary.insert("1.0", text)
        self.summary.configure(state="disabled")

    def show_status(self, text: str) -> None:
        self.status.configure(text=text)
