"""The window's "Join with an invite code", run off the Tk thread.

`JoinRun` starts one worker thread that does what `officevault join` does up to the
enrolment: find the office's join desks (mDNS on the given interfaces, or every one; or
the one address given), then `enrollment.join` through node_cli's `DeskChooser` and
`JoinLine`s (the Argon2id and the network happen there). It reports `Stage`s and one
outcome (`Joined` or `Failed`) to `report`, an `Inbox`'s `put` (gui/events.py) the Tk
thread drains; it touches no Tk.

Bounded as the CLI is: the search lasts at most `find_seconds` (plus SETTLE once a desk
was heard), at most MAX_TRIES desks are asked, each answer is waited for ANSWER_SECONDS
at most. `cancel()` is looked at between search slices, before each desk is asked and
before each join message is sent: a join message already sent is waited for (at most
ANSWER_SECONDS), and once the last one is answered the join is finished, never
abandoned with this PC enrolled at the office but not here. A join that fails or is
cancelled leaves no half-made device (`enrollment.join` removes it), so it can be tried
again at once. The password bytearray is the run's and is wiped when it ends.

What it deliberately does not do: the first sync (the node the window starts after
unlocking syncs), and reading the options from a command line (`JoinOptions` is given).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from node import crypto, enrollment, invites, node_cli
from node.datadir import DataDir
from node.errors import UserError, VaultError
from node.identity import check_name
from node.keystore import KdfProfile
from node.node_cli import (
    ANSWER_SECONDS,
    FIND_SECONDS,
    MAX_FIND_SECONDS,
    DeskChooser,
    Line,
    _interfaces,
)
from node.transport import JoinLine

Address = tuple[str, int]
LOOKING = "Looking for the office on this network…"
NO_MDNS = (
    "Searching the network is turned off here: give the admin PC's address "
    "(HOST:PORT, its node's log shows it) under Advanced"
)
PREPARING = "Making this PC's keys…"
CANCELLED = "The join was cancelled; nothing was joined."


@dataclass(frozen=True)
class JoinOptions:
    """Where to look for the office: the window's counterpart of `officevault join`'s
    --peer, --mdns-interface and --no-mdns (an address typed on the join page wins)."""

    peer: Address | None = None
    mdns_interfaces: tuple[str, ...] = ()  # empty: every interface of this PC, as the CLI
    no_mdns: bool = False
    find_seconds: float = FIND_SECONDS


@dataclass(frozen=True)
class Stage:
    """Progress, one line for the status line."""

    text: str


@dataclass(frozen=True)
class Joined:
    office: str
    role: str
    fingerprint: str
    desk: str  # "host:port" of the admin node that enrolled this PC

    @property
    def text(self) -> str:
        return f"Joined {self.office} as {self.role}"


@dataclass(frozen=True)
class Failed:
    """One line a user can act on (never a secret, never a traceback)."""

    message: str


JoinEvent = Stage | Joined | Failed


class JoinCancelled(UserError):
    """The user cancelled the join (or closed the window) before it was done."""


def enrolling(desk: Address) -> str:
    host, port = desk
    return f"Enrolling with the admin PC at {host}:{port}…"


def first_stage(options: JoinOptions) -> str:
    """What the status line says as a join starts (before the worker's first report)."""
    return LOOKING if options.peer is None and not options.no_mdns else PREPARING


def find_desks(
    interfaces: list[str] | None, seconds: float, cancelled: threading.Event
) -> list[Address]:
    """node_cli.find_desks, cancellable: raises JoinCancelled once `cancelled` is set."""
    found = node_cli.find_desks(interfaces, min(seconds, MAX_FIND_SECONDS), cancelled,
                                advice="give the admin PC's address under Advanced")  # fmt: skip
    if cancelled.is_set():
        raise JoinCancelled(CANCELLED)
    return found


class _Watched:
    """The exchange handed to `enrollment.join`: a `DeskChooser` whose lines report which
    desk is asked, and which refuses to send once the run is cancelled."""

    def __init__(
        self,
        desks: list[Address],
        open_line: Callable[[str, int], Line],
        cancelled: threading.Event,
        report: Callable[[JoinEvent], None],
    ) -> None:
        self._cancelled, self._report, self._open = cancelled, report, open_line
        self.chooser = DeskChooser(desks, self._line)

    def _line(self, host: str, port: int) -> Line:
        self._check()
        self._report(Stage(enrolling((host, port))))
        return self._open(host, port)

    def _check(self) -> None:
        if self._cancelled.is_set():
            raise JoinCancelled(CANCELLED)

    def __call__(self, frame: bytes) -> bytes:
        self._check()
        return self.chooser(frame)

    def close(self) -> None:
        self.chooser.close()


def _desks(options: JoinOptions, cancelled: threading.Event) -> list[Address]:
    """The desk given, or those found on the network; never none."""
    if options.peer is not None:
        return [options.peer]
    if options.no_mdns:
        raise UserError(NO_MDNS)
    found = find_desks(_interfaces(options.mdns_interfaces), options.find_seconds, cancelled)
    if not found:
        raise UserError(
            f"no office found on this network in {options.find_seconds:g} s (no admin PC's "
            "node answered); check that it runs, or give its address under Advanced"
        )
    return found


def _open_line(host: str, port: int) -> Line:
    return JoinLine(host, port, ANSWER_SECONDS)


class JoinRun:
    """One join in a worker thread; `start()` once, `cancel()` any time, `wait()` to end."""

    def __init__(
        self,
        path: Path,
        name: str,
        password: bytearray,
        profile: KdfProfile,
        code: str,
        options: JoinOptions,
        report: Callable[[JoinEvent], None],
        open_line: Callable[[str, int], Line] = _open_line,
    ) -> None:
        self.path, self.name, self.profile, self.code = path, name, profile, code
        self.options, self.report, self._open = options, report, open_line
        self._password = password  # ours from here on: wiped when the run ends
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="officevault-join", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Join the worker thread (if started); True once it has ended."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            self.report(self._join())
        except VaultError as exc:
            self.report(Failed(str(exc)))
        except Exception as exc:  # a worker must report, never die silently; no detail: no secret
            self.report(Failed(f"the join failed unexpectedly ({type(exc).__name__})"))
        finally:
            crypto.wipe(self._password)

    def _join(self) -> Joined:
        invites.parse_code(self.code)  # a mistyped code fails before any network
        check_name(self.name)
        datadir = DataDir(self.path)
        if datadir.keystore.exists() or datadir.database.exists():
            datadir.prepare_new()  # says why this folder cannot take a new device
        if self.options.peer is None and not self.options.no_mdns:
            self.report(Stage(LOOKING))
        desks = _desks(self.options, self._cancelled)
        self.report(Stage(PREPARING))  # new_device's Argon2id runs before the first message
        exchange = _Watched(desks, self._open, self._cancelled, self.report)
        try:
            office, _sync_port = enrollment.join(
                self.path, self.name, self._password, self.profile, self.code, exchange
            )
        finally:
            exchange.close()
        with office:
            member = office.member
            host, port = exchange.chooser.chosen or desks[0]
            return Joined(office.office_name, member.role.value if member else "?",
                          office.fingerprint, f"{host}:{port}")  # fmt: skip
