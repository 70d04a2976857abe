"""Benchmarks of the window against issue 6's bars (run by scripts/bench_window).

Starts its own virtual screen (Xvfb, on a display number it picks free; stopped by its
PID at the end) and measures, with the real code paths, in temp folders:

- launch -> unlock screen painted: `python -m gui.cli gui --data-dir D` as a child, with
  OFFICEVAULT_PAINTED (gui/cli.py writes time.time() there once the first screen is
  drawn) and OFFICEVAULT_EXIT_AFTER_PAINT=1; from just before Popen to the time written.
  D holds the 10,000-entry vault; one untimed launch first warms the disk cache.
- unlock -> list usable at 10,000 entries, beyond the KDF: Vault.open, MainWindow built,
  root.update() until the list is painted; the KDF (the test profile's, a few ms) is
  timed alone and subtracted. After one untimed unlock (recorded, no bar): the first
  unlock after the entries arrived decrypts every summary once, later ones read the
  vault's cache.
- a keystroke in search at 10,000 entries: realistic search texts typed one character
  at a time and erased again, each keystroke timed from MainWindow.on_search to after
  root.update_idletasks(); p50 and p95. Also the list presenter's filter alone, so the
  figure says where the time goes. It measures whatever list MainView has, and says
  which (the virtual EntryTable, or a Treeview of every entry).
- the window process's memory at 5,000 entries: a child process (this script, with
  --rss-child) opens the vault in a MainWindow, paints, types a few searches, and
  reports its peak RSS (VmHWM) and its RSS then (VmRSS). With the test KDF: the
  production Argon2id takes 256 MiB for a moment, which one more run shows (no bar).

Prints one line a figure with PASS/FAIL against its bar and records each
(benchlib.record) for scripts/bench. --quick: 2,000 and 1,000 entries and fewer runs,
a check only. The figures are only as good as the machine is quiet.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tkinter as tk
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import benchlib

from node import keystore, onboarding
from node.datadir import DataDir
from node.keystore import KdfProfile
from node.vault import Vault

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # the tests' virtual screen (tests/gui/display.py)
from tests.gui.display import screen, stop  # noqa: E402

PROFILE = keystore.INSECURE_TEST  # the KDF is excluded from every figure here
PROFILES = {"test": keystore.INSECURE_TEST, "moderate": keystore.MODERATE}
WIDTH = 60  # of a figure's name in the printed lines
PASSWORD = "bench window password"  # noqa: S105 (a throwaway vault)
T0 = int(time.time())
SIZE = (1100, 680)  # the window's size, as gui/cli.py opens it
CHILD_TIMEOUT = 120.0
# What people type: names, a name and a number, users, parts of URLs, nothing found.
SEARCHES = ("mail", "bank 12", "wifi", "printer 3", "user123", "acme", "vpn", "payroll 45",
            "https://crm", "shop 9", "router", "nas 77", "zz no match", "@acme.example",
            "user9999", "crm 1")  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    entries: int  # the vault the list and keystroke figures use
    rss_entries: int
    launches: int
    opens: int
    keystrokes: int  # at least this many
    rss_runs: int


FULL = Sizes(entries=10_000, rss_entries=5_000, launches=10, opens=11, keystrokes=300, rss_runs=3)
QUICK = Sizes(entries=2_000, rss_entries=1_000, launches=3, opens=2, keystrokes=60, rss_runs=1)


def pw() -> bytearray:
    return bytearray(PASSWORD.encode())


def make_vault(path: Path, entries: int, profile: KdfProfile = PROFILE) -> None:
    onboarding.create_office(path, "Bench", "admin", pw(), T0, profile).office.close()
    with Vault.open(path, pw(), profile) as vault:
        vault.add_many(benchlib.rows(entries, random.Random(11)), T0 + 1)  # noqa: S311


def ms(seconds: list[float]) -> list[float]:
    return [s * 1000 for s in seconds]


def spread(values: list[float], unit: str) -> str:
    p95, low, high = benchlib.pct(values, 95), min(values), max(values)
    return f"  (p95 {p95:.2f}, min {low:.2f}, max {high:.2f} {unit})"


# -- launch -> unlock screen painted ------------------------------------------------------
def launch_once(data: Path, display: str, tmp: Path) -> float:
    """Seconds from just before Popen to the first screen painted (as the child says)."""
    painted = tmp / "painted"
    painted.unlink(missing_ok=True)
    env = {**os.environ, "DISPLAY": display, "OFFICEVAULT_PAINTED": str(painted),
           "OFFICEVAULT_EXIT_AFTER_PAINT": "1"}  # fmt: skip
    env.pop(benchlib.RECORD_ENV, None)
    argv = [sys.executable, "-m", "gui.cli", "gui", "--data-dir", str(data)]
    start = time.time()
    proc = subprocess.Popen(  # noqa: S603 (our own argv)
        argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _, err = proc.communicate(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()  # only the child started here
        proc.communicate()
        raise RuntimeError(f"the window did not close within {CHILD_TIMEOUT:.0f} s") from None
    if proc.returncode != 0 or not painted.exists():
        said = err.strip()[-400:] or "no output"
        raise RuntimeError(f"the window exited {proc.returncode} without painting: {said}")
    return float(painted.read_text()) - start


def bench_launch(data: Path, display: str, tmp: Path, runs: int) -> bool:
    launch_once(data, display, tmp)  # untimed: the disk cache warmed
    times = [launch_once(data, display, tmp) for _ in range(runs)]
    return benchlib.line(
        f"launch -> unlock screen painted, median of {runs}",
        statistics.median(times),
        0.5,
        "s",
        spread(times, "s"),
        WIDTH,
    )


# -- the window process's memory -------------------------------------------------------------
def rss_child(data: Path, profile: str, display: str) -> None:
    """--rss-child: open the vault in a window, paint, search a little, print the RSS."""
    import ttkbootstrap as ttk  # noqa: PLC0415 (the child alone needs them)

    from gui.main_window import MainWindow  # noqa: PLC0415

    root = ttk.Window(title="OfficeVault (bench)", size=SIZE, screenName=display)
    window = MainWindow(root, Vault.open(data, pw(), PROFILES[profile]))
    root.update()
    for text in SEARCHES[:4]:
        for i in [*range(1, len(text) + 1), *range(len(text) - 1, -1, -1)]:
            window.on_search(text[:i])
            root.update()
    peak, now = memory()
    print(json.dumps({"peak_mb": peak, "rss_mb": now, "entries": len(window.lister.every())}))
    window.lock("bench")
    root.destroy()


def memory() -> tuple[float, float]:
    """This process's peak RSS and RSS now, in MB. /proc's VmHWM, not ru_maxrss: Linux
    carries a parent's peak over fork and exec into the child's ru_maxrss."""
    found: dict[str, float] = {}
    status = Path("/proc/self/status")
    if status.exists():
        for field in status.read_text().splitlines():
            name, _, value = field.partition(":")
            if name in ("VmHWM", "VmRSS"):
                found[name] = int(value.split()[0]) / 1024  # kB
    if "VmHWM" not in found:  # no /proc
        found["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return found["VmHWM"], found.get("VmRSS", float("nan"))


def rss_once(data: Path, profile: str, display: str) -> dict[str, float]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--rss-child", str(data), profile,
            display]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != benchlib.RECORD_ENV}
    done = subprocess.run(  # noqa: S603 (our own argv)
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT,
        check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if done.returncode != 0:
        said = done.stderr.strip()[-400:] or "no output"
        raise RuntimeError(f"the memory child exited {done.returncode}: {said}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def bench_rss(data: Path, moderate: Path, display: str, entries: int, runs: int) -> bool:
    """`data` made with the test KDF, `moderate` with the production one."""
    found = [rss_once(data, "test", display) for _ in range(runs)]
    if any(f["entries"] != entries for f in found):
        raise RuntimeError(f"the memory child listed {found[0]['entries']}, not {entries}")
    peaks, now = [f["peak_mb"] for f in found], [f["rss_mb"] for f in found]
    ok = benchlib.line(
        f"window process, {entries:,} entries: peak RSS, median of {runs}",
        statistics.median(peaks),
        100,
        "MB",
        f"  (test KDF; RSS after painting and searching {statistics.median(now):.1f} MB)",
        WIDTH,
        promise=benchlib.PROMISE_MEMORY,
    )
    real = rss_once(moderate, "moderate", display)
    figure = "the same unlocked with Argon2id MODERATE: peak RSS, one run"
    after = f"its 256 MiB freed after the unlock: RSS after painting {real['rss_mb']:.1f} MB"
    print(f"{figure:{WIDTH}} {real['peak_mb']:8.1f} MB  (no bar; {after})")
    benchlib.record(figure, real["peak_mb"], "MB", promise=benchlib.PROMISE_MEMORY, detail=after)
    return ok


# -- in the window: unlock -> list usable, and keystrokes ------------------------------------
def kdf_seconds(path: Path, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        keystore.read(DataDir(path).keystore, pw(), PROFILE)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def unlock_once(root: tk.Tk, path: Path, entries: int) -> float:
    """Seconds from Vault.open to the list painted in a new MainWindow (then locked)."""
    from gui.main_window import MainWindow  # noqa: PLC0415

    gc.collect()
    t = time.perf_counter()
    window = MainWindow(root, Vault.open(path, pw(), PROFILE))
    root.update()
    took = time.perf_counter() - t
    listed = len(window.lister.every())
    window.lock("bench")
    root.update()
    if listed != entries:
        raise RuntimeError(f"the window listed {listed} entries, not {entries}")
    return took


def bench_unlock(root: tk.Tk, path: Path, entries: int, runs: int) -> bool:
    kdf = kdf_seconds(path)
    first = unlock_once(root, path, entries) - kdf
    name = f"first unlock after {entries:,} entries arrived, one run"
    why = "it decrypts each summary once; later unlocks read them from the vault's cache"
    print(f"{name:{WIDTH}} {first * 1000:8.1f} ms  (no bar: {why})")
    benchlib.record(name, first * 1000, "ms", detail=why)
    times = ms([unlock_once(root, path, entries) - kdf for _ in range(runs)])
    return benchlib.line(
        f"unlock -> list usable, {entries:,} entries, median of {runs}",
        statistics.median(times),
        500,
        extra=spread(times, "ms").replace(
            ")", f"; beyond the KDF: its {kdf * 1000:.1f} ms taken off)"
        ),
        width=WIDTH,
    )


def keystrokes(at_least: int) -> Iterator[str]:
    """The search field's text after each keystroke: each text typed, then erased."""
    count = 0
    while count < at_least:
        for text in SEARCHES:
            for i in [*range(1, len(text) + 1), *range(len(text) - 1, -1, -1)]:
                count += 1
                yield text[:i]


def table_kind(widget: tk.Misc) -> str:
    """Which list the window draws: the virtual EntryTable, or a Treeview of every entry."""
    from gui.widgets.entry_table import EntryTable  # noqa: PLC0415

    todo = [widget]
    while todo:
        w = todo.pop()
        if isinstance(w, EntryTable):
            return "EntryTable"
        todo.extend(w.winfo_children())
    return "a Treeview of every entry"


def bench_keystrokes(root: tk.Tk, path: Path, entries: int, at_least: int) -> bool:
    from gui.entry_list import ListPresenter  # noqa: PLC0415
    from gui.main_window import MainWindow  # noqa: PLC0415

    typed = list(keystrokes(at_least))
    with Vault.open(path, pw(), PROFILE) as vault:
        window = MainWindow(root, vault)
        root.update()
        kind = table_kind(window.view)
        times = []
        for text in typed:
            t = time.perf_counter()
            window.on_search(text)
            root.update_idletasks()
            times.append(time.perf_counter() - t)
            root.update()  # untimed: what is left (events) before the next keystroke
        lister = ListPresenter(vault.entries, clock=time.time)
        lister.every()
        filtering = []
        for text in typed:
            t = time.perf_counter()
            lister.view(None, text, False)
            filtering.append(time.perf_counter() - t)
        window.lock("bench")
        root.update()
    times, filtering = ms(times), ms(filtering)
    n, p95 = len(times), benchlib.pct(filtering, 95)
    name = f"keystroke -> list repainted, {entries:,} entries, p95 of {n}"
    ok = benchlib.line(
        name,
        benchlib.pct(times, 95),
        16,
        extra=f"  (median {statistics.median(times):.2f} ms)",
        width=WIDTH,
        figure=f"{name} (list: {kind})",
    )
    print(f"  (the list measured: {kind})")
    figure = f"  of which the presenter's filter, p95 of {n}"
    print(f"{figure:{WIDTH}} {p95:8.2f} ms  (median {statistics.median(filtering):.2f} ms)")
    benchlib.record(
        figure.strip(), p95, "ms", detail=f"median {statistics.median(filtering):.2f} ms"
    )
    return ok


# -- main ------------------------------------------------------------------------------------
def run(sizes: Sizes, display: str, tmp: Path) -> list[bool]:
    import ttkbootstrap as ttk  # noqa: PLC0415

    big, small, moderate = tmp / "big", tmp / "small", tmp / "moderate"
    t = time.perf_counter()
    make_vault(big, sizes.entries)
    make_vault(small, sizes.rss_entries)
    make_vault(moderate, sizes.rss_entries, keystore.MODERATE)
    print(f"  (vaults of {sizes.entries:,} and {sizes.rss_entries:,} entries made in "
          f"{time.perf_counter() - t:.1f} s)")  # fmt: skip
    results = [bench_launch(big, display, tmp, sizes.launches)]
    results.append(bench_rss(small, moderate, display, sizes.rss_entries, sizes.rss_runs))
    root = ttk.Window(title="OfficeVault (bench)", size=SIZE, screenName=display)
    try:
        root.update()
        results.append(bench_unlock(root, big, sizes.entries, sizes.opens))
        results.append(bench_keystrokes(root, big, sizes.entries, sizes.keystrokes))
    finally:
        root.destroy()
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a check")
    parser.add_argument("--rss-child", nargs=3, metavar=("DATA", "PROFILE", "DISPLAY"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args(argv)
    if args.rss_child:
        data, profile, display = args.rss_child
        rss_child(Path(data), profile, display)
        return 0
    sizes = QUICK if args.quick else FULL
    display = screen()
    if display is None:
        print("Xvfb is not installed (apt-get install xvfb; scripts/test installs it)")
        return 1
    try:
        print(f"window benchmarks on a virtual screen ({display}, {SIZE[0]}x{SIZE[1]} window)"
              + (" (quick: smaller sizes, a check only)" if args.quick else ""))  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="bench-window-") as tmp:
            results = run(sizes, display, Path(tmp))
    finally:
        stop()
    print("all bars met" if all(results) else "some bars missed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
