"""The status bar and change notices (gui/status.py), and the event inbox (gui/events.py)."""

from __future__ import annotations

import threading

import pytest

from gui.events import Inbox
from gui.status import notice, view
from node.vault import Change

NAMES = {"aa" * 16: "alice", "bb" * 16: "bob"}


def peer(user: str, online: bool) -> dict[str, object]:
    return {"device": "x", "user": user, "online": online, "behind": 0}


def test_no_node_is_offline() -> None:
    v = view(None, "bob", NAMES)
    assert v.offline and "not running" in v.text


def test_no_peer_online_is_offline_and_says_changes_are_kept() -> None:
    v = view({"leader": "bb" * 16, "peers": [peer("alice", False)]}, "bob", NAMES)
    assert v.offline and v.online == () and "sync later" in v.text
    assert v.admin_node == "bob"


@pytest.mark.parametrize(
    ("leader", "shown"),
    [("aa" * 16, "admin node: alice"), ("bb" * 16, "admin node: this PC"), ("", None),
     ("cc" * 16, "admin node: cccccccc")],
)  # fmt: skip
def test_online_names_and_the_admin_node(leader: str, shown: str | None) -> None:
    status = {"leader": leader, "peers": [peer("carol", True), peer("alice", True)]}
    v = view(status, "bob", NAMES)
    assert not v.offline and v.online == ("alice", "carol")
    assert v.text.startswith("Online with alice, carol")
    assert (shown in v.text) if shown else "admin node" not in v.text


def test_many_online_are_counted() -> None:
    status = {"leader": "", "peers": [peer(f"u{i:02d}", True) for i in range(8)]}
    assert view(status, "bob", NAMES).text == "Online with u00, u01, u02, u03, u04 and 3 more"


def test_garbled_status_is_offline_not_a_crash() -> None:
    assert view({"peers": "nonsense", "leader": 7}, "bob", NAMES).offline


@pytest.mark.parametrize(
    ("change", "text"),
    [
        (Change(("e1",), "alice", False), "Office Wi-Fi updated by alice"),
        (Change(("e1", "e2"), "alice", False), "2 entries updated by alice"),
        (Change(("e1",), "", False), "Office Wi-Fi updated"),
        (Change(("zz",), "dave", False), "An entry updated by dave"),
        (Change(("e1",), "bob", True), None),
        (Change((), "alice", False), None),
    ],
)
def test_notices(change: Change, text: str | None) -> None:
    assert notice(change, {"e1": "Office Wi-Fi"}.get) == text


def test_the_inbox_drains_in_capped_batches_from_any_thread() -> None:
    inbox: Inbox[int] = Inbox.new()

    def send(k: int) -> None:
        for i in range(40):
            inbox.put(k * 100 + i)

    senders = [threading.Thread(target=send, args=(k,)) for k in range(3)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    got: list[int] = []
    assert inbox.drain(got.append, limit=50) == 50
    assert inbox.drain(got.append, limit=50) == 50
    assert inbox.drain(got.append, limit=50) == 20
    assert inbox.drain(got.append) == 0
    assert sorted(got) == sorted(k * 100 + i for k in range(3) for i in range(40))


@pytest.mark.parametrize(
    ("entries", "by", "authors", "expected"),
    [
        (("e1",), "", {"e1": "alice"}, "Wi-Fi updated by alice"),  # picked up from the store
        (("e1", "e2"), "", {"e1": "alice", "e2": "alice"}, "2 entries updated by alice"),
        (("e1", "e2"), "", {"e1": "alice", "e2": "dave"}, "2 entries updated"),
        (("e1",), "", {}, "Wi-Fi updated"),
        (("e1",), "dave", {"e1": "alice"}, "Wi-Fi updated by dave"),  # the change says
    ],
)  # fmt: skip
def test_a_notice_names_the_author_the_entries_name(
    entries: tuple[str, ...], by: str, authors: dict[str, str], expected: str
) -> None:
    titles = {"e1": "Wi-Fi", "e2": "Bank"}
    assert notice(Change(entries, by, local=False), titles.get, authors.get) == expected
