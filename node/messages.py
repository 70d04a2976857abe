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
MAX_TERM = 2**40  # terms rise by one per leader change: far beyond any real office
MAX_CHECKPOINT = 256 * 1024  # a signed checkpoint (node/checkpoints.py) of MAX_DEVICES heads


@dataclass(frozen=True)
class Status:
    """Heartbeat and anti-entropy: what I hold, and who I think leads."""

    vector: tuple[tuple[bytes, int], ...]  # (device, highest contiguous sequence held)
    records: bytes  # digest of the set of membership record ids I hold
    record_count: int
    term: int
    leader: bytes  # device id, or b"" for none
    admin: bool  # I hold a valid admin capability (a candidate for leader)
    checkpoint: bytes = b""  # id of the newest admin-signed checkpoint I hold, b"" for none


@dataclass(frozen=True)
class Envelopes:
    blobs: tuple[bytes, ...]
    # Devices these were already sent to (by the sender or earlier forwarders; an
    # anti-entropy answer names the sender's online peers, who ask it themselves): a
    # receiver forwards only to its other peers. Only an optimisation: a peer left out by
    # a lie or a lost frame is caught up by anti-entropy.
    covered: tuple[bytes, ...] = ()
    more: bool = False  # an anti-entropy answer cut short: the receiver asks again at once


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


@dataclass(frozen=True)
class SignedCheckpoint:
    """The newest checkpoint I hold (sent when a peer's Status names another)."""

    blob: bytes


Message = Status | Envelopes | RecordIds | WantRecords | Records | SignedCheckpoint


# -- joining over the LAN (the enrollment endpoint of an admin node) ---------------------
MAX_JOIN_FRAME = 2 * 1024 * 1024
PAKE_SIZE = 33
CONFIRM_SIZE = 32


@dataclass(frozen=True)
class JoinHello:
    nameplate: int
    pake: bytes


@dataclass(frozen=True)
class JoinKey:
    session: bytes
    pake: bytes


@dataclass(frozen=True)
class JoinRequest:
    session: bytes
    confirm: bytes
    sealed: bytes  # the join request, sealed under the session key


@dataclass(frozen=True)
class JoinWelcome:
    confirm: bytes
    sealed: bytes  # the welcome file, sealed under the session key
    sync_port: int  # where the admin node syncs, to fetch the vault next


@dataclass(frozen=True)
class JoinRefused:
    reason: str


JoinMessage = JoinHello | JoinKey | JoinRequest | JoinWelcome | JoinRefused


def encode_join(message: JoinMessage) -> bytes:
    fields: dict[str, Value]
    if isinstance(message, JoinHello):
        fields = {"t": "hello", "nameplate": message.nameplate, "pake": message.pake}
    elif isinstance(message, JoinKey):
        fields = {"t": "key", "session": message.session, "pake": message.pake}
    elif isinstance(message, JoinRequest):
        fields = {"t": "request", "session": message.session, "confirm": message.confirm,
                  "sealed": message.sealed}  # fmt: skip
    elif isinstance(message, JoinWelcome):
        fields = {"t": "welcome", "confirm": message.confirm, "sealed": message.sealed,
                  "sync_port": message.sync_port}  # fmt: skip
    else:
        fields = {"t": "refused", "reason": message.reason}
    return codec.encode(fields)


def decode_join(frame: bytes) -> JoinMessage:
    """Parse one enrollment frame strictly, or raise DecodeError."""
    if len(frame) > MAX_JOIN_FRAME:
        raise DecodeError("frame too large")
    f = Fields(codec.decode(frame), "join message")
    kind = f.text("t", 16)
    if kind == "hello":
        f.exactly("t", "nameplate", "pake")
        nameplate = f.integer("nameplate")
        if not 0 < nameplate < 100_000:
            raise DecodeError("a malformed nameplate")
        return JoinHello(nameplate, f.blob("pake", PAKE_SIZE))
    if kind == "key":
        f.exactly("t", "session", "pake")
        return JoinKey(f.blob("session", ID), f.blob("pake", PAKE_SIZE))
    if kind == "request":
        f.exactly("t", "session", "confirm", "sealed")
        return JoinRequest(f.blob("session", ID), f.blob("confirm", CONFIRM_SIZE),
                           f.blob("sealed", max_size=64 * 1024))  # fmt: skip
    if kind == "welcome":
        f.exactly("t", "confirm", "sealed", "sync_port")
        port = f.integer("sync_port")
        if not 0 < port < 65536:
            raise DecodeError("a malformed port")
        return JoinWelcome(f.blob("confirm", CONFIRM_SIZE),
                           f.blob("sealed", max_size=MAX_JOIN_FRAME), port)  # fmt: skip
    if kind == "refused":
        f.exactly("t", "reason")
        return JoinRefused(f.text("reason", 200))
    raise DecodeError("unknown join message kind")


def encode(message: Message) -> bytes:
    fields: dict[str, Value]
    if isinstance(message, Status):
        fields = {
            "t": "status",
            "vector": pack_vector(message.vector),
            "records": message.records,
            "record_count": message.record_count,
            "term": message.term,
            "leader": message.leader,
            "admin": message.admin,
            "checkpoint": message.checkpoint,
        }
    elif isinstance(message, Envelopes):
        covered = b"".join(message.covered)  # packed, as the vector: decoded by every receiver
        fields = {"t": "envelopes", "blobs": list(message.blobs), "covered": covered,
                  "more": message.more}  # fmt: skip
    elif isinstance(message, Records):
        fields = {"t": "records", "blobs": list(message.blobs)}
    elif isinstance(message, RecordIds):
        fields = {"t": "record_ids", "ids": list(message.ids)}
    elif isinstance(message, SignedCheckpoint):
        fields = {"t": "checkpoint", "blob": message.blob}
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
        f.exactly("t", "vector", "records", "record_count", "term", "leader", "admin", "checkpoint")
        vector = unpack_vector(f.blob("vector", max_size=MAX_DEVICES * VECTOR_ITEM))
        leader = f.blob("leader", max_size=ID)
        admin = f.raw()["admin"]
        if (leader and len(leader) != ID) or not isinstance(admin, bool):
            raise DecodeError("a malformed status")
        term, count = f.integer("term"), f.integer("record_count")
        if not 0 <= term <= MAX_TERM or count < 0:
            raise DecodeError("a malformed status")
        checkpoint = f.blob("checkpoint", max_size=ID)
        if checkpoint and len(checkpoint) != ID:
            raise DecodeError("a malformed status")
        return Status(vector, f.blob("records", 32), count, term, leader, admin, checkpoint)
    if kind == "envelopes":
        f.exactly("t", "blobs", "covered", "more")
        more = f.raw()["more"]
        if not isinstance(more, bool):
            raise DecodeError("a malformed envelopes message")
        packed = f.blob("covered", max_size=MAX_DEVICES * ID)
        if len(packed) % ID:
            raise DecodeError("a malformed covered list")
        covered = tuple(packed[i : i + ID] for i in range(0, len(packed), ID))
        return Envelopes(tuple(_blob(b) for b in f.array("blobs", MAX_BLOBS)), covered, more)
    if kind == "records":
        f.exactly("t", "blobs")
        return Records(tuple(_blob(b) for b in f.array("blobs", MAX_BLOBS)))
    if kind == "checkpoint":
        f.exactly("t", "blob")
        return SignedCheckpoint(f.blob("blob", max_size=MAX_CHECKPOINT))
    if kind in ("record_ids", "want_records"):
        f.exactly("t", "ids")
        ids = tuple(_id(i) for i in f.array("ids", MAX_IDS))
        return RecordIds(ids) if kind == "record_ids" else WantRecords(ids)
    raise DecodeError("unknown message kind")


VECTOR_ITEM = ID + 8  # device id, then its sequence as 8 bytes big-endian


def pack_vector(vector: tuple[tuple[bytes, int], ...]) -> bytes:
    """A version vector as one blob (a Status is decoded by every peer every round: a list
    of pairs through the generic codec cost ten times as much)."""
    return b"".join(device + seq.to_bytes(8, "big") for device, seq in vector)


def unpack_vector(blob: bytes) -> tuple[tuple[bytes, int], ...]:
    if len(blob) % VECTOR_ITEM:
        raise DecodeError("a malformed vector")
    out = []
    for i in range(0, len(blob), VECTOR_ITEM):
        seq = int.from_bytes(blob[i + ID : i + VECTOR_ITEM], "big")
        if seq >= 2**63:
            raise DecodeError("a malformed vector sequence")
        out.append((blob[i : i + ID], seq))
    return tuple(out)


def _blob(value: Value) -> bytes:
    if not isinstance(value, bytes):
        raise DecodeError("a blob that is not bytes")
    return value


def _id(value: Value) -> bytes:
    if not isinstance(value, bytes) or len(value) != ID:
        raise DecodeError("a malformed id")
    return value
