"""A backstop for hangs the per-call watchdog cannot interrupt (a loop inside C code).

SIGALRM (hostile.watchdog) stops a decoder looping in Python; a hang inside
libsodium, yrs or the regex engine would not see it. Rather than let CI sit
until its time limit, such a test dumps every thread's stack and ends the run.
"""

from __future__ import annotations

import faulthandler
from collections.abc import Iterator

import pytest

BACKSTOP = 300.0  # seconds for one whole fuzz test: each takes a few


@pytest.fixture(autouse=True)
def hang_backstop() -> Iterator[None]:
    faulthandler.dump_traceback_later(BACKSTOP, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()
