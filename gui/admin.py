"""The admin panel's logic: the people list, the revoke confirmation, the audit as CSV.

`people` turns the office's users into rows; `revoke_warning` says, before the admin
confirms, exactly what a revocation does (named consequences, and how many entries
that person could read, to be changed); `audit_csv` writes the audit trail the panel
shows (with its filters) as CSV, with spreadsheet formulas defused as the exporter
does. Secrets appear in the CSV only if the admin asked to reveal them.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable
from dataclasses import dataclass

from node.audit import AuditEvent
from node.exporters import defuse_formula
from node.office import UserView
from node.tokens import Role

AUDIT_COLUMNS = ("when (UTC)", "user", "device", "action", "entry", "title", "field", "from", "to")


@dataclass(frozen=True)
class Person:
    user: str
    role: str
    devices: int
    revoked: int
    can_revoke: bool  # not the last admin, not this PC's own user


def people(users: Iterable[UserView], me: str) -> list[Person]:
    listed = sorted(users, key=lambda u: u.user.casefold())
    admins = sum(1 for u in listed if u.role is Role.ADMIN and u.devices)
    out = []
    for u in listed:
        last_admin = u.role is Role.ADMIN and admins <= 1
        out.append(Person(u.user, u.role.value, len(u.devices), len(u.revoked),
                          bool(u.devices) and u.user != me and not last_admin))  # fmt: skip
    return out


def revoke_warning(user: str, devices: int, exposed: int) -> str:
    """What the confirmation dialog says before a revocation."""
    pcs = "PC" if devices == 1 else f"{devices} PCs"
    entries = "entry" if exposed == 1 else "entries"
    return (
        f"Revoke {user}? Every PC in the office will refuse {user}'s {pcs} at once; "
        f"{user}'s app will lock and wipe its copy of the vault; the vault key will be "
        f"changed, so nothing written from now on can be read with the old one. "
        f"{user} could read {exposed} {entries}: change those passwords (the list is in "
        f"the audit panel). This cannot be undone: {user} would have to be invited again."
    )


def audit_csv(events: Iterable[AuditEvent]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(AUDIT_COLUMNS)
    for e in events:
        stamp = _utc(e.at)
        base = [stamp, e.user, e.device, e.action, e.entry, e.title]
        for field, old, new in e.changes or (("", "", ""),):
            writer.writerow([defuse_formula(v) for v in (*base, field, old, new)])
    return out.getvalue().encode("utf-8")


def _utc(at: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))
