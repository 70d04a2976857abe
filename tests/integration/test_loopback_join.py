"""New PCs join a running office with invite codes: real `officevault` processes on 127.0.0.1.

The office is made at today's date (tests/integration/today.py): admins alice and dave,
two entries, open member invites for erin and frank. alice's and dave's nodes run as
`officevault node` on loopback, linked by --peer, each with its join desk on a known port.
Then, as people would: erin runs `officevault join CODE --name erin --peer <a desk>`,
starts her own node, and the office's changes flow both ways.

Threats and promises covered: a join through the elected admin node enrols the PC and
syncs the whole vault (it waits for the admin node's signed checkpoint); the other admin's
desk answers "not the admin node" and enrols nobody; a wrong code, a used code and a code
for another name are clear one-line errors that leave no device behind; after the join,
an add at any of the three PCs reaches the other two, and the new member's edit of an
admin's entry is refused on her own PC.

Network rule: every node gets --listen 127.0.0.1 and --no-mdns, every join --no-mdns and a
loopback --peer. Every wait is bounded; nodes run with --max-seconds and are stopped
through their Popen objects.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import clirun
from tests.clirun import KDF_WARNING, ok, ok_json
from tests.integration.nodes import HOST, NodeProcess, free_ports, stop_all, wait_for
from tests.integration.today import ENTRIES, PASSWORD, make_office

OFFICEVAULT = str(Path(sys.executable).parent / "officevault")
NODE_MAX_SECONDS = 120.0  # the safety net: a node stops by itself after this long
JOIN_TIMEOUT = 60.0
LINK_WAIT = 20.0


@dataclass
class Office:
    root: Path
    env: dict[str, str]
    pw: Path
    codes: dict[str, str]
    ports: dict[str, tuple[int, int]]  # name -> (sync port, join port)
    leader: str = ""
    nodes: dict[str, NodeProcess] = field(default_factory=dict)

    def at(self, name: str) -> list[str]:
        return ["--data-dir", str(self.root / name), "--password-file", str(self.pw)]

    def start(self, name: str, *peers: str) -> None:
        sync, join = self.ports[name]
        argv = [
            OFFICEVAULT,
            "node",
            "--listen",
            HOST,
            "--port",
            str(sync),
            "--join-port",
            str(join),
            "--no-mdns",
            "--max-seconds",
            str(NODE_MAX_SECONDS),
            *self.at(name),
        ]
        for peer in peers:
            argv += ["--peer", f"{HOST}:{self.ports[peer][0]}"]
        log = self.root / f"{name}-node.log"
        self.nodes[name] = NodeProcess(name, argv, self.root, self.env, log)  # fmt: skip

    def join(self, code: str, name: str, desk: str) -> subprocess.CompletedProcess[str]:
        argv = [OFFICEVAULT, "join", code, "--name", name, "--no-mdns",
                "--peer", f"{HOST}:{self.ports[desk][1]}", *self.at(name)]  # fmt: skip
        return subprocess.run(argv, cwd=self.root, env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=JOIN_TIMEOUT,
                              check=False)  # fmt: skip

    def read(self, name: str, *args: str) -> object:
        proc = clirun.run_in_process("officevault", self.root, self.env, *args, "--json",
                                     *self.at(name))  # fmt: skip
        return ok_json(proc)

    def titles(self, name: str) -> set[str]:
        listing = self.read(name, "ls")
        assert isinstance(listing, list)
        return {str(row["title"]) for row in listing}

    def logs(self) -> str:
        return "".join(f"--- {n}\n{p.log()}" for n, p in self.nodes.items())


def leader_of(office: Office, name: str) -> str | None:
    """The user `name`'s running node names as the admin node, once it sees its peers."""
    proc = clirun.run_in_process("officevault", office.root, office.env, "peers", "--json",
                                 *office.at(name))  # fmt: skip
    if proc.returncode != 0:
        return None
    status = ok_json(proc)
    assert isinstance(status, dict)
    users = {p["device"]: p["user"] for p in status["peers"]}
    if not status["leader"] or not all(p["online"] for p in status["peers"]):
        return None
    return str(users.get(status["leader"], name))


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    root = tmp_path_factory.mktemp("loopback-join")
    env = clirun.environment()  # fast KDF; the real clock (the desk judges invites by it)
    pw = clirun.write(root / "password.txt", PASSWORD + "\n")
    codes = make_office(root, env, pw)
    ports = iter(free_ports(6))
    pairs = {n: (next(ports), next(ports)) for n in ("alice", "dave", "erin")}
    running = Office(root, env, pw, codes, pairs)
    with ExitStack() as stack:
        stack.callback(lambda: stop_all(running.nodes.values()))
        running.start("alice", "dave")
        running.start("dave", "alice")

        def agreed() -> str | None:
            leaders = {leader_of(running, n) for n in ("alice", "dave")}
            return leaders.pop() if len(leaders) == 1 and None not in leaders else None

        try:
            running.leader = wait_for("alice and dave to agree on the admin node", agreed,
                                      LINK_WAIT)[0]  # fmt: skip
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{running.logs()}") from None
        yield running


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.splitlines() if line != KDF_WARNING]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 1, f"exit {proc.returncode}: {proc.stdout}{proc.stderr}"
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_the_other_admins_desk_sends_the_new_pc_to_the_admin_node(office: Office) -> None:
    follower = "dave" if office.leader == "alice" else "alice"
    line = error_line(office.join(office.codes["frank"], "frank", follower))
    assert "is not the elected admin node right now" in line, line
    assert not (office.root / "frank" / "keystore.ovk").exists()
    assert "enrolled" not in office.nodes[follower].log()


@pytest.mark.parametrize(
    ("code", "name", "says"),
    [
        ("1-otter-piano-ember", "frank", "not known, already used, or expired"),
        ("frank", "frank", "invite code"),
    ],
    ids=["unknown-nameplate", "not-a-code"],
)
def test_a_bad_code_is_a_clear_error_and_leaves_no_device(
    office: Office, code: str, name: str, says: str
) -> None:
    line = error_line(office.join(code, name, office.leader))
    assert says in line, line
    assert not (office.root / name / "keystore.ovk").exists()


def test_a_new_pc_joins_syncs_and_then_shares_changes_both_ways(office: Office) -> None:
    done = office.join(office.codes["erin"], "erin", office.leader)
    assert done.returncode == 0, f"{done.stdout}{done.stderr}\n{office.logs()}"
    assert "Joined" in done.stdout and "as member." in done.stdout
    assert f"Synced {len(ENTRIES)} entries." in done.stdout, done.stdout
    assert "Still missing" not in done.stdout
    assert office.titles("erin") == set(ENTRIES)

    used = office.join(office.codes["erin"], "erin2", office.leader)
    assert "not known, already used, or expired" in error_line(used)

    office.start("erin", "alice", "dave")
    try:
        shares_both_ways(office)
    finally:
        office.nodes.pop("erin").close()


def shares_both_ways(office: Office) -> None:
    ok(clirun.run_in_process("officevault", office.root, office.env, "add", "--title",
                             "Erin's printer", *office.at("erin")))  # fmt: skip
    ok(clirun.run_in_process("officevault", office.root, office.env, "add", "--title",
                             "Alice's NAS", *office.at("alice")))  # fmt: skip
    want = {*ENTRIES, "Erin's printer", "Alice's NAS"}
    for name in ("alice", "dave", "erin"):

        def holds_all(name: str = name) -> bool | None:
            return office.titles(name) == want or None

        wait_for(f"{name} to hold every entry", holds_all)

    listing = office.read("erin", "ls")
    assert isinstance(listing, list)
    nas = next(str(row["id"]) for row in listing if row["title"] == "Alice's NAS")
    refused = clirun.run_in_process("officevault", office.root, office.env, "edit", nas,
                                    "--title", "Mine now", *office.at("erin"))  # fmt: skip
    assert refused.returncode == 1
    assert "only an admin can edit entries" in refused.stderr
