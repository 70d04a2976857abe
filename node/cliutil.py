"""What both command lines share: common options, password input, the clock, errors.

Every subcommand takes `--data-dir D` and `--password-file F` after its
name (and `--json` where it prints data). Every failure ends as one line on
stderr and a non-zero exit code: 1 for a `VaultError`, 2 for bad usage,
130 for Ctrl-C, 70 for a bug (set OFFICEVAULT_DEBUG=1 to see its traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from node import crypto, datadir, keystore
from node.datadir import DataDir
from node.errors import UserError, VaultError

if TYPE_CHECKING:  # loaded by the commands that open a vault (the window starts lighter)
    from node.office import Office
    from node.vault import Vault

NOW_ENV = "OFFICEVAULT_NOW"  # tests only: pretend the clock reads this many seconds
MIN_PASSWORD = 8
MAX_SECRET_FILE = 4096


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, not a usage block."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def add_common(parser: argparse.ArgumentParser, json_output: bool = False) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"this device's data folder (default: {datadir.default_path()})",
    )
    parser.add_argument(
        "--password-file",
        type=Path,
        default=None,
        help="read the password from the first line of this file, - for standard input "
        "(default: ask)",
    )
    if json_output:
        parser.add_argument("--json", action="store_true", help="print JSON")


def data_dir(args: argparse.Namespace) -> Path:
    path: Path | None = args.data_dir
    return path if path is not None else datadir.default_path()


def now() -> int:
    fake = os.environ.get(NOW_ENV)
    if fake is not None:
        sys.stderr.write(f"warning: {NOW_ENV} is set: the clock is faked (tests only)\n")
        try:
            return int(fake)
        except ValueError:
            raise UserError(f"{NOW_ENV} must be a whole number of seconds") from None
    return int(time.time())


def kdf_profile() -> keystore.KdfProfile:
    profile = keystore.profile_from_env(os.environ)
    if profile is keystore.INSECURE_TEST:
        sys.stderr.write("warning: insecure test password hashing is on (tests only)\n")
    return profile


def read_secret_file(path: Path, what: str) -> bytearray:
    """The first line of a file, without its line ending, as a bytearray we can wipe.

    "-" is standard input: how the window hands its node the password (a pipe, never a
    file on disk).
    """
    try:
        if str(path) == "-":
            data = bytearray(sys.stdin.buffer.readline(MAX_SECRET_FILE + 1))
        else:
            with path.open("rb") as fh:
                data = bytearray(fh.read(MAX_SECRET_FILE + 1))
    except OSError as exc:
        raise UserError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    if len(data) > MAX_SECRET_FILE:
        raise UserError(f"the {what} file {path} is too long")
    end = data.find(b"\n")
    line = data[:end] if end >= 0 else data[:]
    if line.endswith(b"\r"):
        del line[-1:]
    data[:] = bytes(len(data))
    if not line:
        raise UserError(f"the {what} file {path} is empty")
    return line


def ask_secret(
    prompt: str, instead: str = "--password-file FILE", what: str | None = None
) -> bytearray:
    """Ask at the terminal without echo; with no terminal, say which option to use."""
    if not sys.stdin.isatty():
        what = what or prompt.rstrip(": ").lower()
        raise UserError(f"no terminal to ask for the {what} on; use {instead}")
    return bytearray(getpass.getpass(prompt).encode("utf-8"))


def password(
    args: argparse.Namespace,
    new: bool = False,
    prompt: str = "Password: ",
    option: str = "--password-file",
    what: str = "password",
) -> bytearray:
    """The unlock password, or a new one (asked twice at a terminal, length-checked).

    `option` names the file option the caller reads it from (its value is
    `args.password_file`), for the hint when there is no terminal.
    """
    if args.password_file is not None:
        pw = read_secret_file(args.password_file, what)
    else:
        pw = ask_secret(prompt, f"{option} FILE", what)
        if new:
            again = ask_secret("Repeat it: ", f"{option} FILE", what)
            same = again == pw
            again[:] = bytes(len(again))
            if not same:
                raise UserError("the two passwords differ; nothing was changed")
    if new and len(pw.decode("utf-8", "replace")) < MIN_PASSWORD:
        raise UserError(f"choose a password of at least {MIN_PASSWORD} characters")
    if not pw:
        raise UserError("the password is empty")
    return pw


@contextlib.contextmanager
def held_password(
    args: argparse.Namespace,
    new: bool = False,
    prompt: str = "Password: ",
    option: str = "--password-file",
    what: str = "password",
) -> Iterator[bytearray]:
    """The password for the length of a `with` block, wiped afterwards."""
    pw = password(args, new, prompt, option, what)
    try:
        yield pw
    finally:
        crypto.wipe(pw)


def unlock(args: argparse.Namespace, strict: bool = True) -> Office:
    """Open the device in --data-dir, checking the folder before asking for a password."""
    from node.office import Office  # noqa: PLC0415

    DataDir(data_dir(args)).require_existing()
    with held_password(args) as pw:
        return Office.unlock(data_dir(args), pw, kdf_profile(), strict)


def open_vault(args: argparse.Namespace) -> Vault:
    """Open the vault of the device in --data-dir (the password as for `unlock`)."""
    from node.vault import Vault  # noqa: PLC0415

    DataDir(data_dir(args)).require_existing()
    with held_password(args) as pw:
        return Vault.open(data_dir(args), pw, kdf_profile())


def confirm_password(args: argparse.Namespace, vault: Vault, why: str) -> None:
    """Ask for the password again before something grave (not when it comes from a file)."""
    if args.password_file is not None:
        return
    again = ask_secret(f"Type your password again to {why}: ")
    try:
        vault.office.check_password(again, kdf_profile())
    finally:
        crypto.wipe(again)


def emit_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def run(prog: str, handler: Callable[[argparse.Namespace], int], parser: Parser,
        argv: Sequence[str] | None) -> int:  # fmt: skip
    args = parser.parse_args(argv)
    try:
        return handler(args)
    except VaultError as exc:
        sys.stderr.write(f"{prog}: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted; nothing half-done was saved\n")
        return 130
    except Exception as exc:  # a bug: one line, never a secret-bearing message
        if os.environ.get("OFFICEVAULT_DEBUG") == "1":
            traceback.print_exc()
        sys.stderr.write(f"{prog}: internal error ({type(exc).__name__}); please report it\n")
        return 70
