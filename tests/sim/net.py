"""A seeded virtual network: delay, reordering, loss, duplication and partitions.

Frames are (src, dst, bytes) between node names. Each frame gets its own
delay, so frames overtake each other; a lost frame is gone, a duplicated one
arrives twice. A partition splits the nodes into groups; frames between
groups are dropped when sent and when due (a cut link drops what was in
flight). Nothing here knows what a frame means.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field


@dataclass
class Faults:
    loss: float = 0.0
    dup: float = 0.0
    min_delay: float = 0.001
    max_delay: float = 0.2


@dataclass
class Network:
    rng: random.Random
    faults: Faults = field(default_factory=Faults)
    groups: list[set[str]] = field(default_factory=list)  # a partition; [] = whole
    sent: int = 0
    lost: int = 0
    duplicated: int = 0
    _queue: list[tuple[float, int, str, str, bytes]] = field(default_factory=list)
    _n: int = 0

    def linked(self, a: str, b: str) -> bool:
        return not self.groups or any(a in g and b in g for g in self.groups)

    def send(self, src: str, dst: str, frame: bytes, now: float) -> None:
        self.sent += 1
        if not self.linked(src, dst):
            return
        if self.rng.random() < self.faults.loss:
            self.lost += 1
            return
        copies = 1
        if self.rng.random() < self.faults.dup:
            self.duplicated += 1
            copies = 2
        for _ in range(copies):
            delay = self.rng.uniform(self.faults.min_delay, self.faults.max_delay)
            self._n += 1
            heapq.heappush(self._queue, (now + delay, self._n, src, dst, frame))

    def due(self, now: float) -> list[tuple[str, str, bytes]]:
        """Frames whose time has come, in arrival order (cut links drop theirs)."""
        out = []
        while self._queue and self._queue[0][0] <= now:
            _, _, src, dst, frame = heapq.heappop(self._queue)
            if self.linked(src, dst):
                out.append((src, dst, frame))
        return out

    def partition(self, names: list[str]) -> None:
        """Split `names` into two random non-empty halves."""
        shuffled = list(names)
        self.rng.shuffle(shuffled)
        cut = self.rng.randrange(1, len(shuffled))
        self.groups = [set(shuffled[:cut]), set(shuffled[cut:])]

    def heal(self) -> None:
        self.groups = []

    def idle(self) -> bool:
        return not self._queue
