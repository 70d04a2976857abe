"""Three real `officevault node` processes on a private switched LAN, finding each other by mDNS.

alice, carol and dave (vault_kit's office: alice and dave admins, carol a member) each
run in a network namespace of their own, plugged into a bridge in a "switch" namespace
(tests/integration/netns.py), with --listen and --mdns-interface set to their LAN
address and no --peer: discovery is mDNS only. The CLIs run from this namespace at the
data dirs (just files), as in tests/integration/test_loopback_nodes.py.

Threats covered: a change made on one PC reaches the others found by mDNS alone; a PC
cut off from the LAN neither receives nor leaks anything while cut off, two admins'
edits of one entry made on both sides of the cut are both kept (a conflict, flagged
identically everywhere) and nothing is lost when the cable comes back; and the test
itself sends nothing on the host's real interfaces (network rule: every address a node
is given belongs to a namespace made here; the host's transmit counters do not move).

Needs root and `ip netns` (CI runs as root); skips otherwise. Every wait is a bounded
poll; every node is started with --max-seconds and stopped through its Popen; every
namespace, veth and the bridge are deleted afterwards, whatever happened.
"""

from __future__ import annotations

import ipaddress
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.clirun import ok
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
from tests.integration.nodes import (
    Listing,
    LoopbackOffice,
    NodeProcess,
    holds_for,
    titles,
    wait_for,
)
from tests.node import vault_kit

NAMES = ("alice", "carol", "dave")
NODE_MAX_SECONDS = 90.0  # the safety net: a node stops by itself after this long
LINK_WAIT = 15.0  # seconds discovery, an offline verdict or a reconnection may take
QUIET = 3.0  # seconds a "never arrives" check watches: three heartbeats
OFFICEVAULT = str(Path(sys.executable).parent / "officevault")


class NetnsOffice(LoopbackOffice):
    """LoopbackOffice whose nodes run inside the LAN's PC namespaces, found by mDNS only."""

    def __init__(self, kit: dict[str, Path], root: Path, lan: Lan) -> None:
        super().__init__(kit, root)
        self.lan = lan
        self.argvs: list[list[str]] = []  # every command line a node was started with

    def start(self, *names: str) -> None:
        for name in names:
            pc = self.lan.pcs[name]
            node = [OFFICEVAULT, "node", "--listen", pc.address, "--mdns-interface", pc.address,
                    "--max-seconds", str(NODE_MAX_SECONDS), *self.common(name)]  # fmt: skip
            argv = pc.exec(node)
            self.argvs.append(argv)
            old = self.nodes.pop(name, None)
            if old is not None:
                old.close()
            log = self.root / f"{name}-node-{next(self._runs)}.log"
            self.nodes[name] = NodeProcess(name, argv, self.root, self.env, log)
        for name in names:
            self.nodes[name].wait_log(f"listening on {self.lan.pcs[name].address}:")

    def count(self, name: str, fragment: str) -> int:
        return self.nodes[name].log().count(fragment)

    def until_logged(self, what: str, wanted: dict[str, dict[str, int]]) -> float:
        """Wait until each node's log holds each fragment at least so many times; seconds."""

        def logged() -> bool | None:
            for name, fragments in wanted.items():
                for fragment, times in fragments.items():
                    if self.count(name, fragment) < times:
                        return None
            return True

        try:
            return wait_for(what, logged, LINK_WAIT)[1]
        except AssertionError as exc:
            logs = {name: self.nodes[name].log() for name in wanted}
            raise AssertionError(f"{exc}; logs: {logs}") from None


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return vault_kit.template(tmp_path_factory.mktemp("kit"))


@pytest.fixture
def watch() -> HostWatch:
    """The host's counters, and their own pace over PROBE seconds of doing nothing."""
    reason = unavailable()
    if reason is not None:
        pytest.skip(f"no private LAN: {reason}")
    return watch_host()


@pytest.fixture
def lan(watch: HostWatch) -> Iterator[Lan]:
    try:
        with private_lan(NAMES) as built:  # deletes everything it made, even on failure
            yield built
    except LanUnavailable as exc:
        pytest.skip(f"no private LAN: {exc}")


@pytest.fixture
def office(kit: dict[str, Path], tmp_path: Path, lan: Lan) -> Iterator[NetnsOffice]:
    running = NetnsOffice(kit, tmp_path, lan)
    try:
        running.start(*NAMES)
        yield running
    finally:
        running.close()  # SIGTERM, then SIGKILL, to the Popen objects started here only


def online(name: str) -> str:
    return f"peer online: {name} ("


def offline(name: str) -> str:
    return f"peer offline: {name} ("


def has(entry: str, title: str) -> Callable[[Listing], bool]:
    return lambda listing: titles(listing).get(entry) == title


def entry_row(listing: Listing, entry: str) -> dict[str, object]:
    return next((row for row in listing if row["id"] == entry), {})


def test_nodes_find_each_other_by_mdns_and_heal_a_partition(
    watch: HostWatch, lan: Lan, office: NetnsOffice
) -> None:
    only_lan_addresses(lan, office)
    timings: dict[str, float] = {}
    timings["discovery"] = office.until_logged("every node to see the two others online", {
        name: {online(other): 1 for other in NAMES if other != name} for name in NAMES
    })  # fmt: skip

    entry = office.add("alice", "Mail")
    added = office.until_all("alice's add at carol and dave", ("carol", "dave"), has(entry, "Mail"))
    timings["add"] = max(added.values())

    dave_entry = partition(office, lan, entry, timings)
    heal(office, lan, entry, dave_entry, timings)
    print(f"timings (s): { {what: round(took, 2) for what, took in timings.items()} }")

    host_sent_nothing(watch)


def partition(office: NetnsOffice, lan: Lan, entry: str, timings: dict[str, float]) -> str:
    """Cut dave off; alice and dave each change the entry; carol gets alice's change only."""
    lan.cut("dave")
    timings["offline"] = office.until_logged("dave to be seen offline, and to see the others so", {
        "alice": {offline("dave"): 1}, "carol": {offline("dave"): 1},
        "dave": {offline("alice"): 1, offline("carol"): 1},
    })  # fmt: skip

    ok(office.cli("alice", "edit", entry, "--title=Mail (alice)", now=office.now()))
    ok(office.cli("dave", "edit", entry, "--title=Mail (dave)", now=office.now()))
    dave_entry = office.add("dave", "Written while cut off")
    at_carol = office.until_all("alice's edit at carol", ["carol"], has(entry, "Mail (alice)"))
    timings["edit at carol"] = at_carol["carol"]

    def leaked() -> str | None:
        carol = office.listings(["carol"])["carol"]
        if titles(carol) != {entry: "Mail (alice)"} or entry_row(carol, entry)["conflict"]:
            return f"carol sees {carol}"
        return None

    holds_for("dave's changes while cut off", leaked, QUIET)
    alice = office.listings(["alice"])["alice"]
    assert titles(alice) == {entry: "Mail (alice)"}, alice
    return dave_entry


def heal(office: NetnsOffice, lan: Lan, entry: str, dave_entry: str,
         timings: dict[str, float]) -> None:  # fmt: skip
    """Plug dave back in: everyone sees him again and all three hold the same, one conflict."""
    lan.heal("dave")
    start = time.monotonic()
    last: dict[str, Listing] = {}

    def same() -> bool | None:
        last.update(office.listings(NAMES))
        first = last["alice"]
        agree = all(view == first for view in last.values()) and dave_entry in titles(first)
        return True if agree else None

    try:
        wait_for("the three listings to agree after the heal", same, LINK_WAIT)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last listings {last}") from None
    timings["converged"] = round(time.monotonic() - start, 2)
    row = entry_row(last["alice"], entry)
    assert row["conflict"] is True, f"concurrent edits of {entry} not flagged: {row}"
    assert titles(last["alice"])[dave_entry] == "Written while cut off"
    shown = office.each(NAMES, "show", entry)
    versions = {name: sorted(v["fields"]["title"] for v in s["versions"])
                for name, s in shown.items()}  # fmt: skip
    assert versions == {name: ["Mail (alice)", "Mail (dave)"] for name in NAMES}, versions

    timings["online again"] = office.until_logged("dave to be seen online again, and to see", {
        "alice": {online("dave"): 2}, "carol": {online("dave"): 2},
        "dave": {online("alice"): 2, online("carol"): 2},
    })  # fmt: skip


def only_lan_addresses(lan: Lan, office: NetnsOffice) -> None:
    """Network rule: every node runs in a PC namespace, listening and doing mDNS on its
    LAN address only, an address the host does not have (so nothing can reach its wires)."""
    assert not lan.addresses() & host_addresses(), "the LAN's range is the host's too"
    namespaces = {pc.netns for pc in lan.pcs.values()}
    for argv in office.argvs:
        assert argv[1:3] == ["netns", "exec"] and argv[3] in namespaces, argv
        assert not any(arg.startswith("--peer") for arg in argv), argv
        given = [
            argv[i + 1] for i, arg in enumerate(argv) if arg in ("--listen", "--mdns-interface")
        ]
        assert len(given) == 2, argv
        assert all(ipaddress.ip_address(a) in SUBNET and a in lan.addresses() for a in given), argv
