"""Wire messages between nodes: frozen dataclasses and their one codec.

Every message is one ZeroMQ frame: the canonical encoding (node/codec.py)
of a map whose "t" names the kind. The session is already authenticated
(CurveZMQ with a ZAP allow-list), so messages carry no signatures of their
own; what they carry that matters (envelopes, membership records) is signed
by its authors and verified by the receiver. Decoding is strict and capped:
any other shape is a DecodeError, which the node counts and drops.
"""

from __future__ import annotations

from dataclasses import dataclass

from node import codec
from node.codec import Fields, Value
from node.errors import DecodeError

ID = 16
MAX_FRAME = 4 * 1024 * 1024  # also ZMQ_MAXMSGSIZE: refused before it is read whole
MAX_DEVICES = 4096
MAX_BLOBS = 512
MAX_IDS = 65_536


@dataclass(frozen=True)
class Status:
    """Heartbeat and anti-entropy: what I hold, and who I think leads."""

    vector: tuple[tuple[bytes, int], ...]  # (device, highest contiguous sequence held)
    records: bytes  # digest of the set of membership record ids I hold
    record_count: int
    term: int
    leader: bytes  # device id, or b"" for none
    admin: bool  # I hold a valid admin capability (a candidate for leader)


@dataclass(frozen=True)
class Envelopes:
    blobs: tuple[bytes, ...]


@dataclass(frozen=True)
class RecordIds:
    """All membership record ids I hold (sent when our digests differ)."""

    ids: tuple[bytes, ...]


@dataclass(frozen=True)
class WantRecords:
    ids: tuple[bytes, ...]


@dataclass(frozen=True)
class Records:
    blobs: tuple[bytes, ...]


Message = Status | Envelopes | RecordIds | WantRecords | Records


def encode(message: Message) -> bytes:
    fields: dict[str, Value]
    if isinstance(message, Status):
        fields = {
            "t": "status",
            "vector": [[d, s] for d, s in message.vector],
            "records": message.records,
            "record_count": message.record_count,
            "term": message.term,
            "leader": message.leader,
            "admin": message.admin,
        }
    elif isinstance(message, Envelopes):
        fields = {"t": "envelopes", "blobs": list(message.blobs)}
    elif isinstance(message, Records):
        fields = {"t": "records", "blobs": list(message.blobs)}
    elif isinstance(message, RecordIds):
        fields = {"t": "record_ids", "ids": list(message.ids)}
    else:
        fields = {"t": "want_records", "ids": list(message.ids)}
    return codec.encode(fields)


def decode(frame: bytes) -> Message:
    """Parse one frame strictly, or raise DecodeError."""
    if len(frame) > MAX_FRAME:
        raise DecodeError("frame too large")
    f = Fields(codec.decode(frame), "message")
    kind = f.text("t", 16)
    if kind == "status":
        f.exactly("t", "vector", "records", "record_count", "term", "leader", "admin")
        vector = []
        for item in f.array("vector", MAX_DEVICES):
            if not isinstance(item, list) or len(item) != 2:
                raise DecodeError("a malformed vector entry")
            device, seq = item
            if not isinstance(device, bytes) or len(device) != ID:
                raise DecodeError("a malformed vector device")
            if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
                raise DecodeError("a malformed vector sequence")
            vector.append((device, seq))
        leader = f.blob("leader", max_size=ID)
        admin = f.raw()["admin"]
        if (leader and len(leader) != ID) or not isinstance(admin, bool):
            raise DecodeError("a malformed status")
        term, count = f.integer("term"), f.integer("record_count")
        if term < 0 or count < 0:
            raise DecodeError("a malformed status")
        return Status(tuple(vector), f.blob("records", 32), count, term, leader, admin)
    if kind in ("envelopes", "records"):
        f.exactly("t", "blobs")
        blobs = tuple(_blob(b) for b in f.array("blobs", MAX_BLOBS))
        return Envelopes(blobs) if kind == "envelopes" else Records(blobs)
    if kind in ("record_ids", "want_records"):
        f.exactly("t", "ids")
        ids = tuple(_id(i) for i in f.array("ids", MAX_IDS))
        return RecordIds(ids) if kind == "record_ids" else WantRecords(ids)
    raise DecodeError("unknown message kind")


def _blob(value: Value) -> bytes:
    if not isinstance(value, bytes):
        raise DecodeError("a blob that is not bytes")
    return value


def _id(value: Value) -> bytes:
    if not isinstance(value, bytes) or len(value) != ID:
        raise DecodeError("a malformed id")
    return value
