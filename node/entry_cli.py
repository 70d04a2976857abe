"""The entry commands of `officevault`: add, ls, show, history, edit, rm, restore, purge, resolve.

Thin: parse, open the vault, call one `Vault` method, print. Secrets are
printed only with --reveal; an entry's password comes from stdin
(--password-stdin) or a hidden prompt, never from the command line, where
other users could read it in the process list.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from node import cliutil
from node.cliutil import add_common
from node.entry_fields import MAX_LENGTH
from node.errors import UserError
from node.identity import when
from node.vault import Detail, Summary, VersionView

TEXT_FIELDS = ("title", "username", "url", "category", "notes")


def read_entry_password(args: argparse.Namespace) -> str | None:
    """The entry's password from stdin (--password-stdin) or a prompt (--password-prompt)."""
    if args.password_stdin:
        limit = MAX_LENGTH["password"] * 4 + 2  # UTF-8 is at most 4 bytes a character
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise UserError(f"field password is longer than {MAX_LENGTH['password']} characters")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UserError("the password on stdin is not UTF-8 text") from None
        text = text[:-1] if text.endswith("\n") else text
        text = text[:-1] if text.endswith("\r") else text
        if not text:
            raise UserError("no password on stdin")
        return text
    if args.password_prompt:
        raw = cliutil.ask_secret("Entry password: ", "--password-stdin", "entry password")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UserError("the password is not UTF-8 text") from None
        finally:
            raw[:] = bytes(len(raw))
    return None


def _fields(args: argparse.Namespace) -> dict[str, str]:
    values = {name: getattr(args, name) for name in TEXT_FIELDS if getattr(args, name) is not None}
    password = read_entry_password(args)
    if password is not None:
        values["password"] = password
    return values


def cmd_add(args: argparse.Namespace) -> int:
    values = _fields(args)
    with cliutil.open_vault(args) as vault:
        entry = vault.add(values, cliutil.now())
    print(entry)
    return 0


def _summary_json(s: Summary) -> dict[str, Any]:
    return {
        "id": s.id,
        "title": s.title,
        "username": s.username,
        "url": s.url,
        "category": s.category,
        "changed_at": s.changed_at,
        "changed_by": s.changed_by,
        "created_by": s.created_by,
        "trashed": s.trashed,
        "conflict": s.conflict,
        "readable": s.readable,
    }


def _version_json(v: VersionView) -> dict[str, Any]:
    return {"version": v.label, "action": v.kind, "at": v.at, "by": v.by,
            "fields": v.fields, "readable": v.readable}  # fmt: skip


def cmd_ls(args: argparse.Namespace) -> int:
    with cliutil.open_vault(args) as vault:
        found = vault.entries(args.category, args.search, trash=args.trash)
    if args.json:
        cliutil.emit_json([_summary_json(s) for s in found])
        return 0
    if not found:
        print("No entries." if not args.trash else "The trash is empty.")
        return 0
    for s in found:
        flag = " [conflict]" if s.conflict else (" [unreadable]" if not s.readable else "")
        columns = f"{_cut(s.title, 32):32}  {_cut(s.username, 24):24}  {_cut(s.category, 14):14}"
        print(f"{s.id[:12]}  {columns}  {when(s.changed_at)} by {s.changed_by}{flag}")
    return 0


def _cut(text: str, width: int) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_show(args: argparse.Namespace) -> int:
    with cliutil.open_vault(args) as vault:
        detail = vault.get(args.entry, reveal=args.reveal)
    if args.json:
        out = {**_summary_json(detail.summary), "notes": detail.notes}
        if detail.password is not None:
            out["password"] = detail.password
        if detail.summary.conflict:
            out["versions"] = [_version_json(v) for v in detail.heads]
        cliutil.emit_json(out)
        return 0
    _print_detail(detail)
    return 0


def _print_detail(detail: Detail) -> None:
    s = detail.summary
    print(f"{s.title}  ({s.id})" + ("  [in the trash]" if s.trashed else ""))
    for label, value in (("username", s.username), ("url", s.url), ("category", s.category)):
        if value:
            print(f"  {label:9} {value}")
    shown = detail.password if detail.password is not None else "******** (--reveal to show)"
    print(f"  {'password':9} {shown}")
    if detail.notes:
        print(f"  {'notes':9} " + detail.notes.replace("\n", "\n            "))
    print(f"  changed {when(s.changed_at)} by {s.changed_by}; added by {s.created_by}")
    if s.conflict:
        print("  CONFLICT: admins changed this entry at the same time. Versions:")
        for v in detail.heads:
            print(f"    {v.label}  {when(v.at)} by {v.by}: {v.fields.get('title', '')}")
        print(f"  Keep one with: officevault resolve {s.id[:12]} --keep VERSION")


def cmd_history(args: argparse.Namespace) -> int:
    with cliutil.open_vault(args) as vault:
        versions = vault.history(args.entry, reveal=args.reveal)
    if args.json:
        cliutil.emit_json([_version_json(v) for v in versions])
        return 0
    for v in versions:
        print(f"{v.label}  {when(v.at)}  {v.kind:9} by {v.by}")
        if not v.readable:
            print("    (cannot be decrypted on this PC)")
        for name, value in v.fields.items():
            shown = "********" if name == "password" and not args.reveal else value
            if shown:
                print(f"    {name:9} {shown}")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    values = _fields(args)
    if not values:
        raise UserError("say what to change (--title, --username, --password-stdin, ...)")
    return _act(args, lambda vault, now: vault.edit(args.entry, values, now), "Saved.")


def _act(args: argparse.Namespace, act: Callable[[Any, int], None], done: str) -> int:
    with cliutil.open_vault(args) as vault:
        act(vault, cliutil.now())
    print(done)
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    return _act(args, lambda v, now: v.trash(args.entry, now), "Moved to the trash.")


def cmd_restore(args: argparse.Namespace) -> int:
    return _act(args, lambda v, now: v.restore(args.entry, now), "Restored.")


def cmd_purge(args: argparse.Namespace) -> int:
    return _act(args, lambda v, now: v.purge(args.entry, now), "Purged for good.")


def cmd_resolve(args: argparse.Namespace) -> int:
    return _act(args, lambda v, now: v.resolve(args.entry, args.keep, now), "Conflict resolved.")


def register(sub: Any) -> None:
    """Add the entry commands to `officevault`'s subparsers."""
    p = sub.add_parser("add", help="add an entry (prints its id)")
    _field_options(p, required_title=True)
    add_common(p)
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("ls", help="list entries (no secrets)")
    p.add_argument("--category", default=None)
    p.add_argument("--search", default=None, help="text in the title, username or URL")
    p.add_argument("--trash", action="store_true", help="list the trash instead")
    add_common(p, json_output=True)
    p.set_defaults(func=cmd_ls)

    for name, helptext, func in (
        ("show", "show one entry", cmd_show),
        ("history", "every version of an entry, with who and when", cmd_history),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("entry", help="entry id (at least 6 hex digits)")
        p.add_argument("--reveal", action="store_true", help="show passwords")
        add_common(p, json_output=True)
        p.set_defaults(func=func)

    p = sub.add_parser("edit", help="change an entry (admins)")
    p.add_argument("entry")
    _field_options(p, required_title=False)
    add_common(p)
    p.set_defaults(func=cmd_edit)

    for name, helptext, func in (
        ("rm", "move an entry to the trash (admins)", cmd_rm),
        ("restore", "bring an entry back from the trash (admins)", cmd_restore),
        ("purge", "remove a trashed entry and its history for good (admins)", cmd_purge),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("entry")
        add_common(p)
        p.set_defaults(func=func)

    p = sub.add_parser("resolve", help="settle a conflict by keeping one version (admins)")
    p.add_argument("entry")
    p.add_argument("--keep", required=True, metavar="VERSION", help="the version to keep")
    add_common(p)
    p.set_defaults(func=cmd_resolve)


def _field_options(p: argparse.ArgumentParser, required_title: bool) -> None:
    p.add_argument("--title", required=required_title)
    p.add_argument("--username", default=None)
    p.add_argument("--url", default=None)
    p.add_argument("--category", default=None)
    p.add_argument("--notes", default=None)
    way = p.add_mutually_exclusive_group()
    way.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    way.add_argument("--password-prompt", action="store_true", help="ask for it (hidden)")
