"""Cold start and memory of the command-line app (run by scripts/bench).

Three figures, each the median of --runs fresh processes (after one untimed run that
warms the disk cache): the interpreter alone (`python -c pass`, for reference);
`officevault --help` (interpreter plus the CLI's imports); and `officevault ls` of a
vault of --entries entries: wall time, and the process's peak RSS (ru_maxrss as wait4
reports it, so each run's own). The vault is made here with the insecure test KDF
(OFFICEVAULT_INSECURE_TEST_KDF=1, as the CLI tests run it): the Argon2id an employee's
unlock adds is scripts/bench_unlock's figure, not this one's. No bars: the README sets
none; the original plan promised about 100 MB of memory per app. Temp folders only.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import benchlib

from node import keystore, onboarding
from node.vault import Vault

PASSWORD = "bench start password"  # noqa: S105 (a throwaway vault)
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TIMEOUT = 120.0


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run `argv` to its end: (wall seconds, peak RSS in MB, stdout). Raises on a failure."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603 (our own argv)
            argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        timer = threading.Timer(TIMEOUT, proc.kill)  # only the process started here
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # reaped here, for its own rusage
        finally:
            timer.cancel()
        took = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            said = err.read().strip()[-500:]
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {said}")
        return took, usage.ru_maxrss / 1024, out.read()  # Linux: ru_maxrss in KiB


def timed(argv: list[str], env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """Wall times (ms) and peak RSS (MB) of `runs` runs, after one untimed run."""
    run_once(argv, env)
    times, peaks = [], []
    for _ in range(runs):
        took, peak, _ = run_once(argv, env)
        times.append(took * 1000)
        peaks.append(peak)
    return times, peaks


def report(figure: str, values: list[float], unit: str, promise: str | None = None) -> None:
    median = statistics.median(values)
    spread = f"min {min(values):.1f}, max {max(values):.1f} {unit}"
    print(f"{figure:70} {median:8.1f} {unit:2}  ({spread})", flush=True)
    benchlib.record(figure, median, unit, promise=promise, detail=spread)


def make_vault(path: Path, entries: int) -> None:
    pw = bytearray(PASSWORD.encode())
    now = int(time.time())
    onboarding.create_office(path, "Bench", "admin", pw, now, keystore.INSECURE_TEST).office.close()
    with Vault.open(path, pw, keystore.INSECURE_TEST) as vault:
        vault.add_many(benchlib.rows(entries, random.Random(9)), now + 1)  # noqa: S311


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command")
    parser.add_argument("--entries", type=int, default=5000, help="entries in the listed vault")
    args = parser.parse_args()
    env = {**os.environ, "OFFICEVAULT_INSECURE_TEST_KDF": "1"}
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    env.pop("OFFICEVAULT_NOW", None)
    n = args.runs
    print(f"cold start: each figure the median of {n} fresh processes (disk cache warm)")
    times, _ = timed([sys.executable, "-c", "pass"], env, n)
    report(f"the interpreter alone (python -c pass), median of {n}", times, "ms")
    times, _ = timed([str(BIN / "officevault"), "--help"], env, n)
    report(f"`officevault --help` (start-up and imports), median of {n}", times, "ms")
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        data = Path(tmp) / "d"
        t = time.perf_counter()
        make_vault(data, args.entries)
        print(f"  (a vault of {args.entries} entries made in {time.perf_counter() - t:.1f} s)")
        pw_file = Path(tmp) / "password.txt"
        pw_file.write_text(PASSWORD + "\n")
        argv = [str(BIN / "officevault"), "ls", "--data-dir", str(data)]
        argv += ["--password-file", str(pw_file)]
        _, _, listed = run_once(argv, env)
        shown = len(listed.splitlines())
        if shown != args.entries:
            raise RuntimeError(f"`officevault ls` listed {shown} lines, not {args.entries}")
        times, peaks = timed(argv, env, n)
    what = f"`officevault ls` of {args.entries:,} entries (test KDF)"
    report(f"{what}, median of {n}", times, "ms")
    report(f"{what}: peak RSS, median of {n}", peaks, "MB", benchlib.PROMISE_MEMORY)
    return 0


if __name__ == "__main__":
    sys.exit(main())
