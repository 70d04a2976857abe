"""`officevault`: the employee's command line (with no command, gui/cli.py opens the window).

It makes this PC's device and joins an office by file, shows what this
device is, and works with entries (node/entry_cli.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from node import cliutil, crypto, entry_cli, joining, node_cli, onboarding
from node.cliutil import add_common, data_dir, held_password, kdf_profile
from node.datadir import DataDir
from node.files import atomic_write, read_capped
from node.identity import fingerprint, when


def cmd_request(args: argparse.Namespace) -> int:
    out: Path = args.out or Path(f"{args.name}.request")
    with held_password(args, new=True, prompt="Choose a password for this PC: ") as pw:
        onboarding.new_device(
            data_dir(args), args.name, pw, kdf_profile(), lambda req: atomic_write(out, req)
        )
    print(f"Wrote {out}. Give it to your admin; they give you back a welcome file.")
    print("Then run 'officevault accept WELCOME --code YOUR-INVITE-CODE'.")
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    welcome = read_capped(args.welcome, joining.MAX_WELCOME, "welcome file")
    DataDir(data_dir(args)).require_existing()
    if args.code is not None:
        code = args.code
    else:
        raw = cliutil.ask_secret("Invite code: ", "--code CODE")
        code = raw.decode("utf-8", "replace")
        crypto.wipe(raw)
    with held_password(args) as pw:
        office = onboarding.accept_welcome(data_dir(args), pw, kdf_profile(), welcome, code)
    with office:
        member = office.member
        role = member.role.value if member else "?"
        if args.json:
            info = {"office": office.office_name, "fingerprint": office.fingerprint, "role": role}
            cliutil.emit_json({**info, "device": office.identity.device_id.hex()})
            return 0
        print(f"Joined {office.office_name} as {role}.")
        print(f"Office fingerprint: {fingerprint(office.root_public)}")
        print("Check it matches the one your admin reads out; if not, tell them at once.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with cliutil.unlock(args) as office:
        member = office.member
        info = {
            "office": office.office_name,
            "fingerprint": office.fingerprint,
            "device": office.identity.device_id.hex(),
            "user": member.user if member else None,
            "role": member.role.value if member else None,
            "active": member is not None,
            "expires": when(member.capability.not_after) if member else None,
        }
        if args.json:
            cliutil.emit_json(info)
        else:
            print(f"{info['office']}  ({info['fingerprint']})")
            state = f"{info['user']}, {info['role']}" if member else "not active (revoked?)"
            print(f"This PC: {state}")
    return 0 if member else 1


def build_parser() -> cliutil.Parser:
    parser = cliutil.Parser(
        prog="officevault",
        description="The office's shared password vault. With no command (or 'gui'), "
        "it opens the window.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=cliutil.Parser)

    p = sub.add_parser("request", help="make this PC's keys and a join request file")
    p.add_argument("--name", required=True, help="your user name, as on your invite")
    p.add_argument("--out", type=Path, default=None, help="where to write the request")
    add_common(p)
    p.set_defaults(func=cmd_request)

    p = sub.add_parser("accept", help="join the office with the welcome file from your admin")
    p.add_argument("welcome", type=Path)
    p.add_argument("--code", default=None, help="your invite code (default: ask)")
    add_common(p, json_output=True)
    p.set_defaults(func=cmd_accept)

    p = sub.add_parser("status", help="show the office and this PC's role")
    add_common(p, json_output=True)
    p.set_defaults(func=cmd_status)
    entry_cli.register(sub)
    node_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    return cliutil.run("officevault", lambda a: int(a.func(a)), parser, argv)


if __name__ == "__main__":
    sys.exit(main())
