"""Which screen the window opens on, and the conflict and history views' logic.

`first_screen` looks at the data folder: a device there means the unlock screen;
a folder a revoked device left says so; otherwise the first-launch wizard
("Create a new office vault" or "Join with an invite code"). `compare` lays out
a conflict's versions side by side, marking the fields that differ; `timeline`
lists an entry's history, newest first, secrets hidden unless revealed.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from node.datadir import DataDir
from node.entry_fields import FIELDS, SECRET_FIELDS

if TYPE_CHECKING:
    from gui.actions import Actions
    from node.vault import Summary, VersionView

REVOKED_NOTE = "REVOKED.txt"
HIDDEN = "••••••••"


class Screen(enum.Enum):
    WIZARD = "wizard"
    UNLOCK = "unlock"
    REVOKED = "revoked"


def first_screen(path: Path) -> Screen:
    datadir = DataDir(path)
    if datadir.keystore.is_file() and datadir.database.is_file():
        return Screen.UNLOCK
    if (path / REVOKED_NOTE).is_file():
        return Screen.REVOKED
    return Screen.WIZARD


@dataclass(frozen=True)
class Side:
    label: str  # what "keep this one" sends (Vault.resolve's keep)
    heading: str  # "changed by alice at 14:02"
    values: tuple[str, ...]  # one per compared field


@dataclass(frozen=True)
class Comparison:
    fields: tuple[str, ...]
    differs: tuple[bool, ...]
    sides: tuple[Side, ...]


def compare(
    heads: Sequence[VersionView], when: str = "%H:%M", revealed: bool = False
) -> Comparison:
    """A conflict's versions side by side. `heads` may carry the passwords (revealed) so
    that a version differing only there is marked so; the sides show them as dots
    unless `revealed` (the admin asked, for a while)."""
    fields = tuple(f for f in FIELDS if any(f in h.fields for h in heads))
    differs = tuple(len({h.fields.get(f, "") for h in heads}) > 1 for f in fields)

    def shown(h: VersionView, name: str) -> str:
        value = h.fields.get(name, "")
        return HIDDEN if name in SECRET_FIELDS and value and not revealed else value

    sides = tuple(
        Side(h.label, f"{h.kind} by {h.by} at {time.strftime(when, time.localtime(h.at))}",
             tuple(shown(h, f) for f in fields))
        for h in heads
    )  # fmt: skip
    return Comparison(fields, differs, sides)


@dataclass(frozen=True)
class Step:
    heading: str
    changed: tuple[tuple[str, str], ...]  # (field, value as shown)


def timeline(versions: Sequence[VersionView], revealed: bool) -> list[Step]:
    """An entry's history, newest first; each step shows what it changed from the one
    before (every field for the first); secret fields only once revealed."""
    out: list[Step] = []
    previous: dict[str, str] = {}
    for v in sorted(versions, key=lambda v: v.at):
        shown = []
        for name in FIELDS:
            if name in SECRET_FIELDS and not revealed:
                continue  # not decrypted: whether it changed is shown once revealed
            if name in v.fields and v.fields[name] != previous.get(name):
                shown.append((name, v.fields[name]))
        previous.update(v.fields)
        out.append(Step(f"{v.kind} by {v.by}", tuple(shown)))
    return out[::-1]


CONFLICT_ADMIN = (
    "⚠ Two admins changed this entry at once. Nothing is lost: Resolve shows both "
    "versions side by side; keep one, the other stays in the history."
)
CONFLICT_MEMBER = (
    "⚠ Two admins changed this entry at once; both versions are kept until an admin chooses one."
)


def banner(selected: Summary, offered: Actions) -> str:
    """The banner over the selected entry: a conflict, said to whoever can act on it."""
    if not selected.conflict:
        return ""
    return CONFLICT_ADMIN if offered.resolve else CONFLICT_MEMBER
