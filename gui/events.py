"""Node -> window: a thread-safe queue the Tk main loop drains with `after()`, in capped
batches, so a burst of changes never freezes the window (STYLE 6)."""

from __future__ import annotations

import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
BATCH = 50  # events handled per drain
EVERY_MS = 50  # how often the window drains


@dataclass
class Inbox(Generic[T]):
    """Put from any thread; drain only from the Tk thread."""

    _queue: queue.SimpleQueue[T]

    @classmethod
    def new(cls) -> Inbox[T]:
        return cls(queue.SimpleQueue())

    def put(self, event: T) -> None:
        self._queue.put(event)

    def drain(self, handle: Callable[[T], None], limit: int = BATCH) -> int:
        """Handle at most `limit` waiting events; return how many were handled."""
        for done in range(limit):
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                return done
            handle(event)
        return limit
