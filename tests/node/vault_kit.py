"""Offices of several real devices for vault tests, built once and copied per test.

`template(tmp)` makes an office with admins alice (holds the root key) and
dave, and members bob and carol, each a real data dir whose store holds every
membership record. `replicas(template, dest)` copies those dirs so a test (or
a Hypothesis example) gets fresh replicas in milliseconds.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from node import keystore, onboarding, records
from node.office import Office
from node.tokens import Role
from node.vault import Vault

PROFILE = keystore.INSECURE_TEST
PASSWORD = "correct horse battery staple"
T0 = 1_800_000_000
HOUR = 3600
PEOPLE = {"alice": Role.ADMIN, "dave": Role.ADMIN, "bob": Role.MEMBER, "carol": Role.MEMBER}


def pw() -> bytearray:
    return bytearray(PASSWORD.encode())


def template(base: Path) -> dict[str, Path]:
    """Data dirs of alice, dave, bob and carol, all holding the same membership records."""
    paths = {name: base / name for name in PEOPLE}
    created = onboarding.create_office(paths["alice"], "Acme Ltd", "alice", pw(), T0, PROFILE)
    with created.office as office:
        for i, (name, role) in enumerate(PEOPLE.items()):
            if name != "alice":
                _join(office, paths[name], name, role, T0 + 10 * i)
        every = office.blobs
    for name in PEOPLE:
        with Office.unlock(paths[name], pw(), PROFILE) as device, device.store.transaction():
            device.store.add_records((records.record_id(b), b) for b in every)
    return paths


def _join(office: Office, path: Path, user: str, role: Role, now: int) -> None:
    code = office.invite(user, role, HOUR, now)
    requests: list[bytes] = []
    onboarding.new_device(path, user, pw(), PROFILE, requests.append)
    welcomes: list[bytes] = []
    office.enroll(str(code), requests[0], now + 1, welcomes.append)
    onboarding.accept_welcome(path, pw(), PROFILE, welcomes[0], str(code)).close()


def replicas(source: dict[str, Path], dest: Path) -> dict[str, Path]:
    """Fresh copies of the template's data dirs under `dest`."""
    out = {}
    for name, path in source.items():
        out[name] = dest / name
        shutil.copytree(path, out[name])
    return out


@contextmanager
def opened(paths: dict[str, Path]) -> Iterator[dict[str, Vault]]:
    """Every device's vault, open; all closed afterwards."""
    vaults: dict[str, Vault] = {}
    try:
        for name, path in paths.items():
            vaults[name] = Vault.open(path, pw(), PROFILE)
        yield vaults
    finally:
        for vault in vaults.values():
            vault.close()


def deliver(source: Vault, target: Vault) -> None:
    """Everything `source` holds, to `target` (in the op log's order)."""
    for blob in source.op_log():
        target.receive(blob)
