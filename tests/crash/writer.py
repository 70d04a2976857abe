"""The child of the crash tests: writes through `Vault` until it is killed.

`python -m tests.crash.writer DATA_DIR SEED [--until-error]` opens the vault in
DATA_DIR (the test password, the insecure test KDF, as the admin who made the
office) and loops over a mix of writes chosen by SEED: add, add_many (2 to 5
entries), edit (a new title), trash and restore, now and then closing and
reopening the vault (so a kill can land in an open or a close too).

It prints, each line one write(2) to stdout:

    ready <entries outside the trash> <entries in the trash>
    intent <kind> <entry id or -> <marker>[,<marker>...]    before a write
    saved <kind> <entry id> <marker>                         after it returned, per entry
    reopening / reopen                                       around a close and open
    failed <error type> <message>                            (--until-error only)

A marker is the title a write gives an entry (unique to this SEED), or "-" for
trash and restore. What the parent reads after a SIGKILL is therefore exactly
what the child had been told was saved, plus at most one write under way.

It stops by itself after MAX_SECONDS or when its parent is gone, so a parent
that died never leaves it writing. With --until-error it stops at the first
`VaultError`, prints `failed`, closes the vault and exits with status 3; any
other exception is a traceback and status 1, which the parent reports.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from node.errors import VaultError
from node.vault import Vault
from tests.node.vault_kit import PROFILE, T0, pw

MAX_SECONDS = 120.0
NOW = T0 + 600  # inside the admin's capability window
FAILED_EXIT = 3
# (kind, weight): adds a little ahead of trash, so the vault keeps entries to edit
MIX = (("add", 28), ("add_many", 8), ("edit", 32), ("trash", 14), ("restore", 14), ("reopen", 1))


def say(line: str) -> None:
    """One line, in one write(2): a kill never leaves half of it for the parent."""
    data = (line + "\n").encode()
    while data:
        data = data[os.write(1, data) :]


class Writer:
    """The vault, which entries are in and out of the trash, and the next marker."""

    def __init__(self, data_dir: Path, seed: int, notes: int) -> None:
        self.data_dir = data_dir
        self.seed = seed
        self.rng = random.Random(seed)
        self.notes = notes  # longest notes an add or edit writes
        self.count = 0
        self.vault = Vault.open(data_dir, pw(), PROFILE)
        self.live: list[str] = []
        self.trashed: list[str] = []
        self._take_stock()

    def _take_stock(self) -> None:
        self.live = sorted(s.id for s in self.vault.entries())
        self.trashed = sorted(s.id for s in self.vault.entries(trash=True))

    def marker(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.seed}.{self.count}"

    def fields(self, title: str) -> dict[str, str]:
        notes = "n" * self.rng.randrange(self.notes + 1)
        return {"title": title, "password": f"pw-{title}", "notes": notes}

    def step(self, kind: str) -> None:
        if kind == "edit" and self.live:
            self.edit(self.rng.choice(self.live))
        elif kind == "trash" and self.live:
            self.status("trash", self.rng.choice(self.live))
        elif kind == "restore" and self.trashed:
            self.status("restore", self.rng.choice(self.trashed))
        elif kind == "add_many":
            self.add([self.marker("m") for _ in range(self.rng.randint(2, 5))])
        elif kind == "reopen":
            say("reopening")
            self.vault.close()
            self.vault = Vault.open(self.data_dir, pw(), PROFILE)
            self._take_stock()
            say("reopen")
        else:
            self.add([self.marker("a")])

    def add(self, titles: list[str]) -> None:
        kind = "add" if len(titles) == 1 else "add_many"
        say(f"intent {kind} - {','.join(titles)}")
        if kind == "add":
            ids = [self.vault.add(self.fields(titles[0]), NOW)]
        else:
            ids = self.vault.add_many([self.fields(t) for t in titles], NOW)
        say("\n".join(f"saved {kind} {e} {t}" for e, t in zip(ids, titles, strict=True)))
        self.live += ids

    def edit(self, entry: str) -> None:
        title = self.marker("e")
        say(f"intent edit {entry} {title}")
        self.vault.edit(entry, self.fields(title), NOW)
        say(f"saved edit {entry} {title}")

    def status(self, kind: str, entry: str) -> None:
        say(f"intent {kind} {entry} -")
        if kind == "trash":
            self.vault.trash(entry, NOW)
            self.live.remove(entry)
            self.trashed.append(entry)
        else:
            self.vault.restore(entry, NOW)
            self.trashed.remove(entry)
            self.live.append(entry)
        say(f"saved {kind} {entry} -")


def main(argv: Sequence[str]) -> int:
    until_error = "--until-error" in argv
    args = [a for a in argv if a != "--until-error"]
    if len(args) != 2:
        sys.stderr.write("usage: python -m tests.crash.writer DATA_DIR SEED [--until-error]\n")
        return 2
    try:
        write(Path(args[0]), int(args[1]), until_error)
    except VaultError as exc:
        if not until_error:
            raise
        say(f"failed {type(exc).__name__} {exc}")
        return FAILED_EXIT
    return 0


def write(data_dir: Path, seed: int, until_error: bool) -> None:
    """Open, say so, and write until the deadline (or, with `until_error`, a `VaultError`)."""
    parent = os.getppid()
    deadline = time.monotonic() + MAX_SECONDS
    writer = Writer(data_dir, seed, notes=2000 if until_error else 300)
    kinds, weights = zip(*MIX, strict=True)
    try:
        say(f"ready {len(writer.live)} {len(writer.trashed)}")
        while time.monotonic() < deadline and os.getppid() == parent:
            writer.step("add" if until_error else writer.rng.choices(kinds, weights)[0])
    finally:
        writer.vault.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
