"""Kill/restart rounds on one data dir, shared by the CI test and the soak.

A round starts the writer (tests/crash/writer.py) on the data dir, lets it run a
random short time (or kills it while it is still starting, now and then), kills
it with SIGKILL through its own Popen object, and then:

1. opens the database with the bare `Store` (no vault code runs first) and asks
   SQLCipher's `cipher_integrity_check` and SQLite's `integrity_check`;
2. opens the `Vault` (as a user would next), asks `Office.verify` and checks
   that this device's op log has no gap;
3. reads every entry and its history and judges them (tests/crash/ledger.py)
   against what the writer reported saved and what was known before.

What the vault holds then becomes what is known, and the next round's writer
continues on the same data dir. Randomness comes from the seed; only when the
kill lands is left to the machine. Every wait is bounded, and only the writer
this module started is ever signalled.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

from node import keystore, onboarding
from node.datadir import DATABASE, KEYSTORE
from node.errors import VaultError
from node.store import Store
from node.vault import Vault
from tests.crash import ledger
from tests.crash.ledger import Report, Seen
from tests.crash.writer import NOW
from tests.node.vault_kit import PROFILE, T0, pw

ROOT = Path(__file__).resolve().parents[2]
WRITER = (sys.executable, "-m", "tests.crash.writer")
POLL = 0.005  # seconds between looks at the writer's output while it starts


def make_office(data_dir: Path) -> None:
    """A new office with one admin device (alice) in `data_dir`, as the tests make one."""
    onboarding.create_office(data_dir, "Acme Ltd", "alice", pw(), T0, PROFILE).office.close()


def store_problems(data_dir: Path) -> list[str]:
    """The bare database, opened and checked before any vault code touches it."""
    try:
        key = keystore.read(data_dir / KEYSTORE, pw(), PROFILE).db_key
        with Store.open(data_dir / DATABASE, key) as store:
            return [f"store: {p}" for p in store.integrity_problems()]
    except VaultError as exc:
        return [f"the database did not open: {exc}"]


def inspect(data_dir: Path) -> tuple[dict[str, Seen] | None, list[str]]:
    """Integrity problems of the data dir, and its entries if the vault opens."""
    problems = store_problems(data_dir)
    try:
        vault = Vault.open(data_dir, pw(), PROFILE)
    except VaultError as exc:
        return None, [*problems, f"the vault did not open: {exc}"]
    with vault:
        problems += [f"verify: {p}" for p in vault.office.verify(NOW)]
        store, me = vault.office.store, vault.office.identity.device_id
        held = len(store.envelopes_since(me, 0))
        if store.contiguous_seq(me) != held:
            problems.append(f"op log: {held} envelopes but a gap after {store.contiguous_seq(me)}")
        return ledger.observe(vault), problems


@dataclass(frozen=True)
class Timing:
    run_min: float = 0.0  # after "ready", the kill lands uniformly in [run_min, run_max) s
    run_max: float = 0.4
    early_share: float = 0.1  # rounds killed while the writer starts, not after "ready"
    early_max: float = 0.5  # those are killed uniformly in [0, early_max) s after the spawn
    ready_timeout: float = 30.0
    exit_timeout: float = 10.0


@dataclass
class Tally:
    """Everything the rounds so far found; `ok` when nothing was lost or broken."""

    rounds: int = 0
    kills: int = 0
    in_flight: int = 0  # kills that landed while a write was under way
    in_flight_committed: int = 0  # ... whose write was in the vault afterwards
    in_reopen: int = 0  # kills that landed while the writer closed and reopened the vault
    saved: int = 0  # saves the writer reported
    checked: int = 0  # reported saves found, each on its own
    lost: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    integrity: list[str] = field(default_factory=list)  # rounds whose checks failed
    child_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        failures = (self.lost, self.unexpected, self.integrity, self.child_errors)
        return not any(failures) and self.checked == self.saved

    def summary(self) -> str:
        return (f"rounds {self.rounds}, kills {self.kills} ({self.in_flight} mid-write, "
                f"{self.in_flight_committed} of those committed, {self.in_reopen} in a reopen), "
                f"writes reported saved {self.saved}, writes checked {self.checked}, "
                f"lost {len(self.lost)}, unexpected {len(self.unexpected)}, "
                f"integrity failures {len(self.integrity)}, "
                f"writer errors {len(self.child_errors)}")  # fmt: skip

    def absorb(self, other: Tally) -> None:
        """Add `other`'s counts and findings to these."""
        for item in fields(self):
            mine = getattr(self, item.name)
            if isinstance(mine, list):
                mine.extend(getattr(other, item.name))
            else:
                setattr(self, item.name, mine + getattr(other, item.name))

    def problems(self) -> list[str]:
        return [*self.lost, *self.unexpected, *self.integrity, *self.child_errors]


class Rig:
    """One data dir, what its vault is known to hold, and the rounds run on it."""

    def __init__(self, data_dir: Path, seed: int, timing: Timing | None = None) -> None:
        self.data_dir = data_dir
        self.logs = data_dir.parent
        self.seed = seed
        self.rng = random.Random(seed)
        self.timing = timing or Timing()
        self.known: dict[str, Seen] = {}
        self.tally = Tally()

    @classmethod
    def new(cls, work: Path, seed: int, timing: Timing | None = None) -> Rig:
        """A rig on a new office in `work`/vault; `work` also holds the writer's output."""
        make_office(work / "vault")
        return cls(work / "vault", seed, timing)

    def round(self) -> None:
        """Start the writer, kill it, check the vault; the results go to `tally`."""
        self.judge(self.write_and_kill())

    def write_and_kill(self) -> Report:
        """Run the writer until its kill; what it reported."""
        number = self.tally.rounds
        self.tally.rounds += 1
        child_seed = self.seed * 1_000_000 + number  # unique markers across rounds
        timing = self.timing
        early = self.rng.random() < timing.early_share
        delay = (
            self.rng.uniform(0, timing.early_max)
            if early
            else self.rng.uniform(timing.run_min, timing.run_max)
        )
        out, err = self.logs / "writer.out", self.logs / "writer.err"
        error = self._run_writer(child_seed, early, delay, out, err)
        if error is not None:
            tail = err.read_text()[-2000:]
            self.tally.child_errors.append(f"round {number} (seed {child_seed}): {error}\n{tail}")
        return ledger.parse(out.read_text())

    def _run_writer(self, seed: int, early: bool, delay: float, out: Path, err: Path) -> str | None:
        """Run one writer until its kill; what went wrong with it, if anything."""
        argv = [*WRITER, str(self.data_dir), str(seed)]
        with out.open("wb") as out_file, err.open("wb") as err_file:
            proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL,
                                    stdout=out_file, stderr=err_file)  # fmt: skip
        try:
            start = time.monotonic()
            if not early:
                ready = _wait_ready(proc, out, start + self.timing.ready_timeout)
                if ready is None:
                    status = proc.poll()
                    return f"no 'ready' within {self.timing.ready_timeout} s (status {status})"
                start = ready
            try:
                proc.wait(timeout=max(0.0, start + delay - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()  # SIGKILL, to this writer only
                self.tally.kills += 1
            else:
                return f"the writer exited by itself (status {proc.returncode})"
            proc.wait(timeout=self.timing.exit_timeout)
            return None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=self.timing.exit_timeout)

    def judge(self, report: Report) -> None:
        """Check the vault against the report; what it holds becomes what is known."""
        number = self.tally.rounds - 1
        seen, problems = inspect(self.data_dir)
        self.tally.saved += len(report.saves)
        if problems:
            self.tally.integrity.append(f"round {number}: " + "; ".join(problems))
        if seen is None:
            return
        verdict = ledger.check(self.known, report, seen)
        self.tally.checked += verdict.checked
        self.tally.lost += [f"round {number}: {line}" for line in verdict.lost]
        self.tally.unexpected += [f"round {number}: {line}" for line in verdict.unexpected]
        self.tally.in_reopen += report.reopening
        if report.pending is not None:
            self.tally.in_flight += 1
            self.tally.in_flight_committed += verdict.in_flight_committed
        self.known = seen


def _wait_ready(proc: subprocess.Popen[bytes], out: Path, deadline: float) -> float | None:
    """When the writer said "ready" (it has the vault open); None if it did not in time."""
    while time.monotonic() < deadline and proc.poll() is None:
        if out.read_bytes().startswith(b"ready "):
            return time.monotonic()
        time.sleep(POLL)
    return None
