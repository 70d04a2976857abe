"""The elected admin node's chores (node/runner.py)."""

from __future__ import annotations

from pathlib import Path

from node.runner import Node
from tests.node import vault_kit as K


def test_the_leader_rotates_again_when_a_concurrent_rotation_reached_a_revoked_device(
    office: dict[str, Path], tmp_path: Path
) -> None:
    paths = K.replicas(office, tmp_path)
    with K.opened({"alice": paths["alice"], "dave": paths["dave"]}) as v:
        alice, dave = v["alice"], v["dave"]
        for _ in range(2):  # dave, not seeing the revocation, seals two newer keys to bob
            dave.office.commit([dave.office.rotation(K.T0 + 500)])
        alice.office.revoke("bob", K.T0 + 500)  # alice rotates too, not seeing dave's
        alice.merge_records(dave.office.blobs)
        assert alice.office.membership.state.needs_rotation()
        lines: list[str] = []
        node = Node(alice, log=lines.append)
        node.wall = lambda: float(K.T0 + 600)  # the kit's office lives at T0
        try:
            node.step(0)  # alone, alice is the leader
            assert node.core.leader == alice.office.identity.device_id
        finally:
            node.close()
        assert not alice.office.membership.state.needs_rotation(), lines
        assert any("rotated the vault key" in line for line in lines)
        current = alice.office.membership.state.current_key()
        assert current is not None
        bob = next(d for d, m in alice.office.membership.state.devices.items() if m.user == "bob")
        assert bob not in current.sealed


def test_a_member_node_never_rotates(office: dict[str, Path], tmp_path: Path) -> None:
    paths = K.replicas(office, tmp_path)
    with K.opened({"carol": paths["carol"]}) as v:
        before = len(v["carol"].office.blobs)
        node = Node(v["carol"], log=lambda _line: None)
        try:
            node.step(0)
            assert node.core.leader == b""
        finally:
            node.close()
        assert len(v["carol"].office.blobs) == before
