"""Fuzzing admin-signed checkpoints: node.checkpoints `verify`.

Threats: a peer relays a damaged or forged checkpoint, hoping to move another
node's floor (claim it lacks envelopes it holds, or hide a fork); an admin
signs, with its real key, a checkpoint body of the wrong shape (unsorted or
duplicate heads, sequence 0, hashes of the wrong size, a term past the cap).
verify raises only PeerError; an accepted checkpoint is byte for byte one its
signer signed, and its fields are exactly the canonical body.
"""

from __future__ import annotations

import functools

from hypothesis import given

from node import checkpoints, codec
from node.checkpoints import DOMAIN, Checkpoint
from node.errors import PeerError
from node.membership_state import State
from node.tokens import Role
from tests.conftest import T0
from tests.fuzz.hostile import (
    FUZZ,
    HEADER,
    hostile,
    outcome,
    reshaped,
    signature_holds,
    signed,
)
from tests.node.membership_builders import OFFICE, A, B, C, enroll, fold_, start

NOW = T0 + 1000
AT = T0 + 900
HEADS = ((A.id, 3, checkpoints.head_hash(b"A's third")), (C.id, 1, checkpoints.head_hash(b"C")))
DIGEST = checkpoints.records_digest([b"\x01" * 16, b"\x02" * 16])


@functools.cache
def office() -> State:
    """Admins A and B (the root enrolled them), member C (A enrolled it)."""
    log = start(admins=2)
    log.append(enroll(A, C, "carol", Role.MEMBER, log, T0 + 3))
    return fold_(*log).state


GENUINE = (
    checkpoints.seal(A.id, A.sign, OFFICE, 7, AT, HEADS, 2, DIGEST),
    checkpoints.seal(B.id, B.sign, OFFICE, 0, AT - 5, (), 0, DIGEST),
    checkpoints.seal(A.id, A.sign, OFFICE, 2**40, AT, HEADS[:1], 2**62, bytes(32)),
)
BODIES = [codec.decode(blob[HEADER:]) for blob in GENUINE]


def _verify(blob: bytes) -> Checkpoint | None:
    return outcome(lambda: checkpoints.verify(blob, OFFICE, office(), NOW), PeerError)


def _exactly_its_body(cp: Checkpoint, blob: bytes) -> None:
    body = {
        "term": cp.term,
        "at": cp.at,
        "heads": [list(head) for head in cp.heads],
        "record_count": cp.record_count,
        "records": cp.records,
    }
    assert cp.blob == blob and cp.signer == blob[:16]
    assert codec.encode(body) == blob[HEADER:]  # type: ignore[arg-type]


def test_the_samples_are_valid() -> None:
    """Control: every genuine checkpoint verifies."""
    for blob in GENUINE:
        cp = _verify(blob)
        assert cp is not None
        _exactly_its_body(cp, blob)


@FUZZ
@given(hostile(GENUINE, max_size=400))
def test_a_damaged_checkpoint_is_refused_or_is_one_its_signer_signed(blob: bytes) -> None:
    """Threat: a relayed checkpoint with its heads, term, time or record digest altered is
    taken as the floor."""
    cp = _verify(blob)
    if cp is not None:
        signer = office().active(blob[:16])
        public = None if signer is None else signer.capability.sign_public
        assert blob in GENUINE or signature_holds(blob, DOMAIN, OFFICE, public)
        _exactly_its_body(cp, blob)


@FUZZ
@given(reshaped(BODIES))
def test_an_admins_malformed_checkpoint_is_refused_or_read_exactly(body: bytes) -> None:
    """Threat: an admin signs a body of the wrong shape, which crashes the parser or is read
    as other than its one encoding (heads out of order, a head named twice, seq 0)."""
    cp = _verify(signed(A.id, A.sign, DOMAIN, OFFICE, body))
    if cp is not None:
        _exactly_its_body(cp, cp.blob)
        devices = [device for device, _, _ in cp.heads]
        assert devices == sorted(set(devices))
        assert all(seq >= 1 for _, seq, _ in cp.heads)
