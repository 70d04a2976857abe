"""The join's heavy crypto run in a child process (node/isolated.py).

Promise: the long-running node answers joins without ever importing spake2 or
the cryptography library and without its own 64 MiB Argon2id peak, and gets
exactly the results the in-process functions give. Threats covered: bytes
the helper is handed or hands back are parsed strictly: garbage in is a
one-line failure (no traceback, exit 1), a helper that cannot run or answers
nonsense is a HelperError, and a malformed key-exchange message from a
joining PC is a PeerError as it is in-process.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from node import codec, crypto, isolated, messages, pake
from node.enrollment import HELPER_FAILED, Desk
from node.errors import HelperError, PeerError
from node.messages import JoinHello, JoinKey, JoinRefused
from node.office import Office
from node.tokens import Role
from tests.conftest import T0

SECRET = b"apple-river-stone"
NAMEPLATE = 42
SALT = bytes(range(crypto.SALT_SIZE))


def test_the_childs_answer_completes_a_joining_pcs_exchange() -> None:
    client = pake.Side(SECRET, NAMEPLATE, server=False)
    message, server = isolated.pake_answer(SECRET, NAMEPLATE, client.message)
    mine = client.finish(message)
    assert mine.key == server.key and mine.transcript == server.transcript
    assert server.check(mine.confirmation(of_server=False))
    assert mine.check(server.confirmation(of_server=True))


def test_a_wrong_code_gives_keys_that_do_not_confirm() -> None:
    client = pake.Side(b"apple-river-stones", NAMEPLATE, server=False)
    message, server = isolated.pake_answer(SECRET, NAMEPLATE, client.message)
    mine = client.finish(message)
    assert mine.key != server.key
    assert not server.check(mine.confirmation(of_server=False))


@pytest.mark.parametrize("theirs", [b"", b"\x00" * 32, b"\xff" * pake.MESSAGE_SIZE])
def test_a_malformed_key_exchange_message_is_a_peer_error(theirs: bytes) -> None:
    with pytest.raises(PeerError):
        isolated.pake_answer(SECRET, NAMEPLATE, theirs)


def test_argon2id_in_the_child_equals_argon2id_here() -> None:
    ops, mem = crypto.ARGON2ID_OPS_INTERACTIVE, 64 * 1024
    here = crypto.argon2id(SECRET, SALT, ops, mem)
    assert isolated.argon2id(SECRET, SALT, ops, mem) == here
    assert isolated.argon2id(SECRET + b"!", SALT, ops, mem) != here


def test_the_node_side_never_imports_spake2_or_cryptography() -> None:
    """What the memory figure rests on: run in a fresh interpreter, as the node is."""
    code = (
        "import sys\n"
        "from node import isolated\n"
        "msg = bytes.fromhex(sys.argv[1])\n"
        "isolated.pake_answer(b'a-b-c', 1, msg)\n"
        "isolated.argon2id(b'a-b-c', bytes(16), 2, 64 * 1024)\n"
        "print(sorted(m for m in ('spake2', 'cryptography') if m in sys.modules))\n"
    )
    client = pake.Side(b"a-b-c", 1, server=False)
    done = subprocess.run(
        [sys.executable, "-c", code, client.message.hex()],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "[]"


HOSTILE = {
    "empty": b"",
    "random bytes": bytes(range(200)),
    "not a map": codec.encode([1, 2]),
    "unknown op": codec.encode({"op": "shell"}),
    "pake missing a field": codec.encode({"op": "pake", "secret": SECRET, "nameplate": 1}),
    "pake with an extra field": codec.encode(
        {"op": "pake", "secret": SECRET, "nameplate": 1, "theirs": b"", "x": 1}
    ),
    "pake secret too long": codec.encode(
        {"op": "pake", "secret": b"s" * 300, "nameplate": 1, "theirs": b"\x00" * 33}
    ),
    "argon2id with a str password": codec.encode(
        {"op": "argon2id", "password": "pw", "salt": SALT, "ops": 2, "mem": 65536}
    ),
    "argon2id with an impossible cost": codec.encode(
        {"op": "argon2id", "password": b"pw", "salt": SALT, "ops": 0, "mem": 1}
    ),
    "argon2id with a short salt": codec.encode(
        {"op": "argon2id", "password": b"pw", "salt": b"s", "ops": 2, "mem": 65536}
    ),
}


@pytest.mark.parametrize("data", HOSTILE.values(), ids=HOSTILE.keys())
def test_garbage_to_the_helper_is_a_clean_failure(data: bytes) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "node.isolated"],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == b""  # no traceback
    assert codec.decode(done.stdout) in ({"error": "failed"}, {"error": "peer"})


def test_a_helper_that_cannot_run_is_a_crypto_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    with pytest.raises(HelperError, match="could not run"):
        isolated.argon2id(SECRET, SALT, 2, 65536)


@pytest.mark.parametrize(
    "stdout", [b"", b"garbage", codec.encode({"key": b"short"}), codec.encode({"error": 7})]
)
def test_a_helper_answering_nonsense_is_a_crypto_error(
    stdout: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_run(*_args: object, **_kw: object) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess([], 0, stdout, b"")

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(HelperError):
        isolated.argon2id(SECRET, SALT, 2, 65536)


def _hello(alice: Office, now: int) -> tuple[bytes, pake.Side]:
    code = alice.invite("bob", Role.MEMBER, 3600, now)
    side = pake.Side(code.secret, code.nameplate, server=False)
    return messages.encode_join(JoinHello(code.nameplate, side.message)), side


def test_the_admin_nodes_desk_answers_through_the_helper(alice: Office) -> None:
    now = T0 + 60
    frame, side = _hello(alice, now)
    reply = messages.decode_join(Desk(alice, 1, isolate=True).handle(frame, now))
    assert isinstance(reply, JoinKey)
    assert len(side.finish(reply.pake).key) == crypto.KEY_SIZE


def test_a_broken_helper_is_the_admin_nodes_fault_logged_there_not_the_joiners(
    alice: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The joining PC is told the admin node could not answer (not "malformed"), and the
    admin node's log says why, without a secret."""
    now = T0 + 60
    frame, _ = _hello(alice, now)
    logged: list[str] = []
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    reply = messages.decode_join(Desk(alice, 1, log=logged.append, isolate=True).handle(frame, now))
    assert reply == JoinRefused(HELPER_FAILED)
    assert logged == ["a join failed: this PC's join helper process did not work"]
