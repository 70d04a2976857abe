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
import queue
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from node import messages
from node.enrollment import Desk
from node.errors import StorageError, UserError
from node.holdings import VaultHoldings
from node.messages import Records
from node.sync import HEARTBEAT, PRESENCE, Event, Send, SyncCore, batches
from node.transport import Transport
from node.vault import Vault

REFRESH = 0.2  # seconds between looks at the store for a CLI's changes
CUT_OFF_DELAY = 1.0  # seconds a revoked peer's link stays up to carry the news to it
STATUS_EVERY = 2.0  # seconds between writes of the node's status for `officevault peers`
STATUS_META = "node_status"


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
        box = vault.office.identity.box
        admin = self.holdings.is_admin()
        self.transport = Transport(box.secret, box.public, self._allow, self._active, host, port,
                                   join_port=join_port if admin else None)  # fmt: skip
        self.desk = Desk(vault.office, self.transport.port, log=log) if admin else None
        self._addresses: set[PeerAddress] = set()
        self._last_refresh = 0.0
        self._last_status = -STATUS_EVERY
        self.revoked = False  # set when this device learns of its own revocation
        self._known_revoked = set(vault.office.membership.state.revoked)
        self._offered: queue.SimpleQueue[PeerAddress] = queue.SimpleQueue()
        self._doomed: dict[bytes, float] = {}  # revoked peers, cut off at the given time
        self.wall: Callable[[], float] = time.time

    @property
    def port(self) -> int:
        return self.transport.port

    # -- peers ---------------------------------------------------------------------
    def offer_peer(self, address: PeerAddress) -> None:
        """Hand over a peer found on another thread (discovery); the loop links it."""
        self._offered.put(address)

    def add_peer(self, address: PeerAddress) -> None:
        """Link to a peer (a device from discovery, or a static address)."""
        if address in self._addresses:
            return
        self._addresses.add(address)
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
        """Run until `should_stop()` says so (checked at least every 100 ms), or until revoked."""
        start = self.clock()
        while not should_stop() and not self.revoked:
            if max_seconds is not None and self.clock() - start > max_seconds:
                break
            self.step(100)

    def step(self, timeout_ms: int = 100) -> None:
        self.holdings.changed()  # the store may have changed under us (a CLI, our own writes)
        for _ in range(64):
            try:
                self.add_peer(self._offered.get_nowait())
            except queue.Empty:
                break
        for device, frame in self.transport.poll(timeout_ms):
            self._send(self.core.receive(device, frame, self.clock()))
        self._serve_joins()
        now = self.clock()
        self.transport.reopen_silent(time.monotonic(), PRESENCE + HEARTBEAT)
        self._send(self.core.tick(now))
        if now - self._last_refresh >= REFRESH:
            self._last_refresh = now
            self._refresh(now)
        self._check_revocations(now)
        self._leader_chores()
        if now - self._last_status >= STATUS_EVERY:
            self._last_status = now
            self._write_status(now)
        self._report(self.core.events)
        self.core.events.clear()

    def _serve_joins(self) -> None:
        requests, self.transport.join_requests = self.transport.join_requests, []
        for address, frame in requests:
            if self.desk is None:
                continue
            reply = self.desk.handle(frame, int(self.wall()))
            self.transport.reply_join(address, reply)

    @property
    def join_port(self) -> int | None:
        return self.transport.join_port

    def push_local(self, blobs: Iterable[bytes]) -> None:
        self._send(self.core.local(list(blobs), self.clock()))

    def _refresh(self, now: float) -> None:
        fresh = self.vault.refresh()
        if fresh:
            self.holdings.changed()
            self._send(self.core.local(fresh, now))

    def _leader_chores(self) -> None:
        """The elected admin node rotates the vault key when the newest one was sealed to a
        device revoked since (two admins acted at once); the revoking admin already
        rotated for its own revocations."""
        if self.core.leader != self.me or not self.vault.office.membership.state.needs_rotation():
            return
        office = self.vault.office
        try:
            office.commit([office.rotation(office.signing_time(int(self.wall())))])
        except (StorageError, UserError) as exc:
            self.log(f"could not rotate the vault key: {exc}")
            return
        self.log("rotated the vault key (the newest one reached a revoked device)")

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
        }

    def _write_status(self, now: float) -> None:
        data = json.dumps(self.status(now), sort_keys=True).encode()
        store = self.vault.office.store
        with contextlib.suppress(StorageError), store.transaction():
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

    def _name(self, device: bytes) -> str:
        if not device:
            return ""
        member = self.vault.office.membership.state.devices.get(device)
        user = member.user if member else "?"
        return f"{user} ({device.hex()[:8]})"

    def close(self) -> None:
        self.transport.close()
