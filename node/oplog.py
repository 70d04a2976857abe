"""Judging envelopes: which changes in the op log the document is made of.

The op log keeps every authentic envelope (signed by a device this office
enrolled). Which of them count is decided here, by rules that depend only
on the envelope, the author's earlier envelopes and the membership state, so
every replica holding the same records and envelopes decides the same way
(DESIGN I-1, I-2):

- a device's envelopes are judged in sequence order, each continuing the
  device's Y clock exactly where its previous one ended;
- the role that judges envelope n is `State.role_for(device, n)`: none past
  a revocation's cut-off, the old role up to a role change's cut-off;
- its time lies within the author's capability window (enrolment to
  expiry, with the usual clock skew): an expired device's writes count
  nowhere, and no time is absurd;
- structure (crdt.rules): only new values under the author's own version
  keys; deletes (purges) only from admins;
- content: every version is the author's, at the envelope's time and key;
  a member's versions may only be adds of entries bound to the member's own
  device; an add carries all fields and no base; edits carry all fields and
  a base; trash, restore and purge carry no fields.

A judged-invalid envelope is skipped (it stays in the log, so every replica
can judge it too) and the author's later envelopes continue after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crdt import rules, yupdate
from crdt.errors import UpdateError
from node import versions
from node.entry_fields import FIELDS
from node.envelopes import Envelope, client_id_of
from node.errors import DecodeError, PeerError
from node.membership_state import State
from node.tokens import CLOCK_SKEW, Role
from node.versions import Kind, Version


@dataclass
class Cursor:
    """How far one author's envelopes have been judged."""

    seq: int = 0
    clock: int = 0


@dataclass(frozen=True)
class Verdict:
    envelope: Envelope
    change: rules.Change | None  # None: judged invalid (skipped)
    versions: tuple[Version, ...]
    why: str = ""


@dataclass
class Judge:
    state: State
    cursors: dict[bytes, Cursor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clients: dict[int, list[bytes]] = {}
        for device in self.state.devices:
            clients.setdefault(client_id_of(device), []).append(device)
        self.shared = {d for ds in clients.values() if len(ds) > 1 for d in ds}

    def follow(self, state: State) -> None:
        """Judge by a newer membership state from now on (facts of devices with no envelopes
        judged yet may differ; the caller replays the log when any other fact changed)."""
        self.state = state
        self.__post_init__()

    def next_seq(self, author: bytes) -> int:
        return self.cursors.get(author, Cursor()).seq + 1

    def judge(self, env: Envelope) -> Verdict:
        """Judge the author's next envelope and move its cursor past it."""
        cursor = self.cursors.setdefault(env.author, Cursor())
        if env.seq != cursor.seq + 1:
            raise RuntimeError("envelopes must be judged in sequence order")
        cursor.seq = env.seq
        try:
            change, found = self._check(env, cursor.clock)
        except (PeerError, UpdateError) as exc:
            cursor.clock = _end_clock(env, cursor.clock)
            return Verdict(env, None, (), str(exc))
        cursor.clock = change.end_clock
        return Verdict(env, change, tuple(found))

    def _check(self, env: Envelope, clock: int) -> tuple[rules.Change, list[Version]]:
        role = self.state.role_for(env.author, env.seq)
        if role is None:
            raise PeerError("the author may not write this change (revoked, or not enrolled)")
        if env.author in self.shared:
            raise PeerError("the author shares a document client id with another device")
        start, end = self.state.window(env.author)
        if not start - CLOCK_SKEW <= env.at <= end + CLOCK_SKEW:
            raise PeerError("written outside the author's capability window")
        admin = role is Role.ADMIN
        change = rules.check(env.update, client_id_of(env.author), clock, may_delete=admin)
        found = [_version(key, value) for key, value in change.values]
        for v in found:
            _check_version(v, env, admin)
        return change, found


def _version(key: str, value: bytes) -> Version:
    try:
        return versions.decode(key, value)
    except DecodeError as exc:
        raise PeerError(f"a malformed version: {exc}") from None


def _check_version(v: Version, env: Envelope, admin: bool) -> None:
    if v.author != env.author or v.at != env.at or v.key_id != env.key_id:
        raise PeerError("a version whose author, time or key differs from its envelope")
    has_all = set(v.fields) == set(FIELDS)
    if v.kind is Kind.ADD:
        if v.nonce is None or versions.entry_id_of(env.author, v.nonce) != v.entry:
            raise PeerError("an add of an entry id not bound to its author")
        if v.base or not has_all:
            raise PeerError("an add must carry every field and no base")
        return
    if not admin:
        raise PeerError("a member may only add new entries")
    if v.kind is Kind.EDIT:
        if not v.base or not has_all:
            raise PeerError("an edit must carry every field and name its base")
    elif v.fields:
        raise PeerError("trash, restore and purge carry no fields")


def _end_clock(env: Envelope, clock: int) -> int:
    """Where an invalid envelope leaves its author's clock (its items are never applied)."""
    try:
        decoded = yupdate.decode(env.update)
    except UpdateError:
        return clock
    if decoded.client != client_id_of(env.author) or not decoded.items:
        return clock
    return max(clock, int(decoded.end_clock))
