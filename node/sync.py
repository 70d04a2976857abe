"""The sync protocol as a sans-IO state machine: (peer, frame, now) in, frames and events out.

No sockets and no clock here: the transport feeds frames and the time, and
sends what comes back. That lets tests run many nodes in one process.

- Anti-entropy: every HEARTBEAT seconds each node sends every peer a Status
  (version vector: per device, the highest sequence held with no gap; a
  digest of its membership record ids; its view of the leader). A node that
  holds more of some device's envelopes than the peer pushes what the peer
  lacks (a bounded batch per round); differing record digests trigger an
  exchange of record ids and the missing records. Records are applied first:
  an envelope waits until its author's enrolment is known.
- Push: a new envelope (made here, or newly stored from a peer) goes to every
  online peer at once; each receiver forwards only what it newly stored, so a
  change reaches peers that are not directly connected, once per node.
- Presence: a peer is online while its Status keeps arriving (PRESENCE).
- Leader: among online devices holding an admin capability (this one
  included), the lowest device id leads; the term rises whenever the leader
  this node sees changes, and never goes below a term heard from a peer. A
  healed partition sees one set of online admins, hence one leader. Safety
  never depends on the leader; only who does the leader's chores does.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from node import messages
from node.errors import DecodeError, PeerError
from node.messages import Envelopes, Message, RecordIds, Records, Status, WantRecords

HEARTBEAT = 1.0
PRESENCE = 3.5
PUSH_BATCH = 256  # envelopes per anti-entropy message
MAX_BATCH_BYTES = 3 * 1024 * 1024


class Holdings(Protocol):
    """What the protocol needs from the local vault (node/vault.py provides it)."""

    def vector(self) -> dict[bytes, int]: ...
    def envelopes_after(self, author: bytes, after: int, limit: int) -> list[bytes]: ...
    def take_envelopes(self, blobs: Iterable[bytes]) -> list[bytes]: ...
    def record_ids(self) -> set[bytes]: ...
    def record_blobs(self, ids: Iterable[bytes]) -> list[bytes]: ...
    def take_records(self, blobs: Iterable[bytes]) -> bool: ...
    def is_admin(self) -> bool: ...
    def admin_device(self, device: bytes) -> bool: ...


@dataclass(frozen=True)
class Send:
    peer: bytes
    frame: bytes


@dataclass(frozen=True)
class Event:
    kind: str  # online, offline, leader, received, refused
    peer: bytes = b""
    detail: str = ""


@dataclass
class PeerState:
    last_seen: float | None = None
    status: Status | None = None
    sent_status: float = -1e18


@dataclass
class SyncCore:
    me: bytes
    holdings: Holdings
    peers: dict[bytes, PeerState] = field(default_factory=dict)
    term: int = 0
    leader: bytes = b""
    events: list[Event] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    _last_status: tuple[Status, bytes] | None = None
    _digest_of: tuple[int, bytes] | None = None

    # -- inputs ---------------------------------------------------------------
    def connected(self, peer: bytes, now: float) -> list[Send]:
        """A link to `peer` is up: introduce ourselves."""
        self.peers.setdefault(peer, PeerState())
        return [self._status_to(peer, now)]

    def receive(self, peer: bytes, frame: bytes, now: float) -> list[Send]:
        """One frame from an authenticated peer. Bad frames are dropped and counted."""
        try:
            message = messages.decode(frame)
        except DecodeError:
            self.stats["bad_frames"] += 1
            return []
        self.stats[f"in_{type(message).__name__}"] += 1
        state = self.peers.setdefault(peer, PeerState())
        was_online = self._online(state, now)
        state.last_seen = now
        out: list[Send] = []
        if not was_online:
            self.events.append(Event("online", peer))
            out.append(self._status_to(peer, now))
        try:
            out += self._handle(peer, state, message, now)
        except PeerError as exc:
            self.stats["refused"] += 1
            self.events.append(Event("refused", peer, str(exc)))
        self._elect(now)
        return out

    def tick(self, now: float) -> list[Send]:
        """Heartbeats due, presence changes, leader changes."""
        out = []
        for peer, state in self.peers.items():
            if state.status is not None and not self._online(state, now):
                self.events.append(Event("offline", peer))
                state.status = None
            if now - state.sent_status >= HEARTBEAT:
                out.append(self._status_to(peer, now))
        self._elect(now)
        return out

    def local(self, blobs: list[bytes], now: float, source: bytes = b"") -> list[Send]:
        """New envelopes held here (made here, or newly stored): push them to online peers."""
        if not blobs:
            return []
        out = []
        for peer, state in self.peers.items():
            if peer != source and self._online(state, now):
                out += [Send(peer, messages.encode(Envelopes(b))) for b in batches(blobs)]
        return out

    # -- reading -----------------------------------------------------------------
    def online(self, now: float) -> list[bytes]:
        return sorted(p for p, s in self.peers.items() if self._online(s, now))

    def lag(self, peer: bytes) -> int:
        """How many envelopes this node holds that `peer` (by its last Status) lacks."""
        state = self.peers.get(peer)
        if state is None or state.status is None:
            return -1
        theirs = dict(state.status.vector)
        return sum(max(0, seq - theirs.get(d, 0)) for d, seq in self.holdings.vector().items())

    # -- internals ---------------------------------------------------------------
    def _online(self, state: PeerState, now: float) -> bool:
        return state.last_seen is not None and now - state.last_seen <= PRESENCE

    def _status_to(self, peer: bytes, now: float) -> Send:
        self.peers.setdefault(peer, PeerState()).sent_status = now
        return Send(peer, self._status_frame())

    def _status_frame(self) -> bytes:
        """This node's Status, the same for every peer: encoded once while it is unchanged."""
        count, digest = self._records_digest()
        status = Status(
            vector=tuple(sorted(self.holdings.vector().items())),
            records=digest,
            record_count=count,
            term=self.term,
            leader=self.leader,
            admin=self.holdings.is_admin(),
        )
        if self._last_status is None or self._last_status[0] != status:
            self._last_status = (status, messages.encode(status))
        return self._last_status[1]

    def _records_digest(self) -> tuple[int, bytes]:
        """(count, digest) of the record ids held; the set only grows, so count keys it."""
        ids = self.holdings.record_ids()
        if self._digest_of is None or self._digest_of[0] != len(ids):
            self._digest_of = (len(ids), _digest(ids))
        return self._digest_of

    def _handle(self, peer: bytes, state: PeerState, message: Message, now: float) -> list[Send]:
        if isinstance(message, Status):
            state.status = message
            self.term = max(self.term, min(message.term, messages.MAX_TERM - 1))
            return self._answer_status(peer, message)
        if isinstance(message, Envelopes):
            fresh = self.holdings.take_envelopes(message.blobs)
            self.stats["envelopes_new"] += len(fresh)
            if fresh:
                self.events.append(Event("received", peer, str(len(fresh))))
            return self.local(fresh, now, source=peer)
        if isinstance(message, RecordIds):
            mine = self.holdings.record_ids()
            theirs = set(message.ids)
            out = []
            missing_there = sorted(mine - theirs)
            if missing_there:
                blobs = self.holdings.record_blobs(missing_there)
                out += [Send(peer, messages.encode(Records(b))) for b in batches(blobs)]
            missing_here = sorted(theirs - mine)
            if missing_here:
                out.append(Send(peer, messages.encode(WantRecords(tuple(missing_here)))))
            return out
        if isinstance(message, WantRecords):
            blobs = self.holdings.record_blobs(message.ids)
            return [Send(peer, messages.encode(Records(b))) for b in batches(blobs)]
        if isinstance(message, Records):
            if self.holdings.take_records(message.blobs):
                self.events.append(Event("received", peer, "membership"))
                # tell everyone at once: a revocation must travel in one gossip round
                return [self._status_to(p, now) for p in self.online(now)]
            return []
        return []

    def _answer_status(self, peer: bytes, status: Status) -> list[Send]:
        out = []
        if status.records != self._records_digest()[1]:
            ids = self.holdings.record_ids()
            out.append(Send(peer, messages.encode(RecordIds(tuple(sorted(ids))))))
        theirs = dict(status.vector)
        pushed: list[bytes] = []
        for author, seq in sorted(self.holdings.vector().items()):
            if seq > theirs.get(author, 0) and len(pushed) < PUSH_BATCH:
                pushed += self.holdings.envelopes_after(
                    author, theirs.get(author, 0), PUSH_BATCH - len(pushed)
                )
        out += [Send(peer, messages.encode(Envelopes(b))) for b in batches(pushed)]
        return out

    def _elect(self, now: float) -> None:
        candidates = [
            p
            for p, s in self.peers.items()
            # a peer's own claim is only a hint: the membership log decides who is an admin
            if self._online(s, now)
            and s.status is not None
            and s.status.admin
            and self.holdings.admin_device(p)
        ]
        if self.holdings.is_admin():
            candidates.append(self.me)
        leader = min(candidates, default=b"")
        if leader != self.leader:
            self.leader = leader
            self.term = min(self.term + 1, messages.MAX_TERM)
            self.events.append(Event("leader", leader, str(self.term)))


def _digest(ids: Iterable[bytes]) -> bytes:
    h = hashlib.sha256()
    for record_id in sorted(ids):
        h.update(record_id)
    return h.digest()


def batches(blobs: list[bytes]) -> Iterable[tuple[bytes, ...]]:
    """Split blobs into messages under the frame cap."""
    batch: list[bytes] = []
    size = 0
    for blob in blobs:
        if batch and (size + len(blob) > MAX_BATCH_BYTES or len(batch) >= messages.MAX_BLOBS):
            yield tuple(batch)
            batch, size = [], 0
        batch.append(blob)
        size += len(blob) + 16
    if batch:
        yield tuple(batch)
