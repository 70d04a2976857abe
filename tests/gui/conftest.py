"""Fixtures of the window's tests: real vaults of vault_kit's office (no display needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from node.vault import Vault
from tests.gui.display import ARTIFACTS, screen, stop
from tests.node.vault_kit import T0, opened, replicas, template

if TYPE_CHECKING:  # the presenter tests need no Tk: it is imported by the window fixtures
    import tkinter as tk

    from gui.main_window import MainWindow

T = T0 + 1000  # the wall clock of the window tests


@pytest.fixture(scope="session")
def office(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """alice (admin, root), dave (admin), bob and carol (members)."""
    return template(tmp_path_factory.mktemp("gui-office"))


@pytest.fixture
def vaults(office: dict[str, Path], tmp_path: Path) -> Iterator[dict[str, Vault]]:
    with opened(replicas(office, tmp_path / "replicas")) as opened_vaults:
        yield opened_vaults


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """A virtual screen (Xvfb); skips where it is not installed (scripts/test installs it)."""
    shown = screen()
    if shown is None:
        pytest.skip("Xvfb is not installed (scripts/test installs it)")
    yield shown
    stop()


@pytest.fixture(scope="session")
def app(display: str) -> Iterator[tk.Tk]:
    """The one application window of the session: ttkbootstrap allows one root per
    process, and Tk keeps its X connection until the process ends."""
    import ttkbootstrap as ttk

    window = ttk.Window(title="OfficeVault (test)", size=(1100, 680), screenName=display)
    window.update()  # Tcl opens its notifier pipe on the first event loop, once
    yield window
    window.destroy()


@pytest.fixture
def root(app: tk.Tk) -> Iterator[tk.Tk]:
    """The application window, emptied after each test."""
    yield app
    for child in app.winfo_children():
        child.destroy()
    app.update()


def screenshot(window: tk.Misc, name: str) -> Path:
    """Save what `window` shows as test-artifacts/screenshots/<name>.png."""
    from PIL import ImageGrab

    window.update()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    x, y = window.winfo_rootx(), window.winfo_rooty()
    box = (x, y, x + window.winfo_width(), y + window.winfo_height())
    path = ARTIFACTS / f"{name}.png"
    ImageGrab.grab(bbox=box, xdisplay=str(window.winfo_screen())).save(path)
    return path


class Clock:
    """The window's monotonic clock, moved by the test: nothing sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def window(root: tk.Tk, vaults: dict[str, Vault]) -> Iterator[tuple[MainWindow, Clock, list[str]]]:
    """alice's unlocked window over two entries; the lock reasons it gave."""
    from gui.main_window import MainWindow

    alice = vaults["alice"]
    alice.add({"title": "Office Wi-Fi", "username": "guest", "password": "wifi-pass",
               "category": "WiFi"}, T)  # fmt: skip
    alice.add({"title": "Bank", "username": "acme", "password": "bank-pass",
               "category": "Finance", "notes": "PIN at the safe"}, T)  # fmt: skip
    clock, why = Clock(), list[str]()
    w = MainWindow(root, alice, clock=clock, wall=lambda: float(T), on_locked=why.append)
    yield w, clock, why
    w.lock("the test ended")  # no after() loop outlives its test
