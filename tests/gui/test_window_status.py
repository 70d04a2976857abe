"""The unlocked window's status bar (who is online, the admin node, the offline badge),
the toast on a peer's change, the lock on the OS session's lock, the settings dialog,
and the admin panel's button (admins only). On Xvfb, over real vaults; time is moved."""

from __future__ import annotations

import json
import tkinter as tk
from pathlib import Path

import pytest

from gui import settings
from gui.main_window import SESSION_EVERY, TOAST_SECONDS, MainWindow
from gui.settings import Settings
from gui.widgets.settings_dialog import SettingsDialog
from node.node_status import STATUS_EVERY, STATUS_META
from node.vault import Vault
from tests.gui.conftest import Clock, T, screenshot
from tests.node.vault_kit import deliver

Window = tuple[MainWindow, Clock, list[str]]


def post_status(vault: Vault, at: float, leader: Vault | None, online: dict[str, bool]) -> None:
    """Write the node's status as node/runner.py does (the window only reads it)."""
    devices = {"dave": "dd" * 16, "bob": "bb" * 16, "carol": "cc" * 16}
    peers = [{"device": devices[u], "user": u, "online": up, "behind": 0}
             for u, up in online.items()]  # fmt: skip
    status = {"at": at, "port": 5000, "term": 1, "peers": peers, "checkpoint": None,
              "leader": leader.office.identity.device_id.hex() if leader else ""}  # fmt: skip
    store = vault.office.store
    with store.transaction(durable=False):
        store.set_meta(STATUS_META, json.dumps(status).encode())


def test_the_status_bar_shows_who_is_online_and_the_admin_node(window: Window) -> None:
    w, clock, _ = window
    assert w.view.offline_badge.winfo_ismapped() or w.view.offline_badge.winfo_manager()
    assert "not running" in w.view.presence.cget("text")
    post_status(w.vault, T, w.vault, {"dave": True, "bob": True, "carol": False})
    clock.now += 0.5
    w.tick()
    assert w.view.presence.cget("text") == "Online with bob, dave; admin node: this PC"
    assert not w.view.offline_badge.winfo_manager()  # no badge while a peer is reachable
    w.view.table.select(next(s.id for s in w.vault.entries() if s.title == "Office Wi-Fi"))
    screenshot(w.root, "main-online")
    post_status(w.vault, T, None, {"dave": False})
    w.tick()
    assert w.view.offline_badge.winfo_manager() == "pack"
    assert "no other PC reachable" in w.view.presence.cget("text")
    post_status(w.vault, T - 3 * STATUS_EVERY - 1, w.vault, {"dave": True})  # a stale status
    w.tick()
    assert "not running" in w.view.presence.cget("text")


def test_a_peers_change_pops_a_toast_that_goes_away(
    window: Window, vaults: dict[str, Vault]
) -> None:
    w, clock, _ = window
    vaults["dave"].add({"title": "Alarm code", "password": "1234"}, T + 10)
    deliver(vaults["dave"], w.vault)
    assert w.view.toast.winfo_manager() == "place"
    assert w.view.toast.cget("text") == "Alarm code updated by dave"
    screenshot(w.root, "main-toast")
    clock.now += TOAST_SECONDS - 1
    w.tick()
    assert w.view.toast.winfo_manager() == "place"
    clock.now += 1
    w.tick()
    assert not w.view.toast.winfo_manager()


class Probe:
    def __init__(self) -> None:
        self.answers: list[bool | None] = []
        self.asked = 0

    def poll(self) -> bool | None:
        self.asked += 1
        return self.answers.pop(0) if self.answers else False

    def close(self) -> None:
        return None


def test_the_os_session_lock_locks_the_vault(root: tk.Tk, vaults: dict[str, Vault]) -> None:
    clock, why, probe = Clock(), list[str](), Probe()
    w = MainWindow(root, vaults["bob"], clock, lambda: float(T), why.append, session=probe)
    try:
        probe.answers = [None, False, True]
        w.tick()  # asked at most every SESSION_EVERY seconds
        assert probe.asked == 0
        for _ in range(2):
            clock.now += SESSION_EVERY
            w.tick()
        assert not w.locked and probe.asked == 2
        clock.now += SESSION_EVERY
        w.tick()
        assert w.locked and w.vault.locked and why == ["Locked with this PC's session."]
    finally:
        w.lock("the test ended")


def test_settings_are_checked_kept_and_applied(
    root: tk.Tk, vaults: dict[str, Vault], tmp_path: Path
) -> None:
    clock, why = Clock(), list[str]()
    w = MainWindow(root, vaults["carol"], clock, lambda: float(T), why.append,
                   chosen=Settings(30, 10), folder=tmp_path)  # fmt: skip
    try:
        w.view.settings_button.invoke()
        dialog = w.dialogs[-1]
        assert isinstance(dialog, SettingsDialog)
        dialog.vars["clipboard_seconds"].set("2")
        dialog.vars["idle_minutes"].set("five")
        dialog.save.invoke()
        assert dialog.winfo_exists()
        assert "from 5 to 600" in dialog.problems["clipboard_seconds"].cget("text")
        assert "from 1 to 240" in dialog.problems["idle_minutes"].cget("text")
        assert not (tmp_path / settings.FILE).exists()
        screenshot(dialog, "settings")
        dialog.vars["clipboard_seconds"].set("45")
        dialog.vars["idle_minutes"].set("1")
        dialog.save.invoke()
        assert not dialog.winfo_exists()
        assert settings.load(tmp_path) == Settings(clipboard_seconds=45, idle_minutes=1)
        assert w.clipboard.clear_after == 45
        clock.now += 59
        w.tick()
        assert not w.locked
        clock.now += 1
        w.tick()
        assert w.locked and why == ["Locked after 1 minute without use."]
    finally:
        w.lock("the test ended")


@pytest.mark.parametrize(("user", "shown"), [("alice", True), ("bob", False)])
def test_only_admins_see_the_admin_panel_button(
    root: tk.Tk, vaults: dict[str, Vault], user: str, shown: bool
) -> None:
    w = MainWindow(root, vaults[user], Clock(), lambda: float(T))
    try:
        root.update()
        assert bool(w.view.admin_button.winfo_manager()) is shown
    finally:
        w.lock("the test ended")


def test_the_admin_panel_opens_once_and_closes_with_the_lock(window: Window) -> None:
    w, _, _ = window
    w.view.admin_button.invoke()
    panel = w.panel
    assert panel is not None and panel.window.winfo_exists()
    w.view.admin_button.invoke()
    assert w.panel is panel and sum(1 for d in w.dialogs if d.winfo_exists()) == 1
    w.lock("Locked.")
    assert not panel.window.winfo_exists() and w.panel is None
