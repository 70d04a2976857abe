"""One simulated PC: the real Vault, VaultHoldings and SyncCore over a real data dir.

What the runner (node/runner.py) adds around the protocol is mirrored here
without sockets: heartbeats on wall-clock slots, the leader's chores
(node/chores.py, shared with the runner), and what a node does on seeing a
revocation (send the revoked device the records, cut it off a second later;
stop if it is this device). The transport's rule is kept too: frames from a
device this PC does not hold as active are dropped (CURVE+ZAP refuse them).

A crash closes the database without what a clean close does (no snapshot)
and forgets everything in memory; a restart opens the data dir again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from node import chores, messages
from node.errors import PeerError, StorageError, UserError
from node.holdings import VaultHoldings
from node.messages import Records
from node.sync import HEARTBEAT, Send, SyncCore, batches
from node.tokens import Role
from node.vault import Vault
from tests.sim.world import PROFILE, T_START, pw

CUT_OFF_DELAY = 1.0  # as node/runner.py


class SimNode:
    def __init__(self, name: str, path: Path, skew: float = 0.0, role: Role = Role.MEMBER) -> None:
        self.name = name
        self.path = path
        self.skew = skew
        self.role = role  # as enrolled (the workload changes no roles)
        self.vault: Vault | None = None
        self.holdings: VaultHoldings | None = None
        self.core: SyncCore | None = None
        self.device = b""
        self.wiped = False  # it learned of its own revocation: it locked and left the run
        self.crashes = 0
        self._known_revoked: set[bytes] = set()
        self._doomed: dict[bytes, float] = {}
        self._last_checkpoint = -chores.CHECKPOINT_EVERY
        self._next_beat = 0.0

    # -- life ------------------------------------------------------------------------------
    @property
    def up(self) -> bool:
        return self.vault is not None

    def wall(self, now: float) -> int:
        return int(T_START + now + self.skew)

    def start(self, now: float, clock: Callable[[], float]) -> None:
        vault = Vault.open(self.path, pw(), PROFILE)
        self.vault = vault
        self.device = vault.office.identity.device_id
        self.holdings = VaultHoldings(vault)
        self.holdings.wall = lambda: T_START + clock() + self.skew
        self.core = SyncCore(self.device, self.holdings)
        self.core.checkpoint = self.holdings.kept_checkpoint()
        self._known_revoked = set(vault.office.membership.state.revoked)
        self._doomed = {}
        self._last_checkpoint = now - chores.CHECKPOINT_EVERY
        self._next_beat = now

    def crash(self) -> None:
        """Gone at once: no snapshot, nothing in memory kept; what was committed stays."""
        assert self.vault is not None
        self.vault.office.close()
        self.vault = self.holdings = self.core = None
        self.crashes += 1

    def stop(self) -> None:
        if self.vault is not None:
            self.vault.close()
        self.vault = self.holdings = self.core = None

    # -- the protocol ------------------------------------------------------------------------
    def accepts(self, device: bytes) -> bool:
        """Would this PC's transport take a frame from `device` (an active member)?"""
        assert self.vault is not None
        return self.vault.office.membership.state.active(device) is not None

    def may_send(self, device: bytes, now: float) -> bool:
        """A revoked device's link stays up CUT_OFF_DELAY, to carry the news to it."""
        return device not in self._known_revoked or now <= self._doomed.get(device, 0.0)

    def connected(self, peer: bytes, now: float) -> list[Send]:
        assert self.core is not None
        return self.core.connected(peer, now)

    def receive(self, peer: bytes, frame: bytes, now: float) -> list[Send]:
        assert self.core is not None
        return self.core.receive(peer, frame, now) + self._revocations(now)

    def tick(self, now: float) -> list[Send]:
        """On this PC's heartbeat slot: the protocol's tick and the leader's chores."""
        core, holdings, vault = self.core, self.holdings, self.vault
        assert core is not None and holdings is not None and vault is not None
        if now < self._next_beat:
            return []
        wall = T_START + now + self.skew
        self._next_beat = now + HEARTBEAT - wall % HEARTBEAT
        out = core.tick(now)
        if core.leader == self.device:
            if now - self._last_checkpoint >= chores.CHECKPOINT_EVERY:
                self._last_checkpoint = now
                with contextlib.suppress(PeerError, StorageError):  # the runner logs it
                    out += chores.checkpoint(core, holdings, now)
            try:
                if chores.rotate(vault.office, self.wall(now)):
                    vault.refresh()
                    out += core.announce(now)
            except (StorageError, UserError):
                pass
        return out + self._revocations(now)

    def wrote(self, before: int, now: float) -> tuple[list[bytes], list[Send]]:
        """After a write here: this device's new envelopes, and their push."""
        assert self.vault is not None and self.core is not None
        store = self.vault.office.store
        fresh = [blob for _, blob in store.envelopes_since(self.device, before)]
        return fresh, self.core.local(fresh, now)

    def acted(self, now: float) -> list[Send]:
        """After an office act here (revoke, enrol): follow it and tell everyone at once."""
        assert self.vault is not None and self.core is not None
        self.vault.refresh()
        return self.core.announce(now) + self._revocations(now)

    def seq(self) -> int:
        assert self.vault is not None
        return self.vault.office.store.vector().get(self.device, 0)

    def _revocations(self, now: float) -> list[Send]:
        assert self.vault is not None
        revoked = set(self.vault.office.membership.state.revoked)
        new, self._known_revoked = revoked - self._known_revoked, revoked
        out = []
        for device in sorted(new):
            if device == self.device:
                self.wiped = True
                continue
            for batch in batches(list(self.vault.office.blobs)):
                out.append(Send(device, messages.encode(Records(batch))))
            self._doomed[device] = now + CUT_OFF_DELAY
        return out
