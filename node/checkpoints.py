"""Admin-signed checkpoints: a floor that no peer goes back behind (DESIGN I-6).

The elected admin node now and then signs what it holds: for each author
device, the highest sequence it holds with no gap and a hash of the envelope
at that sequence; and the count and digest of the membership record ids it
holds. A peer that verifies such a checkpoint and keeps the newest one learns
three things without trusting whoever relayed it:

- what it must hold at least (`shortfall`): anti-entropy is not done until
  the floor is met;
- that a replayed older checkpoint changes nothing (`newer` is one strict
  total order every peer evaluates the same way);
- equivocation: if it holds, at a device's head sequence, an envelope whose
  hash differs from the one the checkpoint names, then either that device
  signed two envelopes with one sequence number or an admin signed a false
  claim. Both are signed evidence; `shortfall` reports it as a fork.

Wire form (no algorithm field), as for envelopes:

    signer device id (16) | Ed25519 signature (64) | body

The signature covers DOMAIN | office_id | body; the body is the canonical
encoding of {term, at, heads, record_count, records}. Verify, then parse: the
size is capped, the signer must be an active admin of the membership state
given, the signature is checked over the exact bytes, and only then is the
body decoded, strictly.

This module is pure: no sockets, no store, no clock (`now` is passed in). It
does not decide when to sign, where checkpoints are kept, or what to do about
a fork; and it does not check that the signer led in `term` (safety never
depends on the election).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from node import codec, crypto, messages
from node.codec import Fields, Value
from node.errors import CryptoError, DecodeError, PeerError
from node.membership_state import Member
from node.membership_state import State as MembershipState
from node.tokens import Role

# How far ahead of the verifier's clock a checkpoint may be dated. Two hours: an office
# where one PC's clock is an hour off either way must still agree on one checkpoint
# (SECURITY_TESTS 28). A date in the future only keeps that checkpoint the newest for
# longer, and only an active admin can sign one.
FUTURE = 2 * 3600

DOMAIN = b"OfficeVault checkpoint v1\x00"
ID = crypto.ID_SIZE
HEAD_SIZE = 16
DIGEST_SIZE = 32
HEADER = ID + crypto.SIG_SIZE
# MAX_DEVICES heads of 56 encoded bytes each take 224 KiB; the rest is under 200 bytes.
MAX_CHECKPOINT = messages.MAX_CHECKPOINT
_HEAD_PERSON = b"OV-env-head-v1"  # BLAKE2b personalisation: at most 16 bytes
_FIELDS = ("term", "at", "heads", "record_count", "records")

Head = tuple[bytes, int, bytes]  # (device id, highest contiguous sequence, head_hash)


@dataclass(frozen=True)
class Checkpoint:
    signer: bytes  # device id of the admin that signed
    term: int
    at: int  # the signer's clock, seconds
    heads: tuple[Head, ...]  # strictly sorted by device
    record_count: int
    records: bytes  # records_digest of the membership record ids held
    blob: bytes  # the exact signed bytes, as stored and forwarded


@dataclass(frozen=True)
class Shortfall:
    """What a checkpoint names that we do not hold, and the forks it reveals."""

    envelopes: int  # envelopes missing, summed over devices
    records: int  # membership records missing (at least)
    forks: tuple[bytes, ...]  # devices whose envelope at the head sequence differs from ours

    @property
    def met(self) -> bool:
        """We hold at least what the checkpoint names (forks are reported, not counted)."""
        return self.envelopes == 0 and self.records == 0


def head_hash(envelope_blob: bytes) -> bytes:
    """A 16-byte hash of an envelope's exact bytes, in its own domain."""
    return hashlib.blake2b(envelope_blob, digest_size=HEAD_SIZE, person=_HEAD_PERSON).digest()


def records_digest(ids: Iterable[bytes]) -> bytes:
    """SHA-256 of the sorted record ids: equal sets give equal digests on every peer."""
    h = hashlib.sha256()
    for record_id in sorted(ids):
        h.update(record_id)
    return h.digest()


def seal(
    signer: bytes,
    key: crypto.SigningKeyPair,
    office_id: bytes,
    term: int,
    at: int,
    heads: Iterable[Head],
    record_count: int,
    records: bytes,
) -> bytes:
    """Sign a checkpoint; `heads` may come in any order. Bad fields are a programming error."""
    value: dict[str, Value] = {
        "term": term,
        "at": at,
        "heads": [[device, seq, digest] for device, seq, digest in sorted(heads)],
        "record_count": record_count,
        "records": records,
    }
    try:
        _parse_body(value)  # seal nothing that verify would refuse
    except DecodeError as exc:
        raise RuntimeError(f"checkpoint fields out of range: {exc}") from None
    if len(signer) != ID:
        raise RuntimeError("checkpoint signer is not a device id")
    body = codec.encode(value)
    return signer + key.sign(DOMAIN + office_id + body) + body


def verify(blob: bytes, office_id: bytes, state: MembershipState, now: int) -> Checkpoint:
    """Check size, signer and signature over the exact bytes, then decode; raise PeerError if bad.

    The signer must be an active admin in `state` whose capability has not
    expired at `now`, and `at` must lie within that capability's window and
    no more than the allowed clock skew ahead of `now`.
    """
    if office_id != state.office_id:
        raise RuntimeError("the membership state belongs to another office")
    if not HEADER < len(blob) <= MAX_CHECKPOINT:
        raise PeerError("checkpoint has an impossible size")
    signer = _admin(state, blob[:ID])
    signature, body = blob[ID:HEADER], blob[HEADER:]
    try:
        crypto.verify(signer.capability.sign_public, DOMAIN + office_id + body, signature)
    except CryptoError:
        raise PeerError("checkpoint signature is not valid") from None
    try:
        term, at, heads, record_count, records = _parse_body(codec.decode(body))
    except DecodeError as exc:
        raise PeerError(f"checkpoint is malformed: {exc}") from None
    _check_time(signer, at, now)
    return Checkpoint(signer.device_id, term, at, heads, record_count, records, blob)


def newer(a: Checkpoint | None, b: Checkpoint) -> bool:
    """Is `b` strictly newer than `a` (anything is newer than none)?

    Ordered by (at, term, signer, blob): the signed bytes break the tie of one
    admin signing twice in a second, so this is a strict total order on
    checkpoints and every peer keeps the same one.
    """
    return a is None or _rank(b) > _rank(a)


def shortfall(
    cp: Checkpoint,
    vector: Mapping[bytes, int],
    head_hash_at: Callable[[bytes, int], bytes | None],
    record_count: int,
    records: bytes,
) -> Shortfall:
    """What we lack of `cp`, given what we hold.

    `vector` is our highest contiguous sequence per device; `head_hash_at(device,
    seq)` is the head_hash of the envelope we hold at `seq` (held past a gap or
    not), or None. `record_count` and `records` describe our membership record ids.
    """
    missing = sum(max(0, seq - vector.get(device, 0)) for device, seq, _ in cp.heads)
    forks = tuple(
        device for device, seq, digest in cp.heads if _differs(head_hash_at(device, seq), digest)
    )
    return Shortfall(missing, _records_missing(cp, record_count, records), forks)


# -- helpers ---------------------------------------------------------------------------


def _admin(state: MembershipState, device_id: bytes) -> Member:
    """The claimed signer, if the membership log says it is an admin now (before any crypto)."""
    member = state.active(device_id)
    if member is None:
        raise PeerError("checkpoint is signed by a device that is not active in this office")
    if member.role is not Role.ADMIN:
        raise PeerError("checkpoint is signed by a device that is not an admin")
    return member


def _check_time(signer: Member, at: int, now: int) -> None:
    cap = signer.capability
    if cap.expired_at(now):
        raise PeerError("checkpoint is signed by an admin whose capability has expired")
    if not cap.valid_at(at):
        raise PeerError("checkpoint is dated outside its signer's capability")
    if at > now + FUTURE:
        raise PeerError("checkpoint is dated in the future")


def _parse_body(value: Value) -> tuple[int, int, tuple[Head, ...], int, bytes]:
    """Strictly read a checkpoint body: (term, at, heads, record_count, records)."""
    f = Fields(value, "checkpoint").exactly(*_FIELDS)
    term, record_count = f.integer("term"), f.integer("record_count")
    if not 0 <= term <= messages.MAX_TERM:
        raise DecodeError("checkpoint term is out of range")
    if record_count < 0:
        raise DecodeError("checkpoint record count is negative")
    heads = _heads(f.array("heads", messages.MAX_DEVICES))
    return term, f.integer("at"), heads, record_count, f.blob("records", DIGEST_SIZE)


def _heads(items: list[Value]) -> tuple[Head, ...]:
    heads: list[Head] = []
    for item in items:
        if not isinstance(item, list) or len(item) != 3:
            raise DecodeError("a checkpoint head is not a triple")
        device, seq, digest = item
        if not isinstance(device, bytes) or len(device) != ID:
            raise DecodeError("a checkpoint head names a malformed device")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise DecodeError("a checkpoint head has a malformed sequence")
        if not isinstance(digest, bytes) or len(digest) != HEAD_SIZE:
            raise DecodeError("a checkpoint head has a malformed hash")
        if heads and device <= heads[-1][0]:
            raise DecodeError("checkpoint heads are not strictly sorted by device")
        heads.append((device, seq, digest))
    return tuple(heads)


def _rank(cp: Checkpoint) -> tuple[int, int, bytes, bytes]:
    return cp.at, cp.term, cp.signer, cp.blob


def _differs(held: bytes | None, named: bytes) -> bool:
    return held is not None and held != named


def _records_missing(cp: Checkpoint, record_count: int, records: bytes) -> int:
    if cp.record_count > record_count:
        return cp.record_count - record_count
    # Same count, other set: we lack at least one (and hold one it lacks).
    return int(cp.record_count == record_count and cp.records != records)
