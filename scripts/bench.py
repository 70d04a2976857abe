"""Every benchmark of the project in one command (run by scripts/bench).

Runs, each as a child process with OV_BENCH_RECORD naming a fresh file it records its
figures in (benchlib.record): cold start and memory (bench_start.py), unlock
(bench_unlock.py), the membership fold (bench_membership.py), the vault document
(bench_vault.py), the network nodes (bench_nodes.py) and the window (bench_window.py, on
a virtual screen of its own). A progress line (step, elapsed time, the step's last output
line) is redrawn while they run; each step's full output goes to
bench-results/logs/<step>.log. Then it writes bench-results/report.json, report.md
(figure | our result | bar | the plan's promise | pass/fail) and latency.png (from
bench-results/node_latency.json), and prints report.md. bench-results/soak.json,
written by scripts/soak, is included when it exists; the soak is not run here.

Exit code 1 if any bar was missed or any benchmark failed to run. --quick shortens every
step for a check; the README's figures come from a full run on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import bench_report
from benchlib import RECORD_ENV

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results"
SCRIPTS = Path(__file__).resolve().parent
STEP_TIMEOUT = 1800.0  # the longest step (nodes) takes about 10 minutes on a quiet machine


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    script: str
    full: tuple[str, ...]
    quick: tuple[str, ...]


STEPS = (
    Step("start", "Cold start and memory", "bench_start.py", (), ("--runs", "3")),
    Step("unlock", "Unlock (Argon2id MODERATE)", "bench_unlock.py", ("5",), ("2",)),
    Step("membership", "Membership fold", "bench_membership.py", (), ("--sizes", "500,1000")),
    Step("vault", "Vault document (issue 3)", "bench_vault.py", (), ()),
    Step(
        "nodes",
        "Network nodes (issue 4)",
        "bench_nodes.py",
        (),
        ("--nodes", "5", "--edits", "5", "--idle-seconds", "2", "--join-entries", "500"),
    ),
    Step("window", "The window (issue 6)", "bench_window.py", (), ("--quick",)),
)


def clock(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


class Progress:
    """One line redrawn in place on a terminal; elsewhere (a log), every line printed."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.lock = threading.Lock()

    def show(self, text: str) -> None:
        """A transient line (terminal only)."""
        if self.tty:
            width = shutil.get_terminal_size().columns
            with self.lock:
                self.stream.write("\r\x1b[K" + text[: width - 1])
                self.stream.flush()

    def say(self, text: str) -> None:
        """A line that stays."""
        with self.lock:
            self.stream.write(("\r\x1b[K" if self.tty else "") + text + "\n")
            self.stream.flush()


class StepRun:
    """One benchmark running as a child process in a session of its own, its output read on
    a thread into its log."""

    def __init__(
        self, argv: list[str], env: dict[str, str], log: Path, echo: Progress, prefix: str
    ) -> None:
        self.last = ""
        self.echo = echo
        self.prefix = prefix
        self._log = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(  # noqa: S603 (our own argv)
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # so a stop reaches its own children, and nothing else
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for text in self.proc.stdout:
            self._log.write(text)
            self._log.flush()
            if text.strip():
                self.last = text.strip()
                if not self.echo.tty:
                    self.echo.say(f"{self.prefix} {text.rstrip()}")

    def stop(self) -> None:
        """SIGINT to its process group (its `finally` blocks run), then SIGKILL."""
        for sig, wait in ((signal.SIGINT, 20.0), (signal.SIGKILL, 10.0)):
            if self.proc.poll() is not None:
                return
            try:
                os.killpg(self.proc.pid, sig)  # the group this Popen made (start_new_session)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue

    def close(self) -> None:
        self.reader.join(10)
        if not self.reader.is_alive():  # else a grandchild still holds the pipe: leave it
            self._log.close()


def run_step(
    step: Step, index: int, total: int, quick: bool, records: Path, progress: Progress, t0: float
) -> dict[str, Any]:
    args = step.quick if quick else step.full
    argv = [sys.executable, str(SCRIPTS / step.script), *args]
    shown = " ".join(["scripts/" + step.script, *args])
    log = RESULTS / "logs" / f"{step.name}.log"
    env = {**os.environ, RECORD_ENV: str(records), "PYTHONUNBUFFERED": "1"}
    head = f"[{index}/{total}] {step.name}"
    progress.say(f"{head}: {step.title}: {shown}")
    started = time.monotonic()
    run = StepRun(argv, env, log, progress, head)
    try:
        while run.proc.poll() is None:
            now = time.monotonic()
            if now - started > STEP_TIMEOUT:
                progress.say(f"{head}: stopped after {STEP_TIMEOUT / 60:.0f} min")
                run.stop()
                break
            progress.show(f"{head} {clock(now - started)} (total {clock(now - t0)}) | {run.last}")
            run.reader.join(0.5)
        code = run.proc.wait()
    except KeyboardInterrupt:
        run.stop()
        raise
    finally:
        run.close()
    took = time.monotonic() - started
    figures = bench_report.read_records(records)
    missed = sum(f["passed"] is False for f in figures)
    judged = sum(f["passed"] is not None for f in figures)
    bars = f"{judged - missed} of {judged} bars met" if judged else "none has a bar"
    progress.say(f"{head}: exit {code} in {clock(took)}; {len(figures)} figures, {bars}")
    return {
        "name": step.name,
        "title": step.title,
        "command": shown,
        "exit_code": code,
        "seconds": round(took, 1),
        "log": str(log.relative_to(ROOT)),
        "figures": figures,
    }


def latency_chart(since: float) -> str | None:
    """Draw latency.png from node_latency.json if the nodes step wrote it in this run."""
    source = RESULTS / "node_latency.json"
    if not source.exists() or source.stat().st_mtime < since:
        return None
    out = RESULTS / "latency.png"
    try:
        bench_report.draw_latency(json.loads(source.read_text()), out)
    except (ImportError, ValueError, KeyError) as e:
        print(f"latency chart not drawn: {e}", file=sys.stderr)
        return None
    return str(out.relative_to(ROOT))


def read_soak() -> dict[str, Any] | None:
    path = RESULTS / "soak.json"
    try:
        soak = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(soak, dict):
        return None
    written = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC)
    return {**soak, "file": "bench-results/soak.json", "written": written.isoformat("T", "seconds")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shortened runs, for a check")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated steps to run (default: all): " + ", ".join(s.name for s in STEPS),
    )
    args = parser.parse_args()
    chosen = [s for s in STEPS if not args.only or s.name in args.only.split(",")]
    unknown = set(filter(None, args.only.split(","))) - {s.name for s in STEPS}
    if unknown or not chosen:
        parser.error(f"unknown step(s): {', '.join(sorted(unknown)) or args.only}")
    (RESULTS / "logs").mkdir(parents=True, exist_ok=True)
    machine = bench_report.machine_info()
    date = datetime.datetime.now(datetime.UTC)
    progress = Progress(sys.stderr)
    progress.say(
        f"bench: {len(chosen)} steps{' (quick)' if args.quick else ''} on "
        f"{bench_report.machine_text(machine)}"
    )
    t0, wall0 = time.monotonic(), time.time()
    steps = []
    with tempfile.TemporaryDirectory(prefix="ov-bench-") as tmp:
        for i, step in enumerate(chosen, 1):
            records = Path(tmp) / f"{step.name}.jsonl"
            try:
                steps.append(run_step(step, i, len(chosen), args.quick, records, progress, t0))
            except KeyboardInterrupt:
                progress.say("interrupted: no report written")
                return 130
    meta = {
        "mode": "quick" if args.quick else "full",
        "only": [s.name for s in chosen] if len(chosen) < len(STEPS) else None,
        "date": date.isoformat("T", "seconds"),
        "commit": bench_report.commit(ROOT),
        "machine": machine,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.monotonic() - t0, 1),
        "latency_chart": latency_chart(wall0),
    }
    report = bench_report.build(meta, steps, read_soak())
    (RESULTS / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    text = bench_report.markdown(report)
    (RESULTS / "report.md").write_text(text)
    print(text)
    wrote = ["report.json", "report.md"] + (["latency.png"] if meta["latency_chart"] else [])
    if not meta["latency_chart"]:  # not this run's: it would pass for one
        (RESULTS / "latency.png").unlink(missing_ok=True)
    ok = report["summary"]["ok"]
    progress.say(
        f"wrote bench-results/{{{','.join(wrote)}}}; "
        + ("all bars met" if ok else "some bars missed or a step failed")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
