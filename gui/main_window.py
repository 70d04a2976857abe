"""The unlocked window: wires the vault to the main screen through the presenters.

Everything it decides comes from a presenter (gui/entry_list.py, clipboard.py,
idle.py, reveal.py); this class only reads the vault, calls the view, and runs
a tick with `after()` (the clock is passed in, so tests move time themselves).
Tk is touched only here and in the widgets, on the main thread.
"""

from __future__ import annotations

import contextlib
import time
import tkinter as tk
from collections.abc import Callable
from pathlib import Path

from gui import autostart, clipboard_os, forms, passwords, screens, settings, status
from gui.actions import actions
from gui.admin_panel import AdminPanel
from gui.clipboard import ClipboardGuard
from gui.entry_list import ListPresenter
from gui.idle import IdleLock
from gui.reveal import HIDDEN, Reveals
from gui.session_os import SessionProbe
from gui.settings import Settings
from gui.widgets.dialogs import ConflictDialog, HistoryDialog
from gui.widgets.entry_form import EntryForm
from gui.widgets.main import Callbacks, MainView
from gui.widgets.settings_dialog import SettingsDialog
from node import node_status
from node.errors import VaultError
from node.vault import Change, Vault

TICK_MS = 500
ACTIVITY = ("<KeyPress>", "<ButtonPress>")
TOAST_SECONDS = 5.0
RETRY_CLEAR = 1.0  # seconds before a busy clipboard is tried again
LOCK_CLEAR_TRIES = 10  # on lock: how many times
SESSION_EVERY = 2.0  # seconds between questions to the OS: is the session locked?


class MainWindow:
    def __init__(
        self,
        root: tk.Tk,
        vault: Vault,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        on_locked: Callable[[str], None] = lambda _why: None,
        chosen: Settings | None = None,
        folder: Path | None = None,
        session: SessionProbe | None = None,
    ) -> None:
        """`chosen`: the window settings (kept in `folder` when changed here; None: not
        kept); `session`: asks the OS whether the PC's session is locked (None: not)."""
        self.root, self.vault, self.clock, self.wall = root, vault, clock, wall
        self.form: EntryForm | None = None
        self.panel: AdminPanel | None = None
        self.on_locked = on_locked
        self.settings = chosen or Settings()
        self.folder, self.session = folder, session
        self.clipboard = ClipboardGuard(clear_after=float(self.settings.clipboard_seconds))
        self.idle = IdleLock(after=self.settings.idle_minutes * 60.0, last_input=clock())
        self._toast_until: float | None = None
        self._session_at = clock()
        self._presence: status.StatusView | None = None
        self._hiders: dict[str, Callable[[], None]] = {}  # a dialog's reveal -> hide it again
        self.reveals = Reveals()
        self.lister = ListPresenter(vault.entries, clock=wall)
        self.category: str | None = None
        self.search = ""
        self.selected: str | None = None
        self.locked = False
        self.view = MainView(root, Callbacks(
            self.on_search, self.on_category, self.on_select, self.on_copy, self.on_reveal,
            self.on_add, lambda: self.lock("Locked."), self.on_edit, self.on_trash,
            self.on_restore, self.on_history, self.on_resolve, self.on_show_trash,
            self.on_admin, self.on_settings,
        ))  # fmt: skip
        self.trash = False
        self.dialogs: list[tk.Toplevel] = []
        self.view.pack(fill="both", expand=True)
        self._unsubscribe = vault.subscribe(self._changed)
        # a mouse merely passing over does not keep it unlocked; what was bound before
        # is put back on lock, and our command is deleted (nothing keeps this window)
        self._bound = {event: (self.root.bind_all(event), self.root.bind_all(
            event, self._touched, add="+")) for event in ACTIVITY}  # fmt: skip
        self.refresh()
        self.show_presence()
        self._after = root.after(TICK_MS, self._tick)

    # -- drawing -----------------------------------------------------------------------
    def refresh(self) -> None:
        listed = self.lister.view(self.category, self.search, self.trash)
        if self.selected is not None and self.selected not in {r.id for r in listed.rows}:
            self.selected = None  # filtered out, trashed or purged: nothing of it stays shown
            self.reveals.hide_all()
        self.view.show_list(listed, self.selected)
        self._show_detail()

    def _changed(self, change: Change) -> None:
        """The vault changed (here, another program, or a peer): list it again; a change
        made here wakes this PC's node to push it, one from elsewhere gets a notice."""
        if self.locked:
            return
        self.lister.invalidate()
        self.refresh()
        if change.local:
            self.vault.office.wake_node()
            return
        rows = {r.id: r for r in self.lister.every()}
        text = status.notice(change, lambda e: rows[e].title if e in rows else None,
                             lambda e: rows[e].changed_by if e in rows else None)  # fmt: skip
        if text:
            self.view.show_status(text)
            self.view.show_toast(text)
            self._toast_until = self.clock() + TOAST_SECONDS

    def show_presence(self) -> None:
        """The status bar: who is online, the admin node, or offline (the node's status)."""
        found = node_status.read(self.vault.office.store, self.wall())
        member = self.vault.office.member
        me = member.user if member else ""
        names = {self.vault.office.identity.device_id.hex(): me}
        peers = found.get("peers") if found else None
        for p in peers if isinstance(peers, list) else []:
            if isinstance(p, dict):
                names.setdefault(str(p.get("device", "")), str(p.get("user", "")))
        shown = status.view(found, me, names)
        if shown != self._presence:
            self._presence = shown
            self.view.show_presence(shown.text, shown.offline)

    def _show_detail(self) -> None:
        """The selected entry and the actions offered on it (one read of the vault)."""
        detail = None
        if self.selected is not None:
            reveal = self.reveals.shown(self._secret(), self.clock())
            try:
                detail = self.vault.get(self.selected, reveal=reveal)
            except VaultError:
                self.selected = None
        offered = actions(self.vault.role, detail.summary if detail else None)
        self.view.show_actions(offered)
        if detail is None:
            self.view.show_detail({}, can_copy=False)
            return
        s = detail.summary
        password = detail.password if detail.password is not None else HIDDEN
        values = {"title": s.title, "username": s.username, "url": s.url,
                  "category": s.category, "notes": detail.notes, "password": password}  # fmt: skip
        self.view.show_detail(values, can_copy=offered.copy, banner=screens.banner(s, offered))

    def _secret(self) -> str:
        return f"{self.selected}/password"

    # -- input -------------------------------------------------------------------------
    def on_search(self, text: str) -> None:
        self.search = text
        self.refresh()

    def on_category(self, name: str | None) -> None:
        self.category = name
        self.refresh()

    def on_select(self, entry: str) -> None:
        if entry != self.selected:
            self.reveals.hide_all()
        self.selected = entry
        self._show_detail()

    def on_copy(self, field: str) -> None:
        if self.selected is None:
            return
        try:
            detail = self.vault.get(self.selected, reveal=field == "password")
        except VaultError as exc:
            self.view.show_status(str(exc))
            self.refresh()
            return
        value = detail.password if field == "password" else detail.summary.username
        if not value:
            return
        try:
            clipboard_os.put(self.root, value)
        except VaultError as exc:
            self.view.show_status(f"Not copied: {exc}")
            return
        self.clipboard.copied(value, self.clock())
        what = "Password" if field == "password" else "Username"
        after = self.clipboard.clear_after
        self.view.show_status(f"{what} copied; the clipboard is cleared in {after:.0f} s")

    def on_reveal(self) -> None:
        if self.selected is not None:
            self.reveals.show(self._secret(), self.clock())
            self._show_detail()

    def on_add(self) -> None:
        """The add form: validated as typed on save, saved durably, then listed."""
        if self.form is not None and self.form.winfo_exists():
            self.form.lift()
            return
        self.form = form = EntryForm(
            self.root, "Add an entry", forms.categories(r.category for r in self.lister.every()),
            {}, self._save_new, lambda: form.set_password(passwords.generate()),
            lambda typed: form.show_strength(passwords.strength(typed)),
        )  # fmt: skip

    def _save_new(self, values: dict[str, str]) -> None:
        form = self.form
        assert form is not None
        problems = forms.validate(values)
        form.show_problems(problems)
        if problems:
            return
        try:
            entry = self.vault.add(values, int(self.wall()))
        except VaultError as exc:
            form.show_problems({"title": str(exc)})
            return
        form.destroy()
        self.form = None
        self.selected = entry
        self.refresh()
        self.view.show_status(f"Saved {values['title'].strip()!r}.")

    # -- admin acts (the window offers them only to admins; every peer checks anyway) ------
    def on_show_trash(self, shown: bool) -> None:
        self.trash, self.selected = shown, None
        self.refresh()

    def _act(self, act: Callable[[str, int], None], done: str) -> None:
        if self.selected is None:
            return
        try:
            act(self.selected, int(self.wall()))
        except VaultError as exc:
            self.view.show_status(str(exc))
            return
        self.view.show_status(done)

    def on_trash(self) -> None:
        self._act(self.vault.trash, "Moved to the trash (an admin can restore it).")

    def on_restore(self) -> None:
        self._act(self.vault.restore, "Restored.")

    def on_edit(self) -> None:
        if self.selected is None:
            return
        entry = self.selected
        try:
            detail = self.vault.get(entry, reveal=True)
        except VaultError as exc:
            self.view.show_status(str(exc))
            return
        s = detail.summary
        before = {"title": s.title, "username": s.username, "password": detail.password or "",
                  "url": s.url, "category": s.category, "notes": detail.notes}  # fmt: skip

        def save(values: dict[str, str]) -> None:
            problems = forms.validate(values, adding=False)
            form.show_problems(problems)
            if problems:
                return
            changed = forms.changes(before, values)
            try:
                if changed:
                    self.vault.edit(entry, changed, int(self.wall()))
            except VaultError as exc:
                form.show_problems({"title": str(exc)})
                return
            form.destroy()
            self.view.show_status("Saved." if changed else "Nothing changed.")

        form = EntryForm(self.root, f"Edit {s.title}",
                         forms.categories(r.category for r in self.lister.every()), before, save,
                         lambda: form.set_password(passwords.generate()),
                         lambda typed: form.show_strength(passwords.strength(typed)))  # fmt: skip
        self.dialogs.append(form)

    def on_history(self) -> None:
        """Who changed what, when; old passwords behind a reveal that hides again."""
        if self.selected is None:
            return
        entry, key = self.selected, f"history/{self.selected}"

        def draw(revealed: bool) -> None:
            try:
                versions = self.vault.history(entry, reveal=revealed)
            except VaultError as exc:  # purged by a peer meanwhile, say
                self.view.show_status(str(exc))
                dialog.destroy()
                return
            dialog.show(screens.timeline(versions, revealed=revealed))

        def reveal() -> None:
            self.reveals.show(key, self.clock())
            draw(True)

        try:
            title = self.vault.get(entry).summary.title
        except VaultError as exc:
            self.view.show_status(str(exc))
            return
        dialog = HistoryDialog(self.root, title, reveal)
        draw(False)
        self._hiders[key] = lambda: draw(False)
        self.dialogs.append(dialog)

    def on_resolve(self) -> None:
        """Both versions side by side (passwords behind a reveal); the admin keeps one."""
        if self.selected is None:
            return
        entry, key = self.selected, f"conflict/{self.selected}"
        try:
            heads = self.vault.get(entry, reveal=True).heads
        except VaultError as exc:
            self.view.show_status(str(exc))
            return

        def keep(label: str) -> None:
            try:
                self.vault.resolve(entry, label, int(self.wall()))
            except VaultError as exc:
                self.view.show_status(str(exc))
            dialog.destroy()

        def reveal() -> None:
            self.reveals.show(key, self.clock())
            dialog.show(screens.compare(heads, revealed=True))

        dialog = ConflictDialog(self.root, screens.compare(heads), keep, reveal)
        self._hiders[key] = lambda: dialog.show(screens.compare(heads))
        self.dialogs.append(dialog)

    def on_admin(self) -> None:
        """The admin panel (people, audit, import/export): one at a time, closed with
        the lock."""
        if self.panel is not None and self.panel.window.winfo_exists():
            self.panel.window.lift()
            return
        self.panel = AdminPanel(self.root, self.vault, self.wall)
        self.dialogs.append(self.panel.window)

    def on_settings(self) -> None:
        def save(values: dict[str, str | bool]) -> None:
            chosen, problems = settings.check(values)
            dialog.show_problems(problems)
            if chosen is None:
                return
            try:
                if self.folder is not None:
                    settings.save(self.folder, chosen)
                if chosen.start_with_windows != self.settings.start_with_windows:
                    autostart.enable(chosen.start_with_windows)
            except (VaultError, OSError) as exc:
                dialog.show_problems({"clipboard_seconds": f"not saved: {exc}"})
                return
            self.settings = chosen
            self.clipboard.clear_after = float(chosen.clipboard_seconds)
            self.idle.after = chosen.idle_minutes * 60.0
            dialog.destroy()
            self.view.show_status("Settings saved.")

        dialog = SettingsDialog(self.root, self.settings, autostart.supported(), save)
        self.dialogs.append(dialog)

    def _touched(self, _event: object) -> None:
        self.idle.touched(self.clock())

    # -- time ----------------------------------------------------------------------------
    def tick(self) -> None:
        """What time alone changes: the clipboard, revealed secrets, the idle lock."""
        now = self.clock()
        due = self.clipboard.due
        looked = due is not None and now >= due
        current = clipboard_os.read(self.root) if looked else None
        if looked and self.clipboard.should_clear(now, current):
            try:
                clipboard_os.clear(self.root)
                self.view.show_status("Clipboard cleared.")
            except VaultError as exc:  # busy: ours stays known, and is tried again in 1 s
                assert current is not None
                self.clipboard.copied(current, now + RETRY_CLEAR - self.clipboard.clear_after)
                self.view.show_status(f"Could not clear the clipboard: {exc}")
        for gone in self.reveals.expired(now):
            hide = self._hiders.pop(gone, None)
            if hide is None:
                self._show_detail()
            else:
                with contextlib.suppress(tk.TclError):  # the dialog was closed meanwhile
                    hide()
        if self._toast_until is not None and now >= self._toast_until:
            self._toast_until = None
            self.view.show_toast(None)
        self.show_presence()
        if self.session is not None and now - self._session_at >= SESSION_EVERY:
            self._session_at = now
            if self.session.poll():
                self.lock("Locked with this PC's session.")
                return
        if self.idle.due(now):
            minutes = self.settings.idle_minutes
            self.lock(f"Locked after {minutes} minute{'s' if minutes != 1 else ''} without use.")

    def _tick(self) -> None:
        if self.locked:
            return
        try:
            self.tick()
        finally:  # a failing step (a busy clipboard) must not stop the idle lock
            if not self.locked:
                self._after = self.root.after(TICK_MS, self._tick)

    def lock(self, why: str) -> None:
        """Hide every secret, close every dialog, clear the clipboard if it holds ours,
        wipe the vault's keys. Every step is tried even if one fails; the first failure
        is raised once the vault is locked."""
        if self.locked:
            return
        self.locked = True
        failed: Exception | None = None
        steps = (self._stop_ticking, self._clear_ours, self._close_dialogs, self._drop_view)
        try:
            for step in steps:
                try:
                    step()
                except Exception as exc:  # the lock must finish; raised below
                    failed = failed or exc
        finally:
            try:
                self.vault.lock()
            finally:
                self.on_locked(why)
        if failed is not None:
            raise failed

    def _stop_ticking(self) -> None:
        self.root.after_cancel(self._after)

    def _clear_ours(self, tries: int = LOCK_CLEAR_TRIES) -> None:
        """Clear the clipboard if it holds our value; if another program holds it just
        now, try again a few times (the rest of the lock does not wait)."""
        if not self.clipboard.is_ours(clipboard_os.read(self.root)):
            self.clipboard.forget()
            return
        try:
            clipboard_os.clear(self.root)
            self.clipboard.forget()
        except VaultError:
            if tries > 1:
                self.root.after(int(RETRY_CLEAR * 1000), self._clear_ours, tries - 1)
            else:
                self.clipboard.forget()

    def _close_dialogs(self) -> None:
        self.reveals.hide_all()
        self._hiders.clear()
        self.search, self.selected = "", None
        dialogs, panel = [self.form, *self.dialogs], self.panel
        self.form, self.dialogs, self.panel = None, [], None
        if panel is not None:
            panel.close()  # wipes the invite code it may show
        for dialog in dialogs:
            if dialog is not None and dialog.winfo_exists():
                dialog.destroy()  # every dialog closes with the lock

    def _drop_view(self) -> None:
        self._unsubscribe()
        for event, (before, ours) in self._bound.items():
            self.root.bind_all(event, before)  # what was bound before us, or nothing
            self.root.deletecommand(ours)
        self._bound = {}
        self.view.destroy()
