"""The admin panel's logic: people, invites, revocation, the audit trail, import/export texts.

`people` turns the office's users (and its open invites) into rows, each saying which
acts this PC would see succeed (`Powers`: an admin device, the office root key, decided
as node/office.py decides); `invite_roles` is what the invite form may offer;
`revoke_warning` says, before the admin confirms, exactly what a revocation does (named
consequences, and the titles of the entries that person could read, to be changed);
`AuditQuery` and `filter_audit` narrow the audit trail as the admin types; `audit_csv`
writes what the panel shows as CSV, with spreadsheet formulas defused as the exporter
does. Secrets appear in the CSV only if the admin asked to reveal them. The summaries say
what an import or export did in the CLI's words (admin_tools/vault_cli.py).

Plain values in, plain values out: no Tk, no vault, no clock (times are passed in). The
Office checks every act again: what is offered here only spares the admin a refusal.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from node.audit import ACTIONS, AuditEvent
from node.errors import UserError
from node.exporters import defuse_formula
from node.identity import when
from node.importers import BadRow
from node.membership import IssuedInvite
from node.office import UserView
from node.tokens import Role
from node.vault import Summary

AUDIT_COLUMNS = ("when (UTC)", "user", "device", "action", "entry", "title", "field", "from", "to")
ROLES = (Role.MEMBER.value, Role.ADMIN.value)
LIFETIMES = ("1h", "24h", "3d", "7d")  # read by node.invites.parse_duration; 24h as the CLI
ANY = "(any)"  # the audit filters' "no filter" choice
AUDIT_ACTIONS = (ANY, *sorted({*ACTIONS.values(), "resolved"}))
SHOWN_MAX = 1000  # audit rows drawn at once (newest first); the CSV holds every match
EXPOSED_LISTED = 20  # titles the revoke warning names; the CLI lists them all
TITLE_SHOWN = 60  # characters of a title the warning shows
PLAINTEXT_WARNING = (
    "The file will hold every password of the office unencrypted: anyone who can read it "
    "can read them all. Move it only where it is needed, then delete it."
)


@dataclass(frozen=True)
class Powers:
    """What this PC may do to people, as node/office.py decides it."""

    admin: bool  # an active admin device, its capability current: invite, revoke members
    root: bool  # holds the office root key: change roles, revoke admins, invite admins


NO_POWERS = Powers(admin=False, root=False)


@dataclass(frozen=True)
class Person:
    user: str
    role: str
    devices: int
    revoked: int
    can_revoke: bool  # what Office.revoke would do: see `people`
    can_change_role: bool  # what Office.set_role would do
    status: str = "active"  # active, revoked, or an open invite ("invited; ...")


def people(
    users: Iterable[UserView],
    me: str,
    invited: Iterable[IssuedInvite] = (),
    *,
    powers: Powers,
) -> list[Person]:
    """A row per user, and per open invite (as the CLI's `users` lists people, plus who is
    invited but has not joined yet), sorted by name.

    A role change needs the root key; a revocation an admin device, and the root key if
    the revoked one is an admin; neither may leave the office without an admin, and this
    PC does not revoke its own user. Invites and revoked people are offered nothing."""
    listed = sorted(users, key=lambda u: u.user.casefold())
    admins = sum(1 for u in listed if u.role is Role.ADMIN and u.devices)
    out = []
    for u in listed:
        active, is_admin = bool(u.devices), u.role is Role.ADMIN
        last_admin = is_admin and admins <= 1
        revocable = powers.admin and (powers.root or not is_admin)
        out.append(Person(
            u.user, u.role.value if active else "-", len(u.devices), len(u.revoked),
            can_revoke=active and revocable and u.user != me and not last_admin,
            can_change_role=active and powers.root and not last_admin,
            status="active" if active else "revoked",
        ))  # fmt: skip
    for i in invited:
        status = f"invited; the code works until {when(i.invite.expires)}"
        out.append(Person(i.invite.user, i.invite.role, 0, 0, False, False, status))
    out.sort(key=lambda p: (p.user.casefold(), p.status != "active"))
    return out


def invite_roles(powers: Powers) -> tuple[str, ...]:
    """The roles the invite form offers: none to a member, only member without the root key
    (Office.invite refuses an admin invite then)."""
    if not powers.admin:
        return ()
    return ROLES if powers.root else (Role.MEMBER.value,)


def person_cells(p: Person) -> tuple[str, str, str, str, str]:
    return (p.user, p.role, str(p.devices), str(p.revoked), p.status)


def other_role(role: str) -> Role:
    """What "Change role" makes someone: an admin a member, anyone else an admin."""
    return Role.MEMBER if role == Role.ADMIN.value else Role.ADMIN


def role_question(user: str, role: Role) -> str:
    if role is Role.ADMIN:
        return (f"Make {user} an admin? Admins can edit and delete entries, read the audit "
                "trail, import and export every password, invite and revoke people.")  # fmt: skip
    return (f"Make {user} a member? {user} will only read and add entries: no editing, "
            "deleting, audit, export, invites or revocations.")  # fmt: skip


def role_done(user: str, role: Role) -> str:
    """As `vault-admin role` says it."""
    return f"{user} is now {'an' if role is Role.ADMIN else 'a'} {role.value}."


@dataclass(frozen=True)
class InviteShown:
    """What the panel shows after an invite (the code itself is shown apart, in big)."""

    heading: str
    expires: str
    fingerprint: str


def invite_shown(user: str, role: str, expires_at: int, fingerprint: str) -> InviteShown:
    return InviteShown(
        f"Invite code for {user} ({role}):",
        f"It works once and expires {when(expires_at)}. On the new PC: open OfficeVault, "
        'choose "Join with an invite code" and type it.',
        f"Ask them to check that the office fingerprint reads {fingerprint}",
    )


def revoke_warning(user: str, devices: int, exposed: Sequence[Summary]) -> str:
    """What the confirmation dialog says before a revocation: the consequences, then the
    entries `user` could read (`Vault.exposed`), by title, at most EXPOSED_LISTED of them."""
    pcs = "PC" if devices == 1 else f"{devices} PCs"
    text = (
        f"Revoke {user}? Every PC in the office will refuse {user}'s {pcs} at once; "
        f"{user}'s app will lock and wipe its copy of the vault; the vault key will be "
        f"changed, so nothing written from now on can be read with the old one. "
        f"This cannot be undone: {user} would have to be invited again.\n\n"
    )
    count = len(exposed)
    if not count:
        return text + f"{user} could read 0 entries."
    listed = sorted(exposed, key=lambda s: (s.title.casefold(), s.id))[:EXPOSED_LISTED]
    lines = [f"{user} could read {count} entr{'y' if count == 1 else 'ies'}; change those "
             "passwords:"]  # fmt: skip
    lines += [f"  {_one_line(s.title)}" + ("  (in the trash)" if s.trashed else "")
              for s in listed]  # fmt: skip
    if count > len(listed):
        lines.append(f"  and {count - len(listed)} more (vault-admin audit --exposed {user} "
                     "lists them all)")  # fmt: skip
    return text + "\n".join(lines)


def _one_line(title: str) -> str:
    """A title as one short line: a title is anyone's text, and may hold line breaks."""
    flat = "".join(c if c.isprintable() else " " for c in title).strip() or "(no title)"
    return flat if len(flat) <= TITLE_SHOWN else flat[: TITLE_SHOWN - 1] + "…"


def revoke_done(user: str, devices: int) -> str:
    return (f"Revoked {user} ({devices} PC{'' if devices == 1 else 's'}); the vault key was "
            "changed. Change the passwords they could read.")  # fmt: skip


# -- the audit trail ------------------------------------------------------------------------


def since_of(text: str) -> int:
    """Midnight UTC of a date typed as 2026-11-01, read as `vault-admin audit --since`."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"since wants a date like 2026-11-01, not {text.strip()!r}") from None
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


@dataclass(frozen=True)
class AuditQuery:
    user: str | None = None
    action: str | None = None
    text: str = ""  # in the title, or the start of the entry id (casefolded)
    since: int | None = None

    @classmethod
    def typed(cls, user: str, action: str, text: str, since: str) -> tuple[AuditQuery, str]:
        """The query the filter fields ask for, and a hint for a date not (yet) readable:
        an unfinished date filters nothing until it reads as one."""
        problem, when_from = "", None
        if since.strip():
            try:
                when_from = since_of(since)
            except UserError as exc:
                problem = str(exc)
        return cls(
            user.strip() if user.strip() and user != ANY else None,
            action if action and action != ANY else None,
            text.strip().casefold(),
            when_from,
        ), problem

    def matches(self, e: AuditEvent) -> bool:
        if self.user is not None and e.user != self.user:
            return False
        if self.action is not None and e.action != self.action:
            return False
        if self.since is not None and e.at < self.since:
            return False
        return not self.text or self.text in e.title.casefold() or e.entry.startswith(self.text)


def filter_audit(events: Sequence[AuditEvent], query: AuditQuery) -> list[AuditEvent]:
    return [e for e in events if query.matches(e)]


def audit_users(events: Iterable[AuditEvent], users: Iterable[str]) -> list[str]:
    """The user filter's choices: everyone in the office or in the trail, sorted."""
    return [ANY, *sorted({*users, *(e.user for e in events)}, key=str.casefold)]


AuditRow = tuple[str, str, str, str, str, str]  # when, user, action, title, entry, fields


def audit_rows(events: Sequence[AuditEvent]) -> tuple[list[AuditRow], str]:
    """The newest SHOWN_MAX events as table rows (newest first), and what the count says."""
    shown = list(reversed(events[-SHOWN_MAX:]))
    rows = [(_utc(e.at), e.user, e.action, e.title, e.entry[:12],
             ", ".join(field for field, _, _ in e.changes)) for e in shown]  # fmt: skip
    count = f"{len(events)} change{'' if len(events) == 1 else 's'}"
    if len(events) > len(shown):
        count += f" (the newest {len(shown)} shown; the CSV holds all)"
    return rows, count


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


# -- import and export ------------------------------------------------------------------


def file_kinds(fmt: str) -> tuple[tuple[str, str], ...]:
    """The file dialog's patterns for a format's files."""
    kind = ("JSON files", "*.json") if fmt.endswith("json") else ("CSV files", "*.csv")
    return kind, ("All files", "*")


def import_summary(imported: int, source: str, bad: Sequence[BadRow]) -> str:
    """What `vault-admin import` prints: how many came in, and each row left out and why."""
    lines = [f"Imported {imported} entr{'y' if imported == 1 else 'ies'} from {source}."]
    if bad:
        lines.append(f"{len(bad)} row(s) were not imported:")
        lines += [f"  {row.where}: {row.reason}" for row in bad]
    return "\n".join(lines)


def export_question(fmt: str, target: str) -> str:
    return f"Export every entry as {fmt} to {target}?\n\n{PLAINTEXT_WARNING}"


def export_summary(exported: int, target: str, unreadable: int) -> str:
    """What `vault-admin export` prints after a plaintext export."""
    lines = [f"Exported {exported} entries to {target}."]
    if unreadable:
        lines.append(f"{unreadable} entr(y/ies) could not be decrypted on this PC and were "
                     "left out.")  # fmt: skip
    lines.append("This file holds every password in the clear: move it where it is needed, "
                 "then delete it.")  # fmt: skip
    return "\n".join(lines)
