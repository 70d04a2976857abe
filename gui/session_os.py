"""Is the user's OS session locked? The one module that asks the operating system.

The window asks every few seconds (`SessionProbe.poll`) and locks the vault when the
answer is yes, so a PC locked with Win+L leaves no unlocked vault behind it.
- Windows: the input desktop cannot be opened while the workstation is locked (the
  lock screen's secure desktop has it): one cheap call, no thread.
- Linux with systemd-logind: `loginctl show-session` reports LockedHint, which desktop
  environments set on screen lock. The query runs as a child process that the next
  poll collects, so the window never waits on it.
- Elsewhere (or without a session id): no probe; only the idle lock applies.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from typing import Protocol

DESKTOP_SWITCHDESKTOP = 0x0100


class SessionProbe(Protocol):
    def poll(self) -> bool | None:
        """True: the session is locked; False: it is not; None: not known (yet)."""

    def close(self) -> None: ...


class WindowsProbe:
    def __init__(self) -> None:
        self._user32 = ctypes.WinDLL("user32")  # type: ignore[attr-defined]

    def poll(self) -> bool | None:
        desktop = self._user32.OpenInputDesktop(0, False, DESKTOP_SWITCHDESKTOP)
        if not desktop:
            return True
        self._user32.CloseDesktop(desktop)
        return False

    def close(self) -> None:
        return None


class LoginctlProbe:
    """LockedHint of this logind session, asked by a child process polled later."""

    TIMEOUT = 5.0  # polls: a query that has not answered by then is abandoned

    def __init__(self, loginctl: str, session: str) -> None:
        self._argv = [loginctl, "show-session", session, "-p", "LockedHint", "--value"]
        self._child: subprocess.Popen[bytes] | None = None
        self._waited = 0

    def poll(self) -> bool | None:
        child = self._child
        if child is None:
            self._start()
            return None
        if child.poll() is None:
            self._waited += 1
            if self._waited >= self.TIMEOUT:
                self.close()
            return None
        out = child.stdout.read() if child.stdout else b""
        self._close_child()
        self._start()  # the next answer is on its way
        return out.strip() == b"yes" if child.returncode == 0 else None

    def _start(self) -> None:
        self._waited = 0
        try:
            self._child = subprocess.Popen(  # noqa: S603 (a fixed argv, no shell)
                self._argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except OSError:
            self._child = None

    def _close_child(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.poll() is None:
            child.kill()
        child.wait()
        if child.stdout:
            child.stdout.close()

    def close(self) -> None:
        self._close_child()


def probe() -> SessionProbe | None:
    """The probe for this platform, or None where the OS does not tell us."""
    if sys.platform == "win32":
        try:
            return WindowsProbe()
        except OSError:
            return None
    session = os.environ.get("XDG_SESSION_ID")
    loginctl = shutil.which("loginctl")
    if sys.platform.startswith("linux") and session and loginctl:
        return LoginctlProbe(loginctl, session)
    return None
