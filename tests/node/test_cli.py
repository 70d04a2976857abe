"""End-to-end tests of `officevault`, the employee's command line, run as a subprocess.

A new PC joins by file: `officevault request` makes its keys and a join
request, the admin runs `vault-admin enroll`, and `officevault accept
WELCOME --code CODE` takes the welcome file, which it checks against the
invite code (a welcome for another PC, made with another code, or forged by
someone without the code is refused before anything is pinned). These tests
drive that path and the errors a person can meet on it: exactly one line on
stderr, a non-zero exit code, no traceback, and the device's files left as
they were. One office is built per module; tests that change a data dir
work on a copy.

Joining over the LAN (`officevault join`) is run end to end in
tests/integration/test_netns_join.py; here are its usage errors (each before
anything is made or sent, and before mDNS starts: these rows never search the
LAN), and, in this process, the choice of the join desk with recorder fakes:
the hello goes from desk to desk, the code is checked at one desk only, and a
wrong code is never tried at a second one. `node --no-mdns` and the address a
node advertises are here too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from node import joining, keystore, messages, onboarding
from node.errors import InviteError, TransportError, UserError
from node.identity import TOKEN_LIFETIME
from node.invites import InviteCode
from node.messages import JoinHello, JoinKey, JoinRefused, JoinRequest, JoinWelcome
from node.node_cli import DeskChooser, advertised
from node.runner import NOT_LEADER
from node.tokens import Role
from node.wordlist import WORDS
from tests import clirun
from tests.clirun import Cli, Proc, environment, fails, ok, ok_json, snapshot, write

PASSWORD = "correct horse battery staple"
BOB_PASSWORD = "bob's own password"
CARL_PASSWORD = "carl's own password"


# -- the shared office -------------------------------------------------------------
@dataclass(frozen=True)
class Base:
    root: Path
    fingerprint: str
    request: Proc
    accept: Proc
    bob_code: str
    carl_code: str
    pw: Path
    bob_pw: Path
    carl_pw: Path

    def dir(self, name: str) -> Path:
        return self.root / name


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    """Acme Ltd at A (alice); bob's PC at B, joined by file; carl's PC at P, requested only.

    carl.welcome (with carl_code) was made on a copy of A ("A+carl"): A itself never
    enrolled carl, and P has not accepted it.
    """
    root = tmp_path_factory.mktemp("office")
    cli = Cli(root, environment(), "officevault")
    pw = write(root / "alice.pw", PASSWORD + "\n")
    bob_pw = write(root / "bob.pw", BOB_PASSWORD + "\n")
    carl_pw = write(root / "carl.pw", CARL_PASSWORD + "\n")
    ok(cli.admin("init", "--data-dir", "A", "--office", "Acme Ltd", "--admin", "alice",
                 "--password-file", pw))  # fmt: skip
    users = ok_json(cli.admin("users", "--data-dir", "A", "--password-file", pw, "--json"))
    code = ok_json(cli.admin("invite", "bob", "--data-dir", "A", "--password-file", pw, "--json"))
    request = ok(cli("request", "--data-dir", "B", "--name", "bob", "--password-file", bob_pw,
                     "--out", "bob.req"))  # fmt: skip
    ok(cli.admin("enroll", code["code"], "bob.req", "--data-dir", "A", "--password-file", pw,
                 "--out", "bob.welcome"))  # fmt: skip
    accept = ok(cli("accept", "bob.welcome", "--code", code["code"], "--data-dir", "B",
                    "--password-file", bob_pw))  # fmt: skip
    ok(cli("request", "--data-dir", "P", "--name", "carl", "--password-file", carl_pw,
           "--out", "carl.req"))  # fmt: skip
    shutil.copytree(root / "A", root / "A+carl")
    carl = ok_json(cli.admin("invite", "carl", "--data-dir", "A+carl", "--password-file", pw,
                             "--json"))  # fmt: skip
    ok(cli.admin("enroll", carl["code"], "carl.req", "--data-dir", "A+carl", "--password-file", pw,
                 "--out", "carl.welcome"))  # fmt: skip
    return Base(root, users["fingerprint"], request, accept, code["code"], carl["code"], pw,
                bob_pw, carl_pw)  # fmt: skip


@pytest.fixture
def cli(tmp_path: Path, cli_env: dict[str, str]) -> Cli:
    return Cli(tmp_path, cli_env, "officevault")


def copy(base: Base, name: str, tmp_path: Path) -> Path:
    """A private copy of one of the module's data dirs (or files)."""
    src = base.dir(name)
    if src.is_dir():
        return Path(shutil.copytree(src, tmp_path / name))
    return Path(shutil.copy(src, tmp_path / name))


# -- the join path ----------------------------------------------------------------------
def test_request_writes_keys_and_a_request_file(base: Base) -> None:
    assert "Wrote bob.req" in base.request.stdout
    assert base.dir("bob.req").stat().st_size > 0
    assert (base.dir("B") / "keystore.ovk").is_file()
    assert (base.dir("B") / "vault.db").is_file()


def test_request_without_out_writes_name_dot_request(base: Base, cli: Cli, tmp_path: Path) -> None:
    ok(cli("request", "--data-dir", "D", "--name", "dana", "--password-file", base.carl_pw))
    assert (tmp_path / "dana.request").stat().st_size > 0


def test_accept_says_joined_and_shows_the_office_fingerprint(base: Base) -> None:
    out = base.accept.stdout
    assert "Joined Acme Ltd as member." in out
    assert f"Office fingerprint: {base.fingerprint}" in out


def test_status_shows_the_joined_member(base: Base, cli: Cli, tmp_path: Path) -> None:
    bob = copy(base, "B", tmp_path)
    status = ok_json(cli("status", "--data-dir", bob, "--password-file", base.bob_pw, "--json"))
    assert status["office"] == "Acme Ltd"
    assert status["fingerprint"] == base.fingerprint
    assert (status["user"], status["role"], status["active"]) == ("bob", "member", True)
    assert re.fullmatch(r"[0-9a-f]{32}", status["device"]), status["device"]

    text = ok(cli("status", "--data-dir", bob, "--password-file", base.bob_pw)).stdout
    assert base.fingerprint in text
    assert "This PC: bob, member" in text

    # The admin's list names the same device for bob.
    alice = copy(base, "A", tmp_path)
    users = ok_json(cli.admin("users", "--data-dir", alice, "--password-file", base.pw, "--json"))
    bob_view = next(u for u in users["users"] if u["user"] == "bob")
    assert [d["device"] for d in bob_view["devices"]] == [status["device"]]


def test_the_password_can_come_on_standard_input(base: Base, cli: Cli, tmp_path: Path) -> None:
    """`--password-file -`: how the window hands its node the password, through a pipe."""
    bob = copy(base, "B", tmp_path)
    password = Path(base.bob_pw).read_bytes()

    def status(given: bytes) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["officevault", "status", "--data-dir", str(bob), "--password-file", "-", "--json"],
            input=given.decode(), cwd=cli.cwd, env=cli.env, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip

    assert json.loads(status(password).stdout)["user"] == "bob"
    wrong = status(b"not it\n")
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
    empty = status(b"")
    assert empty.returncode != 0 and "empty" in empty.stderr


def test_accept_json_names_the_office_role_and_device(base: Base, cli: Cli, tmp_path: Path) -> None:
    carl = copy(base, "P", tmp_path)
    common = ("--data-dir", carl, "--password-file", base.carl_pw)
    joined = ok_json(cli("accept", base.dir("carl.welcome"), "--code", base.carl_code, "--json",
                         *common))  # fmt: skip
    status = ok_json(cli("status", *common, "--json"))
    assert joined == {"office": "Acme Ltd", "fingerprint": base.fingerprint, "role": "member",
                      "device": status["device"]}  # fmt: skip
    assert (status["user"], status["role"]) == ("carl", "member")
    # Enrolled (on A+carl) at the real time: two years of capability from about now.
    expires = dt.datetime.strptime(status["expires"], "%Y-%m-%d %H:%M UTC").replace(tzinfo=dt.UTC)
    assert abs(expires.timestamp() - time.time() - TOKEN_LIFETIME) < 600


def test_admin_invite_joins_as_admin(base: Base, cli: Cli, tmp_path: Path) -> None:
    alice, carl, req = (copy(base, n, tmp_path) for n in ("A", "P", "carl.req"))
    code = ok_json(cli.admin("invite", "carl", "--role", "admin", "--json", "--data-dir", alice,
                             "--password-file", base.pw))["code"]  # fmt: skip
    ok(cli.admin("enroll", code, req, "--data-dir", alice, "--password-file", base.pw))
    out = ok(cli("accept", "carl.welcome", "--code", code, "--data-dir", carl,
                 "--password-file", base.carl_pw))  # fmt: skip
    assert "as admin" in out.stdout
    status = ok_json(cli("status", "--data-dir", carl, "--password-file", base.carl_pw, "--json"))
    assert (status["user"], status["role"], status["active"]) == ("carl", "admin", True)


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_status_before_accept_is_a_clear_error(
    base: Base, cli: Cli, tmp_path: Path, extra: list[str]
) -> None:
    carl = copy(base, "P", tmp_path)
    before = snapshot(carl)
    line = fails(cli("status", "--data-dir", carl, "--password-file", base.carl_pw, *extra),
                 "not joined an office yet")  # fmt: skip
    assert "officevault accept" in line
    assert snapshot(carl) == before


# -- failures that must leave nothing half-done -----------------------------------------
def test_accepting_someone_elses_welcome_changes_nothing(
    base: Base, cli: Cli, tmp_path: Path
) -> None:
    """Carl's PC is handed bob's welcome (and code, or his own): refused, nothing changed."""
    carl = copy(base, "P", tmp_path)
    before = snapshot(carl)
    for code in (base.bob_code, base.carl_code):
        fails(cli("accept", base.dir("bob.welcome"), "--code", code, "--data-dir", carl,
                  "--password-file", base.carl_pw), "another PC")  # fmt: skip
        assert snapshot(carl) == before


def test_request_that_cannot_write_its_file_can_be_retried(
    base: Base, cli: Cli, tmp_path: Path
) -> None:
    """A request whose file could not be written must not leave a device that blocks a retry."""
    common = ("--data-dir", "D", "--name", "dana", "--password-file", base.carl_pw)
    fails(cli("request", *common, "--out", tmp_path / "no-such-dir" / "dana.req"), "cannot write")
    ok(cli("request", *common, "--out", "dana.req"))
    assert (tmp_path / "dana.req").is_file()


# -- the invite code authenticates the welcome -------------------------------------------
def test_wrong_code_is_refused_then_the_right_code_joins(
    base: Base, cli: Cli, tmp_path: Path
) -> None:
    carl = copy(base, "P", tmp_path)
    before = snapshot(carl)
    common = ("--data-dir", carl, "--password-file", base.carl_pw)
    welcome = base.dir("carl.welcome")
    line = fails(cli("accept", welcome, "--code", wrong_code(base.carl_code), *common),
                 "does not match the invite code")  # fmt: skip
    assert "forged" in line
    assert snapshot(carl) == before
    typed = base.carl_code.upper().replace("-", " ")
    out = ok(cli("accept", welcome, "--code", typed, *common)).stdout
    assert "Joined Acme Ltd as member." in out
    assert f"Office fingerprint: {base.fingerprint}" in out
    status = ok_json(cli("status", *common, "--json"))
    assert (status["user"], status["fingerprint"]) == ("carl", base.fingerprint)


def test_forged_welcome_for_the_real_request_is_refused(
    base: Base, cli: Cli, tmp_path: Path
) -> None:
    """Mallory answers carl's real request with her own office's root and records.

    Her records really enrol carl's PC; she lacks carl's invite code, so her MAC
    is wrong. Nothing may be pinned: vault.db stays byte for byte as it was.
    """
    carl = copy(base, "P", tmp_path)
    request = base.dir("carl.req").read_bytes()
    with onboarding.create_office(tmp_path / "M", "Acme Ltd", "mallory",
                                  bytearray(b"mallory's password"), int(time.time()),
                                  keystore.INSECURE_TEST).office as mallory:  # fmt: skip
        enrol = mallory.admit(request, Role.ADMIN, int(time.time()), None)
        everything = (*mallory.store.records(), enrol)
        guessed = InviteCode(1, tuple(wrong_code(base.carl_code).split("-")[1:]))
        mac = joining.welcome_mac(guessed.secret, mallory.root_public, request)
        forged = joining.Welcome("Acme Ltd", mallory.root_public, everything, mac)
        write_bytes(tmp_path / "forged.welcome", joining.make_welcome(forged))
    database = (carl / "vault.db").read_bytes()
    before = snapshot(carl)
    fails(cli("accept", "forged.welcome", "--code", base.carl_code, "--data-dir", carl,
              "--password-file", base.carl_pw), "does not match the invite code")  # fmt: skip
    assert (carl / "vault.db").read_bytes() == database
    assert snapshot(carl) == before
    # The genuine welcome still joins carl to the real office.
    out = ok(cli("accept", base.dir("carl.welcome"), "--code", base.carl_code, "--data-dir", carl,
                 "--password-file", base.carl_pw)).stdout  # fmt: skip
    assert base.fingerprint in out


def test_no_terminal_hint_for_the_code_asks_for_the_code_itself(
    base: Base, cli: Cli, tmp_path: Path
) -> None:
    """--code takes the code, not a file: the hint must not say "--code FILE"."""
    carl = copy(base, "P", tmp_path)
    line = fails(cli("accept", base.dir("carl.welcome"), "--data-dir", carl,
                     "--password-file", base.carl_pw), "invite code")  # fmt: skip
    assert "--code" in line
    assert "--code FILE" not in line


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="POSIX pty")
def test_accept_asks_for_the_invite_code_at_a_terminal(
    base: Base, cli: Cli, tmp_path: Path
) -> None:
    """At a terminal the code is asked for ("Invite code:") and not echoed."""
    carl = copy(base, "P", tmp_path)
    argv = ["officevault", "accept", str(base.dir("carl.welcome")), "--data-dir", str(carl),
            "--password-file", str(base.carl_pw)]  # fmt: skip
    status, output = run_at_terminal(argv, cli.env, "Invite code:", base.carl_code)
    assert status == 0, output
    assert "Joined Acme Ltd as member." in output
    assert base.carl_code not in output


def run_at_terminal(
    argv: list[str], env: dict[str, str], prompt: str, answer: str
) -> tuple[int, str]:
    """Run `argv` on a new pseudo-terminal; type `answer` after `prompt` appears."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    output = b""
    answered = False
    deadline = time.monotonic() + clirun.TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not answered and prompt.encode() in output:
                os.write(fd, answer.encode() + b"\n")
                answered = True
    finally:
        os.close(fd)
        status = reap(pid, deadline)
    assert status is not None, f"killed after {clirun.TIMEOUT} s: {output!r}"
    assert answered, f"no {prompt!r} prompt: {output!r}"
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace")


def reap(pid: int, deadline: float) -> int | None:
    """The child's wait status; past `deadline` it is killed (it is ours) and None returned."""
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- errors: one line, non-zero, data untouched ----------------------------------------
B, BPW, BC = "{B}", "{bob_pw}", "{bob_code}"
P, CPW, CW = "{P}", "{carl_pw}", "{carl_welcome}"

ERROR_CASES: list[tuple[str, tuple[str, ...], str, int]] = [
    ("status-wrong-password", ("status", "--data-dir", B, "--password-file", "{wrong}"),
     "wrong password", 1),
    ("status-missing-data-dir", ("status", "--data-dir", "{nowhere}", "--password-file", BPW),
     "no OfficeVault data folder", 1),
    ("status-password-file-missing", ("status", "--data-dir", B, "--password-file", "{nowhere}"),
     "cannot read the password file", 1),
    ("status-password-file-empty", ("status", "--data-dir", B, "--password-file", "{empty}"),
     "empty", 1),
    ("status-no-terminal", ("status", "--data-dir", B), "no terminal", 1),
    ("status-tampered-keystore", ("status", "--data-dir", "{B_tampered}", "--password-file", BPW),
     "keystore", 1),
    ("status-empty-database", ("status", "--data-dir", "{B_empty_db}", "--password-file", BPW),
     "is empty", 1),
    ("status-interrupted-setup", ("status", "--data-dir", "{P_interrupted}",
                                  "--password-file", CPW), "no OfficeVault keystore", 1),
    ("request-short-password", ("request", "--data-dir", "{new}", "--name", "dana",
                                "--password-file", "{short}"), "at least 8 characters", 1),
    ("request-password-file-missing", ("request", "--data-dir", "{new}", "--name", "dana",
                                       "--password-file", "{nowhere}"), "password file", 1),
    ("request-password-file-empty", ("request", "--data-dir", "{new}", "--name", "dana",
                                     "--password-file", "{empty}"), "empty", 1),
    ("request-no-terminal", ("request", "--data-dir", "{new}", "--name", "dana"), "no terminal", 1),
    ("request-bad-name", ("request", "--data-dir", "{new}", "--name", " dana",
                          "--password-file", BPW), "invalid user name", 1),
    ("request-name-not-nfc", ("request", "--data-dir", "{new}", "--name", "Zoe\u0308",
                              "--password-file", BPW), "invalid user name", 1),
    ("request-into-used-data-dir", ("request", "--data-dir", B, "--name", "bob",
                                    "--password-file", BPW), "already holds", 1),
    ("request-into-interrupted-setup", ("request", "--data-dir", "{P_interrupted}", "--name",
                                        "carl", "--password-file", CPW), "delete vault.db", 1),
    ("accept-missing-welcome", ("accept", "{nowhere}", "--code", BC, "--data-dir", B,
                                "--password-file", BPW), "cannot read the welcome file", 1),
    ("accept-not-a-welcome", ("accept", BPW, "--code", BC, "--data-dir", B, "--password-file", BPW),
     "not an OfficeVault welcome", 1),
    ("accept-missing-data-dir", ("accept", "{welcome}", "--code", BC, "--data-dir", "{nowhere}",
                                 "--password-file", BPW), "no OfficeVault data folder", 1),
    ("accept-wrong-password", ("accept", "{welcome}", "--code", BC, "--data-dir", B,
                               "--password-file", "{wrong}"), "wrong password", 1),
    ("accept-no-terminal", ("accept", "{welcome}", "--data-dir", B), "no terminal", 1),
    ("accept-no-terminal-for-password", ("accept", CW, "--code", "{carl_code}", "--data-dir", P),
     "--password-file", 1),
    ("accept-no-code-no-terminal", ("accept", CW, "--data-dir", P, "--password-file", CPW),
     "--code", 1),
    ("accept-wrong-code", ("accept", CW, "--code", "{wrong_code}", "--data-dir", P,
                           "--password-file", CPW), "does not match the invite code", 1),
    ("accept-not-a-code", ("accept", CW, "--code", "hello", "--data-dir", P,
                           "--password-file", CPW), "not an invite code", 1),
    ("accept-code-word-unknown", ("accept", CW, "--code", "7-xyzzy-xyzzy-xyzzy", "--data-dir", P,
                                  "--password-file", CPW), "word list", 1),
    ("accept-welcome-for-another-pc", ("accept", "{welcome}", "--code", BC, "--data-dir", P,
                                       "--password-file", CPW), "another PC", 1),
    ("unknown-subcommand", ("frobnicate",), "invalid choice", 2),
    ("no-subcommand-opens-the-window-or-says-why", (), "cannot open a window", 1),
    ("accept-missing-welcome-arg", ("accept", "--data-dir", B, "--password-file", BPW),
     "required", 2),
    ("accept-code-without-value", ("accept", CW, "--data-dir", P, "--password-file", CPW,
                                   "--code"), "--code", 2),
    ("request-missing-name", ("request", "--data-dir", "{new}", "--password-file", BPW),
     "--name", 2),
    ("status-unknown-option", ("status", "--bogus", "--data-dir", B), "--bogus", 2),
    ("join-no-mdns-no-peer", ("join", BC, "--name", "dora", "--no-mdns", "--data-dir", "{new}",
                              "--password-file", BPW), "--peer HOST:PORT", 1),
    ("join-not-a-code", ("join", "hello", "--name", "dora", "--no-mdns", "--data-dir", "{new}",
                         "--password-file", BPW), "not an invite code", 1),
    ("join-bad-name", ("join", BC, "--name", " dora", "--no-mdns", "--data-dir", "{new}",
                       "--password-file", BPW), "invalid user name", 1),
    ("join-into-used-data-dir", ("join", BC, "--name", "dora", "--no-mdns", "--data-dir", B,
                                 "--password-file", BPW), "already holds", 1),
    ("join-mdns-interface-a-name", ("join", BC, "--name", "dora", "--mdns-interface", "eth0",
                                    "--data-dir", "{new}", "--password-file", BPW),
     "--mdns-interface takes an IP address", 1),
    ("join-mdns-interface-wildcard", ("join", BC, "--name", "dora", "--mdns-interface",
                                      "0.0.0.0", "--data-dir", "{new}", "--password-file", BPW),
     "--mdns-interface takes an IP address", 1),
    ("join-peer-and-mdns-interface", ("join", BC, "--name", "dora", "--peer", "127.0.0.1:9",
                                      "--mdns-interface", "127.0.0.1", "--data-dir", "{new}",
                                      "--password-file", BPW), "leave out --mdns-interface", 1),
    ("join-bad-peer", ("join", BC, "--name", "dora", "--peer", "here", "--data-dir", "{new}",
                       "--password-file", BPW), "not HOST:PORT", 1),
    ("join-no-mdns-and-interface", ("join", BC, "--name", "dora", "--no-mdns",
                                    "--mdns-interface", "127.0.0.1", "--data-dir", "{new}"),
     "not allowed with", 2),
    ("join-find-seconds-zero", ("join", BC, "--name", "dora", "--find-seconds", "0",
                                "--data-dir", "{new}"), "seconds", 2),
    ("node-no-mdns-and-interface", ("node", "--no-mdns", "--mdns-interface", "127.0.0.1",
                                    "--data-dir", B), "not allowed with", 2),
    ("node-mdns-interface-a-name", ("node", "--mdns-interface", "lo", "--data-dir", B,
                                    "--password-file", BPW), "--mdns-interface takes", 1),
]  # fmt: skip

DEVICES = ("B", "B_tampered", "B_empty_db", "P", "P_interrupted")


def wrong_code(code: str) -> str:
    """The same invite number with one other word."""
    number, first, *rest = code.split("-")
    other = WORDS[(WORDS.index(first) + 1) % len(WORDS)]
    return "-".join([number, other, *rest])


@pytest.fixture
def places(base: Base, tmp_path: Path) -> dict[str, str]:
    tampered = copy(base, "B", tmp_path / "t")
    keys = tampered / "keystore.ovk"
    data = bytearray(keys.read_bytes())
    data[len(data) // 2] ^= 0x01
    keys.write_bytes(data)
    empty_db = copy(base, "B", tmp_path / "e")
    (empty_db / "vault.db").write_bytes(b"")
    interrupted = copy(base, "P", tmp_path / "i")
    (interrupted / "keystore.ovk").unlink()  # as a crash just before the last step leaves it
    return {
        "B": str(copy(base, "B", tmp_path)),
        "B_tampered": str(tampered),
        "B_empty_db": str(empty_db),
        "P": str(copy(base, "P", tmp_path)),
        "P_interrupted": str(interrupted),
        "bob_pw": str(base.bob_pw),
        "carl_pw": str(base.carl_pw),
        "bob_code": base.bob_code,
        "carl_code": base.carl_code,
        "wrong_code": wrong_code(base.carl_code),
        "welcome": str(base.dir("bob.welcome")),
        "carl_welcome": str(base.dir("carl.welcome")),
        "wrong": str(write(tmp_path / "wrong.pw", "not the password\n")),
        "empty": str(write(tmp_path / "empty.pw", "")),
        "short": str(write(tmp_path / "short.pw", "1234567\n")),
        "nowhere": str(tmp_path / "nowhere"),
        "new": str(tmp_path / "new"),
    }


@pytest.mark.parametrize(
    ("args", "fragment", "code"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_error_is_one_line_and_changes_nothing(
    cli: Cli,
    tmp_path: Path,
    places: dict[str, str],
    args: tuple[str, ...],
    fragment: str,
    code: int,
) -> None:
    devices = [Path(places[name]) for name in DEVICES]
    before = [snapshot(d) for d in devices]
    fails(cli(*(a.format(**places) for a in args)), fragment, code)
    assert [snapshot(d) for d in devices] == before
    assert (Path(places["B_empty_db"]) / "vault.db").stat().st_size == 0
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("command", "has_json"),
    [("request", False), ("accept", True), ("status", True), ("node", False), ("join", False)],
)
def test_subcommand_help_lists_common_options(cli: Cli, command: str, has_json: bool) -> None:
    out = ok(cli(command, "--help")).stdout
    assert "--data-dir" in out
    assert "--password-file" in out
    assert ("--json" in out) is has_json


@pytest.mark.parametrize("command", ["node", "join"])
def test_node_and_join_help_explain_the_mdns_options(cli: Cli, command: str) -> None:
    out = " ".join(ok(cli(command, "--help")).stdout.split())
    assert "--mdns-interface IP" in out
    assert "default: every interface of this PC" in out
    assert "--no-mdns" in out
    assert "--find-seconds" not in out  # for tests only


def test_a_node_with_no_mdns_says_so_and_stops(base: Base, cli: Cli, tmp_path: Path) -> None:
    """--no-mdns: static peers only, and the log says so (nothing is multicast)."""
    bob = copy(base, "B", tmp_path)
    proc = cli("node", "--no-mdns", "--listen", "127.0.0.1", "--max-seconds", "0.3",
               "--data-dir", bob, "--password-file", base.bob_pw)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "mDNS off: static peers only" in proc.stderr
    assert "mdns" not in proc.stderr.replace("mDNS off", "")


# -- the address a node advertises -------------------------------------------------------
LAN = ["192.0.2.10", "198.51.100.7"]

ADVERTISED = [
    ("a LAN address", "192.0.2.10", None, ["192.0.2.10"]),
    ("a LAN address, mDNS pinned elsewhere", "192.0.2.10", ["198.51.100.7"], ["192.0.2.10"]),
    ("every address, mDNS everywhere", "0.0.0.0", None, LAN),
    ("every address, zmq's spelling", "*", None, LAN),
    ("every IPv6 address", "::", None, LAN),
    ("every address, mDNS pinned", "0.0.0.0", ["198.51.100.7"], ["198.51.100.7"]),
    ("loopback, mDNS everywhere", "127.0.0.1", None, []),
    ("loopback, mDNS on the LAN", "127.0.0.1", ["192.0.2.10"], []),
    ("loopback, mDNS on loopback", "127.0.0.1", ["127.0.0.1"], ["127.0.0.1"]),
    ("an interface name", "eth0", None, []),
]


@pytest.mark.parametrize(("listen", "interfaces", "expected"), [c[1:] for c in ADVERTISED],
                         ids=[c[0] for c in ADVERTISED])  # fmt: skip
def test_a_node_advertises_only_where_other_pcs_can_reach_it(
    listen: str, interfaces: list[str] | None, expected: list[str]
) -> None:
    """A loopback listener advertised on a LAN would send every other PC to itself."""
    assert advertised(listen, interfaces, lambda: list(LAN)) == expected


# -- choosing the join desk (recorder fakes) -----------------------------------------------
HELLO = messages.encode_join(JoinHello(42, b"\x01" * messages.PAKE_SIZE))
REQUEST = messages.encode_join(JoinRequest(b"\x02" * 16, b"\x03" * 32, b"sealed"))
KEY = messages.encode_join(JoinKey(b"\x02" * 16, b"\x04" * messages.PAKE_SIZE))
WELCOME = messages.encode_join(JoinWelcome(b"\x05" * 32, b"sealed", 7000))
WRONG = messages.encode_join(JoinRefused("that invite code is not right"))
UNKNOWN = messages.encode_join(
    JoinRefused("that invite code is not known, already used, or expired")
)
NOT_ADMIN = messages.encode_join(JoinRefused(NOT_LEADER))
SILENT = None  # the fake raises TransportError, as a JoinLine does when no answer comes


class Desks:
    """Fake desks: canned answers per address, and every frame each one was sent, in order."""

    def __init__(self, answers: dict[str, list[bytes | None]]) -> None:
        self.answers = answers
        self.sent: list[tuple[str, bytes]] = []
        self.open: list[str] = []

    def line(self, host: str, port: int) -> Desks.Line:
        where = f"{host}:{port}"
        self.open.append(where)
        return Desks.Line(self, where)

    class Line:
        def __init__(self, desks: Desks, where: str) -> None:
            self.desks, self.where = desks, where

        def __call__(self, frame: bytes) -> bytes:
            self.desks.sent.append((self.where, frame))
            answer = self.desks.answers[self.where].pop(0)
            if answer is SILENT:
                raise TransportError(f"no answer from an admin node at {self.where}")
            return answer

        def close(self) -> None:
            self.desks.open.remove(self.where)


def chooser(desks: Desks) -> DeskChooser:
    addresses = [(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in desks.answers]
    return DeskChooser(addresses, desks.line)


def test_the_hello_passes_silent_and_not_leading_desks_and_the_rest_goes_to_one() -> None:
    desks = Desks({"10.0.0.1:5": [SILENT], "10.0.0.2:5": [NOT_ADMIN], "10.0.0.3:5": [KEY, WELCOME],
                   "10.0.0.4:5": [KEY]})  # fmt: skip
    exchange = chooser(desks)
    assert exchange(HELLO) == KEY
    assert exchange(REQUEST) == WELCOME
    assert exchange.chosen == ("10.0.0.3", 5)
    assert desks.sent == [("10.0.0.1:5", HELLO), ("10.0.0.2:5", HELLO), ("10.0.0.3:5", HELLO),
                          ("10.0.0.3:5", REQUEST)]  # fmt: skip
    assert desks.open == ["10.0.0.3:5"]
    exchange.close()
    assert desks.open == []


def test_a_wrong_code_is_checked_at_one_desk_and_tried_at_no_other() -> None:
    """Each wrong try uses one of the invite's few attempts: the refusal of the request is
    final, whatever other desks there are."""
    desks = Desks({"10.0.0.1:5": [KEY, WRONG], "10.0.0.2:5": [KEY, WELCOME]})
    exchange = chooser(desks)
    assert exchange(HELLO) == KEY
    assert exchange(REQUEST) == WRONG  # handed to enrollment.join, which reports it
    assert [where for where, frame in desks.sent if frame == REQUEST] == ["10.0.0.1:5"]
    assert ("10.0.0.2:5", HELLO) not in desks.sent
    exchange.close()


def test_a_hello_refusal_is_reported_once_every_desk_was_asked() -> None:
    """A hello costs the invite nothing, and another office's desk knows no such invite:
    the next desk is asked; the refusal is what is reported when none takes the join up."""
    desks = Desks({"10.0.0.1:5": [UNKNOWN], "10.0.0.2:5": [NOT_ADMIN], "10.0.0.3:5": [SILENT]})
    exchange = chooser(desks)
    with pytest.raises(InviteError, match="refused: that invite code is not known"):
        exchange(HELLO)
    assert [where for where, _ in desks.sent] == ["10.0.0.1:5", "10.0.0.2:5", "10.0.0.3:5"]
    assert desks.open == []


def test_another_offices_desk_does_not_stop_the_search_for_ours() -> None:
    desks = Desks({"10.0.0.1:5": [UNKNOWN], "10.0.0.2:5": [KEY]})
    exchange = chooser(desks)
    assert exchange(HELLO) == KEY
    assert exchange.chosen == ("10.0.0.2", 5)
    exchange.close()


def test_no_leading_desk_is_a_clear_error() -> None:
    desks = Desks({"10.0.0.1:5": [NOT_ADMIN], "10.0.0.2:5": [SILENT]})
    with pytest.raises(UserError, match=re.escape("10.0.0.1:5 is not the elected admin")) as info:
        chooser(desks)(HELLO)
    assert "\n" not in str(info.value)


def test_no_answer_anywhere_is_a_transport_error_naming_the_desks() -> None:
    desks = Desks({"10.0.0.1:5": [SILENT], "10.0.0.2:6": [SILENT]})
    with pytest.raises(TransportError, match=re.escape("10.0.0.1:5, 10.0.0.2:6")):
        chooser(desks)(HELLO)
    assert desks.open == []


GARBAGE = {
    "random bytes": b"\xff" * 10,
    "empty": b"",
    "a truncated answer": KEY[:-1],
    "a refusal with a reason over 200 characters": messages.encode_join(JoinRefused("x" * 201)),
}


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
def test_an_answer_no_desk_would_give_means_ask_the_next(garbage: bytes) -> None:
    desks = Desks({"10.0.0.1:5": [garbage], "10.0.0.2:5": [KEY]})
    exchange = chooser(desks)
    assert exchange(HELLO) == KEY
    assert exchange.chosen == ("10.0.0.2", 5)
    exchange.close()
