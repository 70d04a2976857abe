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
  change reaches peers that are not directly connected, once per node. The
  push names the devices it was already sent to ("covered"), and a receiver
  forwards only to its peers outside that set: in a fully linked office
  nobody forwards, and a lie or a lost frame costs only an anti-entropy round.
  Anti-entropy leaves out envelopes pushed in the last IN_FLIGHT seconds: a Status
  sent while the push was on its way would otherwise fetch a second copy.
- Presence: a peer is online while its Status keeps arriving (PRESENCE). A
  Status identical to the last one answered, while ours is unchanged too, only
  refreshes presence (no decode, no work); it is answered again after
  REANSWER seconds, in case what we pushed in answer was lost.
- Leader: among online devices holding an admin capability (this one
  included), the lowest device id leads; the term rises whenever the leader
  this node sees changes, and never goes below a term heard from a peer. A
  healed partition sees one set of online admins, hence one leader. Safety
  never depends on the leader; only who does the leader's chores does.
- Checkpoints: each Status names the newest admin-signed checkpoint held
  (node/checkpoints.py). Its signer sends a new one to every online peer; a
  peer still naming another later is sent ours, and a receiver keeps it only
  if it verifies and is newer. It is the floor a node measures
  itself against (`shortfall`); an older one, replayed, changes nothing.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from node import messages
from node.checkpoints import Checkpoint, Shortfall, newer, records_digest
from node.errors import DecodeError, PeerError
from node.messages import (
    Envelopes,
    Message,
    RecordIds,
    Records,
    SignedCheckpoint,
    Status,
    WantRecords,
)

# Seconds. Heartbeats carry presence and anti-entropy; changes travel by push, at once, so
# these set only how soon a silent peer counts as gone and a lost push is repaired. Every
# node sends every peer one per HEARTBEAT: 30 PCs make ~300 small frames a second in all.
HEARTBEAT = 3.0
PRESENCE = 8.0  # a peer is online while its last frame is younger than this
REANSWER = 3 * HEARTBEAT
LAGGARD = 2 * HEARTBEAT  # a peer still naming another checkpoint after this long is sent ours
IN_FLIGHT = 1.5  # seconds a pushed envelope is left out of anti-entropy answers
PUSH_BATCH = 256  # envelopes per anti-entropy answer, at most
ANSWER_BYTES = 512 * 1024  # per anti-entropy answer (past one envelope): a node's memory
# stays flat while it serves a new PC its whole history; the PC asks again at once
READ_AHEAD = 8  # envelopes first read from the store while answering (then twice as many)
MAX_PUSHED = 4096  # digests of recent pushes remembered
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
    def checkpoint_from(self, blob: bytes) -> Checkpoint: ...  # verified, or PeerError
    def keep_checkpoint(self, checkpoint: Checkpoint) -> None: ...
    def shortfall(self, checkpoint: Checkpoint) -> Shortfall: ...


@dataclass(frozen=True)
class Send:
    peer: bytes
    frame: bytes


@dataclass(frozen=True)
class Event:
    kind: str  # online, offline, leader, received, refused, checkpoint
    peer: bytes = b""
    detail: str = ""


@dataclass
class PeerState:
    last_seen: float | None = None
    status: Status | None = None
    sent_status: float = -1e18
    answered: tuple[bytes, bytes, float] | None = None  # (their Status, ours, when) last answered
    naming: tuple[bytes, float] | None = None  # (another checkpoint id they name, since when)
    checkpoint_sent: tuple[bytes, float] | None = None  # (id of ours sent them, when)


@dataclass
class SyncCore:
    me: bytes
    holdings: Holdings
    peers: dict[bytes, PeerState] = field(default_factory=dict)
    term: int = 0
    leader: bytes = b""
    checkpoint: Checkpoint | None = None  # the newest verified one held
    events: list[Event] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    _last_status: tuple[Status, bytes] | None = None
    _digest_of: tuple[int, bytes] | None = None
    _pushed: dict[bytes, float] = field(default_factory=dict)  # digest -> when pushed
    _withheld: bool = False  # the last answer left out envelopes pushed under IN_FLIGHT ago

    # -- inputs ---------------------------------------------------------------
    def connected(self, peer: bytes, now: float) -> list[Send]:
        """A link to `peer` is up: introduce ourselves."""
        self.peers.setdefault(peer, PeerState())
        return [self._status_to(peer, now)]

    def receive(self, peer: bytes, frame: bytes, now: float) -> list[Send]:
        """One frame from an authenticated peer. Bad frames are dropped and counted."""
        state = self.peers.setdefault(peer, PeerState())
        self._withheld = False
        was_online = self._online(state, now)
        if was_online and self._answered_already(state, frame, now):
            state.last_seen = now
            self.stats["in_Status_same"] += 1
            return []
        try:
            message = messages.decode(frame)
        except DecodeError:
            self.stats["bad_frames"] += 1
            return []
        self.stats[f"in_{type(message).__name__}"] += 1
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
        if isinstance(message, Status) and not self._withheld:
            # (if we left out envelopes still in flight, the next Status is answered in full)
            state.answered = (frame, self._status_frame(), now)
        if not was_online or isinstance(message, Status | Records):  # what an election reads
            self._elect(now)
        return out

    def tick(self, now: float) -> list[Send]:
        """Heartbeats due, presence changes, leader changes."""
        out = []
        for peer, state in self.peers.items():
            if state.status is not None and not self._online(state, now):
                self.events.append(Event("offline", peer))
                state.status = None
            if now - state.sent_status >= HEARTBEAT * 0.75:  # ticks may come a little early
                out.append(self._status_to(peer, now))
        self._pushed = {d: t for d, t in self._pushed.items() if now - t < IN_FLIGHT}
        self._elect(now)
        return out

    def local(
        self, blobs: list[bytes], now: float, source: bytes = b"", covered: Iterable[bytes] = ()
    ) -> list[Send]:
        """New envelopes held here (made here, or newly stored): push them to online peers
        that have not been sent them yet (`covered`: by whoever sent them to us)."""
        if not blobs:
            return []
        if len(self._pushed) + len(blobs) > MAX_PUSHED:
            self._pushed.clear()
        for blob in blobs:
            self._pushed[_digest(blob)] = now
        skip = {self.me, source, *covered}
        targets = [p for p, s in self.peers.items() if p not in skip and self._online(s, now)]
        if not targets:
            return []
        told = tuple(sorted((skip | set(targets)) - {b""}))[: messages.MAX_DEVICES]
        frames = [messages.encode(Envelopes(b, told)) for b in batches(blobs)]
        return [Send(peer, frame) for peer in targets for frame in frames]

    def announce(self, now: float) -> list[Send]:
        """Our Status to every online peer now (news that must not wait for a heartbeat)."""
        return [self._status_to(p, now) for p in self.online(now)]

    def publish(self, checkpoint: Checkpoint, now: float) -> list[Send]:
        """Keep a checkpoint this node just signed and send it to every online peer at once
        (the others never relay it to peers that are up to date: no storm of copies)."""
        if not self.adopt(checkpoint):
            return []
        frame = messages.encode(SignedCheckpoint(checkpoint.blob))
        out = []
        for peer in self.online(now):
            self.peers[peer].checkpoint_sent = (self._checkpoint_id(), now)
            out.append(Send(peer, frame))
        return out

    def adopt(self, checkpoint: Checkpoint) -> bool:
        """Keep `checkpoint` (verified; ours or a peer's) if it is newer than the one held."""
        if not newer(self.checkpoint, checkpoint):
            return False
        self.checkpoint = checkpoint
        self.holdings.keep_checkpoint(checkpoint)
        return True

    # -- reading -----------------------------------------------------------------
    def shortfall(self) -> Shortfall | None:
        """What this node lacks of the newest checkpoint it holds (None: no checkpoint yet)."""
        return None if self.checkpoint is None else self.holdings.shortfall(self.checkpoint)

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
            checkpoint=self._checkpoint_id(),
        )
        if self._last_status is None or self._last_status[0] != status:
            self._last_status = (status, messages.encode(status))
        return self._last_status[1]

    def _checkpoint_id(self) -> bytes:
        return b"" if self.checkpoint is None else checkpoint_id(self.checkpoint)

    def _records_digest(self) -> tuple[int, bytes]:
        """(count, digest) of the record ids held; the set only grows, so count keys it."""
        ids = self.holdings.record_ids()
        if self._digest_of is None or self._digest_of[0] != len(ids):
            self._digest_of = (len(ids), records_digest(ids))
        return self._digest_of

    def _answered_already(self, state: PeerState, frame: bytes, now: float) -> bool:
        """Is `frame` the Status we last answered, with ours unchanged since, recently?"""
        if state.answered is None:
            return False
        theirs, ours, when = state.answered
        return frame == theirs and now - when < REANSWER and ours == self._status_frame()

    def _handle(self, peer: bytes, state: PeerState, message: Message, now: float) -> list[Send]:
        if isinstance(message, Status):
            state.status = message
            self.term = max(self.term, min(message.term, messages.MAX_TERM - 1))
            return self._answer_status(peer, state, message, now)
        if isinstance(message, Envelopes):
            fresh = self.holdings.take_envelopes(message.blobs)
            self.stats["envelopes_new"] += len(fresh)
            if not fresh:
                return []
            self.events.append(Event("received", peer, str(len(fresh))))
            out = self.local(fresh, now, source=peer, covered=message.covered)
            if message.more:  # an answer cut at ANSWER_BYTES: ask for the rest now
                out.append(self._status_to(peer, now))
            return out
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
        if isinstance(message, SignedCheckpoint):
            checkpoint = self.holdings.checkpoint_from(message.blob)
            if self.adopt(checkpoint):
                self.events.append(Event("checkpoint", peer, checkpoint.signer.hex()))
            return []
        if isinstance(message, WantRecords):
            blobs = self.holdings.record_blobs(message.ids)
            return [Send(peer, messages.encode(Records(b))) for b in batches(blobs)]
        if isinstance(message, Records):
            if self.holdings.take_records(message.blobs):
                self.events.append(Event("received", peer, "membership"))
                # tell everyone at once: a revocation must travel in one gossip round
                return self.announce(now)
            return []
        return []

    def _answer_status(
        self, peer: bytes, state: PeerState, status: Status, now: float
    ) -> list[Send]:
        out = []
        if self._owes_checkpoint(state, status, now):
            assert self.checkpoint is not None
            state.checkpoint_sent = (self._checkpoint_id(), now)
            out.append(Send(peer, messages.encode(SignedCheckpoint(self.checkpoint.blob))))
        if status.records != self._records_digest()[1]:
            ids = self.holdings.record_ids()
            out.append(Send(peer, messages.encode(RecordIds(tuple(sorted(ids))))))
        theirs = dict(status.vector)
        pushed: list[bytes] = []
        size, more = 0, False
        for author, seq in sorted(self.holdings.vector().items()):
            sent = theirs.get(author, 0)
            ahead = READ_AHEAD
            while sent < seq:
                if len(pushed) >= PUSH_BATCH or size >= ANSWER_BYTES:
                    more = True
                    break
                # a few at a time (envelopes of a bulk import are ~100 KB each), more each time
                after = self.holdings.envelopes_after(author, sent, ahead)
                settled = self._settled(after, now)
                for blob in settled:
                    if size >= ANSWER_BYTES or len(pushed) >= PUSH_BATCH:
                        more = True
                        break
                    pushed.append(blob)
                    size += len(blob)
                    sent += 1
                if len(settled) < ahead:
                    break  # a gap, or pushed too recently: the rest waits
                ahead = min(ahead * 2, PUSH_BATCH)
        # The peer forwards none of it: its other peers catch up from their own Status.
        told = tuple(sorted({self.me, peer, *self.online(now)}))[: messages.MAX_DEVICES]
        frames = list(batches(pushed))
        out += [
            Send(peer, messages.encode(Envelopes(b, told, more=more and i == len(frames) - 1)))
            for i, b in enumerate(frames)
        ]
        return out

    def _settled(self, blobs: list[bytes], now: float) -> list[bytes]:
        """`blobs` (one author's, in sequence) up to the first pushed under IN_FLIGHT ago."""
        if not self._pushed:
            return blobs
        for i, blob in enumerate(blobs):
            when = self._pushed.get(_digest(blob))
            if when is not None and now - when < IN_FLIGHT:
                self._withheld = True
                return blobs[:i]
        return blobs

    def _owes_checkpoint(self, state: PeerState, status: Status, now: float) -> bool:
        """Send our checkpoint to a peer naming another? Its signer answers at once; anyone
        else only once the peer has named another for LAGGARD (the signer may be away);
        nobody sends the same one to the same peer twice within REANSWER."""
        ours = self._checkpoint_id()
        if self.checkpoint is None or status.checkpoint == ours:
            state.naming = None
            return False
        if state.naming is None or state.naming[0] != status.checkpoint:
            state.naming = (status.checkpoint, now)
        sent = state.checkpoint_sent
        if sent is not None and sent[0] == ours and now - sent[1] < REANSWER:
            return False
        return self.checkpoint.signer == self.me or now - state.naming[1] >= LAGGARD

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


def _digest(blob: bytes) -> bytes:
    return hashlib.blake2b(blob, digest_size=16).digest()


def checkpoint_id(checkpoint: Checkpoint) -> bytes:
    """What a Status names a checkpoint by."""
    return hashlib.blake2b(checkpoint.blob, digest_size=messages.ID).digest()


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
