"""The first-launch wizard's pages: a choice (create an office or join one), the create
form, the join form (an "Advanced" admin PC address for networks without multicast),
a status line with a progress bar while the work runs, and the page after "Create".

Dumb: the forms hand their fields' values (a dict of strings) to `on_create` / `on_join`
and show what the presenter (gui/wizard_screen.py) tells them: problems per field, a
status line, busy or not. Nothing here checks a value, keeps a password or runs work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from tkinter import Misc
from typing import Any

import ttkbootstrap as ttk

from gui.wizard import CreatedShown

Values = dict[str, str]
Field = tuple[str, str, bool]  # name, label, secret
CREATE_FIELDS: tuple[Field, ...] = (
    ("office", "Office name", False),
    ("name", "Your name", False),
    ("password", "A password for this PC", True),
    ("again", "The password again", True),
)
JOIN_FIELDS: tuple[Field, ...] = (
    ("code", "Invite code", False),
    ("name", "Your name (as on your invite)", False),
    ("password", "A password for this PC", True),
    ("again", "The password again", True),
)
PEER_FIELD: Field = ("peer", "Admin PC address (HOST:PORT)", False)
TITLE = ("TkDefaultFont", 16, "bold")
WRAP = 560


class FormPage(ttk.Frame):
    """A title, fields with a problem label each, buttons, a status line, a progress bar."""

    def __init__(
        self,
        parent: Misc,
        title: str,
        intro: str,
        fields: Sequence[Field],
        submit: str,
        on_submit: Callable[[], None],
        on_back: Callable[[], None],
    ) -> None:
        super().__init__(parent)
        ttk.Label(self, text=title, font=TITLE).pack(anchor="w")
        ttk.Label(self, text=intro, wraplength=WRAP).pack(anchor="w", pady=(4, 12))
        self.entries: dict[str, ttk.Entry] = {}
        self.problems: dict[str, ttk.Label] = {}
        self.grid_frame = ttk.Frame(self)
        self.grid_frame.pack(anchor="w", fill="x")
        for field in fields:
            self.add_field(self.grid_frame, field, on_submit)
        self.extra = ttk.Frame(self)  # the join page's "Advanced"
        self.extra.pack(anchor="w", fill="x")
        buttons = ttk.Frame(self)
        buttons.pack(anchor="w", pady=(12, 0))
        self.submit_button = ttk.Button(buttons, text=submit, bootstyle="primary",
                                        command=on_submit)  # fmt: skip
        self.submit_button.pack(side="left")
        self.back_button = ttk.Button(buttons, text="Back", bootstyle="secondary-outline",
                                      command=on_back)  # fmt: skip
        self.back_button.pack(side="left", padx=(8, 0))
        self.cancel_button = ttk.Button(buttons, text="Cancel", bootstyle="danger-outline")
        self.progress = ttk.Progressbar(self, mode="indeterminate", length=300,
                                        bootstyle="info-striped")  # fmt: skip
        self.status = ttk.Label(self, text="", wraplength=WRAP)
        self.status.pack(anchor="w", pady=(8, 0))
        self._busy = False

    def add_field(self, parent: ttk.Frame, field: Field, on_submit: Callable[[], None]) -> None:
        name, label, secret = field
        row = len(parent.grid_slaves(column=0))
        ttk.Label(parent, text=label).grid(row=row, column=0, sticky="w", pady=3)
        entry = ttk.Entry(parent, width=36, show="•" if secret else "")
        entry.grid(row=row, column=1, sticky="w", padx=8, pady=3)
        entry.bind("<Return>", lambda _e: on_submit())
        problem = ttk.Label(parent, text="", bootstyle="danger", wraplength=300)
        problem.grid(row=row, column=2, sticky="w")
        entry.bind("<Key>", lambda _e: problem.configure(text=""), add="+")  # being fixed
        self.entries[name], self.problems[name] = entry, problem

    def values(self) -> Values:
        return {name: entry.get() for name, entry in self.entries.items()}

    def clear_secrets(self) -> None:
        for entry in self.entries.values():
            if entry.cget("show"):
                entry.delete(0, "end")

    def show_problems(self, problems: Mapping[str, str]) -> None:
        for name, label in self.problems.items():
            label.configure(text=problems.get(name, ""))

    def show_status(self, text: str, error: bool = False) -> None:
        self.status.configure(text=text, bootstyle="danger" if error else "default")

    def set_busy(self, busy: bool, cancellable: bool = False) -> None:
        """While busy: the bar runs, the fields and buttons are off (but Cancel)."""
        if busy == self._busy:
            return
        self._busy = busy
        state = "disabled" if busy else "normal"
        for entry in self.entries.values():
            entry.configure(state=state)
        for button in (self.submit_button, self.back_button):
            button.configure(state=state)
        if busy:
            self.progress.pack(anchor="w", pady=(12, 0), before=self.status)
            self.progress.start(15)
            if cancellable:
                self.cancel_button.configure(state="normal")
                self.cancel_button.pack(side="left", padx=(8, 0))
        else:
            self.progress.stop()
            self.progress.pack_forget()
            self.cancel_button.pack_forget()

    def destroy(self) -> None:
        self.progress.stop()
        super().destroy()


class WizardView(ttk.Frame):
    """The wizard's four pages in one frame; `show(page)` picks one."""

    PAGES = ("choice", "create", "join", "created")

    def __init__(
        self,
        parent: Misc,
        on_create: Callable[[Values], None],
        on_join: Callable[[Values], None],
        on_cancel: Callable[[], None],
        on_continue: Callable[[], None],
    ) -> None:
        super().__init__(parent, padding=40)
        self.choice = self._choice_page()
        self.create = FormPage(
            self, "Create a new office vault",
            "You become its admin. It lives on this PC; the office's other PCs join it with "
            "invite codes you make.",
            CREATE_FIELDS, "Create the office",
            lambda: on_create(self.create.values()), lambda: self.show("choice"),
        )  # fmt: skip
        self.join = FormPage(
            self, "Join with an invite code",
            "An admin of your office gives you the code. This PC finds the admin's PC on the "
            "office network and enrols itself; keep the admin's OfficeVault running.",
            JOIN_FIELDS, "Join the office",
            lambda: on_join(self.join.values()), lambda: self.show("choice"),
        )  # fmt: skip
        self.join.cancel_button.configure(command=on_cancel)
        self._advanced_box()
        self.created = ttk.Frame(self)
        self.created_labels: dict[str, ttk.Label] = {}
        self.continue_button = ttk.Button(self.created, text="Continue", bootstyle="primary",
                                          command=on_continue)  # fmt: skip
        self.page = ""
        self.show("choice")

    def _choice_page(self) -> ttk.Frame:
        page = ttk.Frame(self)
        ttk.Label(page, text="Welcome to OfficeVault", font=("TkDefaultFont", 20, "bold")
                  ).pack(anchor="w")  # fmt: skip
        ttk.Label(page, text="This PC holds no vault yet. Is it the office's first?",
                  wraplength=WRAP).pack(anchor="w", pady=(4, 24))  # fmt: skip
        self.choose_create = ttk.Button(page, text="Create a new office vault",
                                        bootstyle="primary", width=32,
                                        command=lambda: self.show("create"))  # fmt: skip
        self.choose_create.pack(anchor="w", ipady=12)
        ttk.Label(page, text="The first PC of the office: you become its admin.",
                  bootstyle="secondary").pack(anchor="w", pady=(4, 20))  # fmt: skip
        self.choose_join = ttk.Button(page, text="Join with an invite code",
                                      bootstyle="info", width=32,
                                      command=lambda: self.show("join"))  # fmt: skip
        self.choose_join.pack(anchor="w", ipady=12)
        ttk.Label(page, text="Your office already uses OfficeVault, and an admin gave you a "
                  "code.", bootstyle="secondary").pack(anchor="w", pady=(4, 0))  # fmt: skip
        return page

    def _advanced_box(self) -> None:
        """The join page's "Advanced": an admin PC address, for networks without multicast."""
        self.advanced = ttk.Checkbutton(self.join.extra, text="Advanced",
                                        bootstyle="secondary-round-toggle",
                                        command=self._toggle_advanced)  # fmt: skip
        self.advanced.pack(anchor="w", pady=(8, 0))
        self.advanced_box = ttk.Frame(self.join.extra)
        ttk.Label(self.advanced_box, text="If this PC cannot find the office by itself (a "
                  "network that blocks multicast), give the admin PC's join address: its "
                  "node's log names it.", wraplength=WRAP, bootstyle="secondary"
                  ).grid(row=0, column=0, columnspan=3, sticky="w")  # fmt: skip
        self.join.add_field(self.advanced_box, PEER_FIELD, self.join.submit_button.invoke)
        self.advanced.state(["!alternate", "!selected"])

    def _toggle_advanced(self) -> None:
        if self.advanced.instate(["selected"]):
            self.advanced_box.pack(anchor="w", fill="x", pady=(4, 0))
        else:
            self.advanced_box.pack_forget()

    def open_advanced(self) -> None:
        if not self.advanced.instate(["selected"]):
            self.advanced.invoke()

    def show(self, page: str) -> None:
        if page not in self.PAGES:
            raise ValueError(f"no wizard page {page!r}")
        for frame in (self.choice, self.create, self.join, self.created):
            frame.pack_forget()
        {"choice": self.choice, "create": self.create, "join": self.join,
         "created": self.created}[page].pack(fill="both", expand=True)  # fmt: skip
        self.page = page
        form = {"create": self.create, "join": self.join}.get(page)
        if form is not None:
            next(iter(form.entries.values())).focus_set()

    def show_created(self, shown: CreatedShown) -> None:
        """The page after "Create": fingerprint, recovery kit and code, how to invite."""
        for child in self.created.winfo_children():
            if child is not self.continue_button:
                child.destroy()
        self.continue_button.pack_forget()
        parts: tuple[tuple[str, str, dict[str, Any]], ...] = (
            ("heading", shown.heading, {"font": TITLE}),
            ("fingerprint", shown.fingerprint, {"font": ("TkFixedFont", 13, "bold")}),
            ("kit", shown.kit, {}),
            ("code", f"Recovery code: {shown.recovery_code}",
             {"font": ("TkFixedFont", 13, "bold"), "bootstyle": "warning"}),
            ("keep", shown.keep_apart, {"wraplength": WRAP}),
            ("invite", shown.invite_how, {"wraplength": WRAP}),
        )  # fmt: skip
        for name, text, options in parts:
            label = ttk.Label(self.created, text=text, **options)
            label.pack(anchor="w", pady=(0, 10))
            self.created_labels[name] = label
        self.continue_button.pack(anchor="w", pady=(8, 0))
        self.show("created")
