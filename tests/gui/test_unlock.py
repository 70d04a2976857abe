"""The unlock screen: its logic (gui/unlock.py) without a display, and the real widget
under Xvfb (gui/widgets/unlock.py). Threat covered: the password kept in memory or in the
field after an attempt, a wrong password that crashes or says more than "wrong"."""

from __future__ import annotations

import threading
import tkinter as tk
from pathlib import Path

import pytest

from gui.unlock import WRONG, Refused, Unlocked, Unlocking, attempt
from gui.widgets.unlock import UnlockView
from node.errors import StorageError, WrongPasswordError
from node.vault import Vault
from tests.gui.conftest import screenshot
from tests.node.vault_kit import PASSWORD, PROFILE


def test_the_right_password_unlocks_and_is_wiped(office: dict[str, Path]) -> None:
    typed = bytearray(PASSWORD.encode())
    outcome = attempt(lambda pw: Vault.open(office["bob"], pw, PROFILE), typed)
    assert isinstance(outcome, Unlocked)
    outcome.vault.close()
    assert typed == bytes(len(typed))


def test_a_wrong_or_empty_password_gets_a_plain_message(office: dict[str, Path]) -> None:
    typed = bytearray(b"not the password")
    outcome = attempt(lambda pw: Vault.open(office["bob"], pw, PROFILE), typed)
    assert outcome == Refused(WRONG)
    assert typed == bytes(len(typed))
    assert attempt(lambda pw: Vault.open(office["bob"], pw, PROFILE), bytearray()) == Refused(
        "Type your password."
    )


def test_the_widget_hands_over_the_password_and_clears_the_field(root: tk.Tk) -> None:
    got: list[bytearray] = []
    view = UnlockView(root, "Acme Ltd", got.append)
    view.pack(fill="both", expand=True)
    view.password.insert(0, "hunter2 hunter2")
    view.button.invoke()
    assert got == [bytearray(b"hunter2 hunter2")]
    assert view.password.get() == ""
    view.show_message(WRONG)
    view.set_busy(True)
    assert str(view.button.cget("state")) == "disabled"
    screenshot(root, "unlock")


def test_the_slow_half_runs_off_the_callers_thread_and_wipes_the_password() -> None:
    release, seen = threading.Event(), []

    def derive(password: bytearray) -> str:
        seen.append((threading.current_thread().name, bytes(password)))
        release.wait(10)
        return "keys"

    typed = bytearray(b"hunter2 hunter2")
    run = Unlocking(derive, typed).start()
    try:
        assert run.result() is None  # still deriving: the caller's thread goes on
    finally:
        release.set()
    assert run.wait(10)
    assert run.result() == "keys" and seen == [("unlock", b"hunter2 hunter2")]
    assert typed == bytes(len(typed))


@pytest.mark.parametrize(
    ("raised", "message"),
    [(WrongPasswordError("wrong password"), WRONG),
     (StorageError("the keystore file is damaged"), "the keystore file is damaged")],
)  # fmt: skip
def test_a_refused_derivation_says_so_plainly(raised: Exception, message: str) -> None:
    def derive(_password: bytearray) -> str:
        raise raised

    typed = bytearray(b"some password")
    run = Unlocking(derive, typed).start()
    assert run.wait(10)
    assert run.result() == Refused(message) and typed == bytes(len(typed))
    assert Unlocking(derive, bytearray()).start().wait(10)


def test_an_empty_password_is_refused_without_deriving() -> None:
    derived: list[bytes] = []
    run = Unlocking(lambda pw: derived.append(bytes(pw)), bytearray()).start()
    assert run.wait(10) and run.result() == Refused("Type your password.") and derived == []
