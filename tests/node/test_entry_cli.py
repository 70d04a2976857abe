"""End-to-end tests of `officevault`'s entry commands: add, ls, show, history, edit, rm,
restore, purge and resolve.

One office is built per module the way people build it: alice runs `vault-admin
init`; bob's PC joins by file (`officevault request`, `vault-admin enroll`,
`officevault accept`). Every test works on copies of those data dirs.

The commands run in this process (tests/clirun.py's `InProcessCli`: the console
script's `main`, with the environment, working folder and stdin swapped in for the
call and the output captured), which is twenty times faster than a subprocess and
lets argv hold a NUL, which execve refuses; one test drives the installed script
through a real pipe. The office, its devices and `add` are tests/clirun.py's too,
and so are the checks: an error is one line on stderr, a non-zero exit code, no
traceback, nothing on stdout.

Threats covered: a member may only add (every other act is refused before
anything is signed, so the op log does not grow); an entry password reaches
stdout or stderr only with --reveal; bad input changes nothing on disk. Not
covered here: the vault's rules themselves (tests/node/test_vault.py) and the
admin commands over entries (tests/admin_tools/test_vault_cli.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from node.identity import when
from tests import clirun
from tests.clirun import (
    HEX32,
    NEW_SECRET,
    SECRET,
    Device,
    InProcessCli,
    Office,
    Proc,
    T,
    add,
    build_office,
    error_lines,
    fails,
    ok,
    ok_json,
    snapshot,
    write,
)
from tests.node import vault_kit

OTHER_SECRET = "0ther-secret-in-a-refused-act"


def keys_anywhere(value: Any) -> set[str]:
    """Every key of every JSON object nested in `value`."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


def other_id(entry: str) -> str:
    """A 12-digit prefix that matches no entry: `entry`'s with its first digit changed."""
    return ("0" if entry[0] != "0" else "1") + entry[1:12]


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Office:
    return build_office(tmp_path_factory.mktemp("office"), clirun.environment())


@pytest.fixture
def cli(tmp_path: Path, cli_env: dict[str, str]) -> InProcessCli:
    return InProcessCli(tmp_path, cli_env)


@pytest.fixture
def alice(office: Office, tmp_path: Path) -> Device:
    return office.alice.copy(tmp_path / "A")


@pytest.fixture
def bob(office: Office, tmp_path: Path) -> Device:
    return office.bob.copy(tmp_path / "B")


MAIL_FIELDS = ("--username=alice@acme.example", "--url=https://mail.acme.example",
               "--category=Work", "--notes=IMAP on port 993")  # fmt: skip


@pytest.fixture
def mail(cli: InProcessCli, alice: Device) -> str:
    """An entry "Mail" in alice's copy (password SECRET)."""
    return add(cli, alice, "Mail", SECRET, *MAIL_FIELDS)


# -- add and ls ----------------------------------------------------------------------------
def test_add_prints_an_id_that_ls_lists_without_the_password(
    cli: InProcessCli, alice: Device, mail: str
) -> None:
    lines = ok(cli("ls", *alice.common)).stdout.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(mail[:12] + "  ")
    for shown in ("Mail", "alice@acme.example", "Work", "by alice"):
        assert shown in lines[0], lines[0]

    proc = ok(cli("ls", "--json", *alice.common))
    listed = json.loads(proc.stdout)
    assert "password" not in keys_anywhere(listed)
    assert SECRET not in proc.stdout
    [entry] = listed
    assert {k: entry[k] for k in ("id", "title", "username", "url", "category")} == {
        "id": mail, "title": "Mail", "username": "alice@acme.example",
        "url": "https://mail.acme.example", "category": "Work",
    }  # fmt: skip
    assert (entry["created_by"], entry["changed_by"]) == ("alice", "alice")
    assert (entry["trashed"], entry["conflict"], entry["readable"]) == (False, False, True)


def test_ls_filters_by_search_category_and_trash(cli: InProcessCli, alice: Device) -> None:
    wiki = add(cli, alice, "Wiki", SECRET, "--url=https://intranet.acme.example", "--category=Work")
    add(cli, alice, "Bank", SECRET, "--username=finance", "--category=Finance",
        "--notes=the word intranet, only in the notes")  # fmt: skip
    add(cli, alice, "Mail", SECRET, "--category=Work")

    def titles(*args: str) -> list[str]:
        return [e["title"] for e in ok_json(cli("ls", "--json", *args, *alice.common))]

    assert titles() == ["Bank", "Mail", "Wiki"]  # sorted by title
    assert titles("--search", "INTRANET") == ["Wiki"]  # title, username, URL; not notes
    assert titles("--search", "financ") == ["Bank"]
    assert titles("--category", "work") == ["Mail", "Wiki"]
    assert titles("--category", "work", "--search", "mail") == ["Mail"]
    assert titles("--category", "Travel") == []
    assert ok(cli("ls", "--category", "Travel", *alice.common)).stdout == "No entries.\n"
    assert ok(cli("ls", "--trash", *alice.common)).stdout == "The trash is empty.\n"

    ok(cli("rm", wiki, *alice.common))
    assert titles() == ["Bank", "Mail"]
    assert titles("--trash") == ["Wiki"]
    assert titles("--trash", "--category", "Finance") == []
    [line] = ok(cli("ls", "--trash", *alice.common)).stdout.splitlines()
    assert line.startswith(wiki[:12]) and "Wiki" in line


# -- show ----------------------------------------------------------------------------------
def test_show_hides_the_password_until_reveal(cli: InProcessCli, alice: Device, mail: str) -> None:
    hidden = ok(cli("show", mail, *alice.common)).stdout
    assert f"Mail  ({mail})" in hidden
    assert "******** (--reveal to show)" in hidden
    assert "IMAP on port 993" in hidden
    assert SECRET not in hidden
    assert f"  password  {SECRET}\n" in ok(cli("show", mail, "--reveal", *alice.common)).stdout

    shown = ok_json(cli("show", mail, "--json", *alice.common))
    assert "password" not in keys_anywhere(shown)
    assert (shown["id"], shown["title"], shown["notes"]) == (mail, "Mail", "IMAP on port 993")
    revealed = ok_json(cli("show", mail, "--json", "--reveal", *alice.common))
    assert revealed == {**shown, "password": SECRET}


@pytest.mark.parametrize(
    "prefix",
    [lambda e: e[:6], lambda e: e[:12], lambda e: e, lambda e: e[:8].upper(),
     lambda e: f"  {e[:7]} "],
    ids=["6-digits", "12-digits", "whole-id", "upper-case", "padded"],
)  # fmt: skip
def test_show_takes_an_id_prefix(
    cli: InProcessCli, alice: Device, mail: str, prefix: Callable[[str], str]
) -> None:
    assert ok_json(cli("show", prefix(mail), "--json", *alice.common))["id"] == mail


BAD_IDS: list[tuple[str, Callable[[str], str], str]] = [
    ("too-short", lambda e: e[:5], "is not an entry id"),
    ("empty", lambda e: "", "is not an entry id"),
    ("not-hex", lambda e: "xyz" + e[3:12], "is not an entry id"),
    ("dashed", lambda e: f"{e[:4]}-{e[4:10]}", "is not an entry id"),
    ("unknown", other_id, "no entry"),
]
ID_COMMANDS: list[tuple[str, ...]] = [
    ("show",), ("history",), ("show", "--json"), ("edit", "--title=X"), ("rm",), ("restore",),
    ("purge",),
]  # fmt: skip


@pytest.mark.parametrize("command", ID_COMMANDS, ids=[" ".join(c) for c in ID_COMMANDS])
@pytest.mark.parametrize(("bad", "fragment"), [c[1:] for c in BAD_IDS], ids=[c[0] for c in BAD_IDS])
def test_a_bad_entry_id_is_a_one_line_error(
    cli: InProcessCli,
    alice: Device,
    mail: str,
    command: tuple[str, ...],
    bad: Callable[[str], str],
    fragment: str,
) -> None:
    before = snapshot(alice.path)
    fails(cli(command[0], bad(mail), *command[1:], *alice.common), fragment)
    assert snapshot(alice.path) == before


# -- edit and history ------------------------------------------------------------------------
def test_edit_keeps_every_version_in_history(cli: InProcessCli, alice: Device) -> None:
    entry = add(cli, alice, "Mail", SECRET, now=T + 60)
    common = alice.common
    assert ok(cli("edit", entry, "--password-stdin", *common, stdin=NEW_SECRET.encode(),
                  now=T + 120)).stdout == "Saved.\n"  # fmt: skip
    ok(cli("edit", entry, "--title", "Company mail", *common, now=T + 180))
    assert ok_json(cli("show", entry, "--json", "--reveal", *common))["password"] == NEW_SECRET

    versions = ok_json(cli("history", entry, "--json", *common))
    assert [(v["action"], v["at"], v["by"], v["fields"]["title"]) for v in versions] == [
        ("added", T + 60, "alice", "Mail"),
        ("changed", T + 120, "alice", "Mail"),
        ("changed", T + 180, "alice", "Company mail"),
    ]
    assert {v["fields"]["password"] for v in versions} == {""}
    assert len({v["version"] for v in versions}) == 3

    text = ok(cli("history", entry, *common)).stdout
    assert SECRET not in text and NEW_SECRET not in text
    heads = [line.split() for line in text.splitlines() if not line.startswith(" ")]
    assert [(h[0], " ".join(h[1:4]), h[4], h[6]) for h in heads] == [
        (v["version"], when(v["at"]), v["action"], "alice") for v in versions
    ]
    assert text.count("    password  ********") == 3

    revealed = ok_json(cli("history", entry, "--json", "--reveal", *common))
    assert [v["fields"]["password"] for v in revealed] == [SECRET, NEW_SECRET, NEW_SECRET]
    text = ok(cli("history", entry, "--reveal", *common)).stdout
    assert f"    password  {SECRET}\n" in text
    assert f"    password  {NEW_SECRET}\n" in text


@pytest.mark.parametrize(
    ("stdin", "stored"),
    [(b"pw\n", "pw"), (b"pw", "pw"), (b"pw\r\n", "pw"), (b"  spaced pw  \n", "  spaced pw  "),
     (b"two\nlines\n", "two\nlines"), ("pässwörd €\n".encode(), "pässwörd €"),
     (b"p" * 4096, "p" * 4096)],
    ids=["newline", "bare", "crlf", "spaces-kept", "two-lines", "utf8", "longest"],
)  # fmt: skip
def test_password_stdin_drops_one_line_ending_only(
    cli: InProcessCli, alice: Device, stdin: bytes, stored: str
) -> None:
    proc = ok(cli("add", "--title", "T", "--password-stdin", *alice.common, stdin=stdin))
    shown = ok_json(cli("show", proc.stdout.strip(), "--json", "--reveal", *alice.common))
    assert shown["password"] == stored


def test_longest_fields_are_accepted(cli: InProcessCli, alice: Device) -> None:
    entry = add(cli, alice, "t" * 256, SECRET, "--category=" + "c" * 64)
    shown = ok_json(cli("show", entry, "--json", *alice.common))
    assert (shown["title"], shown["category"]) == ("t" * 256, "c" * 64)


# -- trash, restore, purge ---------------------------------------------------------------------
def test_rm_restore_and_purge(cli: InProcessCli, alice: Device, mail: str) -> None:
    common = alice.common
    assert ok(cli("rm", mail, *common)).stdout == "Moved to the trash.\n"
    assert ok(cli("ls", *common)).stdout == "No entries.\n"
    assert [e["id"] for e in ok_json(cli("ls", "--trash", "--json", *common))] == [mail]
    assert "[in the trash]" in ok(cli("show", mail, *common)).stdout
    fails(cli("edit", mail, "--title=X", *common), "restore it first")
    fails(cli("rm", mail, *common), "no entry")

    assert ok(cli("restore", mail, *common)).stdout == "Restored.\n"
    assert [e["id"] for e in ok_json(cli("ls", "--json", *common))] == [mail]
    assert ok(cli("ls", "--trash", *common)).stdout == "The trash is empty.\n"
    fails(cli("restore", mail, *common), "not in the trash")

    ok(cli("rm", mail, *common))
    assert ok(cli("purge", mail, *common)).stdout == "Purged for good.\n"
    for command in ("show", "history", "restore", "purge"):
        fails(cli(command, mail, *common), "no entry")
    assert ok(cli("ls", "--trash", *common)).stdout == "The trash is empty.\n"
    assert ok(cli("ls", *common)).stdout == "No entries.\n"


def test_purge_of_a_live_entry_is_refused(cli: InProcessCli, alice: Device, mail: str) -> None:
    size = alice.op_log_size()
    line = fails(cli("purge", mail, *alice.common), "move the entry to the trash first")
    assert "'rm'" in line
    assert alice.op_log_size() == size
    assert ok_json(cli("show", mail, "--json", *alice.common))["trashed"] is False


# -- a member may only add ---------------------------------------------------------------------
def test_a_member_can_add_and_read(cli: InProcessCli, bob: Device) -> None:
    entry = add(cli, bob, "Bob's printer", SECRET, "--username=bob")
    listed = ok_json(cli("ls", "--json", *bob.common))
    assert [(e["id"], e["created_by"]) for e in listed] == [(entry, "bob")]
    assert ok_json(cli("show", entry[:6], "--json", "--reveal", *bob.common))["password"] == SECRET
    assert [v["by"] for v in ok_json(cli("history", entry, "--json", *bob.common))] == ["bob"]


MEMBER_REFUSED: list[tuple[str, tuple[str, ...], str]] = [
    ("edit", ("edit", "{id}", "--title=Mine now"), "edit entries"),
    ("edit-password", ("edit", "{id}", "--password-stdin"), "edit entries"),
    ("rm", ("rm", "{id}"), "delete entries"),
    ("restore", ("restore", "{id}"), "restore entries"),
    ("purge", ("purge", "{id}"), "purge entries"),
    ("resolve", ("resolve", "{id}", "--keep", "0badc0de"), "resolve conflicts"),
]


@pytest.mark.parametrize(
    ("args", "act"), [c[1:] for c in MEMBER_REFUSED], ids=[c[0] for c in MEMBER_REFUSED]
)
def test_a_member_cannot_change_entries(
    cli: InProcessCli, bob: Device, args: tuple[str, ...], act: str
) -> None:
    """Threat: a member rewrites, deletes or purges the office's entries (DESIGN I-2).

    Refused before anything is signed: bob's own op log does not grow.
    """
    entry = add(cli, bob, "Bob's printer")
    size, before = bob.op_log_size(), snapshot(bob.path)
    line = fails(cli(*(a.format(id=entry) for a in args), *bob.common,
                     stdin=OTHER_SECRET.encode()), "only an admin can")  # fmt: skip
    assert line.endswith(f"only an admin can {act}"), line
    assert bob.op_log_size() == size
    assert snapshot(bob.path) == before


# -- bad input: one line, exit 1 (2 for usage), nothing written --------------------------------
BAD_INPUT: list[tuple[str, tuple[str, ...], bytes, str, int]] = [
    ("add-empty-stdin", ("add", "--title=T", "--password-stdin"), b"", "no password on stdin", 1),
    ("add-stdin-only-a-line-end", ("add", "--title=T", "--password-stdin"), b"\r\n",
     "no password on stdin", 1),
    ("add-title-too-long", ("add", "--title=" + "x" * 257), b"", "title is longer than 256", 1),
    ("add-category-too-long", ("add", "--title=T", "--category=" + "c" * 65), b"",
     "category is longer than 64", 1),
    ("add-password-too-long", ("add", "--title=T", "--password-stdin"), b"p" * 4097,
     "password is longer than 4096", 1),
    ("add-password-too-long-in-4-byte-characters", ("add", "--title=T", "--password-stdin"),
     "\U0001f511".encode() * 5000, "password is longer than 4096", 1),
    ("add-stdin-not-utf8", ("add", "--title=T", "--password-stdin"), b"\xff\xfe-latin1-\xe9\n",
     "UTF-8", 1),
    ("add-nul-in-notes", ("add", "--title=T", "--notes=a\x00b"), b"", "notes contains a NUL", 1),
    ("add-nul-in-title", ("add", "--title=\x00"), b"", "title contains a NUL", 1),
    ("add-blank-title", ("add", "--title=   "), b"", "needs a title", 1),
    ("add-prompt-without-terminal", ("add", "--title=T", "--password-prompt"), b"",
     "--password-stdin", 1),
    ("add-without-title", ("add", "--username=u"), b"", "--title", 2),
    ("add-both-password-options", ("add", "--title=T", "--password-stdin", "--password-prompt"),
     b"pw\n", "not allowed", 2),
    ("edit-nothing-to-change", ("edit", "{id}"), b"", "say what to change", 1),
    ("edit-same-title", ("edit", "{id}", "--title=Mail"), b"", "nothing to change", 1),
    ("edit-same-password", ("edit", "{id}", "--password-stdin"), SECRET.encode(),
     "nothing to change", 1),
    ("edit-empty-stdin", ("edit", "{id}", "--password-stdin"), b"", "no password on stdin", 1),
    ("edit-blank-title", ("edit", "{id}", "--title="), b"", "needs a title", 1),
    ("edit-title-too-long", ("edit", "{id}", "--title=" + "y" * 257), b"",
     "title is longer than 256", 1),
    ("edit-nul-in-notes", ("edit", "{id}", "--notes=\x00"), b"", "notes contains a NUL", 1),
    ("edit-unknown-entry", ("edit", "{unknown}", "--title=X"), b"", "no entry", 1),
    ("show-unknown-entry", ("show", "{unknown}"), b"", "no entry", 1),
    ("rm-unknown-entry", ("rm", "{unknown}"), b"", "no entry", 1),
    ("restore-a-live-entry", ("restore", "{id}"), b"", "not in the trash", 1),
    ("resolve-without-a-conflict", ("resolve", "{id}", "--keep", "0badc0de"), b"",
     "has no conflict", 1),
    ("resolve-without-keep", ("resolve", "{id}"), b"", "--keep", 2),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "stdin", "fragment", "code"),
    [c[1:] for c in BAD_INPUT],
    ids=[c[0] for c in BAD_INPUT],
)
def test_bad_input_is_one_line_and_writes_nothing(
    cli: InProcessCli,
    alice: Device,
    mail: str,
    args: tuple[str, ...],
    stdin: bytes,
    fragment: str,
    code: int,
) -> None:
    listed = ok(cli("ls", "--json", *alice.common)).stdout
    before = snapshot(alice.path)
    argv = [a.format(id=mail, unknown=other_id(mail)) for a in args]
    line = fails(cli(*argv, *alice.common, stdin=stdin), fragment, code)
    assert snapshot(alice.path) == before
    assert ok(cli("ls", "--json", *alice.common)).stdout == listed
    typed = stdin.decode("utf-8", "ignore").strip()
    if len(typed) >= 8:  # the rejected password is not echoed back
        assert typed[:8] not in line


# -- no password on screen without --reveal ----------------------------------------------------
def test_no_output_holds_a_password_unless_revealed(cli: InProcessCli, alice: Device) -> None:
    """Threat: an entry password on a screen, in a scroll-back buffer or a log without the
    user asking for it. Every command of a day's work is checked, refusals included."""
    common = alice.common
    entry = add(cli, alice, "Mail", SECRET, *MAIL_FIELDS)
    quiet = [
        cli("ls", *common), cli("ls", "--json", *common), cli("ls", "--search", "mail", *common),
        cli("show", entry, *common), cli("show", entry[:6], "--json", *common),
        cli("history", entry, *common), cli("history", entry, "--json", *common),
        cli("edit", entry, "--password-stdin", *common, stdin=NEW_SECRET.encode()),
        cli("edit", entry, "--title=Company mail", *common),
        cli("show", entry, *common), cli("history", entry, *common),
        cli("history", entry, "--json", *common),
        cli("edit", entry, "--title=" + "x" * 257, "--password-stdin", *common,
            stdin=OTHER_SECRET.encode()),
        cli("add", "--title=T", "--notes=\x00", "--password-stdin", *common,
            stdin=OTHER_SECRET.encode()),
        cli("edit", other_id(entry), "--password-stdin", *common, stdin=OTHER_SECRET.encode()),
        cli("rm", entry, *common), cli("ls", "--trash", *common),
        cli("ls", "--trash", "--json", *common), cli("show", entry, "--json", *common),
        cli("restore", entry, *common),
        cli.admin("audit", *common), cli.admin("audit", "--json", *common),
        cli.admin("audit", "--entry", entry[:8], *common),
        cli.admin("export", "--format", "csv", "--out", "plain.csv", *common),
    ]  # fmt: skip
    for proc in quiet:
        for secret in (SECRET, NEW_SECRET, OTHER_SECRET):
            assert secret not in proc.stdout + proc.stderr, proc.args
    assert sum(p.returncode == 0 for p in quiet) == len(quiet) - 3

    assert NEW_SECRET in ok(cli("show", entry, "--reveal", *common)).stdout
    history = ok(cli("history", entry, "--reveal", *common)).stdout
    assert SECRET in history and NEW_SECRET in history
    audit = ok(cli.admin("audit", "--reveal", *common)).stdout
    assert f"password: {SECRET} -> {NEW_SECRET}" in audit
    assert OTHER_SECRET not in history + audit  # refused acts left nothing behind


def test_the_installed_script_reads_the_password_from_a_pipe(
    alice: Device, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Everything else runs `main` in this process; this is the real console script."""

    def run(*args: str | Path, stdin: str = "") -> Proc:
        return subprocess.run(["officevault", *map(str, args)], cwd=tmp_path, env=cli_env,
                              input=stdin, capture_output=True, text=True,
                              timeout=clirun.TIMEOUT, check=False)  # fmt: skip

    entry = ok(run("add", "--title", "Piped", "--password-stdin", *alice.common,
                   stdin=SECRET + "\n")).stdout.strip()  # fmt: skip
    assert HEX32.fullmatch(entry)
    assert SECRET not in ok(run("show", entry, *alice.common)).stdout
    assert f"  password  {SECRET}\n" in ok(run("show", entry, "--reveal", *alice.common)).stdout
    fails(run("add", "--title", "T", "--password-stdin", *alice.common), "no password on stdin")


# -- conflicts (two admins, made through the API) ----------------------------------------------
@dataclass(frozen=True)
class Conflict:
    alice: Device
    entry: str
    labels: dict[str, str]  # the head versions' labels, by whose edit made them


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return vault_kit.template(tmp_path_factory.mktemp("kit"))


@pytest.fixture
def conflict(kit: dict[str, Path], tmp_path: Path) -> Conflict:
    """Admins alice and dave each edited the same entry before hearing of the other's edit."""
    t0 = vault_kit.T0
    paths = vault_kit.replicas({n: kit[n] for n in ("alice", "dave")}, tmp_path / "kit")
    with vault_kit.opened(paths) as v:
        entry = v["alice"].add({"title": "Router", "password": "first-router-pw"}, t0 + 100)
        vault_kit.deliver(v["alice"], v["dave"])
        v["alice"].edit(entry, {"title": "Router (alice)", "password": "alice-router-pw"}, t0 + 200)
        v["dave"].edit(entry, {"title": "Router (dave)", "password": "dave-router-pw"}, t0 + 300)
        vault_kit.deliver(v["alice"], v["dave"])
        vault_kit.deliver(v["dave"], v["alice"])
        heads = {h.by: h.label for h in v["alice"].get(entry).heads}
    assert set(heads) == {"alice", "dave"}
    pw = write(tmp_path / "kit.pw", vault_kit.PASSWORD + "\n")
    return Conflict(Device(paths["alice"], pw), entry, heads)


def test_show_names_both_versions_of_a_conflict(cli: InProcessCli, conflict: Conflict) -> None:
    common, entry = conflict.alice.common, conflict.entry
    text = ok(cli("show", entry, *common)).stdout
    assert "CONFLICT" in text
    for user, label in conflict.labels.items():
        assert re.search(rf"^    {label}  .* by {user}: Router \({user}\)$", text, re.M), text
    assert f"officevault resolve {entry[:12]} --keep VERSION" in text
    assert "[conflict]" in ok(cli("ls", *common)).stdout
    shown = ok_json(cli("show", entry, "--json", *common))
    assert shown["conflict"] is True
    assert {v["version"] for v in shown["versions"]} == set(conflict.labels.values())
    assert "-router-pw" not in text + json.dumps(shown)


def test_resolve_keeps_the_chosen_version(cli: InProcessCli, conflict: Conflict) -> None:
    common, entry, device = conflict.alice.common, conflict.entry, conflict.alice
    now = vault_kit.T0 + 400  # inside the kit's capabilities, whatever the real clock says
    size = device.op_log_size()
    fails(cli("edit", entry, "--title=X", *common, now=now), "resolve it first")
    line = fails(cli("resolve", entry, "--keep", "0badc0de", *common, now=now), "no version")
    assert all(label in line for label in conflict.labels.values())
    assert device.op_log_size() == size

    keep = conflict.labels["dave"].upper()  # labels are hex: any case will do
    proc = ok(cli("resolve", entry, "--keep", keep, *common, now=now))
    assert proc.stdout == "Conflict resolved.\n"
    text = ok(cli("show", entry, *common)).stdout
    assert "CONFLICT" not in text
    shown = ok_json(cli("show", entry, "--json", "--reveal", *common))
    assert (shown["title"], shown["password"], shown["conflict"]) == (
        "Router (dave)", "dave-router-pw", False)  # fmt: skip
    assert ok_json(cli("history", entry, "--json", *common))[-1]["by"] == "alice"
    fails(cli("resolve", entry, "--keep", keep, *common, now=now), "has no conflict")
    resolved = [e for e in ok_json(cli.admin("audit", "--json", *common)) if e["entry"] == entry]
    assert [e["action"] for e in resolved][-1] == "resolved"


def test_the_runner_sets_the_test_environment_for_the_call_only(
    cli: InProcessCli, alice: Device
) -> None:
    """The fast KDF and the faked clock reach the command (it warns of both, as a subprocess
    would) and are gone from this process's environment afterwards."""
    outside = dict(os.environ)
    proc = ok(cli("add", "--title=T", *alice.common, now=T))
    assert {clirun.KDF_WARNING, clirun.CLOCK_WARNING} <= set(proc.stderr.splitlines())
    assert error_lines(proc) == []
    assert dict(os.environ) == outside
