"""Admin-signed checkpoints: verified over the exact bytes, ordered, and used as a floor (I-6).

Threats covered: a checkpoint tampered with (any byte), cut short, from another
office, or signed by anyone but an active, unexpired admin (a member, a revoked
or demoted admin, an unknown device, an admin past its capability); one dated
ahead of now or outside its signer's window; a body a hostile admin hand-signs
(unsorted or duplicate heads, sequence 0, wrong sizes, terms past the cap, too
many heads, oversized); and arbitrary bytes from a peer. Each is refused with
PeerError, never another exception, and the message quotes no bytes. A replayed
older checkpoint is never newer than the one held, every peer orders checkpoints
the same way, and `shortfall` tells behind from equal from ahead and finds forks
(a device that signed two envelopes with one sequence number).

The office is built from signed membership records (membership_builders), so the
signer checks run against a real fold. Positive controls bracket each boundary,
so a verifier that refuses everything fails this file too.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node import checkpoints, codec, crypto, messages
from node.checkpoints import FUTURE, Checkpoint, Head
from node.codec import Value
from node.errors import PeerError
from node.membership_state import State
from node.tokens import CLOCK_SKEW, Role
from tests.conftest import T0
from tests.node.membership_builders import (
    LIFETIME,
    OFFICE,
    A,
    B,
    C,
    D,
    Device,
    E,
    X,
    enroll,
    fold_,
    genesis,
    revoke,
    role_change,
)
from tests.node.test_codec import edits, mutated, values

NOW = T0 + 1000
AT = T0 + 900
A_FROM = T0 + 1  # A's capability window: enrolled by the root at T0 + 1 ...
A_UNTIL = A_FROM + LIFETIME  # ... for LIFETIME
H1 = checkpoints.head_hash(b"an envelope of A")
H2 = checkpoints.head_hash(b"an envelope of C")
HEADS: tuple[Head, ...] = tuple(sorted([(A.id, 3, H1), (C.id, 1, H2)]))
RECORDS = checkpoints.records_digest([b"\x01" * 16, b"\x02" * 16])
OTHER_OFFICE = bytes(16)


@functools.cache
def office() -> State:
    """Admins A and B; member C; X, an admin the root revoked; E, an admin demoted to member.
    D is never enrolled."""
    g = genesis()
    ea = enroll(None, A, "alice", Role.ADMIN, [g], A_FROM)
    eb = enroll(None, B, "bob", Role.ADMIN, [g], T0 + 2)
    ec = enroll(A, C, "carol", Role.MEMBER, [ea, eb], T0 + 3)
    ex = enroll(None, X, "xavier", Role.ADMIN, [g], T0 + 4)
    rvx = revoke(None, X, [ea, eb, ec, ex], T0 + 5)
    ee = enroll(None, E, "erin", Role.ADMIN, [g], T0 + 6)
    dme = role_change(E, "erin", Role.MEMBER, 2, [ee, rvx], T0 + 7)
    m = fold_(g, ea, eb, ec, ex, rvx, ee, dme)
    assert not (m.invalid or m.broken or m.pending), "the test office itself must be valid"
    return m.state


def sealed(
    by: Device = A,
    at: int = AT,
    term: int = 7,
    heads: tuple[Head, ...] = HEADS,
    record_count: int = 2,
    office_id: bytes = OFFICE,
) -> bytes:
    return checkpoints.seal(by.id, by.sign, office_id, term, at, heads, record_count, RECORDS)


def verify(blob: bytes, now: int = NOW) -> Checkpoint:
    return checkpoints.verify(blob, OFFICE, office(), now)


def body(**changes: Value) -> dict[str, Value]:
    """A good checkpoint body with some fields changed (None removes a field)."""
    fields: dict[str, Value] = {
        "term": 7,
        "at": AT,
        "heads": [list(h) for h in HEADS],
        "record_count": 2,
        "records": RECORDS,
    }
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def hand_signed(value: Value | bytes, by: Device = A, claimed: bytes | None = None) -> bytes:
    """Any body, correctly signed by `by`: what a hostile admin device can make."""
    raw = value if isinstance(value, bytes) else codec.encode(value)
    signer = by.id if claimed is None else claimed
    return signer + by.sign.sign(checkpoints.DOMAIN + OFFICE + raw) + raw


def heads_of(n: int) -> list[Value]:
    return [[i.to_bytes(16, "big"), 1, H1] for i in range(n)]


# -- round trip ------------------------------------------------------------------------


def test_round_trip() -> None:
    blob = checkpoints.seal(A.id, A.sign, OFFICE, 7, AT, reversed(HEADS), 2, RECORDS)
    cp = verify(blob)
    assert cp == Checkpoint(A.id, 7, AT, HEADS, 2, RECORDS, blob)
    assert [h[0] for h in cp.heads] == sorted([A.id, C.id])  # seal sorted them


def test_the_largest_checkpoint_fits_the_cap_and_verifies() -> None:
    """Control for the size cap: MAX_DEVICES heads with the widest values still pass."""
    heads = [(i.to_bytes(16, "big"), codec.INT_MAX, H1) for i in range(messages.MAX_DEVICES)]
    blob = checkpoints.seal(A.id, A.sign, OFFICE, messages.MAX_TERM, AT, heads, 2**62, RECORDS)
    assert len(blob) <= checkpoints.MAX_CHECKPOINT
    assert len(verify(blob).heads) == messages.MAX_DEVICES


def test_an_empty_office_checkpoint_verifies() -> None:
    assert verify(sealed(heads=(), record_count=0)).heads == ()


# -- hostile checkpoints -------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    blob: bytes
    now: int = NOW


OK = ""
# (case, expected: "" if accepted, else a fragment of the refusal) -- the id names the threat.
CASES = [
    pytest.param(Case(sealed()), OK, id="ok-control"),
    pytest.param(Case(hand_signed(body())), OK, id="ok-hand-signed-body-control"),
    pytest.param(Case(sealed(by=B)), OK, id="ok-the-other-admin"),
    # Size and framing.
    pytest.param(Case(b""), "impossible size", id="empty"),
    pytest.param(Case(sealed()[:16]), "impossible size", id="only-a-device-id"),
    pytest.param(Case(sealed()[:80]), "impossible size", id="truncated-to-the-header"),
    pytest.param(Case(sealed()[:-1]), "signature", id="truncated-body"),
    pytest.param(Case(sealed() + b"\x00"), "signature", id="trailing-byte"),
    pytest.param(
        Case(sealed() + bytes(checkpoints.MAX_CHECKPOINT)), "impossible size", id="oversized"
    ),
    pytest.param(
        Case(hand_signed(bytes(checkpoints.MAX_CHECKPOINT - 79))),
        "impossible size",
        id="oversized-by-one-correctly-signed",
    ),
    pytest.param(
        Case(A.id + crypto.random_bytes(200)), "signature", id="random-bytes-under-an-admin-id"
    ),
    pytest.param(Case(crypto.random_bytes(200)), "not active", id="random-bytes"),
    # Who signed.
    pytest.param(Case(sealed(office_id=OTHER_OFFICE)), "signature", id="another-office"),
    pytest.param(Case(sealed(by=C)), "not an admin", id="signed-by-a-member"),
    pytest.param(Case(sealed(by=E)), "not an admin", id="signed-by-a-demoted-admin"),
    pytest.param(Case(sealed(by=X)), "not active", id="signed-by-a-revoked-admin"),
    pytest.param(Case(sealed(by=D)), "not active", id="signed-by-an-unknown-device"),
    pytest.param(Case(B.id + sealed()[16:]), "signature", id="claimed-by-another-admin"),
    pytest.param(
        Case(hand_signed(body(), by=C, claimed=A.id)),
        "signature",
        id="member-signs-under-an-admins-id",
    ),
    # When.
    pytest.param(Case(sealed(at=NOW + FUTURE), NOW), OK, id="ok-at-the-skew-edge"),
    pytest.param(Case(sealed(at=NOW + FUTURE + 1), NOW), "future", id="just-past-the-skew"),
    pytest.param(Case(sealed(at=NOW + 86_400), NOW), "future", id="at-far-in-the-future"),
    pytest.param(Case(sealed(at=A_FROM - CLOCK_SKEW)), OK, id="ok-at-the-window-start-edge"),
    pytest.param(
        Case(sealed(at=A_FROM - CLOCK_SKEW - 1)), "outside", id="dated-before-the-signer-was-admin"
    ),
    pytest.param(
        Case(sealed(at=A_UNTIL + CLOCK_SKEW), A_UNTIL + CLOCK_SKEW),
        OK,
        id="ok-at-the-window-end-edge",
    ),
    pytest.param(
        Case(sealed(at=A_UNTIL + CLOCK_SKEW + 1), A_UNTIL + CLOCK_SKEW + 1),
        "expired",
        id="signed-by-an-expired-admin",
    ),
    pytest.param(
        Case(sealed(at=AT), A_UNTIL + CLOCK_SKEW + 1),
        "expired",
        id="back-dated-by-an-expired-admin",
    ),
    # What a hostile admin can hand-sign.
    pytest.param(
        Case(hand_signed(body(heads=[list(h) for h in reversed(HEADS)]))),
        "sorted",
        id="unsorted-heads",
    ),
    pytest.param(
        Case(hand_signed(body(heads=[[A.id, 3, H1], [A.id, 4, H2]]))),
        "sorted",
        id="duplicate-heads",
    ),
    pytest.param(Case(hand_signed(body(heads=[[A.id, 0, H1]]))), "sequence", id="seq-zero"),
    pytest.param(Case(hand_signed(body(heads=[[A.id, -1, H1]]))), "sequence", id="seq-negative"),
    pytest.param(Case(hand_signed(body(heads=[[A.id, True, H1]]))), "sequence", id="seq-a-bool"),
    pytest.param(Case(hand_signed(body(heads=[[A.id, 1, H1[:15]]]))), "hash", id="hash-15-bytes"),
    pytest.param(Case(hand_signed(body(heads=[[A.id, 1, H1 + b"x"]]))), "hash", id="hash-17"),
    pytest.param(Case(hand_signed(body(heads=[[A.id, 1, "x" * 16]]))), "hash", id="hash-a-str"),
    pytest.param(Case(hand_signed(body(heads=[[A.id[:15], 1, H1]]))), "device", id="short-id"),
    pytest.param(Case(hand_signed(body(heads=[[A.id, 1]]))), "triple", id="head-a-pair"),
    pytest.param(Case(hand_signed(body(heads=[[A.id, 1, H1, 0]]))), "triple", id="head-of-4"),
    pytest.param(Case(hand_signed(body(heads=[A.id]))), "triple", id="head-not-a-list"),
    pytest.param(Case(hand_signed(body(heads={"a": 1}))), "malformed", id="heads-a-map"),
    pytest.param(
        Case(hand_signed(body(heads=heads_of(messages.MAX_DEVICES)))),
        OK,
        id="ok-max-devices-heads",
    ),
    pytest.param(
        Case(hand_signed(body(heads=heads_of(messages.MAX_DEVICES + 1)))),
        "malformed",
        id="one-head-too-many",
    ),
    pytest.param(Case(hand_signed(body(term=messages.MAX_TERM))), OK, id="ok-term-at-the-cap"),
    pytest.param(
        Case(hand_signed(body(term=messages.MAX_TERM + 1))), "term", id="term-above-max-term"
    ),
    pytest.param(Case(hand_signed(body(term=-1))), "term", id="term-negative"),
    pytest.param(Case(hand_signed(body(record_count=-1))), "count", id="record-count-negative"),
    pytest.param(Case(hand_signed(body(records=RECORDS[:31]))), "malformed", id="records-31"),
    pytest.param(Case(hand_signed(body(records=None))), "malformed", id="missing-field"),
    pytest.param(Case(hand_signed(body(signer=A.id))), "malformed", id="extra-field"),
    pytest.param(Case(hand_signed(body(at=str(AT)))), "malformed", id="at-a-string"),
    pytest.param(Case(hand_signed([1, 2, 3])), "malformed", id="body-not-a-map"),
    pytest.param(Case(hand_signed(codec.encode(body()) + b"\x00")), "malformed", id="trailing"),
]


@pytest.mark.parametrize(("case", "expected"), CASES)
def test_hostile_checkpoints_are_refused(case: Case, expected: str) -> None:
    if expected == OK:
        assert verify(case.blob, case.now).blob == case.blob
        return
    with pytest.raises(PeerError, match=expected) as caught:
        verify(case.blob, case.now)
    assert "b'" not in str(caught.value) and "\\x" not in str(caught.value)  # quotes no bytes


def test_every_flipped_byte_is_refused() -> None:
    blob = sealed(heads=HEADS[:1])
    for offset in range(len(blob)):
        for mask in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[offset] ^= mask
            with pytest.raises(PeerError):
                verify(bytes(tampered))


def test_verifying_against_another_offices_state_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        checkpoints.verify(sealed(), OTHER_OFFICE, office(), NOW)


SEAL_MISUSE = [
    pytest.param({"heads": [(A.id, 0, H1)]}, id="seq-zero"),
    pytest.param({"heads": [(A.id, 1, H1), (A.id, 2, H1)]}, id="duplicate-device"),
    pytest.param({"heads": [(A.id, 1, H1[:8])]}, id="short-hash"),
    pytest.param({"heads": heads_of(messages.MAX_DEVICES + 1)}, id="too-many-heads"),
    pytest.param({"term": messages.MAX_TERM + 1}, id="term-too-high"),
    pytest.param({"record_count": -1}, id="negative-count"),
    pytest.param({"records": b"short"}, id="short-digest"),
    pytest.param({"signer": b"short"}, id="short-signer"),
]


@pytest.mark.parametrize("changes", SEAL_MISUSE)
def test_sealing_out_of_range_fields_is_a_bug(changes: dict[str, object]) -> None:
    args: dict[str, object] = {
        "signer": A.id, "key": A.sign, "office_id": OFFICE, "term": 1, "at": AT,
        "heads": HEADS, "record_count": 0, "records": RECORDS, **changes,
    }  # fmt: skip
    with pytest.raises(RuntimeError):
        checkpoints.seal(**args)  # type: ignore[arg-type]


# -- fuzzing: anything from a peer is a checkpoint or a PeerError -----------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([A.id, C.id, D.id, b""]))
def test_arbitrary_bytes_are_refused_never_crash(data: bytes, prefix: bytes) -> None:
    with contextlib.suppress(PeerError):
        verify(prefix + data)


@settings(max_examples=300, deadline=None)
@given(edits)
def test_mutations_of_a_valid_checkpoint_are_refused_never_crash(
    ops: list[tuple[int, int, int]],
) -> None:
    blob = sealed()
    tampered = mutated(blob, ops)
    try:
        cp = verify(tampered)
    except PeerError:
        return
    assert tampered == blob and cp.blob == blob  # only an edit that changed nothing passes


@settings(max_examples=300, deadline=None)
@given(edits)
def test_resigned_mutated_bodies_never_crash_the_decoder(ops: list[tuple[int, int, int]]) -> None:
    """A hostile admin signs damaged bodies: the strict decoder sees every one of them."""
    with contextlib.suppress(PeerError):
        verify(hand_signed(mutated(codec.encode(body()), ops)))


@settings(max_examples=150, deadline=None)
@given(values | st.builds(body, heads=st.lists(st.lists(values, max_size=4), max_size=4)))
def test_resigned_arbitrary_values_never_crash_the_decoder(value: Value) -> None:
    with contextlib.suppress(PeerError):
        verify(hand_signed(value))


# -- newer: one strict total order -------------------------------------------------------


def test_a_replayed_older_checkpoint_is_not_newer() -> None:
    old, new = verify(sealed(at=AT)), verify(sealed(at=AT + 60))
    assert checkpoints.newer(None, old)
    assert checkpoints.newer(old, new)
    assert not checkpoints.newer(new, old)
    assert not checkpoints.newer(new, new)  # the same one again changes nothing


def test_time_comes_before_term_and_signer() -> None:
    early_high_term = verify(sealed(by=B, at=AT, term=99))
    later_low_term = verify(sealed(by=A, at=AT + 1, term=1))
    assert checkpoints.newer(early_high_term, later_low_term)
    same_time_higher_term = verify(sealed(by=A, at=AT, term=100))
    assert checkpoints.newer(early_high_term, same_time_higher_term)


def test_one_admin_signing_twice_in_one_second_is_still_ordered() -> None:
    a = verify(sealed(record_count=1))
    b = verify(sealed(record_count=2))
    assert checkpoints.newer(a, b) != checkpoints.newer(b, a)


checkpoint_fields = st.tuples(
    st.sampled_from([A, B]),
    st.integers(AT - 2, AT),
    st.integers(0, 2),
    st.integers(0, 2),
)


def make(fields: tuple[Device, int, int, int]) -> Checkpoint:
    by, at, term, record_count = fields
    return verify(sealed(by=by, at=at, term=term, record_count=record_count))


@settings(max_examples=200, deadline=None)
@given(checkpoint_fields, checkpoint_fields, checkpoint_fields)
def test_newer_is_a_strict_total_order(
    f1: tuple[Device, int, int, int],
    f2: tuple[Device, int, int, int],
    f3: tuple[Device, int, int, int],
) -> None:
    a, b, c = make(f1), make(f2), make(f3)
    newer = checkpoints.newer
    assert not newer(a, a)  # irreflexive
    assert not (newer(a, b) and newer(b, a))  # asymmetric
    if a != b:
        assert newer(a, b) or newer(b, a)  # total: any two distinct checkpoints compare
    if newer(a, b) and newer(b, c):
        assert newer(a, c)  # transitive
    # Every peer keeps the same one, whatever order they arrive in.
    assert keep([a, b, c]) == keep([c, b, a]) == keep([b, c, a])


def keep(arrivals: list[Checkpoint]) -> Checkpoint | None:
    held: Checkpoint | None = None
    for cp in arrivals:
        if checkpoints.newer(held, cp):
            held = cp
    return held


# -- shortfall: behind, equal, ahead, fork ----------------------------------------------

ENVELOPES = {(A.id, 3): H1, (C.id, 1): H2}  # what the checkpoint's signer holds at its heads


def hashes(held: dict[tuple[bytes, int], bytes]) -> Callable[[bytes, int], bytes | None]:
    return lambda device, seq: held.get((device, seq))


def test_behind() -> None:
    cp = verify(sealed(record_count=5))
    got = checkpoints.shortfall(cp, {A.id: 1}, hashes({}), 3, RECORDS)
    assert got == checkpoints.Shortfall(envelopes=2 + 1, records=2, forks=())
    assert not got.met


def test_equal() -> None:
    cp = verify(sealed())
    got = checkpoints.shortfall(cp, {A.id: 3, C.id: 1}, hashes(ENVELOPES), 2, RECORDS)
    assert got == checkpoints.Shortfall(0, 0, ())
    assert got.met


def test_ahead() -> None:
    cp = verify(sealed())
    ours = {**ENVELOPES, (A.id, 9): H2, (B.id, 4): H1}
    vector = {A.id: 9, B.id: 4, C.id: 1}
    got = checkpoints.shortfall(cp, vector, hashes(ours), 7, bytes(32))
    assert got == checkpoints.Shortfall(0, 0, ())
    assert got.met


def test_same_record_count_other_set_is_a_shortfall() -> None:
    cp = verify(sealed())
    got = checkpoints.shortfall(cp, {A.id: 3, C.id: 1}, hashes(ENVELOPES), 2, bytes(32))
    assert got.records == 1 and not got.met


def test_a_different_envelope_at_a_head_is_a_fork() -> None:
    """A device that signed two envelopes with one sequence number is found out."""
    cp = verify(sealed())
    forged = {**ENVELOPES, (C.id, 1): checkpoints.head_hash(b"another envelope of C")}
    got = checkpoints.shortfall(cp, {A.id: 3, C.id: 1}, hashes(forged), 2, RECORDS)
    assert got.forks == (C.id,)
    assert got.met  # nothing missing: the fork is reported, not counted as a lack


def test_a_fork_is_found_past_a_gap_too() -> None:
    cp = verify(sealed())
    forged = {(A.id, 3): checkpoints.head_hash(b"another envelope of A")}
    got = checkpoints.shortfall(cp, {A.id: 1}, hashes(forged), 2, RECORDS)
    assert got.forks == (A.id,) and got.envelopes == 2 + 1


def test_shortfall_asks_for_the_checkpoints_own_heads() -> None:
    asked: list[tuple[bytes, int]] = []

    def recorder(device: bytes, seq: int) -> bytes | None:
        asked.append((device, seq))
        return None

    checkpoints.shortfall(verify(sealed()), {}, recorder, 2, RECORDS)
    assert asked == [(d, s) for d, s, _ in HEADS]


# -- hashes and digests -------------------------------------------------------------------


def test_head_hash_is_16_domain_separated_bytes() -> None:
    blob = sealed()
    digest = checkpoints.head_hash(blob)
    assert len(digest) == 16 and digest == checkpoints.head_hash(blob)
    assert digest != checkpoints.head_hash(blob + b"\x00")
    plain = (hashlib.sha256(blob).digest()[:16], hashlib.blake2b(blob, digest_size=16).digest())
    assert digest not in plain


def test_head_hash_never_changes() -> None:
    """Known answers: peers compare head hashes, so the function is part of the wire format."""
    assert checkpoints.head_hash(b"").hex() == "d93a99db56a51fc78f6a92545cfa7e98"
    assert checkpoints.head_hash(b"OfficeVault").hex() == "b1306ad8d709552ab23f1dffef6ab3bd"


@given(st.lists(st.binary(min_size=16, max_size=16), max_size=8, unique=True))
def test_records_digest_is_the_sorted_sha256_of_the_ids(ids: list[bytes]) -> None:
    """The digest sync's Status carries: equal sets agree in any order."""
    assert checkpoints.records_digest(ids) == hashlib.sha256(b"".join(sorted(ids))).digest()
    assert checkpoints.records_digest(reversed(ids)) == checkpoints.records_digest(ids)
