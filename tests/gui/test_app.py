"""The window's composition root (gui/app.py) on Xvfb: the first screen the data folder
calls for, creating an office, unlock -> main -> lock -> unlock, a wrong password, the
revoked note; and the window with its node running beside it (loopback, mDNS off)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import tkinter as tk
from pathlib import Path

import pytest

from gui import app as app_module
from gui.app import REVOKED_TEXT, App
from gui.screens import REVOKED_NOTE, Screen
from gui.unlock import WRONG
from gui.widgets.unlock import UnlockView
from node import office as office_module
from node.keystore import KdfProfile, Secrets
from tests.node.vault_kit import PASSWORD, PROFILE

ENV = {**os.environ, "OFFICEVAULT_INSECURE_TEST_KDF": "1"}


def unlock(app: App, password: str) -> None:
    """Type the password, press Unlock, and let the window run until the attempt ended
    (the key derivation runs on a worker thread)."""
    assert isinstance(app.screen, UnlockView)
    app.screen.password.insert(0, password)
    app.screen.button.invoke()
    end = time.monotonic() + 60
    while (app._unlocking is not None or app._polling is not None) and time.monotonic() < end:
        app.root.update()
        time.sleep(0.005)
    assert app._unlocking is None, "the unlock did not end within 60 s"


def test_unlock_lock_and_unlock_again(root: tk.Tk, office: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "bob"
    shutil.copytree(office["bob"], data)
    app = App(root, data, PROFILE, run_node=False)
    try:
        assert app.start() is Screen.UNLOCK
        unlock(app, "wrong password")
        assert isinstance(app.screen, UnlockView) and app.screen.message.cget("text") == WRONG
        unlock(app, PASSWORD)
        assert app.window is not None and app.screen is None
        app.window.view.lock_button.invoke()
        assert app.window is None and isinstance(app.screen, UnlockView)
        assert app.screen.message.cget("text") == "Locked."
        unlock(app, PASSWORD)
        assert app.window is not None
    finally:
        app.close()


def test_the_first_launch_creates_an_office(root: tk.Tk, tmp_path: Path) -> None:
    app = App(root, tmp_path / "new", PROFILE, run_node=False, wall=lambda: 1_800_000_000.0)
    try:
        assert app.start() is Screen.WIZARD
        assert app.wizard is not None
        view = app.wizard.view
        view.choose_create.invoke()
        view.create.submit_button.invoke()
        assert view.create.problems["office"].cget("text")
        for name, value in (("office", "Acme Ltd"), ("name", "alice"), ("password", PASSWORD),
                            ("again", PASSWORD)):  # fmt: skip
            view.create.entries[name].insert(0, value)
        view.create.submit_button.invoke()
        deadline = time.monotonic() + 60
        while view.page != "created" and time.monotonic() < deadline:
            root.update()
            time.sleep(0.02)
        view.continue_button.invoke()
        assert isinstance(app.screen, UnlockView) and app.wizard is None
        assert "Office created. Its fingerprint:" in app.screen.message.cget("text")
        unlock(app, PASSWORD)
        assert app.window is not None and app.window.vault.role is not None
    finally:
        app.close()


def test_a_revoked_pc_says_so(root: tk.Tk, tmp_path: Path) -> None:
    (tmp_path / REVOKED_NOTE).write_text("Reason given: left the company\n")
    app = App(root, tmp_path, PROFILE, run_node=False)
    try:
        assert app.start() is Screen.REVOKED
        assert app.screen is not None
        texts = [str(c.cget("text")) for c in app.screen.winfo_children()]
        assert texts[0] == REVOKED_TEXT and "left the company" in texts[1]
    finally:
        app.close()


def test_the_window_runs_its_node_beside_it(
    root: tk.Tk, office: dict[str, Path], tmp_path: Path
) -> None:
    data = tmp_path / "bob"
    shutil.copytree(office["bob"], data)
    app = App(root, data, PROFILE, node_options=("--no-mdns", "--listen", "127.0.0.1"),
              node_env=ENV)  # fmt: skip
    try:
        app.start()
        unlock(app, PASSWORD)
        assert app.node is not None and app.node.running
        assert app.window is not None
        app.window.view.lock_button.invoke()
        assert app.window is None and isinstance(app.screen, UnlockView)
        assert app.node.running  # locking the window does not stop the sync
    finally:
        app.close()
    assert app.node is None


def test_without_a_display_the_window_command_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "DISPLAY"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "officevault"), "gui", "--data-dir", str(tmp_path)],
        env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().endswith("cannot open a window (no display name and no $DISPLAY "
                                        "environment variable)")  # fmt: skip


def test_the_window_stays_responsive_while_the_password_is_checked(
    root: tk.Tk, office: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release, threads = threading.Event(), []
    real = office_module.unlock_keys

    def slow(path: Path, password: bytearray, profile: KdfProfile) -> Secrets:
        threads.append(threading.current_thread().name)
        release.wait(30)
        return real(path, password, profile)

    monkeypatch.setattr(app_module, "unlock_keys", slow)
    shutil.copytree(office["bob"], tmp_path / "bob")
    app = App(root, tmp_path / "bob", PROFILE, run_node=False)
    try:
        app.start()
        view = app.screen
        assert isinstance(view, UnlockView)
        view.password.insert(0, PASSWORD)
        view.button.invoke()
        for _ in range(20):  # the Tk loop runs while the key is derived
            root.update()
            time.sleep(0.01)
        assert str(view.button.cget("state")) == "disabled" and app.window is None
        view.password.insert(0, "a second try")
        view.submit()  # ignored: one attempt at a time
        release.set()
        end = time.monotonic() + 30
        while app.window is None and time.monotonic() < end:
            root.update()
            time.sleep(0.01)
        assert app.window is not None and threads == ["unlock"]
    finally:
        release.set()
        app.close()
