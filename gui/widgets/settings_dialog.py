"""The settings dialog: clipboard clearing, the idle lock, the tray, start with Windows.

Dumb: `on_save` gets the typed values (numbers as text, switches as bools);
`show_problems` puts gui/settings.py's messages next to their fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from tkinter import Misc

import ttkbootstrap as ttk

from gui.settings import Settings

NUMBERS = (("clipboard_seconds", "Clear a copied value from the clipboard after (seconds)"),
           ("idle_minutes", "Lock after this many minutes without use"))  # fmt: skip


class SettingsDialog(ttk.Toplevel):
    def __init__(
        self,
        parent: Misc,
        current: Settings,
        windows: bool,
        on_save: Callable[[dict[str, str | bool]], None],
    ) -> None:
        super().__init__(master=parent, title="Settings")
        self._on_save = on_save
        body = ttk.Frame(self, padding=16)
        body.pack(fill="both", expand=True)
        self.vars: dict[str, ttk.StringVar] = {}
        self.problems: dict[str, ttk.Label] = {}
        for row, (name, label) in enumerate(NUMBERS):
            ttk.Label(body, text=label).grid(row=2 * row, column=0, sticky="w")
            self.vars[name] = ttk.StringVar(value=str(getattr(current, name)))
            ttk.Entry(body, textvariable=self.vars[name], width=8).grid(
                row=2 * row, column=1, sticky="w", padx=(8, 0), pady=(6, 0))  # fmt: skip
            self.problems[name] = ttk.Label(body, text="", bootstyle="danger")
            self.problems[name].grid(row=2 * row + 1, column=0, columnspan=2, sticky="w")
        self.switches = {
            "close_to_tray": ttk.BooleanVar(value=current.close_to_tray),
            "start_with_windows": ttk.BooleanVar(value=current.start_with_windows),
        }
        row = 2 * len(NUMBERS)
        ttk.Checkbutton(body, text="Closing the window keeps OfficeVault in the tray (Windows)",
                        variable=self.switches["close_to_tray"]).grid(
            row=row, column=0, columnspan=2, sticky="w", pady=(8, 0))  # fmt: skip
        if windows:
            ttk.Checkbutton(body, text="Start OfficeVault with Windows",
                            variable=self.switches["start_with_windows"]).grid(
                row=row + 1, column=0, columnspan=2, sticky="w", pady=(4, 0))  # fmt: skip
        buttons = ttk.Frame(body)
        buttons.grid(row=row + 2, column=0, columnspan=2, sticky="e", pady=(12, 0))
        self.cancel = ttk.Button(buttons, text="Cancel", bootstyle="secondary",
                                 command=self.destroy)  # fmt: skip
        self.cancel.pack(side="right")
        self.save = ttk.Button(buttons, text="Save", bootstyle="primary", command=self.submit)
        self.save.pack(side="right", padx=6)

    def submit(self) -> None:
        values: dict[str, str | bool] = {name: var.get() for name, var in self.vars.items()}
        values.update({name: var.get() for name, var in self.switches.items()})
        self._on_save(values)

    def show_problems(self, problems: Mapping[str, str]) -> None:
        for name, label in self.problems.items():
            label.configure(text=problems.get(name, ""))
