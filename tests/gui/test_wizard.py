"""The first-launch wizard's checks (gui/wizard.py): every problem named at its field,
a password never quoted, an invite code checked for shape before any network, the
optional admin PC address checked as `--peer` is; and the texts after the wizard.

Threats covered: hostile text typed or pasted into the join form (look-alike digits and
letters, control characters, overlong input, a code that is not one) is refused at its
field before any network or Argon2id; no problem message quotes a password or the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from gui.wizard import (
    INVITE_HOW,
    check_create,
    check_join,
    created_message,
    created_shown,
    joined_message,
    peer_of,
)

PW = "correct horse battery"
CREATE = {"office": "Acme Ltd", "name": "alice", "password": PW, "again": PW}
JOIN = {"code": "42-acorn-actor-adult", "name": "bob", "password": PW, "again": PW}

CREATE_CASES = [
    ("all good", {}, set()),
    ("no office name", {"office": "  "}, {"office"}),
    ("no name", {"name": ""}, {"name"}),
    ("a name too long", {"name": "n" * 65}, {"name"}),
    ("a short password", {"password": "short", "again": "short"}, {"password"}),
    ("passwords differ", {"again": PW + "!"}, {"again"}),
]


@pytest.mark.parametrize(("change", "fields"), [c[1:] for c in CREATE_CASES],
                         ids=[c[0] for c in CREATE_CASES])  # fmt: skip
def test_create(change: dict[str, str], fields: set[str]) -> None:
    problems = check_create({**CREATE, **change})
    assert set(problems) == fields
    assert all(PW not in m and "short" not in m for m in problems.values())


JOIN_CASES = [
    ("all good", {}, set()),
    ("as typed, any case and spaces", {"code": " 42 Acorn ACTOR-adult "}, set()),
    ("not a code", {"code": "hello"}, {"code"}),
    ("a word not in the list", {"code": "42-otter-piano-zzzz"}, {"code"}),
    ("number zero", {"code": "0-otter-piano-ember"}, {"code"}),
    ("no name and a short password", {"name": "", "password": "x", "again": "x"},
     {"name", "password"}),
]  # fmt: skip


HOSTILE_JOIN_CASES = [
    # the invite code, as typed or pasted
    ("empty code", {"code": ""}, {"code"}),
    ("only the number", {"code": "42"}, {"code"}),
    ("two words", {"code": "42-acorn-actor"}, {"code"}),
    ("four words", {"code": "42-acorn-actor-adult-acid"}, {"code"}),
    ("no number", {"code": "acorn-actor-adult-agent"}, {"code"}),
    ("number after the words", {"code": "acorn-actor-adult-42"}, {"code"}),
    ("number over 9999", {"code": "10000-acorn-actor-adult"}, {"code"}),
    ("five digits of zeros", {"code": "00042-acorn-actor-adult"}, {"code"}),
    ("negative number", {"code": "-42-acorn-actor-adult"}, set()),  # "-" is a separator
    ("full-width digits", {"code": "\uff14\uff12-acorn-actor-adult"}, {"code"}),
    ("Arabic-Indic digits", {"code": "\u0664\u0662-acorn-actor-adult"}, {"code"}),
    ("Cyrillic a in a word", {"code": "42-\u0430corn-actor-adult"}, {"code"}),
    ("a NUL inside", {"code": "42-acorn\x00-actor-adult"}, {"code"}),
    ("a word glued with a dot", {"code": "42.acorn-actor-adult"}, {"code"}),
    ("a megabyte of words", {"code": "42-" + "acorn-" * 200_000 + "adult"}, {"code"}),
    ("tabs and newlines between parts", {"code": "42\tacorn\nactor adult"}, set()),
    # the user name
    ("name of spaces", {"name": "   "}, {"name"}),
    ("name with a newline", {"name": "bob\nadmin"}, {"name"}),
    ("name with a NUL", {"name": "bob\x00"}, {"name"}),
    ("name of 64 characters", {"name": "n" * 64}, set()),
    ("name with edge spaces (trimmed, as a slip)", {"name": " bob "}, set()),
    # the passwords
    ("7 characters", {"password": "1234567", "again": "1234567"}, {"password"}),
    ("8 characters", {"password": "12345678", "again": "12345678"}, set()),
    ("again differs by a trailing space", {"again": PW + " "}, {"again"}),
    ("again empty", {"again": ""}, {"again"}),
    # the admin PC address (Advanced)
    ("no address", {"peer": ""}, set()),
    ("an address", {"peer": " 192.168.1.20:4100 "}, set()),
    ("IPv6 in brackets", {"peer": "[fe80::1]:4100"}, set()),
    ("a host name", {"peer": "adminpc:4100"}, {"peer"}),
    ("no port", {"peer": "192.168.1.20"}, {"peer"}),
    ("port 0", {"peer": "192.168.1.20:0"}, {"peer"}),
    ("port 65536", {"peer": "192.168.1.20:65536"}, {"peer"}),
    ("the wildcard address", {"peer": "0.0.0.0:4100"}, {"peer"}),
    ("a multicast address", {"peer": "224.0.0.251:5353"}, {"peer"}),
    ("IPv6 without brackets", {"peer": "fe80::1:4100"}, {"peer"}),
    ("an overlong address", {"peer": "1" * 5000 + ":80"}, {"peer"}),
    ("a URL", {"peer": "tcp://192.168.1.20:4100"}, {"peer"}),
]  # fmt: skip


@pytest.mark.parametrize(("change", "fields"), [c[1:] for c in JOIN_CASES + HOSTILE_JOIN_CASES],
                         ids=[c[0] for c in JOIN_CASES + HOSTILE_JOIN_CASES])  # fmt: skip
def test_join(change: dict[str, str], fields: set[str]) -> None:
    values = {**JOIN, **change}
    problems = check_join(values)
    assert set(problems) == fields
    secrets = [values["password"], "acorn-actor-adult", "acorn actor adult"]
    assert all(s not in m for m in problems.values() for s in secrets if len(s) > 2)
    assert all("\n" not in m and len(m) < 300 for m in problems.values())  # one line each


@pytest.mark.parametrize(("typed", "peer"), [("", None), ("  ", None),
                                             ("10.0.0.5:4100", ("10.0.0.5", 4100)),
                                             ("[::1]:9", ("::1", 9))])  # fmt: skip
def test_the_typed_address_is_read_as_a_peer(typed: str, peer: tuple[str, int] | None) -> None:
    assert peer_of({"peer": typed}) == peer


def test_the_texts_after_the_wizard() -> None:
    shown = created_shown("Acme Ltd", "ABCD-1234", Path("/d/recovery-kit.ovr"), "r-code")
    assert shown.heading.startswith("Acme Ltd") and "ABCD-1234" in shown.fingerprint
    assert "/d/recovery-kit.ovr" in shown.kit and shown.recovery_code == "r-code"
    assert "People" in INVITE_HOW and "Invite" in INVITE_HOW and "vault-admin invite" in INVITE_HOW
    assert created_message("ABCD-1234").startswith("Office created. Its fingerprint: ABCD-1234")
    said = joined_message("Acme Ltd", "member", "ABCD-1234")
    assert said.startswith("Joined Acme Ltd as member.") and "ABCD-1234" in said
