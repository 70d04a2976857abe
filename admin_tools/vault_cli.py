"""`vault-admin` commands over the entries: audit, import, export, restore-backup.

Thin, like the rest of the CLI: parse, open the vault, call node/, print.
Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from node import backup, cliutil, exporters, importers
from node.cliutil import add_common, held_password, kdf_profile, now
from node.errors import PermissionDeniedError, UserError
from node.files import read_capped, write_new
from node.identity import when
from node.tokens import Role
from node.vault import Vault

MAX_IMPORT = importers.MAX_INPUT_SIZE


def _admin_vault(args: argparse.Namespace, act: str) -> Vault:
    vault = cliutil.open_vault(args)
    if vault.role is not Role.ADMIN:
        vault.close()
        raise PermissionDeniedError(f"only an admin can {act}")
    return vault


def _since(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--since wants a date like 2026-11-01, not {text!r}") from None
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def cmd_audit(args: argparse.Namespace) -> int:
    if args.exposed is not None:
        return _exposed(args)
    with _admin_vault(args, "read the audit trail") as vault:
        events = vault.audit(args.user, args.entry, _since(args.since), args.reveal)
    if args.json:
        cliutil.emit_json([
            {"at": e.at, "user": e.user, "device": e.device, "action": e.action,
             "entry": e.entry, "title": e.title,
             "changes": [{"field": f, "from": a, "to": b} for f, a, b in e.changes]}
            for e in events
        ])  # fmt: skip
        return 0
    if not events:
        print("No changes match.")
    for e in events:
        print(f"{when(e.at)}  {e.user:12} {e.action:9} {e.entry[:12]}  {e.title}")
        for name, before, after in e.changes:
            if e.action == "added":
                print(f"    {name}: {after}")
            else:
                print(f"    {name}: {before} -> {after}")
    return 0


def _exposed(args: argparse.Namespace) -> int:
    with _admin_vault(args, "read the audit trail") as vault:
        found = vault.exposed(args.exposed)
    if args.json:
        cliutil.emit_json([{"id": s.id, "title": s.title, "username": s.username,
                            "trashed": s.trashed} for s in found])  # fmt: skip
        return 0
    print(f"{args.exposed} could read {len(found)} entr{'y' if len(found) == 1 else 'ies'}; "
          "change these passwords:")  # fmt: skip
    for s in found:
        print(f"  {s.id[:12]}  {s.title}" + ("  (in the trash)" if s.trashed else ""))
    return 0


def _progress(total: int) -> Any:
    def show(done: int) -> None:
        if sys.stderr.isatty():
            width = 30
            filled = width * done // max(total, 1)
            bar = "#" * filled + "-" * (width - filled)
            sys.stderr.write(f"\r[{bar}] {done}/{total}")
            if done >= total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(f"imported {done}/{total}\n")
        sys.stderr.flush()

    return show


def cmd_import(args: argparse.Namespace) -> int:
    data = read_capped(args.file, MAX_IMPORT, "import file")
    rows, bad = importers.parse(data, args.format)
    with _admin_vault(args, "import entries") as vault:
        if rows:
            vault.add_many([r.fields for r in rows], now(), _progress(len(rows)))
    print(f"Imported {len(rows)} entr{'y' if len(rows) == 1 else 'ies'} from {args.file}.")
    if bad:
        print(f"{len(bad)} row(s) were not imported:")
        for row in bad:
            print(f"  {row.where}: {row.reason}")
    return 1 if bad and not rows else 0


def cmd_export(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists():
        raise UserError(f"{out} exists; choose a new file name")
    with _admin_vault(args, "export the vault") as vault:
        cliutil.confirm_password(args, vault, "export every password")
        rows, unreadable = vault.rows()
        if args.format == "encrypted-backup":
            with held_backup_password(args, new=True) as pw:
                meta = {"office": vault.office.office_name, "made": str(now())}
                data = backup.seal_backup(rows, pw, kdf_profile(), meta)
        else:
            data = exporters.export(rows, args.format)
    write_new(out, data)
    print(f"Exported {len(rows)} entries to {out}.")
    if unreadable:
        print(f"{unreadable} entr(y/ies) could not be decrypted on this PC and were left out.")
    if args.format != "encrypted-backup":
        print("This file holds every password in the clear: move it where it is needed, "
              "then delete it.")  # fmt: skip
    return 0


def held_backup_password(args: argparse.Namespace, new: bool) -> Any:
    shim = argparse.Namespace(password_file=args.backup_password_file)
    prompt = "Backup password: " if not new else "Choose a password for the backup: "
    return held_password(shim, new, prompt, "--backup-password-file", "backup password")


def cmd_restore_backup(args: argparse.Namespace) -> int:
    data = read_capped(args.file, backup.MAX_FILE_SIZE, "backup file")
    with held_backup_password(args, new=False) as pw:
        meta, entries = backup.open_backup(data, pw, kdf_profile())
    with _admin_vault(args, "restore a backup") as vault:
        present, _ = vault.rows()
        have = {tuple(sorted(r.items())) for r in present}
        missing = [e for e in entries if tuple(sorted(e.items())) not in have]
        if missing:
            vault.add_many(missing, now(), _progress(len(missing)))
    office = meta.get("office", "?")
    print(f"Backup of {office}: {len(entries)} entries; restored {len(missing)}, "
          f"{len(entries) - len(missing)} already here.")  # fmt: skip
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("audit", help="who added, changed, deleted and restored what, when")
    p.add_argument("--user", default=None)
    p.add_argument("--entry", default=None, help="entry id (or its first digits)")
    p.add_argument("--since", default=None, help="a date, e.g. 2026-11-01 (UTC)")
    p.add_argument("--reveal", action="store_true", help="show old and new passwords")
    p.add_argument("--exposed", default=None, metavar="USER",
                   help="entries USER could read (after a revoke: change these)")  # fmt: skip
    add_common(p, json_output=True)
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("import", help="import entries from another password manager's export")
    p.add_argument("file", type=Path)
    p.add_argument("--format", required=True, choices=importers.FORMATS)
    add_common(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export every entry (re-asks for your password)")
    p.add_argument("--format", required=True,
                   choices=(*exporters.EXPORT_FORMATS, "encrypted-backup"))  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="the file to write (must be new)")
    p.add_argument("--backup-password-file", type=Path, default=None,
                   help="encrypted-backup: its password's file (default: ask)")  # fmt: skip
    add_common(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("restore-backup", help="add back the entries of an encrypted backup")
    p.add_argument("file", type=Path)
    p.add_argument("--backup-password-file", type=Path, default=None,
                   help="read the backup's password from this file (default: ask)")  # fmt: skip
    add_common(p)
    p.set_defaults(func=cmd_restore_backup)
