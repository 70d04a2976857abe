"""What must hold once the simulated network is whole again (DESIGN I-1, I-2, I-3, I-7).

The checker judges by what the simulation itself did, never by the code under
test: `Truth` holds each device's role as it was enrolled (the workload makes
no role changes) and, for each revocation, the revoking admin's cut-off as the
simulation read it from that admin's store just before revoking. From that and
the honest nodes' stores and documents it requires: a version in a document
comes from an envelope whose author's role allowed it and that is not past its
author's cut-off; the membership's revocations are exactly those the admins
made; every honest node holds the same document, membership, op log and newest
checkpoint, and all of that checkpoint; every write a user was told was saved
is present (unless past its author's cut-off); the online nodes agree on one
leader, the lowest admin device among them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crdt import yupdate
from node import envelopes, versions
from node.tokens import Role
from node.vault import Vault
from node.versions import Kind
from tests.sim.simnode import SimNode


@dataclass(frozen=True)
class Confirmed:
    """A write a user was told was saved: the envelopes it made, and what it was."""

    node: str
    device: bytes
    blobs: tuple[bytes, ...]
    kind: str  # "add", "edit", ...
    entry: str  # entry id (hex)


@dataclass
class Truth:
    """What the simulation did, by its own bookkeeping."""

    roles: dict[bytes, Role] = field(default_factory=dict)  # device -> role it was enrolled with
    cutoffs: dict[bytes, int] = field(default_factory=dict)  # revoked device -> cut-off


def check(nodes: list[SimNode], confirmed: list[Confirmed], truth: Truth) -> list[str]:
    """Every violation found (empty: all good). `nodes`: the honest nodes, all up."""
    if not nodes:
        return ["no honest node is left to check"]
    out: list[str] = []
    first = nodes[0]
    logs = {n.name: set(_vault(n).op_log()) for n in nodes}
    docs = {n.name: _vault(n).document() for n in nodes}
    members = {n.name: set(_vault(n).office.blobs) for n in nodes}
    for n in nodes[1:]:
        if logs[n.name] != logs[first.name]:
            out.append(f"op logs differ: {first.name} {len(logs[first.name])} envelopes, "
                       f"{n.name} {len(logs[n.name])}")  # fmt: skip
        if docs[n.name] != docs[first.name]:
            out.append(f"documents differ: {first.name} and {n.name}")
        if members[n.name] != members[first.name]:
            out.append(f"membership differs: {first.name} and {n.name}")
    revoked = {d: r.cutoff for d, r in _vault(first).office.membership.state.revoked.items()}
    if revoked != truth.cutoffs:
        out.append(f"the membership's revocations {_short(revoked)} are not those the admins "
                   f"made {_short(truth.cutoffs)}")  # fmt: skip
    for n in nodes:
        out += [f"{n.name}: {v}" for v in _judged_again(logs[n.name], dict(docs[n.name]), truth)]
    out += _confirmed_present(nodes, confirmed, truth, logs)
    out += _one_leader(nodes, truth)
    out += _one_checkpoint(nodes)
    return out


def _vault(node: SimNode) -> Vault:
    assert node.vault is not None
    return node.vault


def _short(cutoffs: dict[bytes, int]) -> dict[str, int]:
    return {d.hex()[:8]: c for d, c in sorted(cutoffs.items())}


def _judged_again(log: set[bytes], doc: dict[str, bytes], truth: Truth) -> list[str]:
    """Versions in the document that no rule allows (I-2, I-3)."""
    out = []
    carried: dict[str, tuple[bytes, int]] = {}  # version key -> (author, seq)
    for blob in sorted(log):
        env = envelopes.read_stored(blob)
        for item in yupdate.decode(env.update).items:
            if item.key is not None and isinstance(item.value, bytes):
                if item.key in carried:
                    out.append(f"version {item.key} is carried by two envelopes")
                carried[item.key] = (env.author, env.seq)
    for key, value in sorted(doc.items()):
        if key not in carried:
            out.append(f"version {key} is in the document but in no envelope held")
            continue
        author, seq = carried[key]
        version = versions.decode(key, value)
        role = truth.roles.get(author)
        if role is None:
            out.append(f"version {key} by a device never enrolled")
        elif author in truth.cutoffs and seq > truth.cutoffs[author]:
            out.append(f"version {key} by a revoked device past its cut-off "
                       f"(seq {seq} > {truth.cutoffs[author]})")  # fmt: skip
        elif version.kind is not Kind.ADD and role is not Role.ADMIN:
            out.append(f"version {key}: a {version.kind.name} by a member (seq {seq})")
        if version.author != author:
            out.append(f"version {key} claims another author than its envelope's")
    return out


def _confirmed_present(
    nodes: list[SimNode], confirmed: list[Confirmed], truth: Truth, logs: dict[str, set[bytes]]
) -> list[str]:
    out = []
    every = {n.name: _every_entry(n) for n in nodes}
    keys = {n.name: {k for k, _ in _vault(n).document()} for n in nodes}
    for write in confirmed:
        cutoff = truth.cutoffs.get(write.device)
        for blob in write.blobs:
            env = envelopes.read_stored(blob)
            if cutoff is not None and env.seq > cutoff:
                continue  # written after the revoking admin's cut-off: refused by design
            missing = [n.name for n in nodes if blob not in logs[n.name]]
            if missing:
                out.append(f"a saved {write.kind} by {write.node} (seq {env.seq}) is missing at "
                           f"{', '.join(missing)}")  # fmt: skip
            written = {i.key for i in yupdate.decode(env.update).items if i.key is not None}
            for n in nodes:
                if not written <= keys[n.name]:
                    out.append(f"a saved {write.kind} by {write.node} (seq {env.seq}) is not in "
                               f"the document at {n.name}")  # fmt: skip
        past = cutoff is not None and any(read_seq(b) > cutoff for b in write.blobs)
        if write.kind == "add" and not past:
            for n in nodes:
                if write.entry not in every[n.name]:
                    out.append(f"entry {write.entry[:8]} added by {write.node} is gone at {n.name}")
    return out


def read_seq(blob: bytes) -> int:
    return envelopes.read_stored(blob).seq


def _every_entry(node: SimNode) -> set[str]:
    vault = _vault(node)
    return {s.id for s in vault.entries()} | {s.id for s in vault.entries(trash=True)}


def _one_leader(nodes: list[SimNode], truth: Truth) -> list[str]:
    leaders = {n.name: n.core.leader if n.core else b"" for n in nodes}
    admins = [n.device for n in nodes if truth.roles.get(n.device) is Role.ADMIN
              and n.device not in truth.cutoffs]  # fmt: skip
    expected = min(admins, default=b"")
    wrong = {name: lead.hex()[:8] for name, lead in leaders.items() if lead != expected}
    if wrong:
        return [f"leaders disagree: expected {expected.hex()[:8]}, got {wrong}"]
    return []


def _one_checkpoint(nodes: list[SimNode]) -> list[str]:
    """The same newest checkpoint everywhere, and every node holds all it names (I-6)."""
    held = {n.name: n.core.checkpoint.blob if n.core and n.core.checkpoint else b"" for n in nodes}
    if len(set(held.values())) != 1:
        return [f"nodes hold different newest checkpoints: {len(set(held.values()))} kinds"]
    out = []
    for n in nodes:
        short = n.core.shortfall() if n.core else None
        if short is not None and not short.met:
            out.append(f"{n.name} lacks part of the newest checkpoint")
    return out
