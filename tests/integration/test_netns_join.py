"""A new PC joins the office over a private switched LAN with an invite code, by mDNS alone.

The office is made here at today's date (the join desk checks invites against the real
clock): admins alice and dave, two entries, and open member invites for erin and frank.
alice's and dave's nodes run in network namespaces of their own, plugged into a bridge
(tests/integration/netns.py); the new PC is a third namespace, "newpc", where
`officevault join CODE --name NAME --mdns-interface ITS-ADDRESS` runs with no --peer: it
must find the desks by mDNS. The admin whose device id is higher (the one the election
does not pick) gets the lower address, so the new PC asks it first: it answers "not the
admin node", and the join must go on to the elected one.

Threats covered: the join finds the real office from an invite code alone and then holds
the office's entries; a wrong code is a clear one-line error that costs the invite
exactly one attempt, at one desk (never retried at the other), and leaves no device
behind; with no office on the LAN the join says so and points to --peer; and, as in
tests/integration/test_netns_nodes.py, nothing is sent on the host's real interfaces.

Network rule: every node and every join runs under `ip netns exec` in a namespace made
here. Its addresses are the LAN's (or, for "no office", that namespace's own loopback).
One node runs with mDNS left at its default, every interface: inside its namespace, those
are its cable and its own loopback, nothing of the host's (that is the point of running
the default there). Every wait is a bounded poll, every process is started with a bound
(--max-seconds, or a subprocess timeout) and stopped through its Popen.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from node.wordlist import WORDS
from tests import clirun
from tests.clirun import KDF_WARNING, ok_json
from tests.integration.netns import (
    SUBNET,
    HostWatch,
    Lan,
    LanUnavailable,
    host_addresses,
    host_sent_nothing,
    private_lan,
    unavailable,
    watch_host,
)
from tests.integration.nodes import NodeProcess, stop_all, wait_for
from tests.integration.today import ENTRIES, PASSWORD, make_office

OFFICEVAULT = str(Path(sys.executable).parent / "officevault")
NEW_PC = "newpc"
NODE_MAX_SECONDS = 180.0  # the safety net: a node stops by itself after this long
LINK_WAIT = 20.0  # seconds the two admin nodes may take to link and agree on the leader
JOIN_TIMEOUT = 60.0  # seconds one `officevault join` may take, search and sync included
FIND_SECONDS = "3"  # the join's mDNS search window (a LAN of our own answers in well under 1 s)
ENROLLED = "enrolled a new PC with an invite code"
WRONG_CODE = "a join with a wrong invite code"


@dataclass
class JoinLan:
    """The office's data dirs, the LAN, the two admin nodes, and every argv started on it."""

    root: Path
    env: dict[str, str]
    pw: Path
    lan: Lan
    watch: HostWatch
    codes: dict[str, str]  # user -> open invite code
    leader: str  # the admin the election picks
    follower: str  # the other admin: asked first, answers "not the admin node"
    nodes: dict[str, NodeProcess] = field(default_factory=dict)
    argvs: list[list[str]] = field(default_factory=list)

    def address(self, name: str) -> str:
        return self.lan.pcs[name].address

    def join(self, code: str, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
        """`officevault join` on the new PC (its own namespace), bounded by JOIN_TIMEOUT."""
        argv = self.lan.pcs[NEW_PC].exec([
            OFFICEVAULT, "join", code, "--name", name, "--find-seconds", FIND_SECONDS,
            *extra, "--data-dir", str(self.root / name), "--password-file", str(self.pw),
        ])  # fmt: skip
        self.argvs.append(argv)
        return subprocess.run(argv, cwd=self.root, env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=JOIN_TIMEOUT,
                              check=False)  # fmt: skip

    def read(self, name: str, *args: str, prog: str = "officevault") -> object:
        """`prog ARGS --json` at `name`'s data dir, in this process (reads only)."""
        argv = [
            *args,
            "--json",
            "--data-dir",
            str(self.root / name),
            "--password-file",
            str(self.pw),
        ]
        return ok_json(clirun.run_in_process(prog, self.root, self.env, *argv))

    def logs(self) -> str:
        return "".join(node.log() for node in self.nodes.values())

    def close(self) -> None:
        stop_all(self.nodes.values())


def start_node(office: JoinLan, name: str, mdns: list[str]) -> None:
    pc = office.lan.pcs[name]
    argv = pc.exec([OFFICEVAULT, "node", "--listen", pc.address, *mdns,
                    "--max-seconds", str(NODE_MAX_SECONDS), "--data-dir", str(office.root / name),
                    "--password-file", str(office.pw)])  # fmt: skip
    office.argvs.append(argv)
    log = office.root / f"{name}-node.log"
    office.nodes[name] = NodeProcess(name, argv, office.root, office.env, log)


def wait_agreed(office: JoinLan, device: dict[str, str]) -> None:
    """Until both nodes are running, see each other online and name the same leader."""
    expected = device[office.leader]

    def agreed() -> bool | None:
        for name in (office.leader, office.follower):
            argv = ["peers", "--json", "--data-dir", str(office.root / name),
                    "--password-file", str(office.pw)]  # fmt: skip
            proc = clirun.run_in_process("officevault", office.root, office.env, *argv)
            status = json.loads(proc.stdout)  # exit 1 (and "running": false) until it writes one
            online = {p["device"] for p in status.get("peers", []) if p["online"]}
            if not status["running"] or status["leader"] != expected or len(online) != 1:
                return None
        return True

    try:
        wait_for("the two admin nodes to link and agree on the leader", agreed, LINK_WAIT)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; logs:\n{office.logs()}") from None


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JoinLan]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(f"no private LAN: {reason}")
    watch = watch_host()
    root = tmp_path_factory.mktemp("join")
    env = clirun.environment()  # fast KDF; the real clock
    pw = clirun.write(root / "password.txt", PASSWORD + "\n")
    codes = make_office(root, env, pw)
    device = {name: str(ok_json(clirun.run_in_process(
        "officevault", root, env, "status", "--json", "--data-dir", str(root / name),
        "--password-file", str(pw)))["device"]) for name in ("alice", "dave")}  # fmt: skip
    leader = min(device, key=lambda name: device[name])  # the lowest device id among admins
    follower = "dave" if leader == "alice" else "alice"
    with ExitStack() as stack:
        try:
            lan = stack.enter_context(private_lan([follower, leader, NEW_PC]))
        except LanUnavailable as exc:
            pytest.skip(f"no private LAN: {exc}")
        running = JoinLan(root, env, pw, lan, watch, codes, leader, follower)
        stack.callback(running.close)  # before the LAN goes: SIGTERM, then SIGKILL, ours only
        start_node(running, follower, ["--mdns-interface", lan.pcs[follower].address])
        start_node(running, leader, [])  # the default: mDNS on every interface of its namespace
        running.nodes[follower].wait_log(f"mDNS on {lan.pcs[follower].address}; advertising")
        running.nodes[leader].wait_log("mDNS on every interface; advertising")
        wait_agreed(running, device)
        yield running


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command printed (the test-only KDF warning aside); no traceback."""
    lines = [line for line in proc.stderr.splitlines() if line != KDF_WARNING]
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode == 1, f"exit {proc.returncode}: {proc.stdout}{proc.stderr}"
    assert len(lines) == 1, f"expected one error line, got {proc.stderr!r}"
    assert lines[0].startswith("officevault: error: "), lines[0]
    assert proc.stdout == ""
    return lines[0]


def only_our_namespaces(office: JoinLan) -> None:
    """Network rule: each process ran in a namespace of ours, with our addresses only."""
    assert not office.lan.addresses() & host_addresses(), "the LAN's range is the host's too"
    namespaces = {pc.netns for pc in office.lan.pcs.values()}
    for argv in office.argvs:
        assert argv[1:3] == ["netns", "exec"] and argv[3] in namespaces, argv
        assert not any(arg.startswith("--peer") for arg in argv), argv
        given = [argv[i + 1] for i, a in enumerate(argv) if a in ("--listen", "--mdns-interface")]
        for address in given:
            ip = ipaddress.ip_address(address)
            assert (ip in SUBNET and address in office.lan.addresses()) or ip.is_loopback, argv


def wrong(code: str) -> str:
    """The same invite number with another first word."""
    number, first, *rest = code.split("-")
    return "-".join([number, WORDS[(WORDS.index(first) + 1) % len(WORDS)], *rest])


def test_a_new_pc_joins_by_mdns_alone_and_holds_the_entries(office: JoinLan) -> None:
    done = office.join(office.codes["erin"], "erin", "--mdns-interface", office.address(NEW_PC))
    assert done.returncode == 0, f"{done.stdout}{done.stderr}\nlogs:\n{office.logs()}"
    out = done.stdout
    assert "Joined Join Ltd as member." in out
    # asked first: the follower (lower address), which is not the admin node; then the leader
    assert f"Enrolled by the admin node at {office.address(office.leader)}:" in out, out
    assert f"(asked first: {office.address(office.follower)}:" in out, out
    assert f"Synced {len(ENTRIES)} entries." in out

    listing = office.read("erin", "ls")
    assert isinstance(listing, list)
    assert sorted(row["title"] for row in listing) == sorted(ENTRIES)
    assert office.nodes[office.leader].log().count(ENROLLED) >= 1
    assert ENROLLED not in office.nodes[office.follower].log()
    only_our_namespaces(office)
    host_sent_nothing(office.watch)


def test_a_wrong_code_is_a_clear_error_that_costs_one_attempt_at_one_desk(
    office: JoinLan,
) -> None:
    """Each wrong code uses one of the invite's three attempts: it is tried at the elected
    admin node only, never again at the other desk; the right code still joins after."""
    before = office.logs().count(WRONG_CODE)
    failed = office.join(wrong(office.codes["frank"]), "frank",
                         "--mdns-interface", office.address(NEW_PC))  # fmt: skip
    line = error_line(failed)
    assert "that invite code is not right" in line, line
    assert not (office.root / "frank" / "keystore.ovk").exists()
    assert not (office.root / "frank" / "vault.db").exists()
    leader_log = office.nodes[office.leader].log()
    assert "(attempt 1 of 3)" in leader_log
    assert office.logs().count(WRONG_CODE) == before + 1, office.logs()
    assert WRONG_CODE not in office.nodes[office.follower].log()

    joined = office.join(office.codes["frank"], "frank", "--mdns-interface",
                         office.address(NEW_PC))  # fmt: skip
    assert joined.returncode == 0, f"{joined.stdout}{joined.stderr}"
    assert f"Synced {len(ENTRIES)} entries." in joined.stdout
    only_our_namespaces(office)
    host_sent_nothing(office.watch)


def test_no_office_on_the_lan_is_a_clear_error_pointing_to_peer(office: JoinLan) -> None:
    """mDNS on the new PC's own loopback (inside its namespace), where no office advertises."""
    failed = office.join(office.codes["erin"], "nobody", "--mdns-interface", "127.0.0.1")
    line = error_line(failed)
    assert "no office found on the LAN" in line and "--peer HOST:PORT" in line, line
    assert not (office.root / "nobody").exists()
    only_our_namespaces(office)
    host_sent_nothing(office.watch)
