"""The first-launch wizard in a window (gui/wizard_screen.py, gui/join.py): creating an
office, and joining one with an invite code through a real admin node.

The office is made here at today's date (the join desk judges invites by the real clock)
with node.onboarding, its invites with Office.invite. alice's node runs as a child
process (`python -m node.cli node`, the test KDF from the environment), listening on
127.0.0.1 with --no-mdns and a known --join-port; the window's join page is pointed at it
through JoinOptions(peer=...). One test finds the desk by mDNS instead, bound to
127.0.0.1 only, and runs only where multicast loops back there (as tests/discovery do).

Threats and promises covered: the window enrols this PC (it opens with the chosen
password, as a member) and says so; a wrong code is one line, leaves no half-made
device and costs the invite one attempt, so the right code then joins; a join cancelled
between its two messages leaves nothing and costs no attempt; a folder already in use
is refused before any network; a silent admin PC, or no address with the search off,
is a clear line; cancelling the search ends it at once. Every child node is stopped by
its PID in `finally`; every test fails if a worker thread outlives it.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import threading
import time
import tkinter as tk
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gui.join import (
    CANCELLED,
    NO_MDNS,
    PREPARING,
    Failed,
    Joined,
    JoinEvent,
    JoinOptions,
    JoinRun,
    Stage,
)
from gui.wizard_screen import WizardScreen
from node import onboarding
from node.node_cli import Line
from node.tokens import Role
from node.transport import JoinLine
from node.vault import Vault
from tests import clirun
from tests.gui.conftest import screenshot
from tests.integration.nodes import HOST, NodeProcess, free_ports
from tests.node.vault_kit import PROFILE

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "erin's own password"
OFFICE = "Join Ltd"
UI_WAIT = 30.0  # seconds a window action may take (a join: two Argon2id of the test KDF)
NODE_MAX_SECONDS = 120.0  # the safety net: a node stops by itself after this long


@dataclass
class Desk:
    """alice's office, her node running, and open member invites."""

    root: Path
    codes: dict[str, str]
    join_port: int
    node: NodeProcess

    @property
    def peer(self) -> tuple[str, int]:
        return (HOST, self.join_port)


def make_office(root: Path, users: tuple[str, ...]) -> dict[str, str]:
    """alice's office at today's date; open member invites for `users`, by name."""
    now = int(time.time())
    created = onboarding.create_office(root / "alice", OFFICE, "alice",
                                       bytearray(PASSWORD.encode()), now, PROFILE)  # fmt: skip
    with created.office as office:
        return {u: str(office.invite(u, Role.MEMBER, 3600, now)) for u in users}


@contextlib.contextmanager
def running_desk(root: Path, users: tuple[str, ...], mdns: bool = False) -> Iterator[Desk]:
    """alice's node on 127.0.0.1 (mDNS off, or on 127.0.0.1 only); always stopped after."""
    codes = make_office(root, users)
    pw = clirun.write(root / "alice.pw", PASSWORD + "\n")
    sync, join = free_ports(2)
    where = ["--mdns-interface", HOST] if mdns else ["--no-mdns"]
    argv = [sys.executable, "-m", "node.cli", "node", "--data-dir", str(root / "alice"),
            "--password-file", str(pw), "--listen", HOST, "--port", str(sync),
            "--join-port", str(join), *where, "--max-seconds", str(NODE_MAX_SECONDS)]  # fmt: skip
    node = NodeProcess("alice", argv, root, clirun.environment(), root / "alice-node.log")
    try:
        node.wait_log(f"join desk (invite codes) on {HOST}:{join}")
        node.wait_log("admin node: alice")  # a lone admin elects itself; until then: "not me"
        yield Desk(root, codes, join, node)
    finally:
        node.close()  # SIGTERM (then SIGKILL) through its Popen: its PID, nothing else


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with running_desk(tmp_path_factory.mktemp("gui-join"), ("erin", "frank", "gina")) as d:
        yield d


@pytest.fixture(autouse=True)
def no_worker_left() -> Iterator[None]:
    """Fail a test that leaves a wizard worker thread running."""
    yield
    left = [t.name for t in threading.enumerate() if t.name.startswith("officevault-")]
    assert left == [], f"worker threads left running: {left}"


def pump(root: tk.Misc, done: Callable[[], bool], what: str, timeout: float = UI_WAIT) -> None:
    """Run the Tk loop until `done()`; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        root.update()
        time.sleep(0.02)


def wrong(code: str) -> str:
    """The same nameplate with other words: reaches the desk, fails its key confirmation."""
    number, *words = code.split("-")
    others = ["acid", "acorn", "actor"] if words != ["acid", "acorn", "actor"] else ["adult"] * 3
    return "-".join([number, *others])


def device_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


def role_of(path: Path, password: str) -> Role | None:
    with Vault.open(path, bytearray(password.encode()), PROFILE) as vault:
        return vault.role


class Wizard:
    """A WizardScreen in the test window, and what it handed to on_done."""

    def __init__(self, root: tk.Tk, path: Path, options: JoinOptions) -> None:
        self.root = root
        self.done: list[str] = []
        self.screen = WizardScreen(root, path, PROFILE, time.time, self.done.append, options)
        self.view = self.screen.view
        self.view.pack(fill="both", expand=True)
        root.update()

    def fill(self, page: str, **values: str) -> None:
        entries = getattr(self.view, page).entries
        for name, value in values.items():
            entries[name].delete(0, "end")
            entries[name].insert(0, value)

    def join(self, code: str, name: str = "erin") -> None:
        self.fill("join", code=code, name=name, password=NEW_PASSWORD, again=NEW_PASSWORD)
        self.view.join.submit_button.invoke()
        assert self.screen.busy

    def settle(self, what: str) -> None:
        pump(self.root, lambda: not self.screen.busy, what)

    @property
    def status(self) -> str:
        return str(self.view.join.status.cget("text"))


@pytest.fixture
def wizard_at(root: tk.Tk) -> Iterator[Callable[[Path, JoinOptions], Wizard]]:
    made: list[Wizard] = []

    def make(path: Path, options: JoinOptions) -> Wizard:
        made.append(Wizard(root, path, options))
        return made[-1]

    try:
        yield make
    finally:
        for wizard in made:
            wizard.screen.close()


# -- joining in the window, through a real admin node --------------------------------------
def test_a_new_pc_joins_with_an_invite_code(
    desk: Desk, wizard_at: Callable[[Path, JoinOptions], Wizard], root: tk.Tk, tmp_path: Path
) -> None:
    wizard = wizard_at(tmp_path / "erin", JoinOptions(peer=desk.peer))
    assert wizard.view.page == "choice"
    screenshot(root, "wizard-choice")
    wizard.view.choose_join.invoke()
    assert wizard.view.page == "join"
    wizard.fill("join", code=desk.codes["erin"], name="erin", password=NEW_PASSWORD,
                again=NEW_PASSWORD)  # fmt: skip
    screenshot(root, "wizard-join")
    wizard.view.join.submit_button.invoke()
    assert wizard.screen.busy
    assert str(wizard.view.join.submit_button.cget("state")) == "disabled"
    assert all(e.get() == "" for n, e in wizard.view.join.entries.items() if n != "peer"
               and e.cget("show"))  # fmt: skip
    pump(root, lambda: bool(wizard.done), "the join")
    assert len(wizard.done) == 1
    assert wizard.done[0].startswith(f"Joined {OFFICE} as member. Office fingerprint: ")
    assert wizard.status == f"Joined {OFFICE} as member"
    assert role_of(tmp_path / "erin", NEW_PASSWORD) is Role.MEMBER
    assert "enrolled a new PC with an invite code" in desk.node.log()


def test_a_wrong_code_is_one_line_leaves_nothing_and_the_right_code_then_joins(
    desk: Desk, wizard_at: Callable[[Path, JoinOptions], Wizard], root: tk.Tk, tmp_path: Path
) -> None:
    """A wrong code fails the key confirmation at the desk (one of the invite's three
    attempts), leaves no device in the folder, and blocks no retry."""
    path = tmp_path / "frank"
    wizard = wizard_at(path, JoinOptions(peer=desk.peer))
    wizard.view.choose_join.invoke()
    wizard.join(wrong(desk.codes["frank"]), "frank")
    wizard.settle("the wrong code to be refused")
    assert wizard.status == "the admin node refused: that invite code is not right"
    assert "danger" in str(wizard.view.join.status.cget("style"))
    assert device_files(path) == []  # no keystore, no database, no temporary file
    assert wizard.done == []
    assert "a join with a wrong invite code (attempt 1 of 3)" in desk.node.log()
    wizard.join(desk.codes["frank"], "frank")
    pump(root, lambda: bool(wizard.done), "the retry with the right code")
    assert role_of(path, NEW_PASSWORD) is Role.MEMBER


def test_a_join_cancelled_between_its_messages_leaves_nothing_and_costs_no_attempt(
    desk: Desk, tmp_path: Path
) -> None:
    """Cancel after the desk answered the hello: the code is never sent to be checked."""
    path = tmp_path / "gina"
    events: list[JoinEvent] = []
    runs: list[JoinRun] = []

    class CancelAfterHello:
        def __init__(self, host: str, port: int) -> None:
            self.line = JoinLine(host, port, 10.0)

        def __call__(self, frame: bytes) -> bytes:
            reply = self.line(frame)
            runs[0].cancel()
            return reply

        def close(self) -> None:
            self.line.close()

    def open_line(host: str, port: int) -> Line:
        return CancelAfterHello(host, port)

    wrong_before = desk.node.log().count("wrong invite code")
    run = JoinRun(path, "gina", bytearray(NEW_PASSWORD.encode()), PROFILE, desk.codes["gina"],
                  JoinOptions(peer=desk.peer), events.append, open_line)  # fmt: skip
    runs.append(run)
    run.start()
    assert run.wait(UI_WAIT)
    asked = Stage(f"Enrolling with the admin PC at {HOST}:{desk.join_port}…")
    assert events == [Stage(PREPARING), asked, Failed(CANCELLED)]
    assert device_files(path) == []
    assert desk.node.log().count("wrong invite code") == wrong_before
    again: list[JoinEvent] = []
    password = bytearray(NEW_PASSWORD.encode())
    retry = JoinRun(path, "gina", password, PROFILE, desk.codes["gina"],
                    JoinOptions(peer=desk.peer), again.append)  # fmt: skip
    retry.start()
    assert retry.wait(UI_WAIT)
    assert isinstance(again[-1], Joined) and again[-1].role == "member", again
    assert password == bytearray(len(password))  # the run wiped the password it was given


# -- failures before or without an admin node ----------------------------------------------
def run_to_end(path: Path, options: JoinOptions, code: str = "42-acorn-actor-adult",
               open_line: Callable[[str, int], Line] | None = None) -> list[JoinEvent]:  # fmt: skip
    events: list[JoinEvent] = []
    password = bytearray(NEW_PASSWORD.encode())
    extra = {} if open_line is None else {"open_line": open_line}
    run = JoinRun(path, "erin", password, PROFILE, code, options, events.append, **extra)
    run.start()
    assert run.wait(UI_WAIT), "the join run did not end"
    assert password == bytearray(len(password))
    return events


def test_a_folder_that_holds_a_device_is_refused_before_any_network(
    office: dict[str, Path], tmp_path: Path
) -> None:
    used = Path(shutil.copytree(office["bob"], tmp_path / "bob"))
    before = device_files(used)
    events = run_to_end(used, JoinOptions(peer=(HOST, 9)))
    assert device_files(used) == before
    assert len(events) == 1 and isinstance(events[0], Failed)
    assert "already holds an OfficeVault device; refusing to overwrite it" in events[0].message


def test_with_the_search_off_and_no_address_the_join_says_where_to_give_one(
    tmp_path: Path,
) -> None:
    assert run_to_end(tmp_path / "new", JoinOptions(no_mdns=True)) == [Failed(NO_MDNS)]
    assert device_files(tmp_path / "new") == []


def test_a_silent_admin_pc_is_a_clear_line_and_leaves_nothing(tmp_path: Path) -> None:
    """Nobody listens at the address (the CLI's timeout, shortened here to keep it quick)."""
    (port,) = free_ports(1)
    events = run_to_end(tmp_path / "new", JoinOptions(peer=(HOST, port)),
                        open_line=lambda h, p: JoinLine(h, p, 0.3))  # fmt: skip
    assert events[-1] == Failed(
        f"no join desk answered at {HOST}:{port}; check that the admin PC's node runs"
    )
    assert device_files(tmp_path / "new") == []


def test_the_window_shows_a_problem_at_its_field_and_starts_nothing(
    wizard_at: Callable[[Path, JoinOptions], Wizard], tmp_path: Path
) -> None:
    wizard = wizard_at(tmp_path / "new", JoinOptions(no_mdns=True))
    wizard.view.choose_join.invoke()
    wizard.fill("join", code="hello", name="erin", password="short", again="short",
                peer="adminpc:4100")  # fmt: skip
    wizard.view.join.submit_button.invoke()
    assert not wizard.screen.busy
    problems = {n: str(p.cget("text")) for n, p in wizard.view.join.problems.items()}
    assert problems["code"].startswith("that is not an invite code")
    assert problems["password"] == "at least 8 characters" and problems["name"] == ""
    assert problems["peer"] == "address host 'adminpc' is not an IP address"
    assert wizard.view.advanced.instate(["selected"])  # opened to show its problem
    assert device_files(tmp_path / "new") == []


# -- mDNS on 127.0.0.1 only ------------------------------------------------------------------
def loopback_mdns() -> None:
    from tests.discovery.test_mdns import _loopback_multicast_works

    if not _loopback_multicast_works():
        pytest.skip("multicast does not loop back on 127.0.0.1 here (mDNS stays off the LAN)")


def test_the_window_finds_the_office_by_mdns_on_loopback(
    wizard_at: Callable[[Path, JoinOptions], Wizard], root: tk.Tk,
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path,
) -> None:  # fmt: skip
    loopback_mdns()
    with running_desk(tmp_path_factory.mktemp("gui-join-mdns"), ("hana",), mdns=True) as desk:
        options = JoinOptions(mdns_interfaces=(HOST,), find_seconds=15.0)
        wizard = wizard_at(tmp_path / "hana", options)
        wizard.view.choose_join.invoke()
        wizard.join(desk.codes["hana"], "hana")
        assert wizard.status.startswith("Looking for the office")
        pump(root, lambda: bool(wizard.done), "the join found by mDNS")
        assert role_of(tmp_path / "hana", NEW_PASSWORD) is Role.MEMBER


def test_cancelling_the_search_ends_it_at_once(
    wizard_at: Callable[[Path, JoinOptions], Wizard], root: tk.Tk, tmp_path: Path
) -> None:
    loopback_mdns()
    wizard = wizard_at(tmp_path / "new", JoinOptions(mdns_interfaces=(HOST,), find_seconds=60))
    wizard.view.choose_join.invoke()
    wizard.join("42-acorn-actor-adult")
    pump(root, lambda: wizard.status.startswith("Looking for the office"), "the search")
    root.update()
    assert wizard.view.join.cancel_button.winfo_ismapped()
    assert wizard.view.join.progress.winfo_ismapped()
    screenshot(root, "wizard-joining")
    started = time.monotonic()
    wizard.view.join.cancel_button.invoke()
    wizard.settle("the cancelled search to end")
    assert time.monotonic() - started < 5.0
    assert wizard.status == CANCELLED
    assert str(wizard.view.join.submit_button.cget("state")) == "normal"
    assert device_files(tmp_path / "new") == []


def test_closing_the_window_mid_search_stops_the_worker(
    wizard_at: Callable[[Path, JoinOptions], Wizard], root: tk.Tk, tmp_path: Path
) -> None:
    loopback_mdns()
    wizard = wizard_at(tmp_path / "new", JoinOptions(mdns_interfaces=(HOST,), find_seconds=60))
    wizard.view.choose_join.invoke()
    wizard.join("42-acorn-actor-adult")
    pump(root, lambda: wizard.status.startswith("Looking for the office"), "the search")
    started = time.monotonic()
    wizard.screen.close()
    assert time.monotonic() - started < 5.0
    assert not wizard.screen.busy and wizard.done == []


# -- creating an office ----------------------------------------------------------------------
def test_creating_an_office_shows_its_fingerprint_and_how_to_invite(
    wizard_at: Callable[[Path, JoinOptions], Wizard], root: tk.Tk, tmp_path: Path
) -> None:
    path = tmp_path / "new"
    wizard = wizard_at(path, JoinOptions())
    wizard.view.choose_create.invoke()
    assert wizard.view.page == "create"
    wizard.fill("create", office="Acme Ltd", name="alice", password=PASSWORD, again=PASSWORD)
    screenshot(root, "wizard-create")
    wizard.fill("create", office="  ")
    wizard.view.create.submit_button.invoke()
    assert wizard.view.create.problems["office"].cget("text")
    assert not wizard.screen.busy and device_files(path) == []
    wizard.fill("create", office="Acme Ltd", password=PASSWORD, again=PASSWORD)
    wizard.view.create.submit_button.invoke()
    assert wizard.view.create.problems["office"].cget("text") == ""
    assert str(wizard.view.create.status.cget("text")).startswith("Creating the office")
    pump(root, lambda: wizard.view.page == "created", "the office to be created")
    screenshot(root, "wizard-created")
    labels = {n: str(label.cget("text")) for n, label in wizard.view.created_labels.items()}
    with Vault.open(path, bytearray(PASSWORD.encode()), PROFILE) as vault:
        fingerprint, role = vault.office.fingerprint, vault.role
    assert role is Role.ADMIN
    assert labels["fingerprint"] == f"Office fingerprint: {fingerprint}"
    assert labels["code"].startswith("Recovery code: ") and len(labels["code"]) > 20
    assert "People → Invite" in labels["invite"] and "vault-admin invite NAME" in labels["invite"]
    assert Path(labels["kit"].removeprefix("Recovery kit file: ")).is_file()
    assert wizard.done == []  # the user reads the page first
    wizard.view.continue_button.invoke()
    assert wizard.done == [f"Office created. Its fingerprint: {fingerprint}. Unlock to start."]


def test_creating_in_a_folder_in_use_is_one_line_at_the_form(
    office: dict[str, Path], wizard_at: Callable[[Path, JoinOptions], Wizard], root: tk.Tk,
    tmp_path: Path,
) -> None:  # fmt: skip
    wizard = wizard_at(Path(shutil.copytree(office["bob"], tmp_path / "bob")), JoinOptions())
    wizard.view.choose_create.invoke()
    wizard.fill("create", office="Acme Ltd", name="alice", password=PASSWORD, again=PASSWORD)
    wizard.view.create.submit_button.invoke()
    pump(root, lambda: not wizard.screen.busy, "the create to fail")
    said = str(wizard.view.create.status.cget("text"))
    assert "already" in said and "\n" not in said and wizard.view.page == "create"
