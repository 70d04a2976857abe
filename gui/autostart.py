"""'Start with Windows': the per-user Run key of the registry names OfficeVault's window.

The only module that touches the registry. `Registry` is the narrow part of winreg we
use, so tests pass a dictionary-backed one; elsewhere than Windows `supported()` is
False and the setting is not offered.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Protocol

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
NAME = "OfficeVault"


class Registry(Protocol):
    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...


class WindowsRun:
    """HKEY_CURRENT_USER's Run key (no admin rights needed)."""

    def get(self, name: str) -> str | None:
        winreg = _winreg()
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                return str(winreg.QueryValueEx(key, name)[0])
        except FileNotFoundError:
            return None

    def set(self, name: str, value: str) -> None:
        winreg = _winreg()
        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)

    def delete(self, name: str) -> None:
        winreg = _winreg()
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, name)
        except FileNotFoundError:
            return


def _winreg() -> Any:
    """The standard library's winreg (Windows only; typed loosely to check anywhere)."""
    return importlib.import_module("winreg")


def supported() -> bool:
    return sys.platform == "win32"


def command(python: str = sys.executable) -> str:
    """What Windows runs at sign-in: the window, without a console (pythonw)."""
    here = Path(python)
    quiet = here.with_name("pythonw.exe")
    chosen = quiet if quiet.exists() else here
    return f'"{chosen}" -m gui.cli gui'


def enable(on: bool, registry: Registry | None = None) -> None:
    """Start the window at sign-in (`on`), or stop doing so."""
    if registry is None:
        if not supported():
            return
        registry = WindowsRun()
    if on:
        registry.set(NAME, command())
    else:
        registry.delete(NAME)


def enabled(registry: Registry | None = None) -> bool:
    if registry is None:
        if not supported():
            return False
        registry = WindowsRun()
    return registry.get(NAME) is not None
