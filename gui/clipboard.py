"""When a copied secret leaves the clipboard: after CLEAR_AFTER seconds, and only if the
clipboard still holds what we put there (the user may have copied something else since).

Sans-IO: the window reads and writes the real clipboard; this decides. The value is
kept only as a keyed digest, never as the secret itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

CLEAR_AFTER = 30.0  # seconds (a setting)


def _digest(key: bytes, value: str) -> bytes:
    return hmac.new(key, value.encode(), hashlib.sha256).digest()


@dataclass
class ClipboardGuard:
    clear_after: float = CLEAR_AFTER
    _key: bytes = field(default_factory=lambda: os.urandom(32), repr=False)
    _ours: bytes | None = field(default=None, repr=False)
    _due: float | None = None

    def copied(self, value: str, now: float) -> None:
        """We put `value` on the clipboard at `now`."""
        self._ours = _digest(self._key, value)
        self._due = now + self.clear_after

    @property
    def due(self) -> float | None:
        """When the clipboard should be looked at next (None: nothing of ours is there)."""
        return self._due

    def should_clear(self, now: float, current: str | None) -> bool:
        """Time to look: clear if `current` (the clipboard now) is still ours.

        Once due, we forget our value whatever the answer, so a later check never
        clears what the user copied afterwards.
        """
        if self._due is None or now < self._due:
            return False
        ours = self._ours
        self._ours = self._due = None
        return (
            current is not None
            and ours is not None
            and hmac.compare_digest(ours, _digest(self._key, current))
        )

    def is_ours(self, current: str | None) -> bool:
        """Does the clipboard (`current`) still hold the value we put there?"""
        ours = self._ours
        return (
            current is not None
            and ours is not None
            and hmac.compare_digest(ours, _digest(self._key, current))
        )

    def forget(self) -> bool:
        """On lock: True if a value of ours may still be on the clipboard (clear it now)."""
        had = self._ours is not None
        self._ours = self._due = None
        return had
