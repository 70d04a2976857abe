"""The crash soak (scripts/crash_soak): hundreds of kill/restart rounds of the writer.

`python -m tests.crash.soak [--rounds N] [--seed S] [--run-max SECONDS] [--fresh-every K]`
runs the rounds of tests/crash/rounds.py on one data dir (a new office every K
rounds, so late rounds do not only test a big vault), prints a progress line
every PROGRESS rounds, and ends with one summary line: rounds, kills, writes
reported saved, writes checked, lost, integrity failures. Exit status 1 if
anything was lost, unexpected or broken (the temp folder is then kept, and
named, with the last writer's output), else 0.

The seed picks the writers' writes and the kill delays; when the kill lands is
up to the machine, so a run is repeatable in what it does, not to the byte.
Only the writers it started are ever signalled.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tests.crash.rounds import Rig, Tally, Timing

PROGRESS = 25
SHOWN = 20  # problems printed in full at the end


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/crash_soak", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=300, help="kill/restart rounds (300)")
    parser.add_argument("--seed", type=int, default=None, help="default: chosen and printed")
    parser.add_argument("--run-max", type=float, default=0.4,
                        help="longest run before a kill, in seconds (0.4)")  # fmt: skip
    parser.add_argument("--fresh-every", type=int, default=100,
                        help="a new office every K rounds (100; 0: never)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.run_max <= 0 or args.fresh_every < 0:
        parser.error("--rounds and --run-max must be positive, --fresh-every not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(
        f"crash soak: seed {seed}, {args.rounds} rounds, on {platform.node()} ({machine})",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="crash-soak-"))
    total = Tally()
    start = time.monotonic()
    timing = Timing(run_max=args.run_max)
    rig: Rig | None = None
    for number in range(args.rounds):
        if rig is None or (args.fresh_every and number % args.fresh_every == 0):
            if rig is not None:
                total.absorb(rig.tally)
            office = work / f"office-{number}"
            office.mkdir()
            rig = Rig.new(office, seed * 1000 + number, timing)
        rig.round()
        if (number + 1) % PROGRESS == 0 or number + 1 == args.rounds:
            now = Tally()
            now.absorb(total)
            now.absorb(rig.tally)
            print(f"  {time.monotonic() - start:7.1f} s  {now.summary()}", flush=True)
    assert rig is not None
    total.absorb(rig.tally)
    elapsed = time.monotonic() - start
    print(f"crash soak summary: {total.summary()}, {elapsed:.0f} s, seed {seed}", flush=True)
    problems = total.problems()
    for line in problems[:SHOWN]:
        print(f"  problem: {line}")
    if problems or not total.ok:
        print(f"FAILED; the data dirs and the last writer's output are in {work}")
        return 1
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
