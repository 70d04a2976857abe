"""Fuzzing the keystore file: node.keystore `open_sealed` (header, checksum trailer,
sealed payload).

Threats: a keystore swapped or damaged on disk (by malware, a bad sector, a
sync tool) that crashes the unlock, gets the password hashed under weaker
parameters than the floor or absurd ones past the ceiling, or opens to keys
other than those sealed. Only StorageError or WrongPasswordError may escape;
the password-hash cost asked of Argon2id is always within [floor, ceiling]
and it is never run for a file whose checksum fails; a file that opens is the
genuine one. Argon2id is replaced by an instant stand-in (samples.CheapKdf)
that records what it was asked for.
"""

from __future__ import annotations

import functools
import hashlib
import struct

from hypothesis import given
from hypothesis import strategies as st

from node import codec, crypto, keystore
from node.codec import Value
from node.errors import StorageError, WrongPasswordError
from node.keystore import HEADER_SIZE, MODERATE, Secrets
from tests.fuzz.hostile import FUZZ, damaged, hostile, outcome, reshaped
from tests.fuzz.samples import CheapKdf, cheap_kdf

PASSWORD = b"correct horse battery staple"
TRAILER = 32
FLOOR = (MODERATE.floor_ops, MODERATE.floor_mem)
CEILING = (keystore.MAX_OPS, keystore.MAX_MEM)
SECRETS = (
    Secrets(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, root_seed=None),
    Secrets(b"\x04" * 32, b"\x05" * 32, b"\x06" * 32, root_seed=b"\x07" * 32),
)
PAYLOADS: list[Value] = [
    {"sign_seed": s.sign_seed, "box_secret": s.box_secret, "db_key": s.db_key,
     "root_seed": s.root_seed}
    for s in SECRETS
]  # fmt: skip
# A header asking for each cost edge: the floor, the ceiling, one past each.
COSTS = [(3, 64 << 20), (32, 1 << 30), (2, 64 << 20), (3, (64 << 20) - 1), (33, 1 << 30),
         (32, (1 << 30) + 1), (0, 0), (2**32 - 1, 2**64 - 1)]  # fmt: skip


def _with_trailer(body: bytes) -> bytes:
    return body + hashlib.sha256(body).digest()


@functools.cache
def genuine() -> tuple[bytes, ...]:
    with cheap_kdf():
        return tuple(keystore.seal(s, bytearray(PASSWORD), MODERATE) for s in SECRETS)


def _sealed_payload(payload: bytes, cost: tuple[int, int] = (3, 256 << 20)) -> bytes:
    """A keystore whose sealed payload is `payload`: what our own writer, buggy, could leave."""
    header = struct.pack(">4sBBIQ16s", b"OVKS", 1, 1, *cost, b"\x05" * 16)
    key = CheapKdf()(PASSWORD, header[-16:], *cost)
    return _with_trailer(header + crypto.aead_encrypt(key, payload, header))


def _open(data: bytes) -> tuple[Secrets | None, CheapKdf]:
    with cheap_kdf() as kdf:
        opened = outcome(
            lambda: keystore.open_sealed(data, bytearray(PASSWORD), MODERATE),
            StorageError,
            WrongPasswordError,
        )
    for ops, mem in kdf.calls:
        assert FLOOR[0] <= ops <= CEILING[0] and FLOOR[1] <= mem <= CEILING[1]
    return opened, kdf


def test_the_samples_are_valid() -> None:
    """Control: the genuine files open to what was sealed, and a payload sealed by hand opens."""
    assert [_open(data)[0] for data in genuine()] == list(SECRETS)
    assert _open(_sealed_payload(codec.encode(PAYLOADS[0])))[0] == SECRETS[0]


@FUZZ
@given(hostile(genuine(), max_size=300))
def test_a_damaged_keystore_is_refused_before_the_password_is_hashed(blob: bytes) -> None:
    """Threat: a damaged or swapped file crashes the unlock, or gets the password hashed
    although its checksum fails."""
    opened, kdf = _open(blob)
    if blob[-TRAILER:] != hashlib.sha256(blob[:-TRAILER]).digest():
        assert opened is None and not kdf.calls
    if opened is not None:
        assert blob in genuine()


@FUZZ
@given(
    damaged([g[:-TRAILER] for g in genuine()])
    | st.builds(
        lambda cost, rest: struct.pack(">4sBBIQ", b"OVKS", 1, 1, *cost) + rest,
        st.sampled_from(COSTS),
        st.binary(min_size=16, max_size=120),
    )
)
def test_a_rewritten_header_never_gets_the_password_hashed_outside_the_bounds(body: bytes) -> None:
    """Threat: an attacker who can write the file rewrites the header (its trailer recomputed
    to match) to ask for a weak hash (to brute-force the password it then sees) or an absurd
    one (to hang or exhaust the PC). Argon2id only ever runs within [floor, ceiling], and
    only the genuine header and ciphertext open."""
    data = _with_trailer(body)
    opened, kdf = _open(data)
    assert len(kdf.calls) <= 1
    if opened is not None:
        assert data in genuine()
    if len(body) >= HEADER_SIZE:
        _, _, _, ops, mem, _ = struct.unpack(">4sBBIQ16s", body[:HEADER_SIZE])
        if not (FLOOR[0] <= ops <= CEILING[0] and FLOOR[1] <= mem <= CEILING[1]):
            assert not kdf.calls


@FUZZ
@given(reshaped(PAYLOADS) | hostile([codec.encode(p) for p in PAYLOADS], max_size=200))
def test_a_malformed_payload_behind_the_password_is_a_storage_error(payload: bytes) -> None:
    """Threat: a payload of the wrong shape (a seed of 31 bytes, a missing key, a list), which
    only someone with the password could seal, crashes the unlock or yields short keys."""
    opened, _ = _open(_sealed_payload(payload))
    if opened is not None:
        assert all(len(k) == 32 for k in (opened.sign_seed, opened.box_secret, opened.db_key))
        assert opened.root_seed is None or len(opened.root_seed) == 32
