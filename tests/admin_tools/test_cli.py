"""End-to-end tests of `vault-admin`, run as a real subprocess.

Each test drives the installed console script with `--data-dir` and
`--password-file`, stdin closed (no terminal), in its own temporary folder.
One office (alice admin, bob joined by file, carol's PC with a request ready)
is built once per module; every test that changes data works on a copy.

`revoke --device PREFIX` is tested end to end in tests/node/test_office.py.

Error cases check what a person at the keyboard sees: exactly one line on
stderr, a non-zero exit code, no traceback, and data on disk left as it was.
They do not test the cryptography itself (see tests/node for that).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from node import keystore, recovery
from node.identity import TOKEN_LIFETIME
from node.store import Store
from node.wordlist import WORDS
from tests.clirun import Cli, Proc, environment, fails, ok, ok_json, snapshot, write

PASSWORD = "correct horse battery staple"
BOB_PASSWORD = "bob's own password"
CAROL_PASSWORD = "carol's own password"
FINGERPRINT = re.compile(r"^[0-9A-F]{4}(-[0-9A-F]{4}){4}$")
RECOVERY_CODE = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4})+$")
INVITE_CODE = re.compile(r"^[0-9]{1,4}-[a-z]+-[a-z]+-[a-z]+$")


def pw(text: str) -> bytearray:
    return bytearray(text.encode())


def by_user(users_json: Any) -> dict[str, Any]:
    return {u["user"]: u for u in users_json["users"]}


def when(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def parse_when(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M UTC")


# -- the shared office -------------------------------------------------------------
@dataclass(frozen=True)
class Base:
    root: Path
    init: Proc
    fingerprint: str
    recovery_code: str
    kit: Path
    bob_code: str
    pw: Path
    bob_pw: Path
    carol_pw: Path
    carol_req: Path
    alice_device: str
    bob_device: str

    @property
    def alice_dir(self) -> Path:
        return self.root / "A"

    @property
    def bob_req(self) -> Path:
        return self.root / "bob.req"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    """Acme Ltd: alice (admin, A), bob (member, B, joined by file), carol's PC (C, requested)."""
    root = tmp_path_factory.mktemp("office")
    cli = Cli(root, environment())
    pw = write(root / "alice.pw", PASSWORD + "\n")
    bob_pw = write(root / "bob.pw", BOB_PASSWORD + "\n")
    carol_pw = write(root / "carol.pw", CAROL_PASSWORD + "\n")
    init = ok(cli("init", "--data-dir", "A", "--office", "Acme Ltd", "--admin", "alice",
                  "--password-file", pw))  # fmt: skip
    fields = dict(line.split(":", 1) for line in init.stdout.splitlines() if ":" in line)
    bob_code = ok_json(cli("invite", "--data-dir", "A", "--password-file", pw, "bob", "--json"))
    ok(cli.node("request", "--data-dir", "B", "--name", "bob", "--password-file", bob_pw,
                "--out", "bob.req"))  # fmt: skip
    ok(cli("enroll", "--data-dir", "A", "--password-file", pw, bob_code["code"], "bob.req",
           "--out", "bob.welcome"))  # fmt: skip
    ok(cli.node("accept", "bob.welcome", "--code", bob_code["code"], "--data-dir", "B",
                "--password-file", bob_pw))  # fmt: skip
    ok(cli.node("request", "--data-dir", "C", "--name", "carol", "--password-file", carol_pw,
                "--out", "carol.req"))  # fmt: skip
    users = by_user(ok_json(cli("users", "--data-dir", "A", "--password-file", pw, "--json")))
    return Base(
        root=root,
        init=init,
        fingerprint=fields["Office fingerprint"].strip(),
        recovery_code=fields["Recovery code"].strip(),
        kit=root / fields["Recovery kit"].strip(),
        bob_code=bob_code["code"],
        pw=pw,
        bob_pw=bob_pw,
        carol_pw=carol_pw,
        carol_req=root / "carol.req",
        alice_device=users["alice"]["devices"][0]["device"],
        bob_device=users["bob"]["devices"][0]["device"],
    )


@pytest.fixture
def cli(tmp_path: Path, cli_env: dict[str, str]) -> Cli:
    return Cli(tmp_path, cli_env)


@pytest.fixture
def office(base: Base, tmp_path: Path) -> Path:
    """A private copy of alice's data dir: tests may change it freely."""
    return Path(shutil.copytree(base.alice_dir, tmp_path / "A"))


def invite(
    cli: Cli, office: Path, base: Base, user: str, *extra: str, now: int | None = None
) -> str:
    proc = cli("invite", "--data-dir", office, "--password-file", base.pw, user, "--json", *extra,
               now=now)  # fmt: skip
    return str(ok_json(proc)["code"])


# -- init and recover ------------------------------------------------------------------
def test_init_prints_fingerprint_kit_and_recovery_code_once(base: Base) -> None:
    out = base.init.stdout
    assert "Acme Ltd" in out
    assert FINGERPRINT.match(base.fingerprint), base.fingerprint
    assert RECOVERY_CODE.match(base.recovery_code), base.recovery_code
    assert "shown only now" in out
    # The kit holds the office root key, sealed: the printed code opens it, and the
    # key is not in it in the clear.
    secrets = keystore.read(base.alice_dir / "keystore.ovk", pw(PASSWORD), keystore.INSECURE_TEST)
    kit = base.kit.read_bytes()
    assert secrets.root_seed is not None
    assert recovery.open_kit(kit, base.recovery_code).root_seed == secrets.root_seed
    assert secrets.root_seed not in kit
    assert (base.alice_dir / "keystore.ovk").is_file()
    assert (base.alice_dir / "vault.db").is_file()


def test_recover_makes_a_new_admin_device(base: Base, cli: Cli, tmp_path: Path) -> None:
    code = write(tmp_path / "code.txt", base.recovery_code + "\n")
    pw2 = write(tmp_path / "new.pw", "a fresh password\n")
    out = ok(cli("recover", base.kit, "--data-dir", "D2", "--code-file", code,
                 "--password-file", pw2, "--admin", "dora"))  # fmt: skip
    assert base.fingerprint in out.stdout
    assert "holding the office root key" in out.stdout
    assert "catches up" not in out.stdout  # no sync exists yet to catch up with

    users = ok_json(cli("users", "--data-dir", "D2", "--password-file", pw2, "--json"))
    assert users["office"] == "Acme Ltd"
    assert users["fingerprint"] == base.fingerprint
    assert by_user(users)["dora"]["role"] == "admin"
    assert by_user(users)["dora"]["active"] is True

    status = ok_json(cli.node("status", "--data-dir", "D2", "--password-file", pw2, "--json"))
    assert status["user"] == "dora"
    assert status["role"] == "admin"
    assert status["active"] is True
    assert status["fingerprint"] == base.fingerprint
    # Enrolled by the root with its own signed request: its log verifies.
    assert ok_json(cli("verify", "--data-dir", "D2", "--password-file", pw2, "--json"))["ok"]


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA", "does not open this kit"),  # well-formed
        ("hello", "not a recovery code"),
    ],
)
def test_recover_with_a_wrong_code_fails_cleanly(
    base: Base, cli: Cli, tmp_path: Path, code: str, fragment: str
) -> None:
    kit_before = base.kit.read_bytes()
    code_file = write(tmp_path / "code.txt", code + "\n")
    pw2 = write(tmp_path / "new.pw", "a fresh password\n")
    fails(cli("recover", base.kit, "--data-dir", "D2", "--code-file", code_file,
              "--password-file", pw2), fragment)  # fmt: skip
    assert not (tmp_path / "D2").exists()
    assert base.kit.read_bytes() == kit_before


def test_recover_without_code_file_or_terminal_points_at_code_file(
    base: Base, cli: Cli, tmp_path: Path
) -> None:
    """The password file was given: the hint must be about the recovery code."""
    pw2 = write(tmp_path / "new.pw", "a fresh password\n")
    line = fails(cli("recover", base.kit, "--data-dir", "D2", "--password-file", pw2), "terminal")
    assert "--code-file" in line


def test_recover_into_a_used_data_dir_is_refused(
    base: Base, cli: Cli, office: Path, tmp_path: Path
) -> None:
    before = snapshot(office)
    code = write(tmp_path / "code.txt", base.recovery_code + "\n")
    fails(cli("recover", base.kit, "--data-dir", office, "--code-file", code,
              "--password-file", base.pw), "already holds")  # fmt: skip
    assert snapshot(office) == before


@pytest.mark.parametrize("kit", [None, "elsewhere.ovkit"])
def test_init_into_an_existing_office_is_refused(
    base: Base, cli: Cli, office: Path, tmp_path: Path, kit: str | None
) -> None:
    before = snapshot(office)
    args: list[str | Path] = ["init", "--data-dir", office, "--office", "Other",
                              "--admin", "mallory", "--password-file", base.pw]  # fmt: skip
    if kit is not None:
        args += ["--kit", kit]
    fails(cli(*args), "already")
    assert snapshot(office) == before
    assert not (tmp_path / "elsewhere.ovkit").exists()


# -- invite -----------------------------------------------------------------------------
@pytest.mark.parametrize(("role", "as_json"), [(None, False), ("member", True), ("admin", True)])
def test_invite_prints_a_short_one_time_code(
    base: Base, cli: Cli, office: Path, role: str | None, as_json: bool
) -> None:
    t = int(time.time())
    args: list[str | Path] = ["invite", "--data-dir", office, "--password-file", base.pw, "dan",
                              "--expires", "30m"]  # fmt: skip
    if role is not None:
        args += ["--role", role]
    if as_json:
        args.append("--json")
    proc = ok(cli(*args, now=t))
    if as_json:
        data = json.loads(proc.stdout)
        code = data["code"]
        assert data["user"] == "dan"
        assert data["role"] == role
        assert data["expires"] == when(t + 1800)
    else:
        match = re.search(r"Invite code for dan \(member\): (\S+)", proc.stdout)
        assert match, proc.stdout
        code = match.group(1)
        assert when(t + 1800) in proc.stdout
    assert INVITE_CODE.match(code), code
    assert len(code) < 40


# -- users, role, revoke, verify --------------------------------------------------------
def test_users_lists_the_admin_and_the_joined_member(base: Base, cli: Cli, office: Path) -> None:
    users = ok_json(cli("users", "--data-dir", office, "--password-file", base.pw, "--json"))
    assert users["office"] == "Acme Ltd"
    assert users["fingerprint"] == base.fingerprint
    people = by_user(users)
    assert set(people) == {"alice", "bob"}
    assert (people["alice"]["role"], people["alice"]["active"]) == ("admin", True)
    assert (people["bob"]["role"], people["bob"]["active"]) == ("member", True)
    assert len(people["bob"]["devices"]) == 1
    for device in (*people["alice"]["devices"], *people["bob"]["devices"]):
        # A capability lasts two years from enrolment (exact times: test_capabilities_cli.py).
        since, expires = (parse_when(device[k]) for k in ("since", "expires"))
        assert expires - since == dt.timedelta(seconds=TOKEN_LIFETIME)

    text = ok(cli("users", "--data-dir", office, "--password-file", base.pw)).stdout
    assert base.fingerprint in text
    # Each active device by the first 12 hex digits of its id (what --device takes).
    alice, bob = base.alice_device[:12], base.bob_device[:12]
    assert re.search(rf"alice\s+admin\s+device\(s\) {alice}$", text, re.MULTILINE), text
    assert re.search(rf"bob\s+member\s+device\(s\) {bob}$", text, re.MULTILINE), text


def test_role_then_revoke_show_in_users(base: Base, cli: Cli, office: Path) -> None:
    common = ("--data-dir", office, "--password-file", base.pw)
    assert "bob is now an admin" in ok(cli("role", "bob", "admin", *common)).stdout
    assert by_user(ok_json(cli("users", *common, "--json")))["bob"]["role"] == "admin"

    out = " ".join(ok(cli("revoke", "bob", "--reason", "left the firm", *common)).stdout.split())
    assert "Revoked bob (1 device(s)); every PC that receives this record refuses them." in out
    assert "rotated" in out
    bob = by_user(ok_json(cli("users", *common, "--json")))["bob"]
    assert bob["active"] is False
    assert bob["role"] is None
    assert bob["devices"] == []
    assert len(bob["revoked_devices"]) == 1

    report = ok_json(cli("verify", *common, "--json"))
    assert report["ok"] is True
    assert report["problems"] == []


def test_verify_passes_on_an_untouched_office(base: Base, cli: Cli, office: Path) -> None:
    common = ("--data-dir", office, "--password-file", base.pw)
    assert ok(cli("verify", *common)).stdout.startswith("OK:")
    report = ok_json(cli("verify", *common, "--json"))
    assert report == {"ok": True, "problems": [], "records": report["records"], "warnings": []}
    assert report["records"] >= 3


# -- enroll -----------------------------------------------------------------------------
def test_enroll_takes_a_code_typed_loosely(
    base: Base, cli: Cli, office: Path, tmp_path: Path
) -> None:
    code = invite(cli, office, base, "carol")
    req = Path(shutil.copy(base.carol_req, tmp_path / "carol.req"))
    typed = code.upper().replace("-", "  ")
    out = ok(cli("enroll", "--data-dir", office, "--password-file", base.pw, typed, req)).stdout
    assert (tmp_path / "carol.welcome").is_file()
    assert base.fingerprint in out
    users = ok_json(cli("users", "--data-dir", office, "--password-file", base.pw, "--json"))
    assert by_user(users)["carol"]["role"] == "member"


def test_expired_invite_is_refused(base: Base, cli: Cli, office: Path, tmp_path: Path) -> None:
    t = int(time.time())
    code = invite(cli, office, base, "carol", "--expires", "1h", now=t)
    before = snapshot(office)
    common = ("--data-dir", office, "--password-file", base.pw, code, base.carol_req)
    fails(cli("enroll", *common, "--out", tmp_path / "late.welcome", now=t + 3601), "expired")
    assert snapshot(office) == before
    assert not (tmp_path / "late.welcome").exists()
    # Only the clock made the difference: the same code works just before expiry.
    ok(cli("enroll", *common, "--out", tmp_path / "carol.welcome", now=t + 3599))


def test_reused_invite_code_is_refused(base: Base, cli: Cli, office: Path, tmp_path: Path) -> None:
    before = snapshot(office)
    fails(cli("enroll", "--data-dir", office, "--password-file", base.pw, base.bob_code,
              base.carol_req, "--out", tmp_path / "x.welcome"), "already been used")  # fmt: skip
    assert snapshot(office) == before


def test_invite_for_another_user_is_refused(
    base: Base, cli: Cli, office: Path, tmp_path: Path
) -> None:
    code = invite(cli, office, base, "dave")
    before = snapshot(office)
    line = fails(cli("enroll", "--data-dir", office, "--password-file", base.pw, code,
                     base.carol_req, "--out", tmp_path / "x.welcome"), "'dave'")  # fmt: skip
    assert "'carol'" in line
    assert snapshot(office) == before


def test_enroll_that_cannot_write_the_welcome_leaves_the_invite_unused(
    base: Base, cli: Cli, office: Path, tmp_path: Path
) -> None:
    """A failed enroll must not consume the code and enrol a PC that never gets its welcome."""
    code = invite(cli, office, base, "carol")
    common = ("--data-dir", office, "--password-file", base.pw, code, base.carol_req)
    fails(cli("enroll", *common, "--out", tmp_path / "no-such-dir" / "carol.welcome"), "cannot")
    ok(cli("enroll", *common, "--out", tmp_path / "carol.welcome"))


# -- tampering --------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_tampered_keystore_is_refused_and_left_as_it_is(
    base: Base, cli: Cli, office: Path, where: str
) -> None:
    """Threat: someone with disk access alters the sealed device keys."""
    path = office / "keystore.ovk"
    data = bytearray(path.read_bytes())
    data[{"first": 0, "middle": len(data) // 2, "last": -1}[where]] ^= 0x01
    path.write_bytes(data)
    before = snapshot(office)
    fails(cli("users", "--data-dir", office, "--password-file", base.pw), "keystore")
    assert snapshot(office) == before


@pytest.mark.parametrize("command", ["users", "verify"])
def test_tampered_database_gives_one_clear_line(
    base: Base, cli: Cli, office: Path, command: str
) -> None:
    """Threat: someone with disk access alters encrypted pages of vault.db."""
    path = office / "vault.db"
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    path.write_bytes(data)
    before = snapshot(office)
    fails(cli(command, "--data-dir", office, "--password-file", base.pw), "database")
    assert snapshot(office) == before


def _forge_log_record(data_dir: Path) -> None:
    """Add a copy of a membership record with one signature byte flipped."""
    secrets = keystore.read(data_dir / "keystore.ovk", pw(PASSWORD), keystore.INSECURE_TEST)
    with Store.open(data_dir / "vault.db", secrets.db_key) as store:
        forged = bytearray(store.records()[-1])
        forged[-5] ^= 0x01
        with store.transaction():
            store.add_records([(b"\x00" * 32, bytes(forged))])


def test_forged_log_record_is_refused_by_users_and_listed_by_verify(
    base: Base, cli: Cli, office: Path
) -> None:
    """Threat: a record is slipped into the membership log without a valid signature.

    `users` refuses and points at `verify`; `verify` must then say what is wrong.
    """
    _forge_log_record(office)
    line = fails(cli("users", "--data-dir", office, "--password-file", base.pw), "altered")
    assert "verify" in line
    proc = cli("verify", "--data-dir", office, "--password-file", base.pw, "--json")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout, f"verify printed no report; stderr: {proc.stderr!r}"
    report = json.loads(proc.stdout)
    assert report["ok"] is False
    assert any("broken" in p for p in report["problems"]), report


# -- errors: one line, non-zero, data untouched ----------------------------------------
A, PW = "{A}", "{pw}"
UNLOCK = ("--data-dir", A, "--password-file", PW)
WORD_CODE = "5-" + "-".join(WORDS[:3])

ERROR_CASES: list[tuple[str, tuple[str, ...], str, int]] = [
    ("wrong-password", ("users", "--data-dir", A, "--password-file", "{wrong}"),
     "wrong password", 1),
    ("missing-data-dir-users", ("users", "--data-dir", "{nowhere}", "--password-file", PW),
     "no OfficeVault data folder", 1),
    ("missing-data-dir-invite", ("invite", "x", "--data-dir", "{nowhere}", "--password-file", PW),
     "no OfficeVault data folder", 1),
    ("missing-data-dir-role", ("role", "bob", "admin", "--data-dir", "{nowhere}",
                               "--password-file", PW), "no OfficeVault data folder", 1),
    ("missing-data-dir-revoke", ("revoke", "bob", "--data-dir", "{nowhere}", "--password-file", PW),
     "no OfficeVault data folder", 1),
    ("missing-data-dir-verify", ("verify", "--data-dir", "{nowhere}", "--password-file", PW),
     "no OfficeVault data folder", 1),
    ("role-unknown-user", ("role", "carol", "admin", *UNLOCK), "no active user named 'carol'", 1),
    ("revoke-unknown-user", ("revoke", "carol", *UNLOCK), "no active user named 'carol'", 1),
    ("revoke-only-admin-from-her-pc", ("revoke", "alice", *UNLOCK), "alice is the last admin", 1),
    ("revoke-own-device", ("revoke", "alice", "--device", "{alice_device}", *UNLOCK),
     "alice is the last admin", 1),
    ("renew-unknown-user", ("renew", "carol", *UNLOCK), "no active user named 'carol'", 1),
    ("missing-data-dir-renew", ("renew", "--data-dir", "{nowhere}", "--password-file", PW),
     "no OfficeVault data folder", 1),
    ("invite-case-variant", ("invite", "Bob", *UNLOCK), "a user named 'bob' exists", 1),
    ("invite-name-not-nfc", ("invite", "Zoe\u0308", *UNLOCK), "invalid user name", 1),
    ("init-into-interrupted-setup", ("init", "--data-dir", "{interrupted}", "--office", "X",
                                     "--admin", "a", "--password-file", PW), "delete vault.db", 1),
    ("recover-into-interrupted-setup", ("recover", "{kit}", "--data-dir", "{interrupted}",
                                        "--code-file", "{code}", "--password-file", PW),
     "delete vault.db", 1),
    ("demote-last-admin", ("role", "alice", "member", *UNLOCK), "last admin", 1),
    ("role-unchanged", ("role", "bob", "member", *UNLOCK), "already a member", 1),
    ("expires-unknown-unit", ("invite", "dan", "--expires", "2y", *UNLOCK), "duration", 1),
    ("expires-not-a-duration", ("invite", "dan", "--expires", "soon", *UNLOCK), "duration", 1),
    ("expires-zero", ("invite", "dan", "--expires", "0h", *UNLOCK), "must last longer", 1),
    ("expires-zero-seconds", ("invite", "dan", "--expires", "0s", *UNLOCK),
     "an invite must last longer than that", 1),
    ("expires-too-long", ("invite", "dan", "--expires", "31d", *UNLOCK), "30 days", 1),
    ("invite-bad-name", ("invite", " dan", *UNLOCK), "invalid user name", 1),
    ("password-file-missing", ("users", "--data-dir", A, "--password-file", "{nowhere}"),
     "cannot read the password file", 1),
    ("password-file-empty", ("users", "--data-dir", A, "--password-file", "{empty}"), "empty", 1),
    ("init-password-file-missing", ("init", "--data-dir", "{new}", "--office", "X", "--admin", "a",
                                    "--password-file", "{nowhere}"), "password file", 1),
    ("init-password-file-empty", ("init", "--data-dir", "{new}", "--office", "X", "--admin", "a",
                                  "--password-file", "{empty}"), "empty", 1),
    ("init-short-password", ("init", "--data-dir", "{new}", "--office", "X", "--admin", "a",
                             "--password-file", "{short}"), "at least 8 characters", 1),
    ("recover-short-password", ("recover", "{kit}", "--data-dir", "{new}", "--code-file", "{code}",
                                "--password-file", "{short}"), "at least 8 characters", 1),
    ("no-terminal-users", ("users", "--data-dir", A), "no terminal", 1),
    ("no-terminal-invite", ("invite", "dan", "--data-dir", A), "no terminal", 1),
    ("no-terminal-init", ("init", "--data-dir", "{new}", "--office", "X", "--admin", "a"),
     "no terminal", 1),
    ("enroll-missing-request", ("enroll", WORD_CODE, "{nowhere}", *UNLOCK), "join request", 1),
    ("enroll-not-a-request", ("enroll", WORD_CODE, "{pw}", *UNLOCK), "join request", 1),
    ("enroll-not-a-code", ("enroll", "hello", "{carol_req}", *UNLOCK), "invite code", 1),
    ("recover-missing-kit", ("recover", "{nowhere}", "--data-dir", "{new}", "--code-file", "{code}",
                             "--password-file", PW), "recovery kit", 1),
    ("recover-not-a-kit", ("recover", "{pw}", "--data-dir", "{new}", "--code-file", "{code}",
                           "--password-file", PW), "recovery kit", 1),
    ("unknown-subcommand", ("frobnicate",), "invalid choice", 2),
    ("no-subcommand", (), "required", 2),
    ("invite-missing-user", ("invite", *UNLOCK), "required", 2),
    ("role-missing-role", ("role", "bob", *UNLOCK), "required", 2),
    ("role-unknown-role", ("role", "bob", "owner", *UNLOCK), "invalid choice", 2),
    ("revoke-device-without-value", ("revoke", "bob", *UNLOCK, "--device"), "--device", 2),
    ("init-missing-office", ("init", "--admin", "a", "--data-dir", "{new}", "--password-file", PW),
     "--office", 2),
    ("unknown-option", ("users", "--bogus", *UNLOCK), "--bogus", 2),
]  # fmt: skip


@pytest.fixture
def places(base: Base, office: Path, tmp_path: Path) -> dict[str, str]:
    interrupted = Path(shutil.copytree(base.root / "C", tmp_path / "I"))
    (interrupted / "keystore.ovk").unlink()  # as a crash just before the last step leaves it
    return {
        "A": str(office),
        "interrupted": str(interrupted),
        "alice_device": base.alice_device[:6],
        "pw": str(base.pw),
        "wrong": str(write(tmp_path / "wrong.pw", "not the password\n")),
        "empty": str(write(tmp_path / "empty.pw", "")),
        "short": str(write(tmp_path / "short.pw", "1234567\n")),
        "code": str(write(tmp_path / "code.txt", base.recovery_code + "\n")),
        "kit": str(base.kit),
        "carol_req": str(base.carol_req),
        "nowhere": str(tmp_path / "nowhere"),
        "new": str(tmp_path / "new"),
    }


@pytest.mark.parametrize(
    ("args", "fragment", "code"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_error_is_one_line_and_changes_nothing(
    cli: Cli,
    office: Path,
    tmp_path: Path,
    places: dict[str, str],
    args: tuple[str, ...],
    fragment: str,
    code: int,
) -> None:
    before = snapshot(office), snapshot(Path(places["interrupted"]))
    fails(cli(*(a.format(**places) for a in args)), fragment, code)
    assert (snapshot(office), snapshot(Path(places["interrupted"]))) == before
    assert not (tmp_path / "new").exists()


def test_data_is_intact_after_refused_acts(
    base: Base, cli: Cli, office: Path, tmp_path: Path
) -> None:
    common = ("--data-dir", office, "--password-file", base.pw)
    users_before = ok_json(cli("users", *common, "--json"))
    wrong = write(tmp_path / "wrong.pw", "not the password\n")
    fails(cli("users", "--data-dir", office, "--password-file", wrong), "wrong password")
    fails(cli("revoke", "alice", *common), "last admin")
    fails(cli("role", "alice", "member", *common), "last admin")
    assert ok_json(cli("verify", *common, "--json"))["ok"] is True
    assert ok_json(cli("users", *common, "--json")) == users_before


# -- every subcommand takes the common options after its name ---------------------------
@pytest.mark.parametrize(
    ("command", "has_json"),
    [("init", True), ("recover", False), ("invite", True), ("enroll", False), ("users", True),
     ("role", False), ("revoke", False), ("renew", False), ("verify", True)],
)  # fmt: skip
def test_subcommand_help_lists_common_options(cli: Cli, command: str, has_json: bool) -> None:
    out = ok(cli(command, "--help")).stdout
    assert "--data-dir" in out
    assert "--password-file" in out
    assert ("--json" in out) is has_json
