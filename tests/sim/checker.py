"""What must hold once the simulated network is whole again (DESIGN I-1, I-2, I-3, I-7).

The checker reads the honest nodes' stores and documents and judges them by
rules of its own, written from the design, not by calling the judge under
test: a version in a document must come from an envelope whose author held a
role allowing it at that sequence number; nothing of a revoked device past
its cut-off may be anywhere; every honest node holds the same document,
membership and op log; every write a user was told was saved is present
(unless its author was revoked before it reached the revoking admin); and
the online nodes agree on one leader, the lowest admin device among them.
"""

from __future__ import annotations

from dataclasses import dataclass

from crdt import yupdate
from node import envelopes, versions
from node.membership_state import State
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


def check(nodes: list[SimNode], confirmed: list[Confirmed]) -> list[str]:
    """Every violation found (empty: all good). `nodes`: the honest nodes, all up."""
    if not nodes:
        return ["no honest node is left to check"]
    out: list[str] = []
    first = nodes[0]
    assert first.vault is not None
    state = first.vault.office.membership.state
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
    for n in nodes:
        out += [f"{n.name}: {v}" for v in _judged_again(logs[n.name], dict(docs[n.name]), state)]
    out += _confirmed_present(nodes, confirmed, state, logs)
    out += _one_leader(nodes, state)
    return out


def _vault(node: SimNode) -> Vault:
    assert node.vault is not None
    return node.vault


def _judged_again(log: set[bytes], doc: dict[str, bytes], state: State) -> list[str]:
    """Versions in the document that no rule allows (I-2, I-3)."""
    out = []
    carried: dict[str, tuple[bytes, int]] = {}  # version key -> (author, seq)
    for blob in log:
        env = envelopes.read_stored(blob)
        for item in yupdate.decode(env.update).items:
            if item.key is not None and isinstance(item.value, bytes):
                carried[item.key] = (env.author, env.seq)
    for key, value in doc.items():
        if key not in carried:
            out.append(f"version {key} is in the document but in no envelope held")
            continue
        author, seq = carried[key]
        version = versions.decode(key, value)
        role = state.role_for(author, seq)
        if role is None:
            out.append(f"version {key} by a device not allowed at seq {seq} (revoked or unknown)")
        elif version.kind is not Kind.ADD and role is not Role.ADMIN:
            out.append(f"version {key}: a {version.kind.name} by a member (seq {seq})")
        if version.author != author:
            out.append(f"version {key} claims another author than its envelope's")
    return out


def _confirmed_present(
    nodes: list[SimNode], confirmed: list[Confirmed], state: State, logs: dict[str, set[bytes]]
) -> list[str]:
    out = []
    every = {n.name: _every_entry(n) for n in nodes}
    for write in confirmed:
        revoked = state.revoked.get(write.device)
        for blob in write.blobs:
            seq = envelopes.read_stored(blob).seq
            if revoked is not None and seq > revoked.cutoff:
                continue  # written after the revoking admin's cut-off: refused by design
            missing = [n.name for n in nodes if blob not in logs[n.name]]
            if missing:
                out.append(f"a saved {write.kind} by {write.node} (seq {seq}) is missing at "
                           f"{', '.join(missing)}")  # fmt: skip
        if write.kind == "add" and not (revoked and _past(write.blobs, revoked.cutoff)):
            for n in nodes:
                if write.entry not in every[n.name]:
                    out.append(f"entry {write.entry[:8]} added by {write.node} is gone at {n.name}")
    return out


def _past(blobs: tuple[bytes, ...], cutoff: int) -> bool:
    return any(envelopes.read_stored(b).seq > cutoff for b in blobs)


def _every_entry(node: SimNode) -> set[str]:
    vault = _vault(node)
    return {s.id for s in vault.entries()} | {s.id for s in vault.entries(trash=True)}


def _one_leader(nodes: list[SimNode], state: State) -> list[str]:
    leaders = {n.name: n.core.leader if n.core else b"" for n in nodes}
    admins = [n.device for n in nodes if (m := state.active(n.device)) and m.role is Role.ADMIN]
    expected = min(admins, default=b"")
    wrong = {name: lead.hex()[:8] for name, lead in leaders.items() if lead != expected}
    if wrong:
        return [f"leaders disagree: expected {expected.hex()[:8]}, got {wrong}"]
    return []
