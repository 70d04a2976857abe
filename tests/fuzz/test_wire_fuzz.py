"""Fuzzing the wire frames: node.messages `decode` (sync, inside a CURVE session) and
`decode_join` (the admin node's enrollment endpoint, open to anyone on the LAN).

Threat: a peer, or for the join endpoint any host on the LAN, sends frames
built to crash or confuse the node: damaged real frames, and well-formed maps
whose fields have the wrong type, size, sign or range, are missing, or come
with extra ones. Each must be one DecodeError (counted and dropped), and a
frame that is accepted must be the one canonical encoding of what was read.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from node import codec, messages
from node.errors import DecodeError
from node.messages import (
    Envelopes,
    JoinHello,
    JoinKey,
    JoinMessage,
    JoinRefused,
    JoinRequest,
    JoinWelcome,
    Message,
    RecordIds,
    Records,
    SignedCheckpoint,
    Status,
    WantRecords,
)
from tests.fuzz.hostile import FUZZ, damaged, hostile, outcome, reshaped

DEV_A, DEV_B = bytes(range(16)), bytes(range(100, 116))
DIGEST = bytes(range(32))

SYNC: list[Message] = [
    Status((), DIGEST, 0, 0, b"", False),
    Status(((DEV_A, 1), (DEV_B, 2**63 - 1)), DIGEST, 9, 7, DEV_A, True, DEV_B),
    Envelopes((b"an envelope", b""), (DEV_A, DEV_B), more=True),
    Records((b"a record", b"another")),
    RecordIds((DEV_A, DEV_B)),
    WantRecords((DEV_B,)),
    SignedCheckpoint(b"a signed checkpoint"),
]
JOIN: list[JoinMessage] = [
    JoinHello(42, bytes(range(messages.PAKE_SIZE))),
    JoinKey(DEV_A, bytes(range(messages.PAKE_SIZE))),
    JoinRequest(DEV_B, bytes(range(messages.CONFIRM_SIZE)), b"sealed request"),
    JoinWelcome(bytes(range(messages.CONFIRM_SIZE)), b"sealed welcome", 4242),
    JoinRefused("that invite code has expired"),
]
SYNC_FRAMES = [messages.encode(m) for m in SYNC]
JOIN_FRAMES = [messages.encode_join(m) for m in JOIN]
# Either endpoint may be sent the other's frames: splices between them are fair game.
FRAMES = SYNC_FRAMES + JOIN_FRAMES
FRAME_VALUES = [codec.decode(f) for f in FRAMES]


def test_the_samples_are_valid() -> None:
    """Control: the fuzzers start from frames the decoders accept."""
    assert [messages.decode(f) for f in SYNC_FRAMES] == SYNC
    assert [messages.decode_join(f) for f in JOIN_FRAMES] == JOIN


def _sync_frame_is_refused_or_canonical(frame: bytes) -> None:
    message = outcome(lambda: messages.decode(frame), DecodeError)
    if message is not None:
        assert messages.encode(message) == frame


def _join_frame_is_refused_or_canonical(frame: bytes) -> None:
    message = outcome(lambda: messages.decode_join(frame), DecodeError)
    if message is not None:
        assert messages.encode_join(message) == frame


@FUZZ
@given(hostile(FRAMES))
def test_damaged_sync_frames_are_refused_or_canonical(frame: bytes) -> None:
    """Threat: random or damaged bytes in a sync session crash or half-read a frame."""
    _sync_frame_is_refused_or_canonical(frame)


@FUZZ
@given(reshaped(FRAME_VALUES))
def test_reshaped_sync_frames_are_refused_or_canonical(frame: bytes) -> None:
    """Threat: a well-formed map of the wrong shape (a type, size, sign or field changed)
    gets past the schema as something other than what its bytes say."""
    _sync_frame_is_refused_or_canonical(frame)


@FUZZ
@given(hostile(FRAMES))
def test_damaged_join_frames_are_refused_or_canonical(frame: bytes) -> None:
    """Threat: anyone on the LAN sends random or damaged bytes to the join endpoint."""
    _join_frame_is_refused_or_canonical(frame)


@FUZZ
@given(reshaped(FRAME_VALUES))
def test_reshaped_join_frames_are_refused_or_canonical(frame: bytes) -> None:
    """Threat: a join frame with a nameplate, port or size out of range, or a field of the
    wrong type, reaches the join desk as a message."""
    _join_frame_is_refused_or_canonical(frame)


@FUZZ
@given(damaged([messages.pack_vector(((DEV_A, 1), (DEV_B, 2**63 - 1)))]) | st.binary(max_size=96))
def test_a_packed_vector_is_refused_or_read_exactly(blob: bytes) -> None:
    """Threat: a version vector blob whose length is not a whole number of items, or whose
    sequence has the top bit set (negative once stored), is read anyway."""
    vector = outcome(lambda: messages.unpack_vector(blob), DecodeError)
    if vector is not None:
        assert messages.pack_vector(vector) == blob
        assert all(0 <= seq < 2**63 for _, seq in vector)
