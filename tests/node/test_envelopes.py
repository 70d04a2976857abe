"""Signed envelopes: verify over the exact bytes, then parse; anything else is a PeerError.

Threats covered: a tampered envelope (any bit), one re-signed or claimed by
another device, one from another office, an unknown author, a malformed or
oversized body, and arbitrary bytes from a peer: all refused with PeerError,
never another exception. Also: each device's Y client id is stable and in
the range pycrdt accepts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc

from node import codec, crypto, envelopes, tokens
from node.errors import PeerError

OFFICE = crypto.random_bytes(16)
ALICE = crypto.SigningKeyPair.generate()
BOB = crypto.SigningKeyPair.generate()
ALICE_ID = tokens.device_id_of(ALICE.public)
BOB_ID = tokens.device_id_of(BOB.public)
KEYS = {ALICE_ID: ALICE.public, BOB_ID: BOB.public}
KEY_ID = bytes(range(16))
UPDATE = bytes.fromhex("0101e80700280107656e7472696573026b3101740301020300")


def known(device: bytes) -> bytes | None:
    return KEYS.get(device)


def sealed(seq: int = 1, update: bytes = UPDATE) -> bytes:
    return envelopes.seal(ALICE_ID, ALICE, OFFICE, seq, KEY_ID, 1_800_000_000, update)


def body(**changes: codec.Value) -> dict[str, codec.Value]:
    """A good envelope body with some fields changed (None removes a field)."""
    fields: dict[str, codec.Value] = {"seq": 1, "key_id": KEY_ID, "at": 1, "update": UPDATE}
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def hand_signed(value: codec.Value, key: crypto.SigningKeyPair = ALICE) -> bytes:
    """An envelope with any body, correctly signed: what a hostile enrolled device can make."""
    raw = codec.encode(value)
    return tokens.device_id_of(key.public) + key.sign(envelopes.DOMAIN + OFFICE + raw) + raw


def test_round_trip() -> None:
    blob = sealed(seq=7)
    env = envelopes.verify(blob, OFFICE, known)
    assert (env.author, env.seq, env.key_id, env.at, env.update) == (
        ALICE_ID, 7, KEY_ID, 1_800_000_000, UPDATE,
    )  # fmt: skip
    assert env.blob == blob and env.id == (ALICE_ID, 7)
    assert envelopes.author_of(blob) == ALICE_ID


def test_every_flipped_bit_is_refused() -> None:
    blob = sealed()
    for offset in range(len(blob)):
        for bit in (0, 7):
            tampered = bytearray(blob)
            tampered[offset] ^= 1 << bit
            with pytest.raises(PeerError):
                envelopes.verify(bytes(tampered), OFFICE, known)


CASES: list[tuple[str, Callable[[bytes], bytes]]] = [
    ("claimed-by-another-enrolled-device", lambda b: BOB_ID + b[16:]),
    ("re-signed-by-another-device-under-the-authors-id",
     lambda b: ALICE_ID + BOB.sign(envelopes.DOMAIN + OFFICE + b[80:]) + b[80:]),
    ("unknown-author", lambda b: crypto.random_bytes(16) + b[16:]),
    ("truncated-to-the-header", lambda b: b[:80]),
    ("truncated-body", lambda b: b[:-3]),
    ("empty", lambda b: b""),
    ("trailing-byte", lambda b: b + b"\x00"),
    ("oversized", lambda b: b + bytes(envelopes.MAX_ENVELOPE)),
    ("seq-zero", lambda b: hand_signed(body(seq=0))),
    ("negative-seq", lambda b: hand_signed(body(seq=-5))),
    ("short-key-id", lambda b: hand_signed(body(key_id=b"x"))),
    ("extra-field", lambda b: hand_signed(body(role="admin"))),
    ("missing-field", lambda b: hand_signed(body(at=None))),
    ("update-not-bytes", lambda b: hand_signed(body(update="x"))),
    ("body-not-a-map", lambda b: hand_signed([1, 2, 3])),
]  # fmt: skip


@pytest.mark.parametrize("make", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_envelopes_are_refused(make: Callable[[bytes], bytes]) -> None:
    with pytest.raises(PeerError):
        envelopes.verify(make(sealed()), OFFICE, known)


def test_a_hand_signed_envelope_with_a_good_body_is_accepted() -> None:
    """Control for the table: hand signing itself is not what the table catches."""
    assert envelopes.verify(hand_signed(body(seq=3)), OFFICE, known).seq == 3


def test_an_envelope_of_another_office_is_refused() -> None:
    other = envelopes.seal(ALICE_ID, ALICE, crypto.random_bytes(16), 1, KEY_ID, 1, UPDATE)
    with pytest.raises(PeerError):
        envelopes.verify(other, OFFICE, known)


@pytest.mark.parametrize(
    ("seq", "key_id", "update"),
    [(0, KEY_ID, UPDATE), (1, b"short", UPDATE), (1, KEY_ID, bytes(envelopes.MAX_UPDATE + 1))],
    ids=["seq-zero", "short-key-id", "oversized-update"],
)
def test_sealing_out_of_range_fields_is_a_bug(seq: int, key_id: bytes, update: bytes) -> None:
    with pytest.raises(RuntimeError):
        envelopes.seal(ALICE_ID, ALICE, OFFICE, seq, key_id, 1, update)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_refused_or_parsed_never_crash(data: bytes) -> None:
    with contextlib.suppress(PeerError):
        envelopes.verify(ALICE_ID + data, OFFICE, known)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=16, max_size=16))
def test_client_ids_are_53_bit_and_accepted_by_pycrdt(device_id: bytes) -> None:
    client = envelopes.client_id_of(device_id)
    assert 0 <= client < 2**53
    assert client == envelopes.client_id_of(device_id)
    Doc(client_id=client)


def test_client_ids_differ_between_devices() -> None:
    assert envelopes.client_id_of(ALICE_ID) != envelopes.client_id_of(BOB_ID)
