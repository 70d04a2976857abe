"""Give freed memory back to the operating system after a burst of work.

CPython and the native libraries under it (libzmq, SQLCipher, pycrdt's
Rust core) free through the C allocator, and glibc keeps freed arena memory
for reuse: after the node serves a join (megabytes of envelopes read,
encoded and encrypted once) its RSS would stay at that peak for good. On
glibc, `malloc_trim(0)` returns the free pages. Elsewhere this is a no-op.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
        return trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


_TRIM = _malloc_trim()


def trim() -> None:
    """Return free heap pages to the OS (a few ms at most; call after bursts, not often)."""
    if _TRIM is not None:
        _TRIM(0)
