"""How long a revealed secret stays shown: REVEAL_FOR seconds, then it is hidden again;
locking hides everything at once. Sans-IO: the window asks with the time."""

from __future__ import annotations

from dataclasses import dataclass, field

REVEAL_FOR = 20.0  # seconds
HIDDEN = "••••••••"


@dataclass
class Reveals:
    reveal_for: float = REVEAL_FOR
    _until: dict[str, float] = field(default_factory=dict)  # what is shown -> until when

    def show(self, what: str, now: float) -> None:
        """`what` names a shown secret (e.g. "<entry>/password"), never holds it."""
        self._until[what] = now + self.reveal_for

    def shown(self, what: str, now: float) -> bool:
        return self._until.get(what, -1.0) > now

    def expired(self, now: float) -> list[str]:
        """What must be hidden now (forgotten here as it is returned)."""
        gone = sorted(w for w, t in self._until.items() if t <= now)
        for w in gone:
            del self._until[w]
        return gone

    def hide_all(self) -> list[str]:
        gone, self._until = sorted(self._until), {}
        return gone
