"""Running the two console scripts, and what a person should see.

Shared by the CLI tests: a `Cli` bound to a folder and an environment that runs
the installed scripts as real subprocesses, and the checks every error case makes
(one line on stderr naming the problem, the exit code, no traceback, nothing on
stdout). For the entry commands' tests (tests/node/test_entry_cli.py,
tests/admin_tools/test_vault_cli.py): `InProcessCli`, its twin that calls the
script's `main` in this process, and `build_office`, which makes an office of two
PCs through the commands themselves.

`InProcessCli` swaps the environment, working folder and stdin in for the call and
captures the output; it is twenty times faster than a subprocess and lets argv hold
a NUL, which execve refuses. Its results are `subprocess.CompletedProcess` objects
too, so the checks here apply unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from admin_tools import cli as admin_cli
from node import cli as node_cli
from node import keystore
from node.vault import Vault

KDF_WARNING = "warning: insecure test password hashing is on (tests only)"
CLOCK_WARNING = "warning: OFFICEVAULT_NOW is set: the clock is faked (tests only)"
TIMEOUT = 60

Proc = subprocess.CompletedProcess[str]


def environment() -> dict[str, str]:
    """This process's environment, with the fast test KDF on and this venv first on PATH, and
    no display: `officevault` with no command opens the window, which a test must not."""
    env = dict(os.environ)
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    env["OFFICEVAULT_INSECURE_TEST_KDF"] = "1"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("OFFICEVAULT_NOW", None)
    return env


def run(
    prog: str, cwd: Path, env: dict[str, str], *args: str | Path, now: int | None = None
) -> Proc:
    """Run `prog` with no terminal (stdin closed); `now` fakes the CLI's clock."""
    env = dict(env)
    if now is not None:
        env["OFFICEVAULT_NOW"] = str(now)
    return subprocess.run(
        [prog, *map(str, args)],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@dataclass(frozen=True)
class Cli:
    """One console script (`prog`) in one folder and environment; `.admin`/`.node` name one."""

    cwd: Path
    env: dict[str, str]
    prog: str = "vault-admin"

    def __call__(self, *args: str | Path, now: int | None = None) -> Proc:
        return run(self.prog, self.cwd, self.env, *args, now=now)

    def admin(self, *args: str | Path, now: int | None = None) -> Proc:
        return run("vault-admin", self.cwd, self.env, *args, now=now)

    def node(self, *args: str | Path, now: int | None = None) -> Proc:
        return run("officevault", self.cwd, self.env, *args, now=now)


def error_lines(proc: Proc) -> list[str]:
    """stderr without the two warnings the test-only switches print."""
    return [line for line in proc.stderr.splitlines() if line not in (KDF_WARNING, CLOCK_WARNING)]


def ok(proc: Proc) -> Proc:
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr}"
    assert error_lines(proc) == [], proc.stderr
    return proc


def ok_json(proc: Proc) -> Any:
    return json.loads(ok(proc).stdout)


def fails(proc: Proc, fragment: str, code: int = 1) -> str:
    """One line on stderr naming the problem, exit `code`, nothing else printed."""
    lines = error_lines(proc)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(lines) == 1, f"expected one error line, got: {proc.stderr!r}"
    assert proc.returncode == code, f"exit {proc.returncode}: {proc.stderr}"
    assert lines[0].startswith(str(proc.args[0])), lines[0]
    assert fragment.lower() in lines[0].lower(), lines[0]
    assert proc.stdout == ""
    return lines[0]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file in a data dir, by name, with a digest of its bytes (short diffs on failure)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# -- running the console scripts in this process ---------------------------------------
Main = Callable[[Sequence[str] | None], int]
MAINS: dict[str, Main] = {"officevault": node_cli.main, "vault-admin": admin_cli.main}


def run_in_process(
    prog: str,
    cwd: Path,
    env: dict[str, str],
    *args: str | Path,
    stdin: bytes = b"",
    now: int | None = None,
) -> Proc:
    """Run `prog`'s `main` as `run` runs the script: `env` and `cwd` for the call only,
    `stdin` (not a terminal) as its input, stdout and stderr captured."""
    env = dict(env)
    if now is not None:
        env["OFFICEVAULT_NOW"] = str(now)
    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    with (
        io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8") as fake_stdin,
        mock.patch.dict(os.environ, env, clear=True),
        contextlib.chdir(cwd),
        mock.patch.object(sys, "stdin", fake_stdin),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = MAINS[prog](argv)
        except SystemExit as exc:  # argparse: a usage error or --help
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess([prog, *argv], code, out.getvalue(), err.getvalue())


@dataclass(frozen=True)
class InProcessCli:
    """`Cli`'s twin, in this process, with `stdin` bytes for --password-stdin."""

    cwd: Path
    env: dict[str, str]
    prog: str = "officevault"

    def __call__(self, *args: str | Path, stdin: bytes = b"", now: int | None = None) -> Proc:
        return run_in_process(self.prog, self.cwd, self.env, *args, stdin=stdin, now=now)

    def admin(self, *args: str | Path, stdin: bytes = b"", now: int | None = None) -> Proc:
        return run_in_process("vault-admin", self.cwd, self.env, *args, stdin=stdin, now=now)

    def node(self, *args: str | Path, stdin: bytes = b"", now: int | None = None) -> Proc:
        return run_in_process("officevault", self.cwd, self.env, *args, stdin=stdin, now=now)


# -- the office the entry commands' tests work on ---------------------------------------
PASSWORD = "correct horse battery staple"
BOB_PASSWORD = "bob's own password"
SECRET = "Sw0rdf1sh-entry-secret"  # the entry passwords every leak check looks for
NEW_SECRET = "N3w-entry-secret-after-edit"
HEX32 = re.compile(r"[0-9a-f]{32}")
DAY = 86_400
# Acts whose time a test checks run with a faked clock, on day boundaries after today's:
# after every enrolment, and far inside every two-year capability.
T = (int(time.time()) // DAY + 2) * DAY


@dataclass(frozen=True)
class Device:
    """A data dir and its password file; `common` goes after every subcommand."""

    path: Path
    pw: Path

    @property
    def common(self) -> tuple[str | Path, ...]:
        return ("--data-dir", self.path, "--password-file", self.pw)

    def copy(self, dest: Path) -> Device:
        return Device(Path(shutil.copytree(self.path, dest)), self.pw)

    @contextlib.contextmanager
    def vault(self) -> Iterator[Vault]:
        password = bytearray(self.pw.read_text().splitlines()[0].encode())
        with Vault.open(self.path, password, keystore.INSECURE_TEST) as vault:
            yield vault

    def op_log_size(self) -> int:
        """How many signed envelopes this device's op log holds."""
        with self.vault() as vault:
            return len(vault.op_log())


@dataclass(frozen=True)
class Office:
    alice: Device  # the admin, made with `vault-admin init`
    bob: Device  # a member, joined by file


def build_office(root: Path, env: dict[str, str]) -> Office:
    """Acme Ltd: alice's PC at root/A (admin), bob's at root/B (member, joined by file)."""
    cli = InProcessCli(root, env)
    alice = Device(root / "A", write(root / "alice.pw", PASSWORD + "\n"))
    bob = Device(root / "B", write(root / "bob.pw", BOB_PASSWORD + "\n"))
    ok(cli.admin("init", "--office", "Acme Ltd", "--admin", "alice", *alice.common))
    code = ok_json(cli.admin("invite", "bob", "--json", *alice.common))["code"]
    ok(cli.node("request", "--name", "bob", "--out", "bob.req", *bob.common))
    ok(cli.admin("enroll", code, "bob.req", "--out", "bob.welcome", *alice.common))
    ok(cli.node("accept", "bob.welcome", "--code", code, *bob.common))
    return Office(alice, bob)


def add(
    cli: InProcessCli,
    device: Device,
    title: str,
    secret: str = SECRET,
    *fields: str,
    now: int | None = None,
) -> str:
    """`officevault add` with the password on stdin; the new entry's id."""
    proc = ok(cli.node("add", f"--title={title}", *fields, "--password-stdin", *device.common,
                       stdin=secret.encode(), now=now))  # fmt: skip
    entry = proc.stdout.strip()
    assert HEX32.fullmatch(entry), proc.stdout
    return entry
