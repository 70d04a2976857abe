"""Shared fixtures. Every test fails if it leaves a thread running or a file descriptor open
(see `no_leaked_threads` and `no_leaked_fds`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from node import keystore, onboarding
from node.office import Office
from tests import clirun

PASSWORD = "correct horse battery staple"
T0 = 1_800_000_000  # a fixed "now" for tests: time is always passed in


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """A test that leaks a thread is a failing test."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"test leaked threads: {leaked}"


FD_DIR = "/proc/self/fd"


def open_fds() -> dict[int, str]:
    """This process's open descriptors and what each points at (Linux /proc)."""
    fds = {}
    for name in os.listdir(FD_DIR):
        try:
            fds[int(name)] = os.readlink(f"{FD_DIR}/{name}")
        except OSError:  # the descriptor listdir itself used, closed by now
            continue
    return fds


@pytest.fixture(autouse=True)
def no_leaked_fds() -> Iterator[None]:
    """A test that leaves a file descriptor open (an unclosed Office, Store or file) fails.

    Only descriptors opened during the test count: pytest's own files, and those
    of wider-scoped fixtures (set up before this one), were open before it began.
    """
    if not os.path.isdir(FD_DIR):
        yield
        return
    before = open_fds()
    yield
    leaked = {fd: target for fd, target in open_fds().items() if fd not in before}
    assert not leaked, f"test leaked file descriptors: {leaked}"


@pytest.fixture
def fast_kdf() -> keystore.KdfProfile:
    """The insecure fast Argon2id profile: tests ask for it explicitly."""
    return keystore.INSECURE_TEST


@pytest.fixture
def password() -> bytearray:
    return bytearray(PASSWORD.encode())


@pytest.fixture
def alice(tmp_path: Path, fast_kdf: keystore.KdfProfile) -> Iterator[Office]:
    """A fresh office "Acme Ltd" whose first admin is alice, at time T0."""
    created = onboarding.create_office(
        tmp_path / "alice", "Acme Ltd", "alice", bytearray(PASSWORD.encode()), T0, fast_kdf
    )
    yield created.office
    created.office.close()


@pytest.fixture
def cli_env() -> dict[str, str]:
    """Environment for running the CLIs as subprocesses: fast KDF, this venv first on PATH."""
    return clirun.environment()
