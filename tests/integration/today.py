"""An office made at today's date through the console scripts, for tests that run join desks.

The join desk judges invites by the real clock, so these tests cannot use vault_kit's
office (it lives at a fixed future time). `make_office` builds one as people would:
alice creates it, dave joins as an admin by file, alice adds two entries and opens
member invites for erin and frank. The test KDF keeps it fast.
"""

from __future__ import annotations

from pathlib import Path

from tests import clirun
from tests.clirun import Cli, ok, ok_json

PASSWORD = "correct horse battery staple"
ENTRIES = ("Office Wi-Fi", "Payroll portal")


def make_office(root: Path, env: dict[str, str], pw: Path) -> dict[str, str]:
    """alice's office with admin dave (joined by file) and two entries; open invites for erin
    and frank. Returns the invite codes. Everything at today's date (no faked clock)."""
    cli = Cli(root, env, "officevault")
    at = {name: ("--data-dir", str(root / name), "--password-file", str(pw))
          for name in ("alice", "dave")}  # fmt: skip
    ok(cli.admin("init", "--office", "Join Ltd", "--admin", "alice", *at["alice"]))
    dave = ok_json(cli.admin("invite", "dave", "--role", "admin", "--json", *at["alice"]))
    ok(cli("request", "--name", "dave", "--out", "dave.req", *at["dave"]))
    ok(cli.admin("enroll", dave["code"], "dave.req", "--out", "dave.welcome", *at["alice"]))
    ok(cli("accept", "dave.welcome", "--code", dave["code"], *at["dave"]))
    for title in ENTRIES:
        add = ("add", "--title", title, "--password-stdin", *at["alice"])
        ok(clirun.run_in_process("officevault", root, env, *add, stdin=b"s3cret-value"))
    return {user: ok_json(cli.admin("invite", user, "--json", *at["alice"]))["code"]
            for user in ("erin", "frank")}  # fmt: skip
