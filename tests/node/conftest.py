"""Offices shared by the vault and node tests: built once per run, copied per test.

Every test works on copies (`vault_kit.replicas`), so one office can serve
the whole session; building it costs about a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.vault import Vault
from tests.node import forging
from tests.node.forging import World
from tests.node.vault_kit import opened, replicas, template


@pytest.fixture(scope="session")
def office(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """vault_kit's office: alice (admin, root), dave (admin), bob and carol (members)."""
    return template(tmp_path_factory.mktemp("office"))


@pytest.fixture
def paths(office: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    return replicas(office, tmp_path / "replicas")


@pytest.fixture
def vaults(paths: dict[str, Path]) -> Iterator[dict[str, Vault]]:
    with opened(paths) as opened_vaults:
        yield opened_vaults


@pytest.fixture(scope="session")
def forging_office(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same office, each device opened once (forging.office_template)."""
    return forging.office_template(tmp_path_factory.mktemp("forging-office"))


@pytest.fixture
def world(forging_office: dict[str, Path], tmp_path: Path) -> Iterator[World]:
    with forging.open_world(forging_office, tmp_path) as opened_world:
        yield opened_world
