"""The simulator's soak: many seeds of the large profile, in parallel, with one summary.

scripts/soak runs it: by default 100 seeds of the "soak" profile (30 PCs,
3 admins, about a thousand writes each under every fault of tests/sim/run.py),
one worker process per core, data dirs on /dev/shm when it exists (the
simulated PCs' disks are not what is measured). It prints a line per seed and
a summary: seeds run, writes confirmed and refused, forgeries, faults
injected, and violations (the goal is zero), with the replay command of each
failing seed. Exit code 1 if any seed found a violation.

A seed of the large profile takes minutes, so each finished seed is kept as
one line of tests/sim/soak-seeds.jsonl (tracked: the evidence the README
quotes, with the commit each seed ran on), and a run skips seeds already kept
for the same commit: an interrupted soak goes on where it stopped, in a later
session too. The summary (bench-results/soak.json, read by scripts/bench)
counts every kept seed of the profile, the newest run of each seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from tests.sim.run import PROFILES, Result, run_seed

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "bench-results" / "soak.json"
KEPT = Path(__file__).resolve().parent / "soak-seeds.jsonl"


def code_version(rev: str | None = None) -> str:
    """A digest of the project's own modules a simulation runs (those this process has
    imported: tests.sim.run and all it imports), as they are in the work tree (or, with
    `rev`, at that commit). Seeds are kept per version: a change elsewhere (README,
    the window, a CLI) leaves them valid; a change to what they ran does not."""
    files = [Path(f).resolve() for m in list(sys.modules.values())
             if isinstance(f := getattr(m, "__file__", None), str)]  # fmt: skip
    here = Path(__file__).resolve()  # the driver itself is not what it runs
    paths = sorted(f.relative_to(ROOT) for f in files
                   if f.is_relative_to(ROOT) and ".venv" not in f.parts and f != here)  # fmt: skip
    digest = hashlib.sha256()
    for path in paths:
        if rev is None:
            data = (ROOT / path).read_bytes()
        else:
            shown = subprocess.run(
                ["git", "show", f"{rev}:{path.as_posix()}"], cwd=ROOT, capture_output=True,
                timeout=10, check=False,
            )  # fmt: skip
            data = shown.stdout if shown.returncode == 0 else b"(missing)"
        digest.update(path.as_posix().encode() + b"\0" + data + b"\0")
    return digest.hexdigest()[:12]


def _kept(profile: str) -> dict[int, dict[str, Any]]:
    """The newest kept run of each seed of `profile`."""
    out = {}
    lines = KEPT.read_text().splitlines() if KEPT.exists() else []
    for text in lines:
        data = json.loads(text)
        if data["profile"] == profile:
            out[int(data["seed"])] = data
    return out


def _head() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
            timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"


def _keep(result: Result, version: str) -> None:
    KEPT.parent.mkdir(parents=True, exist_ok=True)
    data = {**dataclasses.asdict(result), "faults": dict(result.faults), "code": version,
            "commit": _head()}  # fmt: skip
    with KEPT.open("a") as out:
        out.write(json.dumps(data, sort_keys=True) + "\n")


def _one(seed: int, profile: str, base: str) -> Result:
    mine = Path(base) / f"worker-{os.getpid()}"
    return run_seed(seed, PROFILES[profile], mine)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="soak")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--first", type=int, default=0, help="the first seed")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    version = code_version()
    kept = _kept(profile.name)
    wanted = range(args.first, args.first + args.seeds)
    seeds = [s for s in wanted if kept.get(s, {}).get("code") != version]
    shm = Path("/dev/shm")  # a memory file system for the simulated disks
    where = str(shm) if shm.is_dir() else None
    kept_before = len(wanted) - len(seeds)
    print(f"soak of code {version}: {len(seeds)} seeds to run ({kept_before} kept from "
          f"earlier runs) of profile {profile.name!r} ({profile.nodes} PCs, "
          f"{profile.admins} admins, {profile.seconds:.0f} virtual s at {profile.ops_per_second:g} "
          f"writes/s), {args.workers} workers", flush=True)  # fmt: skip
    started = time.monotonic()
    results: list[Result] = []
    with (
        tempfile.TemporaryDirectory(prefix="ov-soak-", dir=where) as tmp,
        ProcessPoolExecutor(args.workers) as pool,
    ):
        futures = [pool.submit(_one, seed, profile.name, tmp) for seed in seeds]
        for future in as_completed(futures):
            result = future.result()
            _keep(result, version)
            results.append(result)
            print(f"[{len(results)}/{len(seeds)}] {result.line()}", flush=True)
            for violation in result.violations:
                print(f"    {violation}", flush=True)
    took = time.monotonic() - started
    print(
        f"this run: {len(results)} seeds in {took / 60:.0f} min; the summary counts every kept seed"
    )
    return _summary(list(_kept(profile.name).values()), profile.name)


def _summary(kept: list[dict[str, Any]], profile: str) -> int:
    faults: Counter[str] = sum((Counter(k["faults"]) for k in kept), Counter())
    failed = sorted((k for k in kept if k["violations"]), key=lambda k: k["seed"])
    summary = {
        "profile": profile,
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}",
        "code": sorted({k.get("code", "?") for k in kept}),
        "commits": sorted({k["commit"] for k in kept}),
        "seeds": len(kept),
        "writes": sum(k["writes"] for k in kept),
        "refused": sum(k["refused"] for k in kept),
        "forgeries": sum(k["forgeries"] for k in kept),
        "faults": dict(sorted(faults.items())),
        "violations": sum(len(k["violations"]) for k in kept),
        "failed_seeds": [k["seed"] for k in failed],
        "max_heartbeats_to_converge": max((k["rounds"] for k in kept), default=-1),
        "seconds": round(sum(k["seconds"] for k in kept)),
    }
    print(f"seeds run {summary['seeds']}; writes confirmed {summary['writes']} (refused "
          f"{summary['refused']}); forgeries {summary['forgeries']}; faults injected "
          f"{sum(faults.values())}: " + ", ".join(f"{k} {v}" for k, v in sorted(faults.items()))
          + f"; converged within {summary['max_heartbeats_to_converge']} heartbeats of the heal;"
          f" violations {summary['violations']}; {summary['seconds'] / 60:.0f} min of seed "
          f"runs, on {', '.join(summary['commits'])}")  # fmt: skip
    for k in failed:
        replay = f"python -m tests.sim.run --profile {profile} --seed {k['seed']}"
        print(f"  FAILED seed {k['seed']}: replay with: {replay}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=1) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
