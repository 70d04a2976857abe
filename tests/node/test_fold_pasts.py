"""The fold's fast causal-past states agree with the obvious slow definition.

Threat covered: the snapshot shortcut in `causal.Pasts` judging a record
against the wrong past (too much or too little of the log), which would let a
concurrent record through, or refuse a good one, on some replicas' logs.
The reference rebuilds every past from scratch out of the record's ancestor
set; random DAG-shaped logs with concurrent admins, revocations and role
changes must fold identically both ways.
"""

from __future__ import annotations

import random

import pytest

from node import causal, crypto, joining, membership, records, tokens
from node.identity import capability
from node.membership_state import State, apply
from node.records import Enroll, Genesis, Invite, Revoke, RoleChange
from node.tokens import Role

Device = tuple[crypto.SigningKeyPair, crypto.BoxKeyPair, str]


def _slow_at(self: causal.Pasts, i: int) -> State:
    state = self.empty()
    mask = self.ancestors[self.order[i].id]
    for k, rec in enumerate(self.order[:i]):
        if mask >> k & 1 and rec.id in self.valid:
            apply(state, rec)
    return state


def _slow_advance(self: causal.Pasts, i: int) -> None:
    pass


def _random_log(seed: int) -> tuple[bytes, list[bytes]]:
    rng = random.Random(seed)
    root = crypto.SigningKeyPair.generate()
    oid = tokens.office_id_of(root.public)

    def device(name: str) -> Device:
        return crypto.SigningKeyPair.generate(), crypto.BoxKeyPair.generate(), name

    def enroll(key: crypto.SigningKeyPair, issuer: bytes, d: Device, role: Role,
               parents: list[bytes], at: int) -> bytes:  # fmt: skip
        cap = capability(oid, issuer, d[0].public, d[1].public, d[2], role, at, 1)
        request = joining.make_request(d[2], d[0], d[1].public)
        payload = Enroll(tokens.issue(cap, key), request, None, {})
        return records.sign(issuer, key, oid, parents, at, payload)

    genesis = records.sign(oid, root, oid, [], 1000, Genesis("Acme", root.public))
    blobs, ids = [genesis], [records.record_id(genesis)]
    admins = [device(f"admin{i}") for i in range(3)]
    members = [device(f"member{i}") for i in range(5)]
    at = 1001
    for a in admins:
        blob = enroll(root, oid, a, Role.ADMIN, [rng.choice(ids)], at)
        blobs.append(blob)
        ids.append(records.record_id(blob))
        at += 1
    for step in range(40):
        at += 1
        parents = sorted(set(rng.sample(ids, min(len(ids), rng.randint(1, 3)))))
        a = rng.choice(admins)
        aid = tokens.device_id_of(a[0].public)
        roll = rng.random()
        if roll < 0.35:
            blob = enroll(a[0], aid, rng.choice(members), Role.MEMBER, parents, at)
        elif roll < 0.55:
            target = tokens.device_id_of(rng.choice(members + admins)[0].public)
            by_root = rng.random() < 0.5
            blob = records.sign(oid if by_root else aid, root if by_root else a[0], oid,
                                parents, at, Revoke(target, 0, ""))  # fmt: skip
        elif roll < 0.7:
            t = rng.choice(members + admins)
            role = rng.choice([Role.ADMIN, Role.MEMBER])
            cap = capability(oid, oid, t[0].public, t[1].public, t[2], role, at, rng.randint(2, 5))
            blob = records.sign(oid, root, oid, parents, at, RoleChange(tokens.issue(cap, root)))
        else:
            invite = Invite(crypto.random_bytes(16), step + 1, "someone", "member", at + 50, {})
            blob = records.sign(aid, a[0], oid, parents, at, invite)
        blobs.append(blob)
        ids.append(records.record_id(blob))
    rng.shuffle(blobs)
    return root.public, blobs


@pytest.mark.parametrize("seed", range(25))
def test_fast_pasts_match_rebuilding_every_past(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    root_public, blobs = _random_log(seed)
    fast = membership.fold(root_public, blobs)
    monkeypatch.setattr(causal.Pasts, "at", _slow_at)
    monkeypatch.setattr(causal.Pasts, "advance", _slow_advance)
    slow = membership.fold(root_public, blobs)
    assert fast.valid == slow.valid
    assert fast.invalid == slow.invalid
    assert fast.state == slow.state
    # The logs are not trivial: concurrency makes some records invalid, most stand.
    assert len(fast.valid) > 10


def test_the_random_logs_exercise_invalid_records() -> None:
    """Guard: across the seeds, the logs contain records the rules refuse."""
    refused = sum(len(membership.fold(*_random_log(seed)).invalid) for seed in range(5))
    assert refused > 0
