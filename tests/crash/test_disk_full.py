"""A disk that fills up fails the save cleanly and keeps everything saved before it.

Threat covered: a full disk (a real one, or any file that cannot grow) loses or
corrupts what was saved, leaves a half-saved change visible, or shows the user
a traceback or a message that blames tampering. Two ways to fill it:

- a small tmpfs mounted here (needs root, as CI has; skipped with the reason
  otherwise), filled with a filler file: SQLite gets ENOSPC, a real full disk;
- RLIMIT_FSIZE in a child process (tests/crash/fsize_limit.py), without root:
  every write past the limit fails with EFBIG, which SQLite reports as an I/O
  error. It simulates a full disk for the child only.

In both, a `Vault` write must raise `StorageError` with a one-line message;
`officevault add` must fail with exit status 1 and one line on stderr, no
traceback; and once there is room again, the vault opens, passes SQLCipher's
and SQLite's integrity checks and holds exactly what was saved.

The tests keep a vault open while the command line runs, so the database's
write-ahead log stays and the command fails at its save, not at its open. The
tmpfs test runs it once more with nothing open (SQLite frees and takes back
its -shm file's pages, so it still fails at the save); with RLIMIT_FSIZE at 0
it fails at the open, whose message must say the disk may be full, not that
the database was altered.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.errors import StorageError
from node.vault import Vault
from tests import clirun
from tests.crash import ledger
from tests.crash.rounds import ROOT, WRITER, inspect, make_office
from tests.crash.writer import FAILED_EXIT, NOW
from tests.node.vault_kit import PASSWORD, PROFILE, pw

TMPFS_SIZE = 4 * 1024 * 1024
SLACK = 64 * 1024  # room left beside the filler: a few saves fit, then one does not
SHM_SIZE = 32 * 1024  # SQLite's -shm file: it must fit, or nothing opens at all
MAX_WRITES = 2000  # a disk this small is full long before
BIG_NOTES = "n" * 16_000  # an entry too big for what a failed save left in the log
LIMITED = (sys.executable, "-m", "tests.crash.fsize_limit")
TIMEOUT = 60


def fields(title: str) -> dict[str, str]:
    return {"title": title, "password": f"pw-{title}", "notes": "n" * 1000}


def titles(data_dir: Path) -> dict[str, str]:
    """Every entry's title, once the data dir passed every integrity check."""
    seen, problems = inspect(data_dir)
    assert problems == []
    assert seen is not None
    return {entry: s.title for entry, s in seen.items()}


def cli_add(
    env: dict[str, str], data_dir: Path, pw_file: Path, limit: int | None = None
) -> clirun.Proc:
    """`officevault add` of a big entry, under RLIMIT_FSIZE=`limit` if given."""
    argv = ["officevault", "add", "--title=from-the-cli", f"--notes={BIG_NOTES}",
            "--data-dir", str(data_dir), "--password-file", str(pw_file)]  # fmt: skip
    if limit is not None:
        argv = [*LIMITED, str(limit), *argv]
    return clirun.run(argv[0], ROOT, env, *argv[1:], now=NOW)


def fails_in_one_line(proc: clirun.Proc, fragment: str) -> str:
    """Exit 1, one line on stderr from officevault naming the problem, no traceback."""
    lines = clirun.error_lines(proc)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("officevault: error: "), lines[0]
    assert fragment in lines[0], lines[0]
    assert proc.stdout == ""
    return lines[0]


@pytest.fixture
def pw_file(tmp_path: Path) -> Path:
    return clirun.write(tmp_path / "alice.pw", PASSWORD + "\n")


# -- a real full disk: a small tmpfs ------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A TMPFS_SIZE tmpfs mounted on a temp dir, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    argv = ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(mount_point)]
    try:
        mounted = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except FileNotFoundError:
        pytest.skip("no mount command")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        umount = ["umount", str(mount_point)]
        if subprocess.run(umount, capture_output=True, timeout=TIMEOUT, check=False).returncode:
            subprocess.run([*umount[:1], "--lazy", *umount[1:]], timeout=TIMEOUT, check=True)


def fill(filler: Path, leave: int) -> None:
    """Fill the filesystem with `filler`, then give back `leave` bytes."""
    chunk = bytes(64 * 1024)
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    os.truncate(filler, max(0, filler.stat().st_size - leave))


def test_a_full_disk_fails_the_save_and_keeps_every_saved_entry(
    small_disk: Path, pw_file: Path, cli_env: dict[str, str]
) -> None:
    data_dir, filler = small_disk / "vault", small_disk / "filler"
    make_office(data_dir)
    saved: dict[str, str] = {}
    with Vault.open(data_dir, pw(), PROFILE) as vault:
        for i in range(10):
            saved[vault.add(fields(f"before-{i}"), NOW)] = f"before-{i}"
        fill(filler, leave=SLACK)
        with pytest.raises(StorageError) as failure:
            for i in range(MAX_WRITES):
                saved[vault.add(fields(f"edge-{i}"), NOW)] = f"edge-{i}"
        message = str(failure.value)
        assert "\n" not in message
        assert "full" in message, message
        assert any(title.startswith("edge-") for title in saved.values())  # saved at the edge
        assert not vault.locked
        assert {s.id: s.title for s in vault.entries()} == saved  # the failed add is not shown
        fails_in_one_line(cli_add(cli_env, data_dir, pw_file), "full")
    fails_in_one_line(cli_add(cli_env, data_dir, pw_file), "full")
    filler.unlink()
    assert titles(data_dir) == saved
    with Vault.open(data_dir, pw(), PROFILE) as vault:  # and with room, saving works again
        saved[vault.add(fields("after"), NOW)] = "after"
    assert titles(data_dir) == saved


# -- a simulated full disk: RLIMIT_FSIZE in a child, no root needed -------------------------
def log_size(data_dir: Path) -> int:
    wal = data_dir / "vault.db-wal"
    return wal.stat().st_size if wal.exists() else 0


def test_a_file_that_cannot_grow_fails_the_save_and_keeps_every_saved_entry(
    tmp_path: Path, pw_file: Path, cli_env: dict[str, str]
) -> None:
    data_dir = tmp_path / "vault"
    make_office(data_dir)
    with Vault.open(data_dir, pw(), PROFILE) as vault:  # held open: the log stays
        for i in range(5):
            vault.add(fields(f"before-{i}"), NOW)
        known = ledger.observe(vault)
        limit = max(SHM_SIZE, log_size(data_dir)) + SLACK
        argv = [*LIMITED, str(limit), *WRITER, str(data_dir), "7", "--until-error"]
        writer = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
                                check=False)  # fmt: skip
        assert writer.returncode == FAILED_EXIT, writer.stderr
        report = ledger.parse(writer.stdout)
        assert report.saves, "nothing fitted under the limit"
        assert report.failed is not None
        assert report.failed.startswith("StorageError could not save"), report.failed
        fails_in_one_line(cli_add(cli_env, data_dir, pw_file, log_size(data_dir)), "could not save")
    seen, problems = inspect(data_dir)
    assert problems == []
    assert seen is not None
    verdict = ledger.check(known, report, seen, may_commit=False)
    assert (verdict.lost, verdict.unexpected) == ([], [])
    assert verdict.checked == len(report.saves)


def test_a_vault_that_cannot_open_for_lack_of_room_says_so(
    tmp_path: Path, pw_file: Path, cli_env: dict[str, str]
) -> None:
    """Regression: a full disk at open read "the vault database ... is damaged or was altered".

    SQLite cannot make its -shm file; that is an I/O error, not tampering, and the
    message must let the user look at the disk rather than suspect an attack.
    """
    data_dir = tmp_path / "vault"
    make_office(data_dir)
    before = titles(data_dir)
    line = fails_in_one_line(cli_add(cli_env, data_dir, pw_file, limit=0), "is the disk full?")
    assert "altered" not in line
    assert titles(data_dir) == before
