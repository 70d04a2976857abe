"""The elected admin node's chores (node/runner.py)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from node import checkpoints, runner
from node.chores import CHECKPOINT_EVERY
from node.runner import Node, PeerAddress
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
            assert node.core.checkpoint is None  # only the elected admin node signs them
        finally:
            node.close()
        assert len(v["carol"].office.blobs) == before


def test_the_leader_signs_a_checkpoint_and_signs_again_only_after_a_change(
    office: dict[str, Path], tmp_path: Path
) -> None:
    paths = K.replicas(office, tmp_path)
    with K.opened({"alice": paths["alice"]}) as v:
        alice = v["alice"]
        lines: list[str] = []
        node = Node(alice, log=lines.append)
        node.wall = lambda: float(K.T0 + 600)
        try:
            node.step(0)
            first = node.core.checkpoint
            assert first is not None and first.signer == alice.office.identity.device_id
            assert node.core.shortfall() == checkpoints.Shortfall(0, 0, ())
            node._last_checkpoint -= CHECKPOINT_EVERY
            node._next_beat = node.clock()
            node.step(0)
            assert node.core.checkpoint is first  # nothing changed: no new one
            alice.add({"title": "Router"}, K.T0 + 601)
            node.wall = lambda: float(K.T0 + 700)
            node._last_checkpoint -= CHECKPOINT_EVERY
            node._next_beat = node.clock()
            node.step(0)
            second = node.core.checkpoint
            assert second is not None and checkpoints.newer(first, second)
            assert dict((d, s) for d, s, _ in second.heads) == alice.office.store.vector()
        finally:
            node.close()
        assert not any("could not" in line for line in lines), lines


def test_an_address_that_never_answers_is_closed_and_retried_less_and_less_often(
    office: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libzmq would retry a link whose handshake never completes every 200 ms, for ever;
    the node closes it after UNANSWERED seconds and opens it again after a doubling pause."""
    monkeypatch.setattr(runner, "UNANSWERED", 0.05)
    paths = K.replicas(office, tmp_path)
    with K.opened({"alice": paths["alice"], "bob": paths["bob"]}) as v:
        now = [1000.0]
        node = Node(v["alice"], log=lambda _line: None, clock=lambda: now[0])
        bob = v["bob"].office.identity.device_id
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            dead = PeerAddress("127.0.0.1", sock.getsockname()[1], bob)  # nothing accepts

            def beat() -> None:
                node._next_beat = now[0]
                node.step(0)

            try:
                node.add_peer(dead)
                assert node.transport.candidates() == [bob]
                pauses = []
                for _ in range(3):
                    time.sleep(0.1)  # longer than UNANSWERED, in real time
                    beat()
                    assert node.transport.candidates() == [], "closed once it went unanswered"
                    due, _ = node._addresses[dead]
                    pauses.append(due - now[0])
                    beat()
                    assert node.transport.candidates() == [], "not before its pause is over"
                    now[0] = due
                    beat()
                    assert node.transport.candidates() == [bob], "tried again after the pause"
                assert pauses == pytest.approx([0.05, 0.1, 0.2])
                assert node.transport.stats["closed_unanswered"] == 3
            finally:
                node.close()
