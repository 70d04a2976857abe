"""`vault-admin`: the admin's command line. A thin layer over node's public API.

It parses arguments, asks for passwords, prints results; every decision is
made in node/. See `vault-admin --help` and the README.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from admin_tools import vault_cli
from node import cliutil, crypto, invites, joining, onboarding, recovery
from node.cliutil import add_common, data_dir, held_password, kdf_profile, now
from node.files import atomic_write, read_capped
from node.identity import when
from node.office import UserView
from node.tokens import Role

KEEP_APART = (
    "Keep the kit file and the recovery code apart: print the code and lock it away, "
    "and copy the kit to a USB stick kept elsewhere. Either alone is useless; together "
    "they can rebuild the office's admin access if this PC is lost."
)


def cmd_init(args: argparse.Namespace) -> int:
    with held_password(args, new=True, prompt="New password for this device: ") as pw:
        created = onboarding.create_office(
            data_dir(args), args.office, args.admin, pw, now(), kdf_profile(), args.kit
        )
    with created.office as office:
        if args.json:
            cliutil.emit_json(
                {"office": office.office_name, "fingerprint": office.fingerprint,
                 "admin": args.admin, "device": office.identity.device_id.hex(),
                 "recovery_kit": str(created.kit_path),
                 "recovery_code": created.recovery_code}
            )  # fmt: skip
            return 0
        print(f"Office:             {office.office_name}")
        print(f"Office fingerprint: {office.fingerprint}")
        print(f"Admin:              {args.admin} (this PC)")
        print(f"Recovery kit:       {created.kit_path}")
        print(f"Recovery code:      {created.recovery_code}")
        print("This code is shown only now. " + KEEP_APART)
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    kit = read_capped(args.kit, recovery.MAX_KIT_SIZE, "recovery kit")
    if args.code_file is not None:
        raw = cliutil.read_secret_file(args.code_file, "recovery code")
    else:
        raw = cliutil.ask_secret("Recovery code: ", "--code-file FILE")
    code = raw.decode("utf-8", "replace")
    crypto.wipe(raw)
    with held_password(args, new=True, prompt="New password for this device: ") as pw:
        office = onboarding.recover_office(
            kit, code, data_dir(args), args.admin, pw, now(), kdf_profile()
        )
    with office:
        print(f"Recovered office {office.office_name} ({office.fingerprint}).")
        print(f"This PC is now an admin device for {args.admin}, holding the office root key.")
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    lifetime = invites.parse_duration(args.expires)
    with cliutil.unlock(args) as office:
        t = office.signing_time(now())
        code = office.invite(args.user, Role(args.role), lifetime, t)
        if args.json:
            cliutil.emit_json({"user": args.user, "role": args.role, "code": str(code),
                               "expires": when(t + lifetime)})  # fmt: skip
        else:
            print(f"Invite code for {args.user} ({args.role}): {code}")
            print(f"It works once and expires {when(t + lifetime)}.")
    return 0


def cmd_enroll(args: argparse.Namespace) -> int:
    request = read_capped(args.request, joining.MAX_REQUEST, "join request")
    out: Path = args.out or args.request.with_suffix(".welcome")
    written: list[Path] = []

    def deliver(welcome: bytes) -> None:
        atomic_write(out, welcome)
        written.append(out)

    with cliutil.unlock(args) as office:
        try:
            office.enroll(args.code, request, now(), deliver)
        except BaseException:
            for path in written:  # saved nothing, so the welcome must not stay behind
                path.unlink(missing_ok=True)
            raise
        print(f"Enrolled. Give {out} to the new PC; there run 'officevault accept {out.name}'")
        print("with the same invite code (it proves the welcome came from this office).")
        print(f"They should check the office fingerprint reads {office.fingerprint}.")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    with cliutil.unlock(args) as office:
        views = office.users()
        if args.json:
            cliutil.emit_json(
                {"office": office.office_name, "fingerprint": office.fingerprint,
                 "users": [_user_json(v) for v in views]}
            )  # fmt: skip
            return 0
        print(f"{office.office_name}  ({office.fingerprint})")
        for v in views:
            ids = " ".join(m.device_id.hex()[:12] for m in v.devices)
            state = f"device(s) {ids}" if v.devices else "revoked"
            print(f"  {v.user:<24} {v.role.value if v.devices else '-':<7} {state}")
    return 0


def _user_json(v: UserView) -> dict[str, object]:
    return {
        "user": v.user,
        "role": v.role.value if v.devices else None,
        "active": bool(v.devices),
        "devices": [
            {
                "device": m.device_id.hex(),
                "role": m.role.value,
                "since": when(m.since),
                "expires": when(m.capability.not_after),
            }
            for m in v.devices
        ],
        "revoked_devices": [d.hex() for d in v.revoked],
    }


def cmd_role(args: argparse.Namespace) -> int:
    with cliutil.unlock(args) as office:
        office.set_role(args.user, Role(args.role), now())
        print(f"{args.user} is now {'an' if args.role == 'admin' else 'a'} {args.role}.")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    with cliutil.unlock(args) as office:
        devices = office.revoke(args.user, now(), args.reason, args.device)
        epoch = office.membership.state.current_key()
        print(f"Revoked {args.user} ({len(devices)} device(s)); every PC that receives this")
        print("record refuses them.")
        print(f"See what they could read: vault-admin audit --exposed {args.user}")
        if epoch is not None:
            print(
                f"The vault key was rotated (epoch {epoch.epoch}): they cannot read anything new."
            )
    return 0


def cmd_renew(args: argparse.Namespace) -> int:
    with cliutil.unlock(args) as office:
        devices = office.renew(args.users, now())
        who = ", ".join(args.users) if args.users else "everyone"
        print(f"Renewed {len(devices)} device capability(ies) for {who}.")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    with cliutil.unlock(args, strict=False) as office:
        t = now()
        problems = office.verify(t)
        warnings = [
            f"{m.user}'s device {m.device_id.hex()[:12]}: capability expires "
            f"{when(m.capability.not_after)} (vault-admin renew)"
            for m in office.expiring(t)
        ]
        records = len(office.membership.valid)
        if args.json:
            cliutil.emit_json({"ok": not problems, "records": records, "problems": problems,
                               "warnings": warnings})  # fmt: skip
            return 1 if problems else 0
        for p in problems:
            print(f"FAIL {p}")
        for w in warnings:
            print(f"WARN {w}")
        if not problems:
            print(f"OK: keystore, database and {records} membership record(s) all verify.")
    return 1 if problems else 0


def build_parser() -> cliutil.Parser:
    parser = cliutil.Parser(prog="vault-admin", description="Run an OfficeVault office.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=cliutil.Parser)

    p = sub.add_parser("init", help="create the office and this PC's admin device")
    p.add_argument("--office", required=True, help='office name, e.g. "Acme Ltd"')
    p.add_argument("--admin", required=True, help="your user name")
    p.add_argument("--kit", type=Path, default=None, help="where to write the recovery kit")
    add_common(p, json_output=True)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("recover", help="make a new admin device from the recovery kit")
    p.add_argument("kit", type=Path, help="the recovery kit file")
    p.add_argument("--admin", default="admin", help="user name for the new admin device")
    p.add_argument(
        "--code-file", type=Path, default=None, help="read the recovery code from a file"
    )
    add_common(p)
    p.set_defaults(func=cmd_recover)

    p = sub.add_parser("invite", help="make a one-time invite code for a new person or PC")
    p.add_argument("user")
    p.add_argument("--role", choices=["member", "admin"], default="member")
    p.add_argument("--expires", default="24h", help="e.g. 30m, 24h, 7d (at most 30d)")
    add_common(p, json_output=True)
    p.set_defaults(func=cmd_invite)

    p = sub.add_parser("enroll", help="enrol a PC from its join request file (no network)")
    p.add_argument("code", help="the invite code")
    p.add_argument("request", type=Path, help="the file 'officevault request' wrote")
    p.add_argument("--out", type=Path, default=None, help="where to write the welcome file")
    add_common(p)
    p.set_defaults(func=cmd_enroll)

    p = sub.add_parser("users", help="list people, roles and devices")
    add_common(p, json_output=True)
    p.set_defaults(func=cmd_users)

    p = sub.add_parser("role", help="make someone an admin or a member")
    p.add_argument("user")
    p.add_argument("role", choices=["member", "admin"])
    add_common(p)
    p.set_defaults(func=cmd_role)

    p = sub.add_parser("revoke", help="shut a person out on every PC and rotate the vault key")
    p.add_argument("user")
    p.add_argument("--reason", default="", help="a note kept in the membership log")
    p.add_argument("--device", default=None, help="only the device whose id starts with this")
    add_common(p)
    p.set_defaults(func=cmd_revoke)

    p = sub.add_parser("renew", help="re-issue capabilities before they expire (root key PC)")
    p.add_argument("users", nargs="*", help="whose devices (default: everyone)")
    add_common(p)
    p.set_defaults(func=cmd_renew)

    p = sub.add_parser("verify", help="check every signature and record (exit 0 only if all hold)")
    add_common(p, json_output=True)
    p.set_defaults(func=cmd_verify)
    vault_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    return cliutil.run("vault-admin", lambda a: int(a.func(a)), parser, argv)


if __name__ == "__main__":
    sys.exit(main())
