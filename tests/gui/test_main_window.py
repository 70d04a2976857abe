"""The unlocked window on a virtual screen (Xvfb), over a real vault: search as you type,
the detail pane, copy and the clipboard cleared after 30 s only if it still holds our
value, reveal hidden again, the idle lock hiding everything. Time is moved by the test
(the window's clock is passed in); nothing sleeps."""

from __future__ import annotations

import tkinter as tk

import pytest

from gui.main_window import MainWindow
from gui.reveal import HIDDEN
from node.vault import Vault
from tests.gui.conftest import screenshot
from tests.node.vault_kit import T0

T = T0 + 1000


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def window(root: tk.Tk, vaults: dict[str, Vault]) -> tuple[MainWindow, Clock, list[str]]:
    alice = vaults["alice"]
    alice.add({"title": "Office Wi-Fi", "username": "guest", "password": "wifi-pass",
               "category": "WiFi"}, T)  # fmt: skip
    alice.add({"title": "Bank", "username": "acme", "password": "bank-pass",
               "category": "Finance", "notes": "PIN at the safe"}, T)  # fmt: skip
    clock, why = Clock(), list[str]()
    return (
        MainWindow(root, alice, clock=clock, wall=lambda: float(T), on_locked=why.append),
        clock,
        why,
    )


def titles(w: MainWindow) -> list[str]:
    return [w.view.entries.item(i, "values")[0] for i in w.view.entries.get_children()]


def test_search_as_you_type_and_the_detail_pane(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, _, _ = window
    assert titles(w) == ["Bank", "Office Wi-Fi"]
    w.view.search_text.set("wi")
    root.update()
    assert titles(w) == ["Office Wi-Fi"]
    w.view.search_text.set("")
    bank = next(s.id for s in w.vault.entries() if s.title == "Bank")
    w.view.entries.selection_set(bank)
    root.update()
    shown = {k: str(v.cget("text")) for k, v in w.view.values.items()}
    assert shown["username"] == "acme" and shown["notes"] == "PIN at the safe"
    assert shown["password"] == HIDDEN
    screenshot(root, "main")


def test_copy_and_the_clipboard_cleared_after_30_s(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, clock, _ = window
    w.on_select(next(s.id for s in w.vault.entries() if s.title == "Bank"))
    w.view.copy_password.invoke()
    assert root.clipboard_get() == "bank-pass"
    clock.now += 29
    w.tick()
    assert root.clipboard_get() == "bank-pass"
    clock.now += 1
    w.tick()
    with pytest.raises(tk.TclError):
        root.clipboard_get()


def test_what_the_user_copied_since_is_not_cleared(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, clock, _ = window
    w.on_select(next(s.id for s in w.vault.entries() if s.title == "Bank"))
    w.on_copy("username")
    root.clipboard_clear()
    root.clipboard_append("something the user copied")
    clock.now += 31
    w.tick()
    assert root.clipboard_get() == "something the user copied"


def test_reveal_is_hidden_again_and_idle_locks_everything(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, clock, why = window
    w.on_select(next(s.id for s in w.vault.entries() if s.title == "Bank"))
    w.view.reveal.invoke()
    assert w.view.values["password"].cget("text") == "bank-pass"
    clock.now += 21
    w.tick()
    assert w.view.values["password"].cget("text") == HIDDEN
    w.on_copy("password")
    clock.now += 600
    w.tick()
    assert w.locked and w.vault.locked and why == ["Locked after 10 minutes without use."]
    assert not w.view.winfo_exists()
    with pytest.raises(tk.TclError):
        root.clipboard_get()  # ours was still there: cleared by the lock
