"""`python -m tests.crash.fsize_limit BYTES COMMAND...`: COMMAND, no file growing past BYTES.

A disk that fills up, simulated without root: RLIMIT_FSIZE makes every write
past BYTES in any file fail. SIGXFSZ, which would kill the process, is
ignored (an ignored signal stays ignored across exec, and Python ignores it
anyway), so the write fails with EFBIG instead, which SQLite reports as an
I/O error, much as it reports ENOSPC. Pipes are not files: stdout and stderr
still work when they are pipes.
"""

from __future__ import annotations

import os
import resource
import signal
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not argv[0].isdigit():
        sys.stderr.write("usage: python -m tests.crash.fsize_limit BYTES COMMAND [ARG...]\n")
        return 2
    limit = int(argv[0])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.execvp(argv[1], argv[1:])  # replaces this process: nothing after it runs


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
