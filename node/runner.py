"""`Node`: one running peer — the vault, the sync protocol and the transport, in one loop.

The loop is single-threaded: poll the transport (bounded wait), feed frames
and the time to the sans-IO protocol (node/sync.py), send what it returns,
and every so often pick up changes that a CLI made in the same data dir
(the store is shared; SQLCipher in WAL mode lets both open it) and push
them. Peers come from static addresses and from discovery; a static
address is tried with each member's key until one answers (CURVE proves who
it is). It logs one line per notable event through `log`, never a secret.
"""

from __future__ import annotations

import contextlib
import json
import math
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from node import chores, heap, messages
from node.chores import CHECKPOINT_EVERY
from node.enrollment import Desk
from node.errors import PeerError, StorageError, UserError
from node.holdings import VaultHoldings
from node.messages import JoinRefused, Records
from node.node_status import STATUS_EVERY, STATUS_META
from node.poke import POKE_META, Waker
from node.sync import HEARTBEAT, PRESENCE, Event, Send, SyncCore, batches
from node.transport import Transport
from node.vault import Vault

MAX_WAIT_MS = int(HEARTBEAT * 1000)
MAX_ADDRESSES = 256  # peer addresses wanted at once (static ones and discovery's hints)
HINTS_PER_DEVICE = 3  # addresses tried at once for one device
UNANSWERED = 10.0  # seconds a link may go unanswered before it is closed and retried later
MAX_PAUSE = 300.0  # the longest pause before an unanswered address is tried again
TRIM_AFTER = 1 << 20  # bytes moved (in and out) after which a heartbeat trims the heap
CUT_OFF_DELAY = 1.0  # seconds a revoked peer's link stays up to carry the news to it
NOT_LEADER = "not the admin node"  # a join desk's answer while another admin PC leads


@dataclass(frozen=True)
class PeerAddress:
    host: str
    port: int
    device: bytes | None = None  # None: a static address whose device we will learn


class Node:
    def __init__(
        self,
        vault: Vault,
        host: str = "127.0.0.1",
        port: int = 0,
        log: Callable[[str], None] = print,
        clock: Callable[[], float] = time.monotonic,
        join_port: int = 0,
    ) -> None:
        self.vault = vault
        self.log = log
        self.clock = clock
        self.me = vault.office.identity.device_id
        self.holdings = VaultHoldings(vault)
        self.core = SyncCore(self.me, self.holdings)
        self.core.checkpoint = self.holdings.kept_checkpoint()
        self._last_checkpoint = -CHECKPOINT_EVERY
        self._forks: set[bytes] = set()  # devices already reported as equivocating
        box = vault.office.identity.box
        admin = self.holdings.is_admin()
        self.transport = Transport(box.secret, box.public, self._allow, self._active, host, port,
                                   join_port=join_port if admin else None)  # fmt: skip
        self.desk = (
            Desk(vault.office, self.transport.port, log=log, isolate=True) if admin else None
        )
        # Wanted addresses -> (when to try again, back-off): an address whose links never
        # answer is closed after UNANSWERED seconds and tried again later, less and less often.
        self._addresses: dict[PeerAddress, tuple[float, float]] = {}
        self.wall: Callable[[], float] = time.time
        # checkpoints are signed and judged by this clock, even if it is replaced later
        self.holdings.wall = lambda: self.wall()  # noqa: PLW0108
        # Heartbeats fall on the same wall-clock slots on every PC, so the frames of a round
        # arrive together and wake each node a few times, not once per peer.
        self._next_beat = clock()  # the first step beats at once
        self.waker = Waker()
        self._received = 0  # bytes of frames received, ever
        self._trimmed = -TRIM_AFTER - 1  # bytes moved (in and out) when the heap was trimmed
        for sock in self.waker.sockets():
            self.transport.watch(sock)
        with contextlib.suppress(StorageError), vault.office.store.transaction(durable=False):
            vault.office.store.set_meta(POKE_META, self.waker.port.to_bytes(2, "big"))
        self._written: tuple[float, str] | None = None  # (when, what) status was last written
        self.revoked = False  # set when this device learns of its own revocation
        self._known_revoked = set(vault.office.membership.state.revoked)
        self._offered: queue.SimpleQueue[PeerAddress] = queue.SimpleQueue()
        self._doomed: dict[bytes, float] = {}  # revoked peers, cut off at the given time

    @property
    def port(self) -> int:
        return self.transport.port

    # -- peers ---------------------------------------------------------------------
    def offer_peer(self, address: PeerAddress) -> None:
        """Hand over a peer found on another thread (discovery); the loop links it."""
        self._offered.put(address)
        self.waker.wake()

    def wake(self) -> None:
        """Make the loop look at its store, stop request and offered peers now (any thread)."""
        self.waker.wake()

    def add_peer(self, address: PeerAddress) -> None:
        """Link to a peer (a device from discovery, or a static address).

        A discovered address is only a hint, and anyone on the LAN can advertise one: a
        hint for a device that is not an active member is dropped, so is one for a device
        already linked (either way); a device keeps at most HINTS_PER_DEVICE
        addresses (a newer hint replaces the oldest), and at most MAX_ADDRESSES are
        wanted at once.
        """
        if address in self._addresses:
            return
        device = address.device
        if device is not None:
            older = [a for a in self._addresses if a.device == device]
            if (
                device == self.me
                or self.vault.office.membership.state.active(device) is None
                or device in self.transport.linked()  # it reaches us, or we reach it
            ):
                self.transport.stats["hints_ignored"] += 1
                return
            for stale in older[: max(0, len(older) - HINTS_PER_DEVICE + 1)]:
                self._forget_address(stale)
        if len(self._addresses) >= MAX_ADDRESSES:
            self.transport.stats["hints_ignored"] += 1
            return
        self._addresses[address] = (self.clock(), UNANSWERED)
        self._link(address)

    def _forget_address(self, address: PeerAddress) -> None:
        del self._addresses[address]
        self.transport.close_unanswered(address.host, address.port)

    def _retry_addresses(self, now: float) -> None:
        """Close links that never answered; open them again after a growing pause."""
        for address, (due, pause) in list(self._addresses.items()):
            if self.transport.answered(address.host, address.port):
                self._addresses[address] = (now, UNANSWERED)
                continue
            opened = self.transport.unanswered_since(address.host, address.port)
            if opened is not None and time.monotonic() - opened > UNANSWERED:
                self.transport.close_unanswered(address.host, address.port)
                self._addresses[address] = (now + pause, min(pause * 2, MAX_PAUSE))
            elif opened is None and now >= due:
                self._link(address)

    def _link(self, address: PeerAddress) -> None:
        state = self.vault.office.membership.state
        targets = [
            m
            for m in state.active_members()
            if m.device_id != self.me and address.device in (None, m.device_id)
        ]
        now = self.clock()
        for member in targets:
            self.transport.connect(
                member.device_id, address.host, address.port, member.capability.box_public
            )
            self._send(self.core.connected(member.device_id, now))

    def _allow(self, key: bytes) -> bytes | None:
        for member in self.vault.office.membership.state.active_members():
            if member.capability.box_public == key and member.device_id != self.me:
                return member.device_id
        return None

    def _active(self, device: bytes) -> bool:
        return self.vault.office.membership.state.active(device) is not None

    # -- the loop ----------------------------------------------------------------------
    def run(self, should_stop: Callable[[], bool], max_seconds: float | None = None) -> None:
        """Run until `should_stop()` says so, or until revoked. It is asked after every wake-up:
        at least every heartbeat, and at once after `wake()` or a signal (on the main thread,
        the waker is the signal wakeup fd while this runs)."""
        start = self.clock()
        on_main = threading.current_thread() is threading.main_thread()
        previous = signal.set_wakeup_fd(self.waker.signal_fd) if on_main else -1
        try:
            while not should_stop() and not self.revoked:
                if max_seconds is not None and self.clock() - start > max_seconds:
                    break
                self.step(MAX_WAIT_MS)
        finally:
            if on_main:
                signal.set_wakeup_fd(previous)

    def step(self, timeout_ms: int = MAX_WAIT_MS) -> None:
        """Wait for frames (until the next chore is due, at most `timeout_ms`), handle them,
        and do what is due: on a heartbeat, the protocol's tick and the chores."""
        now = self.clock()
        due = min([self._next_beat, *self._doomed.values()])
        frames = self.transport.poll(max(0, min(timeout_ms, math.ceil((due - now) * 1000))))
        now = self.clock()
        for device, frame in frames:
            self._send(self.core.receive(device, frame, now))
            self._received += len(frame)
        self._serve_joins()
        beat = now >= self._next_beat
        if beat:
            self._next_beat = now + HEARTBEAT - self.wall() % HEARTBEAT
            if self._next_beat < now + HEARTBEAT / 2:  # woke just before the slot
                self._next_beat += HEARTBEAT
        if self.transport.woken or beat:
            self.transport.woken = False
            self.waker.drain()
            self._take_offered()
            self._refresh(now)
        self._check_revocations(now)
        if beat:
            self.transport.reopen_silent(time.monotonic(), PRESENCE + HEARTBEAT)
            self._retry_addresses(now)
            self._send(self.core.tick(now))
            self._leader_chores(now)
            self._check_forks()
            self._write_status(now)
            moved = self._received + self.transport.stats["sent_bytes"]
            if moved - self._trimmed > TRIM_AFTER:
                self._trimmed = moved
                heap.trim()
        self._report(self.core.events)
        self.core.events.clear()

    def _take_offered(self) -> None:
        for _ in range(64):
            try:
                self.add_peer(self._offered.get_nowait())
            except queue.Empty:
                break

    def _serve_joins(self) -> None:
        requests, self.transport.join_requests = self.transport.join_requests, []
        for address, frame in requests:
            if self.desk is None:
                continue
            if self.core.leader != self.me:
                # only the elected admin node enrols, so two admin PCs never redeem one invite
                reply = messages.encode_join(JoinRefused(NOT_LEADER))
            else:
                reply = self.desk.handle(frame, int(self.wall()))
            self.transport.reply_join(address, reply)

    @property
    def join_port(self) -> int | None:
        return self.transport.join_port

    def push_local(self, blobs: Iterable[bytes]) -> None:
        self._send(self.core.local(list(blobs), self.clock()))

    def _refresh(self, now: float) -> None:
        """Pick up what a CLI saved in this data dir (records too) and push it."""
        count = len(self.vault.office.blobs)
        fresh = self.vault.refresh()
        if fresh:
            self.holdings.changed()
            self._send(self.core.local(fresh, now))
        if len(self.vault.office.blobs) != count:  # new records: tell everyone at once
            self._send(self.core.announce(now))

    def _leader_chores(self, now: float) -> None:
        """The elected admin node signs checkpoints and rotates the vault key when needed
        (node/chores.py)."""
        if self.core.leader != self.me:
            return
        if now - self._last_checkpoint >= CHECKPOINT_EVERY:
            self._last_checkpoint = now
            try:
                self._send(chores.checkpoint(self.core, self.holdings, self.clock()))
            except (PeerError, StorageError) as exc:
                self.log(f"could not sign a checkpoint: {exc}")
        try:
            rotated = chores.rotate(self.vault.office, int(self.wall()))
        except (StorageError, UserError) as exc:
            self.log(f"could not rotate the vault key: {exc}")
            return
        if rotated:
            self.log("rotated the vault key (the newest one reached a revoked device)")

    def _check_forks(self) -> None:
        """Report, once per device, an envelope that the newest checkpoint contradicts."""
        short = self.core.shortfall()
        for device in sorted(set(short.forks if short else ()) - self._forks):
            self._forks.add(device)
            self.log(f"device {self._name(device)} signed two different changes with one "
                     "number; the admin node's checkpoint names the other one")  # fmt: skip

    def _check_revocations(self, now: float) -> None:
        """Act on revocations as soon as the membership shows them (from a CLI or a peer).

        A revoked peer is told (it gets the membership records, so its own
        app locks and wipes), then cut off a moment later; the ZAP handler
        already refuses its key for any new handshake.
        """
        revoked = set(self.vault.office.membership.state.revoked)
        new, self._known_revoked = revoked - self._known_revoked, revoked
        for device in sorted(new):
            if device == self.me:
                self.log("this device was revoked: locking and wiping its vault")
                self.revoked = True
                continue
            for batch in batches(list(self.vault.office.blobs)):
                self.transport.send(device, messages.encode(Records(batch)))
            self._doomed[device] = now + CUT_OFF_DELAY
            self.log(f"revoked device {self._name(device)}: refused from now on")
        for device, due in list(self._doomed.items()):
            if now >= due:
                del self._doomed[device]
                self.transport.disconnect(device)
                self.core.peers.pop(device, None)

    def status(self, now: float) -> dict[str, object]:
        """What `officevault peers` shows: who is online, the leader, each peer's sync state."""
        online = set(self.core.online(now))
        peers = []
        for device in sorted(set(self.core.peers) | set(self.transport.candidates())):
            member = self.vault.office.membership.state.devices.get(device)
            peers.append({
                "device": device.hex(),
                "user": member.user if member else "?",
                "online": device in online,
                "behind": self.core.lag(device),
            })  # fmt: skip
        return {
            "at": int(self.wall()),
            "port": self.port,
            "leader": self.core.leader.hex(),
            "term": self.core.term,
            "peers": peers,
            "checkpoint": self._checkpoint_status(),
        }

    def _checkpoint_status(self) -> dict[str, object] | None:
        checkpoint, short = self.core.checkpoint, self.core.shortfall()
        if checkpoint is None or short is None:
            return None
        return {
            "signer": checkpoint.signer.hex(),
            "at": checkpoint.at,
            "missing_changes": short.envelopes,
            "missing_records": short.records,
            "forks": [d.hex() for d in short.forks],
        }

    def _write_status(self, now: float) -> None:
        """Keep the status `officevault peers` reads: when it changed, and every STATUS_EVERY."""
        status = self.status(now)
        at = status.pop("at")
        text = json.dumps(status, sort_keys=True)
        if self._written is not None:
            when, written = self._written
            if written == text and now - when < STATUS_EVERY:
                return
        self._written = (now, text)
        data = json.dumps({**status, "at": at}, sort_keys=True).encode()
        store = self.vault.office.store
        with contextlib.suppress(StorageError), store.transaction(durable=False):
            store.set_meta(STATUS_META, data)

    def _send(self, sends: list[Send]) -> None:
        for send in sends:
            self.transport.send(send.peer, send.frame)

    def _report(self, events: list[Event]) -> None:
        for event in events:
            who = self._name(event.peer)
            if event.kind == "online":
                self.log(f"peer online: {who}")
            elif event.kind == "offline":
                self.log(f"peer offline: {who}")
            elif event.kind == "leader":
                self.log(f"admin node: {who or 'none'} (term {event.detail})")
            elif event.kind == "received":
                self.log(f"received {event.detail} from {who}")
            elif event.kind == "refused":
                self.log(f"refused from {who}: {event.detail}")
            elif event.kind == "checkpoint":
                self.log(f"checkpoint of {self._name(bytes.fromhex(event.detail))} from {who}")

    def _name(self, device: bytes) -> str:
        if not device:
            return ""
        member = self.vault.office.membership.state.devices.get(device)
        user = member.user if member else "?"
        return f"{user} ({device.hex()[:8]})"

    def close(self) -> None:
        self.transport.close()
        self.waker.close()
