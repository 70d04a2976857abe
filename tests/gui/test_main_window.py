"""The unlocked window on a virtual screen (Xvfb), over a real vault: search as you type,
the detail pane, copy and the clipboard cleared after 30 s only if it still holds our
value, reveal hidden again, the idle lock hiding everything. Time is moved by the test
(the window's clock is passed in); nothing sleeps."""

from __future__ import annotations

import tkinter as tk

import pytest

from gui import screens
from gui.clipboard_os import HINT_TYPE
from gui.main_window import MainWindow
from gui.reveal import HIDDEN
from gui.widgets.dialogs import ConflictDialog, HistoryDialog
from gui.widgets.entry_form import EntryForm
from node.vault import Vault
from tests.gui.conftest import Clock, T, screenshot
from tests.node.vault_kit import deliver


def titles(w: MainWindow) -> list[str]:
    return [w.view.entries.item(i, "values")[0] for i in w.view.entries.get_children()]


def test_search_as_you_type_and_the_detail_pane(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, _, _ = window
    assert titles(w) == ["Bank", "Office Wi-Fi"]
    w.view.search_text.set("wi")
    root.update()
    assert titles(w) == ["Office Wi-Fi"]
    w.view.search_text.set("")
    bank = next(s.id for s in w.vault.entries() if s.title == "Bank")
    w.view.entries.selection_set(bank)
    root.update()
    shown = {k: str(v.cget("text")) for k, v in w.view.values.items()}
    assert shown["username"] == "acme" and shown["notes"] == "PIN at the safe"
    assert shown["password"] == HIDDEN
    screenshot(root, "main")


def test_copy_and_the_clipboard_cleared_after_30_s(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, clock, _ = window
    w.on_select(next(s.id for s in w.vault.entries() if s.title == "Bank"))
    w.view.copy_password.invoke()
    assert root.clipboard_get() == "bank-pass"
    # marked for clipboard managers not to keep (X11; on Windows: history and cloud formats)
    assert root.clipboard_get(type=HINT_TYPE) == "secret"
    clock.now += 29
    w.tick()
    assert root.clipboard_get() == "bank-pass"
    clock.now += 1
    w.tick()
    with pytest.raises(tk.TclError):
        root.clipboard_get()


def test_what_the_user_copied_since_is_not_cleared(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, clock, _ = window
    w.on_select(next(s.id for s in w.vault.entries() if s.title == "Bank"))
    w.on_copy("username")
    root.clipboard_clear()
    root.clipboard_append("something the user copied")
    clock.now += 31
    w.tick()
    assert root.clipboard_get() == "something the user copied"


def test_reveal_is_hidden_again_and_idle_locks_everything(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, clock, why = window
    w.on_select(next(s.id for s in w.vault.entries() if s.title == "Bank"))
    w.view.reveal.invoke()
    assert w.view.values["password"].cget("text") == "bank-pass"
    clock.now += 21
    w.tick()
    assert w.view.values["password"].cget("text") == HIDDEN
    w.on_copy("password")
    clock.now += 600
    w.tick()
    assert w.locked and w.vault.locked and why == ["Locked after 10 minutes without use."]
    assert not w.view.winfo_exists()
    with pytest.raises(tk.TclError):
        root.clipboard_get()  # ours was still there: cleared by the lock


def bank(w: MainWindow) -> str:
    return next(s.id for s in w.vault.entries() if s.title == "Bank")


def test_a_selection_filtered_out_or_trashed_leaves_nothing_shown(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, _, _ = window
    w.on_select(bank(w))
    w.on_reveal()
    w.view.search_text.set("wi")  # Bank is filtered out
    root.update()
    assert w.selected is None and w.view.values["password"].cget("text") == ""
    assert str(w.view.copy_password.cget("state")) == "disabled"
    w.view.search_text.set("")
    w.on_select(bank(w))
    w.vault.trash(bank(w), T + 5)
    w.refresh()
    assert w.selected is None and w.view.values["title"].cget("text") == ""


def test_an_entry_purged_while_shown_goes_at_once_and_copy_never_crashes(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, _, _ = window
    entry = bank(w)
    w.on_select(entry)
    w.vault.trash(entry, T + 5)
    w.vault.purge(entry, T + 6)  # the window hears of it and lists again at once
    assert w.selected is None and "Bank" not in titles(w)
    w.on_copy("password")  # nothing selected: nothing happens
    w.selected = entry  # as if the change had not been heard yet
    w.on_copy("password")
    assert "no entry" in w.view.status.cget("text") and w.selected is None


def test_input_postpones_the_lock_and_a_passing_mouse_does_not(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, clock, _ = window
    clock.now += 500
    w.view.search.focus_force()
    w.view.search.event_generate("<KeyPress>", keysym="a")
    root.update()
    clock.now += 500
    w.tick()
    assert not w.locked  # the key press at 500 s counts
    clock.now += 50
    w.view.entries.event_generate("<Motion>", x=20, y=20)  # a mouse passing over, later
    root.update()
    clock.now += 50
    w.tick()
    assert w.locked  # 600 s after the key press: the motion did not count


def test_the_lock_button_keeps_what_the_user_copied(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, _, why = window
    w.on_select(bank(w))
    w.on_copy("password")
    root.clipboard_clear()
    root.clipboard_append("the user's own text")
    w.view.lock_button.invoke()
    assert w.locked and why == ["Locked."] and w.vault.locked
    assert root.clipboard_get() == "the user's own text"


def test_a_change_from_a_peer_shows_at_once(
    window: tuple[MainWindow, Clock, list[str]], vaults: dict[str, Vault]
) -> None:
    w, _, _ = window
    dave = vaults["dave"]
    dave.add({"title": "Alarm code", "password": "1234"}, T + 10)
    deliver(dave, w.vault)  # as the node does: the vault tells its listeners
    assert titles(w) == ["Alarm code", "Bank", "Office Wi-Fi"]
    assert w.view.shown.cget("text") == "3 of 3 entries"
    assert w.view.status.cget("text") == "Alarm code updated by dave"  # the notice


def test_the_add_form_validates_generates_measures_and_saves(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, _, _ = window
    w.view.add_button.invoke()
    form = w.form
    assert form is not None
    form.save.invoke()  # nothing typed
    assert form.problems["title"].cget("text") == "an entry needs a title"
    assert form.problems["password"].cget("text") == "type one, or press Generate"
    form.vars["title"].set("Alarm code")
    form.vars["password"].set("1234")
    root.update()
    assert form.strength.cget("text") == "very weak"
    form.generate.invoke()
    generated = form.vars["password"].get()
    assert len(generated) == 20 and form.strength.cget("text") == "very strong"
    screenshot(form, "add-form")
    form.save.invoke()
    assert not form.winfo_exists() and w.form is None
    assert "Alarm code" in titles(w)
    assert w.vault.get(w.selected or "", reveal=True).password == generated


def test_the_lock_closes_an_open_form(window: tuple[MainWindow, Clock, list[str]]) -> None:
    w, _, _ = window
    w.on_add()
    form = w.form
    assert form is not None
    form.vars["password"].set("typed but not saved")
    w.lock("Locked.")
    assert not form.winfo_exists()


def shown_admin_buttons(w: MainWindow) -> set[str]:
    return {name for name, b in w.view.admin_buttons.items() if b.winfo_manager()}


def test_a_member_sees_no_edit_or_delete(root: tk.Tk, vaults: dict[str, Vault]) -> None:
    bob = vaults["bob"]
    bob.add({"title": "Bob's note", "password": "p"}, T)
    w = MainWindow(root, bob, clock=Clock(), wall=lambda: float(T))
    try:
        w.on_select(bob.entries()[0].id)
        assert shown_admin_buttons(w) == set()
        assert not w.view.trash_toggle.winfo_manager()
        assert str(w.view.copy_password.cget("state")) == "normal"
        screenshot(root, "member")
    finally:
        w.lock("the test ended")


def test_an_admin_edits_trashes_restores_and_reads_the_history(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk
) -> None:
    w, _, _ = window
    entry = bank(w)
    w.on_select(entry)
    assert shown_admin_buttons(w) == {"edit", "trash", "history"}
    w.view.admin_buttons["edit"].invoke()
    form = w.dialogs[-1]
    assert isinstance(form, EntryForm) and form.vars["password"].get() == "bank-pass"
    form.vars["password"].set("bank-pass-2")
    form.save.invoke()
    assert w.vault.get(entry, reveal=True).password == "bank-pass-2"
    w.view.admin_buttons["history"].invoke()
    history = w.dialogs[-1]
    assert isinstance(history, HistoryDialog)
    texts = [str(c.cget("text")) for c in history.body.winfo_children()]
    assert "bank-pass" not in " ".join(texts)  # old values only once revealed
    history.reveal.invoke()
    texts = [str(c.cget("text")) for c in history.body.winfo_children()]
    assert "  Password: bank-pass-2" in texts and "  Password: bank-pass" in texts
    w.view.admin_buttons["trash"].invoke()
    assert "Bank" not in titles(w)
    w.view.trash_toggle.invoke()  # the checkbutton turns the trash view on
    assert titles(w) == ["Bank"]
    w.on_select(entry)
    assert "restore" in shown_admin_buttons(w)
    w.view.admin_buttons["restore"].invoke()
    w.view.trash_toggle.invoke()
    assert "Bank" in titles(w)


def test_an_admin_resolves_a_conflict_side_by_side(
    window: tuple[MainWindow, Clock, list[str]], root: tk.Tk, vaults: dict[str, Vault]
) -> None:
    w, _, _ = window
    alice, dave = w.vault, vaults["dave"]
    entry = bank(w)
    deliver(alice, dave)
    alice.edit(entry, {"username": "alice-says"}, T + 10)
    dave.edit(entry, {"username": "dave-says"}, T + 20)
    deliver(dave, alice)
    assert titles(w)[0].startswith("⚠ ")
    w.on_select(entry)
    assert "resolve" in shown_admin_buttons(w) and "edit" not in shown_admin_buttons(w)
    assert w.view.banner.cget("text") == screens.CONFLICT_ADMIN  # the conflict banner
    w.view.admin_buttons["resolve"].invoke()
    dialog = w.dialogs[-1]
    assert isinstance(dialog, ConflictDialog) and len(dialog.keep) == 2
    screenshot(dialog, "conflict")
    labels = [str(c.cget("text")) for c in dialog.winfo_children()[0].winfo_children()]
    assert "alice-says" in labels and "dave-says" in labels
    sides = screens.compare(w.vault.get(entry, reveal=True).heads).sides
    dialog.keep[next(i for i, side in enumerate(sides) if "dave-says" in side.values)].invoke()
    assert not dialog.winfo_exists()
    assert not w.vault.get(entry).summary.conflict
    assert w.vault.get(entry).summary.username == "dave-says"
    assert not titles(w)[0].startswith("⚠ ")
    assert w.view.banner.cget("text") == ""
