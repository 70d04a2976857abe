"""Fuzzing signed envelopes: node.envelopes `verify` (every envelope a peer sends),
`read_stored` (our own op log) and `author_of`.

Threats: a peer forwards a damaged or forged envelope, hoping it is stored or
applied as something its author never signed; an enrolled insider signs a
body of the wrong shape with its real key, hoping to crash the strict parser
behind the signature check; a damaged row of our own op log crashes the
reader. Only PeerError may escape; an accepted envelope is byte for byte one
its author signed, and its fields are exactly the canonical body.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from node import codec, envelopes
from node.codec import Value
from node.envelopes import DOMAIN, Envelope
from node.errors import PeerError
from tests.fuzz.hostile import (
    FUZZ,
    HEADER,
    hostile,
    outcome,
    reshaped,
    signature_holds,
    signed,
)
from tests.fuzz.samples import device_keys, sealed_envelopes
from tests.node.membership_builders import OFFICE, A, B

KEYS = device_keys(A, B)
GENUINE = sealed_envelopes()
BODIES = [codec.decode(blob[HEADER:]) for blob in GENUINE]


def _exactly_its_body(env: Envelope, blob: bytes) -> None:
    body: dict[str, Value] = {
        "seq": env.seq,
        "key_id": env.key_id,
        "at": env.at,
        "update": env.update,
    }
    assert env.blob == blob and env.author == blob[:16]
    assert codec.encode(body) == blob[HEADER:]


def test_the_samples_are_valid() -> None:
    """Control: every genuine envelope verifies."""
    for blob in GENUINE:
        _exactly_its_body(envelopes.verify(blob, OFFICE, KEYS.get), blob)


@FUZZ
@given(hostile(GENUINE, max_size=700) | st.builds(bytes.__add__, st.sampled_from(list(KEYS)),
                                                  st.binary(max_size=300)))  # fmt: skip
def test_a_damaged_envelope_is_refused_or_is_one_its_author_signed(blob: bytes) -> None:
    """Threat: a peer alters a forwarded envelope (author, signature, sequence, update bytes)
    and it is accepted as something the author never signed."""
    env = outcome(lambda: envelopes.verify(blob, OFFICE, KEYS.get), PeerError)
    if env is not None:
        assert blob in GENUINE or signature_holds(blob, DOMAIN, OFFICE, KEYS.get(blob[:16]))
        _exactly_its_body(env, blob)


@FUZZ
@given(reshaped(BODIES))
def test_an_insiders_malformed_body_is_refused_or_read_exactly(body: bytes) -> None:
    """Threat: an enrolled device signs, with its real key, a body with a field missing,
    added, mistyped or out of range (seq 0, a 15-byte key id, an oversized update)."""
    blob = signed(A.id, A.sign, DOMAIN, OFFICE, body)
    env = outcome(lambda: envelopes.verify(blob, OFFICE, KEYS.get), PeerError)
    if env is not None:
        _exactly_its_body(env, blob)
        assert env.seq >= 1 and len(env.key_id) == 16


@FUZZ
@given(hostile(GENUINE, max_size=700) | reshaped(BODIES).map(lambda b: A.id + bytes(64) + b))
def test_a_damaged_stored_envelope_is_a_peer_error(blob: bytes) -> None:
    """Threat: a row of our own op log, damaged on disk, crashes the reader instead of being
    reported (read_stored trusts the signature checked before storing, nothing else)."""
    env = outcome(lambda: envelopes.read_stored(blob), PeerError)
    if env is not None:
        assert env.blob == blob and len(env.key_id) == 16
    author = outcome(lambda: envelopes.author_of(blob), PeerError)
    assert author is None or author == blob[:16]
