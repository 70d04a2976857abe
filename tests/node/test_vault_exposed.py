"""After a revocation: which entries the revoked person could read (SECURITY_TESTS 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.errors import NotFoundError
from tests.node import vault_kit as K


def test_entries_written_before_the_revocation_are_exposed_later_ones_not(
    paths: dict[str, Path],
) -> None:
    with K.opened({"alice": paths["alice"]}) as v:
        alice = v["alice"]
        before = alice.add({"title": "Wi-Fi", "password": "x"}, K.T0 + 100)
        edited = alice.add({"title": "Router", "password": "r1"}, K.T0 + 101)
        alice.office.revoke("bob", K.T0 + 200)
        after = alice.add({"title": "After", "password": "y"}, K.T0 + 300)
        alice.edit(edited, {"password": "r2"}, K.T0 + 301)  # bob saw r1: still exposed
        exposed = {s.id for s in alice.exposed("bob")}
    assert before in exposed
    assert edited in exposed
    assert after not in exposed


def test_a_member_who_never_enrolled_is_a_clear_error(paths: dict[str, Path]) -> None:
    with K.opened({"alice": paths["alice"]}) as v, pytest.raises(NotFoundError, match="zed"):
        v["alice"].exposed("zed")
