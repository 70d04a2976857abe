"""node.messages: every wire message round-trips, and anything else is a DecodeError.

Both codecs are covered: the sync messages (`encode`/`decode`, inside a CURVE
session) and the joining messages (`encode_join`/`decode_join`, on the admin
node's plain enrollment endpoint, where anyone on the LAN can write).

Threats covered (SECURITY_TESTS 19, DESIGN I-5): a peer inside a valid CurveZMQ
session sends frames of the wrong kind, with wrong types, wrong id lengths,
negative sequence numbers or terms, extra or missing fields, more blobs, ids
or vector entries than the caps allow, or more bytes than MAX_FRAME. Each must
be one DecodeError (which the node counts and drops), never another exception
and never a half-read message. Hypothesis feeds arbitrary and damaged bytes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node import codec, messages
from node.codec import Value
from node.errors import DecodeError
from node.messages import (
    CONFIRM_SIZE,
    ID,
    MAX_BLOBS,
    MAX_DEVICES,
    MAX_FRAME,
    MAX_IDS,
    MAX_JOIN_FRAME,
    MAX_TERM,
    PAKE_SIZE,
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
    Status,
    WantRecords,
)

DEV_A = bytes(range(ID))
DEV_B = bytes(range(100, 100 + ID))
DIGEST = bytes(range(32))
INT64_MAX = 2**63 - 1

# -- round trips ------------------------------------------------------------------------

EXAMPLES: list[Message] = [
    Status((), DIGEST, 0, 0, b"", False),
    Status(((DEV_A, 1), (DEV_B, INT64_MAX)), DIGEST, 9, 7, DEV_A, True),
    Status(((DEV_A, 0),), DIGEST, 0, MAX_TERM, DEV_B, False),
    Envelopes(()),
    Envelopes((b"", b"\x00" * 100, b"one envelope")),
    Envelopes((b"e",), (bytes(range(16)),), more=True),
    Records(()),
    Records((b"rec1", b"rec2")),
    RecordIds(()),
    RecordIds((DEV_A, DEV_B)),
    WantRecords(()),
    WantRecords((DEV_B,)),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_kind_round_trips(message: Message) -> None:
    frame = messages.encode(message)
    assert messages.decode(frame) == message
    assert messages.encode(messages.decode(frame)) == frame


devices = st.binary(min_size=ID, max_size=ID)
blobs = st.lists(st.binary(max_size=64), max_size=6).map(tuple)
id_lists = st.lists(devices, max_size=6).map(tuple)
any_message: st.SearchStrategy[Message] = st.one_of(
    st.builds(
        Status,
        vector=st.lists(st.tuples(devices, st.integers(0, INT64_MAX)), max_size=6).map(tuple),
        records=st.binary(min_size=32, max_size=32),
        record_count=st.integers(0, INT64_MAX),
        term=st.integers(0, MAX_TERM),
        leader=st.just(b"") | devices,
        admin=st.booleans(),
    ),
    st.builds(Envelopes, blobs),
    st.builds(Records, blobs),
    st.builds(RecordIds, id_lists),
    st.builds(WantRecords, id_lists),
)


@given(any_message)
@settings(max_examples=200)
def test_any_message_round_trips(message: Message) -> None:
    assert messages.decode(messages.encode(message)) == message


def test_the_kinds_are_told_apart() -> None:
    """Envelopes and Records share a shape; the tag alone must keep them apart."""
    assert messages.decode(messages.encode(Envelopes((b"x",)))) == Envelopes((b"x",))
    assert messages.decode(messages.encode(Records((b"x",)))) == Records((b"x",))
    assert messages.decode(messages.encode(RecordIds((DEV_A,)))) == RecordIds((DEV_A,))
    assert messages.decode(messages.encode(WantRecords((DEV_A,)))) == WantRecords((DEV_A,))


# -- hostile frames ---------------------------------------------------------------------


class _Drop:
    """Marks a field to remove."""


DROP = _Drop()


def status(**changes: Value | _Drop) -> bytes:
    """A Status map with some fields changed (DROP removes one), encoded."""
    fields: dict[str, Value] = {
        "t": "status",
        "vector": DEV_A + (1).to_bytes(8, "big"),
        "records": DIGEST,
        "record_count": 1,
        "term": 1,
        "leader": DEV_A,
        "admin": True,
        "checkpoint": DEV_B,
    }
    return _encode(fields, changes)


def test_the_hostile_tables_base_status_is_valid() -> None:
    """Each row below breaks exactly one thing about this frame."""
    assert messages.decode(status()) == Status(((DEV_A, 1),), DIGEST, 1, 1, DEV_A, True, DEV_B)
    assert messages.decode(status(checkpoint=b"")).checkpoint == b""  # type: ignore[union-attr]


def shaped(kind: str, key: str, value: Value, **changes: Value | _Drop) -> bytes:
    """A map of kind `kind` holding `value` under `key` (plus changes), encoded."""
    return _encode({"t": kind, key: value}, changes)


def envelopes(blobs: Value, **changes: Value | _Drop) -> bytes:
    """An Envelopes map (nobody covered yet) holding `blobs` (plus changes), encoded."""
    return _encode({"t": "envelopes", "blobs": blobs, "covered": b"", "more": False}, changes)


def test_the_hostile_tables_base_envelopes_are_valid() -> None:
    assert messages.decode(envelopes([b"e"])) == Envelopes((b"e",))
    assert messages.decode(envelopes([], covered=DEV_A + DEV_B)) == Envelopes((), (DEV_A, DEV_B))


def _encode(fields: dict[str, Value], changes: dict[str, Value | _Drop]) -> bytes:
    for name, value in changes.items():
        if isinstance(value, _Drop):
            fields.pop(name)
        else:
            fields[name] = value
    return codec.encode(fields)


def _frame_of_size(size: int) -> bytes:
    """An Envelopes frame of exactly `size` bytes (one blob, padded)."""
    overhead = len(messages.encode(Envelopes((b"",))))
    frame = messages.encode(Envelopes((b"\x00" * (size - overhead),)))
    assert len(frame) == size
    return frame


VALID = messages.encode(Status(((DEV_A, 1),), DIGEST, 1, 1, DEV_A, True))

HOSTILE: dict[str, bytes] = {
    # not a message at all
    "empty frame": b"",
    "one unknown tag byte": b"\xff",
    "a bare int": codec.encode(5),
    "a list instead of a map": codec.encode(["status"]),
    "valid frame plus trailing byte": VALID + b"\x00",
    "valid frame truncated": VALID[:-1],
    "length prefix claims 4 GiB": b"\x07\xff\xff\xff\xff",
    # the kind tag
    "no kind": codec.encode({"blobs": []}),
    "kind is an int": codec.encode({"t": 1, "blobs": []}),
    "kind is bytes": codec.encode({"t": b"envelopes", "blobs": []}),
    "kind in other case": shaped("Envelopes", "blobs", []),
    "unknown kind": shaped("hello", "blobs", []),
    "kind longer than the cap": shaped("envelopes" * 3, "blobs", []),
    # status
    "status with an extra field": status(extra=1),
    "status without a vector": status(vector=DROP),
    "status without admin": status(admin=DROP),
    "vector is a map": status(vector={"a": 1}),
    "vector is a list of pairs": status(vector=[[DEV_A, 1]]),
    "vector is str": status(vector="a" * 24),
    "vector item short by a byte": status(vector=DEV_A + bytes(7)),
    "vector item long by a byte": status(vector=DEV_A + bytes(9)),
    "vector device without a sequence": status(vector=DEV_A),
    "vector sequence of 2**63": status(vector=DEV_A + (2**63).to_bytes(8, "big")),
    "vector sequence of 2**64 - 1": status(vector=DEV_A + b"\xff" * 8),
    "vector longer than MAX_DEVICES": status(vector=(DEV_A + bytes(8)) * (MAX_DEVICES + 1)),
    "status without a checkpoint": status(checkpoint=DROP),
    "checkpoint id of 15 bytes": status(checkpoint=DEV_B[:-1]),
    "checkpoint id of 17 bytes": status(checkpoint=DEV_B + b"\x00"),
    "checkpoint id is str": status(checkpoint="a" * ID),
    "records digest of 31 bytes": status(records=DIGEST[:-1]),
    "records digest of 33 bytes": status(records=DIGEST + b"\x00"),
    "records digest is str": status(records="digest"),
    "record count negative": status(record_count=-1),
    "record count is a bool": status(record_count=False),
    "term negative": status(term=-1),
    "term most negative": status(term=-(2**63)),
    "term is a bool": status(term=True),
    "term is None": status(term=None),
    "leader of 15 bytes": status(leader=DEV_A[:-1]),
    "leader of 17 bytes": status(leader=DEV_A + b"\x00"),
    "leader is str": status(leader=DEV_A.hex()),
    "admin is an int": status(admin=1),
    "admin is None": status(admin=None),
    # blob lists
    "envelopes with an extra field": envelopes([], extra=b""),
    "envelopes without blobs": codec.encode({"t": "envelopes", "covered": b"", "more": False}),
    "envelopes without more": envelopes([], more=DROP),
    "more is an int": envelopes([], more=1),
    "more is None": envelopes([], more=None),
    "envelopes without covered": envelopes([], covered=DROP),
    "envelopes blobs is bytes": envelopes(b"blob"),
    "envelope blob is str": envelopes(["blob"]),
    "envelope blob is a list": envelopes([[b"blob"]]),
    "envelope blob is None": envelopes([None]),
    "more envelopes than MAX_BLOBS": envelopes([b""] * (MAX_BLOBS + 1)),
    "covered is a list": envelopes([], covered=[DEV_A]),
    "covered device of 15 bytes": envelopes([], covered=DEV_A[:-1]),
    "covered devices and a stray byte": envelopes([], covered=DEV_A + DEV_B + b"\x00"),
    "covered is str": envelopes([], covered=DEV_A.hex()),
    "covered longer than MAX_DEVICES": envelopes([], covered=DEV_A * (MAX_DEVICES + 1)),
    "records blob is an int": shaped("records", "blobs", [7]),
    "more records than MAX_BLOBS": shaped("records", "blobs", [b""] * (MAX_BLOBS + 1)),
    "records under the ids key": shaped("records", "ids", [DEV_A]),
    # id lists
    "record id of 15 bytes": shaped("record_ids", "ids", [DEV_A[:-1]]),
    "record id of 17 bytes": shaped("record_ids", "ids", [DEV_A + b"\x00"]),
    "record id is str": shaped("record_ids", "ids", [DEV_A.hex()]),
    "record id is empty": shaped("want_records", "ids", [b""]),
    "wanted id of 32 bytes": shaped("want_records", "ids", [DIGEST]),
    "ids is a map": shaped("want_records", "ids", {"a": DEV_A}),
    "want_records with an extra field": shaped("want_records", "ids", [], t2="x"),
    "want_records under the blobs key": shaped("want_records", "blobs", []),
    "more record ids than MAX_IDS": shaped("record_ids", "ids", [DEV_A] * (MAX_IDS + 1)),
    "more wanted ids than MAX_IDS": shaped("want_records", "ids", [DEV_B] * (MAX_IDS + 1)),
    # size
    "frame of MAX_FRAME + 1 bytes": _frame_of_size(MAX_FRAME + 1),
    "frame of MAX_FRAME + 1 zero bytes": b"\x00" * (MAX_FRAME + 1),
}


@pytest.mark.parametrize("frame", HOSTILE.values(), ids=list(HOSTILE))
def test_hostile_frame_is_a_decode_error(frame: bytes) -> None:
    with pytest.raises(DecodeError):
        messages.decode(frame)


AT_THE_CAPS: dict[str, Callable[[], Message]] = {
    "MAX_DEVICES vector entries": lambda: Status(
        tuple((i.to_bytes(ID, "big"), i) for i in range(MAX_DEVICES)), DIGEST, 0, 0, b"", False
    ),
    "MAX_BLOBS envelopes": lambda: Envelopes((b"e",) * MAX_BLOBS),
    "MAX_BLOBS records": lambda: Records((b"r",) * MAX_BLOBS),
    "MAX_IDS record ids": lambda: RecordIds((DEV_A,) * MAX_IDS),
    "MAX_IDS wanted ids": lambda: WantRecords((DEV_B,) * MAX_IDS),
}


@pytest.mark.parametrize("make", AT_THE_CAPS.values(), ids=list(AT_THE_CAPS))
def test_messages_exactly_at_the_caps_decode(make: Callable[[], Message]) -> None:
    message = make()
    assert messages.decode(messages.encode(message)) == message


def test_a_frame_of_exactly_max_frame_bytes_decodes() -> None:
    frame = _frame_of_size(MAX_FRAME)
    assert isinstance(messages.decode(frame), Envelopes)


# -- fuzzing ------------------------------------------------------------------------------


def _damaged(frame: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """`frame` with bytes overwritten, inserted or deleted (positions wrap)."""
    data = bytearray(frame)
    for op, where, value in edits:
        at = where % (len(data) + 1)
        if op == 0 and at < len(data):
            data[at] = value
        elif op == 1:
            data.insert(at, value)
        elif op == 2 and at < len(data):
            del data[at]
        else:
            data = data[:at]
    return bytes(data)


edit_lists = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 4096), st.integers(0, 255)), min_size=1, max_size=4
)
hostile_bytes = st.binary(max_size=512) | st.builds(
    _damaged, any_message.map(messages.encode), edit_lists
)


@given(hostile_bytes)
@settings(max_examples=500)
def test_decode_of_any_bytes_is_a_message_or_decode_error(frame: bytes) -> None:
    """Nothing but DecodeError escapes, and what is accepted is the one encoding of it."""
    try:
        message = messages.decode(frame)
    except DecodeError:
        return
    assert messages.encode(message) == frame


# -- joining messages (the plain enrollment endpoint) ---------------------------------------

PAKE = bytes(range(PAKE_SIZE))
CONFIRM = bytes(range(CONFIRM_SIZE))

JOIN_EXAMPLES: list[JoinMessage] = [
    JoinHello(1, PAKE),
    JoinHello(99_999, PAKE),
    JoinKey(DEV_A, PAKE),
    JoinRequest(DEV_B, CONFIRM, b"sealed request"),
    JoinRequest(DEV_B, CONFIRM, b""),
    JoinWelcome(CONFIRM, b"sealed welcome", 1),
    JoinWelcome(CONFIRM, b"", 65535),
    JoinRefused(""),
    JoinRefused("that invite code has expired"),
]


@pytest.mark.parametrize("message", JOIN_EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_join_kind_round_trips(message: JoinMessage) -> None:
    frame = messages.encode_join(message)
    assert messages.decode_join(frame) == message
    assert messages.encode_join(messages.decode_join(frame)) == frame


def join(kind: str, **fields: Value | _Drop) -> bytes:
    """A join map of `kind` with valid fields, changed by `fields` (DROP removes one)."""
    valid: dict[str, dict[str, Value]] = {
        "hello": {"nameplate": 7, "pake": PAKE},
        "key": {"session": DEV_A, "pake": PAKE},
        "request": {"session": DEV_A, "confirm": CONFIRM, "sealed": b"s"},
        "welcome": {"confirm": CONFIRM, "sealed": b"s", "sync_port": 4000},
        "refused": {"reason": "no"},
    }
    return _encode({"t": kind, **valid.get(kind, {})}, fields)


HOSTILE_JOIN: dict[str, bytes] = {
    "empty frame": b"",
    "garbage": b"\xff" * 40,
    "unknown kind": join("enrol"),
    "a sync message on the join endpoint": messages.encode(Envelopes((b"x",))),
    "hello with an extra field": join("hello", admin=True),
    "hello without pake": join("hello", pake=DROP),
    "hello nameplate is str": join("hello", nameplate="7"),
    "hello nameplate is a bool": join("hello", nameplate=True),
    "hello pake of 32 bytes": join("hello", pake=PAKE[:-1]),
    "hello pake of 34 bytes": join("hello", pake=PAKE + b"\x00"),
    "key session of 15 bytes": join("key", session=DEV_A[:-1]),
    "key session is str": join("key", session=DEV_A.hex()),
    "request confirm of 31 bytes": join("request", confirm=CONFIRM[:-1]),
    "request sealed over 64 KiB": join("request", sealed=bytes(64 * 1024 + 1)),
    "request sealed is a list": join("request", sealed=[b"s"]),
    "welcome port 0": join("welcome", sync_port=0),
    "welcome port 65536": join("welcome", sync_port=65536),
    "welcome port negative": join("welcome", sync_port=-1),
    "welcome port is bytes": join("welcome", sync_port=b"\x0f\xa0"),
    "welcome confirm of 33 bytes": join("welcome", confirm=CONFIRM + b"\x00"),
    "refused reason over 200 characters": join("refused", reason="x" * 201),
    "refused reason is bytes": join("refused", reason=b"no"),
    "frame of MAX_JOIN_FRAME + 1 bytes": b"\x00" * (MAX_JOIN_FRAME + 1),
}


@pytest.mark.parametrize("frame", HOSTILE_JOIN.values(), ids=list(HOSTILE_JOIN))
def test_hostile_join_frame_is_a_decode_error(frame: bytes) -> None:
    with pytest.raises(DecodeError):
        messages.decode_join(frame)


@pytest.mark.parametrize("message", JOIN_EXAMPLES, ids=lambda m: type(m).__name__)
def test_a_join_message_is_never_a_sync_message(message: JoinMessage) -> None:
    """The two codecs share no kind: a frame sent to the wrong endpoint is refused."""
    with pytest.raises(DecodeError):
        messages.decode(messages.encode_join(message))


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_a_sync_message_is_never_a_join_message(message: Message) -> None:
    with pytest.raises(DecodeError):
        messages.decode_join(messages.encode(message))


any_join: st.SearchStrategy[JoinMessage] = st.one_of(
    st.builds(JoinHello, st.integers(1, 99_999), st.just(PAKE)),
    st.builds(JoinKey, devices, st.binary(min_size=PAKE_SIZE, max_size=PAKE_SIZE)),
    st.builds(JoinRequest, devices, st.just(CONFIRM), st.binary(max_size=64)),
    st.builds(JoinWelcome, st.just(CONFIRM), st.binary(max_size=64), st.integers(1, 65535)),
    st.builds(JoinRefused, st.text(max_size=200)),
)
hostile_join_bytes = st.binary(max_size=512) | st.builds(
    _damaged, any_join.map(messages.encode_join), edit_lists
)


@given(hostile_join_bytes)
@settings(max_examples=300)
def test_decode_join_of_any_bytes_is_a_message_or_decode_error(frame: bytes) -> None:
    try:
        message = messages.decode_join(frame)
    except DecodeError:
        return
    assert messages.encode_join(message) == frame
