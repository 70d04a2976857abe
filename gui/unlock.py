"""The unlock screen's logic: one attempt with a password, and what the screen says.

The password arrives as a bytearray and is wiped here whatever happens; a wrong one
gets a plain message (never the password, never a traceback). The window runs
`attempt` off the Tk thread (the Argon2id takes most of a second) and shows the
outcome when it arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from node.errors import VaultError, WrongPasswordError
from node.vault import Vault

WRONG = "That password does not open this vault. Try again."


@dataclass(frozen=True)
class Unlocked:
    vault: Vault


@dataclass(frozen=True)
class Refused:
    message: str


def attempt(open_vault: Callable[[bytearray], Vault], password: bytearray) -> Unlocked | Refused:
    try:
        if not password:
            return Refused("Type your password.")
        return Unlocked(open_vault(password))
    except WrongPasswordError:
        return Refused(WRONG)
    except VaultError as exc:
        return Refused(str(exc))
    finally:
        password[:] = bytes(len(password))
