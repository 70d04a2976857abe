"""The office a simulation runs: real data dirs, made once per shape and copied per seed.

`template(base, nodes, admins)` makes pc00 (holds the office root key),
admins pc01.., then members, every one a real device enrolled with an invite
code, whose store holds every membership record. `copy` gives a seed its own
replicas in milliseconds.

`seeded_crypto(seed)` makes every key, id and nonce the project draws
(`crypto.random_bytes`) come from a seeded generator, so one seed replays the
same office and the same run in any process. Only libsodium's sealed boxes
still draw their own ephemeral keys; no decision of the protocol depends on
those bytes' order, except the membership fold's hash tie-break.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from node import crypto, keystore, onboarding, records
from node.office import Office
from node.tokens import Role

PROFILE = keystore.INSECURE_TEST
PASSWORD = "simulated office password"
T_START = 1_800_000_000  # wall time (seconds) when a simulation's clock reads 0
HOUR = 3600
TEMPLATE_SEED = 20261202
MADE_AT = T_START - 3 * HOUR  # before any skewed clock of a run (at most 1 h behind)


def pw() -> bytearray:
    return bytearray(PASSWORD.encode())


def name_of(i: int) -> str:
    return f"pc{i:02d}"


@contextmanager
def seeded_crypto(seed: int) -> Iterator[None]:
    """`crypto.random_bytes` from a seeded generator while inside (tests only)."""
    rng = random.Random(seed)
    real = crypto.random_bytes
    crypto.random_bytes = rng.randbytes
    try:
        yield
    finally:
        crypto.random_bytes = real


def template(base: Path, nodes: int, admins: int) -> list[Path]:
    """Data dirs pc00..: pc00 founds the office, the next `admins - 1` are admins."""
    paths = [base / name_of(i) for i in range(nodes)]
    with seeded_crypto(TEMPLATE_SEED):
        created = onboarding.create_office(paths[0], "Sim Ltd", name_of(0), pw(), MADE_AT,
                                           PROFILE)  # fmt: skip
        with created.office as office:
            for i in range(1, nodes):
                role = Role.ADMIN if i < admins else Role.MEMBER
                enrol(office, paths[i], name_of(i), role, MADE_AT + 2 * i)
            every = office.blobs
    for path in paths:
        with Office.unlock(path, pw(), PROFILE) as device, device.store.transaction():
            device.store.add_records((records.record_id(b), b) for b in every)
    return paths


def enrol(office: Office, path: Path, user: str, role: Role, now: int) -> None:
    """A new device at `path`, enrolled by `office` with an invite code, as `join` does."""
    code = office.invite(user, role, HOUR, now)
    requests: list[bytes] = []
    onboarding.new_device(path, user, pw(), PROFILE, requests.append)
    welcomes: list[bytes] = []
    office.enroll(str(code), requests[0], now + 1, welcomes.append)
    onboarding.accept_welcome(path, pw(), PROFILE, welcomes[0], str(code)).close()


def copy(paths: list[Path], dest: Path) -> list[Path]:
    out = []
    for path in paths:
        shutil.copytree(path, dest / path.name)
        out.append(dest / path.name)
    return out
