"""The unlock screen: its logic (gui/unlock.py) without a display, and the real widget
under Xvfb (gui/widgets/unlock.py). Threat covered: the password kept in memory or in the
field after an attempt, a wrong password that crashes or says more than "wrong"."""

from __future__ import annotations

import tkinter as tk
from pathlib import Path

from gui.unlock import WRONG, Refused, Unlocked, attempt
from gui.widgets.unlock import UnlockView
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
