"""Fuzzing the join helper's request parser: node.isolated `_serve` and `main` (the child
process that runs SPAKE2 and Argon2id for the node).

The child reads one request from its stdin and must always answer with one
well-formed reply; the node parses whatever comes back strictly. Threats: a
request of the wrong shape (a nameplate SPAKE2 cannot pack, a PAKE message of
the wrong size, fields of the wrong type) crashes the child with a traceback
instead of an error reply; a child that answers nonsense (killed halfway, or
a broken install) crashes the node. _serve raises only PeerError or
ValueError (what main turns into a reply), main always writes one decodable
reply, and the node's side (`pake_answer`, `argon2id`) raises only HelperError
or PeerError on any answer. Argon2id is replaced by samples.CheapKdf (the node
only ever asks for the interactive cost).
"""

from __future__ import annotations

import io
import subprocess
import sys
import types
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node import codec, isolated, pake
from node.codec import Value
from node.errors import DecodeError, HelperError, PeerError
from tests.fuzz.hostile import FUZZ, hostile, outcome, reshaped
from tests.fuzz.samples import cheap_kdf

CLIENT = pake.Side(b"otter-piano-ember", 42, server=False)
REQUESTS: list[dict[str, Value]] = [
    {"op": "pake", "secret": b"otter-piano-ember", "nameplate": 42, "theirs": CLIENT.message},
    {"op": "argon2id", "password": b"otter-piano-ember", "salt": b"\x01" * 16, "ops": 2,
     "mem": 64 << 20},
]  # fmt: skip
FRAMES = [codec.encode(r) for r in REQUESTS]

# Regression examples (found by this file): a nameplate SPAKE2 cannot pack in 4 bytes
# raised OverflowError, which main() did not catch, so the child died without a reply.
NAMEPLATE_ATTACKS = {
    "negative nameplate": codec.encode({**REQUESTS[0], "nameplate": -1}),
    "nameplate of 2**32": codec.encode({**REQUESTS[0], "nameplate": 2**32}),
    "nameplate of -2**63": codec.encode({**REQUESTS[0], "nameplate": -(2**63)}),
}
requests = (
    hostile(FRAMES, max_size=200)
    | reshaped(REQUESTS)
    | st.sampled_from(list(NAMEPLATE_ATTACKS.values()))
)


def _main(data: bytes) -> tuple[int, bytes]:
    """main() with `data` on its stdin: its exit status and what it wrote."""
    stdin = types.SimpleNamespace(buffer=io.BytesIO(data))
    stdout = types.SimpleNamespace(buffer=io.BytesIO())
    with mock.patch.object(sys, "stdin", stdin), mock.patch.object(sys, "stdout", stdout):
        status = isolated.main()
    return status, stdout.buffer.getvalue()


def test_the_samples_are_served() -> None:
    """Control: both operations answer, and a real client finishes the exchange."""
    with cheap_kdf():
        answer = isolated._serve(FRAMES[0])
        assert isinstance(isolated._serve(FRAMES[1])["key"], bytes)
    message = answer["message"]
    assert isinstance(message, bytes)
    assert CLIENT.finish(message).key == answer["key"]


@pytest.mark.parametrize("data", NAMEPLATE_ATTACKS.values(), ids=list(NAMEPLATE_ATTACKS))
def test_a_nameplate_spake2_cannot_pack_is_refused(data: bytes) -> None:
    with pytest.raises(DecodeError):
        isolated._serve(data)
    assert _main(data) == (1, codec.encode({"error": "peer"}))


@settings(FUZZ, max_examples=200)
@given(requests)
def test_a_hostile_request_is_an_error_the_child_reports(data: bytes) -> None:
    """Threat: a request of the wrong shape raises something `main` does not turn into an
    error reply (so the child dies with a traceback and the node hears nothing)."""
    with cheap_kdf():
        outcome(lambda: isolated._serve(data), PeerError, ValueError)


@settings(FUZZ, max_examples=150)
@given(requests)
def test_the_child_always_writes_one_reply(data: bytes) -> None:
    """Threat: whatever arrives on its stdin, the child exits without a well-formed reply."""
    with cheap_kdf():
        status, written = _main(data)
    reply = codec.Fields(codec.decode(written), "helper reply")
    if status == 0:
        assert "error" not in reply.raw()
    else:
        assert status == 1 and reply.text("error") in ("peer", "failed")


ANSWERS = [
    codec.encode({"message": bytes(33), "key": bytes(32), "transcript": bytes(66)}),
    codec.encode({"key": bytes(32)}),
    codec.encode({"error": "peer"}),
    codec.encode({"error": "failed"}),
]


@settings(FUZZ, max_examples=150)
@given(hostile(ANSWERS, max_size=200), st.sampled_from([0, 1, -9]), st.booleans())
def test_a_nonsense_answer_from_the_child_is_a_helper_or_peer_error(
    answer: bytes, status: int, pake_op: bool
) -> None:
    """Threat: the child answers nonsense, a truncated reply, an error it never sends, or a
    success with a non-zero status, and the node raises something it does not handle."""
    done = subprocess.CompletedProcess(["helper"], status, stdout=answer, stderr=b"")
    with mock.patch.object(subprocess, "run", return_value=done):
        if pake_op:
            outcome(lambda: isolated.pake_answer(b"secret", 42, bytes(33)), HelperError, PeerError)
        else:
            outcome(lambda: isolated.argon2id(b"pw", bytes(16), 2, 1 << 26), HelperError, PeerError)
