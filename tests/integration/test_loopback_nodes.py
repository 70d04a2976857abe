"""Four real `officevault node` processes on 127.0.0.1, driven through the console scripts.

vault_kit's office (admins alice and dave, members bob and carol) is built once per
module; each test gets fresh copies of the four data dirs, each with its node running,
linked to the others by static --peer addresses over CurveZMQ. The commands run at a
device's data dir while its node runs there, as on an office PC, and what the tests
check is what a person sees: `officevault ls`, `show`, `history`, `peers`.

Threats covered: a change made on one PC must reach the others without help, and a
restarted PC must catch up with what it missed (no entry lost anywhere); a member's
edit is refused on his own PC and nothing of it travels; a revoked PC is told, cut
off and wiped, and nothing it writes after the revocation reaches anyone, even from a
PC that was off when it was revoked and never heard of it.

Acts (add, edit, revoke) run as subprocesses beside the nodes; reads (ls, show,
history, status, peers, users) run the same console scripts' `main` in this process,
fast enough to look every 0.1 s, so the latencies printed are within about that.

Not covered here: the protocol's rules (tests/node/), hostile peers and frames (the
sans-IO tests), mDNS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import fails, ok
from tests.integration.nodes import (
    Listing,
    LoopbackOffice,
    holds_for,
    running_office,
    titles,
    wait_for,
)
from tests.node import vault_kit

NAMES = ("alice", "bob", "carol", "dave")
QUIET = 3.0  # seconds a "never arrives" check watches: three heartbeats


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return vault_kit.template(tmp_path_factory.mktemp("kit"))


@pytest.fixture
def office(kit: dict[str, Path], tmp_path: Path) -> Iterator[LoopbackOffice]:
    with running_office(kit, tmp_path, NAMES) as running:
        yield running


def others(*names: str) -> tuple[str, ...]:
    return tuple(n for n in NAMES if n not in names)


def has(entry: str, title: str) -> Callable[[Listing], bool]:
    return lambda listing: titles(listing).get(entry) == title


def test_an_add_and_an_edit_reach_every_other_pc(office: LoopbackOffice) -> None:
    entry = office.add("alice", "Mail")
    added = office.until_all("alice's add elsewhere", others("alice"), has(entry, "Mail"))

    ok(office.cli("alice", "edit", entry, "--title=Company mail", now=office.now()))
    edited = office.until_all("alice's edit elsewhere", others("alice"), has(entry, "Company mail"))

    print(f"add reached the others after {added} s; the edit after {edited} s")
    shown = office.each(NAMES, "show", entry)
    assert {n: (s["title"], s["changed_by"]) for n, s in shown.items()} == {
        n: ("Company mail", "alice") for n in NAMES
    }, f"latencies: add {added} s, edit {edited} s"


def test_a_members_edit_is_refused_and_nothing_travels(office: LoopbackOffice) -> None:
    entry = office.add("alice", "Payroll")
    office.until_all("alice's add everywhere", others("alice"), has(entry, "Payroll"))
    before = office.each(NAMES, "history", entry)
    lists = office.listings(NAMES)

    fails(office.cli("bob", "edit", entry, "--title=Bob was here", now=office.now()),
          "only an admin can")  # fmt: skip

    def changed() -> str | None:
        now = office.listings(NAMES)
        moved = [n for n in NAMES if now[n] != lists[n]]
        return f"the listing changed at {moved}: {now}" if moved else None

    holds_for("after bob's refused edit", changed, QUIET)
    assert office.each(NAMES, "history", entry) == before


def test_peers_shows_everyone_online_and_one_leader(office: LoopbackOffice) -> None:
    device = {n: s["device"] for n, s in office.each(NAMES, "status").items()}
    leader = min(device["alice"], device["dave"])  # the lowest device id among online admins
    names = {d: n for n, d in device.items()}

    def agreed() -> dict[str, Any] | None:
        status = office.each(NAMES, "peers")
        for me, s in status.items():
            online = {names.get(p["device"]) for p in s["peers"] if p["online"]}
            if not s["running"] or online != set(others(me)) or s["leader"] != leader:
                return None
        return status

    status, took = wait_for("every node to see the others and agree on the leader", agreed)
    alice = status["alice"]
    assert alice["port"] == office.ports["alice"]
    assert {p["user"] for p in alice["peers"] if p["online"]} == {"bob", "carol", "dave"}
    assert alice["leader"] == leader, f"leader {names[alice['leader']]} ({took:.1f} s)"


def test_a_restarted_pc_catches_up_and_nothing_is_lost(office: LoopbackOffice) -> None:
    first = office.add("alice", "Before the restart")
    office.until_all("the first add everywhere", others("alice"), has(first, "Before the restart"))

    assert office.nodes["carol"].stop() == 0
    assert "node stopped" in office.nodes["carol"].log()
    missed = [office.add("alice", "Missed 1"), office.add("alice", "Missed 2")]
    office.until_all("the missed adds at bob and dave", ("bob", "dave"),
                     lambda listing: set(missed) <= set(titles(listing)))  # fmt: skip
    assert set(titles(office.listings(["carol"])["carol"])) == {first}

    office.start("carol")
    caught_up = office.until_all("carol to catch up", ("carol",),
                                 lambda listing: set(missed) <= set(titles(listing)))  # fmt: skip
    print(f"carol caught up {caught_up['carol']} s after her node listened again")
    every = office.listings(NAMES)
    assert {n: titles(every[n]) for n in NAMES} == {n: titles(every["alice"]) for n in NAMES}
    assert set(titles(every["alice"])) == {first, *missed}, f"caught up in {caught_up} s"


def test_a_revoked_pc_online_is_told_cut_off_and_wiped(office: LoopbackOffice) -> None:
    kept = office.add("bob", "Bob's before")
    office.until_all("bob's add everywhere", others("bob"), has(kept, "Bob's before"))

    ok(office.admin("alice", "revoke", "bob", "--reason=left", now=office.now()))
    took = office.nodes["alice"].wait_log("revoked device bob")
    office.until_revoked(others("alice", "bob"), "bob")
    bob = office.nodes["bob"]
    assert bob.wait_exit() == 3, bob.log()
    assert "this device was revoked" in bob.log()
    assert (office.paths["bob"] / "REVOKED.txt").is_file()
    assert not (office.paths["bob"] / "vault.db").exists()
    fails(office.cli("bob", "add", "--title=Bob's after", "--password-stdin",
                     stdin="x", now=office.now()), "no OfficeVault keystore")  # fmt: skip

    every = office.listings(others("bob"))
    assert {n: titles(every[n]) for n in every} == {n: {kept: "Bob's before"} for n in every}, (
        f"alice's node logged the revocation {took:.1f} s after the command"
    )


def test_a_pc_off_at_its_revocation_cannot_push_later_adds(office: LoopbackOffice) -> None:
    kept = office.add("bob", "Bob's before")
    office.until_all("bob's add everywhere", others("bob"), has(kept, "Bob's before"))
    assert office.nodes["bob"].stop() == 0

    ok(office.admin("alice", "revoke", "bob", "--reason=left", now=office.now()))
    office.nodes["alice"].wait_log("revoked device bob")
    office.until_revoked(others("alice", "bob"), "bob")
    late = office.add("bob", "Bob's after")  # bob's PC has not heard: it still works alone
    office.start("bob")

    def leaked() -> str | None:
        every = office.listings(others("bob"))
        wrong = {n: titles(listing) for n, listing in every.items()
                 if titles(listing) != {kept: "Bob's before"}}  # fmt: skip
        return f"late={late}, listings {wrong}" if wrong else None

    looks = holds_for("bob's add after his revocation", leaked, QUIET)
    assert looks > 1
    assert "peer online" not in office.nodes["bob"].log()
