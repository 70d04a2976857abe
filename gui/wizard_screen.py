"""The first-launch wizard's controller: the choice, creating an office, joining one.

`WizardScreen` owns a `WizardView` (gui/widgets/wizard.py) and runs the slow work off
the Tk thread: creating the office (`onboarding.create_office`, whose Argon2id takes
seconds with the real profile) in a worker thread of its own, joining through
`JoinRun` (gui/join.py). Workers report through one `Inbox`, drained here every
EVERY_MS with `after()` while one runs. Fields are checked first (gui/wizard.py);
passwords leave the fields as bytearrays owned by the worker, which wipes them.

When the user should go on to the unlock screen, `on_done(message)` is called on the
Tk thread: after "Continue" on the page that shows the new office's fingerprint and
recovery code, or once this PC joined. `close()` cancels a join, stops the polling and
waits for the worker (bounded by the join's timeouts); the caller destroys the view.
"""

from __future__ import annotations

import threading
import tkinter as tk
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from gui import wizard
from gui.events import EVERY_MS, Inbox
from gui.join import CANCELLED, Failed, Joined, JoinOptions, JoinRun, Stage, first_stage
from gui.widgets.wizard import FormPage, Values, WizardView
from node import crypto, onboarding
from node.errors import VaultError
from node.keystore import KdfProfile

CREATING = "Creating the office: protecting its keys takes a few seconds…"
WORKER_END = 5.0  # seconds to wait for a worker that already reported its outcome


@dataclass(frozen=True)
class Made:
    """The office was created (the recovery code is shown once, then dropped)."""

    office: str
    fingerprint: str
    kit: Path
    recovery_code: str


Event = Stage | Joined | Failed | Made


def create(
    path: Path, office: str, name: str, password: bytearray, now: int, profile: KdfProfile
) -> Made | Failed:
    """Create the office and its first admin device; the password is wiped whatever happens."""
    try:
        created = onboarding.create_office(path, office, name, password, now, profile)
        with created.office as made:
            return Made(made.office_name, made.fingerprint, created.kit_path,
                        created.recovery_code)  # fmt: skip
    except VaultError as exc:
        return Failed(str(exc))
    except Exception as exc:  # a worker must report, never die silently; no detail: no secret
        return Failed(f"the office could not be created ({type(exc).__name__})")
    finally:
        crypto.wipe(password)


class WizardScreen:
    def __init__(
        self,
        parent: tk.Misc,
        path: Path,
        profile: KdfProfile,
        wall: Callable[[], float],
        on_done: Callable[[str], None],
        join: JoinOptions,
    ) -> None:
        self.parent, self.path, self.profile, self.wall = parent, path, profile, wall
        self.on_done, self.options = on_done, join
        self.inbox: Inbox[Event] = Inbox.new()
        self.view = WizardView(parent, self._create, self._join, self._cancel, self._continue)
        self._form: FormPage | None = None  # the page whose work runs
        self._run: JoinRun | None = None
        self._creating: threading.Thread | None = None
        self._after: str | None = None
        self._made: Made | None = None
        self._closed = False

    @property
    def busy(self) -> bool:
        return self._form is not None

    # -- the view's callbacks ------------------------------------------------------------
    def _create(self, values: Values) -> None:
        page = self.view.create
        if self.busy or self._closed:
            return
        problems = wizard.check_create(values)
        page.show_problems(problems)
        if problems:
            page.show_status("")
            return
        password = bytearray(values["password"].encode())
        page.clear_secrets()
        office, name, now = values["office"].strip(), values["name"].strip(), int(self.wall())

        def work() -> None:
            self.inbox.put(create(self.path, office, name, password, now, self.profile))

        self._begin(page, CREATING, cancellable=False)
        self._creating = threading.Thread(target=work, name="officevault-create", daemon=True)
        self._creating.start()

    def _join(self, values: Values) -> None:
        page = self.view.join
        if self.busy or self._closed:
            return
        problems = wizard.check_join(values)
        page.show_problems(problems)
        if problems:
            if "peer" in problems:
                self.view.open_advanced()
            page.show_status("")
            return
        typed = wizard.peer_of(values)
        options = self.options if typed is None else replace(self.options, peer=typed)
        password = bytearray(values["password"].encode())
        page.clear_secrets()
        self._run = JoinRun(self.path, values["name"].strip(), password, self.profile,
                            values["code"], options, self.inbox.put)  # fmt: skip
        self._begin(page, first_stage(options), cancellable=True)
        self._run.start()

    def _cancel(self) -> None:
        if self._run is not None and self._run.running:
            self._run.cancel()
            self.view.join.show_status("Cancelling…")

    def _continue(self) -> None:
        made, self._made = self._made, None
        if made is not None:
            self.on_done(wizard.created_message(made.fingerprint))

    # -- the work's reports --------------------------------------------------------------
    def _begin(self, page: FormPage, text: str, cancellable: bool) -> None:
        self._form = page
        page.set_busy(True, cancellable)
        page.show_status(text)
        self._after = self.parent.after(EVERY_MS, self._poll)

    def _poll(self) -> None:
        self._after = None
        self.inbox.drain(self._handle)
        if self._form is not None and not self._closed:
            self._after = self.parent.after(EVERY_MS, self._poll)

    def _handle(self, event: Event) -> None:
        if self._closed:
            return
        page = self._form
        if isinstance(event, Stage):
            if page is not None:
                page.show_status(event.text)
            return
        self._end_worker()
        if page is not None:
            page.set_busy(False)
        if isinstance(event, Failed):
            if page is not None:
                page.show_status(event.message, error=event.message != CANCELLED)
        elif isinstance(event, Made):
            self._made = event
            shown = wizard.created_shown(event.office, event.fingerprint, event.kit,
                                         event.recovery_code)  # fmt: skip
            self.view.show_created(shown)
        else:
            self.view.join.show_status(event.text)
            self._closed = True  # the screen is done: the caller replaces it
            self.on_done(wizard.joined_message(event.office, event.role, event.fingerprint))

    def _end_worker(self) -> None:
        """The worker reported its outcome: wait for its thread's last step (the wipe)."""
        self._form = None
        if self._run is not None:
            self._run.wait(WORKER_END)
            self._run = None
        if self._creating is not None:
            self._creating.join(WORKER_END)
            self._creating = None

    def close(self) -> None:
        """Cancel a join, stop polling, wait for the worker to end (a create's Argon2id, or
        one join answer, at most ANSWER_SECONDS); leaves the view to the caller."""
        self._closed = True
        if self._after is not None:
            self.parent.after_cancel(self._after)
            self._after = None
        if self._run is not None:
            self._run.cancel()
            self._run.wait()
            self._run = None
        if self._creating is not None:
            self._creating.join()
            self._creating = None
        self._form = None
        self._made = None
