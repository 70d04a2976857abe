"""The package boundaries of DESIGN.md, checked on the source itself.

Threat covered: a second module quietly opening SQLCipher or calling PyNaCl
would bypass the one place where keys, parameters and errors are handled.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("node", "crdt", "discovery", "gui", "admin_tools")

# module prefix -> the only files allowed to import it
ONLY_IN: dict[str, set[str]] = {
    "sqlcipher3": {"node/store.py"},
    "nacl": {"node/crypto.py"},
    "zmq": {"node/transport.py"},
    "zeroconf": {"discovery/mdns.py"},
    "spake2": {"node/pake.py"},
    "pystray": {"gui/tray.py"},
}
# the window's modules that may touch Tk; every other gui/ module is a presenter of
# plain values, tested without a display
TK = ("tkinter", "ttkbootstrap")
TK_ALLOWED = {"gui/app.py", "gui/main_window.py", "gui/cli.py", "gui/clipboard_os.py",
              "gui/admin_panel.py", "gui/wizard_screen.py"}  # fmt: skip
ONLY_UNDER = {"pycrdt": "crdt"}  # module prefix -> the only package allowed to import it
# package -> packages it must never import (arrows point one way)
NEVER = {
    "crdt": {"node", "discovery", "gui", "admin_tools"},
    "discovery": {"node", "crdt", "gui", "admin_tools"},
    "node": {"gui", "admin_tools"},
    "gui": {"admin_tools", "crdt", "discovery"},
    "admin_tools": {"gui", "crdt", "discovery"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_there_is_source_to_check() -> None:
    assert len(_sources()) > 10


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_respect_the_boundaries(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    package = rel.split("/", 1)[0]
    for name in _imports(path):
        top = name.split(".", 1)[0]
        if top in ONLY_UNDER:
            assert package == ONLY_UNDER[top], f"{rel} imports {top}; only {ONLY_UNDER[top]}/ may"
        if top in ONLY_IN:
            assert rel in ONLY_IN[top], f"{rel} imports {top}; only {sorted(ONLY_IN[top])} may"
        assert top not in NEVER[package], f"{rel} ({package}/) must not import {top}/"


@pytest.mark.parametrize("path", [p for p in _sources() if p.parts[-2] == "gui"],
                         ids=lambda p: str(p.relative_to(ROOT)))  # fmt: skip
def test_presenters_never_touch_tk(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    touched = {n for n in _imports(path) if n.split(".", 1)[0] in TK}
    assert rel in TK_ALLOWED or not touched, f"{rel} is a presenter but imports {touched}"
