"""The unlock screen's logic: one attempt with a password, and what the screen says.

Unlocking has a slow half and a quick one. The slow half (Argon2id: most of a second,
and 256 MiB, on purpose) turns the password into the device's keys and touches only
the keystore file, so `Unlocking` runs it on a worker thread while the window stays
responsive; the quick half opens the SQLCipher store with those keys, on the Tk
thread, because a database connection belongs to the thread that opened it. The
password arrives as a bytearray and is wiped whatever happens; a wrong one gets a
plain message (never the password, never a traceback).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from node.errors import VaultError, WrongPasswordError

if TYPE_CHECKING:
    from node.vault import Vault

WRONG = "That password does not open this vault. Try again."
EMPTY = "Type your password."
K = TypeVar("K")


@dataclass(frozen=True)
class Unlocked:
    vault: Vault


@dataclass(frozen=True)
class Refused:
    message: str


def refusal(exc: VaultError) -> Refused:
    return Refused(WRONG if isinstance(exc, WrongPasswordError) else str(exc))


def attempt(open_vault: Callable[[bytearray], Vault], password: bytearray) -> Unlocked | Refused:
    """Both halves at once, on this thread (the command line's way)."""
    try:
        if not password:
            return Refused(EMPTY)
        return Unlocked(open_vault(password))
    except VaultError as exc:
        return refusal(exc)
    finally:
        password[:] = bytes(len(password))


def finish(open_vault: Callable[[], Vault]) -> Unlocked | Refused:
    """The quick half, once the keys are derived."""
    try:
        return Unlocked(open_vault())
    except VaultError as exc:
        return refusal(exc)


class Unlocking(Generic[K]):
    """The slow half of one attempt on a worker thread: `derive(password)` -> keys.

    `result()` is None while it runs, then the keys or a Refused. `warm` runs on the
    worker afterwards (the window imports what it shows next while the user waits).
    """

    def __init__(
        self,
        derive: Callable[[bytearray], K],
        password: bytearray,
        warm: Callable[[], object] = lambda: None,
    ) -> None:
        self._derive, self._password, self._warm = derive, password, warm
        self._result: K | Refused | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="unlock", daemon=True)

    def start(self) -> Unlocking[K]:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            if not self._password:
                self._result = Refused(EMPTY)
            else:
                self._result = self._derive(self._password)
        except VaultError as exc:
            self._result = refusal(exc)
        finally:
            self._password[:] = bytes(len(self._password))
            try:
                self._warm()
            finally:
                self._done.set()

    def result(self) -> K | Refused | None:
        return self._result if self._done.is_set() else None

    def wait(self, timeout: float) -> bool:
        """Wait for the worker (at most `timeout` seconds); True once it ended."""
        self._done.wait(timeout)
        self._thread.join(max(0.0, timeout) if self._done.is_set() else 0)
        return not self._thread.is_alive()
