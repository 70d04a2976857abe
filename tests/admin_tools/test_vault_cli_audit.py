"""End-to-end tests of `vault-admin audit`: who added, changed, trashed, restored and
purged which entry, and when.

Three days of acts (`story`) are made once per module, with a faked clock, on copies
of tests/clirun.py's office (alice admin, bob member joined by file) through its
in-process runner; bob's addition reaches alice's PC by the API.

Threats covered: a member reads the audit trail (refused); a password reaches the
screen without --reveal (audit shows ***); a purged entry lingers in the audit trail.
Not covered: the vault's audit events themselves (tests/node/test_vault.py), and the
other admin commands over entries (tests/admin_tools/test_vault_cli.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from node.identity import when
from tests import clirun
from tests.clirun import (
    DAY,
    NEW_SECRET,
    SECRET,
    Device,
    InProcessCli,
    Office,
    T,
    add,
    build_office,
    fails,
    ok,
    ok_json,
)

BOB_SECRET = "b0b-wiki-secret"
PURGED_SECRET = "purged-entry-secret"


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Office:
    return build_office(tmp_path_factory.mktemp("office"), clirun.environment())


@pytest.fixture
def cli(tmp_path: Path, cli_env: dict[str, str]) -> InProcessCli:
    return InProcessCli(tmp_path, cli_env, "vault-admin")


# -- audit -------------------------------------------------------------------------------------
def at(day: int, hour: int) -> int:
    return T + day * DAY + hour * 3600


def date_of(day: int) -> str:
    return dt.datetime.fromtimestamp(T + day * DAY, dt.UTC).date().isoformat()


@dataclass(frozen=True)
class Story:
    alice: Device
    bob: Device
    mail: str
    wiki: str
    old: str

    def events(self) -> list[tuple[int, str, str, str, str]]:
        """(at, user, action, entry, title) of every act, oldest first."""
        return [
            (at(0, 1), "alice", "added", self.mail, "Mail"),
            (at(0, 2), "alice", "changed", self.mail, "Mail"),
            (at(1, 1), "bob", "added", self.wiki, "Wiki"),
            (at(1, 2), "alice", "trashed", self.mail, "Mail"),
            (at(2, 1), "alice", "restored", self.mail, "Mail"),
            (at(2, 2), "alice", "added", self.old, ""),  # purged: nothing of it is shown
            (at(2, 3), "alice", "trashed", self.old, ""),
            (at(2, 4), "alice", "purged", self.old, ""),
        ]


@pytest.fixture(scope="module")
def story(office: Office, tmp_path_factory: pytest.TempPathFactory) -> Story:
    """Three days of acts on alice's PC, bob's addition delivered to it by the API.

    Day 0: alice adds Mail, then changes its password. Day 1: bob adds Wiki; alice
    trashes Mail. Day 2: alice restores Mail; adds Old, trashes and purges it.
    """
    root = tmp_path_factory.mktemp("story")
    cli = InProcessCli(root, clirun.environment())
    alice, bob = office.alice.copy(root / "A"), office.bob.copy(root / "B")
    mail = add(cli, alice, "Mail", SECRET, "--username=alice", now=at(0, 1))
    ok(cli("edit", mail, "--password-stdin", *alice.common, stdin=NEW_SECRET.encode(),
           now=at(0, 2)))  # fmt: skip
    wiki = add(cli, bob, "Wiki", BOB_SECRET, now=at(1, 1))
    with bob.vault() as source, alice.vault() as target:
        for blob in source.op_log():
            target.receive(blob)
    ok(cli("rm", mail, *alice.common, now=at(1, 2)))
    ok(cli("restore", mail, *alice.common, now=at(2, 1)))
    old = add(cli, alice, "Old", PURGED_SECRET, now=at(2, 2))
    ok(cli("rm", old, *alice.common, now=at(2, 3)))
    ok(cli("purge", old, *alice.common, now=at(2, 4)))
    return Story(alice, bob, mail, wiki, old)


def audit_json(cli: InProcessCli, story: Story, *args: str) -> list[Any]:
    events: list[Any] = ok_json(cli("audit", "--json", *args, *story.alice.common))
    return events


def test_audit_lists_every_act_with_its_user_oldest_first(cli: InProcessCli, story: Story) -> None:
    events = audit_json(cli, story)
    assert [(e["at"], e["user"], e["action"], e["entry"], e["title"]) for e in events] == (
        story.events()
    )
    changes = {(e["action"], e["entry"]): e["changes"] for e in events}
    assert changes["added", story.mail] == [
        {"field": "title", "from": "", "to": "Mail"},
        {"field": "username", "from": "", "to": "alice"},
        {"field": "password", "from": "", "to": "***"},
        {"field": "category", "from": "", "to": "General"},
    ]
    assert changes["changed", story.mail] == [{"field": "password", "from": "***", "to": "***"}]
    assert changes["trashed", story.mail] == []
    assert changes["added", story.old] == []
    assert {e["device"] for e in events if e["user"] == "bob"} != {
        e["device"] for e in events if e["user"] == "alice"
    }


def test_audit_text_masks_passwords_unless_revealed(cli: InProcessCli, story: Story) -> None:
    text = ok(cli("audit", *story.alice.common)).stdout
    heads = [line.split(maxsplit=6) for line in text.splitlines() if not line.startswith(" ")]
    assert [(" ".join(h[:3]), h[3], h[4], h[5], h[6] if len(h) > 6 else "") for h in heads] == [
        (when(t), user, action, entry[:12], title)
        for t, user, action, entry, title in story.events()
    ]
    assert "    password: *** -> ***\n" in text
    assert "    password: ***\n" in text
    for secret in (SECRET, NEW_SECRET, BOB_SECRET, PURGED_SECRET):
        assert secret not in text

    revealed = ok(cli("audit", "--reveal", *story.alice.common)).stdout
    assert f"    password: {SECRET} -> {NEW_SECRET}\n" in revealed
    assert f"    password: {BOB_SECRET}\n" in revealed
    events = audit_json(cli, story, "--reveal")
    changed = next(e for e in events if e["action"] == "changed")
    assert changed["changes"] == [{"field": "password", "from": SECRET, "to": NEW_SECRET}]


def test_a_purged_entry_leaves_no_value_in_the_audit_trail(cli: InProcessCli, story: Story) -> None:
    """Threat: purge "for good" that an admin can still read back with audit --reveal."""
    for args in ((), ("--reveal",), ("--json", "--reveal"), ("--entry", story.old[:8], "--reveal")):
        out = ok(cli("audit", *args, *story.alice.common)).stdout
        assert PURGED_SECRET not in out
        assert "Old" not in out


AUDIT_FILTERS: list[tuple[str, tuple[str, ...], list[int]]] = [
    ("everything", (), [0, 1, 2, 3, 4, 5, 6, 7]),
    ("user-bob", ("--user", "bob"), [2]),
    ("user-alice", ("--user", "alice"), [0, 1, 3, 4, 5, 6, 7]),
    ("user-unknown", ("--user", "mallory"), []),
    ("entry-prefix", ("--entry", "{mail}"), [0, 1, 3, 4]),
    ("entry-upper-case", ("--entry", "{MAIL}"), [0, 1, 3, 4]),
    ("since-day-0", ("--since", "{day0}"), [0, 1, 2, 3, 4, 5, 6, 7]),
    ("since-day-1", ("--since", "{day1}"), [2, 3, 4, 5, 6, 7]),
    ("since-day-2", ("--since", "{day2}"), [4, 5, 6, 7]),
    ("since-day-3", ("--since", "{day3}"), []),
    ("user-and-since", ("--user", "alice", "--since", "{day1}"), [3, 4, 5, 6, 7]),
    ("entry-and-since", ("--entry", "{mail}", "--since", "{day2}"), [4]),
]


@pytest.mark.parametrize(
    ("args", "picked"), [c[1:] for c in AUDIT_FILTERS], ids=[c[0] for c in AUDIT_FILTERS]
)
def test_audit_filters(
    cli: InProcessCli, story: Story, args: tuple[str, ...], picked: list[int]
) -> None:
    places = {f"day{n}": date_of(n) for n in range(4)}
    places |= {"mail": story.mail[:8], "MAIL": story.mail[:8].upper()}
    argv = [a.format(**places) for a in args]
    events = audit_json(cli, story, *argv)
    every = story.events()
    assert [(e["at"], e["user"], e["action"], e["entry"], e["title"]) for e in events] == [
        every[i] for i in picked
    ]
    text = ok(cli("audit", *argv, *story.alice.common)).stdout
    assert (text == "No changes match.\n") is (not picked)


BAD_DATES = ["2026-13-01", "2026-02-30", "yesterday", "01/02/2026", "2026-1-1", ""]


@pytest.mark.parametrize("since", BAD_DATES, ids=[d or "empty" for d in BAD_DATES])
def test_audit_refuses_a_bad_date(cli: InProcessCli, story: Story, since: str) -> None:
    line = fails(cli("audit", "--since", since, *story.alice.common), "--since wants a date like")
    assert repr(since) in line


def test_a_member_cannot_read_the_audit_trail(cli: InProcessCli, story: Story) -> None:
    for args in ((), ("--json",), ("--reveal",)):
        fails(cli("audit", *args, *story.bob.common), "only an admin can read the audit trail")
