"""Which actions the window offers, from the role the membership gives this device.

Offering is not permitting: every peer refuses a member's edit whatever the window
shows. This only keeps the window from offering what would be refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.tokens import Role
from node.vault import Summary


@dataclass(frozen=True)
class Actions:
    add: bool = False
    reveal: bool = False
    copy: bool = False
    edit: bool = False
    trash: bool = False
    restore: bool = False
    history: bool = False
    resolve: bool = False
    admin_panel: bool = False


def actions(role: Role | None, selected: Summary | None) -> Actions:
    """What to offer to a device of `role` with `selected` (None: nothing selected)."""
    if role is None:  # not (or no longer) an active member: nothing
        return Actions()
    admin = role is Role.ADMIN
    some = selected is not None
    readable = some and selected is not None and selected.readable
    trashed = some and selected is not None and selected.trashed
    return Actions(
        add=True,
        reveal=bool(readable),
        copy=bool(readable),
        edit=admin and bool(readable) and not trashed and not (selected and selected.conflict),
        trash=admin and some and not trashed,
        restore=admin and bool(trashed),
        history=admin and some,
        resolve=admin and some and selected is not None and selected.conflict,
        admin_panel=admin,
    )
