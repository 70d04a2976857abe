"""Fuzzing membership records: node.records `verify` and `split`, and the fold that every
record from a peer goes through (node.membership `fold`).

Threats: a peer relays a damaged or forged record of any kind (genesis, enrol,
role change, revocation, rotation, invite) hoping it is read as something its
signer never said; an admin signs, with its real key, a record body of the
wrong shape (a token that is not one, sealed keys of the wrong size, unsorted
recipients or parents, an unknown kind), hoping to crash the parser or the
fold's judging of it. verify raises only InvalidRecordError; an accepted
record is byte for byte one its signer signed, and reads back to its body;
the fold never raises on a log with such records in it, never counts a
damaged record as valid, and damaged records change nobody's membership.
"""

from __future__ import annotations

import functools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from node import codec, records
from node.errors import InvalidRecordError
from node.membership import Membership
from node.records import DOMAIN, Record
from tests.fuzz.hostile import (
    FUZZ,
    HEADER,
    damaged,
    hostile,
    outcome,
    reshaped,
    signature_holds,
    signed,
)
from tests.node.membership_builders import OFFICE, ROOT, A, B, C, D, E, F, G, N, fold_, office_log

SIGNERS = {OFFICE: ROOT.public} | {d.id: d.sign.public for d in (A, B, C, D, E, F, N)}
LOG = tuple(office_log().blobs)  # a realistic log: some records invalid, pending or broken
GENUINE = tuple(blob for name, blob in office_log().named.items() if name != "flipped")
BODIES = [codec.decode(blob[HEADER:]) for blob in GENUINE]


def _body_of(record: Record) -> bytes:
    kind, data = records._fields_of(record.payload)
    return codec.encode(
        {"kind": kind, "parents": list(record.parents), "at": record.at, "data": data}
    )


def _verify(blob: bytes) -> Record | None:
    # The fold looks the key up by the claimed signer; G never signs anything.
    public = SIGNERS.get(blob[:16], G.sign.public)
    return outcome(lambda: records.verify(blob, OFFICE, public), InvalidRecordError)


@functools.cache
def _baseline() -> Membership:
    return fold_(*LOG)


def _members(m: Membership) -> set[tuple[bytes, str, str]]:
    return {(x.device_id, x.user, x.role.value) for x in m.state.active_members()}


def test_the_samples_are_valid() -> None:
    """Control: every record of the log verifies and reads back to its own body, and the
    log covers every kind."""
    kinds = set()
    for blob in GENUINE:
        record = _verify(blob)
        assert record is not None and _body_of(record) == blob[HEADER:]
        kinds.add(record.kind)
    assert kinds == {"genesis", "enroll", "role", "revoke", "rotate", "invite"}


@FUZZ
@given(hostile(GENUINE, max_size=300))
def test_a_damaged_record_is_refused_or_is_one_its_signer_signed(blob: bytes) -> None:
    """Threat: a relayed record with its kind, parents, time, token, target or sealed keys
    altered is read as a statement its signer never made."""
    record = _verify(blob)
    if record is not None:
        assert blob in GENUINE or signature_holds(blob, DOMAIN, OFFICE, SIGNERS.get(blob[:16]))
        assert record.id == records.record_id(blob) and _body_of(record) == blob[HEADER:]
    parts = outcome(lambda: records.split(blob), InvalidRecordError)
    assert parts is None or b"".join(parts) == blob


@FUZZ
@given(reshaped(BODIES))
def test_a_signed_malformed_body_is_refused_or_read_exactly(body: bytes) -> None:
    """Threat: an admin signs a record whose body has the wrong shape; the parser behind the
    signature crashes, or reads something other than the one encoding it was given."""
    record = _verify(signed(A.id, A.sign, DOMAIN, OFFICE, body))
    if record is not None:
        assert _body_of(record) == body
        assert list(record.parents) == sorted(set(record.parents))


FOLD = settings(FUZZ, max_examples=120)


@FOLD
@given(st.lists(damaged(GENUINE), min_size=1, max_size=3))
def test_damaged_records_in_the_log_change_nobodys_membership(extra: list[bytes]) -> None:
    """Threat: damaged copies of real records, relayed among the real ones, make the fold
    raise, count a record nobody signed as valid, or change who is a member and as what."""
    folded = outcome(lambda: fold_(*LOG, *extra), InvalidRecordError)
    assert folded is not None
    baseline = _baseline()
    assert set(folded.valid) == set(baseline.valid)
    assert _members(folded) == _members(baseline)


@FOLD
@given(st.lists(reshaped(BODIES), min_size=1, max_size=3), st.randoms(use_true_random=False))
def test_an_admins_malformed_records_fold_the_same_in_any_order(
    bodies: list[bytes], order: random.Random
) -> None:
    """Threat: an admin signs records of the wrong shape, naming real records as parents, so
    that they are judged; the fold raises, or replicas that got the log in another order
    disagree about membership (DESIGN I-1)."""
    log = [*LOG, *(signed(A.id, A.sign, DOMAIN, OFFICE, body) for body in bodies)]
    folded = outcome(lambda: fold_(*log), InvalidRecordError)
    order.shuffle(log)
    refolded = outcome(lambda: fold_(*log), InvalidRecordError)
    assert folded is not None and refolded is not None
    assert set(folded.valid) == set(refolded.valid)
    assert _members(folded) == _members(refolded)
