"""The main screen: categories on the left, search and the entry list in the middle, the
selected entry on the right with reveal and copy buttons, a status line at the bottom.

Dumb: it draws ListView rows, a detail mapping and a status text it is given, and
reports the user's acts through the callbacks; it decides nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from tkinter import Misc

import ttkbootstrap as ttk

from gui.actions import Actions
from gui.entry_list import ListView
from gui.widgets.entry_table import EntryTable

COLUMNS = (("title", "Title", 190), ("username", "Username", 120), ("category", "Category", 90),
           ("changed", "Changed", 80), ("changed_by", "By", 60))  # fmt: skip
DETAIL_FIELDS = (("title", "Title"), ("username", "Username"), ("password", "Password"),
                 ("url", "Website"), ("category", "Category"), ("notes", "Notes"))  # fmt: skip


@dataclass
class Callbacks:
    search: Callable[[str], None]
    category: Callable[[str | None], None]  # a Category.value
    select: Callable[[str], None]
    copy: Callable[[str], None]  # field name
    reveal: Callable[[], None]
    add: Callable[[], None]
    lock: Callable[[], None]
    edit: Callable[[], None]
    trash: Callable[[], None]
    restore: Callable[[], None]
    history: Callable[[], None]
    resolve: Callable[[], None]
    show_trash: Callable[[bool], None]
    admin: Callable[[], None]
    settings: Callable[[], None]


class MainView(ttk.Frame):
    def __init__(self, parent: Misc, callbacks: Callbacks) -> None:
        super().__init__(parent, padding=8)
        self._cb = callbacks
        top = ttk.Frame(self)
        top.pack(fill="x", pady=(0, 8))
        ttk.Label(top, text="Search").pack(side="left")
        self.search_text = ttk.StringVar()
        self.search = ttk.Entry(top, textvariable=self.search_text, width=40)
        self.search.pack(side="left", padx=6)
        self._search_trace = self.search_text.trace_add(
            "write", lambda *_: self._cb.search(self.search_text.get())
        )
        self.add_button = ttk.Button(top, text="+ Add", bootstyle="success", command=callbacks.add)
        self.add_button.pack(side="left")
        self.lock_button = ttk.Button(top, text="Lock", bootstyle="secondary",
                                      command=callbacks.lock)  # fmt: skip
        self.lock_button.pack(side="right")
        self.settings_button = ttk.Button(top, text="Settings", bootstyle="secondary-outline",
                                          command=callbacks.settings)  # fmt: skip
        self.settings_button.pack(side="right", padx=(0, 6))
        self.admin_button = ttk.Button(top, text="Admin panel", bootstyle="info-outline",
                                       command=callbacks.admin)  # fmt: skip
        body = ttk.Panedwindow(self, orient="horizontal")
        body.pack(fill="both", expand=True)
        self.categories = ttk.Treeview(body, show="tree", selectmode="browse", height=20)
        self.categories.column("#0", width=150)
        self.categories.bind("<<TreeviewSelect>>", self._category_chosen)
        body.add(self.categories, weight=1)
        middle = ttk.Frame(body)
        self.table = EntryTable(middle, COLUMNS, callbacks.select)
        self.table.pack(fill="both", expand=True)
        self.entries = self.table.tree  # what the tests read: only the rows on screen
        self.shown = ttk.Label(middle, text="")
        self.shown.pack(anchor="w", pady=(4, 0))
        body.add(middle, weight=4)
        self.detail = self._build_detail(body, top, callbacks)
        body.add(self.detail, weight=2)
        bar = ttk.Frame(self)
        bar.pack(fill="x", pady=(6, 0))
        self.offline_badge = ttk.Label(bar, text=" OFFLINE ", bootstyle="@danger")
        self.presence = ttk.Label(bar, text="", bootstyle="secondary")
        self.presence.pack(side="left")
        self.status = ttk.Label(bar, text="", bootstyle="secondary", anchor="e")
        self.status.pack(side="right", fill="x", expand=True)
        self.toast = ttk.Label(self, text="", bootstyle="@info", padding=(12, 8))
        self._category_values: dict[str, str | None] = {}  # tree item id -> Category.value
        self._offered: Actions | None = None  # the actions shown
        self._detail_shown: tuple[dict[str, str], bool, str] | None = None

    def _build_detail(self, body: Misc, top: Misc, callbacks: Callbacks) -> ttk.Frame:
        """The right-hand pane: the selected entry, copy and reveal, the admin buttons."""
        detail = ttk.Frame(body, padding=(12, 0))
        self.detail = detail
        self.values: dict[str, ttk.Label] = {}
        for row, (name, label) in enumerate(DETAIL_FIELDS):
            name_label = ttk.Label(self.detail, text=label, bootstyle="secondary")
            name_label.grid(row=row, column=0, sticky="w", pady=2)
            self.values[name] = ttk.Label(self.detail, text="", wraplength=200)
            self.values[name].grid(row=row, column=1, sticky="w", pady=2)
        buttons = ttk.Frame(self.detail)  # two short rows: the pane is narrow
        buttons.grid(row=len(DETAIL_FIELDS), column=0, columnspan=2, sticky="w", pady=(8, 0))
        self.copy_user = ttk.Button(buttons, text="Copy username", bootstyle="secondary-outline",
                                    command=lambda: self._cb.copy("username"))  # fmt: skip
        self.copy_user.grid(row=0, column=0, sticky="ew", padx=(0, 4), pady=2)
        self.copy_password = ttk.Button(buttons, text="Copy password", bootstyle="primary",
                                        command=lambda: self._cb.copy("password"))  # fmt: skip
        self.copy_password.grid(row=0, column=1, sticky="ew", pady=2)
        self.reveal = ttk.Button(buttons, text="Reveal password", bootstyle="secondary-outline",
                                 command=callbacks.reveal)  # fmt: skip
        self.reveal.grid(row=1, column=1, sticky="ew", pady=2)
        self.banner = ttk.Label(self.detail, text="", bootstyle="warning", wraplength=280)
        self.banner.grid(row=len(DETAIL_FIELDS) + 2, column=0, columnspan=2, sticky="w",
                         pady=(12, 0))  # fmt: skip
        admin = ttk.Frame(self.detail)
        admin.grid(row=len(DETAIL_FIELDS) + 1, column=0, columnspan=2, sticky="w", pady=(12, 0))
        self.admin_buttons = {
            name: ttk.Button(admin, text=text, bootstyle=style, command=command)
            for name, text, style, command in (
                ("edit", "Edit", "secondary", callbacks.edit),
                ("trash", "Trash it", "danger", callbacks.trash),
                ("restore", "Restore", "success", callbacks.restore),
                ("history", "History", "secondary", callbacks.history),
                ("resolve", "Resolve", "warning", callbacks.resolve),
            )
        }  # fmt: skip
        self.trash_shown = ttk.BooleanVar(value=False)
        self.trash_toggle = ttk.Checkbutton(top, text="Trash", variable=self.trash_shown,
                                            command=lambda: callbacks.show_trash(
                                                self.trash_shown.get()))  # fmt: skip
        return detail

    def destroy(self) -> None:
        """Gone with the lock: the search text and its watcher too (the watcher would keep
        this view, and the window behind it, alive)."""
        self.search_text.trace_remove("write", self._search_trace)
        self.search_text.set("")
        super().destroy()

    # -- drawing ------------------------------------------------------------------------
    def show_list(self, view: ListView, selected: str | None) -> None:
        """Draw `view`: the table holds only the rows on screen, so a keystroke's repaint
        costs the same at 10,000 entries as at 10."""
        self.table.show(view.rows, selected)
        self.shown.configure(text=view.shown)
        known = self.categories.get_children()
        wanted = [c.label for c in view.categories]
        if [self.categories.item(i, "text") for i in known] != wanted:
            self.categories.delete(*known)
            # generated item ids: a category may be named anything, "" included
            self._category_values = {f"c{i}": c.value for i, c in enumerate(view.categories)}
            for i, c in enumerate(view.categories):
                self.categories.insert("", "end", iid=f"c{i}", text=c.label)

    def show_detail(self, values: Mapping[str, str], can_copy: bool, banner: str = "") -> None:
        """The selected entry (`values`; empty: none), and a banner over a conflict."""
        shown = (dict(values), can_copy, banner)
        if shown == self._detail_shown:
            return  # unchanged (a keystroke in search): nothing to lay out again
        self._detail_shown = shown
        for name, label in self.values.items():
            label.configure(text=values.get(name, ""))
        self.banner.configure(text=banner)
        state = "normal" if can_copy else "disabled"
        for button in (self.copy_user, self.copy_password, self.reveal):
            button.configure(state=state)

    def show_actions(self, offered: Actions) -> None:
        """Show the buttons the role is offered (members see no admin button; a PC that
        is no longer a member, none at all). Only a change is drawn: packing a widget
        again lays out its whole bar, which a keystroke must not cost."""
        if offered == self._offered:
            return
        self._offered = offered
        self.add_button.configure(state="normal" if offered.add else "disabled")
        for name, button in self.admin_buttons.items():
            if getattr(offered, name):
                button.pack(side="left", padx=(0, 4))
            else:
                button.pack_forget()
        if offered.admin_panel:
            self.trash_toggle.pack(side="right", padx=8)
            self.admin_button.pack(side="right", padx=(0, 6))
        else:
            self.trash_toggle.pack_forget()
            self.admin_button.pack_forget()

    def show_status(self, text: str) -> None:
        self.status.configure(text=text)

    def show_presence(self, text: str, offline: bool) -> None:
        """The status bar's left side: who is online and the admin node, or offline."""
        self.presence.configure(text=text)
        if offline:
            self.offline_badge.pack(side="left", padx=(0, 6), before=self.presence)
        else:
            self.offline_badge.pack_forget()

    def show_toast(self, text: str | None) -> None:
        """A notice over the bottom right corner of the window (None: take it away)."""
        if text:
            self.toast.configure(text=text)
            self.toast.place(relx=1.0, rely=1.0, x=-12, y=-40, anchor="se")
            self.toast.lift()
        else:
            self.toast.place_forget()

    # -- input -------------------------------------------------------------------------
    def _category_chosen(self, _event: object) -> None:
        chosen = self.categories.selection()
        if chosen and chosen[0] in self._category_values:
            self._cb.category(self._category_values[chosen[0]])
