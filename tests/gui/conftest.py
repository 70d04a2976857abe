"""Fixtures of the window's tests: real vaults of vault_kit's office (no display needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.vault import Vault
from tests.node.vault_kit import opened, replicas, template


@pytest.fixture(scope="session")
def office(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """alice (admin, root), dave (admin), bob and carol (members)."""
    return template(tmp_path_factory.mktemp("gui-office"))


@pytest.fixture
def vaults(office: dict[str, Path], tmp_path: Path) -> Iterator[dict[str, Vault]]:
    with opened(replicas(office, tmp_path / "replicas")) as opened_vaults:
        yield opened_vaults
