"""Fuzzing capability tokens: node.tokens `verify`, `parse_body` and `subject_of`.

Threats: a token inside a membership record or a join is damaged or forged to
name another device, user, role or validity window; the office root's (or an
admin's) key signs a body of the wrong shape, which must not crash the parser
behind the signature check; `subject_of`, which reads tokens verified earlier,
meets a damaged one. verify raises only InvalidTokenError, parse_body only
DecodeError, subject_of nothing; an accepted token is byte for byte one its
issuer signed, and its capability is exactly the canonical body.
"""

from __future__ import annotations

from hypothesis import given

from node import codec, tokens
from node.errors import DecodeError, InvalidTokenError
from node.tokens import DOMAIN, Capability, Issuer, Role
from tests.conftest import T0
from tests.fuzz.hostile import (
    FUZZ,
    HEADER,
    hostile,
    outcome,
    reshaped,
    signature_holds,
    signed,
    values,
)
from tests.node.membership_builders import LIFETIME, OFFICE, ROOT, A, C, E, token

NOW = T0 + 1000
ISSUERS = {A.id: Issuer(A.sign.public, Role.ADMIN, T0, T0 + LIFETIME, revoked=False)}
GENUINE = (
    token(A, "alice", Role.ADMIN, None, T0),  # root-issued admin token
    token(C, "carol", Role.MEMBER, A, T0 + 5),  # admin-issued member token
    token(E, "erin é", Role.MEMBER, None, T0, serial=2),
)
BODIES = [codec.decode(t[HEADER:]) for t in GENUINE]


def _verify(blob: bytes) -> Capability | None:
    return outcome(
        lambda: tokens.verify(blob, OFFICE, ROOT.public, NOW, ISSUERS.get), InvalidTokenError
    )


def _public_of(issuer_id: bytes) -> bytes | None:
    if issuer_id == OFFICE:
        return ROOT.public
    issuer = ISSUERS.get(issuer_id)
    return None if issuer is None else issuer.sign_public


def test_the_samples_are_valid() -> None:
    """Control: every genuine token verifies now."""
    for blob in GENUINE:
        cap = _verify(blob)
        assert cap is not None and cap.body() == blob[HEADER:]


@FUZZ
@given(hostile(GENUINE))
def test_a_damaged_token_is_refused_or_is_one_its_issuer_signed(blob: bytes) -> None:
    """Threat: a token with its device, user, role, window or issuer altered is accepted."""
    cap = _verify(blob)
    if cap is not None:
        assert blob in GENUINE or signature_holds(blob, DOMAIN, OFFICE, _public_of(blob[:16]))
        assert cap.body() == blob[HEADER:]
    subject = outcome(lambda: tokens.subject_of(blob))
    assert subject is None or len(subject) == 16


@FUZZ
@given(reshaped(BODIES))
def test_a_signed_malformed_body_is_refused_or_read_exactly(body: bytes) -> None:
    """Threat: a body with a field missing, extra, mistyped or out of range, signed with the
    root's key or an admin's, crashes the parser or is read as other than it says."""
    for issuer_id, key in ((OFFICE, ROOT), (A.id, A.sign)):
        cap = _verify(signed(issuer_id, key, DOMAIN, OFFICE, body))
        if cap is not None:
            assert cap.body() == body and cap.issuer_id == issuer_id
            assert tokens.valid_user_name(cap.user)
            assert cap.device_id == tokens.device_id_of(cap.sign_public)
            assert issuer_id == OFFICE or cap.role is Role.MEMBER


@FUZZ
@given(values.map(codec.encode) | reshaped(BODIES) | hostile(GENUINE))
def test_parse_body_reads_a_capability_or_raises_decode_error(body: bytes) -> None:
    """Threat: the unverified reader (used only on tokens checked before) raises anything
    but DecodeError on a value of the wrong shape."""
    cap = outcome(lambda: tokens.parse_body(body), DecodeError)
    if cap is not None:
        assert cap.body() == body
