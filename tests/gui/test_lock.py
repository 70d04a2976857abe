"""The lock leaves nothing behind: no typed or revealed secret in Tcl's variables, no
dialog, no window object kept alive; a busy clipboard neither stops the lock nor the
idle lock; revealed old and conflicting passwords hide again. On Xvfb, time moved."""

from __future__ import annotations

import gc
import time
import tkinter as tk
import weakref

import pytest

from gui import clipboard_os
from gui.main_window import MainWindow
from gui.reveal import HIDDEN, REVEAL_FOR
from gui.widgets.dialogs import ConflictDialog, HistoryDialog
from gui.widgets.entry_form import EntryForm
from node.vault import Vault
from tests.gui.conftest import Clock, T
from tests.node.vault_kit import deliver

Window = tuple[MainWindow, Clock, list[str]]


def tcl_values(root: tk.Tk) -> list[str]:
    """Every Tcl global variable's value (where tkinter's StringVars live)."""
    out = []
    for name in root.tk.splitlist(root.tk.call("info", "globals")):
        try:
            out.append(str(root.globalgetvar(name)))
        except tk.TclError:  # an array
            continue
    return out


def select(w: MainWindow, title: str) -> str:
    entry = next(s.id for s in w.vault.entries() if s.title == title)
    w.on_select(entry)
    return entry


def test_nothing_typed_or_revealed_stays_in_tcl_after_the_lock(window: Window) -> None:
    w, _, _ = window
    select(w, "Bank")
    w.on_reveal()
    w.view.add_button.invoke()
    assert isinstance(w.form, EntryForm)
    w.form.vars["password"].set("typed-secret-xyz")
    w.view.search_text.set("searched words")
    root = w.root
    assert isinstance(root, tk.Tk)
    assert "typed-secret-xyz" in tcl_values(root)
    w.lock("Locked.")
    left = tcl_values(root)
    for secret in ("typed-secret-xyz", "bank-pass", "searched words"):
        assert not any(secret in value for value in left), secret


def test_a_locked_window_is_not_kept_alive(root: tk.Tk, vaults: dict[str, Vault]) -> None:
    w = MainWindow(root, vaults["bob"], Clock(), lambda: float(T))
    w.view.add_button.invoke()
    w.lock("Locked.")
    gone = weakref.ref(w)
    del w
    gc.collect()
    assert gone() is None  # nothing (a binding, a watcher, a timer) holds the window


def busy(_root: tk.Misc) -> None:
    raise clipboard_os.ClipboardBusyError(clipboard_os.BUSY)


def test_a_busy_clipboard_does_not_stop_the_lock(
    window: Window, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, _, why = window
    select(w, "Bank")
    w.view.copy_password.invoke()
    w.on_reveal()
    w.view.add_button.invoke()
    form = w.form
    assert form is not None
    monkeypatch.setattr(clipboard_os, "clear", busy)
    w.lock("Locked.")
    assert w.locked and w.vault.locked and why == ["Locked."]
    assert not w.view.winfo_exists() and not form.winfo_exists()
    monkeypatch.undo()  # the clipboard is free again: the retry after the lock clears it
    for _ in range(200):
        w.root.update()
        if clipboard_os.read(w.root) is None:
            break
        time.sleep(0.02)
    assert clipboard_os.read(w.root) is None


def test_a_busy_clipboard_is_tried_again_and_the_idle_lock_still_comes(
    window: Window, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, clock, why = window
    select(w, "Bank")
    w.view.copy_password.invoke()
    monkeypatch.setattr(clipboard_os, "clear", busy)
    clock.now += 30
    w.tick()
    assert "Could not clear the clipboard" in w.view.status.cget("text")
    monkeypatch.undo()
    clock.now += 1
    w.tick()
    assert clipboard_os.read(w.root) is None  # cleared on the next try
    clock.now += 600
    w.tick()
    assert w.locked and why[-1].startswith("Locked after 10 minutes")


def test_revealed_old_passwords_hide_again(window: Window) -> None:
    w, clock, _ = window
    entry = select(w, "Bank")
    w.vault.edit(entry, {"password": "new-bank-pass"}, T + 5)
    w.on_history()
    dialog = w.dialogs[-1]
    assert isinstance(dialog, HistoryDialog)

    def shown() -> str:
        return " ".join(str(c.cget("text")) for c in dialog.body.winfo_children())

    assert "bank-pass" not in shown()
    dialog.reveal.invoke()
    assert "new-bank-pass" in shown() and "bank-pass" in shown()
    clock.now += REVEAL_FOR
    w.tick()
    assert "bank-pass" not in shown()


def test_a_conflicts_passwords_can_be_revealed_for_a_while(
    window: Window, vaults: dict[str, Vault]
) -> None:
    w, clock, _ = window
    entry = select(w, "Bank")
    dave = vaults["dave"]
    deliver(w.vault, dave)
    w.vault.edit(entry, {"password": "alice-pass"}, T + 5)
    dave.edit(entry, {"password": "dave-pass"}, T + 6)
    deliver(dave, w.vault)
    w.on_select(entry)
    w.on_resolve()
    dialog = w.dialogs[-1]
    assert isinstance(dialog, ConflictDialog)

    def shown() -> list[str]:
        return [str(c.cget("text")) for c in dialog.body.winfo_children()]

    assert "alice-pass" not in shown() and HIDDEN in shown()
    dialog.reveal.invoke()
    assert {"alice-pass", "dave-pass"} <= set(shown())
    clock.now += REVEAL_FOR
    w.tick()
    assert "alice-pass" not in shown() and "dave-pass" not in shown()
    dialog.keep[0].invoke()  # still works once hidden again
    assert not dialog.winfo_exists()
