"""The first-launch wizard's checks: "Create a new office vault" and "Join with an invite
code", each field checked before anything is made, messages per field.

The password rules are the CLI's (node/cliutil.py: at least MIN_PASSWORD characters)
plus the two fields matching; the strength meter (gui/passwords.py) only advises.
The join page's optional admin PC address is checked as `--peer HOST:PORT` is. Also
the texts of the page after "Create" (what to keep, how to invite people) and of the
unlock screen after the wizard. Nothing here keeps or quotes a password or an invite
code; the new office's recovery code is shown once, on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from node.cliutil import MIN_PASSWORD
from node.errors import UserError
from node.identity import check_name
from node.invites import parse_code
from node.node_cli import static_address


def _password(values: Mapping[str, str], problems: dict[str, str]) -> None:
    password, again = values.get("password", ""), values.get("again", "")
    if len(password) < MIN_PASSWORD:
        problems["password"] = f"at least {MIN_PASSWORD} characters"
    elif password != again:
        problems["again"] = "the two passwords differ"


def _name(values: Mapping[str, str], problems: dict[str, str]) -> None:
    """The user name as the CLI checks it (node.identity.check_name), edge spaces trimmed."""
    name = values.get("name", "").strip()
    if not name:
        problems["name"] = "type your user name"
        return
    try:
        check_name(name)
    except UserError as exc:
        problems["name"] = str(exc)


def check_create(values: Mapping[str, str]) -> dict[str, str]:
    """Fields: office, name, password, again."""
    problems: dict[str, str] = {}
    if not values.get("office", "").strip():
        problems["office"] = "give the office a name (people see it when they join)"
    _name(values, problems)
    _password(values, problems)
    return problems


def peer_of(values: Mapping[str, str]) -> tuple[str, int] | None:
    """The admin PC address typed on the join page, or None if none was (UserError if
    it is not HOST:PORT, with a message a user can act on)."""
    text = values.get("peer", "").strip()
    return static_address(text) if text else None


def check_join(values: Mapping[str, str]) -> dict[str, str]:
    """Fields: code, name, password, again, and the optional peer (HOST:PORT)."""
    problems: dict[str, str] = {}
    try:
        parse_code(values.get("code", ""))
    except UserError as exc:
        problems["code"] = str(exc)
    _name(values, problems)
    _password(values, problems)
    try:
        peer_of(values)
    except UserError as exc:
        problems["peer"] = str(exc).replace("static peer", "address")
    return problems


INVITE_HOW = (
    "To invite people: unlock, open the Admin panel, People → Invite (or run "
    "'vault-admin invite NAME' on this PC). Each new PC opens OfficeVault, chooses "
    '"Join with an invite code" and types its code; they should check that the office '
    "fingerprint they see is the one above."
)
KEEP_APART = (
    "Write the recovery code down now: it is shown only once. Keep it and the recovery kit "
    "file apart (the code locked away, the kit on a USB stick kept elsewhere). Together they "
    "rebuild the office's admin access if this PC is lost; either alone is useless."
)


@dataclass(frozen=True)
class CreatedShown:
    """The page after "Create": what to keep, and how to invite people."""

    heading: str
    fingerprint: str
    kit: str
    recovery_code: str
    keep_apart: str = KEEP_APART
    invite_how: str = INVITE_HOW


def created_shown(office: str, fingerprint: str, kit: Path, recovery_code: str) -> CreatedShown:
    return CreatedShown(f"{office} is created, and you are its admin.",
                        f"Office fingerprint: {fingerprint}", f"Recovery kit file: {kit}",
                        recovery_code)  # fmt: skip


def created_message(fingerprint: str) -> str:
    """What the unlock screen says after the office was created."""
    return f"Office created. Its fingerprint: {fingerprint}. Unlock to start."


def joined_message(office: str, role: str, fingerprint: str) -> str:
    """What the unlock screen says after this PC joined."""
    return f"Joined {office} as {role}. Office fingerprint: {fingerprint}. Unlock to start."
