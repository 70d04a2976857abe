"""The window's composition root: which screen shows, unlocking, the node beside it,
locking, and a revoked PC.

`App.start` opens on the screen the data folder calls for (gui/screens.py): the
unlock screen, the first-launch wizard, or the note a revoked PC left. Unlocking
opens the vault here (Tk thread) and starts this PC's node in a child process with
the same password (gui/node_process.py); every half second the window looks for what
the node stored (`Vault.refresh`: one cheap query when nothing changed), so peers'
changes show live. Locking returns to the unlock screen; the node keeps syncing.
A node that stops because this device was revoked locks the window, which then says
why. Closing the window stops the node.
"""

from __future__ import annotations

import time
import tkinter as tk
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import ttkbootstrap as ttk

from gui import settings, tray
from gui.events import EVERY_MS, Inbox
from gui.node_process import NodeProcess
from gui.screens import REVOKED_NOTE, Screen, first_screen
from gui.session_os import SessionProbe
from gui.unlock import Refused, Unlocked, Unlocking, finish
from gui.widgets.unlock import UnlockView
from node.errors import VaultError

if TYPE_CHECKING:  # loaded when needed: the unlock screen paints sooner
    from gui.join import JoinOptions
    from gui.main_window import MainWindow
    from gui.wizard_screen import WizardScreen
    from node.keystore import KdfProfile, Secrets
    from node.vault import Vault

WATCH_MS = 500
POLL_MS = 20  # how often the window looks whether the keys are derived
UNLOCK_WAIT = 30.0  # seconds closing waits for a key derivation under way, at most
REVOKED_TEXT = "This PC was revoked by an admin: its vault was locked and wiped."


def unlock_keys(path: Path, password: bytearray, profile: KdfProfile) -> Secrets:
    """Unlocking's slow half, on the worker (node.office loads there, not at launch)."""
    from node.office import unlock_keys as derive  # noqa: PLC0415

    return derive(path, password, profile)


def _warm() -> None:
    """Load the main window's code while the user waits for the KDF (any thread)."""
    import gui.main_window  # noqa: F401, PLC0415


class App:
    def __init__(
        self,
        root: tk.Tk,
        path: Path,
        profile: KdfProfile,
        node_options: Sequence[str] = (),
        node_env: dict[str, str] | None = None,
        run_node: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        session: SessionProbe | None = None,
        on_quit: Callable[[], None] = lambda: None,
        hint: str = "",
        join: JoinOptions | None = None,
    ) -> None:
        """`session`: asks the OS whether the PC's session is locked (None: it cannot);
        `on_quit`: what the tray's Quit does (close the app and its window)."""
        self.root, self.path, self.profile = root, path, profile
        self.node_options, self.node_env, self.run_node = node_options, node_env, run_node
        self.clock, self.wall, self.session, self.on_quit = clock, wall, session, on_quit
        self.hint = hint  # what the unlock screen says when nothing else (the demo's password)
        self.join = join  # where the wizard's join looks for the office (None: as the CLI)
        self.wizard: WizardScreen | None = None
        self.node: NodeProcess | None = None
        self.window: MainWindow | None = None
        self.screen: tk.Widget | None = None
        self._watching: str | None = None
        self.tray: tray.Tray | None = None
        self.tray_acts: Inbox[tray.TrayAct] = Inbox.new()
        self._draining: str | None = None
        self._unlocking: Unlocking[Secrets] | None = None
        self._polling: str | None = None
        self._for_node = bytearray()  # the password for the node, while the keys are derived
        self._hidden: list[tk.Toplevel] = []  # dialogs hidden with the window in the tray

    # -- screens -------------------------------------------------------------------------
    def start(self) -> Screen:
        shown = first_screen(self.path)
        {Screen.UNLOCK: self.show_unlock, Screen.REVOKED: self.show_revoked,
         Screen.WIZARD: self.show_wizard}[shown]()  # fmt: skip
        return shown

    def _replace(self, widget: tk.Widget | None) -> None:
        if self.screen is not None and self.screen.winfo_exists():
            self.screen.destroy()
        self.screen = widget
        if widget is not None:
            widget.pack(fill="both", expand=True)

    def show_unlock(self, message: str = "") -> None:
        view = UnlockView(self.root, str(self.path), self._unlock)
        view.show_message(message or self.hint)
        self._replace(view)

    def show_revoked(self) -> None:
        note = self.path / REVOKED_NOTE
        text = note.read_text(errors="replace") if note.is_file() else REVOKED_TEXT
        frame = ttk.Frame(self.root, padding=40)
        ttk.Label(frame, text=REVOKED_TEXT, bootstyle="danger").pack(anchor="w")
        ttk.Label(frame, text=text, wraplength=600).pack(anchor="w", pady=(12, 0))
        self._replace(frame)

    def show_wizard(self) -> None:
        """First launch: create a new office, or join one with an invite code."""
        from gui.join import JoinOptions  # noqa: PLC0415
        from gui.wizard_screen import WizardScreen  # noqa: PLC0415

        self.wizard = WizardScreen(self.root, self.path, self.profile, self.wall,
                                   self._wizard_done, self.join or JoinOptions())  # fmt: skip
        self._replace(self.wizard.view)

    def _wizard_done(self, message: str) -> None:
        self._close_wizard()
        self.show_unlock(message)

    def _close_wizard(self) -> None:
        if self.wizard is not None:
            self.wizard.close()  # cancels a join under way, joins its thread
            self.wizard = None

    # -- unlocked ------------------------------------------------------------------------
    def _unlock(self, typed: bytearray) -> None:
        """The password's slow half (Argon2id) runs on a worker; `_unlocked` takes it on."""
        if self._unlocking is not None or not isinstance(self.screen, UnlockView):
            typed[:] = bytes(len(typed))  # one attempt at a time
            return
        starting = self.run_node and (self.node is None or not self.node.running)
        self._for_node = bytearray(typed) if starting else bytearray()
        self.screen.set_busy(True)
        path, profile = self.path, self.profile
        self._unlocking = Unlocking(lambda pw: unlock_keys(path, pw, profile), typed,
                                    warm=_warm).start()  # fmt: skip
        self._polling = self.root.after(POLL_MS, self._unlocked)

    def _unlocked(self) -> None:
        """On the Tk thread: the keys arrived (or a refusal): open the vault, the node,
        the main window; anything failing leaves the vault locked and says why."""
        self._polling = None
        run = self._unlocking
        got = run.result() if run is not None else Refused("")
        if got is None:
            self._polling = self.root.after(POLL_MS, self._unlocked)
            return
        self._unlocking = None
        for_node, self._for_node = self._for_node, bytearray()
        try:
            outcome: Unlocked | Refused = got if isinstance(got, Refused) else Refused("")
            if not isinstance(got, Refused):
                from node.vault import Vault  # noqa: PLC0415 (warmed during the KDF)

                path, keys = self.path, got
                outcome = finish(lambda: Vault.open_with(path, keys))
            if isinstance(outcome, Refused):
                if isinstance(self.screen, UnlockView):
                    self.screen.set_busy(False)
                    self.screen.show_message(outcome.message)
                return
            self._open(outcome.vault, for_node)
        finally:
            for_node[:] = bytes(len(for_node))

    def _open(self, vault: Vault, for_node: bytearray) -> None:
        from gui.main_window import MainWindow  # noqa: PLC0415 (warmed during the KDF)

        try:
            if for_node:
                self.node = NodeProcess.start(self.path, for_node, self.node_options,
                                              self.node_env)  # fmt: skip
            self._replace(None)
            self.window = MainWindow(self.root, vault, self.clock, self.wall, self._locked,
                                     settings.load(self.path), self.path, self.session)  # fmt: skip
        except (VaultError, OSError, tk.TclError) as exc:
            vault.lock()
            self.show_unlock(f"The vault could not be opened: {exc}")
            return
        self._watching = self.root.after(WATCH_MS, self._watch)

    def _watch(self) -> None:
        """What the node stored shows in the window; a revoked PC locks."""
        self._watching = None
        window = self.window
        if window is None or window.locked:
            return
        if self.node is not None and self.node.revoked:
            window.lock(REVOKED_TEXT)
            return
        try:
            window.vault.refresh()
        except VaultError as exc:
            window.lock(f"The vault could not be read: {exc}")
            return
        self._watching = self.root.after(WATCH_MS, self._watch)

    def _locked(self, why: str) -> None:
        self.window = None
        if self._watching is not None:
            self.root.after_cancel(self._watching)
            self._watching = None
        if self.node is not None and self.node.revoked:
            self.show_revoked()
        else:
            self.show_unlock(why)

    # -- the tray --------------------------------------------------------------------
    def hide_to_tray(self) -> bool:
        """The window's close button: True if the window went to the tray (the node
        keeps syncing); False if the app should quit (no tray here, or not wanted)."""
        if not settings.load(self.path).close_to_tray:
            return False
        if self.tray is None:
            self.tray = tray.start(self.tray_acts)
            if self.tray is None:
                return False
            self._draining = self.root.after(EVERY_MS, self._drain_tray)
        self._hidden = [w for w in self.root.winfo_children()
                        if isinstance(w, tk.Toplevel) and w.winfo_viewable()]  # fmt: skip
        for dialog in self._hidden:
            dialog.withdraw()  # no dialog (a revealed history, say) stays on screen
        self.root.withdraw()
        return True

    def _drain_tray(self) -> None:
        self._draining = None
        acts: list[tray.TrayAct] = []
        self.tray_acts.drain(acts.append)
        for act in acts:
            if act == "open":
                self.root.deiconify()
                self.root.lift()
                for dialog in self._hidden:
                    if dialog.winfo_exists():  # closed meanwhile by a lock, say
                        dialog.deiconify()
                self._hidden = []
            elif act == "lock" and self.window is not None:
                self.window.lock("Locked.")
            elif act == "quit":
                self.on_quit()
                return
        self._draining = self.root.after(EVERY_MS, self._drain_tray)

    def close(self) -> None:
        """Lock, stop the node and the tray, leave the window empty (the caller
        destroys it)."""
        try:
            if self.window is not None:
                self.window.lock("Closed.")
        finally:
            for timer in (self._draining, self._polling):
                if timer is not None:
                    self.root.after_cancel(timer)
            self._draining = self._polling = None
            if self._unlocking is not None:  # the KDF ends by itself, within seconds
                self._unlocking.wait(UNLOCK_WAIT)
                self._unlocking = None
            self._for_node[:] = bytes(len(self._for_node))
            if self.tray is not None:
                self.tray.close()
                self.tray = None
            if self.session is not None:
                self.session.close()
            self._close_wizard()
            if self.node is not None:
                self.node.stop()
                self.node = None
            self._replace(None)
