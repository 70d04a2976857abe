"""Admin dialogs: an entry's history, and a conflict's versions side by side.

Dumb: they draw a timeline or a comparison (gui/screens.py) and report a choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from tkinter import Misc

import ttkbootstrap as ttk

from gui.forms import LABELS
from gui.screens import Comparison, Step


class HistoryDialog(ttk.Toplevel):
    def __init__(self, parent: Misc, title: str, on_reveal: Callable[[], None]) -> None:
        super().__init__(master=parent, title=f"History of {title}")
        self.body = ttk.Frame(self, padding=16)
        self.body.pack(fill="both", expand=True)
        self.reveal = ttk.Button(self, text="Reveal old passwords", command=on_reveal)
        self.reveal.pack(pady=(0, 12))

    def show(self, steps: Sequence[Step]) -> None:
        for child in self.body.winfo_children():
            child.destroy()
        for step in steps:
            heading = ttk.Label(self.body, text=step.heading, bootstyle="secondary")
            heading.pack(anchor="w", pady=(8, 0))
            for name, value in step.changed:
                ttk.Label(self.body, text=f"  {LABELS.get(name, name)}: {value}").pack(anchor="w")


class ConflictDialog(ttk.Toplevel):
    def __init__(
        self,
        parent: Misc,
        comparison: Comparison,
        on_keep: Callable[[str], None],
        on_reveal: Callable[[], None],
    ) -> None:
        super().__init__(master=parent, title="Two admins changed this entry at once")
        self._on_keep = on_keep
        self.body = ttk.Frame(self, padding=16)
        self.body.pack(fill="both", expand=True)
        self.reveal = ttk.Button(self, text="Reveal passwords", bootstyle="secondary-outline",
                                 command=on_reveal)  # fmt: skip
        self.reveal.pack(pady=(0, 12))
        self.keep: list[ttk.Button] = []
        self.show(comparison)

    def show(self, comparison: Comparison) -> None:
        """Draw the versions side by side (again: with passwords revealed or hidden)."""
        for child in self.body.winfo_children():
            child.destroy()
        body = self.body
        ttk.Label(body, text="Keep one version; the other stays in the history.").grid(
            row=0, column=0, columnspan=len(comparison.sides) + 1, sticky="w", pady=(0, 8)
        )
        self.keep = []
        for col, side in enumerate(comparison.sides, start=1):
            heading = ttk.Label(body, text=side.heading, bootstyle="secondary")
            heading.grid(row=1, column=col, sticky="w", padx=8)
        for row, (name, differs) in enumerate(zip(comparison.fields, comparison.differs,
                                                  strict=True), start=2):  # fmt: skip
            style = "warning" if differs else "default"
            field = ttk.Label(body, text=LABELS.get(name, name), bootstyle=style)
            field.grid(row=row, column=0, sticky="w")
            for col, side in enumerate(comparison.sides, start=1):
                ttk.Label(body, text=side.values[row - 2], wraplength=220).grid(
                    row=row, column=col, sticky="w", padx=8
                )
        last = len(comparison.fields) + 2
        for col, side in enumerate(comparison.sides, start=1):
            button = ttk.Button(body, text="Keep this one", bootstyle="primary",
                                command=lambda label=side.label: self._on_keep(label))  # fmt: skip
            button.grid(row=last, column=col, sticky="w", padx=8, pady=(12, 0))
            self.keep.append(button)
