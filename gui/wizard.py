"""The first-launch wizard's checks: "Create a new office vault" and "Join with an invite
code", each field checked before anything is made, messages per field.

The password rules are the CLI's (node/cliutil.py: at least MIN_PASSWORD characters)
plus the two fields matching; the strength meter (gui/passwords.py) only advises.
Nothing here keeps or quotes a password or a code.
"""

from __future__ import annotations

from collections.abc import Mapping

from node.cliutil import MIN_PASSWORD
from node.errors import UserError
from node.identity import check_name
from node.invites import parse_code


def _password(values: Mapping[str, str], problems: dict[str, str]) -> None:
    password, again = values.get("password", ""), values.get("again", "")
    if len(password) < MIN_PASSWORD:
        problems["password"] = f"at least {MIN_PASSWORD} characters"
    elif password != again:
        problems["again"] = "the two passwords differ"


def _name(values: Mapping[str, str], field: str, what: str, problems: dict[str, str]) -> None:
    try:
        check_name(values.get(field, "").strip(), what)
    except UserError as exc:
        problems[field] = str(exc)


def check_create(values: Mapping[str, str]) -> dict[str, str]:
    """Fields: office, name, password, again."""
    problems: dict[str, str] = {}
    if not values.get("office", "").strip():
        problems["office"] = "give the office a name (people see it when they join)"
    _name(values, "name", "your name", problems)
    _password(values, problems)
    return problems


def check_join(values: Mapping[str, str]) -> dict[str, str]:
    """Fields: code, name, password, again."""
    problems: dict[str, str] = {}
    try:
        parse_code(values.get("code", ""))
    except UserError as exc:
        problems["code"] = str(exc)
    _name(values, "name", "your name", problems)
    _password(values, problems)
    return problems
