"""`vault-admin` and `officevault` with a faked clock: expiry, renew, the signing time, --json.

The clock is faked with OFFICEVAULT_NOW (tests/clirun.py's `now=`), and the
CLIs then say so on stderr. Threats covered: `verify` warns (exit 0) of
capabilities about to expire and fails (exit 1) on expired ones; an admin
PC whose capability expired is refused with one line naming 'vault-admin
renew'; `renew` on the root PC re-issues them (also its own, after it
expired), after which inviting works again; only the root PC can renew; a
clock more than the skew behind the office's newest record is refused; a
root PC that demoted its own user can make it admin again; a log without
its genesis record is refused by every command but `verify`, which says
why. Also what `init --json`, `accept --json`, `users --json` and `status
--json` print. The API underneath is tested in tests/node/test_capabilities.py.

One office (alice, made at T0; bob's PC B enrolled at T0 + 10 and joined)
is built per module; tests that change a data dir work on a copy.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from node import keystore, records, recovery, tokens
from node.errors import PeerError
from node.identity import TOKEN_LIFETIME
from node.store import Store
from node.tokens import CLOCK_SKEW
from tests.clirun import (
    CLOCK_WARNING,
    Cli,
    environment,
    error_lines,
    fails,
    ok,
    ok_json,
    snapshot,
    write,
)
from tests.conftest import PASSWORD, T0

BOB_PASSWORD = "bob's own password"
LIFE = TOKEN_LIFETIME
DAY = 86_400
FINGERPRINT = re.compile(r"^[0-9A-F]{4}(-[0-9A-F]{4}){4}$")


def when(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Base:
    root: Path
    init: dict[str, Any]
    accept: dict[str, Any]
    pw: Path
    bob_pw: Path
    alice: str  # device ids, hex
    bob: str


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    root = tmp_path_factory.mktemp("office")
    cli = Cli(root, environment())
    pw = write(root / "alice.pw", PASSWORD + "\n")
    bob_pw = write(root / "bob.pw", BOB_PASSWORD + "\n")
    a = ("--data-dir", "A", "--password-file", pw)
    init = ok_json(cli("init", *a, "--office", "Acme Ltd", "--admin", "alice", "--json", now=T0))
    code = ok_json(cli("invite", "bob", "--json", *a, now=T0))["code"]
    ok(cli.node("request", "--data-dir", "B", "--name", "bob", "--password-file", bob_pw,
                "--out", "bob.req"))  # fmt: skip
    ok(cli("enroll", code, "bob.req", "--out", "bob.welcome", *a, now=T0 + 10))
    accept = ok_json(cli.node("accept", "bob.welcome", "--code", code, "--json", "--data-dir", "B",
                              "--password-file", bob_pw))  # fmt: skip
    users = {u["user"]: u for u in ok_json(cli("users", *a, "--json"))["users"]}
    alice, bob = (users[n]["devices"][0]["device"] for n in ("alice", "bob"))
    return Base(root, init, accept, pw, bob_pw, alice, bob)


@pytest.fixture
def cli(tmp_path: Path, cli_env: dict[str, str]) -> Cli:
    return Cli(tmp_path, cli_env)


@pytest.fixture
def office(base: Base, tmp_path: Path) -> Path:
    """A private copy of alice's data dir (the root PC)."""
    return Path(shutil.copytree(base.root / "A", tmp_path / "A"))


def unlock(base: Base, folder: Path) -> tuple[str | Path, ...]:
    return ("--data-dir", folder, "--password-file", base.pw)


def expires(cli: Cli, base: Base, folder: Path) -> dict[str, str]:
    users = ok_json(cli("users", *unlock(base, folder), "--json"))["users"]
    return {u["user"]: u["devices"][0]["expires"] for u in users}


# -- --json of init, accept, users and status ------------------------------------------------
def test_init_and_accept_print_json(base: Base) -> None:
    init = base.init
    assert set(init) == {"office", "fingerprint", "admin", "device", "recovery_kit",
                         "recovery_code"}  # fmt: skip
    assert (init["office"], init["admin"], init["device"]) == ("Acme Ltd", "alice", base.alice)
    assert FINGERPRINT.match(init["fingerprint"]), init["fingerprint"]
    kit = (base.root / init["recovery_kit"]).read_bytes()
    assert recovery.open_kit(kit, init["recovery_code"]).office_name == "Acme Ltd"
    assert base.accept == {"office": "Acme Ltd", "fingerprint": init["fingerprint"],
                           "role": "member", "device": base.bob}  # fmt: skip


def test_users_and_status_say_when_each_capability_expires(
    base: Base, cli: Cli, tmp_path: Path
) -> None:
    users = ok_json(cli("users", *unlock(base, base.root / "A"), "--json"))["users"]
    devices = {u["user"]: u["devices"] for u in users}
    assert devices["alice"] == [{"device": base.alice, "role": "admin", "since": when(T0),
                                 "expires": when(T0 + LIFE)}]  # fmt: skip
    assert devices["bob"] == [{"device": base.bob, "role": "member", "since": when(T0 + 10),
                               "expires": when(T0 + 10 + LIFE)}]  # fmt: skip
    bob = shutil.copytree(base.root / "B", tmp_path / "B")
    status = ok_json(cli.node("status", "--data-dir", bob, "--password-file", base.bob_pw,
                              "--json"))  # fmt: skip
    assert (status["device"], status["expires"]) == (base.bob, when(T0 + 10 + LIFE))


# -- verify: warnings and expired capabilities ------------------------------------------------
def test_verify_warns_of_capabilities_that_expire_within_30_days(base: Base, cli: Cli) -> None:
    a = unlock(base, base.root / "A")
    soon = T0 + LIFE - 10 * DAY
    ends = (("alice", base.alice, T0 + LIFE), ("bob", base.bob, T0 + 10 + LIFE))
    warnings = [
        f"{user}'s device {device[:12]}: capability expires {when(end)} (vault-admin renew)"
        for user, device, end in ends
    ]
    lines = ok(cli("verify", *a, now=soon)).stdout.splitlines()
    assert lines[:2] == [f"WARN {w}" for w in warnings]
    assert lines[2].startswith("OK: ")
    assert len(lines) == 3
    report = ok_json(cli("verify", *a, "--json", now=soon))
    assert (report["ok"], report["problems"], report["warnings"]) == (True, [], warnings)
    assert ok_json(cli("verify", *a, "--json", now=soon - 30 * DAY))["warnings"] == []


def test_expired_capabilities_fail_verify_block_acts_and_renew_mends_them(
    base: Base, cli: Cli, office: Path
) -> None:
    a = unlock(base, office)
    late = T0 + LIFE + DAY
    proc = cli("verify", *a, now=late)
    assert (proc.returncode, error_lines(proc)) == (1, []), proc.stderr
    assert proc.stdout.splitlines() == [
        f"FAIL alice's device {base.alice[:12]}: capability expired on {when(T0 + LIFE)} "
        "(vault-admin renew)",
        f"FAIL bob's device {base.bob[:12]}: capability expired on {when(T0 + 10 + LIFE)} "
        "(vault-admin renew)",
    ]
    before = snapshot(office)
    line = fails(cli("invite", "dan", *a, now=late), "admin capability expired")
    assert "'vault-admin renew'" in line
    assert snapshot(office) == before

    out = ok(cli("renew", *a, now=late)).stdout
    assert out == "Renewed 2 device capability(ies) for everyone.\n"
    ok(cli("invite", "dan", *a, now=late))  # this PC's own capability was renewed too
    assert ok(cli("verify", *a, now=late)).stdout.startswith("OK: ")
    assert expires(cli, base, office) == {"alice": when(late + LIFE), "bob": when(late + LIFE)}


def test_renew_names_users_and_needs_the_root_pc(
    base: Base, cli: Cli, office: Path, tmp_path: Path
) -> None:
    out = ok(cli("renew", "bob", *unlock(base, office), now=T0 + DAY)).stdout
    assert out == "Renewed 1 device capability(ies) for bob.\n"
    assert expires(cli, base, office) == {"alice": when(T0 + LIFE), "bob": when(T0 + DAY + LIFE)}
    bob = Path(shutil.copytree(base.root / "B", tmp_path / "B"))
    before = snapshot(bob)
    fails(cli("renew", "--data-dir", bob, "--password-file", base.bob_pw, now=T0 + DAY),
          "needs the office root key")  # fmt: skip
    assert snapshot(bob) == before


# -- the clock --------------------------------------------------------------------------------
def test_a_faked_clock_is_announced_on_stderr(base: Base, cli: Cli) -> None:
    a = unlock(base, base.root / "A")
    assert CLOCK_WARNING in ok(cli("verify", *a, now=T0)).stderr.splitlines()
    assert CLOCK_WARNING not in ok(cli("verify", *a)).stderr


def test_a_clock_more_than_the_skew_behind_the_newest_record_is_refused(
    base: Base, cli: Cli, office: Path
) -> None:
    """A's newest record is bob's enrolment at T0 + 10."""
    a = unlock(base, office)
    behind = T0 + 10 - CLOCK_SKEW - 1
    before = snapshot(office)
    line = fails(cli("invite", "dan", *a, now=behind), "this PC's clock reads")
    assert f"reads {when(behind)}, before the office's newest record ({when(T0 + 10)})" in line
    assert snapshot(office) == before
    ok(cli("invite", "dan", *a, now=behind + 1))  # within the skew: signed at T0 + 10


# -- root acts need only the root key ---------------------------------------------------------
def test_a_root_pc_that_demoted_its_own_user_can_undo_it(
    base: Base, cli: Cli, office: Path
) -> None:
    a = unlock(base, office)
    ok(cli("role", "bob", "admin", *a, now=T0 + 100))
    ok(cli("role", "alice", "member", *a, now=T0 + 110))
    fails(cli("invite", "dan", *a, now=T0 + 120), "only an admin can invite")
    assert ok(cli("role", "alice", "admin", *a, now=T0 + 130)).stdout == "alice is now an admin.\n"
    ok(cli("invite", "dan", *a, now=T0 + 140))


# -- a log without its genesis record ----------------------------------------------------------
def drop_genesis(folder: Path) -> None:
    secrets = keystore.read(folder / "keystore.ovk", bytearray(PASSWORD.encode()),
                            keystore.INSECURE_TEST)  # fmt: skip
    with Store.open(folder / "vault.db", secrets.db_key) as store:
        root_public = store.get_meta("root_public")
        assert root_public is not None
        office_id = tokens.office_id_of(root_public)
        genesis = []
        for blob in store.records():
            try:  # only root-signed records verify under the root key
                rec = records.verify(blob, office_id, root_public)
            except PeerError:
                continue
            if rec.kind == "genesis":
                genesis.append(rec.id)
        assert len(genesis) == 1
        with store.transaction():
            store._query("DELETE FROM membership WHERE id = ?", (genesis[0],))


def test_a_log_without_genesis_is_refused_but_verify_says_why(
    base: Base, cli: Cli, office: Path
) -> None:
    a = unlock(base, office)
    drop_genesis(office)
    line = fails(cli("users", *a), "no genesis")
    assert "vault-admin verify" in line
    proc = cli("verify", *a, "--json")
    assert (proc.returncode, error_lines(proc)) == (1, []), proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is False
    no_genesis = "membership log: no valid genesis record for the pinned office root"
    assert no_genesis in report["problems"]
