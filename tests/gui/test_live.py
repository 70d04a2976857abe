"""Two real nodes, one window: alice's PC (her node, a child process) and bob's window
with its own node beside it, on loopback with mDNS off. An entry alice saves appears
in bob's window without a refresh (list, toast, status bar); when alice revokes bob,
bob's node wipes his vault and his window locks and says why."""

from __future__ import annotations

import shutil
import time
import tkinter as tk
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gui.app import REVOKED_TEXT, App
from gui.demo import free_port
from gui.main_window import MainWindow
from gui.node_process import NodeProcess
from gui.screens import Screen, first_screen
from node import onboarding, records
from node.office import Office
from node.tokens import Role
from node.vault import Vault
from tests.gui.conftest import screenshot
from tests.gui.test_app import ENV, unlock
from tests.node.vault_kit import PASSWORD, PROFILE, _join, pw

LOOPBACK = ("--no-mdns", "--listen", "127.0.0.1")
WAIT = 60.0  # seconds: the longest any step may take on a loaded machine


def pump(root: tk.Tk, done: Callable[[], bool], what: str) -> None:
    """Run the window's event loop until `done` (bounded by WAIT)."""
    deadline = time.monotonic() + WAIT
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {WAIT:.0f} s: {what}")
        root.update()
        time.sleep(0.02)


@pytest.fixture(scope="module")
def office_now(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """alice (admin) and bob (member), enrolled a minute ago by the real clock (the
    nodes run on it; vault_kit's office lives at a fixed time)."""
    base, now = tmp_path_factory.mktemp("live-office"), int(time.time()) - 60
    paths = {"alice": base / "alice", "bob": base / "bob"}
    created = onboarding.create_office(paths["alice"], "Acme Ltd", "alice", pw(), now, PROFILE)
    with created.office as office:
        _join(office, paths["bob"], "bob", Role.MEMBER, now + 1)
        every = office.blobs
    with Office.unlock(paths["bob"], pw(), PROFILE) as bob, bob.store.transaction():
        bob.store.add_records((records.record_id(b), b) for b in every)
    return paths


@pytest.fixture
def two_pcs(root: tk.Tk, office_now: dict[str, Path], tmp_path: Path) -> Iterator[tuple[App, Path]]:
    """bob's window (unlocked, its node running) and alice's node; alice's folder."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    shutil.copytree(office_now["alice"], alice)
    shutil.copytree(office_now["bob"], bob)
    port = free_port()
    node = NodeProcess.start(alice, pw(), (*LOOPBACK, "--port", str(port)), ENV)
    app = App(root, bob, PROFILE, node_options=(*LOOPBACK, "--peer", f"127.0.0.1:{port}"),
              node_env=ENV)  # fmt: skip
    try:
        app.start()
        unlock(app, PASSWORD)
        yield app, alice
    finally:
        app.close()
        node.stop()


def bob_window(app: App) -> MainWindow:
    assert app.window is not None
    return app.window


def test_an_entry_saved_on_one_pc_shows_live_in_the_others_window(
    two_pcs: tuple[App, Path],
) -> None:
    app, alice_dir = two_pcs
    w = bob_window(app)
    pump(app.root, lambda: "Online with alice" in w.view.presence.cget("text"),
         "bob's status bar names alice online")  # fmt: skip
    with Vault.open(alice_dir, pw(), PROFILE) as alice:
        alice.add({"title": "Alarm code", "username": "front door", "password": "4711"},
                  int(time.time()))  # fmt: skip
        alice.office.wake_node()
    listed = lambda: any(  # noqa: E731
        w.view.entries.item(i, "values")[0] == "Alarm code" for i in w.view.entries.get_children()
    )
    pump(app.root, listed, "alice's entry in bob's list")
    assert w.view.toast.cget("text") == "Alarm code updated by alice"
    assert not w.view.offline_badge.winfo_manager()
    screenshot(app.root, "live-two-pcs")


def test_a_revoked_pc_locks_wipes_and_says_why(two_pcs: tuple[App, Path]) -> None:
    app, alice_dir = two_pcs
    w = bob_window(app)
    pump(app.root, lambda: "Online with alice" in w.view.presence.cget("text"),
         "bob's status bar names alice online")  # fmt: skip
    with Vault.open(alice_dir, pw(), PROFILE) as alice:
        alice.office.revoke("bob", int(time.time()), "left the company")
        alice.office.wake_node()
    pump(app.root, lambda: app.window is None, "bob's window locked")
    assert w.locked and w.vault.locked
    assert app.node is not None and app.node.revoked
    texts = [str(c.cget("text")) for c in app.screen.winfo_children()] if app.screen else []
    assert texts and texts[0] == REVOKED_TEXT
    assert first_screen(app.path) is Screen.REVOKED  # and so it stays, next launch too
    screenshot(app.root, "revoked")
