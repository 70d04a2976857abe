"""A virtual screen for the window tests: Xvfb, started once per test session.

`screen()` starts Xvfb (it picks a free display number itself: -displayfd) and
returns its display name, which only Tk and the screenshots are given: it never
enters the environment that other tests (and the programs they start) inherit.
`stop()` ends it (by its PID, which we started).
Screenshots of the window go to ARTIFACTS, which a test run keeps.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
_started: subprocess.Popen[bytes] | None = None
_display: str | None = None


def screen() -> str | None:
    """DISPLAY of a running Xvfb (started here if needed); None if Xvfb is not installed."""
    global _started, _display  # noqa: PLW0603 (one virtual screen per test session)
    if _started is not None:
        return _display
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        return None
    read, write = os.pipe()
    _started = subprocess.Popen(
        [xvfb, "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read) as fh:
        number = fh.readline().strip()
    if not number:
        stop()
        return None
    _display = f":{number}"
    return _display


def stop() -> None:
    global _started  # noqa: PLW0603
    if _started is not None:
        _started.terminate()
        try:
            _started.wait(10)
        except subprocess.TimeoutExpired:
            _started.kill()
            _started.wait(5)
        _started = None
