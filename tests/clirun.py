"""Running the two console scripts as real subprocesses, and what a person should see.

Shared by the CLI tests: a `Cli` bound to a folder and an environment, and
the checks every error case makes (one line on stderr naming the problem,
the exit code, no traceback, nothing on stdout).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KDF_WARNING = "warning: insecure test password hashing is on (tests only)"
CLOCK_WARNING = "warning: OFFICEVAULT_NOW is set: the clock is faked (tests only)"
TIMEOUT = 60

Proc = subprocess.CompletedProcess[str]


def environment() -> dict[str, str]:
    """This process's environment, with the fast test KDF on and this venv first on PATH."""
    env = dict(os.environ)
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
