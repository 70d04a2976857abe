"""Closing the window to the tray (gui/app.py with a stand-in tray: pystray is
Windows-only): the window and its open dialogs hide, the tray's Open brings them back,
Lock locks, Quit quits; with the setting off, or no tray, closing quits."""

from __future__ import annotations

import shutil
import time
import tkinter as tk
from collections.abc import Iterator
from pathlib import Path

import pytest

from gui import settings, tray
from gui.app import App
from gui.events import Inbox
from gui.settings import Settings
from gui.widgets.unlock import UnlockView
from tests.gui.test_app import unlock
from tests.node.vault_kit import PASSWORD, PROFILE


class FakeTray:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


TrayApp = tuple[App, FakeTray, list[Inbox[tray.TrayAct]], list[str]]


@pytest.fixture
def tray_app(
    root: tk.Tk, office: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TrayApp]:
    data = tmp_path / "bob"
    shutil.copytree(office["bob"], data)
    quits: list[str] = []
    shown = FakeTray()
    inboxes: list[Inbox[tray.TrayAct]] = []

    def start(inbox: Inbox[tray.TrayAct], title: str = "") -> FakeTray:
        inboxes.append(inbox)
        return shown

    monkeypatch.setattr(tray, "start", start)
    a = App(root, data, PROFILE, run_node=False, on_quit=lambda: quits.append("quit"))
    a.start()
    unlock(a, PASSWORD)
    yield a, shown, inboxes, quits
    a.close()
    root.deiconify()


def drain(root: tk.Tk) -> None:
    end = time.monotonic() + 2
    while time.monotonic() < end:
        root.update()
        time.sleep(0.01)


def test_closing_hides_the_window_and_its_dialogs_in_the_tray(
    tray_app: TrayApp, root: tk.Tk
) -> None:
    a, shown, inboxes, quits = tray_app
    assert a.window is not None
    a.window.view.settings_button.invoke()
    dialog = a.window.dialogs[-1]
    root.update()
    assert a.hide_to_tray()
    root.update()
    assert root.state() == "withdrawn" and not dialog.winfo_viewable()
    assert a.window is not None and not a.window.locked  # the node keeps syncing; no lock
    inboxes[0].put("open")
    drain(root)
    assert root.state() == "normal" and dialog.winfo_viewable()
    inboxes[0].put("lock")
    drain(root)
    assert a.window is None and isinstance(a.screen, UnlockView)
    inboxes[0].put("quit")
    drain(root)
    assert quits == ["quit"]
    a.close()
    assert shown.closed


def test_with_the_setting_off_closing_quits(tray_app: TrayApp, root: tk.Tk) -> None:
    a, _, inboxes, _ = tray_app
    settings.save(a.path, Settings(close_to_tray=False))
    assert not a.hide_to_tray() and inboxes == []
    assert root.state() == "normal"


def test_without_a_tray_closing_quits(
    tray_app: TrayApp, root: tk.Tk, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _, _, _ = tray_app
    monkeypatch.setattr(tray, "start", lambda inbox, title="": None)
    assert not a.hide_to_tray()
    assert root.state() == "normal"
