"""When the window locks itself: after IDLE_LOCK seconds without user input (a setting).

Sans-IO: the window reports input and asks, with the time, whether to lock.
"""

from __future__ import annotations

from dataclasses import dataclass

IDLE_LOCK = 600.0  # seconds: 10 minutes


@dataclass
class IdleLock:
    after: float = IDLE_LOCK
    last_input: float = 0.0

    def touched(self, now: float) -> None:
        self.last_input = max(self.last_input, now)

    def due(self, now: float) -> bool:
        return self.after > 0 and now - self.last_input >= self.after

    def remaining(self, now: float) -> float:
        return max(0.0, self.after - (now - self.last_input))
