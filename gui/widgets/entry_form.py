"""The add/edit form: every field, a category picker, a password generator, a strength
meter, and a message next to each field that is wrong.

Dumb: `on_save` gets the typed values; `show_problems` puts the presenter's messages
next to their fields; `set_password` and `show_strength` are what the generator and
meter buttons end in. The window closes it on lock (and it holds no secret once
destroyed: its variables are emptied).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from tkinter import Misc
from tkinter.ttk import Widget

import ttkbootstrap as ttk

from gui.forms import LABELS
from gui.passwords import Strength

FIELDS = ("title", "username", "password", "url", "category", "notes")


class EntryForm(ttk.Toplevel):
    def __init__(
        self,
        parent: Misc,
        heading: str,
        categories: Sequence[str],
        values: Mapping[str, str],
        on_save: Callable[[dict[str, str]], None],
        on_generate: Callable[[], None],
        on_password: Callable[[str], None],
    ) -> None:
        super().__init__(master=parent, title=heading)
        self._on_save = on_save
        body = ttk.Frame(self, padding=16)
        body.pack(fill="both", expand=True)
        self.vars: dict[str, ttk.StringVar] = {}
        self.problems: dict[str, ttk.Label] = {}
        self.inputs: dict[str, Widget] = {}
        for row, name in enumerate(FIELDS):
            ttk.Label(body, text=LABELS[name]).grid(row=2 * row, column=0, sticky="w")
            var = ttk.StringVar(value=values.get(name, ""))
            self.vars[name] = var
            widget: Widget
            if name == "category":
                widget = ttk.Combobox(body, textvariable=var, values=list(categories), width=38)
            else:
                widget = ttk.Entry(body, textvariable=var, width=40,
                                   show="•" if name == "password" else "")  # fmt: skip
            widget.grid(row=2 * row, column=1, sticky="we", pady=(6, 0))
            self.inputs[name] = widget
            self.problems[name] = ttk.Label(body, text="", bootstyle="danger")
            self.problems[name].grid(row=2 * row + 1, column=1, sticky="w")
        tools = ttk.Frame(body)
        tools.grid(row=2 * len(FIELDS), column=1, sticky="we", pady=(6, 0))
        self.generate = ttk.Button(tools, text="Generate", command=on_generate)
        self.generate.pack(side="left")
        self.meter = ttk.Progressbar(tools, maximum=1.0, length=160)
        self.meter.pack(side="left", padx=8)
        self.strength = ttk.Label(tools, text="")
        self.strength.pack(side="left")
        self.vars["password"].trace_add(
            "write", lambda *_: on_password(self.vars["password"].get())
        )
        buttons = ttk.Frame(body)
        buttons.grid(row=2 * len(FIELDS) + 1, column=0, columnspan=2, sticky="e", pady=(12, 0))
        self.cancel = ttk.Button(buttons, text="Cancel", bootstyle="secondary",
                                 command=self.destroy)  # fmt: skip
        self.cancel.pack(side="right")
        self.save = ttk.Button(buttons, text="Save", bootstyle="primary", command=self.submit)
        self.save.pack(side="right", padx=6)

    def destroy(self) -> None:
        """Close, leaving nothing typed in Tcl: each variable is emptied and its watcher
        removed (a watcher would keep the variable, and its value, alive)."""
        for var in self.vars.values():
            for modes, callback in var.trace_info():
                for mode in modes:
                    var.trace_remove(mode, callback)
            var.set("")
        super().destroy()

    def submit(self) -> None:
        self._on_save({name: var.get() for name, var in self.vars.items()})

    def show_problems(self, problems: Mapping[str, str]) -> None:
        for name, label in self.problems.items():
            label.configure(text=problems.get(name, ""))

    def set_password(self, password: str) -> None:
        self.vars["password"].set(password)

    def show_strength(self, strength: Strength) -> None:
        self.meter.configure(value=strength.fraction)
        self.strength.configure(text=strength.label)
