"""The unlock screen: the office's name, a password field, Unlock, and a message line.

Dumb: `on_unlock` gets the typed password as a bytearray (the field is cleared at once);
`show_message` and `busy` are all the presenter calls.
"""

from __future__ import annotations

from collections.abc import Callable
from tkinter import Misc

import ttkbootstrap as ttk


class UnlockView(ttk.Frame):
    def __init__(self, parent: Misc, office: str, on_unlock: Callable[[bytearray], None]) -> None:
        super().__init__(parent, padding=40)
        self._on_unlock = on_unlock
        ttk.Label(self, text="OfficeVault", font=("TkDefaultFont", 20, "bold")).pack(pady=(0, 4))
        ttk.Label(self, text=office).pack(pady=(0, 24))
        ttk.Label(self, text="Your password").pack(anchor="w")
        self.password = ttk.Entry(self, show="•", width=36)
        self.password.pack(fill="x", pady=(2, 8))
        self.password.bind("<Return>", lambda _e: self.submit())
        self.button = ttk.Button(self, text="Unlock", bootstyle="primary", command=self.submit)
        self.button.pack(fill="x")
        self.message = ttk.Label(self, text="", bootstyle="danger", wraplength=300)
        self.message.pack(pady=(12, 0))
        self.password.focus_set()

    def submit(self) -> None:
        typed = bytearray(self.password.get().encode())
        self.password.delete(0, "end")
        self._on_unlock(typed)

    def show_message(self, text: str) -> None:
        self.message.configure(text=text)

    def set_busy(self, busy: bool) -> None:
        self.button.configure(state="disabled" if busy else "normal",
                              text="Unlocking…" if busy else "Unlock")  # fmt: skip
