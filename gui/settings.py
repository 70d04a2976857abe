"""The window's settings: how soon a copied secret leaves the clipboard, how soon an idle
window locks, whether closing it keeps OfficeVault in the tray, and starting with Windows.

They hold no secret, so they live as plain JSON beside the vault (window.json in the
data folder), written atomically. Reading is forgiving: a missing, unreadable or
hand-mangled file, or one value out of range, gives the default for what is wrong and
keeps the rest. `check` validates the settings form and says what is wrong per field.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from node.errors import StorageError
from node.files import atomic_write, read_capped

FILE = "window.json"
MAX_BYTES = 4096
LIMITS = {"clipboard_seconds": (5, 600), "idle_minutes": (1, 240)}  # inclusive


@dataclass(frozen=True)
class Settings:
    clipboard_seconds: int = 30
    idle_minutes: int = 10
    close_to_tray: bool = True  # where the platform has a tray
    start_with_windows: bool = False  # Windows only


def load(folder: Path) -> Settings:
    """The settings kept in `folder`, defaults for whatever is missing or wrong."""
    try:
        raw = json.loads(read_capped(folder / FILE, MAX_BYTES, "the window settings"))
    except (OSError, StorageError, ValueError):
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    kept: dict[str, object] = {}
    for f in dataclasses.fields(Settings):
        value = raw.get(f.name)
        if f.name in LIMITS:
            low, high = LIMITS[f.name]
            if type(value) is int and low <= value <= high:
                kept[f.name] = value
        elif type(value) is bool:
            kept[f.name] = value
    return Settings(**kept)  # type: ignore[arg-type]


def save(folder: Path, settings: Settings) -> None:
    data = json.dumps(dataclasses.asdict(settings), indent=1, sort_keys=True) + "\n"
    atomic_write(folder / FILE, data.encode())


def check(values: Mapping[str, str | bool]) -> tuple[Settings | None, dict[str, str]]:
    """The settings form's values -> the settings, or the problem of each wrong field."""
    problems: dict[str, str] = {}
    numbers: dict[str, int] = {}
    units = {"clipboard_seconds": "seconds", "idle_minutes": "minutes"}
    for name, (low, high) in LIMITS.items():
        text = str(values.get(name, "")).strip()
        if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
            problems[name] = f"a whole number of {units[name]} from {low} to {high}"
        else:
            numbers[name] = int(text)
    if problems:
        return None, problems
    flags = {name: bool(values.get(name, False)) for name in ("close_to_tray",
                                                                "start_with_windows")}  # fmt: skip
    return Settings(numbers["clipboard_seconds"], numbers["idle_minutes"], **flags), {}
